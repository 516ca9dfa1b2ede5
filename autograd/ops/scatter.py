"""Scatter-style writes and masks: scatter/scatter_add, index_add, index_put(_), masked_fill(_),
masked_select, ``Tensor.where``. Each out-of-place form records its gradient; the ``_`` forms write in place."""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from ..graph.views import protect
from . import elementwise as ew
from .basic import arr, inplace, record, register
from .shape import _dim


def _grid(index_shape, dim, index, xp):
    """Index arrays addressing ``out[i_0, ..., index[i], ..., i_n]`` for every position i of ``index``."""
    nd = len(index_shape)
    idx = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(index_shape)]
    idx[dim] = index
    return tuple(idx)


def _index_arg(index, x, dim, name):
    I = index._data if isinstance(index, Tensor) else arr(index, x._data)
    if I.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if I.ndim != x.ndim and not (x.ndim == 0 and I.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    for d in range(I.ndim):
        if d != dim and I.shape[d] > max(x.shape[d] if x.ndim else 1, 1):
            raise RuntimeError(f"Expected index {list(I.shape)} to be no larger than self {list(x.shape)} apart from "
                               f"dimension {dim}")
    return I


def _scatter(x, dim, index, src, reduce_add, name):
    X = x._data
    xp = backend.array_module(X)
    dim = _dim(dim, X.ndim)
    X1 = X.reshape(X.shape or (1,))
    I = _index_arg(index, x, dim, name).reshape(-1) if not X.ndim else _index_arg(index, x, dim, name)
    if ((I < -X1.shape[dim]) | (I >= X1.shape[dim])).any():
        raise RuntimeError(f"index {int(I.max())} is out of bounds for dimension {dim} with size {X1.shape[dim]}")
    grid = _grid(I.shape, dim, I % max(X1.shape[dim], 1), xp)
    is_t = isinstance(src, Tensor)
    if is_t:
        S = src._data.reshape(src._data.shape or (1,))
        for d in range(I.ndim):
            if I.shape[d] > S.shape[d]:
                raise RuntimeError(f"Expected index {list(I.shape)} to be no larger than src {list(S.shape)}")
        S = S[tuple(slice(0, n) for n in I.shape)].astype(X.dtype, copy=False)
    else:
        S = xp.asarray(src, dtype=X.dtype)
    out = X1.copy()
    if reduce_add:
        xp.add.at(out, grid, xp.broadcast_to(S, I.shape))
    else:
        out[grid] = S
    src_shape = src.shape if is_t else None
    x1_shape, x_shape = X1.shape, X.shape
    s1_shape = (src._data.shape or (1,)) if is_t else None
    corner = tuple(slice(0, n) for n in I.shape)

    def rule(o, g, _index):
        g1 = o.reshape(g, x1_shape)
        gx = g1 if reduce_add else o.zero_at(g1, grid)
        gs = None
        if is_t:
            gs = o.reshape(o.put(o.getitem(g1, grid), s1_shape, corner), src_shape)
        return o.reshape(gx, x_shape), None, gs

    return record(out.reshape(X.shape), (x, index, src), rule, name, saved=(index,))


@register("scatter")
def scatter(x, dim, index, src=None, value=None, *, reduce=None):
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...) is not supported; use scatter_add or scatter_reduce")
    s = src if src is not None else value
    return _scatter(x, dim, index, s, False, "Scatter")


@register("scatter_add")
def scatter_add(x, dim, index, src):
    return _scatter(x, dim, index, src, True, "ScatterAdd")


@register("index_add")
def index_add(x, dim, index, source, *, alpha=1):
    X = x._data
    xp = backend.array_module(X)
    dim = _dim(dim, X.ndim)
    I = index._data if isinstance(index, Tensor) else arr(index, X)
    if I.ndim > 1 or I.dtype.kind not in "iu":
        raise RuntimeError("index_add_(): Index is supposed to be a vector")
    S = source._data
    X1 = X.reshape(X.shape or (1,))
    S1 = S.reshape(S.shape or (1,))
    if S1.shape[dim] != I.size or S1.shape[:dim] + S1.shape[dim + 1:] != X1.shape[:dim] + X1.shape[dim + 1:]:
        raise RuntimeError("index_add_(): Source/destination tensor must have same slice shapes.")
    out = X1.copy()
    moved = xp.moveaxis(out, dim, 0)
    xp.add.at(moved, I.reshape(-1), xp.moveaxis(S1 * alpha if alpha != 1 else S1, dim, 0).astype(X.dtype, copy=False))

    x1_shape, s_shape = X1.shape, S.shape
    along = (slice(None),) * dim + (I.reshape(-1),)

    def rule(o, g, _index):
        gs = o.getitem(o.reshape(g, x1_shape), along)
        return g, None, o.reshape(gs * alpha if alpha != 1 else gs, s_shape)

    return record(out.reshape(X.shape), (x, index, source), rule, "IndexAdd", saved=(index,))


def _indices(indices, like):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): indices must be a tuple of Tensors")
    out = []
    for i in indices:
        a = i._data if isinstance(i, Tensor) else arr(i, like)
        if a.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        out.append(a)
    return tuple(out)


@register("index_put")
def index_put(x, indices, values, accumulate=False):
    X = x._data
    xp = backend.array_module(X)
    k = _indices(indices, X)
    V = values._data if isinstance(values, Tensor) else xp.asarray(values, dtype=X.dtype)
    out = X.copy()
    if accumulate:
        target = out[k]
        xp.add.at(out, k, xp.broadcast_to(V.astype(X.dtype, copy=False), target.shape))
    else:
        out[k] = V
    v_grad = isinstance(values, Tensor)

    def rule(o, g):   # the values' gradient is summed to their shape by the engine
        return g if accumulate else o.zero_at(g, k), None, o.getitem(g, k) if v_grad else None

    return record(out, (x, tuple(indices), values), rule, "IndexPut", saved=())


@register("index_put_")
def index_put_(x, indices, values, accumulate=False):
    return inplace(x, index_put(x, indices, values, accumulate))


for _name, _fn in (("scatter_", scatter), ("scatter_add_", scatter_add), ("index_add_", index_add)):
    def _make(fn, name):
        def method(self, *args, **kwargs):
            src, args = protect(self, args)
            return inplace(self, fn(src, *args, **kwargs))

        method.__name__ = name
        return method

    setattr(Tensor, _name, _make(_fn, _name))


@register("masked_fill")
def masked_fill(x, mask, value):
    M = mask._data if isinstance(mask, Tensor) else arr(mask, x._data)
    if M.dtype.kind != "b":
        from .. import dtypes

        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{dtypes.torch_name(M.dtype).lower()}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    v = value if isinstance(value, Tensor) else x._data.dtype.type(value) if x.dtype.kind != "b" else bool(value)
    res = ew.where(mask, v.to(x.dtype) if isinstance(v, Tensor) else v, x)
    if res.shape != x.shape:
        raise RuntimeError(f"masked_fill: the shape of the mask {list(M.shape)} must be broadcastable to the shape of "
                           f"self {list(x.shape)}")
    return res


@register("masked_fill_")
def masked_fill_(x, mask, value):
    return inplace(x, masked_fill(x, mask, value))


@register("masked_select")
def masked_select(x, mask):
    X = x._data
    xp = backend.array_module(X)
    M = mask._data if isinstance(mask, Tensor) else arr(mask, X)
    if M.dtype.kind != "b":
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {M.dtype}")
    shape = xp.broadcast_shapes(X.shape, M.shape) if hasattr(xp, "broadcast_shapes") else \
        __import__("numpy").broadcast_shapes(X.shape, M.shape)
    Mb = xp.broadcast_to(M, shape)
    out = xp.broadcast_to(X, shape)[Mb]
    # the engine sums the gradient back over the dims the mask broadcast x to
    return record(out, (x,), lambda o, g: (o.put(g, shape, Mb),), "MaskedSelect", saved=())


@register("where")
def _tensor_where(self, condition, other=None):
    """``x.where(condition, y)``: x where condition, else y (torch's method form)."""
    if other is None:
        raise TypeError("where() missing required argument 'other'")
    return ew.where(condition, self, other)
