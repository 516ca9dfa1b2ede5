"""Reductions on float16/bfloat16 NumPy arrays as torch's CPU kernels compute them (:mod:`autograd.ops.reduction`
calls these): var/std in float64, logsumexp's 16-bit composite, prod's running product, softmax over an inner
dim (vectors and scalar remainders rounded differently), exp correctly rounded as torch's vectorised exp."""
from __future__ import annotations

import numpy as np

from .cascade_sum import sum_low
from .opmath import vectorised_mask


def exp32(xp, v, dt):
    """``exp`` of float32 values as torch's vectorised float32 exp rounds it (within its 1-ulp bound, nearly
    always the correctly rounded value, which float64 gives; NumPy's float32 exp is off by one ulp far more
    often) when the result goes on to a 16-bit dtype."""
    if dt != v.dtype and xp is np:
        return np.exp(v.astype(np.float64)).astype(v.dtype)
    return xp.exp(v)


def var_low(X, ax, keepdim, denom, take_sqrt):
    """float16/bfloat16 var/std as torch's CPU kernel: in float64, rounded to float32 and then to the dtype."""
    x = X.astype(np.float64)
    c = x - x.mean(axis=ax, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (c * c).sum(axis=ax, keepdims=keepdim) / denom
    v = np.sqrt(v) if take_sqrt else v
    return np.asarray(v).astype(np.float32).astype(X.dtype)


def prod_low(X, ax, keepdim):
    """torch's prod on a 16-bit array: one running product in the dtype, each multiplication rounded."""
    flat = X.reshape(-1) if ax is None else np.moveaxis(X, ax[0], -1)
    out = np.multiply.accumulate(flat, axis=-1)[..., -1]
    if ax is None:
        return out.reshape((1,) * X.ndim if keepdim else ())
    return np.expand_dims(out, ax[0]) if keepdim else out


def logsumexp_low(X, m, ax):
    """torch's logsumexp composite in the 16-bit type, ``log(sum(exp(x - m))) + m`` (kept dims): each op
    rounded (exp and log correctly rounded in float32 first, as its vectorised functions), the sum as
    torch's sum kernel adds it up."""
    f64, dt = np.float64, X.dtype
    with np.errstate(all="ignore"):
        e = np.exp((X - m).astype(f64)).astype(np.float32).astype(dt)
        s = sum_low(e, ax, keepdim=True)
        return np.log(s.astype(f64)).astype(np.float32).astype(dt) + m


def softmax_inner_low(Y, e, s, d, dt):
    """Softmax over dim ``d`` (not the last) of a 16-bit tensor from ``e = exp(x - max)`` and its float32
    sum ``s``: torch's kernel runs along the inner positions in vectors (float32 all through, rounded once,
    ``Y``); the positions its scalar loop takes store ``e`` in the 16-bit type first and divide that by the
    float32 sum (two roundings)."""
    shape = e.shape
    outer, inner = int(np.prod(shape[:d])), int(np.prod(shape[d + 1:]))
    vec = vectorised_mask(outer * inner, inner, 1)   # (its grain: every thread takes a share)
    vec = vec.reshape(shape[:d] + (1,) + shape[d + 1:])
    return np.where(vec, Y, (e.astype(dt).astype(e.dtype) / s).astype(dt))
