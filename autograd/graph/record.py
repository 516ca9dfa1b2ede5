"""Recording an op: wrap its result in a Tensor and, under grad mode, link it to the inputs that need a
gradient through a :class:`~autograd.graph.nodes.Node` holding the op's backward rule."""
from __future__ import annotations

import numpy as np

from .. import grad_mode
from ..tensor import Tensor
from . import saved_hooks
from .nodes import Node, grad_node
from .. import dtypes as _dtypes

OUT = object()  # in ``saved``: the op's backward reads its own output


def record(out, parents, rule, name, saved=None, once=False):
    """The Tensor holding ``out``, recorded as the result of ``parents`` when grad mode is on and one of them
    requires grad (integer and bool results never do).

    ``rule(o, grad, *saved_values)`` is the op's backward rule (see :mod:`autograd.graph.nodes`).
    ``saved``: what the rule reads, in order: parents, :data:`OUT` for the result, numbers, or None (a slot the
    rule does not need this time). Tensors among them get their version checked before the rule runs.
    Default: every parent. ``once``: the rule works on raw arrays only (see :class:`Node`).
    """
    if isinstance(out, np.generic):  # NumPy turns 0-d results into scalars; keep arrays everywhere
        out = np.asarray(out)
    t = Tensor._wrap(out)
    if (out.dtype.kind not in "fc" and out.dtype != _dtypes.bfloat16) or not grad_mode.is_grad_enabled():
        return t
    inputs = meta = None
    for i, p in enumerate(parents):
        if isinstance(p, Tensor):
            if p._view is not None:
                refresh(p)
            if p.requires_grad:
                if inputs is None:
                    inputs, meta = [None] * len(parents), [None] * len(parents)
                inputs[i] = p._node or grad_node(p)
                meta[i] = (p._data.shape, p._data.dtype)
    if inputs is None:
        return t
    t.requires_grad = True
    node = t._node = Node(rule, inputs, name, None, meta, once)
    if name == "Pow":   # torch's pow with a number has no edge for it (unlike mul/add/sub/div with a number)
        node.edges = tuple(isinstance(p, Tensor) for p in parents)
    if saved is None:
        saved = parents
    if saved:
        if saved_hooks.active():
            node.saved = tuple(_packed(s, t, node) for s in saved)
            return t
        entries = []
        for s in saved:
            if s is OUT:
                c = t._ctr = [0]
                entries.append((c, 0, t, node, out))
            elif isinstance(s, Tensor):
                c = s._ctr
                if c is None:
                    c = s._ctr = [0]
                entries.append((c, c[0], s, s._node, s._data))
            else:
                entries.append(s)
        node.saved = tuple(entries)
    return t


def packed_entry(s):
    """A saved Tensor handed to the active saved-tensor pack hook, with the node it is joined to."""
    node = s._node
    return saved_hooks.PackedSaved(s, node, grad_node(s) if node is None and s.requires_grad else None)


def _packed(s, out, node):
    if s is OUT:
        return saved_hooks.PackedSaved(out, node, None)
    return packed_entry(s) if isinstance(s, Tensor) else s


def needs(parents):
    """Which parents need a gradient (lets expensive backward rules skip work)."""
    return tuple(isinstance(p, Tensor) and p.requires_grad for p in parents)


def refresh(v):
    """Give view ``v`` the node of a view of its base's current value when the storage changed since."""
    info = v._view
    c = v._ctr
    if info.ver == c[0]:
        return
    info.ver = c[0]
    base = info.base
    if base.requires_grad:
        bw = info.bw
        v._node = Node(lambda o, g: (bw(o, g),), (grad_node(base),), "AsStrided",
                       meta=[(base._data.shape, base._data.dtype)])
        v.requires_grad = True


def record_once_differentiable(out, parents, backward_fn, name, saved=None):
    """:func:`record` for a backward written on raw arrays only, ``backward_fn(grad) -> tuple`` (torch's
    ``once_differentiable``): a first-order backward runs it as usual; under ``create_graph`` its gradients are
    computed but differentiating them again raises an error naming the op."""
    return record(out, parents, lambda o, g, *saved_values: backward_fn(g), name, saved, once=True)
