"""``torch.autograd.graph``: the node type of ``grad_fn``, ``increment_version``, and the saved-tensor
hook names. Saved-tensor hooks are not implemented (our saved values are the arrays themselves): with real
pack/unpack hooks ``saved_tensors_hooks`` raises rather than silently skip them; ``save_on_cpu`` and
``disable_saved_tensors_hooks`` are accepted (they change where memory lives, not any result)."""
from __future__ import annotations

import contextlib

from ..graph.nodes import Node  # noqa: F401
from ..graph.views import increment_version  # noqa: F401
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.autograd.graph")


class saved_tensors_hooks:
    def __init__(self, pack_hook, unpack_hook):
        raise NotImplementedError("autograd does not support torch.autograd.graph.saved_tensors_hooks "
                                  "(saved tensors are kept as they are; pack/unpack hooks are not run)")


class save_on_cpu(contextlib.nullcontext):
    """Accepted; saved tensors stay where they are (only memory placement differs from torch)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__()


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    yield
