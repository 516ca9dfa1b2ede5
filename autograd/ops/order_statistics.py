"""Order statistics: quantile/nanquantile, nanmedian, kthvalue and mode.

All are composed of differentiable ops (sort, take_along, the selection by index) or recorded with one rule
(quantile's fused lerp, whose gradient reaches a tensor ``q`` too), so their gradients go to any order. Where
torch's index among equal values comes from its selection algorithm, that algorithm is replayed
(:mod:`.selection_replay`), so the indices are torch's too."""
from __future__ import annotations

import collections

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import shape as _shape
from .basic import OUT, record, register
from .selection import _argsort, _select, take_along
from .selection_replay import (_INSERTION_THRESHOLD, _mode_of_sorted, _nth_element_all_equivalent,
                               _quickselect_index, _std_sort)
from .shape import _dim
from .shape_more import movedim
from .statistics_helpers import _identity_rule, _is_float, _zero_index

NanmedianResult = collections.namedtuple("nanmedian", ["values", "indices"])
KthvalueResult = collections.namedtuple("kthvalue", ["values", "indices"])
ModeResult = collections.namedtuple("mode", ["values", "indices"])


def _host(a):
    """A NumPy copy of a NumPy or CuPy array (for the per-row loops that run on the host)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


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


# ---- nanmedian, kthvalue, mode ----------------------------------------------------------------------------
def _check_reduced_nonempty(X, d, name):
    if X.ndim and X.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


@register("nanmedian")
def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """The lower median of the non-NaN entries (NaN when there are none). With ``dim``: values and indices,
    ties broken by the lower index; without: the gradient is shared by the entries equal to the result."""
    X = input._data
    xp = backend.array_module(X)
    if dim is None:
        flat = X.reshape(-1)
        valid = flat[~xp.isnan(flat)] if _is_float(X.dtype) else flat
        if valid.size == 0:
            m = xp.asarray(xp.nan, dtype=X.dtype)
            mask = xp.isnan(X)
        else:
            m = xp.sort(valid)[(valid.size - 1) // 2]
            mask = X == m
        share = mask / max(int(mask.sum()), 1)
        return record(xp.asarray(m), (input,), lambda o, g, _x, _y: (share * g,), "Nanmedian", saved=(input, OUT))
    d = _dim(dim, X.ndim)
    if X.ndim == 0:
        return NanmedianResult(record(X.copy(), (input,), _identity_rule, "Nanmedian", saved=()), _zero_index(xp))
    _check_reduced_nonempty(X, d, "median")
    n = X.shape[d]
    order = _argsort(X, d, False, xp)           # stable, NaN last
    count = (~xp.isnan(X)).sum(axis=d, keepdims=True) if _is_float(X.dtype) else xp.full(
        X.shape[:d] + (1,) + X.shape[d + 1:], n)
    idx = xp.take_along_axis(order, xp.maximum(count - 1, 0) // 2, d)
    if bool((count == 0).any()):
        idx = xp.where(count == 0, _nth_element_all_equivalent(n, 0), idx)
    vals = _select(input, idx, d, "Nanmedian")
    if not keepdim:
        vals, idx = _shape.squeeze(vals, d), idx.squeeze(d)
    return NanmedianResult(vals, Tensor._wrap(idx.astype(np.int64)))


@register("kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """The ``k``-th smallest entry along ``dim`` and its index (torch's choice among equal values)."""
    X = input._data
    xp = backend.array_module(X)
    d = _dim(dim, X.ndim)
    n = X.shape[d] if X.ndim else 1
    _check_reduced_nonempty(X, d, "kthvalue")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if X.ndim == 0:
        return KthvalueResult(record(X.copy(), (input,), _identity_rule, "Kthvalue", saved=()), _zero_index(xp))
    order = _argsort(X, d, False, xp)
    idx = xp.take(order, xp.asarray([k - 1]), axis=d)
    kth = xp.take_along_axis(X, idx, d)
    same = (X == kth) | (xp.isnan(X) & xp.isnan(kth)) if _is_float(X.dtype) else X == kth
    tied = same.sum(axis=d, keepdims=True) > 1
    if bool(tied.any()):
        # the quickselect's pick among equal values depends on the whole row: replay it there
        rows = np.moveaxis(_host(X), d, -1)
        picks = np.moveaxis(_host(idx), d, -1).copy()
        for r in map(tuple, np.argwhere(np.moveaxis(_host(tied), d, -1)[..., 0])):
            picks[r] = _quickselect_index(rows[r].tolist(), k - 1)
        idx = xp.asarray(np.moveaxis(picks, -1, d))
    vals = _select(input, idx, d, "Kthvalue")
    if not keepdim:
        vals, idx = _shape.squeeze(vals, d), idx.squeeze(d)
    return KthvalueResult(vals, Tensor._wrap(idx.astype(np.int64)))


@register("mode")
def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the index torch
    returns for it: the one its sort leaves last among the equal values."""
    X = input._data
    xp = backend.array_module(X)
    d = _dim(dim, X.ndim)
    if X.ndim == 0:
        return ModeResult(record(X.copy(), (input,), _identity_rule, "Mode", saved=()), _zero_index(xp))
    _check_reduced_nonempty(X, d, "mode")
    order = xp.moveaxis(_argsort(X, d, False, xp), d, -1)
    S = xp.take_along_axis(xp.moveaxis(X, d, -1), order, -1)
    n = S.shape[-1]
    pos = xp.arange(n)
    starts = xp.concatenate([xp.ones(S.shape[:-1] + (1,), bool), S[..., 1:] != S[..., :-1]], -1)
    ends = xp.concatenate([S[..., 1:] != S[..., :-1], xp.ones(S.shape[:-1] + (1,), bool)], -1)
    run_start = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=-1)
    run_length = xp.where(ends, pos - run_start + 1, 0)
    end = xp.argmax(run_length, axis=-1)[..., None]    # the first (smallest) of the longest runs
    idx = xp.take_along_axis(order, end, -1)
    # up to 16 entries std::sort is an insertion sort, stable, which the stable argsort stands for; a value
    # found once has one index; otherwise (and with NaN, which compares false to everything) replay it
    replay = xp.take_along_axis(run_length, end, -1)[..., 0] > 1 if n > _INSERTION_THRESHOLD else \
        xp.zeros(S.shape[:-1], bool)
    if _is_float(X.dtype):
        replay = replay | xp.isnan(S).any(axis=-1)
    if bool(replay.any()):
        rows, picks = _host(xp.moveaxis(X, d, -1)), _host(idx).copy()
        for r in map(tuple, np.argwhere(_host(replay))):
            values = rows[r].tolist()
            indices = list(range(n))
            _std_sort(values, indices)
            picks[r + (0,)] = _mode_of_sorted(values, indices)
        idx = xp.asarray(picks)
    idx = xp.moveaxis(idx, -1, d)
    vals = _select(input, idx, d, "Mode")
    if not keepdim:
        vals, idx = _shape.squeeze(vals, d), idx.squeeze(d)
    return ModeResult(vals, Tensor._wrap(idx.astype(np.int64)))
