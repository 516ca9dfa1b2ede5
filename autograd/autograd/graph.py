"""``torch.autograd.graph``: the node type of ``grad_fn``, ``increment_version``, and saved-tensor hooks
(``saved_tensors_hooks``, ``save_on_cpu``, ``disable_saved_tensors_hooks``; see
:mod:`autograd.graph.saved_hooks` for what they do)."""
from __future__ import annotations

from ..graph import saved_hooks as _saved_hooks
from ..graph.saved_hooks import saved_tensors_hooks
from ..graph.nodes import Node  # noqa: F401
from ..graph.views import increment_version  # noqa: F401
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.autograd.graph")


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU and moved back to their device when backward needs them."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(tensor):
            return tensor.device, tensor.cpu()

        def unpack(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Inside it, entering ``saved_tensors_hooks`` raises RuntimeError with ``error_message`` (as does
    entering this while hooks are active)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._previous = _saved_hooks.set_disabled(self.error_message)
        return self

    def __exit__(self, *exc):
        _saved_hooks.set_disabled(self._previous)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper
