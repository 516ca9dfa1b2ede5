"""More shape ops: narrow, diagonal, movedim, unflatten (views); flip, roll, tril/triu, tile, repeat_interleave."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from ..graph.views import make_view
from .basic import record, register
from .shape import _dim, _getitem, _shape_arg, permute, repeat, reshape


@register("narrow")
def narrow(x, dim, start, length):
    """A view of ``length`` entries of ``dim`` from ``start``."""
    dim = _dim(dim, x.ndim)
    n = x.shape[dim]
    start = int(start.item() if isinstance(start, Tensor) else start)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start %= n if n else 1
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    sl = [slice(None)] * x.ndim
    sl[dim] = slice(start, start + length)
    return _getitem(x, tuple(sl))


def _diag_view(a, offset, d1, d2):
    """A writable view of the diagonal (NumPy's ``diagonal`` is read-only)."""
    xp = backend.array_module(a)
    n1, n2 = a.shape[d1], a.shape[d2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    sl = [slice(None)] * a.ndim
    if length:
        sl[d2 if offset >= 0 else d1] = slice(abs(offset), None)
    sub = a[tuple(sl)]
    keep = [i for i in range(a.ndim) if i not in (d1, d2)]
    shape = tuple(a.shape[i] for i in keep) + (length,)
    strides = tuple(sub.strides[i] for i in keep) + (sub.strides[d1] + sub.strides[d2],)
    if xp is np:
        return np.lib.stride_tricks.as_strided(sub, shape, strides)
    return xp.lib.stride_tricks.as_strided(sub, shape, strides)  # pragma: no cover - GPU only


@register("diagonal")
def diagonal(x, offset=0, dim1=0, dim2=1):
    """A view of the diagonal of ``dim1`` x ``dim2``, moved to the last dimension (as torch)."""
    d1, d2 = _dim(dim1, x.ndim), _dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    X = x._data
    xp = backend.array_module(X)
    xs = X.shape

    positions = (_diag_view(xp.arange(X.size).reshape(xs), offset, d1, d2),)

    def rule(o, g):
        return o.reshape(o.index_backward(g, (X.size,), positions), xs)

    return make_view(x, _diag_view(X, offset, d1, d2), lambda a: _diag_view(a, offset, d1, d2), rule, "Diagonal",
                     True)


@register("movedim", "moveaxis")
def movedim(x, source, destination):
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    nd = x.ndim
    src = tuple(_dim(d, nd) for d in src)
    dst = tuple(_dim(d, nd) for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in `source` or `destination`")
    if not nd:
        return permute(x, ())
    order = [d for d in range(nd) if d not in src]
    for dest, s in sorted(zip(dst, src)):
        order.insert(dest, s)
    perm = tuple(order)
    return permute(x, perm)


@register("unflatten")
def unflatten(x, dim, sizes):
    dim = _dim(dim, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = x.shape[dim]
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes = tuple(n // known if s == -1 else s for s in sizes) if known else sizes
    if int(np.prod(sizes)) != n:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                           f"({n}) in the input tensor")
    return reshape(x, x.shape[:dim] + sizes + x.shape[dim + 1:])


def _dims(dims, nd):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(_dim(d, nd) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError("dims has duplicates")
    return out


@register("flip")
def flip(x, *dims, **kw):
    """A reversed copy along ``dims`` (torch copies; it has no negative strides); ``dims=`` as torch names it."""
    if kw:
        if set(kw) != {"dims"} or dims:
            raise TypeError(f"flip() got an unexpected keyword argument '{next(k for k in kw if k != 'dims')}'"
                            if set(kw) != {"dims"} else "flip() got multiple values for argument 'dims'")
        if not isinstance(kw["dims"], (tuple, list)):
            raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not {type(kw['dims']).__name__}")
        dims = (kw["dims"],)
    dims = _dims(_shape_arg(dims), x.ndim)
    X = x._data
    xp = backend.array_module(X)
    if not X.ndim or not dims:
        return record(X.copy(), (x,), _identity_rule, "Flip", saved=())
    return record(xp.flip(X, dims).copy(), (x,), lambda o, g: (o.flip(g, dims),), "Flip", saved=())


def _identity_rule(o, g):
    return (g,)


@register("fliplr")
def fliplr(x):
    if x.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, 1)


@register("flipud")
def flipud(x):
    if x.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, 0)


@register("roll")
def roll(x, shifts, dims=None):
    X = x._data
    xp = backend.array_module(X)
    sh = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        xs = X.shape
        out = xp.roll(X.reshape(-1), sh[0]).reshape(xs)
        return record(out, (x,), lambda o, g: (o.reshape(o.roll(o.reshape(g, -1), -sh[0], 0), xs),), "Roll", saved=())
    ds = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    ds = tuple(_dim(d, X.ndim) for d in ds)
    if not X.ndim:
        return record(X.copy(), (x,), _identity_rule, "Roll", saved=())
    neg = tuple(-s for s in sh)
    return record(xp.roll(X, sh, ds), (x,), lambda o, g: (o.roll(g, neg, ds),), "Roll", saved=())


def _tri(x, diagonal, lower):
    if x.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    X = x._data
    xp = backend.array_module(X)
    f = xp.tril if lower else xp.triu
    name = "tril" if lower else "triu"
    return record(f(X, diagonal), (x,), lambda o, g: (getattr(o, name)(g, diagonal),), name.capitalize(), saved=())


@register("tril")
def tril(x, diagonal=0):
    return _tri(x, diagonal, True)


@register("triu")
def triu(x, diagonal=0):
    return _tri(x, diagonal, False)


@register("tile")
def tile(x, *dims):
    reps = _shape_arg(dims)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    return repeat(x, reps)


@register("repeat_interleave")
def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Repeat each entry ``repeats`` times (a number or a 1-d integer tensor) along ``dim`` (flattened if None)."""
    if not isinstance(x, Tensor):
        raise TypeError("repeat_interleave expects a Tensor")
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated
        r = x._data
        xp = backend.array_module(r)
        return Tensor._wrap(xp.repeat(xp.arange(r.size), r))
    if dim is None:
        x = reshape(x, -1)
        dim = 0
    dim = _dim(dim, x.ndim)
    X = x._data
    xp = backend.array_module(X)
    if X.ndim == 0:
        x = reshape(x, 1)
        X = x._data
    n = X.shape[dim]
    if isinstance(repeats, Tensor):
        r = repeats._data
        if r.ndim > 1 or r.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.ndim == 1 and r.size not in (1, n):
            raise RuntimeError("repeats must have the same size as input along dim")
        if (r < 0).any():
            raise RuntimeError("repeats can not be negative")
        r = r.reshape(-1)
    else:
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
        r = int(repeats)
    out = xp.repeat(X, r, axis=dim)
    owner = xp.repeat(xp.arange(n), r if not hasattr(r, "size") or r.size == n else int(r[0]))
    xs, key = X.shape, (slice(None),) * dim + (owner,)
    # each entry's copies add up into it: the gradient of indexing with ``owner`` along ``dim``
    return record(out, (x,), lambda o, g: (o.index_backward(g, xs, key),), "RepeatInterleave", saved=())
