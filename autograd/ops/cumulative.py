"""Running and integrating ops along a dimension: cummax/cummin, logcumsumexp, trapezoid/trapz and
cumulative_trapezoid.

cummax/cummin are recorded through the selection of the entries they pick (``take_along``), logcumsumexp with
one backward rule (torch's stable formula), and the integrals are composed of differentiable ops, so their
gradients go to any order."""
from __future__ import annotations

import collections

import numpy as np

from .. import backend, creation, dtypes as _dtypes
from ..tensor import Tensor
from . import reduction as _red, shape as _shape, shape_more as _shape_more
from .basic import OUT, record, register
from .selection import _select
from .shape import _dim
from .statistics_helpers import _identity_rule, _is_float, _torch_title, _zero_index

CummaxResult = collections.namedtuple("cummax", ["values", "indices"])
CumminResult = collections.namedtuple("cummin", ["values", "indices"])


# ---- running extremes and logcumsumexp --------------------------------------------------------------------
def _cumulative_extreme(input, dim, is_max):  # noqa: A002
    X = input._data
    xp = backend.array_module(X)
    d = _dim(dim, X.ndim)
    result = CummaxResult if is_max else CumminResult
    name = "Cummax" if is_max else "Cummin"
    if X.ndim == 0:
        return result(record(X.copy(), (input,), _identity_rule, name, saved=()), _zero_index(xp))
    running = (xp.maximum if is_max else xp.minimum).accumulate(X, axis=d)
    # torch moves the index to every entry that equals the running extreme (the last of ties) and to every NaN
    updated = X == running
    if _is_float(X.dtype):
        updated = updated | xp.isnan(X)
    shape_d = [1] * X.ndim
    shape_d[d] = X.shape[d]
    pos = xp.arange(X.shape[d]).reshape(shape_d)
    idx = xp.maximum.accumulate(xp.where(updated, pos, 0), axis=d)
    return result(_select(input, idx, d, name), Tensor._wrap(idx.astype(np.int64)))


@register("cummax")
def cummax(input, dim):  # noqa: A002
    """Running maximum along ``dim`` and where it was last reached; the gradient goes to those entries."""
    return _cumulative_extreme(input, dim, True)


@register("cummin")
def cummin(input, dim):  # noqa: A002
    """Running minimum along ``dim`` and where it was last reached; the gradient goes to those entries."""
    return _cumulative_extreme(input, dim, False)


def _logcumsumexp_array(X, d):
    """Running log-add-exp along ``d``, accumulated as torch's CPU kernel does: float64 for float32/float64,
    float32 for float16/bfloat16."""
    xp = backend.array_module(X)
    acc = np.float32 if X.dtype.itemsize == 2 else np.float64
    with np.errstate(invalid="ignore", over="ignore"):
        return xp.logaddexp.accumulate(X.astype(acc), axis=d).astype(X.dtype)


@register("logcumsumexp")
def logcumsumexp(input, dim):  # noqa: A002
    """``log(cumsum(exp(input)))`` along ``dim``, computed without overflow; its gradient is torch's stable
    form (separate log-domain sums of the positive and negative parts of the incoming gradient)."""
    X = input._data
    if not (_is_float(X.dtype) or X.dtype.kind == "c"):
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_torch_title(X.dtype)}'")
    if X.dtype.kind == "c":
        raise NotImplementedError("logcumsumexp of complex input is not supported")
    d = _dim(dim, X.ndim)
    if X.ndim == 0:
        return record(X.copy(), (input,), _identity_rule, "Logcumsumexp", saved=())
    out = _logcumsumexp_array(X, d)
    lowest = _dtypes.finfo(X.dtype).min

    def rule(o, g, x_, y):
        if o is o.arrays:
            reverse = lambda t: np.flip(_logcumsumexp_array(np.flip(t, d), d), d)  # noqa: E731
        else:
            reverse = lambda t: o.flip(logcumsumexp(o.flip(t, d), d), d)  # noqa: E731
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_abs = o.log(o.abs(g))
            positive = o.where(g > 0, log_abs, lowest)
            negative = o.where(g < 0, log_abs, lowest)
            return (o.exp(reverse(positive - y) + x_) - o.exp(reverse(negative - y) + x_),)

    return record(out, (input,), rule, "Logcumsumexp", saved=(input, OUT))


# ---- integration ------------------------------------------------------------------------------------------
def _integration_dim(y, dim, name):
    if y.ndim == 0:
        if name == "cumulative_trapezoid":
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _dim(dim, y.ndim)


def _slices(t, d):
    """``t`` without its last and without its first entry along ``d`` (the left and right sample points)."""
    n = t.shape[d]
    return _shape_more.narrow(t, d, 0, max(n - 1, 0)), _shape_more.narrow(t, d, min(1, n), max(n - 1, 0))


def _spacing(y, x, d, name):
    """The sample spacings ``x[1:] - x[:-1]`` along ``d``, viewed so that they broadcast against ``y``: a 1-D
    ``x`` lies along ``d``, a lower-dimensional one is padded in front (NumPy's rules, as torch)."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape_ = [1] * y.ndim
        shape_[d] = x.shape[0]
        x = _shape.reshape(x, tuple(shape_))
    elif x.ndim < y.ndim:
        x = _shape.reshape(x, (1,) * (y.ndim - x.ndim) + tuple(x.shape))
    left, right = _slices(x, d)
    return right - left


def _check_not_bool(t, what, name):
    if t._data.dtype == np.bool_:
        raise RuntimeError(f"{name}: received a bool input for `{what}`, but bool is not supported")


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim``: with sample points ``x`` or a constant spacing ``dx`` (default 1).
    No samples integrate to zeros, as NumPy and torch."""
    d = _integration_dim(y, dim, "trapezoid")
    if x is not None and dx is not None:
        raise RuntimeError("trapezoid: received both `x` and `dx`; pass only one of them")
    _check_not_bool(y, "y", "trapezoid")
    if y.shape[d] == 0:
        return creation.zeros(*(s for i, s in enumerate(y.shape) if i != d), dtype=y.dtype, device=y.device)
    if x is not None and isinstance(x, Tensor):
        _check_not_bool(x, "x", "trapezoid")
        left, right = _slices(y, d)
        return _red.sum(_spacing(y, x, d, "trapezoid") * (left + right), d) / 2.0
    step = 1.0 if dx is None else dx
    if isinstance(step, (bool, complex)):
        raise RuntimeError("trapezoid: Currently, we only support dx as a real number.")
    first, last = _shape_more.narrow(y, d, 0, 1), _shape_more.narrow(y, d, y.shape[d] - 1, 1)
    ends = _shape.squeeze(first + last, d)
    return (_red.sum(y, d) - ends * 0.5) * float(step)


def trapz(y, x=None, *, dx=None, dim=-1):
    """torch's older name of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along ``dim`` (one entry fewer than ``y`` along it)."""
    d = _integration_dim(y, dim, "cumulative_trapezoid")
    if x is not None and dx is not None:
        raise RuntimeError("cumulative_trapezoid: received both `x` and `dx`; pass only one of them")
    _check_not_bool(y, "y", "cumulative_trapezoid")
    left, right = _slices(y, d)
    if x is not None and isinstance(x, Tensor):
        _check_not_bool(x, "x", "cumulative_trapezoid")
        return _red.cumsum((left + right) * _spacing(y, x, d, "cumulative_trapezoid"), d) / 2.0
    step = 1.0 if dx is None else dx
    return _red.cumsum((float(step) / 2.0) * (left + right), d)
