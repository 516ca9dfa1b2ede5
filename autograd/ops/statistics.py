"""Statistics over a dimension: nansum/nanmean, var_mean/std_mean, cov/corrcoef, nanmedian, kthvalue and mode
(quantile, cummax/cummin, logcumsumexp, trapezoid, histc, bincount, searchsorted and renorm are in
:mod:`.statistics2`).

Most are composed of differentiable ops (sort, take_along, lerp, mm, ...), so their gradients to any order
are those ops' rules. Where torch's index choice among equal values comes from its selection algorithm
(kthvalue's quickselect, mode's ``std::sort``, nanmedian's ``std::nth_element`` on all-NaN rows) that
algorithm is replayed, so the indices are torch's too."""
from __future__ import annotations

import collections
import warnings

import numpy as np

from .. import backend, dtypes as _dtypes
from ..tensor import Tensor
from . import cascade_sum as _cascade, elementwise as _ew, linalg as _linalg, reduction as _red, shape as _shape
from .basic import OUT, record, register
from .selection import _argsort, _select
from .shape import _dim

EXPORTS = ("nansum", "nanmean", "var_mean", "std_mean", "cov", "corrcoef", "nanmedian", "kthvalue", "mode")

NanmedianResult = collections.namedtuple("nanmedian", ["values", "indices"])
KthvalueResult = collections.namedtuple("kthvalue", ["values", "indices"])
ModeResult = collections.namedtuple("mode", ["values", "indices"])


def _is_float(dt):
    return dt.kind == "f" or dt == _dtypes.bfloat16


def _identity_rule(o, g):
    return (g,)


def _host(a):
    """A NumPy copy of a NumPy or CuPy array (for the per-row loops that run on the host)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _zero_index(xp):
    return Tensor._wrap(xp.zeros((), dtype=np.int64))


# ---- NaN-skipping sums and means --------------------------------------------------------------------------
@register("nansum")
def nansum(x, dim=None, keepdim=False, dtype=None):
    """``sum`` with NaN counted as zero; its gradient is zero at the NaNs (torch's)."""
    X = x._data
    if X.dtype.kind in "biu":
        return _red.sum(x, dim, keepdim, dtype)   # no NaN to skip
    if X.dtype.kind == "c":
        raise RuntimeError("nansum does not support complex inputs")
    xp = backend.array_module(X)
    ax = _red._axes(X, dim)
    keep = ~xp.isnan(X)
    if dtype is None and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = xp.asarray(_cascade.sum16(X, ax, keepdim, ignore_nan=True))
    else:
        out = xp.asarray(xp.where(keep, X, 0).sum(axis=ax, keepdims=keepdim, dtype=dtype))
    xs, ks = X.shape, _red._kept(X.shape, ax)
    return record(out, (x,), lambda o, g: (keep * o.expand(o.reshape(g, ks), xs),), "Nansum", saved=())


@register("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The mean of the non-NaN entries: ``nansum / count``, as torch composes it (so its gradient too)."""
    X = input._data
    if not (_is_float(X.dtype) or X.dtype.kind == "c"):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_torch_title(X.dtype)}")
    count = _red.sum(Tensor._wrap(~backend.array_module(X).isnan(X)), dim, keepdim)
    with np.errstate(divide="ignore", invalid="ignore"):   # an all-NaN slice is NaN, silently as in torch
        return nansum(input, dim, keepdim, dtype) / count


def _torch_title(dt):
    """torch's ScalarType name as its messages print it (Long, Float, BFloat16, ...)."""
    name = _dtypes.torch_name(dt)
    return {"bfloat16": "BFloat16", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(
        name, {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "float32": "Float", "float64": "Double", "float16": "Half"}.get(name, name.capitalize()))


# ---- var_mean / std_mean ----------------------------------------------------------------------------------
def _moments(name, reducer, input, dim, unbiased, keepdim, correction):  # noqa: A002
    if isinstance(dim, bool):   # torch's overload var_mean(input, unbiased)
        dim, unbiased = None, dim
    X = input._data
    if not (_is_float(X.dtype) or X.dtype.kind == "c"):
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    with warnings.catch_warnings():     # the degrees-of-freedom warning is this function's, named after it;
        warnings.simplefilter("ignore")  # NumPy's about empty slices is not torch's
        spread = reducer(input, dim, unbiased, keepdim, correction=correction)
        centre = _red.mean(input, dim, keepdim)
    kept = 1 if correction is None and unbiased in (None, True) else (0 if correction is None else correction)
    if X.size // max(centre.numel(), 1) - kept <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      f"factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return spread, centre


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """``(var, mean)`` over ``dim`` (a plain tuple, as torch returns it)."""
    return _moments("var_mean", _red.var, input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """``(std, mean)`` over ``dim`` (a plain tuple, as torch returns it)."""
    return _moments("std_mean", _red.std, input, dim, unbiased, keepdim, correction)


# ---- covariance and correlation ---------------------------------------------------------------------------
def _check_weights(w, kind, n_obs):
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {kind} to have one or fewer dimensions but got {kind} with {w.ndim} "
                           f"dimensions")
    if w.numel() != n_obs:
        raise RuntimeError(f"cov(): expected {kind} to have the same numel as there are observations in the input "
                           f"but got {w.numel()} != {n_obs}")
    dt = w._data.dtype
    if kind == "fweights" and dt.kind not in "iu":
        raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                           f"{_torch_title(dt)} dtype")
    if kind == "aweights" and not _is_float(dt):
        raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                           f"{_torch_title(dt)} dtype")
    if bool((w._data < 0).any()):
        raise RuntimeError(f"cov(): {kind} cannot be negative")


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """Covariance of the rows (variables) over the columns (observations), with frequency and/or
    observation weights, composed as torch composes it: weighted mean, centred product, normalisation."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input if input.ndim == 2 else _shape.reshape(input, (1, -1))
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights(fweights, "fweights", n_obs)
        w = fweights
    if aweights is not None:
        _check_weights(aweights, "aweights", n_obs)
        w = aweights if w is None else w * aweights
    w_sum = _red.sum(w) if w is not None else n_obs
    avg = _red.sum(x * w if w is not None else x, 1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm_factor = w_sum - correction * _red.sum(w * aweights) / w_sum
    else:
        norm_factor = w_sum - correction
    if float(norm_factor.item() if isinstance(norm_factor, Tensor) else norm_factor) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm_factor = norm_factor * 0
    centred = x - _shape.unsqueeze(avg, 1)
    c = _linalg.mm(centred, _shape.t(centred * w if w is not None else centred))
    with np.errstate(divide="ignore", invalid="ignore"):   # no degrees of freedom: inf/NaN, warned above
        return _shape.squeeze(_ew.div(c, norm_factor))


@register("corrcoef")
def corrcoef(input):  # noqa: A002
    """Pearson correlation of the rows: ``cov`` scaled by the standard deviations, clipped to [-1, 1]."""
    c = cov(input)
    with np.errstate(divide="ignore", invalid="ignore"):   # a constant row correlates as NaN, as in torch
        if c.ndim == 0:
            return c / c
        stddev = _ew.sqrt(c.diagonal())
        c = c / _shape.reshape(stddev, (-1, 1))
        c = c / _shape.reshape(stddev, (1, -1))
    return _ew.clamp(c, -1, 1)


# ---- nanmedian, kthvalue, mode ----------------------------------------------------------------------------
def _nth_element_all_equivalent(n, nth):
    """Where libstdc++'s ``std::nth_element`` (introselect) leaves the index at ``nth`` when no element
    compares less than another: torch's nanmedian on an all-NaN row returns that index."""
    order = list(range(n))
    first, last = 0, n
    while last - first > 3:
        mid = first + (last - first) // 2
        order[first], order[mid] = order[mid], order[first]    # median-of-three picks the middle one
        lo, hi = first + 1, last
        while True:                                             # the unguarded partition swaps every pair
            hi -= 1
            if not lo < hi:
                break
            order[lo], order[hi] = order[hi], order[lo]
            lo += 1
        if lo <= nth:
            first = lo
        else:
            last = lo
    return order[nth]


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


def _greater_or_nan(a, b):
    return (a != a and b == b) or a > b


def _quickselect_index(values, k):
    """The original position that torch's quickselect (median-of-three pivot, NaN largest) leaves at ``k``:
    among equal values it decides which index kthvalue returns."""
    arr, pos = list(values), list(range(len(values)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        pos[i], pos[j] = pos[j], pos[i]

    left, right = 0, len(arr) - 1
    while True:
        if right <= left:
            return pos[k]
        if right == left + 1:
            if _greater_or_nan(arr[left], arr[right]):
                swap(left, right)
            return pos[k]
        swap(left + (right - left) // 2, left + 1)
        if _greater_or_nan(arr[left + 1], arr[right]):
            swap(left + 1, right)
        if _greater_or_nan(arr[left], arr[right]):
            swap(left, right)
        if _greater_or_nan(arr[left + 1], arr[left]):
            swap(left + 1, left)
        i, j, pivot = left + 1, right, arr[left]
        while True:
            i += 1
            while _greater_or_nan(pivot, arr[i]):
                i += 1
            j -= 1
            while _greater_or_nan(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(left, j)
        if j <= k:
            left = i
        if j >= k:
            right = j - 1


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


# ---- libstdc++'s std::sort, replayed -----------------------------------------------------------------------
# torch's CPU mode sorts (value, index) pairs with std::sort comparing values only, so which index of equal
# values ends up last (the one mode returns) is decided by that introsort; it is replayed here step by step.
# The functions take parallel sequences (lists, or arrays under Numba) and move values and indices together.
_INSERTION_THRESHOLD = 16


def _less(v, i, j):
    return v[i] < v[j]


def _swap(v, ix, i, j):
    v[i], v[j] = v[j], v[i]
    ix[i], ix[j] = ix[j], ix[i]


def _linear_insert(v, ix, last, lowest):
    value, index = v[last], ix[last]
    prev = last - 1
    while prev >= lowest and value < v[prev]:   # (the bound only matters for NaN, where C++ is undefined)
        v[prev + 1], ix[prev + 1] = v[prev], ix[prev]
        prev -= 1
    v[prev + 1], ix[prev + 1] = value, index


def _insertion_sort(v, ix, first, last):
    for i in range(first + 1, last):
        if v[i] < v[first]:
            value, index = v[i], ix[i]
            for j in range(i, first, -1):
                v[j], ix[j] = v[j - 1], ix[j - 1]
            v[first], ix[first] = value, index
        else:
            _linear_insert(v, ix, i, first)


def _sift_down(v, ix, first, hole, length, value, index):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if v[first + child] < v[first + child - 1]:
            child -= 1
        v[first + hole], ix[first + hole] = v[first + child], ix[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        v[first + hole], ix[first + hole] = v[first + child - 1], ix[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and v[first + parent] < value:
        v[first + hole], ix[first + hole] = v[first + parent], ix[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole], ix[first + hole] = value, index


def _heap_sort(v, ix, first, last):
    length = last - first
    parent = (length - 2) // 2
    while length >= 2:
        _sift_down(v, ix, first, parent, length, v[first + parent], ix[first + parent])
        if parent == 0:
            break
        parent -= 1
    while last - first > 1:
        last -= 1
        value, index = v[last], ix[last]
        v[last], ix[last] = v[first], ix[first]
        _sift_down(v, ix, first, 0, last - first, value, index)


def _partition_pivot(v, ix, first, last):
    a, b, c = first + 1, first + (last - first) // 2, last - 1
    if _less(v, a, b):
        pick = b if _less(v, b, c) else (c if _less(v, a, c) else a)
    else:
        pick = a if _less(v, a, c) else (c if _less(v, b, c) else b)
    _swap(v, ix, first, pick)
    lo, hi = first + 1, last
    while True:
        while v[lo] < v[first]:
            lo += 1
        hi -= 1
        while v[first] < v[hi]:
            hi -= 1
        if not lo < hi:
            return lo
        _swap(v, ix, lo, hi)
        lo += 1


def _std_sort(v, ix):
    n = len(v)
    if n < 2:
        return
    depth0 = 0
    while (1 << (depth0 + 1)) <= n:
        depth0 += 1
    pending = [(0, n, 2 * depth0)]          # the recursion's ranges are disjoint: any order gives the same
    while pending:
        first, last, depth = pending.pop()
        while last - first > _INSERTION_THRESHOLD:
            if depth == 0:
                _heap_sort(v, ix, first, last)
                break
            depth -= 1
            cut = _partition_pivot(v, ix, first, last)
            pending.append((cut, last, depth))
            last = cut
    if n > _INSERTION_THRESHOLD:
        _insertion_sort(v, ix, 0, _INSERTION_THRESHOLD)
        for i in range(_INSERTION_THRESHOLD, n):
            _linear_insert(v, ix, i, 0)
    else:
        _insertion_sort(v, ix, 0, n)


def _mode_of_sorted(v, ix):
    """torch's scan of the sorted pairs: the first longest run of equal values, and the index at its end."""
    best_index, best_count, count = ix[0], 0, 0
    for i in range(len(v)):
        count += 1
        if i == len(v) - 1 or v[i] != v[i + 1]:
            if count > best_count:
                best_index, best_count = ix[i], count
            count = 0
    return best_index
