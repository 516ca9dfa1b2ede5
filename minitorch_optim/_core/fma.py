"""``y += a * x`` and ``lerp`` rounded like torch's CPU kernels, which use a fused multiply-add.

The optimizers that are not elementwise (L-BFGS, Adafactor, Muon) use these: L-BFGS on ill-conditioned
problems amplifies last-bit differences, and Muon's bfloat16 rounding turns them into whole bf16 steps,
so matching torch's single rounding keeps float32 runs bit-exact with torch. float32/16 form the result
in float64 and round back once; float64 (and CuPy arrays) keep NumPy's two roundings, as NumPy has no
fused multiply-add (the x87 long double would do, at ten times the cost).
"""
from __future__ import annotations

import numpy as np

from autograd.backend import array_module


def _narrow(y):
    return array_module(y) is np and y.dtype.kind == "f" and y.dtype.itemsize < 8


def axpy_(y, a, x):
    """In place ``y += a * x`` (``a`` a scalar, ``x`` broadcastable to ``y``); returns ``y``."""
    if _narrow(y):
        y[...] = (y.astype(np.float64) + float(a) * np.asarray(x, dtype=np.float64)).astype(y.dtype)
    else:
        y += a * x.astype(y.dtype, copy=False)  # the product in y's precision (x may be narrower)
    return y


def fma(xp, a, b, c):
    """``a * b + c`` with one rounding where that is cheap to do exactly (NumPy float32 and narrower: the
    product of two float32 values is exact in float64, so the sum rounds once there and once more to
    float32, which differs from a true fused multiply-add only when the float64 sum lands on a float32
    tie, about once in 2**29); float64 and CuPy arrays round twice. Scalars enter in the arrays' dtype."""
    like = next(x for x in (a, b, c) if hasattr(x, "dtype"))
    dt = like.dtype
    a, b, c = (x if hasattr(x, "dtype") else dt.type(x) for x in (a, b, c))
    if xp is np and dt.kind == "f" and dt.itemsize < 8:
        return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(dt)
    return a * b + c


def lerp_(x, y, w):
    """In place ``x = lerp(x, y, w)`` as torch: ``x + w (y - x)`` for ``|w| < 0.5``, else ``y + (w - 1)(y - x)``."""
    diff = y - x
    if _narrow(x):
        w = x.dtype.type(w)
        coeff, base = (w, x) if abs(w) < 0.5 else (w - x.dtype.type(1), y)
        x[...] = (base.astype(np.float64) + float(coeff) * diff.astype(np.float64)).astype(x.dtype)
    elif abs(w) < 0.5:
        diff *= w
        x += diff
    else:
        diff *= 1 - w
        array_module(x).subtract(y, diff, out=x)
    return x


def torch_scalar(x):
    """A hyper-parameter as torch's update math sees it: a Tensor (e.g. ``lr=tensor(0.001)``) stays a
    0-d value of its dtype (a NumPy scalar here), so float32 rounding and promotion follow torch's 0-d
    tensor rules; Python numbers stay as they are."""
    from autograd import Tensor  # noqa: PLC0415

    if isinstance(x, Tensor):
        v = x._data.reshape(())
        return v[()] if array_module(v) is np else v
    return x
