"""Sparse COO tensors, enough for sparse gradients (``Embedding(sparse=True)`` and ``SparseAdam``)."""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor


class SparseTensor:
    """A COO sparse tensor: ``indices`` (ndim_sparse x nnz, int64), ``values`` (nnz x dense dims), ``shape``."""

    is_sparse = True
    requires_grad = False
    grad = None

    def __init__(self, indices, values, shape, coalesced=False):
        self._ind = indices._data if isinstance(indices, Tensor) else indices
        self._val = values._data if isinstance(values, Tensor) else values
        self._shape = tuple(int(s) for s in shape)
        self._coalesced = coalesced

    @property
    def shape(self):
        return self._shape

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    @property
    def dtype(self):
        return self._val.dtype

    @property
    def device(self):
        return backend.device_of(self._val)

    @property
    def layout(self):
        return "sparse_coo"

    def dim(self):
        return len(self._shape)

    def sparse_dim(self):
        return int(self._ind.shape[0])

    def dense_dim(self):
        return len(self._shape) - self.sparse_dim()

    def is_coalesced(self):
        return self._coalesced

    def _indices(self):
        return Tensor._wrap(self._ind)

    def _values(self):
        return Tensor._wrap(self._val)

    def indices(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._values()

    def _nnz(self):
        return int(self._ind.shape[1])

    def coalesce(self):
        """Sort indices and sum values of duplicates (as torch)."""
        if self._coalesced:
            return self
        xp = backend.array_module(self._val)
        nd = self._ind.shape[0]
        if self._ind.shape[1] == 0:
            return SparseTensor(self._ind.copy(), self._val.copy(), self._shape, True)
        if nd == 1 and xp is np:  # the sparse-gradient case: sort + segment sums (no np.add.at)
            from .ops._numba_kernels import coalesce_rows

            uniq, vals = coalesce_rows(self._ind[0], self._val)
            return SparseTensor(uniq.reshape(1, -1).astype(np.int64, copy=False), vals, self._shape, True)
        lin = xp.ravel_multi_index(tuple(self._ind[i] for i in range(nd)), self._shape[:nd])
        uniq, inv = xp.unique(lin, return_inverse=True)
        vals = xp.zeros((uniq.shape[0],) + self._val.shape[1:], dtype=self._val.dtype)
        xp.add.at(vals, inv.reshape(-1), self._val)
        ind = xp.stack(xp.unravel_index(uniq, self._shape[:nd])).astype(np.int64)
        return SparseTensor(ind, vals, self._shape, True)

    def to_dense(self):
        xp = backend.array_module(self._val)
        out = xp.zeros(self._shape, dtype=self._val.dtype)
        nd = self._ind.shape[0]
        xp.add.at(out, tuple(self._ind[i] for i in range(nd)), self._val)
        return Tensor._wrap(out)

    def __add__(self, other):
        if isinstance(other, SparseTensor):
            xp = backend.array_module(self._val)
            return SparseTensor(xp.concatenate([self._ind, other._ind], 1),
                                xp.concatenate([self._val, other._val], 0), self._shape)
        return self.to_dense() + other

    __radd__ = __add__

    def mul(self, s):
        return SparseTensor(self._ind, self._val * s, self._shape, self._coalesced)

    __mul__ = __rmul__ = mul

    def to(self, *args, **kwargs):
        v = Tensor._wrap(self._val).to(*args, **kwargs)
        ind = backend.to_device(self._ind, v.device)
        return SparseTensor(ind, v._data, self._shape, self._coalesced)

    def clone(self):
        return SparseTensor(self._ind.copy(), self._val.copy(), self._shape, self._coalesced)

    def numel(self):
        n = 1
        for s in self._shape:
            n *= s
        return n

    def __repr__(self):
        return (f"sparse_coo_tensor(indices={self._ind.tolist()}, values={self._val.tolist()}, "
                f"size={self._shape}, nnz={self._nnz()})")


def _check_indices(ind, size):
    """torch's invariant check (``check_invariants=True``): every index in ``[0, size)``. CuPy wraps
    out-of-range indices around silently, so this check is what keeps a bad index from a wrong result; on
    a GPU it costs one host synchronisation (the per-dimension min and max come back together)."""
    if ind.ndim != 2 or ind.shape[1] == 0:
        return
    xp = backend.array_module(ind)
    lohi = xp.concatenate([ind.min(axis=1), ind.max(axis=1)])
    lohi = lohi.get() if xp is not np else lohi
    nd = ind.shape[0]
    for d in range(nd):
        if lohi[d] < 0:
            raise RuntimeError(f"found negative index {int(lohi[d])} for dim {d}")
        if lohi[nd + d] >= size[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                               f"index {int(lohi[nd + d])}")


def sparse_coo_tensor(indices, values, size=None, dtype=None, device=None, check_invariants=None):
    ind = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if isinstance(values, Tensor):
        val = values._data
    else:
        from .creation import tensor as _tensor

        val = _tensor(values, dtype=dtype)._data  # torch's dtype inference (Python floats -> default dtype)
    if dtype is not None:
        val = val.astype(dtype, copy=False)
    ind = ind.astype(np.int64)
    if size is None:
        size = tuple(int(m) + 1 for m in ind.max(axis=1)) + tuple(val.shape[1:])
    if check_invariants is not False:   # on by default: an out-of-range index must not wrap around on CuPy
        _check_indices(ind, tuple(size))
    if device is not None:
        ind = backend.to_device(ind, backend.as_device(device))
        val = backend.to_device(val, backend.as_device(device))
    return SparseTensor(ind, val, size)
