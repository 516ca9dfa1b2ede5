"""The special functions on raw NumPy/CuPy arrays (no SciPy, no Tensors): first the float64 kernels,
log-gamma, digamma, trigamma, Hurwitz zeta / polygamma, erf / erfc / erfcx, the inverse error functions
(erfinv, erfcinv, ndtri), ndtr / log_ndtr and the modified Bessel functions I0 / I1 (and their exponentially
scaled forms), each taking and returning float64; then, at the end, their forms in an op's own dtype
(:func:`via64`: float16/bfloat16 through float32, as torch computes them; CuPy arrays through the host), which
are the array column of the op vocabulary's rows (:mod:`.vocabulary`) and the forward values of the recorded
ops in :mod:`.special_ops`. This module imports nothing above :mod:`autograd.backend` but the libm loops
(:mod:`.libm`).

Where torch's own algorithm is less accurate than float64 allows (its trigamma truncates the asymptotic
series after three terms, ~1e-10 relative), the same truncation is used, so that the numbers are torch's.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from . import libm

_PI = math.pi
_SQRT_PI = math.sqrt(math.pi)


lgamma64, erf64, erfc64 = libm.lgamma, libm.erf, libm.erfc   # libm's, one element at a time

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


# ---- in the op's dtype: the array implementations ------------------------------------------------------------
def host(kernel, X, *args):
    """A NumPy kernel on CuPy arrays (moved to the host and back)."""
    xp = backend.array_module(X)
    if xp is np:
        return kernel(X, *args)
    args = tuple(xp.asnumpy(a) if isinstance(a, xp.ndarray) else a for a in args)  # pragma: no cover - GPU only
    return xp.asarray(kernel(xp.asnumpy(X), *args))  # pragma: no cover


def via64(kernel, X, *args):
    """``kernel`` (float64 in and out) on ``X``, rounded to ``X``'s dtype (float16/bfloat16 through float32,
    the dtype torch computes them in)."""
    dt = X.dtype
    if dt == np.float64:
        return host(kernel, X, *args)
    Y = host(kernel, X.astype(np.float64), *args).astype(np.float32)
    return Y if dt == np.float32 else Y.astype(dt)


def _trigamma_native(X):
    """torch's float32 trigamma works in float32 (float16/bfloat16 too, as float32): so does this one."""
    if X.dtype == np.float64:
        return host(trigamma64, X)
    return host(trigamma64, X.astype(np.float32)).astype(X.dtype)


def digamma_array(X):
    return via64(digamma64, X)


def polygamma_array(n, X):
    """polygamma of order ``n`` (torch's argument order)."""
    return _trigamma_native(X) if n == 1 else via64(polygamma64, X, int(n))


def i0_array(X):
    return via64(bessel_i64, X, 0, False)


def i0e_array(X):
    return via64(bessel_i64, X, 0, True)


def i1_array(X):
    return via64(bessel_i64, X, 1, False)


def i1e_array(X):
    return via64(bessel_i64, X, 1, True)


def zeta_array(s, q):
    """zeta(s, q) in ``q``'s dtype, ``s`` an array or a number."""
    out = host(zeta64, np.asarray(s, np.float64) if not hasattr(s, "astype") else s.astype(np.float64),
               q.astype(np.float64))
    return out if q.dtype == np.float64 else out.astype(np.float32).astype(q.dtype)


def xlog_values(xp, X, Y, log_name, dt):
    """x * log(y) (log1p) for the result dtype ``dt``, 0 where x is 0, NaN where y is NaN: the log correctly
    rounded to float32 (float64 kept), rounded to ``dt`` before the product for float16/bfloat16, as torch."""
    work = np.float64 if dt == np.float64 else np.float32
    with np.errstate(all="ignore"):
        Yw = xp.asarray(Y, np.float64)
        lg = getattr(xp, log_name)(Yw).astype(work)
        if dt.itemsize == 2:
            lg = lg.astype(dt).astype(work)
        Xw = xp.asarray(X).astype(work)
        return xp.where(Yw != Yw, Yw.astype(work), xp.where(Xw == 0, 0, Xw * lg))


def xlogy_array(x, y):
    """x * log(y) in ``x``'s dtype (an array; ``y`` an array or a number)."""
    return xlog_values(backend.array_module(x), x, y, "log", x.dtype).astype(x.dtype)


def xlog1py_array(x, y):
    return xlog_values(backend.array_module(x), x, y, "log1p", x.dtype).astype(x.dtype)
