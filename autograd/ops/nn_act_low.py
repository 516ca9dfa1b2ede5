"""GELU and nll_loss's reduction on float16/bfloat16 as torch's CPU kernels compute them (GELU: float32 in its
order of operations, rounded once, with the functions it calls, float16's exact GELU taking the vectorised
erf polynomial; nll_loss: its 16-bit cascade sum). Used by :mod:`autograd.ops.nn_act` for 16-bit NumPy
inputs."""
from __future__ import annotations

import math

import numpy as np

from .opmath import cascade_sum_low, erf_vectorised

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(xp, x):
    """erf of float64 values (SciPy's, or libm's one by one without SciPy)."""
    try:
        from scipy.special import erf  # noqa: PLC0415

        return erf(x)
    except ImportError:  # pragma: no cover - scipy is optional
        return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x.copy()


def _cr32(f, v):
    """``f`` of float32 values, correctly rounded to float32 (evaluated in float64): what torch's vectorised
    float32 exp/tanh (SLEEF, within 1 ulp) return nearly always, and what libm's scalar erf returns."""
    return f(v.astype(np.float64)).astype(np.float32)


def _erf_low(v, dt):
    """erf of float32 values as torch's float16 GELU kernels take it (:func:`opmath.erf_vectorised`). (bfloat16
    GELU goes to oneDNN, whose erf is its own: the correctly rounded value stands in for it.)"""
    cr = _cr32(lambda u: _erf(np, u), v)
    return erf_vectorised(v, cr) if dt == np.float16 else cr


_GELU_BETA = np.float32(math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5)
_GELU_KAPPA = np.float32(0.044715)


def gelu_low(X, approximate):
    """torch's GELU kernel on float16/bfloat16: float32 in its order of operations, rounded once."""
    f32 = np.float32
    x = np.ascontiguousarray(X).astype(f32)
    if approximate == "none":
        y = x * f32(0.5) * (f32(1) + _erf_low(x * f32(math.sqrt(0.5)), X.dtype))
    else:
        inner = _GELU_BETA * (x + _GELU_KAPPA * (x * x * x))
        y = f32(0.5) * x * (f32(1) + _cr32(np.tanh, inner))
    return y.astype(X.dtype)


def gelu_backward_low(g, x, approximate):
    """torch's GELU backward kernel on float16/bfloat16: float32 in its order of operations, rounded once."""
    f32 = np.float32
    X, G = np.ascontiguousarray(x).astype(f32), g.astype(f32)
    if approximate == "none":
        cdf = f32(0.5) * (f32(1) + _erf_low(X * f32(math.sqrt(0.5)), x.dtype))
        pdf = f32(_INV_SQRT_2PI) * _cr32(np.exp, X * X * f32(-0.5))
        d = cdf + X * pdf
    else:
        x_sq = X * X
        t = _cr32(np.tanh, _GELU_BETA * (X + _GELU_KAPPA * (x_sq * X)))
        left_d = f32(0.5) * (f32(1) + t)
        right_d = f32(0.5) * X * (f32(1) - t * t) * (_GELU_BETA * (f32(1) + f32(3) * _GELU_KAPPA * x_sq))
        d = left_d + right_d
    return (G * d).astype(x.dtype)


def nll_reduce_low(picked, w, valid, reduction):
    """torch's CPU nll_loss reduction on float16/bfloat16: the losses (``-x * w``, the product rounded) and the
    weights summed in the 16-bit type by its cascade (ignored targets skip their step), the mean divided once
    by the total weight (the count of targets, rounded, without weights)."""
    dt, f32 = picked.dtype, np.float32
    x = picked.reshape(-1).astype(f32)
    ok = valid.reshape(-1)
    terms = -(x if w is None else (x * w.reshape(-1).astype(f32)).astype(dt).astype(f32))
    total = cascade_sum_low(np.where(ok, terms, 0), ok, dt)
    if reduction == "sum":
        return np.asarray(total).astype(dt), None
    if w is None:
        denom = f32(np.asarray(float(ok.sum()), dt))
    else:
        denom = cascade_sum_low(np.where(ok, w.reshape(-1).astype(f32), 0), ok, dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(f32(total) / denom).astype(dt), np.asarray(denom, dt)
