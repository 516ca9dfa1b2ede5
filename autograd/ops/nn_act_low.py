"""GELU and nll_loss's reduction on float16/bfloat16 as torch's CPU kernels compute them (GELU: float32 in its
order of operations, rounded once, with the functions it calls, float16's exact GELU taking the vectorised
erf polynomial; nll_loss: its 16-bit cascade sum). Used by :mod:`autograd.ops.nn_act` for 16-bit NumPy
inputs."""
from __future__ import annotations

import math

import numpy as np

from ..dtypes import LOW_PRECISION
from ..tensor import Tensor
from . import libm
from .opmath import cascade_sum_low, erf_vectorised

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def exact_first_order(kernel, formula):
    """The backward rule of an op with a torch-exact 16-bit backward kernel. First order (arrays):
    ``kernel(o, g, *saved)``, torch's numbers bitwise. Under ``create_graph`` (Tensors): ``formula(o, g, *saved)``,
    the same gradients as recorded Tensor ops on the operands' float32 values, so that they are differentiated
    again; each gradient carries the kernel's value (its derivative taken through the formula, as a cast's
    is), so a first derivative is torch's under ``create_graph`` too."""
    def rule(o, g, *saved):
        if not isinstance(g, Tensor):
            return kernel(o, g, *saved)
        from .basic import record  # noqa: PLC0415  (basic sits above this module's importers)

        exact = kernel(o.arrays, g._data, *(s._data if isinstance(s, Tensor) else s for s in saved))
        approx = formula(o, _f32(g), *(None if s is None else _f32(s) for s in saved))
        return tuple(None if e is None or a is None else record(e, (a,), _as_cast, "ToCopy", saved=())
                     for e, a in zip(exact, approx))

    return rule


def exact_loss_rule(bw, formula, nx, nt):
    """A loss's rule from its 16-bit kernel ``bw(g) -> (gx, gt)`` (the gradients not needed dropped) and the
    composite's ``formula`` for ``create_graph`` (see :func:`exact_first_order`)."""
    return exact_first_order(lambda o, g, *_: tuple(r if n else None for r, n in zip(bw(g), (nx, nt))), formula)


def _f32(v):
    """A float16/bfloat16 operand's float32 values (a Tensor recorded as a cast); anything else as it is."""
    if getattr(v, "dtype", None) not in LOW_PRECISION:
        return v
    return v.float() if isinstance(v, Tensor) else v.astype(np.float32)


def _as_cast(o, g):
    return (g,)


def _erf(xp, x):
    """erf of float64 values (libm's)."""
    return libm.erf(x)


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


def _r(v, dt):
    return np.asarray(v, np.float32).astype(dt).astype(np.float32)


def bce_logits_low(X, Y, reduction):
    """torch's binary_cross_entropy_with_logits on float16/bfloat16 (no weights): its composite
    ``(1 - y) * x - log_sigmoid(x)`` with each op rounded to the dtype (log_sigmoid's kernel in float32),
    reduced with float32 accumulation. Returns the result and its backward ``rule(g) -> (gx, gy)``, torch's
    formula for it, op by op."""
    f32, dt = np.float32, X.dtype
    x, y = X.astype(f32), np.asarray(Y).astype(dt).astype(f32)
    with np.errstate(over="ignore"):
        lsig = _r(np.minimum(x, f32(0)) - np.log1p(np.exp(-np.abs(x).astype(np.float64))).astype(f32), dt)
    one_m_y = _r(f32(1) - y, dt)
    L = _r(_r(one_m_y * x, dt) - lsig, dt).astype(dt)
    n = max(L.size, 1)
    if reduction == "none":
        out = L
    elif reduction == "sum":
        out = np.asarray(L.sum(dtype=f32)).astype(dt)
    else:
        out = np.asarray(L.mean(dtype=f32)).astype(dt)

    def rule(g):   # torch's own backward: (sigmoid(x) - y) * g and -x * g, divided by the count at the end
        G = np.broadcast_to(np.asarray(g).astype(f32), L.shape)
        with np.errstate(over="ignore"):
            sig = _r(f32(1) / (f32(1) + np.exp((-x).astype(np.float64)).astype(f32)), dt)
        gx, gy = _r(_r(sig - y, dt) * G, dt), _r(-x * G, dt)
        if reduction == "mean":
            gx, gy = _r(gx / f32(n), dt), _r(gy / f32(n), dt)
        return gx.astype(dt), gy.astype(dt)

    return out, rule


def smooth_l1_backward_low(input, target, out, reduction, beta, huber):  # noqa: A002
    """``out`` (the float16/bfloat16 smooth L1 or Huber loss, computed) recorded with torch's backward kernel:
    with ``x = input - target`` and ``norm`` (1/numel for the mean), smooth L1's ``-norm g`` / ``norm g`` /
    ``norm x g / beta`` in float32 rounded once, or Huber's ``-norm g delta`` / ``norm g delta`` / ``norm x g``
    with each op (``x`` and ``norm`` too) rounded to the dtype; under ``create_graph`` the same in float32 as
    recorded ops (differentiable again)."""
    from .basic import needs, record  # noqa: PLC0415

    f32 = np.float32
    X, Y = input._data, target._data
    dt = X.dtype
    norm = _r(f32(1.0 / max(X.size, 1)) if reduction == "mean" else f32(1), dt)
    nx, nt = needs((input, target))

    def kernel(o, g, *_):
        G = np.broadcast_to(np.asarray(g).astype(f32), X.shape)
        x = _r(X.astype(f32) - Y.astype(f32), dt)
        if huber:
            lo, hi = _r(_r(-norm * G, dt) * f32(beta), dt), _r(_r(norm * G, dt) * f32(beta), dt)
            mid = _r(_r(norm * x, dt) * G, dt)
        else:           # smooth L1's kernel runs in float32 and rounds once
            x, n32 = X.astype(f32) - Y.astype(f32), f32(1.0 / max(X.size, 1)) if reduction == "mean" else f32(1)
            lo, hi = -n32 * G, n32 * G
            mid = n32 * x * G / f32(beta) if beta else lo
        gx = np.where(x <= -beta, lo, np.where(x >= beta, hi, mid)).astype(dt)
        return (gx if nx else None), ((-gx).astype(dt) if nt else None)

    def formula(o, g, x, y):
        d = x - y
        n, k = (1.0 / max(X.size, 1) if reduction == "mean" else 1.0), (beta if huber else 1.0)
        lo, hi = -n * k * g, n * k * g
        mid = n * d * g if huber else n / beta * d * g if beta else lo
        gx = o.where(d._data <= -beta, lo, o.where(d._data >= beta, hi, mid))
        return (gx if nx else None), (-gx if nt else None)

    return record(out._data, (input, target), exact_first_order(kernel, formula),
                  "HuberLoss" if huber else "SmoothL1Loss", saved=(input, target))


def bce_low(X, Y, reduction):
    """torch's CPU binary_cross_entropy on float16/bfloat16 (no weights): its elementwise kernel in the 16-bit
    type, ``(y - 1) * max(log1p(-x), -100) - y * max(log(x), -100)`` with each op rounded, reduced with
    float32 accumulation. Returns the result and ``rule(g) -> (gx, gy)``: torch's backward kernel
    ``g (x - y) / max((1 - x) x, eps)`` and ``-logit(x) g``, each divided by the count at the end for the
    mean."""
    f32, f64, dt = np.float32, np.float64, X.dtype
    x, y = X.astype(f32), np.asarray(Y).astype(dt).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1p = np.maximum(_r(np.log1p(-x.astype(f64)), dt), f32(-100))
        lx = np.maximum(_r(np.log(x.astype(f64)), dt), f32(-100))
    L = _r(_r(_r(y - f32(1), dt) * l1p, dt) - _r(y * lx, dt), dt).astype(dt)
    n = max(L.size, 1)
    out = L if reduction == "none" else np.asarray(L.sum(dtype=f32) if reduction == "sum" else L.mean(dtype=f32))
    eps = _r(f32(1e-12), dt)

    def rule(g):
        G = np.broadcast_to(np.asarray(g).astype(f32), L.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            den = np.maximum(_r(_r(f32(1) - x, dt) * x, dt), eps)
            gx = _r(_r(G * _r(x - y, dt), dt) / den, dt)
            logit = _r(np.log(_r(x / _r(f32(1) - x, dt), dt).astype(f64)), dt)   # logit's ops, each rounded
            gy = _r(-logit * G, dt)
        if reduction == "mean":
            gx, gy = _r(gx / f32(n), dt), _r(gy / f32(n), dt)
        return gx.astype(dt), gy.astype(dt)

    return out.astype(dt), rule
