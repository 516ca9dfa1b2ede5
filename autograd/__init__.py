"""A small tensor + reverse-mode autograd layer on NumPy (CPU) or CuPy (CUDA), shaped like torch.

Not HIPS ``autograd``: ``minitorch_optim`` checks ``__minitorch__`` to make sure it got this package.
"""
from . import ops as _ops  # noqa: F401  (attaches Tensor methods)
from .ops.differentiate import backward, grad
from .backend import cuda_is_available, device
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8,  # noqa: A004
                     int16, int32, int64, long, set_default_dtype, short, uint8)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor
from .creation import as_tensor, from_numpy, is_tensor, tensor
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, manual_seed, ones, ones_like,
                      rand, rand_like, randint, randn, randn_like, randperm, zeros, zeros_like, Generator,
                      default_generator)
from .functional_api import *  # noqa: F401,F403  torch-style free functions (autograd.exp, autograd.cat, ...)
from .sparse import SparseTensor, sparse_coo_tensor
from .graph.views import increment_version
from .function import Function, FunctionCtx, once_differentiable
from . import nn, data  # noqa: E402
from .serialization import load, save  # noqa: E402

__minitorch__ = True
__version__ = "0.1.0"


class _Cuda:
    """``autograd.cuda.is_available()`` like torch."""

    @staticmethod
    def is_available():
        return cuda_is_available()

    @staticmethod
    def device_count():
        if not cuda_is_available():
            return 0
        from .backend import cupy

        return cupy().cuda.runtime.getDeviceCount()


cuda = _Cuda()
