"""Activation functions and losses that need their own backward (numerics or speed), on raw arrays."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import _numba_kernels as _nk
from .basic import check_same_device, needs, record, record_once_differentiable

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(xp, x):
    if xp is np:
        try:
            from scipy.special import erf  # noqa: PLC0415

            return erf(x).astype(x.dtype, copy=False)
        except ImportError:  # pragma: no cover - scipy is optional
            return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    import cupyx.scipy.special as sp  # noqa: PLC0415  pragma: no cover - GPU only

    return sp.erf(x).astype(x.dtype, copy=False)  # pragma: no cover - CuPy's erf turns float16 into float64


def _elementwise(x, fwd, dfn, name):
    """``fwd(xp, X) -> Y`` and ``dfn(xp, X, Y) -> dY/dX``."""
    X = x._data
    xp = backend.array_module(X)
    Y = fwd(xp, X)
    return record_once_differentiable(Y, (x,), lambda g: (g * dfn(xp, X, Y),), name)


def gelu(x, approximate="none"):
    """GELU, exact (``0.5 x (1 + erf(x / sqrt 2))``) or ``approximate="tanh"``.

    On NumPy float32/float64 arrays forward and backward are each one compiled pass (``_numba_kernels``:
    libm's erf/tanh in float64; a vectorisable erf/tanh built from arithmetic, accurate below float32's
    resolution, in float32); otherwise NumPy/CuPy expressions (SciPy's erf on the CPU).
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    X = x._data
    xp = backend.array_module(X)
    kern = _nk.GELU.get((approximate, X.dtype.name)) if _nk.enabled(xp) else None
    if kern is not None:
        fwd_k, bwd_k = kern
        Xc = np.ascontiguousarray(X)
        Y = np.empty_like(Xc)
        fwd_k(Xc.reshape(-1), Y.reshape(-1))

        def bw(g):
            gc = np.ascontiguousarray(g, dtype=Xc.dtype)
            gx = np.empty_like(Xc)
            bwd_k(Xc.reshape(-1), gc.reshape(-1), gx.reshape(-1))
            return (gx,)

        return record_once_differentiable(Y, (x,), bw, "Gelu")
    if approximate == "none":
        def fwd(xp, X):
            return 0.5 * X * (1.0 + _erf(xp, X * (1.0 / math.sqrt(2.0))))

        def dfn(xp, X, Y):
            cdf = 0.5 * (1.0 + _erf(xp, X * (1.0 / math.sqrt(2.0))))
            return cdf + X * _INV_SQRT_2PI * xp.exp(-0.5 * X * X)
    else:
        def fwd(xp, X):
            return 0.5 * X * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3)))

        def dfn(xp, X, Y):
            t = xp.tanh(_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3))
            return 0.5 * (1.0 + t) + 0.5 * X * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * X * X)
    return _elementwise(x, fwd, dfn, "Gelu")


def leaky_relu(x, negative_slope=0.01):
    s = negative_slope
    return _elementwise(x, lambda xp, X: xp.where(X > 0, X, X * s),
                        lambda xp, X, Y: xp.where(X > 0, 1.0, s).astype(X.dtype), "LeakyRelu")


def elu(x, alpha=1.0):
    return _elementwise(x, lambda xp, X: xp.where(X > 0, X, alpha * xp.expm1(xp.minimum(X, 0))),
                        lambda xp, X, Y: xp.where(X > 0, 1.0, Y + alpha).astype(X.dtype), "Elu")


def _sig(xp, X):
    e = xp.exp(-xp.abs(X))
    return xp.where(X >= 0, 1 / (1 + e), e / (1 + e))


def silu(x):
    def dfn(xp, X, Y):
        s = _sig(xp, X)
        return s * (1 + X * (1 - s))

    return _elementwise(x, lambda xp, X: X * _sig(xp, X), dfn, "Silu")


def softplus(x, beta=1.0, threshold=20.0):
    def fwd(xp, X):
        z = X * beta
        return xp.where(z > threshold, X, xp.log1p(xp.exp(xp.minimum(z, threshold))) / beta)

    return _elementwise(x, fwd, lambda xp, X, Y: xp.where(X * beta > threshold, 1.0, _sig(xp, X * beta))
                        .astype(X.dtype), "Softplus")


def hardtanh(x, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _elementwise(x, lambda xp, X: xp.clip(X, min_val, max_val),
                        lambda xp, X, Y: ((X > min_val) & (X < max_val)).astype(X.dtype), "Hardtanh")


# ---- losses --------------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of class indices; ``input`` is (C), (N, C) or (N, C, d1, ...)."""
    check_reduction(reduction)
    check_same_device(input, target, weight)
    X = input._data
    T = target._data if isinstance(target, Tensor) else np.asarray(target)
    xp = backend.array_module(X)
    if T.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {T.dtype}")
    if X.ndim == 1:
        if T.ndim != 0:
            raise ValueError(f"Expected input batch_size (1) to match target batch_size ({T.shape[0]}).")
        X2, T2 = X[None], T[None]
    else:
        X2, T2 = X, T
        if X.ndim < 1 or T.shape[:1] != X.shape[:1]:
            raise ValueError(f"Expected input batch_size ({X.shape[0]}) to match target batch_size "
                             f"({T.shape[0] if T.ndim else 1}).")
        if T.shape[1:] != X.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(X.shape)} , target: {list(T.shape)})")
    C = X2.shape[1]
    valid = T2 != ignore_index
    safe_t = xp.where(valid, T2, 0)
    # one host synchronisation on a GPU: an out-of-range target would silently wrap around in CuPy
    if bool((valid & ((safe_t < 0) | (safe_t >= C))).any()):
        raise IndexError(f"Target {int(safe_t.max()) if int(safe_t.max()) >= C else int(safe_t.min())} is "
                         f"out of bounds.")
    if weight is not None:
        if weight.numel() != C:
            raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no classes but "
                               f"got weight tensor of shape: {list(weight.shape)}")
        w = weight._data.astype(X.dtype, copy=False)[safe_t] * valid
    else:
        w = valid.astype(X.dtype)
    picked = xp.take_along_axis(X2, safe_t[:, None], axis=1)[:, 0]
    losses = -picked * w
    if reduction == "none":
        out = losses[0] if X.ndim == 1 else losses
        denom = None
    elif reduction == "sum":
        out = xp.asarray(losses.sum())
        denom = None
    else:
        denom = w.sum()
        out = xp.asarray(losses.sum() / denom)

    def bw(g):
        if reduction == "none":
            gl = g[None] if X.ndim == 1 else g
        elif reduction == "sum":
            gl = g
        else:
            # every target ignored: 0 (as torch); decided on the device, not with a host sync
            gl = xp.where(denom != 0, g / xp.where(denom != 0, denom, 1), 0).astype(g.dtype, copy=False)
        classes = xp.arange(C).reshape((1, C) + (1,) * (X2.ndim - 2))
        gx = (safe_t[:, None] == classes) * xp.broadcast_to(-w * gl, w.shape)[:, None]
        gx = gx.astype(X2.dtype, copy=False)
        return (gx[0] if X.ndim == 1 else gx,)

    return record_once_differentiable(out.astype(X.dtype, copy=False), (input,), bw, "NllLoss")


def _reduce(xp, L, reduction):
    if reduction == "none":
        return L, 1.0
    if reduction == "sum":
        return xp.asarray(L.sum()), 1.0
    return xp.asarray(L.mean()), 1.0 / max(L.size, 1)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    check_reduction(reduction)
    check_same_device(input, target, weight)
    X = input._data
    Y = target._data if isinstance(target, Tensor) else target
    xp = backend.array_module(X)
    if tuple(getattr(Y, "shape", ())) != X.shape:
        raise ValueError(f"Using a target size ({tuple(Y.shape)}) that is different to the input size "
                         f"({X.shape}) is deprecated. Please ensure they have the same size.")
    if X.size and (float(X.min()) < 0 or float(X.max()) > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    W = None if weight is None else weight._data
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 as torch
        logx = xp.maximum(xp.log(X), -100.0)
        log1mx = xp.maximum(xp.log1p(-X), -100.0)
    L = -(Y * logx + (1 - Y) * log1mx)
    if W is not None:
        L = L * W
    out, scale = _reduce(xp, L, reduction)
    nx, nt = needs((input, target))

    def bw(g):
        gx = gt = None
        gg = g * scale
        if W is not None:
            gg = gg * W
        if nx:
            gx = gg * (X - Y) / xp.maximum((1 - X) * X, 1e-12)
        if nt:
            gt = gg * (log1mx - logx)
        return (gx if gx is None else xp.broadcast_to(gx, X.shape),
                gt if gt is None else xp.broadcast_to(gt, X.shape))

    return record_once_differentiable(out.astype(X.dtype, copy=False), (input, target), bw, "BinaryCrossEntropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    """``(1 - y) x + (1 + (pw - 1) y) softplus(-x)``, computed stably."""
    check_reduction(reduction)
    check_same_device(input, target, weight, pos_weight)
    X = input._data
    Y = target._data if isinstance(target, Tensor) else target
    xp = backend.array_module(X)
    if tuple(getattr(Y, "shape", ())) != X.shape:
        raise ValueError(f"Target size ({tuple(Y.shape)}) must be the same as input size ({X.shape})")
    W = None if weight is None else weight._data
    PW = None if pos_weight is None else pos_weight._data
    sp_neg = xp.log1p(xp.exp(-xp.abs(X))) + xp.maximum(-X, 0)  # softplus(-x)
    coef = 1.0 if PW is None else 1 + (PW - 1) * Y
    L = (1 - Y) * X + coef * sp_neg
    if W is not None:
        L = L * W
    out, scale = _reduce(xp, L, reduction)
    nx, nt = needs((input, target))

    def bw(g):
        gx = gt = None
        gg = g * scale
        if W is not None:
            gg = gg * W
        sig_neg = _sig(xp, -X)
        if nx:
            gx = xp.broadcast_to(gg * ((1 - Y) - coef * sig_neg), X.shape)
        if nt:
            dcoef = 0.0 if PW is None else (PW - 1) * sp_neg
            gt = xp.broadcast_to(gg * (-X + dcoef), X.shape)
        return gx, gt

    return record_once_differentiable(out.astype(X.dtype, copy=False), (input, target), bw, "BinaryCrossEntropyWithLogits")


__all__ = ["gelu", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "check_reduction"]
