"""torch-style free functions: ``autograd.exp(x)``, ``autograd.cat([...])``, ``autograd.where(...)``."""
import numpy as _np

from .ops import elementwise as _ew
from .ops.elementwise import (abs, add, addcdiv, addcmul, atan2, clamp, clamp_max, clamp_min, div, eq, ge,  # noqa: F401,A004
                              gt, le, lerp, logical_and, logical_not, logical_or, logical_xor, lt, maximum,
                              minimum, mul, ne, neg, remainder, rsub, sign, sub, where, isfinite, isinf, isnan)
from .ops.elementwise import pow_ as pow  # noqa: F401,A001
from .ops.scatter import (index_add, index_put, index_put_, masked_fill, masked_select, scatter,  # noqa: F401
                          scatter_add)
from .ops.selection import aminmax, argsort, cumprod, fmod, median, msort, nan_to_num, sort, topk  # noqa: F401
from .ops.shape_more import (diagonal, flip, fliplr, flipud, movedim, narrow, repeat_interleave,  # noqa: F401
                             roll, tile, tril, triu, unflatten)
from .ops.selection import floor_divide  # noqa: F401
from .ops.linalg import bmm, dot, matmul, mm, mv, outer  # noqa: F401
from .ops.reduction import (all, amax, amin, any, argmax, argmin, cumsum, logsumexp, log_softmax, max, mean,  # noqa: F401,A004
                            min, norm, prod, softmax, std, sum, var)
from .ops.shape import (cat, chunk, clone, expand, flatten, gather, index_select, permute, reshape, split,  # noqa: F401
                        squeeze, stack, t, transpose, unbind, unsqueeze)

from .ops import (elementwise_extra as _elementwise_extra, linalg_extra as _linalg_extra,  # noqa: E402
                  shape_extra as _shape_extra, statistics as _statistics,
                  strided as _strided, tensor_aliases as _tensor_aliases, complex_ops as _complex_ops)

for _n in _ew.UNARY_NAMES:
    globals()[_n] = getattr(_ew, _n)
for _m in (_elementwise_extra, _linalg_extra, _shape_extra, _statistics, _strided, _tensor_aliases,
           _complex_ops):   # their torch.<name>s
    globals().update({_n: getattr(_m, _n) for _n in _m.EXPORTS})
clip = clamp
concat = concatenate = cat
subtract, multiply, divide, true_divide, negative, absolute = sub, mul, div, div, neg, abs
preserve_format = contiguous_format = "preserve_format"


def numel(x):
    return x.numel()


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(_np.allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from .tensor import Tensor

    return Tensor._wrap(_np.isclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    return a.shape == b.shape and bool((a.numpy() == b.numpy()).all())


def is_floating_point(x):
    return x.is_floating_point()


def promote_types(a, b):
    from .dtypes import promote_types as _p

    return _p(a, b)


def result_type(a, b):
    from .dtypes import result_type as _r

    return _r(a, b)
moveaxis = movedim
