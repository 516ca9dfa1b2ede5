"""Reductions with ``dim``/``keepdim``: sum, mean, prod, max/min (+ indices), var/std, norm, logsumexp,
softmax and log_softmax."""
from __future__ import annotations

import builtins
import collections
import operator

import numpy as np

from .. import backend
from ..tensor import Tensor
from .basic import OUT, record, register
from .complex_ops import conjugated, refuse
from . import cascade_sum as _cascade, reduction_low as _low
from .opmath import float32_rule, scalar_op
from .. import dtypes as _dtypes

MaxMin = collections.namedtuple("MaxMin", ["values", "indices"])


def _axes(x, dim):
    if dim is None:
        return None
    if isinstance(dim, int):
        dim = (dim,)
    elif len(dim) == 0:  # torch: an empty dim list reduces everything
        return None
    nd = builtins.max(x.ndim, 1)
    out = []
    for d in dim:
        if not -nd <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
        out.append(d % nd)
    return tuple(out) if x.ndim else None


def _kept(shape, axes):
    """The shape of a reduction over ``axes`` with ``keepdim=True``: a reduced gradient reshaped to it
    broadcasts against the input (in either vocabulary, so rules stay differentiable)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _identity_rule(o, g):
    return (g,)


@register("sum")
def sum(x, dim=None, keepdim=False, dtype=None):  # noqa: A001
    X = x._data
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    if dtype is None and X.dtype.kind in "biu":
        dtype = "int64"  # torch sums every integral/bool dtype in int64
    if dtype is None and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = xp.asarray(_cascade.sum16(X, ax, keepdim))   # float32, in torch's order of additions
    else:
        out = xp.asarray(X.sum(axis=ax, keepdims=keepdim, dtype=dtype))
    xs, ks = X.shape, _kept(X.shape, ax)
    return record(out, (x,), lambda o, g: (o.expand(o.reshape(g, ks), xs),), "Sum", saved=())


@register("mean")
def mean(x, dim=None, keepdim=False, dtype=None):
    X = x._data
    if (X.dtype.kind not in "fc" and X.dtype != _dtypes.bfloat16) and dtype is None:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {X.dtype}")
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    if dtype is None and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = xp.asarray(_cascade.mean16(X, ax, keepdim))   # float32 sum / n, rounded once
    else:
        out = xp.asarray(X.mean(axis=ax, keepdims=keepdim, dtype=dtype))
    n = X.size // builtins.max(out.size, 1) if X.size else 0
    xs, ks = X.shape, _kept(X.shape, ax)
    return record(out, (x,), lambda o, g: (o.expand(o.reshape(g, ks) / n, xs),), "Mean", saved=())


@register("prod")
def prod(x, dim=None, keepdim=False):
    X = x._data
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    low = xp is np and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION
    if low and X.ndim and X.size:
        out = _low.prod_low(X, ax, keepdim)
    else:
        out = xp.asarray(X.prod(axis=ax, keepdims=keepdim, dtype="int64" if X.dtype.kind in "biu" else None))

    ks = _kept(X.shape, ax)
    nonzero = low and bool((X != 0).all())

    def rule(o, g, x_, y):
        if X.ndim == 0:
            return (g,)
        if nonzero and o is o.arrays:   # torch's formula without zeros: g * (result / input)
            return (o.reshape(g, ks) * (o.reshape(y, ks) / x_),)
        return (o.reshape(g, ks) * o.prod_others(x_, tuple(range(X.ndim)) if ax is None else ax),)

    if X.dtype.kind == "c":
        rule = conjugated(rule)
    return record(xp.asarray(out), (x,), rule, "Prod", saved=(x, OUT))


def _extreme(x, dim, keepdim, is_max):
    X = x._data
    refuse(x, "max_all" if dim is None else "max")    # complex numbers have no order
    xp = backend.array_module(X)
    if dim is None:
        if X.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0.")
        out = X.max() if is_max else X.min()
        mask = (X == out)
        cnt = mask.sum()
        # the gradient is shared by the entries equal to the extreme (a mask, not differentiated)
        return record(xp.asarray(out), (x,), lambda o, g, _x, _y: (mask * (g / cnt),), "Max" if is_max else "Min",
                      saved=(x, OUT))
    d = _axes(X, dim)[0] if X.ndim else 0
    idx = (X.argmax if is_max else X.argmin)(axis=d) if X.ndim else xp.asarray(0)
    vals = xp.take_along_axis(X, xp.expand_dims(idx, d), d) if X.ndim else X.copy()
    if not keepdim and X.ndim:
        vals = vals.squeeze(d)
    kidx = xp.expand_dims(idx, d) if X.ndim else idx

    xs = X.shape
    ks = xs[:d] + (1,) + xs[d + 1:]

    def rule(o, g):
        if not X.ndim:
            return (g,)
        return (o.scatter_along(o.reshape(g, ks), xs, kidx, d, False),)

    v = record(vals, (x,), rule, "Max" if is_max else "Min", saved=())
    i = Tensor._wrap((kidx if keepdim else idx).astype("int64"))
    return MaxMin(v, i)


@register("max")
def max(x, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(x, dim)
    return _extreme(x, dim, keepdim, True)


@register("min")
def min(x, dim=None, keepdim=False):  # noqa: A001
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(x, dim)
    return _extreme(x, dim, keepdim, False)


@register("amax")
def amax(x, dim=None, keepdim=False):
    return _amaxmin(x, dim, keepdim, True)


@register("amin")
def amin(x, dim=None, keepdim=False):
    return _amaxmin(x, dim, keepdim, False)


def _amaxmin(x, dim, keepdim, is_max):
    X = x._data
    refuse(x, "max_values_cpu" if is_max else "min_values_cpu")
    xp = backend.array_module(X)
    ax = _axes(X, dim) if dim not in (None, ()) else None
    out = X.max(axis=ax, keepdims=True) if is_max else X.min(axis=ax, keepdims=True)
    mask = X == out
    cnt = mask.sum(axis=ax, keepdims=True)
    res = out if keepdim else (out.reshape(()) if ax is None else out.squeeze(ax))
    ks = _kept(X.shape, ax)

    def rule(o, g, _x, _y):   # shared by the entries equal to the extreme (a mask, not differentiated)
        return (mask * (o.reshape(g, ks) / cnt),)

    return record(xp.asarray(res), (x,), rule, "Amax" if is_max else "Amin", saved=(x, OUT))


@register("argmax")
def argmax(x, dim=None, keepdim=False):
    X = x._data
    if dim is None:
        return Tensor._wrap(backend.array_module(X).asarray(X.argmax()).astype("int64"))
    if X.ndim == 0:
        _axes(X, dim)
        return Tensor._wrap(backend.array_module(X).zeros((), dtype="int64"))
    r = X.argmax(axis=dim)
    return Tensor._wrap((backend.array_module(X).expand_dims(r, dim) if keepdim else r).astype("int64"))


@register("argmin")
def argmin(x, dim=None, keepdim=False):
    X = x._data
    if dim is None:
        return Tensor._wrap(backend.array_module(X).asarray(X.argmin()).astype("int64"))
    if X.ndim == 0:
        _axes(X, dim)
        return Tensor._wrap(backend.array_module(X).zeros((), dtype="int64"))
    r = X.argmin(axis=dim)
    return Tensor._wrap((backend.array_module(X).expand_dims(r, dim) if keepdim else r).astype("int64"))


def _check_float(X, what):
    if (X.dtype.kind not in "fc" and X.dtype != _dtypes.bfloat16):
        from .. import dtypes

        raise RuntimeError(what.format(dtypes.torch_name(X.dtype)))


def _var_parts(x, dim, unbiased, correction):
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    X = x._data
    _check_float(X, "std and var only support floating point and complex dtypes")
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    n = X.size if ax is None else int(np.prod([X.shape[a] for a in ax]))
    denom = float(builtins.max(n - correction, 0))
    if X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        # torch: the backward centres on the 16-bit mean (accumulated in float32); the forward is Welford's
        # in float64, which the exact two-pass float64 value stands for
        c = X - _cascade.mean16(X, ax, keepdim=True)
    else:
        c = X - X.mean(axis=ax, keepdims=True)
    return X, xp, ax, c, denom


def _centred(o, x, c, ax):
    """``x - mean(x)``: the forward's own array for a first-order backward, recomputed from the saved input
    under ``create_graph`` so that it is differentiated too."""
    return c if o is o.arrays else x - o.mean(x, ax, True)


def _squares(c):
    # |c|^2: a complex variance is real (its backward, g * 2 c / denom, is then the complex gradient as torch)
    return (c.real * c.real + c.imag * c.imag) if c.dtype.kind == "c" else c * c


def _var_scale(denom):
    return 2.0 / denom if denom else float("inf")


@register("var")
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance; with no degrees of freedom left (``n <= correction``) NaN/inf with a NaN gradient, as torch."""
    X, xp, ax, c, denom = _var_parts(x, dim, unbiased, correction)
    if xp is np and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = _low.var_low(X, ax, keepdim, denom, False)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xp.asarray(_squares(c).sum(axis=ax, keepdims=keepdim) / X.real.dtype.type(denom))

    ks = _kept(X.shape, ax)

    def rule(o, g, x_):
        with np.errstate(invalid="ignore"):
            return (scalar_op(o.reshape(g, ks), _var_scale(denom), operator.mul) * _centred(o, x_, c, ax),)

    return record(out, (x,), rule, "Var")


@register("std")
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation; the gradient is 0 where it is 0 (constant input), as torch."""
    X, xp, ax, c, denom = _var_parts(x, dim, unbiased, correction)
    if xp is np and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = _low.var_low(X, ax, keepdim, denom, True)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xp.asarray(xp.sqrt(_squares(c).sum(axis=ax, keepdims=keepdim) / X.real.dtype.type(denom)))

    ks = _kept(X.shape, ax)

    def rule(o, g, x_, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            gv = o.where(out == 0, 0, g / (2 * y))
            return (scalar_op(o.reshape(gv, ks), _var_scale(denom), operator.mul) * _centred(o, x_, c, ax),)

    return record(out, (x,), rule, "Std", saved=(x, OUT))


@register("norm")
def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    from .elementwise import abs as _abs

    _check_float(x._data, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}")
    if p in (float("inf"), "inf"):
        return amax(_abs(x), dim, keepdim)
    if p in (float("-inf"),):
        return amin(_abs(x), dim, keepdim)
    if p == 1:
        return sum(_abs(x), dim, keepdim)
    if p == 0:
        return sum((x != 0).to(x.dtype), dim, keepdim)
    if p in ("fro", None):
        p = 2
    if p == "nuc":
        raise NotImplementedError("nuclear norm is not supported")
    p = float(p)
    X = x._data
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    a = xp.abs(X)
    if X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:   # torch: float32 all through, rounded once
        X32, a32 = X.astype(_dtypes.float32), a.astype(_dtypes.float32)
        out = xp.asarray(xp.sqrt((X32 * X32).sum(axis=ax, keepdims=keepdim)) if p == 2 else
                         ((a32 ** p).sum(axis=ax, keepdims=keepdim)) ** (1.0 / p)).astype(X.dtype)
    else:
        out = xp.asarray(xp.sqrt(_squares(X).sum(axis=ax, keepdims=keepdim)) if p == 2 else
                         ((a ** p).sum(axis=ax, keepdims=keepdim)) ** (1.0 / p))

    ks = _kept(X.shape, ax)

    def rule(o, g, x_, y):
        # d|x|_p / dx = sign(x) |x|^(p-1) / |x|_p^(p-1); 0 where x == 0 or the norm is 0 (as torch)
        yk = o.reshape(y, ks)
        ge = o.reshape(g, ks)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                r = x_ / yk
            else:
                ax_ = a if o is o.arrays else o.abs(x_)
                # a complex entry's direction is x / |x| (its sign would be refused); 0 / 0 is masked below
                unit = x_ / ax_ if X.dtype.kind == "c" else o.sign(x_)
                r = unit * ax_ ** (p - 1) / yk ** (p - 1)
            zero = (X == 0) | (out.reshape(ks) == 0)
            return (o.where(zero, 0, ge * r),)

    return record(out.astype(a.dtype, copy=False), (x,), rule, "Norm", saved=(x, OUT))


@register("logsumexp")
def logsumexp(x, dim, keepdim=False):
    X = x._data
    xp = backend.array_module(X)
    ax = _axes(X, dim)
    m = X.max(axis=ax, keepdims=True) if X.dtype.kind != "c" else X.real.max(axis=ax, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    if xp is np and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        lse = _low.logsumexp_low(X, m, ax)
    else:
        s = xp.exp(X - m).sum(axis=ax, keepdims=True)
        lse = xp.log(s) + m
    out = lse if keepdim else lse.squeeze(ax)
    ks = lse.shape
    rule = _logsumexp_rule(ks)
    return record(out, (x,), conjugated(rule) if X.dtype.kind == "c" else rule, "LogSumExp", saved=(x, OUT))


def _logsumexp_rule(ks):
    return lambda o, g, x_, y: (o.reshape(g, ks) * o.exp(x_ - o.reshape(y, ks)),)


def _check_softmax(X, name):
    if X.dtype.kind == "c":
        refuse(Tensor._wrap(X), f"{name}_lastdim_kernel_impl")
    if (X.dtype.kind not in "fc" and X.dtype != _dtypes.bfloat16):
        from .. import dtypes

        raise NotImplementedError(f'"{name}_lastdim_kernel_impl" not implemented for \'{dtypes.torch_name(X.dtype)}\'')


@register("softmax")
def softmax(x, dim, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    X = x._data
    _check_softmax(X, "softmax")
    xp = backend.array_module(X)
    X, dt = _opmath(X)
    e = _low.exp32(xp, X - X.max(axis=dim, keepdims=True), dt)
    s = e.sum(axis=dim, keepdims=True)
    Y = (e / s).astype(dt, copy=False)
    d = dim % builtins.max(X.ndim, 1)
    if dt != X.dtype and xp is np and X.ndim and d != X.ndim - 1 and Y.size:
        Y = _low.softmax_inner_low(Y, e, s, d, dt)
    return record(Y, (x,), _softmax_rule(dim), "Softmax", saved=(OUT,))


@register("log_softmax")
def log_softmax(x, dim, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    X = x._data
    _check_softmax(X, "log_softmax")
    xp = backend.array_module(X)
    X, low = _opmath(X)
    m = X.max(axis=dim, keepdims=True)
    sh = X - m
    lse = xp.log(xp.exp(sh).sum(axis=dim, keepdims=True))
    if low != X.dtype and dim % builtins.max(X.ndim, 1) == X.ndim - 1:
        # torch's kernel over the last dim keeps the sum and its log in the 16-bit type (each rounded);
        # over other dims it stays in float32
        s = xp.exp(sh).sum(axis=dim, keepdims=True).astype(low).astype(X.dtype)
        lse = xp.log(s).astype(low).astype(X.dtype)
    Y = (sh - lse).astype(low, copy=False)
    return record(Y, (x,), _log_softmax_rule(dim), "LogSoftmax", saved=(OUT,))


def _opmath(X):
    """``(values to compute with, result dtype)``: float16/bfloat16 in float32, rounded once at the end (torch's)."""
    dt = X.dtype
    return (X.astype(_dtypes.float32), dt) if dt.itemsize == 2 and dt in _dtypes.LOW_PRECISION else (X, dt)


# torch's softmax backward kernels compute in float32 on float16/bfloat16 and round once
def _softmax_rule(dim):
    return float32_rule(lambda o, g, y: (y * (g - o.sum(g * y, dim, True)),))


def _log_softmax_rule(dim):
    return float32_rule(lambda o, g, y: (g - o.exp(y) * o.sum(g, dim, True),))


def _bool_reduce(x, dim, keepdim, which):
    X = x._data
    xp = backend.array_module(X)
    if dim is not None:
        d = _axes(X, dim)
        r = getattr(X, which)(axis=d, keepdims=keepdim) if X.ndim else X.astype(bool)
    else:
        r = getattr(X, which)()
    return Tensor._wrap(xp.asarray(r, dtype=bool) if X.dtype != np.uint8 else xp.asarray(r).astype(np.uint8))


@register("all")
def all(x, dim=None, keepdim=False):  # noqa: A001
    return _bool_reduce(x, dim, keepdim, "all")


@register("any")
def any(x, dim=None, keepdim=False):  # noqa: A001
    return _bool_reduce(x, dim, keepdim, "any")


@register("cumsum")
def cumsum(x, dim, *, dtype=None):
    X = x._data
    xp = backend.array_module(X)
    if dtype is None and X.dtype.kind in "biu":
        dtype = "int64"
    if X.ndim == 0:
        _axes(X, dim)
        out = X.astype(dtype) if dtype is not None else X.copy()
        return record(xp.asarray(out), (x,), _identity_rule, "Cumsum", saved=())
    d = _axes(X, dim)[0]
    if dtype is None and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:   # float32 running sums
        out = xp.cumsum(X, axis=d, dtype=_dtypes.float32).astype(X.dtype)
    else:
        out = xp.cumsum(X, axis=d, dtype=dtype)
    return record(out, (x,), lambda o, g: (o.flip(o.cumsum(o.flip(g, d), d), d),), "Cumsum", saved=())
