"""torch's remaining scatter-style writes: ``masked_scatter``, ``put``, ``index_reduce`` (each with its
in-place ``_`` form) and the ``*_scatter`` functions (``diagonal_scatter``, ``select_scatter``,
``slice_scatter``: a copy of the input with ``src`` written into one of its views) and ``diagflat`` (a
diagonal_scatter into zeros). Each is composed of
recorded ops (index_put, scatter_reduce, a copy into a view), so their gradients follow from those ops', to
any order. Gathered into ``torch.<name>`` by :mod:`.tensor_aliases`.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend, dtypes
from ..graph.views import protect
from ..tensor import Tensor
from .. import creation
from . import indexing_more, scatter, shape, shape_more
from .aliases_shape import select
from .basic import inplace, register
from .shape import _dim


def _name(dt):
    return dtypes.torch_name(dt)


def _in_place(fn, name):
    """The ``_`` form of ``fn``: computed on a stand-in holding self's old value (when recorded), written into
    self's storage."""
    def method(self, *args, **kwargs):
        src, args = protect(self, args)
        return inplace(self, fn(src, *args, _in_place=True, **kwargs))

    method.__name__ = name
    return method


# ---- masked_scatter -------------------------------------------------------------------------------------------
@register("masked_scatter")
def masked_scatter(input, mask, source, *, _in_place=False):  # noqa: A002
    """``input`` with the first ``mask.sum()`` elements of ``source`` (in order) written where ``mask`` (a bool
    tensor, broadcast with ``input``) is True."""
    M = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if M.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {_name(M.dtype)}")
    if input.dtype != source.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_name(input.dtype)} and {_name(source.dtype)}")
    xp = backend.array_module(input._data)
    if _in_place:   # the mask must expand to self's shape (torch's error when not)
        out_shape = tuple(input.shape)
        shape.expand(Tensor._wrap(M), out_shape)
    else:
        out_shape = tuple(np.broadcast_shapes(tuple(input.shape), M.shape))
    M = xp.broadcast_to(M, out_shape)
    count = int(M.sum())
    if source.numel() < count:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    values = shape_more.narrow(shape.reshape(source, (-1,)), 0, 0, count)
    return scatter.index_put(shape.expand(input, out_shape), (M,), values)


Tensor.masked_scatter_ = _in_place(masked_scatter, "masked_scatter_")


# ---- put --------------------------------------------------------------------------------------------------------
@register("put")
def put(input, index, source, accumulate=False, *, _in_place=False):  # noqa: A002
    """``input`` with ``source``'s elements written (or, with ``accumulate``, added) at the flat positions
    ``index`` of ``input`` seen as 1-D; negative positions count from the end."""
    I = index._data
    if I.dtype != np.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_name(I.dtype)}")
    if input.dtype != source.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_name(input.dtype)} and source.dtype = {_name(source.dtype)}")
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n = input.numel()
    flat_index = I.reshape(-1)
    bad = (flat_index < -n) | (flat_index >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {int(flat_index[bad][0])} on a tensor of {n} "
                         "elements.")
    flat = scatter.index_put(shape.reshape(input, (-1,)), (flat_index % max(n, 1),), shape.reshape(source, (-1,)),
                             accumulate)
    return shape.reshape(flat, tuple(input.shape))


Tensor.put_ = _in_place(put, "put_")


# ---- index_reduce -----------------------------------------------------------------------------------------------
_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


@register("index_reduce")
def index_reduce(input, dim, index, source, reduce, *, include_self=True, _in_place=False):  # noqa: A002
    """``input`` with each slice ``source.select(dim, i)`` reduced (prod / mean / amax / amin) into the slice
    ``index[i]`` of ``dim``; ``include_self``: the original slice takes part. A scatter_reduce whose index
    repeats ``index`` across the other dimensions, so its gradients are scatter_reduce's."""
    warnings.warn("index_reduce() is in beta and the API may change at any time.", UserWarning, stacklevel=2)
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    d = _dim(dim, input.ndim)
    I = index._data
    if I.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: {_name(I.dtype)}")
    if I.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {I.ndim} with type: "
                         f"{_name(I.dtype)} and size: {list(I.shape)}")
    if input.dtype != source.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_name(input.dtype)}) and source ({_name(source.dtype)}) must "
                           "have the same scalar type")
    x_shape, s_shape = tuple(input.shape) or (1,), tuple(source.shape) or (1,)
    if len(s_shape) != len(x_shape) or s_shape[:d] + s_shape[d + 1:] != x_shape[:d] + x_shape[d + 1:]:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    I = I.reshape(-1).astype(np.int64)
    if I.size != s_shape[d]:
        raise RuntimeError(f"index_reduce_(): Number of indices ({I.size}) should be equal to source.size(dim): "
                           f"({s_shape[d]}), for dim: {d}")
    if ((I < -x_shape[d]) | (I >= x_shape[d])).any():
        raise IndexError("index out of range in self")
    xp = backend.array_module(I)
    along = (1,) * d + (I.size,) + (1,) * (len(s_shape) - d - 1)
    spread = xp.ascontiguousarray(xp.broadcast_to((I % x_shape[d]).reshape(along), s_shape))
    x1 = shape.reshape(input, x_shape) if input.ndim == 0 else input
    s1 = shape.reshape(source, s_shape) if source.ndim == 0 else source
    out = indexing_more.scatter_reduce(x1, d, Tensor._wrap(spread), s1, reduce, include_self=include_self)
    return shape.reshape(out, tuple(input.shape)) if input.ndim == 0 else out


Tensor.index_reduce_ = _in_place(index_reduce, "index_reduce_")


# ---- copies with a view overwritten -------------------------------------------------------------------------
def _scatter_into_view(input, src, take_view):  # noqa: A002
    """A copy of ``input`` whose view ``take_view(copy)`` holds ``src`` (which must have the view's shape)."""
    out = shape.clone(input)
    target = take_view(out)
    if tuple(src.shape) != tuple(target.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(target.shape)}")
    target.copy_(src)
    return out


@register("diagonal_scatter")
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):  # noqa: A002
    return _scatter_into_view(input, src, lambda t: shape_more.diagonal(t, offset, dim1, dim2))


@register("select_scatter")
def select_scatter(input, src, dim, index):  # noqa: A002
    return _scatter_into_view(input, src, lambda t: select(t, dim, index))


@register("slice_scatter")
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):  # noqa: A002
    d = _dim(dim, input.ndim)
    if step is not None and step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_into_view(input, src, lambda t: shape._getitem(t, key))


@register("diagflat")
def diagflat(input, offset=0):  # noqa: A002
    """A square matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    flat = shape.reshape(input, (-1,))
    n = flat.shape[0] + abs(offset)
    return diagonal_scatter(creation.zeros(n, n, dtype=input.dtype, device=input.device), flat, offset)


EXPORTS = ("diagflat", "masked_scatter", "put", "index_reduce", "diagonal_scatter", "select_scatter", "slice_scatter")
