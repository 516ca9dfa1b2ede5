"""Running and integrating ops, histograms and searches: cummax/cummin, logcumsumexp, trapezoid/trapz,
cumulative_trapezoid, histc, bincount, bucketize/searchsorted and renorm (the rest of torch's statistics
functions are in :mod:`.statistics`).

The differentiable ones are recorded with one backward rule (cummax/cummin through ``take_along``,
logcumsumexp with torch's stable formula) or composed of differentiable ops (trapezoid, renorm), so their
gradients go to any order; histc and bincount have none, as in torch, and the searches return indices."""
from __future__ import annotations

import collections

import numpy as np

from .. import backend, creation, dtypes as _dtypes
from ..tensor import Tensor
from . import reduction as _red, shape as _shape, shape_more as _shape_more
from .shape_more import movedim
from . import elementwise as _ew
from ..graph.views import protect
from .basic import OUT, inplace, record, register
from .selection import _select, take_along
from .shape import _dim
from .statistics import _identity_rule, _is_float, _torch_title, _zero_index

EXPORTS = ("quantile", "nanquantile", "cummax", "cummin", "logcumsumexp", "trapezoid", "trapz", "cumulative_trapezoid",
           "histc", "bincount", "bucketize", "searchsorted", "renorm")

CummaxResult = collections.namedtuple("cummax", ["values", "indices"])
CumminResult = collections.namedtuple("cummin", ["values", "indices"])


# ---- quantiles --------------------------------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):  # noqa: A002
    X = input._data
    xp = backend.array_module(X)
    if X.dtype not in (np.float32, np.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        scalar_q, qa = q.ndim == 0, q._data.reshape(-1)
    else:
        scalar_q, qa = True, None
    if X.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if qa is None:
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
        qa = xp.asarray([q], dtype=X.dtype)
    elif not bool(((qa >= 0) & (qa <= 1)).all()):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if dim is None:
        work = _shape.reshape(input, (-1,))
    else:
        d = _dim(dim, input.ndim)
        work = movedim(input, d, -1) if input.ndim else _shape.reshape(input, (1,))
    ordered = work.sort(-1).values          # NaN sorts last
    S = ordered._data
    n = S.shape[-1]
    nan_rows = xp.isnan(S).any(axis=-1, keepdims=True)
    if ignore_nan:
        # ranks over the non-NaN count; an all-NaN row gets rank 0, whose value is NaN
        count = (~xp.isnan(S)).sum(axis=-1, keepdims=True)
        ranks = qa * (count - 1).astype(X.dtype)
        q_scale = xp.where(ranks < 0, 0, count - 1)      # d rank / d q: 0 where the rank is clamped
        ranks = xp.where(ranks < 0, X.dtype.type(0), ranks)
    else:
        # a row holding NaN gets the last rank, whose value is that NaN
        ranks = xp.where(nan_rows, X.dtype.type(n - 1), qa * X.dtype.type(n - 1))
        q_scale = xp.where(nan_rows, 0, n - 1)
    ranks = xp.broadcast_to(ranks, S.shape[:-1] + (qa.size,))
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.round(ranks)    # half to even, as torch's round
    below = ranks.astype(np.int64)
    result = take_along(ordered, below, -1)
    if interpolation in ("linear", "midpoint"):
        weights = xp.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below.astype(X.dtype)
        above = take_along(ordered, xp.ceil(ranks).astype(np.int64), -1)
        # linear interpolation depends on q through the weights (rank - floor(rank)), as in torch
        q_part = (q, q_scale.astype(X.dtype)) if interpolation == "linear" and isinstance(q, Tensor) else None
        result = _lerp_fused(result, above, weights, q_part)
    result = movedim(result, -1, 0)       # the q dimension leads, as in torch
    if keepdim:
        if dim is None:
            result = _shape.reshape(result, (qa.size,) + (1,) * input.ndim)
        elif input.ndim:
            result = _shape.unsqueeze(result, d + 1)
    if scalar_q:
        result = _shape.squeeze(result, 0)
    return result


def _two_product(a, b):
    """``a * b`` as the rounded product and its exact error (Dekker's splitting)."""
    p = a * b
    split = 134217729.0     # 2**27 + 1 splits a float64 into two 26-bit halves
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _fused_multiply_add(a, b, c):
    """``a * b + c`` rounded once (the product's error carried through an exact two-sum), as the FMA that
    torch's CPU lerp uses."""
    p, e = _two_product(a, b)
    s = p + c
    v = s - p
    return s + (((p - (s - v)) + (c - v)) + e)


def _lerp_fused(start, end, weight, q_part=None):
    """``lerp(start, end, weight)`` with weights ``weight`` (an array), each branch a fused multiply-add as in
    torch's CPU kernel (float32 through float64, where its product is exact). ``q_part``: ``(q, scale)`` when
    the weights are ``q * scale`` minus a constant, so that ``q`` gets its gradient too."""
    S, E = start._data, end._data
    xp = backend.array_module(S)
    diff = E - S
    with np.errstate(invalid="ignore", over="ignore"):
        if S.dtype == np.float32:
            s, e, w, dw = S.astype(np.float64), E.astype(np.float64), weight.astype(np.float64), diff.astype(np.float64)
            out = xp.where(w < 0.5, s + w * dw, e - dw * (1 - weight).astype(np.float64))
        else:
            out = xp.where(weight < 0.5, _fused_multiply_add(weight, diff, S),
                           _fused_multiply_add(-diff, 1 - weight, E))
            out = xp.where(xp.isfinite(out), out, xp.where(weight < 0.5, S + weight * diff, E - diff * (1 - weight)))
    q, scale = q_part if q_part is not None else (None, None)
    rows = tuple(range(S.ndim - 1))

    def rule(o, g, s_, e_, q_):
        if q is None:
            return g * (1 - weight), g * weight, None
        w = weight
        if o is not o.arrays:   # under create_graph the weights' dependence on q is differentiated too
            moving = o.reshape(q_, (-1,)) * scale
            w = weight + (moving - moving.detach())
        # d out / d q = (end - start) * scale, summed over the rows
        per_q = g * (e_ - s_) * scale
        g_q = o.reshape(o.sum(per_q, rows) if rows else per_q, tuple(q.shape))
        return g * (1 - w), g * w, g_q

    return record(out.astype(S.dtype), (start, end, q), rule, "Lerp",
                  saved=(start, end, q) if q is not None else (None, None, None))


@register("quantile")
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The ``q``-th quantiles over ``dim`` (all entries when None); NaN where a reduced row holds NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


@register("nanquantile")
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """:func:`quantile` of the non-NaN entries (NaN for an all-NaN row)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


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


# ---- histograms -------------------------------------------------------------------------------------------
def _no_derivative(name):
    def rule(o, g):
        raise RuntimeError(f"the derivative for '{name}' is not implemented.")
    return rule


@register("histc")
def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """Counts in ``bins`` equal-width bins over [min, max] (the data's range when both are equal); values
    outside are ignored and ``max`` itself falls into the last bin. The bin of a value is computed in the
    input's dtype, as torch's kernel does."""
    X = input._data
    xp = backend.array_module(X)
    if not _is_float(X.dtype):
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_torch_title(X.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and X.size:
        lo, hi = float(X.min()), float(X.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    dt = X.dtype.type
    left, right = xp.asarray(lo).astype(X.dtype), xp.asarray(hi).astype(X.dtype)
    flat = X.reshape(-1)
    inside = flat[(flat >= left) & (flat <= right)]
    pos = (((inside - left) * dt(bins)) / (right - left)).astype(np.int64)
    pos = xp.where(pos == bins, bins - 1, pos)
    counts = xp.bincount(pos, minlength=bins).astype(X.dtype)
    return record(counts, (input,), _no_derivative("histc"), "Histc", saved=())


@register("bincount")
def bincount(input, weights=None, minlength=0):  # noqa: A002
    """How often each non-negative integer occurs (or the sum of its ``weights``), at least ``minlength``
    long. float32 weights are added up in float32 in input order, other weights in float64, as torch."""
    X = input._data
    xp = backend.array_module(X)
    if X.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_torch_title(X.dtype)}'")
    if X.ndim != 1 or (X.size and int(X.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != X.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    length = max(int(X.max()) + 1 if X.size else 0, minlength)
    if weights is None or X.size == 0:    # torch: no input counts in int64, weights or not
        return Tensor._wrap(xp.bincount(X.astype(np.int64), minlength=length).astype(np.int64))
    W = weights._data
    acc = np.float32 if W.dtype == np.float32 else np.float64
    out = xp.zeros(length, dtype=acc)
    if xp is np:
        np.add.at(out, X, W.astype(acc))      # one addition after another, in input order
    else:  # pragma: no cover - GPU only (atomic adds: torch's CUDA order is not fixed either)
        out = xp.bincount(X, weights=W.astype(acc), minlength=length).astype(acc)
    return record(out, (weights,), _no_derivative("_bincount"), "Bincount", saved=())



# ---- searches in sorted sequences -------------------------------------------------------------------------
def _search_rows(boundaries, values, right):
    """For each row of ``values`` (R, m), the insertion points in the same row of ``boundaries`` (R, n), by
    the bisection torch runs: ``left`` moves right while not ``boundary >= value``, ``right`` while not
    ``boundary > value`` (so a NaN value lands past the end)."""
    xp = backend.array_module(values)
    n = boundaries.shape[1]
    lo = xp.zeros(values.shape, dtype=np.int64)
    hi = xp.full(values.shape, n, dtype=np.int64)
    if n == 0:
        return lo
    with np.errstate(invalid="ignore"):
        while True:
            active = lo < hi
            if not bool(active.any()):
                return lo
            mid = lo + ((hi - lo) >> 1)
            at_mid = xp.take_along_axis(boundaries, xp.minimum(mid, n - 1), 1)
            go_right = ~(at_mid > values) if right else ~(at_mid >= values)
            lo = xp.where(active & go_right, mid + 1, lo)
            hi = xp.where(active & ~go_right, mid, hi)


def _search_side(side, right):
    if side is None:
        return right
    if side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left while "
                           "right was True")
    return side == "right"


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):  # noqa: A002
    """Where each value would be inserted into the innermost dimension of ``sorted_sequence`` to keep it
    sorted (``sorter``: the indices that sort it). A 1-D sequence serves every value; an N-D one matches the
    leading dimensions of ``input``."""
    right = _search_side(side, right)
    seq = sorted_sequence._data
    xp = backend.array_module(seq)
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    scalar = not isinstance(input, Tensor)
    vals = xp.asarray(input) if scalar else input._data
    if scalar and seq.ndim != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when boundaries tensor "
                           f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and input value's "
                           f"dim(0) numel(1)")
    if seq.ndim != 1 and (vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
    if sorter is not None:
        order = sorter._data
        if order.dtype != np.int64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but got "
                               f"{_torch_title(order.dtype)}")
        if order.shape != seq.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(seq.shape)}and got sorter tensor {list(order.shape)}")
        if order.size and (int(order.min()) < 0 or int(order.max()) >= seq.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        seq = xp.take_along_axis(seq, order, -1)
    common = _dtypes.result_type(Tensor._wrap(seq), input if not scalar else Tensor._wrap(vals))
    seq, vals_c = seq.astype(common, copy=False), vals.astype(common, copy=False)
    if seq.ndim == 1:
        found = _search_rows(seq.reshape(1, -1), vals_c.reshape(1, -1), right).reshape(vals.shape)
    else:
        found = _search_rows(seq.reshape(-1, seq.shape[-1]), vals_c.reshape(-1, vals.shape[-1]),
                             right).reshape(vals.shape)
    return Tensor._wrap(found.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each value among the sorted 1-D ``boundaries``: ``right=False`` gives the ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]``, ``right=True`` the one with ``boundaries[i-1] <= x <
    boundaries[i]``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---- renorm ------------------------------------------------------------------------------------------------
@register("renorm")
def renorm(input, p, dim, maxnorm):  # noqa: A002
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm ``maxnorm``
    (``maxnorm / (norm + 1e-7)``, torch's factor); composed of differentiable ops, so the gradient includes
    the factor's dependence on the norm, as torch's."""
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _dim(dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    dt = input._data.dtype
    low = dt.itemsize == 2 and dt in _dtypes.LOW_PRECISION
    work = input.to(_dtypes.float32) if low else input     # torch: norm and factor in float32 for 16-bit input
    norm = _red.norm(work, p, others, keepdim=True)
    factor = _ew.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    out = work * factor
    return out.to(dt) if low else out


@register("renorm_")
def renorm_(input, p, dim, maxnorm):  # noqa: A002
    """:func:`renorm` in place (the old value is kept for the backward, as for every recorded in-place op)."""
    source, _ = protect(input, ())
    return inplace(input, renorm(source, p, dim, maxnorm))
