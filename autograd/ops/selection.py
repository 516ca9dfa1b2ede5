"""Ordering and selection: sort/argsort/topk, median, aminmax, cumprod; fmod and nan_to_num."""
from __future__ import annotations

import collections

import numpy as np

from .. import backend
from ..tensor import Tensor
from .basic import OUT, record, register
from .elementwise import _as, _operands, _out
from .shape import _dim
from .. import dtypes as _dtypes

SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])
MedianResult = collections.namedtuple("median", ["values", "indices"])
AminmaxResult = collections.namedtuple("aminmax", ["min", "max"])


def _identity_rule(o, g):
    return (g,)


def scatter_along_array(g, shape, idx, dim, accumulate=True):
    """Zeros of ``shape`` with ``g`` put at ``idx`` along ``dim`` (the gradient of take_along_axis); added up
    where ``accumulate``, else written (the positions are distinct)."""
    xp = backend.array_module(g)
    full = xp.zeros(shape, dtype=g.dtype)
    if not accumulate:
        xp.put_along_axis(full, idx, g, dim)
        return full
    nd = len(shape)
    grid = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(idx.shape)]
    grid[dim] = idx
    xp.add.at(full, tuple(grid), g)
    return full


def scatter_along(g, shape, idx, dim, accumulate=True):
    """:func:`scatter_along_array` recorded; being linear in ``g``, its own gradient is ``take_along``."""
    out = scatter_along_array(g._data, shape, idx, dim, accumulate)
    return record(out, (g,), lambda o, gg: (o.take_along(gg, idx, dim),), "ScatterAlong", saved=())


def take_along(x, idx, dim):
    """``take_along_axis(x, idx, dim)`` recorded (``idx`` is not differentiated)."""
    X = x._data
    shape = X.shape
    out = backend.array_module(X).take_along_axis(X, idx, dim)
    return record(out, (x,), lambda o, g: (o.scatter_along(g, shape, idx, dim),), "TakeAlong", saved=())


def _argsort(X, dim, descending, xp):
    key = X.astype(np.int64) if X.dtype.kind in "bu" else X
    if descending:
        key = -key if (key.dtype.kind != "f" and key.dtype != _dtypes.bfloat16) else xp.where(xp.isnan(key), -xp.inf, -key)
    if xp is np:
        return np.argsort(key, axis=dim, kind="stable")
    return xp.argsort(key, axis=dim)  # pragma: no cover - GPU only (CuPy's sort is a stable radix sort)


def put(g, shape, key):
    """Zeros of ``shape`` with ``g`` written at ``key`` (distinct positions); linear in ``g``, so its own
    gradient is ``gg[key]``."""
    out = put_array(g._data, shape, key)
    return record(out, (g,), lambda o, gg: (o.getitem(gg, key),), "Put", saved=())


def put_array(g, shape, key):
    full = backend.array_module(g).zeros(shape, dtype=g.dtype)
    full[key] = g
    return full


def zero_at(g, key):
    """``g`` with zeros written at ``key``; a projection, so its own gradient is ``zero_at`` again."""
    return record(zero_at_array(g._data, key), (g,), lambda o, gg: (o.zero_at(gg, key),), "ZeroAt", saved=())


def zero_at_array(g, key):
    out = g.copy()
    out[key] = 0
    return out


def _select(x, idx, dim, name):
    """``take_along_axis(x, idx, dim)`` recorded, with its gradient scattered back."""
    X = x._data
    xp = backend.array_module(X)
    vals = xp.take_along_axis(X, idx, dim)
    shape = X.shape
    return record(vals, (x,), lambda o, g: (o.scatter_along(g, shape, idx, dim),), name, saved=())


@register("sort")
def sort(x, dim=-1, descending=False, stable=False):
    X = x._data
    xp = backend.array_module(X)
    if X.ndim == 0:
        return SortResult(record(X.copy(), (x,), _identity_rule, "Sort", saved=()),
                          Tensor._wrap(xp.zeros((), dtype=np.int64)))
    d = _dim(dim, X.ndim)
    idx = _argsort(X, d, descending, xp)
    return SortResult(_select(x, idx, d, "Sort"), Tensor._wrap(idx.astype(np.int64)))


@register("argsort")
def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


@register("msort")
def msort(x):
    return sort(x, 0).values


@register("topk")
def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's name
    X = x._data
    xp = backend.array_module(X)
    d = _dim(dim, X.ndim)
    n = X.shape[d] if X.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if X.ndim == 0:
        return TopkResult(record(X.copy(), (x,), _identity_rule, "Topk", saved=()),
                          Tensor._wrap(xp.zeros((), dtype=np.int64)))
    idx = xp.take(_argsort(X, d, largest, xp), xp.arange(k), axis=d)
    return TopkResult(_select(x, idx, d, "Topk"), Tensor._wrap(idx.astype(np.int64)))


@register("median")
def median(x, dim=None, keepdim=False):
    """The lower median; without ``dim`` the gradient is shared by the entries equal to it (as torch)."""
    X = x._data
    xp = backend.array_module(X)
    if dim is None:
        if X.size == 0:
            return Tensor._wrap(xp.asarray(xp.nan, dtype=X.dtype))
        flat = X.reshape(-1)
        order = _argsort(flat, 0, False, xp)
        m = flat[order[(flat.size - 1) // 2]]
        if (X.dtype.kind == "f" or X.dtype == _dtypes.bfloat16) and bool(xp.isnan(flat).any()):
            m = xp.asarray(xp.nan, dtype=X.dtype)
        mask = X == m
        cnt = max(int(mask.sum()), 1)
        # shared by the entries equal to the median (a mask, not differentiated)
        return record(xp.asarray(m), (x,), lambda o, g, _x, _y: (mask * (g / cnt),), "Median", saved=(x, OUT))
    d = _dim(dim, X.ndim)
    if X.ndim == 0:
        return MedianResult(record(X.copy(), (x,), _identity_rule, "Median", saved=()),
                            Tensor._wrap(xp.zeros((), dtype=np.int64)))
    n = X.shape[d]
    order = _argsort(X, d, False, xp)
    idx = xp.take(order, xp.asarray([(n - 1) // 2]), axis=d)
    vals = _select(x, idx, d, "Median")
    if not keepdim:
        vals = vals.squeeze(d)
        idx = idx.squeeze(d)
    return MedianResult(vals, Tensor._wrap(idx.astype(np.int64)))


@register("aminmax")
def aminmax(x, *, dim=None, keepdim=False):
    from .reduction import amax, amin

    if x.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    return AminmaxResult(amin(x, dim, keepdim), amax(x, dim, keepdim))


@register("cumprod")
def cumprod(x, dim, *, dtype=None):
    """Cumulative product; the gradient is exact with zeros in the input (no division)."""
    X = x._data
    xp = backend.array_module(X)
    if dtype is not None:
        X = X.astype(dtype)
    elif X.dtype.kind in "bu" or X.dtype.kind == "i":
        X = X.astype(np.int64)
    if X.ndim == 0:
        return record(X.copy(), (x,), _identity_rule, "Cumprod", saved=())
    d = _dim(dim, X.ndim)
    out = xp.cumprod(X, axis=d)
    return record(out, (x,), lambda o, g, x_, _y: (o.cumprod_backward(g, x_, d),), "Cumprod", saved=(x, OUT))


def cumprod_backward_array(g, x, d):
    """The gradient of ``cumprod(x, d)`` for ``g``, exact with zeros in ``x`` (no division).

    d out_i / d x_k = prod_{j<k} x_j * prod_{k<j<=i} x_j for i >= k; with L_k = prod_{j<k} x_j and
    r_k = g_k + x_{k+1} r_{k+1}: grad_k = L_k r_k."""
    xp = backend.array_module(g)
    X = x if x.dtype == g.dtype else x.astype(g.dtype)
    Xm, gm = xp.moveaxis(X, d, 0), xp.moveaxis(g, d, 0)
    n = Xm.shape[0]
    left = xp.concatenate([xp.ones_like(Xm[:1]), xp.cumprod(Xm[:-1], axis=0)], axis=0)
    r = xp.empty_like(gm)
    r[n - 1] = gm[n - 1]
    for k in range(n - 2, -1, -1):
        r[k] = gm[k] + Xm[k + 1] * r[k + 1]
    return xp.moveaxis(left * r, 0, d)


def cumprod_backward(g, x, d):
    """:func:`cumprod_backward_array` in recorded Tensor ops (the same recursion), so it is differentiable."""
    from .shape import cat, stack

    if x.dtype != g.dtype:
        x = x.to(g.dtype)
    xs, gs = x.unbind(d), g.unbind(d)
    n = len(xs)
    r = [None] * n
    r[n - 1] = gs[n - 1]
    for k in range(n - 2, -1, -1):
        r[k] = gs[k] + xs[k + 1] * r[k + 1]
    lead = (slice(None),) * d
    ones = _ones_like(x[lead + (slice(0, 1),)])
    left = cat([ones, cumprod(x[lead + (slice(0, n - 1),)], d)], d) if n > 1 else ones
    return left * stack(r, d)


def _ones_like(t):
    return Tensor._wrap(backend.array_module(t._data).ones(t._data.shape, dtype=t._data.dtype))


def prod_others_array(x, axes):
    """For each entry, the product of the other entries of its ``axes`` slice (no division: zeros allowed)."""
    xp = backend.array_module(x)
    X = x
    flat = xp.moveaxis(X, axes, tuple(range(-len(axes), 0))).reshape(*[X.shape[i] for i in range(X.ndim)
                                                                        if i not in axes], -1)
    left = xp.cumprod(xp.concatenate([xp.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([xp.ones_like(flat[..., :1]), xp.flip(flat, -1)[..., :-1]],
                                              -1), -1), -1)
    others = (left * right).reshape(*[X.shape[i] for i in range(X.ndim) if i not in axes],
                                    *[X.shape[i] for i in axes])
    return xp.moveaxis(others, tuple(range(-len(axes), 0)), axes)


def prod_others(x, axes):
    """:func:`prod_others_array` in recorded Tensor ops (exclusive cumulative products both ways)."""
    from .shape import cat, reshape
    from .shape_more import flip, movedim

    kept = [x.shape[i] for i in range(x.ndim) if i not in axes]
    flat = reshape(movedim(x, axes, tuple(range(-len(axes), 0))), *kept, -1)
    ones = _ones_like(flat[..., :1])
    left = cumprod(cat([ones, flat[..., :-1]], -1), -1)
    right = flip(cumprod(cat([ones, flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = reshape(left * right, *kept, *[x.shape[i] for i in axes])
    return movedim(others, tuple(range(-len(axes), 0)), axes)


# ---- elementwise ------------------------------------------------------------------------------------------------
def _floor_div_rule(o, g):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


@register("floor_divide")
def floor_divide(a, b, *, out=None):
    """``a // b`` (torch.floor_divide): no derivative, as torch."""
    A, B, dt, xp = _operands(a, b)
    return _out(record(_as(xp.floor_divide(A, B), dt, xp), (a, b), _floor_div_rule, "FloorDivide", saved=()), out)


Tensor.__floordiv__ = lambda self, o: floor_divide(self, o)
Tensor.__rfloordiv__ = lambda self, o: floor_divide(o, self)


@register("fmod")
def fmod(a, b):
    """C's remainder (sign of the dividend); gradient ``-trunc(a / b)`` for ``b``."""
    A, B, dt, xp = _operands(a, b)
    res = _as(xp.fmod(A, B), dt, xp)
    b_grad = isinstance(b, Tensor)

    def rule(o, g, *_saved):   # trunc(a / b) is piecewise constant: a constant in the second derivative too
        return g, -g * xp.trunc(A / B) if b_grad else None

    return record(res, (a, b), rule, "Fmod", saved=(a, b) if b_grad else ())


@register("fmod_")
def fmod_(a, b):
    from ..graph.views import protect
    from .basic import inplace

    src, (b,) = protect(a, (b,))
    return inplace(a, fmod(src, b))


@register("nan_to_num")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    X = x._data
    xp = backend.array_module(X)
    if (X.dtype.kind != "f" and X.dtype != _dtypes.bfloat16):
        return record(X.copy(), (x,), _identity_rule, "NanToNum", saved=())
    fin = np.finfo(X.dtype)
    out = xp.nan_to_num(X, nan=nan, posinf=fin.max if posinf is None else posinf,
                        neginf=fin.min if neginf is None else neginf)
    keep = xp.isfinite(X)
    return record(out.astype(X.dtype, copy=False), (x,), lambda o, g: (g * keep,), "NanToNum", saved=())


@register("floor_divide_", "__ifloordiv__")
def floor_divide_(a, b):
    from ..graph.views import protect
    from .basic import inplace

    src, (b,) = protect(a, (b,))
    return inplace(a, floor_divide(src, b))


@register("nan_to_num_")
def nan_to_num_(x, nan=0.0, posinf=None, neginf=None):
    from .basic import inplace

    return inplace(x, nan_to_num(x, nan, posinf, neginf))
