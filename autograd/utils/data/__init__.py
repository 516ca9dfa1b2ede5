"""``torch.utils.data``: the objects of :mod:`autograd.data` (the same classes), laid out in torch's
submodules ``dataset``, ``sampler``, ``dataloader`` and ``distributed``."""
from ...data import *  # noqa: F401,F403
from ...data import __all__ as _all
from ...data import DistributedSampler, get_worker_info  # noqa: F401
from . import dataloader, dataset, distributed, sampler  # noqa: F401
from ..._unsupported import module_getattr

__all__ = list(_all) + ["DistributedSampler", "get_worker_info"]
__getattr__ = module_getattr(__name__, "torch.utils.data")
