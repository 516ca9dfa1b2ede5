"""torch's integer and bit ops (no gradient): gcd, lcm, bitwise and/or/xor/not, the shifts (with torch's
results for negative and too-wide shift amounts; ``<<`` / ``>>`` and their in-place forms), their Tensor methods
and in-place forms, and the in-place logical ops (``logical_and_`` ...: the bool result in self's dtype).
"""
from __future__ import annotations

from .. import dtypes
from ..tensor import Tensor
from .basic import register
from .elementwise import _operands, _out, logical_and, logical_not, logical_or, logical_xor
from .inplace import _make_inplace


def _int_operands(kernel, a, b, allow_bool=True, tensors_only=False, name=None):
    if tensors_only:
        for pos, (arg, v) in enumerate((("input", a), ("other", b)), 1):
            if not isinstance(v, Tensor):
                raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not {type(v).__name__}")
    A, B, dt, xp = _operands(a, b)
    if dt.kind not in "iub" or (dt.kind == "b" and not allow_bool):
        raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'{dtypes.torch_name(dt)}\'')
    return xp.asarray(A, dt), xp.asarray(B, dt), dt, xp


def _int_binary(name, kernel, fn, allow_bool=True, tensors_only=False):
    def op(input, other, *, out=None):  # noqa: A002
        A, B, dt, xp = _int_operands(kernel, input, other, allow_bool, tensors_only, name)
        return _out(Tensor._wrap(xp.asarray(fn(xp, A, B, dt)).astype(dt, copy=False)), out)

    op.__name__ = name
    return op


def _shift_left(xp, A, B, dt):
    bits = dt.itemsize * 8
    outside = (B < 0) | (B >= bits)
    return xp.where(outside, 0, xp.left_shift(A, xp.where(outside, 0, B)))


def _shift_right(xp, A, B, dt):
    # torch: a shift by a negative amount or by the width or more fills with the sign (0 when unsigned)
    bits = dt.itemsize * 8
    outside = (B < 0) | (B >= bits)
    filled = xp.right_shift(A, bits - 1) if dt.kind == "i" else xp.zeros_like(A)
    return xp.where(outside, filled, xp.right_shift(A, xp.where(outside, 0, B)))


gcd = _int_binary("gcd", "gcd", lambda xp, a, b, dt: xp.gcd(a, b), False, True)
lcm = _int_binary("lcm", "lcm", lambda xp, a, b, dt: xp.lcm(a, b), False, True)
bitwise_and = _int_binary("bitwise_and", "bitwise_and", lambda xp, a, b, dt: a & b)
bitwise_or = _int_binary("bitwise_or", "bitwise_or", lambda xp, a, b, dt: a | b)
bitwise_xor = _int_binary("bitwise_xor", "bitwise_xor", lambda xp, a, b, dt: a ^ b)
bitwise_left_shift = _int_binary("bitwise_left_shift", "lshift", _shift_left, False)
bitwise_right_shift = _int_binary("bitwise_right_shift", "rshift", _shift_right, False)


def bitwise_not(input, *, out=None):  # noqa: A002
    X = input._data
    if X.dtype.kind not in "iub":
        raise NotImplementedError(f'"bitwise_not_cpu" not implemented for \'{dtypes.torch_name(X.dtype)}\'')
    res = Tensor._wrap(~X)
    return _out(res, out)


for _n, _fn in {"gcd": gcd, "lcm": lcm, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
                "bitwise_xor": bitwise_xor, "bitwise_left_shift": bitwise_left_shift,
                "bitwise_right_shift": bitwise_right_shift}.items():
    register(_n)(_fn)
    setattr(Tensor, _n + "_", _make_inplace(_fn, _n + "_"))
register("bitwise_not")(bitwise_not)
Tensor.bitwise_not_ = _make_inplace(bitwise_not, "bitwise_not_")
Tensor.__lshift__ = bitwise_left_shift
Tensor.__rshift__ = bitwise_right_shift
Tensor.__rlshift__ = lambda self, o: bitwise_left_shift(o, self)
Tensor.__rrshift__ = lambda self, o: bitwise_right_shift(o, self)
Tensor.__ilshift__ = Tensor.bitwise_left_shift_
Tensor.__irshift__ = Tensor.bitwise_right_shift_


def _logical_inplace(fn, name):
    # torch writes the bool result into self's dtype (1.0 / 0.0 in a float tensor)
    return _make_inplace(lambda self, *args: fn(self, *args).to(self.dtype), name)


for _n, _fn in {"logical_and_": logical_and, "logical_or_": logical_or, "logical_xor_": logical_xor,
                "logical_not_": logical_not}.items():
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, _logical_inplace(_fn, _n))

EXPORTS = ("gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift")
