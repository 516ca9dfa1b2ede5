"""torch's CPU arithmetic on sparse COO gradients, for the optimizers that take them (SGD, Adagrad).

Torch never coalesces implicitly here, and the order of the stored entries decides the rounding:

* ``dense.add_(sparse, alpha=a)`` walks the entries in stored order, ``d[i] = fma(v, a, d[i])`` (``a`` in the
  dense dtype), so duplicates are applied one after another;
* ``t.add_(s, alpha=a)`` / ``t.add(s, alpha=a)`` on two sparse tensors is a two-pointer merge of their entries
  in stored order: equal heads give one entry ``t_v + a * s_v``, otherwise the smaller head is taken (an
  entry of ``s`` as ``a * s_v``); the result is coalesced only when both inputs are.

float32/float16 results are formed in float64 and rounded once, which is what a fused multiply-add gives;
float64 keeps two roundings (NumPy has no fused multiply-add), as everywhere else in ``_core.fma``.
"""
from __future__ import annotations

import numpy as np

from autograd.backend import array_module
from autograd.sparse import SparseTensor


def _linear(sp):
    ind = sp._ind
    xp = array_module(ind)
    nd = ind.shape[0]
    if nd == 1:
        return ind[0]
    return xp.ravel_multi_index(tuple(ind[i] for i in range(nd)), sp._shape[:nd])


def _fma(base, a, x, dtype):
    """``base + a * x`` rounded once for narrow floats (``a`` rounded to ``dtype`` first, as torch does)."""
    a = dtype.type(a)
    if dtype.kind == "f" and dtype.itemsize < 8 and array_module(base) is np:
        return (base.astype(np.float64) + float(a) * x.astype(np.float64)).astype(dtype)
    return base + a * x


def dense_add_sparse_(dense, sp, alpha):
    """In place ``dense.add_(sp, alpha=alpha)`` with torch's per-entry order (duplicates in sequence)."""
    n = sp._nnz()
    if n == 0:
        return dense
    xp = array_module(dense)
    nd = sp._ind.shape[0]
    rows = dense.reshape((int(np.prod(sp._shape[:nd])),) + tuple(sp._shape[nd:]))
    lin = _linear(sp)
    vals = sp._val
    # rank of each entry among the entries with the same index: rank r is applied in round r, and within a
    # round every index occurs once, so the vectorised update keeps the sequential order per element
    order = xp.argsort(lin, kind="stable")
    srt = lin[order]
    first = xp.ones(n, dtype=bool)
    first[1:] = srt[1:] != srt[:-1]
    start = xp.maximum.accumulate(xp.where(first, xp.arange(n), 0))
    rank = xp.empty(n, dtype=np.int64)
    rank[order] = xp.arange(n) - start
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        at = lin[sel]
        rows[at] = _fma(rows[at], alpha, vals[sel], dense.dtype)
    return dense


def sparse_add(t, s, alpha=1.0):
    """``t.add(s, alpha=alpha)`` for two sparse COO tensors of one shape: torch's two-pointer merge."""
    lt, ls = (array_module(x).asnumpy(x) if array_module(x) is not np else x for x in (_linear(t), _linear(s)))
    lt, ls = lt.tolist(), ls.tolist()
    take_t, take_s = [], []          # per output entry: index into t (or -1) and into s (or -1)
    i = j = 0
    while i < len(lt) and j < len(ls):
        if lt[i] == ls[j]:
            take_t.append(i), take_s.append(j)
            i, j = i + 1, j + 1
        elif lt[i] < ls[j]:
            take_t.append(i), take_s.append(-1)
            i += 1
        else:
            take_t.append(-1), take_s.append(j)
            j += 1
    take_t += list(range(i, len(lt)))
    take_s += [-1] * (len(lt) - i)
    take_t += [-1] * (len(ls) - j)
    take_s += list(range(j, len(ls)))
    xp = array_module(t._val)
    ti, si = xp.asarray(take_t, dtype=np.int64), xp.asarray(take_s, dtype=np.int64)
    dtype = t._val.dtype
    vals = xp.empty((len(take_t),) + t._val.shape[1:], dtype=dtype)
    both, only_t, only_s = (ti >= 0) & (si >= 0), si < 0, ti < 0
    vals[both] = _fma(t._val[ti[both]], alpha, s._val[si[both]], dtype)
    vals[only_t] = t._val[ti[only_t]]
    vals[only_s] = s._val[si[only_s]] * dtype.type(alpha)
    ind = xp.where(ti[None, :] >= 0, t._ind[:, xp.maximum(ti, 0)], s._ind[:, xp.maximum(si, 0)])
    return SparseTensor(ind, vals, t._shape, t.is_coalesced() and s.is_coalesced())


def sparse_add_(t, s, alpha=1.0):
    """In place ``t.add_(s, alpha=alpha)``: ``t`` (the same object) takes the merged entries."""
    r = sparse_add(t, s, alpha)
    t._ind, t._val, t._coalesced = r._ind, r._val, r._coalesced
    return t


def sparse_mul_(t, factor):
    """In place ``t.mul_(factor)``: the stored values times ``factor`` (in their dtype)."""
    t._val = t._val * t._val.dtype.type(factor)
    return t
