"""Shape and indexing: reshape/view, transpose/permute, squeeze/unsqueeze, flatten, expand, cat/stack,
indexing with gradient scatter-add, clone."""
from __future__ import annotations

from .. import backend, dtypes
from ..tensor import Tensor
from .basic import check_same_device, inplace, record, register


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


@register("reshape", "view")
def reshape(x, *shape):
    X = x._data
    shp = _shape_arg(shape)
    try:
        out = X.reshape(shp)
    except ValueError:
        raise RuntimeError(f"shape '{list(shp)}' is invalid for input of size {X.size}") from None
    return record(out, (x,), lambda g: (g.reshape(X.shape),), "Reshape")


@register("view_as")
def view_as(x, other):
    return reshape(x, other.shape)


@register("flatten")
def flatten(x, start_dim=0, end_dim=-1):
    shp = x.shape
    if not shp:
        return reshape(x, (1,))
    s, e = start_dim % len(shp), end_dim % len(shp)
    n = 1
    for d in shp[s:e + 1]:
        n *= d
    return reshape(x, shp[:s] + (n,) + shp[e + 1:])


@register("permute")
def permute(x, *dims):
    X = x._data
    if len(_shape_arg(dims)) != X.ndim:
        raise RuntimeError(f"permute(): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {X.ndim} is not "
                           f"equal to len(dims) = {len(_shape_arg(dims))}")
    dims = tuple(d % max(X.ndim, 1) for d in _shape_arg(dims))
    inv = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
    return record(X.transpose(dims), (x,), lambda g: (g.transpose(inv),), "Permute")


@register("transpose", "swapaxes")
def transpose(x, dim0, dim1):
    X = x._data
    xp = backend.array_module(X)
    return record(xp.swapaxes(X, dim0, dim1), (x,), lambda g: (xp.swapaxes(g, dim0, dim1),), "Transpose")


@register("t")
def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, 1) if x.ndim == 2 else x


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim))[::-1]))
Tensor.mT = property(lambda self: transpose(self, -2, -1))


@register("squeeze")
def squeeze(x, dim=None):
    X = x._data
    if dim is None:
        out = X.reshape(tuple(s for s in X.shape if s != 1))
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(d % max(X.ndim, 1) for d in dims)
        out = X.reshape(tuple(s for i, s in enumerate(X.shape) if not (i in dims and s == 1)))
    return record(out, (x,), lambda g: (g.reshape(X.shape),), "Squeeze")


@register("unsqueeze")
def unsqueeze(x, dim):
    X = x._data
    d = dim % (X.ndim + 1)
    return record(X.reshape(X.shape[:d] + (1,) + X.shape[d:]), (x,), lambda g: (g.reshape(X.shape),),
                  "Unsqueeze")


@register("expand")
def expand(x, *shape):
    X = x._data
    xp = backend.array_module(X)
    shp = _shape_arg(shape)
    lead = len(shp) - X.ndim
    full = tuple(X.shape[i - lead] if s == -1 else s for i, s in enumerate(shp))
    from .basic import unbroadcast

    return record(xp.broadcast_to(X, full), (x,), lambda g: (unbroadcast(g, X.shape),), "Expand")


@register("expand_as")
def expand_as(x, other):
    return expand(x, other.shape)


@register("repeat")
def repeat(x, *sizes):
    X = x._data
    xp = backend.array_module(X)
    reps = _shape_arg(sizes)
    Xr = X.reshape((1,) * (len(reps) - X.ndim) + X.shape)
    out = xp.tile(Xr, reps)

    def bw(g):
        shp = []
        for r, s in zip(reps, Xr.shape):
            shp += [r, s]
        return (g.reshape(shp).sum(axis=tuple(range(0, 2 * len(reps), 2))).reshape(X.shape),)

    return record(out, (x,), bw, "Repeat")


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    check_same_device(*tensors)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = dtypes.promote_types(dt, t.dtype)
    arrs = [t._data if t._data.dtype == dt else t._data.astype(dt) for t in tensors]
    xp = backend.array_module(arrs[0])
    try:
        out = xp.concatenate(arrs, axis=dim)
    except ValueError as e:
        raise RuntimeError(f"torch.cat(): {e}") from None
    dtypes_in = [t.dtype for t in tensors]
    bounds = []
    acc = 0
    for a in arrs:
        bounds.append((acc, acc + a.shape[dim]))
        acc += a.shape[dim]

    def bw(g):
        res = []
        for lo, hi in bounds:
            sl = [slice(None)] * g.ndim
            sl[dim] = slice(lo, hi)
            res.append(g[tuple(sl)])
        return tuple(r if r.dtype == d else r.astype(d) for r, d in zip(res, dtypes_in))

    return record(out, tuple(tensors), bw, "Cat")


def stack(tensors, dim=0):
    return cat([unsqueeze(t, dim) for t in tensors], dim)


@register("split")
def split(x, split_size, dim=0):
    n = x.shape[dim]
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    out, lo = [], 0
    for s in sizes:
        sl = [slice(None)] * x.ndim
        sl[dim] = slice(lo, lo + s)
        out.append(x[tuple(sl)])
        lo += s
    return tuple(out)


@register("chunk")
def chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return split(x, -(-n // chunks), dim)


@register("unbind")
def unbind(x, dim=0):
    return tuple(squeeze(s, dim) for s in split(x, 1, dim))


def _index_key(key, like):
    def conv(k):
        if isinstance(k, Tensor):
            return k._data
        if isinstance(k, list):
            return backend.array_module(like).asarray(k)
        return k

    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


def _getitem(x, key):
    X = x._data
    k = _index_key(key, X)
    out = X[k]
    xp = backend.array_module(X)

    def bw(g):
        full = xp.zeros_like(X)
        if _is_basic(k):
            full[k] = g
        else:
            xp.add.at(full, k, g)
        return (full,)

    return record(out, (x,), bw, "Index")


def _is_basic(k):
    ks = k if isinstance(k, tuple) else (k,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in ks)


def _setitem(x, key, value):
    k = _index_key(key, x._data)
    if isinstance(value, Tensor) and value.requires_grad or (x.requires_grad and not x.is_leaf):
        from ..grad_mode import is_grad_enabled

        if is_grad_enabled():
            X = x._data
            xp = backend.array_module(X)
            V = value._data if isinstance(value, Tensor) else value
            out = X.copy()
            out[k] = V
            vshape = V.shape if hasattr(V, "shape") else ()

            def bw(g):
                gx = g.copy()
                gx[k] = 0
                gv = g[k]
                from .basic import unbroadcast

                return gx, unbroadcast(gv, vshape) if vshape is not None else None

            inplace(x, record(out, (x, value), bw, "IndexPut"))
            return
    if x.is_leaf and x.requires_grad:
        from ..grad_mode import is_grad_enabled

        if is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    x._data[k] = value._data if isinstance(value, Tensor) else value


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


@register("clone")
def clone(x, memory_format=None):
    return record(x._data.copy(), (x,), lambda g: (g,), "Clone")


@register("contiguous")
def contiguous(x, memory_format=None):
    X = x._data
    if X.flags.c_contiguous:
        return x
    return record(backend.array_module(X).ascontiguousarray(X), (x,), lambda g: (g,), "Contiguous")


@register("index_select")
def index_select(x, dim, index):
    sl = [slice(None)] * x.ndim
    sl[dim] = index
    return _getitem(x, tuple(sl))


@register("gather")
def gather(x, dim, index):
    X = x._data
    xp = backend.array_module(X)
    I = index._data
    out = xp.take_along_axis(X, I, dim)

    def bw(g):
        full = xp.zeros_like(X)
        idx = list(xp.indices(I.shape, sparse=True))
        idx[dim] = I
        xp.add.at(full, tuple(idx), g)
        return (full,)

    return record(out, (x,), bw, "Gather")
