"""torch's CPU ``sum`` of float16/bfloat16 arrays, in its order of additions, and its ``mean`` of them.

torch sums a 16-bit tensor in float32, but the float32 total depends on the order of the additions, and where
that total lies near a midpoint of the 16-bit dtype the rounded result depends on it too. So a float32
accumulation in NumPy's (pairwise) order differs from torch in the last 16-bit bit now and then. This module
follows torch's kernel (``cascade_sum`` in ATen's ``SumKernel.cpp``) and the iterator around it:

* the tensor's dims are ordered as torch's ``TensorIterator`` orders them (reduced dims first, each group by
  stride) and coalesced; the kernel is called on the two innermost dims, once per index of the others;
* a call sums each output's run of values with one of four loops (a vectorised inner sum, a vectorised outer
  sum, their scalar forms), each a fixed tree of float32 additions: a "cascade" of partial sums over blocks
  of 16 or more values, four interleaved accumulators (``ilp``) and, in the vectorised inner sum, vectors of
  32 16-bit values folded into 16 float32 lanes;
* each call adds its float32 result into the output, which is stored in the output dtype: a reduction that
  spans several calls, or several threads (a full reduction of ``GRAIN`` or more values is split between
  ``get_num_threads()`` threads, each summing into its own 16-bit slot), rounds at each of them.

``mean`` of a 16-bit tensor is the float32 sum of its float32 copy (the same loops, 16 values a vector),
divided in float32 and rounded once.
"""
from __future__ import annotations

import numpy as np

from ..threads import get_num_threads
from .opmath import _GRAIN, _ceil_log2, parallel_chunks

_LANES = 8      # float32 lanes of torch's vectors (its sum kernel is built for AVX2 at most)
_ILP = 4        # interleaved accumulators of its row sums
_LEVELS = 4     # levels of its cascade


def _running_total(v):
    """The float32 total of ``v`` over its last axis, added left to right from zero."""
    if v.shape[-1] == 0:
        return np.zeros(v.shape[:-1], np.float32)
    return np.add.accumulate(v, axis=-1)[..., -1]


def _cascade(v):
    """torch's ``multi_row_sum`` of each run along the last axis: running sums of blocks of ``2**p`` values
    (``p = max(4, ceil(log2 n) / 4)``), of blocks of those, and so on for four levels, added up at the end."""
    n = v.shape[-1]
    power = max(4, _ceil_log2(n) // _LEVELS)
    step = 1 << power
    lead = v.shape[:-1]
    blocks = n // step
    partial = [_running_total(v[..., blocks * step:])]              # level 0: the values after the last block
    level = _running_total(v[..., :blocks * step].reshape(lead + (blocks, step))) if blocks else \
        np.zeros(lead + (0,), np.float32)
    for _ in range(_LEVELS - 2):                                     # levels 1 and 2 carry every ``step`` sums
        groups = level.shape[-1] // step
        partial.append(_running_total(level[..., groups * step:]))
        level = _running_total(level[..., :groups * step].reshape(lead + (groups, step))) if groups else \
            np.zeros(lead + (0,), np.float32)
    partial.append(_running_total(level))                           # level 3 takes every sum that reaches it
    total = partial[0]
    for p in partial[1:]:
        total = total + p
    return total


def _ilp_sum(v):
    """torch's ``row_sum``: the run along the last axis seen as rows of four, each column a cascade, the
    values after the last whole row added to the first column, then the four columns added in order."""
    n = v.shape[-1]
    rows = n // _ILP
    cols = _cascade(np.swapaxes(v[..., :rows * _ILP].reshape(v.shape[:-1] + (rows, _ILP)), -1, -2))
    return _running_total(np.concatenate([cols[..., :1], v[..., rows * _ILP:], cols[..., 1:]], axis=-1))


def _inner_vector_sum(v, fold):
    """torch's ``vectorized_inner_sum`` of each contiguous run along the last axis: whole vectors (16 16-bit
    values fold to 8 float32 lanes, the first half plus the second) summed lane-wise by ``_ilp_sum``; then,
    from zero, the scalar tail and the lanes."""
    width = _LANES * fold
    n = v.shape[-1]
    whole = n // width
    vec = v[..., :whole * width].reshape(v.shape[:-1] + (whole, width))
    lanes = vec if fold == 1 else vec[..., :_LANES] + vec[..., _LANES:]
    acc = _ilp_sum(np.swapaxes(lanes, -1, -2))
    return _running_total(np.concatenate([v[..., whole * width:], acc], axis=-1))


def _call(block, s0, s1, fold):
    """One call of torch's kernel on ``block`` (calls, size0, size1) whose axis 1 is reduced, with element
    strides ``s0``/``s1``: the float32 sum for each (call, column)."""
    size0, size1 = block.shape[1:]
    width = _LANES * fold
    if s0 == 1 and size0 >= width:                                   # contiguous inner reduction
        return _inner_vector_sum(np.swapaxes(block, 1, 2), fold)
    runs = np.swapaxes(block, 1, 2)                                  # (calls, size1, size0)
    if s1 == 1 and size1 >= width:                                   # contiguous outer reduction
        cascaded = size1 // (_ILP * _LANES) * (_ILP * _LANES)
    elif s0 < s1:                                                    # strided inner reduction
        cascaded = 0
    else:                                                            # strided outer reduction
        cascaded = size1 // _ILP * _ILP
    return np.concatenate([_cascade(runs[:, :cascaded]), _ilp_sum(runs[:, cascaded:])], axis=1)


def _rounded(v, round_to):
    return np.asarray(v, np.float32).astype(round_to).astype(np.float32)


def _store(out, index, values, round_to):
    """``out[index] += values`` in order, as torch's accumulating store into a ``round_to`` output: the
    float32 value is rounded to ``round_to`` first (the ``+=`` takes an operand of the output's type), added
    in float32 and rounded again; several values may go to one output position."""
    index, values = index.reshape(-1), _rounded(values, round_to).reshape(-1)
    if index.size == out.size:                                       # every output position takes one value
        out[index] = _rounded(out[index] + values, round_to)
        return
    order = np.argsort(index, kind="stable")
    index, values = index[order], values[order]
    first = np.r_[0, np.flatnonzero(np.diff(index)) + 1] if index.size else np.zeros(0, np.int64)
    rank = np.arange(index.size) - np.repeat(first, np.diff(np.r_[first, index.size]))
    for r in range(int(rank.max()) + 1 if rank.size else 0):
        at = rank == r
        out[index[at]] = _rounded(out[index[at]] + values[at], round_to)


def _iteration(X, axes):
    """torch's iteration over ``X`` for a reduction over ``axes``: ``(size, input stride, output stride,
    reduced)`` for each dim, fastest first, after its ordering and coalescing (strides in elements; the
    output is contiguous in the kept shape)."""
    out_shape = [1 if d in axes else s for d, s in enumerate(X.shape)]
    out_strides = [0] * X.ndim
    acc = 1
    for d in reversed(range(X.ndim)):
        if d not in axes:
            out_strides[d] = acc
            acc *= out_shape[d]
    in_strides = [s // X.itemsize for s in X.strides]
    dims = [d for d in reversed(range(X.ndim)) if X.shape[d] != 1]

    def after(d0, d1):   # torch's should_swap: 1 if d0 goes after d1, -1 if before, 0 if it cannot tell
        for strides, is_out in ((out_strides, True), (in_strides, False)):
            a, b = strides[d0], strides[d1]
            if is_out and (a == 0) != (b == 0):
                return 1 if b == 0 else -1
            if a == 0 or b == 0:
                continue
            if a != b:
                return -1 if a < b else 1
            if X.shape[d0] > X.shape[d1]:
                return 1
        return 0

    for i in range(1, len(dims)):                                    # its insertion sort
        j = i
        for k in range(i - 1, -1, -1):
            c = after(dims[k], dims[j])
            if c > 0:
                dims[k], dims[j] = dims[j], dims[k]
                j = k
            elif c < 0:
                break
    merged = []
    for d in dims:
        entry = [X.shape[d], in_strides[d], out_strides[d], d in axes]
        if merged:
            size, s_in, s_out, _ = merged[-1]
            if size * s_in == entry[1] and size * s_out == entry[2]:
                merged[-1][0] *= entry[0]
                continue
        merged.append(entry)
    return merged


def _positions(dims, which):
    """For each iteration index (slowest dim first), the sum over ``dims`` of index times stride ``which``."""
    pos = np.zeros((), np.int64)
    for size, *strides in reversed(dims):
        pos = pos[..., None] + np.arange(size, dtype=np.int64) * strides[which]
    return pos


def cascade_sum(X, axes, round_to, ignore_nan=False):
    """torch's CPU sum of ``X`` (a float16/bfloat16 or float32 NumPy array) over ``axes`` (a tuple), each
    store into the output rounded to ``round_to``; returns float32 values in the kept shape. ``ignore_nan``:
    its nansum, the same loops with NaN read as zero (and no float32 buffer)."""
    axes = set(axes)
    kept = tuple(1 if d in axes else s for d, s in enumerate(X.shape))
    out = np.zeros(int(np.prod(kept)), np.float32)
    if X.size == 0:
        return out.reshape(kept)
    if any(s < 0 for s in X.strides):
        X = np.ascontiguousarray(X)
    dims = _iteration(X, axes)
    if not dims or not dims[0][3]:                                   # nothing of size > 1 is reduced
        v = X.astype(np.float32)
        v = np.where(np.isnan(v), np.float32(0), v) if ignore_nan else v
        return (v + np.float32(0)).reshape(kept).astype(round_to).astype(np.float32)
    if X.itemsize == 2 and len(dims) >= 2 and dims[1][3] and not ignore_nan:
        # two reduced dims in the kernel's 2-D call would add its rows into the 16-bit output one by one:
        # torch sums the float32 copy into a float32 output here instead and rounds once
        return cascade_sum(X.astype(np.float32), tuple(axes), np.float32).astype(round_to).astype(np.float32)
    fold = 2 if X.itemsize == 2 else 1
    while len(dims) < 2:
        dims.append([1, 0, 0, True])
    # the view of X in iteration order, slowest dim first; and each value's output position
    base = np.lib.stride_tricks.as_strided(
        X, [d[0] for d in reversed(dims)], [d[1] * X.itemsize for d in reversed(dims)], writeable=False)
    values = base.astype(np.float32)
    if ignore_nan:
        values[np.isnan(values)] = 0
    values = values.reshape(-1, dims[1][0], dims[0][0]).swapaxes(1, 2)                    # (calls, size0, size1)
    where = _positions(dims, 1)[..., 0].reshape(-1, dims[1][0])                            # (calls, size1)
    s0, s1 = dims[0][1], dims[1][1]
    threads = get_num_threads()
    if X.size < _GRAIN or threads == 1:
        _store(out, where, _call(values, s0, s1, fold), round_to)
    elif out.size == 1:
        _two_pass(out, values.swapaxes(1, 2).reshape(-1), dims, fold, threads, round_to)
    else:
        split = _split_dim(dims, threads)
        if split == 1:                                               # threads take ranges of columns
            multiple = 128 // X.itemsize if s1 == 1 else 1
            for lo, hi in parallel_chunks(dims[1][0], 1):
                lo -= lo % multiple
                hi = hi if hi == dims[1][0] else hi - hi % multiple
                if lo < hi:
                    _store(out, where[:, lo:hi], _call(values[:, :, lo:hi], s0, s1, fold), round_to)
        else:
            _store(out, where, _call(values, s0, s1, fold), round_to)
    return out.reshape(kept)


def _split_dim(dims, threads):
    """torch's ``find_split_dim``: the outermost unreduced dim with at least ``threads`` indices, else the
    largest unreduced one."""
    best = len(dims) - 1
    for d in range(len(dims) - 1, -1, -1):
        if dims[d][3]:
            break
        if dims[d][0] >= threads:
            return d
        if dims[d][0] > dims[best][0]:
            best = d
    return best


def _two_pass(out, flat, dims, fold, threads, round_to):
    """A full reduction split between threads: each sums its range of the iteration (in calls that follow
    the dims, as torch's ``serial_for_each``) into its own slot of the output dtype; the slots are then
    summed."""
    slots = np.zeros(threads, np.float32)
    size0, size1 = dims[0][0], dims[1][0]
    s0, s1 = dims[0][1], dims[1][1]
    for t, (lo, hi) in enumerate(parallel_chunks(flat.size, _GRAIN)):
        i = lo
        while i < hi:
            offset0 = i % size0
            step0 = min(size0 - offset0, hi - i)
            step1 = 1
            if step0 == size0:
                offset1 = (i // size0) % size1
                step1 = max(1, min(size1 - offset1, (hi - i) // size0))
            block = flat[i:i + step0 * step1].reshape(1, step1, step0).swapaxes(1, 2)
            total = _call(block, s0, s1, fold).reshape(-1)
            for v in _rounded(total, round_to):
                slots[t] = _rounded(slots[t] + v, round_to)
            i += step0 * step1
    out[0] = _rounded(out[0] + _rounded(_ilp_sum(slots), round_to), round_to)


def _normalised(X, axes):
    if axes is None:
        return tuple(range(X.ndim))
    axes = (axes,) if isinstance(axes, (int, np.integer)) else axes
    return tuple(sorted({int(a) % X.ndim for a in axes})) if X.ndim else ()


def sum_low(X, axes, keepdim, ignore_nan=False):
    """torch's CPU sum (``ignore_nan``: nansum) of a float16/bfloat16 NumPy array over ``axes`` (``None``:
    all), in its dtype."""
    axes = _normalised(X, axes)
    return _shape(cascade_sum(X, axes, X.dtype, ignore_nan).astype(X.dtype), axes, keepdim)


def mean_low(X, axes, keepdim):
    """torch's CPU mean of a float16/bfloat16 NumPy array: the float32 sum of its float32 copy, divided in
    float32, rounded once to the dtype."""
    axes = _normalised(X, axes)
    n = int(np.prod([X.shape[a] for a in axes]))
    s = cascade_sum(X.astype(np.float32), axes, np.float32)
    with np.errstate(all="ignore"):
        m = s / np.float32(n) if n else np.full_like(s, np.nan)   # (torch's NaN for an empty mean is positive)
    return _shape(m.astype(X.dtype), axes, keepdim)


def _shape(s, axes, keepdim):
    return s if keepdim else s.reshape([n for d, n in enumerate(s.shape) if d not in axes])


def sum16(x, axes, keepdim=False, ignore_nan=False):
    """The sum (``ignore_nan``: nansum) of a float16/bfloat16 array as torch computes it: on NumPy its CPU
    kernel's order (``sum_low``); on CuPy a float32 accumulation rounded once."""
    if type(x) is np.ndarray:
        return sum_low(x, axes, keepdim, ignore_nan)
    if ignore_nan:
        x = x.copy()
        x[x != x] = 0
    return x.sum(axis=axes, keepdims=keepdim, dtype=np.float32).astype(x.dtype)


def mean16(x, axes, keepdim=False):
    """The mean of a float16/bfloat16 array as torch computes it (``mean_low`` on NumPy)."""
    if type(x) is np.ndarray:
        return mean_low(x, axes, keepdim)
    return x.mean(axis=axes, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
