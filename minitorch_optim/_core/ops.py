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
        from autograd import Tensor, float64, tensor, where

        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            # two numbers stay exact (float64, as NumPy's where gives them) until the caller casts them
            a = tensor(a, dtype=float64)
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


class LowPrecisionOps:
    """The vocabulary on float16/bfloat16 arrays as torch's kernels compute it ("opmath"): each op reads
    its low-precision operands into float32, runs ``ArrayOps``' float32 code with the scalars in float32,
    and rounds its result once, on store (into the first argument for in-place ops). Only the scalars of
    ``add_``/``add``'s ``alpha`` and ``add_scalar_`` enter in the parameter's dtype, as torch's add kernel
    takes them."""

    def __init__(self, ops, foreach=False):
        self.f32 = ops
        self.xp = ops.xp
        self.f = ops.f
        self.scalars_in_dtype = _FOREACH_SCALARS if foreach else _LOW_SCALARS
        self.foreach_rounding = foreach      # an update may follow torch's foreach operation order


_LOW_SCALARS = {"add_": "alpha", "add": "alpha", "add_scalar_": 1}
# torch's CPU ``_foreach_mul_(tensors, scalar)`` takes the scalar in the tensors' dtype, where
# ``Tensor.mul_`` and ``_foreach_mul`` keep it in float32
_FOREACH_SCALARS = {**_LOW_SCALARS, "mul_": 1}


def _low_op(name, in_place):
    def op(self, *args, **kw):
        f32 = np.float32
        low = None
        conv = []
        for a in args:
            if hasattr(a, "dtype") and a.dtype in _LOW:
                low = a.dtype
                a = a.astype(f32)
            conv.append(a)
        if low is not None and name in self.scalars_in_dtype:
            which = self.scalars_in_dtype[name]
            if which in kw:
                kw[which] = float(np.asarray(kw[which], low))
            elif isinstance(which, int) and len(conv) > which and not hasattr(conv[which], "dtype"):
                conv[which] = float(np.asarray(conv[which], low))
            elif which == "alpha" and len(conv) > 2:
                conv[2] = float(np.asarray(conv[2], low))
        if low is None:
            return getattr(self.f32, name)(*conv, **kw)
        with np.errstate(all="ignore"):      # overflow to inf is float16's everyday business, as in torch
            if name in _FMA and self.xp is np:
                r = _FMA[name](conv, kw, low)
            else:
                r = getattr(self.f32, name)(*conv, **kw)
        if low is None:
            return r
        if in_place:
            args[0][...] = r
            return args[0]
        if hasattr(r, "dtype") and r.dtype == f32 and name != "numel":     # a cast gives the low dtype too
            return r.astype(low)
        return r

    op.__name__ = name
    return op


def _add(conv, kw, low):
    """torch's add kernel on float32 values (see ``autograd.ops.opmath.add_alpha_low``)."""
    from autograd.ops.opmath import add_alpha_low  # noqa: PLC0415

    x, y = conv[0], conv[1]
    alpha = kw.get("alpha", conv[2] if len(conv) > 2 else 1)
    return x + y if alpha == 1 else add_alpha_low(x, y, alpha, low)


def _addcmul(conv, kw, low):
    """torch's addcmul kernel on float32 values: ``x + (value * a) * b``, the last step a fused multiply-add."""
    from autograd.ops.opmath import fma32  # noqa: PLC0415

    x, a, b = conv[:3]
    value = kw.get("value", conv[3] if len(conv) > 3 else 1)
    return fma32(x, a if value == 1 else a * np.float32(value), b)


def _lerp(conv, kw, low):
    """torch's lerp kernel on float32 values (one fused multiply-add, see ``lerp_fma32``)."""
    from autograd.ops.opmath import lerp_fma32  # noqa: PLC0415

    x, y, w = conv[:3]
    return lerp_fma32(x, y, w, y - x)


# the ops whose torch kernels fuse a multiply-add, in float32 (NumPy paths only: CuPy keeps ArrayOps')
_FMA = {"add_": _add, "add": _add, "addcmul_": _addcmul, "lerp_": _lerp}


for _name in VOCABULARY:
    setattr(LowPrecisionOps, _name, _low_op(_name, _name.endswith("_")))

NUMPY_OPS = ArrayOps(np)
TENSOR_OPS = TensorOps()
_cupy_ops = None
_low_ops = {}


def _lowp():
    from autograd.dtypes import LOW_PRECISION  # noqa: PLC0415

    return LOW_PRECISION


_LOW = _lowp()


def ops_for(arr, foreach=False):
    """``ArrayOps`` for the module that owns ``arr`` (``LowPrecisionOps`` over it for float16/bfloat16,
    with torch's foreach scalar rules when ``foreach``)."""
    global _cupy_ops
    if isinstance(arr, np.ndarray):
        o = NUMPY_OPS
    else:
        from autograd.backend import array_module, use_device_of

        use_device_of(arr)        # CuPy runs on the current device: make it the one that holds arr (cuda:N)
        if _cupy_ops is None:
            _cupy_ops = ArrayOps(array_module(arr))
        o = _cupy_ops
    if arr.dtype.itemsize == 2 and arr.dtype in _LOW:
        lo = _low_ops.get((id(o), foreach))
        if lo is None:
            lo = _low_ops[(id(o), foreach)] = LowPrecisionOps(o, foreach)
        return lo
    return o
