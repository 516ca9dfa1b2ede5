"""Counting and searching: histc and bincount (no derivative, as in torch), searchsorted and bucketize
(indices, by the bisection torch runs)."""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes as _dtypes
from ..tensor import Tensor
from .basic import record, register
from .statistics_helpers import _is_float, _torch_title


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
