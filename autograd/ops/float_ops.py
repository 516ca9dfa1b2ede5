"""torch's float elementwise functions other than the special ones: the binary float ops logaddexp,
logaddexp2, hypot, copysign, nextafter, float_power, ldexp and heaviside; the floating-point representation
ops signbit and frexp (its mantissa differentiable); deg2rad, rad2deg and fix; and their Tensor methods and
in-place forms. The special functions are in :mod:`.special_ops`, the integer and bit ops in :mod:`.bitwise`.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor
from . import elementwise as ew
from .basic import OUT, record, register
from .elementwise import _as, _operands, _out
from .inplace import _make_inplace


def _is_float(dt):
    return dt.kind in "fc" or dt == dtypes.bfloat16


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _float_pair(name, a, b, kernel_name=None):
    """The operands of a float-only binary op that takes two Tensors (torch's argument and dtype errors)."""
    if not isinstance(b, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(b).__name__}")
    if not isinstance(a, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(a).__name__}")
    A, B, dt, xp = _operands(a, b)
    if not (dt.kind == "f" or dt == dtypes.bfloat16):
        raise NotImplementedError(f'"{kernel_name or name}_cpu" not implemented for \'{dtypes.torch_name(dt)}\'')
    return A, B, dt, xp


def _logaddexp_fwd(xp, A, B, base2):
    with np.errstate(all="ignore"):
        m = xp.maximum(A, B)
        d = -xp.abs(A - B)
        tail = xp.log1p(xp.exp2(d)) * (1 / math.log(2)) if base2 else xp.log1p(xp.exp(d))
        return xp.where(xp.isinf(A) & (A == B), A, m + tail)


def logaddexp(input, other, *, out=None):  # noqa: A002
    A, B, dt, xp = _float_pair("logaddexp", input, other)
    res = _as(_logaddexp_fwd(xp, A, B, False), dt, xp)
    rule = lambda o, g, a, b: (g / (1 + o.exp(b - a)), g / (1 + o.exp(a - b)))  # noqa: E731
    return _out(record(res, (input, other), rule, "Logaddexp"), out)


def logaddexp2(input, other, *, out=None):  # noqa: A002
    A, B, dt, xp = _float_pair("logaddexp2", input, other)
    res = _as(_logaddexp_fwd(xp, A, B, True), dt, xp)
    rule = lambda o, g, a, b: (g / (1 + o.pow(2.0, b - a)), g / (1 + o.pow(2.0, a - b)))  # noqa: E731
    return _out(record(res, (input, other), rule, "Logaddexp2Backward0"), out)


def hypot(input, other, *, out=None):  # noqa: A002
    A, B, dt, xp = _float_pair("hypot", input, other)
    res = _as(xp.hypot(A, B), dt, xp)

    def rule(o, g, a, b, y):
        with np.errstate(all="ignore"):
            return g * a / y, g * b / y

    return _out(record(res, (input, other), rule, "Hypot", saved=(input, other, OUT)), out)


def nextafter(input, other, *, out=None):  # noqa: A002
    """The next float after ``input`` towards ``other`` (in the result dtype itself, float16 included)."""
    _float_pair("nextafter", input, other)
    dt = dtypes.result_type(input, other)
    A, B = input._data.astype(dt), other._data.astype(dt)
    xp = backend.array_module(A)
    if dt == dtypes.bfloat16:   # step the bits of the float32 value: bfloat16 is its upper half
        res = _nextafter_bfloat16(A, B)
    else:
        res = xp.nextafter(A, B)
    # torch's gradient: the incoming one where input != other (a step was taken), none to ``other``
    rule = lambda o, g: (o.where(A == B, 0, g), g * 0)  # noqa: E731
    return _out(record(_as(res, dt, xp), (input, other), rule, "Nextafter", saved=()), out)


def _nextafter_bfloat16(A, B):
    a32, b32 = A.astype(np.float32), B.astype(np.float32)
    bits = a32.view(np.uint32) >> 16
    up = (b32 > a32) == (a32 >= 0)
    step = np.where(a32 == 0, np.uint32(1) | (np.signbit(b32).astype(np.uint32) << 15),
                    np.where(up, bits + 1, bits - 1))
    out = (step.astype(np.uint32) << 16).view(np.float32)
    out = np.where(a32 == b32, b32, np.where(np.isnan(a32) | np.isnan(b32), np.nan, out))
    return out.astype(A.dtype)


def copysign(input, other, *, out=None):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign() received an invalid combination of arguments - got ({type(input).__name__}, "
                        f"{type(other).__name__})")
    A, B, dt, xp = _operands(input, other, float_out=True)
    with np.errstate(all="ignore"):
        res = _as(xp.copysign(A, B), dt, xp)

    def rule(o, g, a, y):   # torch: g * (result / input), 0 where input is 0; zeros (joined to nothing) to other
        with np.errstate(all="ignore"):
            return g * o.where(a == 0, 0, y / a), o.zeros_like(g)

    return _out(record(res, (input, other), rule, "Copysign", saved=(input, OUT)), out)


def float_power(input, exponent, *, out=None):  # noqa: A002
    """``input ** exponent`` in float64 (complex128 for complex operands): the pow op on float64 casts."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power() received an invalid combination of arguments")
    cplx = any(isinstance(v, complex) or (isinstance(v, Tensor) and v.dtype.kind == "c") for v in (input, exponent))
    dt = np.dtype(np.complex128 if cplx else np.float64)
    cast = lambda v: v.to(dt) if isinstance(v, Tensor) else (complex(v) if cplx else float(v))  # noqa: E731
    return _out(ew.pow_(cast(input), cast(exponent)), out)


def _float_power_(self, exponent):
    if self.dtype != np.float64 and self.dtype.kind != "c":
        raise RuntimeError(f"the base given to float_power_ has dtype {dtypes.torch_name(self.dtype)} but the "
                           "operation's result requires dtype Double")
    return _make_inplace(float_power, "float_power_")(self, exponent)


def ldexp(input, other, *, out=None):  # noqa: A002
    """``input * 2 ** other`` (recorded pow and mul, in float32 for float16/bfloat16 as torch), rounded to the
    promoted float dtype."""
    if not isinstance(other, Tensor):
        raise TypeError(f"ldexp(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    dt = dtypes.result_type(input, other)
    if not _is_float(dt):
        dt = dtypes.get_default_dtype()
    work = np.dtype(np.float32) if dt.itemsize == 2 else dt
    x = input.to(work) if isinstance(input, Tensor) and input.dtype != work else input
    res = ew.mul(x, ew.pow_(2.0, other.to(work) if other.dtype != work else other))
    return _out(res if res.dtype == dt else res.to(dt), out)


def deg2rad(input, *, out=None):  # noqa: A002
    x = _tensor(input)
    return _out(ew.mul(x if _is_float(x.dtype) else x.to(dtypes.get_default_dtype()), math.pi / 180), out)


def rad2deg(input, *, out=None):  # noqa: A002
    x = _tensor(input)
    return _out(ew.mul(x if _is_float(x.dtype) else x.to(dtypes.get_default_dtype()), 180 / math.pi), out)


fix = ew.trunc


def signbit(input, *, out=None):  # noqa: A002
    X = input._data
    xp = backend.array_module(X)
    if X.dtype.kind in "bu":
        res = xp.zeros(X.shape, bool)
    elif X.dtype.kind == "i":
        res = X < 0
    else:
        res = xp.signbit(X.astype(np.float32) if X.dtype == dtypes.bfloat16 else X)
    res = Tensor._wrap(res)
    return _out(res, out)


def heaviside(input, values, *, out=None):  # noqa: A002
    """0 below zero, ``values`` at zero, 1 above (NaN: 0, as torch); no derivative."""
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not {type(values).__name__}")
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    X, V = input._data, values._data
    res = backend.array_module(X).where(X == 0, V, X > 0).astype(X.dtype)

    def rule(o, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")

    res = record(res, (input, values), rule, "NotImplemented", saved=())
    return _out(res, out)


FrexpResult = collections.namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input, *, out=None):  # noqa: A002
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1); the mantissa is
    differentiable (grad / 2 ** exponent), the int32 exponent is not."""
    X = input._data
    if not (X.dtype.kind == "f" or X.dtype == dtypes.bfloat16):
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    xp = backend.array_module(X)
    m, e = xp.frexp(X.astype(np.float32) if X.dtype == dtypes.bfloat16 else X)
    e = e.astype(np.int32)
    scale = xp.exp2(e.astype(dtypes.get_default_dtype()))    # torch: exponent.exp2(), in the default dtype

    def rule(o, g):
        return (g / (Tensor._wrap(scale) if isinstance(g, Tensor) else scale),)

    mantissa = record(m.astype(X.dtype), (input,), rule, "Frexp", saved=())
    res = FrexpResult(mantissa, Tensor._wrap(e))
    if out is not None:
        out[0].copy_(res[0])
        out[1].copy_(res[1])
        return FrexpResult(*out)
    return res


# ---- Tensor methods and in-place forms ----------------------------------------------------------------------
for _name, _fn in {"hypot": hypot, "nextafter": nextafter, "copysign": copysign, "ldexp": ldexp, "deg2rad": deg2rad,
                   "rad2deg": rad2deg, "heaviside": heaviside}.items():
    register(_name)(_fn)
    setattr(Tensor, _name + "_", _make_inplace(_fn, _name + "_"))
register("logaddexp")(logaddexp)
register("logaddexp2")(logaddexp2)
register("float_power")(float_power)
Tensor.float_power_ = _float_power_
Tensor.fix, Tensor.fix_ = Tensor.trunc, Tensor.trunc_
register("signbit")(signbit)
register("frexp")(frexp)

EXPORTS = ("logaddexp", "logaddexp2", "hypot", "nextafter", "copysign", "float_power", "ldexp", "deg2rad", "rad2deg",
           "fix", "signbit", "heaviside", "frexp")
