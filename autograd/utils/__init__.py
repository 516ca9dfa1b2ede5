"""``torch.utils``: ``data`` (our :mod:`autograd.data` under torch's module layout), ``hooks`` and
``checkpoint``."""
from . import checkpoint, data, hooks  # noqa: F401
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.utils")
