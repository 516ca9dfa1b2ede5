"""Ordering and selection: sort/argsort/topk, median, aminmax, cumprod; fmod and nan_to_num."""
from __future__ import annotations

import collections

import numpy as np

from .. import backend
from ..tensor import Tensor
from .basic import OUT, record, record_once_differentiable, register
from .elementwise import _as, _operands, _out
from .basic import reduce_to_operand as _red
from .shape import _dim

SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])
MedianResult = collections.namedtuple("median", ["values", "indices"])
AminmaxResult = collections.namedtuple("aminmax", ["min", "max"])


def _scatter_along(shape, idx, g, dim, xp):
    """Zeros of ``shape`` with ``g`` added at ``idx`` along ``dim`` (the gradient of take_along_axis)."""
    full = xp.zeros(shape, dtype=g.dtype)
    nd = len(shape)
    grid = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(idx.shape)]
    grid[dim] = idx
    xp.add.at(full, tuple(grid), g)
    return full


def _argsort(X, dim, descending, xp):
    key = X.astype(np.int64) if X.dtype.kind in "bu" else X
    if descending:
        key = -key if key.dtype.kind != "f" else xp.where(xp.isnan(key), -xp.inf, -key)
    if xp is np:
        return np.argsort(key, axis=dim, kind="stable")
    return xp.argsort(key, axis=dim)  # pragma: no cover - GPU only (CuPy's sort is a stable radix sort)


def _select(x, idx, dim, name):
    """``take_along_axis(x, idx, dim)`` recorded, with its gradient scattered back."""
    X = x._data
    xp = backend.array_module(X)
    vals = xp.take_along_axis(X, idx, dim)
    return record_once_differentiable(vals, (x,), lambda g: (_scatter_along(X.shape, idx, g, dim, xp),), name, saved=())


@register("sort")
def sort(x, dim=-1, descending=False, stable=False):
    X = x._data
    xp = backend.array_module(X)
    if X.ndim == 0:
        return SortResult(record_once_differentiable(X.copy(), (x,), lambda g: (g,), "Sort", saved=()),
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
        return TopkResult(record_once_differentiable(X.copy(), (x,), lambda g: (g,), "Topk", saved=()),
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
        if X.dtype.kind == "f" and bool(xp.isnan(flat).any()):
            m = xp.asarray(xp.nan, dtype=X.dtype)
        mask = X == m
        cnt = max(int(mask.sum()), 1)
        return record_once_differentiable(xp.asarray(m), (x,), lambda g: (mask * (g / cnt),), "Median", saved=(x, OUT))
    d = _dim(dim, X.ndim)
    if X.ndim == 0:
        return MedianResult(record_once_differentiable(X.copy(), (x,), lambda g: (g,), "Median", saved=()),
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
        return record_once_differentiable(X.copy(), (x,), lambda g: (g,), "Cumprod", saved=())
    d = _dim(dim, X.ndim)
    out = xp.cumprod(X, axis=d)

    def bw(g):
        # d out_i / d x_k = prod_{j<k} x_j * prod_{k<j<=i} x_j for i >= k; with L_k = prod_{j<k} x_j and
        # r_k = g_k + x_{k+1} r_{k+1}: grad_k = L_k r_k
        Xm, gm = xp.moveaxis(X, d, 0), xp.moveaxis(g, d, 0)
        n = Xm.shape[0]
        left = xp.concatenate([xp.ones_like(Xm[:1]), xp.cumprod(Xm[:-1], axis=0)], axis=0)
        r = xp.empty_like(gm)
        r[n - 1] = gm[n - 1]
        for k in range(n - 2, -1, -1):
            r[k] = gm[k] + Xm[k + 1] * r[k + 1]
        return (xp.moveaxis(left * r, 0, d).astype(x.dtype, copy=False),)

    return record_once_differentiable(out, (x,), bw, "Cumprod", saved=(x, OUT))


# ---- elementwise ------------------------------------------------------------------------------------------------
def _floor_div_backward(g):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


@register("floor_divide")
def floor_divide(a, b, *, out=None):
    """``a // b`` (torch.floor_divide): no derivative, as torch."""
    A, B, dt, xp = _operands(a, b)
    return _out(record_once_differentiable(_as(xp.floor_divide(A, B), dt, xp), (a, b), _floor_div_backward, "FloorDivide", saved=()),
                out)


Tensor.__floordiv__ = lambda self, o: floor_divide(self, o)
Tensor.__rfloordiv__ = lambda self, o: floor_divide(o, self)


@register("fmod")
def fmod(a, b):
    """C's remainder (sign of the dividend); gradient ``-trunc(a / b)`` for ``b``."""
    A, B, dt, xp = _operands(a, b)
    res = _as(xp.fmod(A, B), dt, xp)
    return record_once_differentiable(res, (a, b), lambda g: (_red(g, a), _red(-g * xp.trunc(A / B), b) if isinstance(b, Tensor)
                                          else None), "Fmod", saved=(a, b) if isinstance(b, Tensor) else ())


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
    if X.dtype.kind != "f":
        return record_once_differentiable(X.copy(), (x,), lambda g: (g,), "NanToNum", saved=())
    fin = np.finfo(X.dtype)
    out = xp.nan_to_num(X, nan=nan, posinf=fin.max if posinf is None else posinf,
                        neginf=fin.min if neginf is None else neginf)
    keep = xp.isfinite(X)
    return record_once_differentiable(out.astype(X.dtype, copy=False), (x,), lambda g: (g * keep,), "NanToNum", saved=())


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
