"""Saved-tensor hooks (torch's ``torch.autograd.graph.saved_tensors_hooks``): while a pair of hooks is
active, every tensor an op saves for its backward is handed to ``pack_hook`` at save time, and the graph keeps
only what it returned; backward calls ``unpack_hook`` on that and computes with the tensor it gets back.

As in torch, a packed tensor is not version-checked (what the unpack hook returns is what backward uses),
and the unpacked value is joined to the graph as the saved tensor was (its node, or its leaf's accumulator),
so ``create_graph`` differentiates through it whatever the hooks did (``detach()`` in the pack hook included).
Ops that read a value they keep themselves (a mask, a closure over the raw input) do not go through the hooks;
that changes how often ``pack_hook`` is called compared with torch, never a result.
"""
from __future__ import annotations

from ..tensor import Tensor

# innermost last: (pack_hook, unpack_hook)
_STACK: list = []
# the message of the innermost active ``disable_saved_tensors_hooks``, or None
_DISABLED: list = [None]


def push(pack_hook, unpack_hook):
    if _DISABLED[0] is not None:
        raise RuntimeError(_DISABLED[0])
    _STACK.append((pack_hook, unpack_hook))


def pop():
    _STACK.pop()


def active():
    return bool(_STACK)


def set_disabled(message):
    """Disable the hooks with ``message`` (None re-enables); returns the previous state to restore."""
    previous = _DISABLED[0]
    if message is not None and _STACK:
        raise RuntimeError(message)
    _DISABLED[0] = message
    return previous


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor)`` runs on every tensor saved for backward inside it, and
    ``unpack_hook(packed)`` when backward needs it back (it must return a Tensor). Nested pairs: the innermost
    applies."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        push(self.pack_hook, self.unpack_hook)
        return self

    def __exit__(self, *exc):
        pop()
        return False


class PackedSaved:
    """A saved tensor as the innermost pack hook returned it, with what backward needs to unpack it."""

    __slots__ = ("packed", "unpack_hook", "node", "accum")

    def __init__(self, tensor, node, accum):
        pack_hook, self.unpack_hook = _STACK[-1]
        self.packed = pack_hook(tensor)
        self.node, self.accum = node, accum

    def unpack(self):
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(t).__name__}")
        return t
