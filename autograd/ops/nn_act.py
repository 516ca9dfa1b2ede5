"""Activation functions and losses that need their own backward (numerics or speed).

Each backward rule is written in the op vocabulary (see :mod:`autograd.ops.vocabulary`): raw arrays for a
first-order backward, recorded Tensor ops under ``create_graph``."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import dtypes as _dtypes
from ..tensor import Tensor
from . import _numba_kernels as _nk, libm
from . import elementwise as ew
from .basic import check_same_device, needs, record
from .nn_act_low import gelu_backward_low as _gelu_backward_low, gelu_low as _gelu_low, nll_reduce_low
from .nn_act_low import bce_logits_low, bce_low, exact_loss_rule
from .opmath import float32_rule

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(xp, x):
    if xp is np:
        return libm.erf(x).astype(x.dtype)
    import cupyx.scipy.special as sp  # noqa: PLC0415  pragma: no cover - GPU only

    return sp.erf(x).astype(x.dtype, copy=False)  # pragma: no cover - CuPy's erf turns float16 into float64


def _low(X):
    return X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION


def _elementwise(x, fwd, rule, name, saved=None):
    """``fwd(xp, X) -> Y`` recorded with ``rule(o, g, *saved)`` (default: the input saved, as torch). On
    float16/bfloat16 both run on float32 values and round once, as torch's fused activation kernels do."""
    X = x._data
    if _low(X):
        Y = fwd(backend.array_module(X), X.astype(np.float32)).astype(X.dtype)
        return record(Y, (x,), float32_rule(rule), name, saved=saved)
    Y = fwd(backend.array_module(X), X)
    return record(Y, (x,), rule, name, saved=saved)


def _gelu_d(x, approximate, erf, exp, tanh):
    """dGELU/dx, written once for arrays and Tensors (``erf``/``exp``/``tanh`` of the one or the other)."""
    if approximate == "none":
        cdf = 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
        return cdf + x * _INV_SQRT_2PI * exp(-0.5 * x * x)
    t = tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)


def gelu_backward_array(g, x, approximate):
    """``g * gelu'(x)`` on arrays: one compiled pass where ``_numba_kernels`` has one, else NumPy/CuPy."""
    xp = backend.array_module(x)
    if xp is np and _low(x):
        return _gelu_backward_low(g, x, approximate)
    if _low(x):
        return float32_rule(lambda o, g_, x_: (gelu_backward_array(g_, x_, approximate),))(None, g, x)[0]
    kern = _nk.GELU.get((approximate, x.dtype.name)) if _nk.enabled(xp) else None
    if kern is not None:
        xc = np.ascontiguousarray(x)
        gc = np.ascontiguousarray(g, dtype=xc.dtype)
        gx = np.empty_like(xc)
        kern[1](xc.reshape(-1), gc.reshape(-1), gx.reshape(-1), work=xc.size)
        return gx
    return g * _gelu_d(x, approximate, lambda v: _erf(xp, v), xp.exp, xp.tanh)


def gelu_backward_tensor(g, x, approximate):
    """``g * gelu'(x)`` as recorded Tensor ops, so it can be differentiated again (in ``g`` and ``x``)."""
    return g * _gelu_d(x, approximate, ew.erf, ew.exp, ew.tanh)


def refuse_complex(x, kernel):
    """torch's CPU kernels of these ops have no complex form: the same error rather than a wrong value."""
    if getattr(x, "dtype", None) is not None and x.dtype.kind == "c":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dtypes.torch_name(x.dtype)}\'')


def gelu(x, approximate="none"):
    """GELU, exact (``0.5 x (1 + erf(x / sqrt 2))``) or ``approximate="tanh"``.

    On NumPy float32/float64 arrays forward and backward are each one compiled, threaded pass
    (``_numba_kernels``: libm's erf/tanh in float64; in float32 a vectorised float64 evaluation with no
    cancelling step, within 2 ulp of the exact value over the whole float32 range, and within 4 ulp plus
    2^-20 max(1, |x|) of torch's float32 kernel); otherwise NumPy/CuPy expressions (SciPy's erf on the CPU).
    The backward is the vocabulary op ``gelu_backward``, so ``create_graph`` differentiates it as Tensor ops.
    """
    refuse_complex(x, "GeluKernelImpl")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    X = x._data
    xp = backend.array_module(X)
    low = _low(X)
    kern = _nk.GELU.get((approximate, "float32" if low else X.dtype.name)) if _nk.enabled(xp) else None

    def rule(o, g, x_):
        return (o.gelu_backward(g, x_, approximate),)

    if low and xp is np:
        return record(_gelu_low(X, approximate), (x,), rule, "Gelu", saved=(x,))
    if kern is not None:
        Xc = np.ascontiguousarray(X, np.float32 if low else None)
        Y = np.empty_like(Xc)
        kern[0](Xc.reshape(-1), Y.reshape(-1), work=Xc.size)
        return record(Y.astype(X.dtype, copy=False), (x,), rule, "Gelu", saved=(x,))
    if approximate == "none":
        def fwd(xp, X):
            return 0.5 * X * (1.0 + _erf(xp, X * (1.0 / math.sqrt(2.0))))
    else:
        def fwd(xp, X):
            return 0.5 * X * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (X + 0.044715 * X ** 3)))
    return _elementwise(x, fwd, rule, "Gelu")


def masked_grad_array(g, x, select, name=None):
    """``select(xp, x, g)``: ``g`` passed, scaled or zeroed by a piecewise-constant derivative read off ``x``."""
    return select(backend.array_module(x), x, g)


def masked_grad(g, x, select, name):
    """``masked_grad_array`` recorded: linear in ``g``; in ``x`` its derivative is zero, but ``x`` is still an
    input of the result, as in torch, so differentiating it again gives zeros rather than "does not require grad"."""
    X = x._data
    G = g._data if isinstance(g, Tensor) else g
    return record(select(backend.array_module(X), X, G), (g, x),
                  lambda o, gg, x_: (o.masked_grad(gg, x_, select, name), o.zeros_like(x_)), name, saved=(x,))


# The piecewise-constant derivatives below read their masks off the raw input (they are not differentiated);
# the input is still saved, as torch saves it, so an in-place change of it before backward is an error.
def leaky_relu(x, negative_slope=0.01):
    s = negative_slope
    return _elementwise(x, lambda xp, X: xp.where(X > 0, X, X * s),
                        lambda o, g, x_: (o.masked_grad(g, x_, lambda xp, X, G: xp.where(X > 0, G, G * s),
                                                          "LeakyReluBackwardBackward"),),
                        "LeakyRelu")


def elu(x, alpha=1.0):
    X = x._data

    def rule(o, g, x_):   # torch's elu backward (out of place) reads the input: g alpha exp(x) below 0
        return (o.where(X > 0, g, g * alpha * o.exp(o.minimum(x_, 0))),)

    return _elementwise(x, lambda xp, X: xp.where(X > 0, X, alpha * xp.expm1(xp.minimum(X, 0))), rule, "Elu")


def _sig(xp, X):
    e = xp.exp(-xp.abs(X))
    return xp.where(X >= 0, 1 / (1 + e), e / (1 + e))


def _silu_rule(o, g, x):
    if isinstance(x, Tensor):   # (create_graph: the overflow-free sigmoid, whose own gradient stays finite)
        s = o.sigmoid(x)
    else:                       # torch's kernel: 1 / (1 + exp(-x))
        with np.errstate(over="ignore"):
            s = 1 / (1 + o.exp(-x))
    return (g * (s * (1 + x * (1 - s))),)


def silu(x):
    # torch's kernel: x / (1 + exp(-x)) (exp(-x) = inf gives -0.0 below about -88)
    def fwd(xp, X):
        with np.errstate(over="ignore"):
            return X / (1 + xp.exp(-X))

    return _elementwise(x, fwd, _silu_rule, "Silu")


def softplus(x, beta=1.0, threshold=20.0):
    refuse_complex(x, "softplus_cpu")

    def fwd(xp, X):
        z = X * beta
        return xp.where(z > threshold, X, xp.log1p(xp.exp(xp.minimum(z, threshold))) / beta)

    X = x._data

    def rule(o, g, x_):   # torch's kernel: g z / (z + 1), z = exp(beta x), or g above the threshold
        z = o.exp(o.minimum(x_ * beta, threshold))
        return (o.where(X * beta > threshold, g, g * z / (z + 1)),)

    return _elementwise(x, fwd, rule, "Softplus")


def _mish_rule(o, g, x):
    # torch's kernel: g (tanh(softplus(x)) + x sigmoid(x) (1 - tanh(softplus(x))^2)), sigmoid = 1 / (1 + e^-x)
    s = o.sigmoid(x) if isinstance(x, Tensor) else 1 / (1 + o.exp(-x))
    t = o.tanh(o.log1p(o.exp(x)))
    return (g * (t + x * s * (1 - t * t)),)


def mish(x):
    def fwd(xp, X):
        with np.errstate(over="ignore"):
            return X * xp.tanh(xp.log1p(xp.exp(X)))

    with np.errstate(over="ignore"):
        return _elementwise(x, fwd, _mish_rule, "Mish")


def _hardtanh_select(min_val, max_val):
    return lambda xp, X, G: xp.where((X > min_val) & (X < max_val), G, xp.zeros((), G.dtype))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _elementwise(x, lambda xp, X: xp.clip(X, min_val, max_val),
                        lambda o, g, x_: (o.masked_grad(g, x_, _hardtanh_select(min_val, max_val),
                                                          "HardtanhBackwardBackward"),),
                        "Hardtanh")


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
    elif X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION and xp is np:
        out, denom = nll_reduce_low(picked, w if weight is not None else None, valid, reduction)
    elif reduction == "sum":
        out = xp.asarray(losses.sum())
        denom = None
    else:
        denom = w.sum()
        out = xp.asarray(losses.sum() / denom)

    # the gradient is linear in g and does not depend on the input: the targets, weights and denominator
    # are captured raw (torch differentiates neither target nor weight)
    nonzero = None if denom is None else xp.asarray(denom != 0)

    def rule(o, g):
        if reduction == "none":
            gl = o.reshape(g, (1,)) if X.ndim == 1 else g
        elif reduction == "sum":
            gl = g
        else:
            # every target ignored: 0 (as torch); decided on the device, not with a host sync
            gl = o.cast(o.where(nonzero, g / xp.where(nonzero, denom, 1), 0), g.dtype)
        classes = xp.arange(C).reshape((1, C) + (1,) * (X2.ndim - 2))
        rows = o.reshape(o.expand(-w * gl, w.shape), w.shape[:1] + (1,) + w.shape[1:])
        gx = o.cast((safe_t[:, None] == classes) * rows, X2.dtype)
        return (o.reshape(gx, X.shape) if X.ndim == 1 else gx,)

    return record(out.astype(X.dtype, copy=False), (input,), rule, "NllLoss", saved=())


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    """``(input - target) ** 2`` reduced, for operands of one dtype and shape, with torch's backward kernel:
    ``norm * (input - target) * grad`` (``norm = 2 / numel`` for the mean, else 2), each product rounded to
    the operands' dtype (a 16-bit ``norm`` too), as torch's CPU kernel computes it."""
    refuse_complex(input, "mse_cpu")
    from . import reduction as _red  # noqa: PLC0415  (reduction imports nothing of nn_act; kept local like norm's)

    check_reduction(reduction)
    check_same_device(input, target)
    X, Y = input._data, target._data
    d = X - Y
    L = Tensor._wrap(d * d)
    out = L if reduction == "none" else _red.sum(L) if reduction == "sum" else _red.mean(L)
    norm = 2.0 / max(X.size, 1) if reduction == "mean" else 2.0
    nx, nt = needs((input, target))

    def rule(o, g, x, y):
        return (norm * (x - y) * g if nx else None), (norm * (y - x) * g if nt else None)

    return record(out._data, (input, target), rule, "MseLoss")


def _reduce(xp, L, reduction):
    if reduction == "none":
        return L
    return xp.asarray(L.sum() if reduction == "sum" else L.mean())


def _scale(n, reduction):
    """The factor of the loss's gradient the reduction brings: 1 / n for the mean."""
    return 1.0 / max(n, 1) if reduction == "mean" else 1.0


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
    scale = _scale(X.size, reduction)
    nx, nt = needs((input, target))

    def rule(o, g, x, y):
        gx = gt = None
        gg = g * scale
        if W is not None:
            gg = gg * W
        if nx:
            gx = gg * (x - y) / o.maximum((1 - x) * x, 1e-12)
        if nt:
            with np.errstate(divide="ignore"):
                gt = gg * (o.maximum(o.log1p(-x), -100.0) - o.maximum(o.log(x), -100.0))
        return gx, gt

    if W is None and xp is np and _low(X):
        out, bw = bce_low(X, Y, reduction)
        return record(out, (input, target), exact_loss_rule(bw, rule, nx, nt), "BinaryCrossEntropy",
                      saved=(input, target if isinstance(target, Tensor) else Y))
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 as torch
        logx = xp.maximum(xp.log(X), -100.0)
        log1mx = xp.maximum(xp.log1p(-X), -100.0)
    L = -(Y * logx + (1 - Y) * log1mx)
    if W is not None:
        L = L * W
    out = _reduce(xp, L, reduction)
    # torch saves input, target and weight (the weight is not differentiated: captured raw)
    return record(out.astype(X.dtype, copy=False), (input, target), rule, "BinaryCrossEntropy",
                  saved=(input, target if isinstance(target, Tensor) else Y))


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
    coef = 1.0 if PW is None else 1 + (PW - 1) * Y
    scale = _scale(X.size, reduction)
    nx, nt = needs((input, target))

    def rule(o, g, x, y):
        gx = gt = None
        gg = g * scale
        if W is not None:
            gg = gg * W
        # a target that needs no gradient is a constant: the forward's coefficient serves
        c = coef if PW is None or not nt else 1 + (PW - 1) * y
        if nx:
            gx = gg * ((1 - y) - c * o.sigmoid(-x))
        if nt:
            dcoef = 0.0 if PW is None else (PW - 1) * (o.log1p(o.exp(-o.abs(x))) + o.maximum(-x, 0))
            gt = gg * (-x + dcoef)
        return gx, gt

    if W is None and PW is None and xp is np and _low(X) and getattr(Y, "shape", None) == X.shape:
        out, bw = bce_logits_low(X, Y, reduction)
        return record(out, (input, target), exact_loss_rule(bw, rule, nx, nt), "BinaryCrossEntropyWithLogits",
                      saved=(input, target if isinstance(target, Tensor) else Y))
    sp_neg = xp.log1p(xp.exp(-xp.abs(X))) + xp.maximum(-X, 0)  # softplus(-x)
    L = (1 - Y) * X + coef * sp_neg
    if W is not None:
        L = L * W
    out = _reduce(xp, L, reduction)
    return record(out.astype(X.dtype, copy=False), (input, target), rule, "BinaryCrossEntropyWithLogits",
                  saved=(input, target if isinstance(target, Tensor) else Y))


__all__ = ["gelu", "gelu_backward_array", "gelu_backward_tensor", "masked_grad", "masked_grad_array", "leaky_relu", "elu", "silu", "softplus", "mish", "hardtanh", "nll_loss", "mse_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "check_reduction"]
