"""``torch.func``: ``functional_call``. The other function transforms (``grad``, ``vmap``, ``jacrev``, ...)
are not provided and fail by name."""
from ._unsupported import module_getattr as _module_getattr
from .nn.utils.stateless import functional_call

__all__ = ["functional_call"]

__getattr__ = _module_getattr(__name__, "torch.func")
