"""A small tensor + reverse-mode autograd layer on NumPy (CPU) or CuPy (CUDA), shaped like torch.

Not HIPS ``autograd``: ``minitorch_optim`` checks ``__minitorch__`` to make sure it got this package.
"""
from . import ops as _ops  # noqa: F401  (attaches Tensor methods)
from .ops.differentiate import backward, grad
from .backend import cuda_is_available, device
from .dtypes import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double, float, float16, float32, float64,  # noqa: A004
                     get_default_dtype, half, int, int8,
                     int16, int32, int64, long, set_default_dtype, short, uint8)
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)
from .tensor import Size, Tensor
from .dtypes import finfo, iinfo  # noqa: E402  torch.finfo / torch.iinfo
from .creation import as_tensor, from_numpy, is_tensor, tensor
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, manual_seed, ones, ones_like,
                      rand, rand_like, randint, randn, randn_like, randperm, zeros, zeros_like, Generator,
                      default_generator, multinomial, set_default_device, get_default_device)
from .functional_api import *  # noqa: F401,F403  torch-style free functions (autograd.exp, autograd.cat, ...)
from .sparse import SparseTensor, sparse_coo_tensor
from .ops.einsum import einsum  # noqa: E402,F401
from .ops.sampling import bernoulli, normal  # noqa: E402,F401
from .ops.matrix_more import (addbmm, addmm, addmv, baddbmm, diag, diag_embed, meshgrid, tril_indices,  # noqa: E402,F401
                              triu_indices, unique)
from .ops.composites import (allclose, block_diag, cartesian_prod, count_nonzero, cross, diff, equal,  # noqa: E402,F401
                             isclose, kron, nonzero, trace)
from .graph.views import increment_version
from .function import Function, FunctionCtx, once_differentiable
from .threads import get_num_threads, set_num_threads  # torch.get_num_threads / set_num_threads
from ._malloc import keep_heap as _keep_heap

_keep_heap()   # glibc keeps a training step's freed arrays mapped: no page faults every step
from . import nn, data  # noqa: E402
from .nn.activations_more import (alpha_dropout, bilinear, celu, celu_, channel_shuffle,  # noqa: E402,F401
                                  feature_alpha_dropout, hardshrink, prelu, rrelu, rrelu_, threshold, threshold_)
from .nn.losses_more import pdist  # noqa: E402,F401  (torch.<name> as well as torch.nn.functional.<name>)
from . import creation_more as _creation_more, nn_toplevel as _nn_toplevel  # noqa: E402
for _m in (_creation_more, _nn_toplevel):   # each lists its torch.<name>s
    globals().update({_n: getattr(_m, _n) for _n in _m.EXPORTS})
from .serialization import load, save  # noqa: E402

from . import accelerator, autograd, backends, cuda, utils  # noqa: E402  torch's namespace
from . import func  # noqa: E402  torch.func: functional_call and the function transforms
from .func import vmap  # noqa: E402  torch.vmap
from . import cpu  # noqa: E402  torch.cpu (and torch.cpu.amp)
from . import linalg  # noqa: E402  torch.linalg's norms
from . import special  # noqa: E402  torch.special
from . import amp  # noqa: E402
from . import distributions  # noqa: E402  torch.distributions' Normal / Bernoulli / Categorical
from .amp import autocast, get_autocast_dtype, is_autocast_enabled, set_autocast_dtype, set_autocast_enabled  # noqa: E402,F401
amp.install(globals())   # last: autocast's wrappers go around the entry points defined above
from ._unsupported import module_getattr as _module_getattr  # noqa: E402

__minitorch__ = True
__version__ = "0.1.0"

_flags = {"deterministic": False, "deterministic_warn_only": False, "matmul_precision": "highest"}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted and kept: our kernels are deterministic except where CuPy scatters with atomics."""
    _flags["deterministic"], _flags["deterministic_warn_only"] = (True if mode else False), (True if warn_only else False)   # ``bool`` here is the dtype


def are_deterministic_algorithms_enabled():
    return _flags["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _flags["deterministic_warn_only"]


def set_float32_matmul_precision(precision):
    """Accepted and kept: matmuls here are always full fp32 (no TF32 / bf16 passes)."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}")
    _flags["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _flags["matmul_precision"]


def initial_seed():
    return default_generator.initial_seed()


def seed():
    return default_generator.seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


_unsupported = _module_getattr(__name__, "torch")


def __getattr__(name):
    # ``minitorch_optim`` imports ``autograd``: ``autograd.optim`` is loaded on first use, never at import
    if name == "optim":
        import importlib

        return importlib.import_module(".optim", __name__)
    return _unsupported(name)
