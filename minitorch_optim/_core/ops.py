"""The small vocabulary each algorithm's update is written in, for raw arrays and for Tensors.

An update function takes ``o`` (one of these namespaces) and calls ``o.mul_(x, s)``, ``o.addcdiv_(...)``
and friends; the ops are declared once in ``vocabulary`` (``VOCABULARY`` and the ``PRIMITIVES`` they are
made of). ``ArrayOps`` runs them in place on NumPy/CuPy arrays (for-loop, foreach and chunked flat
buffers) or, bound to the tracer's recorder, records them (``_core.trace``); ``TensorOps`` runs them as
recorded Tensor ops (``differentiable=True``). The same function therefore serves every path, and the
operation order is torch's single-tensor order. The single-primitive ops are generated from the table;
the composed ones are written below, from primitives only.
Scalars given to ``ArrayOps`` must be Python floats (NumPy float64 scalars would promote float32 math).
"""
from __future__ import annotations

import functools

import numpy as np

from . import libm
from .vocabulary import PRIMITIVES, VOCABULARY


def _bind(xp):
    """``{primitive: f(*args, out=None)}`` over the array module ``xp`` (or a recorder with ``emit``)."""
    emit = getattr(xp, "emit", None)
    if emit is not None:
        return {name: functools.partial(emit, name) for name in PRIMITIVES}
    out = {}
    for name, prim in PRIMITIVES.items():
        if name == "pow":
            out[name] = functools.partial(libm.power, xp)
        elif isinstance(prim.xp, str):
            out[name] = getattr(xp, prim.xp)
        elif prim.xp is not None:
            out[name] = functools.partial(prim.xp, xp)
    return out


class ArrayOps:
    """In-place array arithmetic with ``out=`` so no result is reallocated."""

    def __init__(self, xp):
        self.xp = xp
        self.f = _bind(xp)

    def add_(self, x, y, alpha=1):
        if alpha != 1:
            y = self.f["mul"](y, alpha)
        return self.f["add"](x, y, out=x)

    def add(self, x, y, alpha=1):
        return self.f["add"](x, self.f["mul"](y, alpha) if alpha != 1 else y)

    def addcmul_(self, x, a, b, value=1):
        t = self.f["mul"](self.f["mul"](a, value), b) if value != 1 else self.f["mul"](a, b)
        return self.f["add"](x, t, out=x)

    def addcdiv_(self, x, a, b, value=1):
        t = self.f["div"](self.f["mul"](a, value), b) if value != 1 else self.f["div"](a, b)
        return self.f["add"](x, t, out=x)

    def lerp_(self, x, y, w):
        # torch's lerp: start + w*(end-start) for |w| < 0.5, else end - (end-start)*(1-w)
        d = self.f["sub"](y, x)
        if abs(w) < 0.5:
            return self.f["add"](x, self.f["mul"](d, w, out=d), out=x)
        return self.f["sub"](y, self.f["mul"](d, 1 - w, out=d), out=x)

    def copy_(self, x, y):
        x[...] = y
        return x

    def clamp_(self, x, lo=None, hi=None):
        if lo is not None:
            self.f["max"](x, lo, out=x)
        if hi is not None:
            self.f["min"](x, hi, out=x)
        return x

    def clone(self, x):
        return x.copy()

    def where(self, c, a, b):
        r = self.f["where"](c, a, b)
        return r.astype(a.dtype, copy=False) if hasattr(a, "dtype") else r

    def cast(self, c, like):
        """``c`` (e.g. a comparison's booleans) in ``like``'s dtype."""
        return c.astype(like.dtype)

    # per-tensor reductions: 0-d arrays, only on the per-tensor paths (never on flat chunks)
    def numel(self, x):
        return x.size

    def sum(self, x):
        return self.xp.asarray(x.sum())

    def mean(self, x, dims=None):
        """The mean of all of ``x``, or over ``dims`` keeping them (for broadcasting back)."""
        return self.xp.asarray(x.mean(axis=dims, keepdims=dims is not None))

    def norm(self, x):
        return self.xp.sqrt(self.xp.asarray(self.f["mul"](x, x).sum()))


class TensorOps:
    """The same vocabulary as recorded Tensor ops (gradients flow through the update)."""

    xp = None

    def add_(self, x, y, alpha=1):
        return x.add_(y, alpha=alpha)

    def add(self, x, y, alpha=1):
        return x.add(y, alpha=alpha)

    # (value * a) first, then b, in ArrayOps' (and torch's kernel) order, so the differentiable path rounds
    # as the for-loop path does
    def addcmul_(self, x, a, b, value=1):
        return x.add_((a if _is_one(value) else a * value) * b)

    def addcdiv_(self, x, a, b, value=1):
        return x.add_((a if _is_one(value) else a * value) / b)

    def lerp_(self, x, y, w):
        return x.lerp_(y, w)

    def copy_(self, x, y):
        return x.copy_(y)

    def clamp_(self, x, lo=None, hi=None):
        return x.clamp_(lo, hi)

    def clone(self, x):
        return x.clone()

    def where(self, c, a, b):
        from autograd import where

        return where(c, a, b)

    def pow(self, x, e):
        return _pow(x, e)

    def cast(self, c, like):
        return c.to(like.dtype)

    def numel(self, x):
        return x.numel()

    def sum(self, x):
        return x.sum()

    def mean(self, x, dims=None):
        return x.mean() if dims is None else x.mean(dim=dims, keepdim=True)

    def norm(self, x):
        return x.norm()


def _array_op(prim, in_place):
    if in_place:
        def op(self, x, *args):
            return self.f[prim](x, *args, out=x)
    else:
        def op(self, *args):
            return self.f[prim](*args)
    return op


for _name, _row in VOCABULARY.items():
    if _row is not None:
        _prim, _in_place, _tensor = _row
        setattr(ArrayOps, _name, _array_op(_prim, _in_place))
        if _name not in TensorOps.__dict__:
            setattr(TensorOps, _name, staticmethod(_tensor))
    assert hasattr(ArrayOps, _name) and hasattr(TensorOps, _name), _name


def _pow(x, e):
    """``x ** e`` for a Tensor ``x`` and a number ``e``, with the forward values of ``ArrayOps.pow``
    (libm's pow, see ``libm``) and the usual derivative ``e x^(e-1)``."""
    from autograd import Tensor  # noqa: PLC0415

    if not isinstance(x, Tensor) or isinstance(e, Tensor):
        return x ** e
    return _pow_function().apply(x, e)


@functools.lru_cache(maxsize=None)
def _pow_function():
    from autograd import Tensor  # noqa: PLC0415
    from autograd.backend import array_module  # noqa: PLC0415
    from autograd.function import Function  # noqa: PLC0415

    class Pow(Function):
        @staticmethod
        def forward(ctx, t, e):
            ctx.save_for_backward(t)
            ctx.e = e
            return Tensor._wrap(libm.power(array_module(t._data), t._data, e))

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            e = ctx.e
            return (g * e * t ** (e - 1) if e != 0 else g * 0), None

    return Pow


def _is_one(v):
    return not hasattr(v, "shape") and v == 1


NUMPY_OPS = ArrayOps(np)
TENSOR_OPS = TensorOps()
_cupy_ops = None


def ops_for(arr):
    """``ArrayOps`` for the module that owns ``arr``."""
    global _cupy_ops
    if isinstance(arr, np.ndarray):
        return NUMPY_OPS
    from autograd.backend import array_module, use_device_of

    use_device_of(arr)        # CuPy runs on the current device: make it the one that holds arr (cuda:N)
    if _cupy_ops is None:
        _cupy_ops = ArrayOps(array_module(arr))
    return _cupy_ops
