"""The small vocabulary each algorithm's update is written in, for raw arrays and for Tensors.

An update function takes ``o`` (one of these namespaces) and calls ``o.mul_(x, s)``, ``o.addcdiv_(...)``
and friends. ``ArrayOps`` runs them in place on NumPy/CuPy arrays (for-loop, foreach and chunked flat
buffers); ``TensorOps`` runs them as recorded Tensor ops (``differentiable=True``). The same function
therefore serves every path, and the operation order is torch's single-tensor order.
Scalars given to ``ArrayOps`` must be Python floats (NumPy float64 scalars would promote float32 math).
"""
from __future__ import annotations

import numpy as np
from autograd.ops.elementwise import torch_sign


class ArrayOps:
    """In-place array arithmetic with ``out=`` so no result is reallocated."""

    def __init__(self, xp):
        self.xp = xp

    # in place on the first argument ------------------------------------------------------------------
    def mul_(self, x, s):
        return self.xp.multiply(x, s, out=x)

    def div_(self, x, s):
        return self.xp.divide(x, s, out=x)

    def add_(self, x, y, alpha=1):
        if alpha != 1:
            y = self.xp.multiply(y, alpha)
        return self.xp.add(x, y, out=x)

    def sub_(self, x, y):
        return self.xp.subtract(x, y, out=x)

    def addcmul_(self, x, a, b, value=1):
        t = self.xp.multiply(a, value) if value != 1 else a.copy()
        t *= b
        return self.xp.add(x, t, out=x)

    def addcdiv_(self, x, a, b, value=1):
        t = self.xp.multiply(a, value) if value != 1 else a.copy()
        t /= b
        return self.xp.add(x, t, out=x)

    def lerp_(self, x, y, w):
        # torch's lerp: start + w*(end-start) for |w| < 0.5, else end - (end-start)*(1-w)
        d = self.xp.subtract(y, x)
        if abs(w) < 0.5:
            d *= w
            return self.xp.add(x, d, out=x)
        d *= 1 - w
        return self.xp.subtract(y, d, out=x)

    def copy_(self, x, y):
        x[...] = y
        return x

    def maximum_(self, x, y):
        return self.xp.maximum(x, y, out=x)

    def clamp_(self, x, lo=None, hi=None):
        if lo is not None:
            self.xp.maximum(x, lo, out=x)
        if hi is not None:
            self.xp.minimum(x, hi, out=x)
        return x

    def sqrt_(self, x):
        return self.xp.sqrt(x, out=x)

    def add_scalar_(self, x, s):
        return self.xp.add(x, s, out=x)

    # new arrays ----------------------------------------------------------------------------------------
    def neg(self, x):
        return self.xp.negative(x)

    def add(self, x, y, alpha=1):
        return self.xp.add(x, self.xp.multiply(y, alpha) if alpha != 1 else y)

    def sub(self, x, y):
        return self.xp.subtract(x, y)

    def mul(self, x, y):
        return self.xp.multiply(x, y)

    def div(self, x, y):
        return self.xp.divide(x, y)

    def sqrt(self, x):
        return self.xp.sqrt(x)

    def abs(self, x):
        return self.xp.abs(x)

    def sign(self, x):
        # torch's sign (NaN and -0 give +0); a tracing xp records its own `sign` primitive, which the kernel
        # generator emits with the same rule
        traced = getattr(self.xp, "traced_sign", None)
        return traced(x) if traced is not None else torch_sign(self.xp, x)

    def maximum(self, x, y):
        return self.xp.maximum(x, y)

    def clone(self, x):
        return x.copy()

    def where(self, c, a, b):
        r = self.xp.where(c, a, b)
        return r.astype(a.dtype, copy=False) if hasattr(a, "dtype") else r

    def gt(self, x, s):
        return x > s

    def lt(self, x, s):
        return x < s

    # added for minitorch_optim.contrib (issue 12): powers, equality, casts, per-tensor reductions.
    # Reductions return 0-d arrays and are only used on the per-tensor paths (never on flat chunks).
    def pow(self, x, e):
        return self.xp.power(x, e)

    def eq(self, x, s):
        return x == s

    def cast(self, c, like):
        """``c`` (e.g. a comparison's booleans) in ``like``'s dtype."""
        return c.astype(like.dtype)

    def numel(self, x):
        return x.size

    def sum(self, x):
        return self.xp.asarray(x.sum())

    def mean(self, x, dims=None):
        """The mean of all of ``x``, or over ``dims`` keeping them (for broadcasting back)."""
        return self.xp.asarray(x.mean(axis=dims, keepdims=dims is not None))

    def norm(self, x):
        return self.xp.sqrt(self.xp.asarray((x * x).sum()))


class TensorOps:
    """The same vocabulary as recorded Tensor ops (gradients flow through the update)."""

    xp = None

    def mul_(self, x, s):
        return x.mul_(s)

    def div_(self, x, s):
        return x.div_(s)

    def add_(self, x, y, alpha=1):
        return x.add_(y, alpha=alpha)

    def sub_(self, x, y):
        return x.sub_(y)

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

    def maximum_(self, x, y):
        return x.maximum_(y)

    def clamp_(self, x, lo=None, hi=None):
        return x.clamp_(lo, hi)

    def sqrt_(self, x):
        return x.sqrt_()

    def add_scalar_(self, x, s):
        return x.add_(s)

    def neg(self, x):
        return -x

    def add(self, x, y, alpha=1):
        return x.add(y, alpha=alpha)

    def sub(self, x, y):
        return x - y

    def mul(self, x, y):
        return x * y

    def div(self, x, y):
        return x / y

    def sqrt(self, x):
        return x.sqrt()

    def abs(self, x):
        return x.abs()

    def sign(self, x):
        return x.sign()

    def maximum(self, x, y):
        return x.maximum(y)

    def clone(self, x):
        return x.clone()

    def where(self, c, a, b):
        from autograd import where

        return where(c, a, b)

    def gt(self, x, s):
        return x > s

    def lt(self, x, s):
        return x < s

    def pow(self, x, e):
        return x ** e

    def eq(self, x, s):
        return x == s

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
