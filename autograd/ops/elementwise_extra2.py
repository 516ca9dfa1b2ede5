"""Float64 NumPy kernels of the special functions behind :mod:`autograd.ops.elementwise_extra` and
``autograd.special`` (no SciPy): log-gamma, digamma, trigamma, Hurwitz zeta / polygamma, erfc / erfcx, the
inverse error functions (erfinv, ndtri), log_ndtr and the modified Bessel functions I0 / I1 (and their
exponentially scaled forms). Each takes and returns float64 arrays; the ops round the result to their dtype.
Then the ops without a gradient: gcd, lcm, bitwise and/or/xor/not, the shifts (and ``<<`` / ``>>``), signbit,
heaviside, frexp (its mantissa is differentiable) and the in-place logical ops.

Where torch's own algorithm is less accurate than float64 allows (its trigamma truncates the asymptotic
series after three terms, ~1e-10 relative), the same truncation is used, so that the numbers are torch's.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor
from .basic import record, register
from .elementwise import _operands, _out, logical_and, logical_not, logical_or, logical_xor
from .inplace import _make_inplace

_PI = math.pi
_SQRT_PI = math.sqrt(math.pi)


def _scalar_lgamma(v):
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):   # poles (0, -1, -2, ...) and overflow: torch gives +inf
        return math.inf


def _vectorised(fn):
    vec = np.vectorize(fn, otypes=[np.float64])
    return lambda x: vec(x) if x.size else np.empty(x.shape, np.float64)


_lgamma_raw = _vectorised(_scalar_lgamma)


def lgamma64(x):
    with np.errstate(all="ignore"):
        return _lgamma_raw(x)
erf64 = _vectorised(math.erf)
erfc64 = _vectorised(math.erfc)

# B_2k / (2k) for the digamma asymptotic series ln z - 1/(2z) - sum B_2k / (2k z^2k)
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def digamma64(x):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        neg = x < 0
        frac = x - np.trunc(x)
        z = np.where(neg, 1 - x, x)       # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        acc = np.zeros_like(z)
        for _ in range(10):               # recurrence psi(z) = psi(z + 1) - 1 / z up to z >= 10
            small = z < 10
            if not small.any():
                break
            acc = acc - np.where(small, 1 / np.where(small, z, 1), 0)
            z = np.where(small, z + 1, z)
        inv2 = 1 / (z * z)
        series = np.zeros_like(z)
        for c in reversed(_DIGAMMA_SERIES):
            series = (series + c) * inv2
        out = acc + np.log(z) - 0.5 / z - series
        out = np.where(neg, out - _PI / np.tan(_PI * frac), out)
        out = np.where(neg & (frac == 0), np.nan, out)            # negative integers (and -inf)
        out = np.where(x == 0, np.copysign(np.inf, -x), out)      # psi(+-0) = -+inf
    return out


def trigamma64(x):
    """torch's trigamma: reflection below 1/2, six recurrence steps, the asymptotic series to B6. In float32 for
    a float32 ``x``, as torch computes it (near the poles sin(pi x) decides the value)."""
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        low = x < 0.5
        s = np.sin(_PI * x)
        result = np.where(low, -(_PI * _PI) / (s * s), 0.0)
        z = np.where(low, 1 - x, x)
        for _ in range(6):
            result = result + 1 / (z * z)
            z = z + 1
        ixx = 1 / (z * z)
        result = result + (1 + 1 / (2 * z) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / z
    return np.where(low, -result, result)


# B_2j / (2j)! for the Euler-Maclaurin tail of the Hurwitz zeta sum
_ZETA_TAIL = tuple(b / math.factorial(2 * j) for j, b in enumerate(
    (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330,
     854513 / 138, -236364091 / 2730), start=1))


def zeta64(s, q):
    """The Hurwitz zeta function sum_k (q + k)^-s: the first terms summed directly (at least nine, and until
    q + k > 9), the rest by Euler-Maclaurin. Domain as torch: s == 1 gives inf, s < 1 NaN; q a non-positive
    integer gives inf, another non-positive q with a non-integer s NaN."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    with np.errstate(all="ignore"):
        direct = np.zeros(s.shape)
        a = q.copy()
        ok = np.isfinite(s) & np.isfinite(q) & (s > 1) & ~((q <= 0) & (s != np.floor(s)))
        for k in range(100000):
            active = ok & ((a <= 9) | (k < 9))
            if not active.any():
                break
            direct = direct + np.where(active, np.power(np.where(active, a, 1), -s), 0)
            a = np.where(active, a + 1, a)
        a_s = np.power(a, -s)
        tail = a * a_s / (s - 1) + 0.5 * a_s
        rising = s.copy()              # s (s+1) ... (s + 2j - 2)
        power = a_s / a                # a^(-s - 2j + 1)
        for j, c in enumerate(_ZETA_TAIL):
            tail = tail + c * rising * power
            rising = rising * (s + 2 * j + 1) * (s + 2 * j + 2)
            power = power / (a * a)
        out = np.where(ok, direct + tail, np.nan)
        out = np.where((q <= 0) & (q == np.floor(q)) & (s > 1), np.inf, out)
        out = np.where(s == 1, np.inf, out)
    return out


def polygamma64(x, n):
    if n == 0:
        return digamma64(x)
    if n == 1:
        return trigamma64(x)
    # torch's form: (-1)^(n+1) n! zeta(n + 1, x), n! as exp(lgamma(n + 1))
    with np.errstate(all="ignore"):
        return (1.0 if n % 2 else -1.0) * math.exp(math.lgamma(n + 1.0)) * zeta64(float(n + 1), x)


# ---- error functions ------------------------------------------------------------------------------------
def _square_split(x):
    """x * x as hi + lo exactly (Dekker's product), so that exp(x^2) keeps its accuracy for large x."""
    c = 134217729.0 * x           # 2^27 + 1
    xh = c - (c - x)
    xl = x - xh
    hi = x * x
    lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
    return hi, lo


def _exp_square(x):
    hi, lo = _square_split(x)
    return np.exp(hi) * (1 + np.where(np.isfinite(lo), lo, 0.0))


def _erfcx_nonneg(x):
    with np.errstate(all="ignore"):
        near = np.where(x < 12, x, 0.0)
        direct = _exp_square(near) * erfc64(near)
        # asymptotic series 1 / (x sqrt(pi)) * sum (-1)^k (2k-1)!! / (2 x^2)^k, past where exp(x^2) overflows
        far = np.where(x >= 12, x, 12.0)
        term = np.ones_like(far)
        total = np.ones_like(far)
        inv = 1 / (2 * far * far)
        for k in range(1, 20):
            term = -term * (2 * k - 1) * inv
            total = total + term
        asym = total / (far * _SQRT_PI)
    return np.where(x < 12, direct, asym)


def erfcx64(x):
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    pos = _erfcx_nonneg(ax)
    with np.errstate(all="ignore"):
        neg = 2 * _exp_square(ax) - pos       # erfcx(-x) = 2 exp(x^2) - erfcx(x)
    return np.where(x < 0, neg, np.where(np.isnan(x), x, pos))


def _winitzki(log_one_minus_x2):
    """Winitzki's approximation of |erfinv| from ln(1 - x^2) (relative error below 2e-3): the start of the
    Newton steps."""
    a = 0.147
    b = 2 / (_PI * a) + 0.5 * log_one_minus_x2
    return np.sqrt(np.sqrt(b * b - log_one_minus_x2 / a) - b)


def _erfinv_central(x):
    """erfinv for |x| <= 1/2: Halley steps on erf(y) - x (cubic convergence from Winitzki's start)."""
    with np.errstate(all="ignore"):
        y = np.copysign(_winitzki(np.log1p(-x * x)), x)
        for _ in range(_HALLEY_STEPS):
            d = (erf64(y) - x) / (2 / _SQRT_PI * np.exp(-y * y))
            y = y - d / (1 + y * d)
    return y


_HALLEY_STEPS = 2
_NEWTON_STEPS = 4


def erfcinv_small64(w):
    """The y >= 0 with erfc(y) = w for 0 < w <= 1/2, by Newton steps on ln erfc(y) - ln w (written with
    erfcx, so that neither underflows for tiny w)."""
    with np.errstate(all="ignore"):
        log_w = np.log(w)
        y = _winitzki(log_w + np.log(2 - w))
        for _ in range(_NEWTON_STEPS):
            ex = _erfcx_nonneg(y)
            g = np.log(ex) - y * y - log_w
            y = y + g * _SQRT_PI * ex / 2
    return y


def _split(mask, values, central, tail):
    """``central`` on the values where ``mask`` holds, ``tail`` on the rest (each computed on its part only)."""
    out = np.empty(values.shape, np.float64)
    out[mask] = central(values[mask])
    out[~mask] = tail(values[~mask])
    return out


def erfinv64(x):
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        inside = ax < 1
        # 1 - |x| is exact for |x| >= 1/2
        out = _split(ax <= 0.5, np.where(inside, x, 0.0), _erfinv_central,
                     lambda v: np.copysign(erfcinv_small64(1 - np.abs(v)), v))
        out = np.where(ax == 1, np.copysign(np.inf, x), out)
        out = np.where((ax > 1) | np.isnan(x), np.nan, out)
    return np.where(x == 0, x, out)     # keeps -0.0


def erfcinv64(w):
    """The y with erfc(y) = w, 0 <= w <= 2."""
    w = np.asarray(w, np.float64)
    lower = w <= 1
    small = np.where(lower, w, 2 - w)         # erfcinv(2 - w) = -erfcinv(w); 2 - w exact for w in [1, 2]
    with np.errstate(all="ignore"):
        valid = (small > 0) & (small <= 1)
        y = _split(small > 0.5, np.where(valid, small, 0.25), lambda v: _erfinv_central(1 - v), erfcinv_small64)
        y = np.where(small == 0, np.inf, y)
        y = np.where(lower, y, -y)
        y = np.where((w < 0) | (w > 2) | np.isnan(w), np.nan, y)
    return y


_SQRT1_2 = math.sqrt(0.5)
_SQRT2 = math.sqrt(2.0)


def ndtr64(x):
    # torch's form, (1 + erf(x / sqrt 2)) / 2: 0 below about -8.3 where erfc would keep the tail
    return (1 + erf64(np.asarray(x, np.float64) * _SQRT1_2)) * 0.5


def ndtri64(p):
    """The inverse of the standard normal CDF: -sqrt(2) erfcinv(2p), through the complement above 1/2."""
    p = np.asarray(p, np.float64)
    with np.errstate(all="ignore"):
        upper = p > 0.5
        w = np.where(upper, 2 * (1 - p), 2 * p)        # 1 - p exact for p >= 1/2
        y = _SQRT2 * erfcinv64(w)
        out = np.where(upper, y, -y)
    return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, out)


def log_ndtr64(x):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        t = x * _SQRT1_2
        left = x < -1
        tl = np.where(left, -t, 1.0)
        far = np.log(_erfcx_nonneg(tl) / 2) - tl * tl
        near = np.log1p(-erfc64(np.where(left, 0.0, t)) / 2)
    return np.where(left, far, near)


# ---- modified Bessel functions of the first kind --------------------------------------------------------
_BESSEL_SPLIT = 20.0


def _bessel_series(x, order):
    """sum_k (x^2/4)^k / (k! (k+order)!) (times (x/2) for order 1), for |x| <= 20."""
    q = x * x / 4
    term = np.ones_like(x)
    total = np.ones_like(x)
    for k in range(1, 60):
        term = term * q / (k * (k + order))
        total = total + term
    return total if order == 0 else total * (x / 2)


def _bessel_asymptotic(ax, order):
    """I_order(x) exp(-x) sqrt(2 pi x) for x > 20: sum_k prod_j ((2j-1)^2 - 4 order^2) / (j 8 x)."""
    mu = 4.0 * order * order
    term = np.ones_like(ax)
    total = np.ones_like(ax)
    for k in range(1, 40):
        term = term * ((2 * k - 1) ** 2 - mu) / (8 * k * ax)
        total = total + term
    return total


def bessel_i64(x, order, scaled):
    """I0 / I1 of x (``order``), times exp(-|x|) when ``scaled``. Unscaled at +-inf: NaN, as torch."""
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    near = ax <= _BESSEL_SPLIT
    with np.errstate(all="ignore"):
        xs = np.where(near, x, 0.0)
        series = _bessel_series(xs, order)
        if scaled:
            series = series * np.exp(-np.abs(xs))
        af = np.where(near, 2 * _BESSEL_SPLIT, ax)
        asym = _bessel_asymptotic(af, order) / (math.sqrt(2 * _PI) * np.sqrt(af))
        if not scaled:      # exp(x) overflows a little before I0 does: inf there, as torch
            asym = asym * np.exp(af)
        if order == 1:
            asym = np.copysign(asym, x)
        out = np.where(near, series, asym)
        if scaled:
            out = np.where(np.isinf(x), np.copysign(0.0, x) if order == 1 else 0.0, out)
        else:
            out = np.where(np.isinf(x), np.nan, out)
    return out


# ---- integer, bit and sign ops (no gradient) ---------------------------------------------------------------


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


for _n, _fn in {"gcd": gcd, "lcm": lcm, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
                "bitwise_xor": bitwise_xor, "bitwise_left_shift": bitwise_left_shift,
                "bitwise_right_shift": bitwise_right_shift}.items():
    register(_n)(_fn)
    setattr(Tensor, _n + "_", _make_inplace(_fn, _n + "_"))
register("bitwise_not")(bitwise_not)
Tensor.bitwise_not_ = _make_inplace(bitwise_not, "bitwise_not_")
register("signbit")(signbit)
register("heaviside")(heaviside)
Tensor.heaviside_ = _make_inplace(heaviside, "heaviside_")
register("frexp")(frexp)
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
           "bitwise_right_shift", "signbit", "heaviside", "frexp")
