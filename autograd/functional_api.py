"""torch-style free functions: ``autograd.exp(x)``, ``autograd.cat([...])``, ``autograd.where(...)``."""
from .ops.elementwise import (abs, add, addcdiv, addcmul, atan2, clamp, div, erf, exp, lerp, log, maximum,  # noqa: F401,A004
                              minimum, mul, neg, relu, sigmoid, sign, sqrt, sub, tanh, where)
from .ops.elementwise import pow_ as pow  # noqa: F401,A001
from .ops.linalg import matmul, outer  # noqa: F401
from .ops.reduction import (amax, amin, argmax, argmin, cumsum, logsumexp, log_softmax, max, mean, min, norm,  # noqa: F401,A004
                            prod, softmax, std, sum, var)
from .ops.shape import (cat, chunk, clone, expand, flatten, gather, index_select, permute, reshape, split,  # noqa: F401
                        squeeze, stack, transpose, unbind, unsqueeze)
from .ops import elementwise as _ew

clip = clamp
mm = bmm = matmul
concat = concatenate = cat
rsqrt = _ew.rsqrt
sin, cos, tan = _ew.sin, _ew.cos, _ew.tan
log1p, expm1, square, reciprocal = _ew.log1p, _ew.expm1, _ew.square, _ew.reciprocal
floor, ceil, round, trunc = _ew.floor, _ew.ceil, _ew.round, _ew.trunc  # noqa: A001
isfinite, isnan, isinf, logical_not = _ew.isfinite, _ew.isnan, _ew.isinf, _ew.logical_not


def numel(x):
    return x.numel()


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    import numpy as np

    return bool(np.allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    return a.shape == b.shape and bool((a.numpy() == b.numpy()).all())


def is_floating_point(x):
    return x.is_floating_point()
