"""Shape and indexing: reshape/view, transpose/permute, squeeze/unsqueeze, flatten, expand, cat/stack,
indexing with gradient scatter-add, clone."""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor
from ..graph.views import make_view
from .basic import check_same_device, inplace, record, register


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


@register("reshape")
def reshape(x, *shape):
    """A view when the strides allow it (as torch), else a copy."""
    X = x._data
    shp = _shape_arg(shape)
    try:
        out = X.reshape(shp)
    except ValueError:
        raise RuntimeError(f"shape '{list(shp)}' is invalid for input of size {X.size}") from None
    xs = X.shape
    return make_view(x, out, lambda a: a.reshape(shp), lambda o, g: o.reshape(g, xs), "Reshape")


@register("view")
def view(x, *shape):
    """Always a view; torch's error when the strides do not allow one."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)) and not hasattr(shape[0], "__index__"):
        raise NotImplementedError("view(dtype) is not supported")
    t = reshape(x, *shape)
    if t._view is None and t._data is not x._data and x._data.size:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
    return t


@register("view_as")
def view_as(x, other):
    return view(x, other.shape)


@register("flatten")
def flatten(x, start_dim=0, end_dim=-1):
    shp = x.shape
    if not shp:
        return reshape(x, (1,))
    s, e = start_dim % len(shp), end_dim % len(shp)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for d in shp[s:e + 1]:
        n *= d
    return reshape(x, shp[:s] + (n,) + shp[e + 1:])


def _dim(d, nd):
    n = max(nd, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


@register("permute")
def permute(x, *dims):
    X = x._data
    if len(_shape_arg(dims)) != X.ndim:
        raise RuntimeError(f"permute(): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {X.ndim} is not "
                           f"equal to len(dims) = {len(_shape_arg(dims))}")
    dims = tuple(_dim(d, X.ndim) for d in _shape_arg(dims))
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    if not X.ndim:
        return make_view(x, X[...], lambda a: a[...], lambda o, g: g, "Permute", True)
    inv = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
    return make_view(x, X.transpose(dims), lambda a: a.transpose(dims), lambda o, g: o.permute(g, inv), "Permute",
                     True)


@register("transpose", "swapaxes", "swapdims")
def transpose(x, dim0, dim1):
    X = x._data
    d0, d1 = _dim(dim0, X.ndim), _dim(dim1, X.ndim)
    if not X.ndim:
        return make_view(x, X[...], lambda a: a[...], lambda o, g: g, "Transpose", True)
    return make_view(x, X.swapaxes(d0, d1), lambda a: a.swapaxes(d0, d1), lambda o, g: o.swapaxes(g, d0, d1),
                     "Transpose", True)


@register("t")
def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, 1) if x.ndim == 2 else transpose(x, 0, 0)


Tensor.T = property(lambda self: permute(self, tuple(range(self.ndim))[::-1]))
Tensor.mT = property(lambda self: transpose(self, -2, -1))


@register("squeeze")
def squeeze(x, dim=None):
    X = x._data
    if dim is None:
        ax = tuple(i for i, s in enumerate(X.shape) if s == 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        ax = tuple(sorted({_dim(d, X.ndim) for d in dims if X.ndim and X.shape[_dim(d, X.ndim)] == 1}))
        if not X.ndim:
            _dim(dims[0], 0) if dims else None
    xs = X.shape
    return make_view(x, X.squeeze(ax) if ax else X[...], (lambda a: a.squeeze(ax)) if ax else (lambda a: a[...]),
                     lambda o, g: o.reshape(g, xs), "Squeeze", True)


@register("unsqueeze")
def unsqueeze(x, dim):
    X = x._data
    xp = backend.array_module(X)
    d = _dim(dim, X.ndim + 1)
    xs = X.shape
    return make_view(x, xp.expand_dims(X, d), lambda a: xp.expand_dims(a, d), lambda o, g: o.reshape(g, xs),
                     "Unsqueeze", True)


@register("expand")
def expand(x, *shape):
    X = x._data
    xp = backend.array_module(X)
    shp = _shape_arg(shape)
    lead = len(shp) - X.ndim
    if lead < 0:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(X.shape)}}}, size={list(shp)}): the number of sizes "
                           f"provided ({len(shp)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({X.ndim})")
    full = []
    for i, s in enumerate(shp):
        if s == -1:
            if i < lead:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing "
                                   f"dimension {i}")
            s = X.shape[i - lead]
        elif i >= lead and X.shape[i - lead] not in (1, s):
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({X.shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: {list(shp)}.  "
                               f"Tensor sizes: {list(X.shape)}")
        full.append(s)
    full = tuple(full)
    xs = X.shape
    return make_view(x, xp.broadcast_to(X, full), lambda a: xp.broadcast_to(a, full),
                     lambda o, g: o.sum_to(g, xs), "Expand", True)


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

    interleaved = []
    for r, s in zip(reps, Xr.shape):
        interleaved += [r, s]
    copies = tuple(range(0, 2 * len(reps), 2))

    def rule(o, g):
        return (o.reshape(o.sum(o.reshape(g, interleaved), copies), X.shape),)

    return record(out, (x,), rule, "Repeat", saved=())


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
    bounds = []
    acc = 0
    for a in arrs:
        bounds.append((acc, acc + a.shape[dim]))
        acc += a.shape[dim]

    lead = (slice(None),) * (dim % out.ndim)

    def rule(o, g):
        return tuple(o.getitem(g, lead + (slice(lo, hi),)) for lo, hi in bounds)

    return record(out, tuple(tensors), rule, "Cat", saved=())


def stack(tensors, dim=0):
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def _multi(views, name):
    for v in views:
        if v._view is not None:
            v._view.multi = name
    return tuple(views)


@register("split")
def split(x, split_size, dim=0):
    dim = _dim(dim, x.ndim)
    n = x.shape[dim]
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    if not isinstance(split_size, int) and sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                           f"dimension {dim}), but got split_sizes={sizes}")
    out, lo = [], 0
    for s in sizes or [0]:
        sl = [slice(None)] * x.ndim
        sl[dim] = slice(lo, lo + s)
        out.append(_getitem(x, tuple(sl)))
        lo += s
    return _multi(out, "Split" if isinstance(split_size, int) else "SplitWithSizes")


@register("chunk")
def chunk(x, chunks, dim=0):
    n = x.shape[_dim(dim, x.ndim)]
    return split(x, max(-(-n // chunks), 1), dim)


@register("unbind")
def unbind(x, dim=0):
    dim = _dim(dim, x.ndim)
    out = []
    for i in range(x.shape[dim]):
        sl = [slice(None)] * x.ndim
        sl[dim] = i
        out.append(_getitem(x, tuple(sl)))
    return _multi(out, "Unbind")


def _index_key(key, like):
    def conv(k):
        if isinstance(k, Tensor):
            return k._data
        if isinstance(k, list):
            return backend.array_module(like).asarray(k)
        return k

    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


def _is_basic(k):
    ks = k if isinstance(k, tuple) else (k,)
    return all((isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))) or isinstance(i, slice)
               or i is None or i is Ellipsis for i in ks)


def _check_steps(k):
    for i in (k if isinstance(k, tuple) else (k,)):
        if isinstance(i, slice) and i.step is not None and i.step <= 0:
            raise ValueError("step must be greater than zero")


def _getitem(x, key):
    X = x._data
    k = _index_key(key, X)
    _check_steps(k)
    if _is_basic(k):
        ks = k if isinstance(k, tuple) else (k,)
        if Ellipsis not in ks:
            ks = ks + (Ellipsis,)  # keeps an all-integer key a (0-d) view rather than a NumPy scalar
        try:
            out = X[ks]
        except IndexError as e:
            raise IndexError(str(e)) from None

        shape = X.shape
        return make_view(x, out, lambda a: a[ks], lambda o, g: o.index_backward(g, shape, ks), "Index", True)
    out = X[k]
    return record(out, (x,), lambda o, g: (o.index_backward(g, X.shape, k),), "Index", saved=())


def index_backward(g, shape, key):
    """The gradient of ``x[key]`` w.r.t. ``x`` of ``shape``: zeros with ``g`` added at ``key`` (repeated
    indices add up). Differentiable: its own gradient is ``gg[key]``."""
    G = g._data
    full = backend.array_module(G).zeros(shape, dtype=G.dtype)
    index_backward_array(full, key, G)
    return record(full, (g,), lambda o, gg: (o.getitem(gg, key),), "IndexBackward", saved=())


def index_backward_array(full, key, g):
    if _is_basic(key):
        full[key] = g
    else:
        backend.array_module(full).add.at(full, key, g)
    return full


def _setitem(x, key, value):
    k = _index_key(key, x._data)
    _check_steps(k)
    if _is_basic(k):
        _getitem(x, key).copy_(value)
        return
    X = x._data
    V = value._data if isinstance(value, Tensor) else value
    out = X.copy()
    out[k] = V
    written = backend.array_module(X).zeros(X.shape, dtype=bool)
    written[k] = True

    def rule(o, g):
        return o.where(written, 0, g), o.getitem(g, k)

    inplace(x, record(out, (x, value), rule, "IndexPut", saved=()))


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


@register("clone")
def clone(x, memory_format=None):
    return record(x._data.copy(), (x,), _identity_rule, "Clone", saved=())


def _identity_rule(o, g):
    return (g,)


@register("contiguous")
def contiguous(x, memory_format=None):
    X = x._data
    if X.flags.c_contiguous:
        return x
    return record(backend.array_module(X).ascontiguousarray(X), (x,), _identity_rule, "Contiguous", saved=())


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
    if I.dtype.kind not in "iu":
        raise RuntimeError("gather(): Expected dtype int64 for index")
    nd = max(X.ndim, 1)
    dim = _dim(dim, X.ndim)
    if I.ndim != X.ndim and not (X.ndim == 0 and I.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    X1, I1 = X.reshape(X.shape or (1,)), I.reshape(I.shape or (1,))
    for d in range(nd):
        if d != dim and I1.shape[d] > X1.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(I.shape)} to be no larger "
                               f"than self {list(X.shape)} apart from dimension {dim}")
    sub = X1[tuple(slice(None) if d == dim else slice(0, I1.shape[d]) for d in range(nd))]
    out = xp.take_along_axis(sub, I1, dim).reshape(I.shape)

    idx = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(I1.shape)]
    idx[dim] = I1
    idx = tuple(idx)

    def rule(o, g, _index):
        return o.reshape(o.index_backward(o.reshape(g, I1.shape), X1.shape, idx), X.shape), None

    return record(out, (x, index), rule, "Gather", saved=(index,))
