"""More of torch's elementwise functions: the special functions (lgamma, digamma, polygamma, mvlgamma, erfc,
erfcx, erfinv, i0/i0e/i1/i1e, ndtr, ndtri, log_ndtr, entr, sinc, logit, exp2, xlogy, xlog1py, zeta), whose
float64 kernels live in :mod:`.elementwise_extra2`, and the binary float ops (logaddexp(2), hypot, copysign,
nextafter, float_power, ldexp), deg2rad/rad2deg and fix. The integer and bit ops (gcd, lcm, bitwise_*, shifts,
signbit, heaviside, frexp) are in :mod:`.elementwise_extra2`; ``EXPORTS`` lists both modules' names.

Each differentiable op is recorded with one backward rule in the op vocabulary ``o``; a rule that needs one
of these special functions calls it through :func:`_call`: on a Tensor under ``create_graph`` (the call is
recorded, so it differentiates again), its array kernel otherwise. float16/bfloat16 compute in float32 and
round once, as torch; integer and bool inputs give the default float dtype.
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from . import elementwise as ew
from . import elementwise_extra2 as K
from . import reduction, shape
from .basic import OUT, record, register
from .elementwise import _as, _number, _operands, _out
from .opmath import scalar_op
from .inplace import _make_inplace

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)


def _is_float(dt):
    return dt.kind in "fc" or dt == dtypes.bfloat16


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _float_data(x):
    """The raw array of a float op's operand: integers and bools as the default float dtype."""
    X = x._data
    return X if _is_float(X.dtype) else X.astype(dtypes.get_default_dtype())


def _host(kernel, X, *args):
    """A NumPy kernel on CuPy arrays (moved to the host and back)."""
    xp = backend.array_module(X)
    if xp is np:
        return kernel(X, *args)
    args = tuple(xp.asnumpy(a) if isinstance(a, xp.ndarray) else a for a in args)  # pragma: no cover - GPU only
    return xp.asarray(kernel(xp.asnumpy(X), *args))  # pragma: no cover


def _trigamma_native(X):
    """torch's float32 trigamma works in float32 (float16/bfloat16 too, as float32): so does this one."""
    if X.dtype == np.float64:
        return _host(K.trigamma64, X)
    return _host(K.trigamma64, X.astype(np.float32)).astype(X.dtype)


def via64(kernel, X, *args):
    """``kernel`` (float64 in and out) on ``X``, rounded to ``X``'s dtype (float16/bfloat16 through float32,
    the dtype torch computes them in)."""
    dt = X.dtype
    if dt == np.float64:
        return _host(kernel, X, *args)
    Y = _host(kernel, X.astype(np.float64), *args).astype(np.float32)
    return Y if dt == np.float32 else Y.astype(dt)


def _scale(x, c):
    """``x * c`` with the number in float32 on a float16/bfloat16 array, as torch's kernels take it."""
    return scalar_op(x, c, operator.mul)


def _call(op, x, *args):
    """A special function inside a backward rule: recorded on a Tensor (create_graph), its kernel on an array."""
    return op(x, *args) if isinstance(x, Tensor) else op.array(x, *args)


def _special_unary(name, kernel, rule, node, saves_out=False, low=True):
    """A float op computed by the float64 ``kernel``, recorded as ``node`` with ``rule(o, g, x[, y])``; ``low``:
    whether torch has it for float16/bfloat16."""
    saved = None if not saves_out else (OUT,) if saves_out == "only" else ("x", OUT)

    def op(x, *, out=None):
        x = _tensor(x)
        X = _float_data(x)
        if not low and X.dtype.itemsize == 2:
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{dtypes.torch_name(X.dtype)}\'')
        Y = via64(kernel, X)
        return _out(record(Y, (x,), rule, node, saved=saved and tuple(x if s == "x" else s for s in saved)), out)

    op.__name__ = name
    op.array = lambda X: via64(kernel, X)
    return op


def _i1_rule(o, g, x, y):
    zero = x == 0    # I1' = I0 - I1 / x, 1/2 at 0
    return (g * o.where(zero, 0.5, _call(i0, x) - y / o.where(zero, 1, x)),)


def _i1e_rule(o, g, x, y):
    zero = x == 0
    return (g * o.where(zero, 0.5, _call(i0e, x) - y * (o.sign(x) + 1 / o.where(zero, 1, x))),)


def _polygamma_of(x, n):
    """polygamma with the argument first (so that :func:`_call` can call it)."""
    return polygamma(n, x)


lgamma = _special_unary("lgamma", K.lgamma64, lambda o, g, x: (g * _call(digamma, x),), "Lgamma")
digamma = _special_unary("digamma", K.digamma64, lambda o, g, x: (g * _call(_polygamma_of, x, 1),), "Digamma")
erfc = _special_unary("erfc", K.erfc64, lambda o, g, x: (_scale(o.exp(-(x * x)), -2 / _SQRT_PI) * g,), "Erfc")
erfinv = _special_unary("erfinv", K.erfinv64, lambda o, g, y: (_scale(o.exp(y * y), 0.5 * _SQRT_PI) * g,), "Erfinv",
                        "only")
erfcx = _special_unary("erfcx", K.erfcx64, lambda o, g, x, y: ((2 * x * y - 2 / _SQRT_PI) * g,), "SpecialErfcx",
                       True, low=False)
i0 = _special_unary("i0", lambda X: K.bessel_i64(X, 0, False), lambda o, g, x: (g * _call(i1, x),), "I0Backward0")
i0e = _special_unary("i0e", lambda X: K.bessel_i64(X, 0, True),
                     lambda o, g, x, y: (g * (_call(i1e, x) - o.sign(x) * y),), "SpecialI0E", True)
i1 = _special_unary("i1", lambda X: K.bessel_i64(X, 1, False), _i1_rule, "SpecialI1Backward0", True)
i1e = _special_unary("i1e", lambda X: K.bessel_i64(X, 1, True), _i1e_rule, "SpecialI1E", True)
ndtri = _special_unary("ndtri", K.ndtri64, lambda o, g, y: (g * _SQRT_2PI * o.exp(y * y / 2),), "SpecialNdtri",
                       "only", low=False)
log_ndtr = _special_unary("log_ndtr", K.log_ndtr64, lambda o, g, x, y: (g / _SQRT_2PI * o.exp(-(y + x * x / 2)),),
                          "SpecialLogNdtr", True, low=False)
_polygamma_of.array = lambda X, n: _trigamma_native(X) if n == 1 else via64(K.polygamma64, X, int(n))


def polygamma(n, input, *, out=None):  # noqa: A002  torch's argument names
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x = _tensor(input)
    Y = _polygamma_of.array(_float_data(x), n)
    return _out(record(Y, (x,), lambda o, g, x_: (g * _call(_polygamma_of, x_, n + 1),), "Polygamma"), out)


def mvlgamma(input, p):  # noqa: A002
    """The multivariate log-gamma: sum_j lgamma(x - j/2) over j < p, plus p(p-1)/4 log(pi); a composition of
    recorded ops."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _tensor(input)
    if not _is_float(x.dtype):
        x = x.to(dtypes.get_default_dtype())
    offsets = creation.tensor([-(p - 1) / 2 + j / 2 for j in range(p)], dtype=x.dtype, device=x.device)
    terms = lgamma(shape.unsqueeze(x, -1) + offsets)
    return reduction.sum(terms, -1) + p * (p - 1) / 4 * math.log(math.pi)


def _sinc_fwd(X):
    # torch's order, in the op's float dtype: pi * x, then sin(pi x) / (pi x); 1 at 0
    work = X.astype(np.float32) if X.dtype.itemsize == 2 else X
    xp = backend.array_module(X)
    with np.errstate(all="ignore"):
        px = work * work.dtype.type(math.pi)
        Y = xp.where(work == 0, 1, xp.sin(px) / px)
    return Y.astype(X.dtype)


def _sinc_rule(o, g, x):
    # torch's order, 0 where x is 0 (the unguarded 0/0 there makes a second derivative NaN, as torch's)
    with np.errstate(all="ignore"):
        px = _scale(x, math.pi)
        sq = _scale(x * x, math.pi)
        return (o.where(sq == 0, 0, g * (px * o.cos(px) - o.sin(px)) / sq),)


def sinc(input, *, out=None):  # noqa: A002
    x = _tensor(input)
    return _out(record(_sinc_fwd(_float_data(x)), (x,), _sinc_rule, "Sinc"), out)


def exp2(input, *, out=None):  # noqa: A002
    x = _tensor(input)
    X = _float_data(x)
    xp = backend.array_module(X)
    if X.dtype.kind == "f" or X.dtype == dtypes.bfloat16:   # the correctly rounded float32 value, as torch's
        with np.errstate(all="ignore"):
            Y = xp.exp2(X) if X.dtype == np.float64 else xp.exp2(X.astype(np.float64)).astype(np.float32)
    else:
        Y = xp.exp2(X)
    Y = _as(Y, X.dtype, xp)
    return _out(record(Y, (x,), lambda o, g, y: (_scale(g * y, math.log(2)),), "Exp2Backward0", saved=(OUT,)), out)


def logit(input, eps=None, *, out=None):  # noqa: A002
    """log(x / (1 - x)), x clamped into [eps, 1 - eps] first when ``eps`` is given. float16/bfloat16 as torch:
    1 - x and the quotient rounded to the dtype, the log in float32."""
    x = _tensor(input)
    X = _float_data(x)
    low = X.dtype.itemsize == 2
    xp = backend.array_module(X)
    lo = hi = None
    work = X
    if eps is not None:
        lo, hi = X.dtype.type(eps), X.dtype.type(1 - eps)
        work = xp.minimum(xp.maximum(work, lo), hi)
    with np.errstate(all="ignore"):
        ratio = work / (1 - work)
        # the log of the quotient: float32 for 16-bit dtypes, else correctly rounded from float64
        Y = xp.where(work == 1, xp.inf, xp.log(ratio.astype(np.float32 if low else np.float64))).astype(X.dtype)

    def rule(o, g, x_):
        with np.errstate(all="ignore"):
            grad = g / (x_ * (1 - x_))
            if lo is None:
                return (o.where((x_ < 0) | (x_ > 1), math.nan, grad),)
            return (o.where((x_ < float(lo)) | (x_ > float(hi)), 0, grad),)

    return _out(record(Y, (x,), rule, "Logit"), out)


def entr(input, *, out=None):  # noqa: A002
    """-x log x (0 at 0, -inf below 0)."""
    x = _tensor(input)
    X = _float_data(x)
    xp = backend.array_module(X)
    work = X.astype(np.float32) if X.dtype.itemsize == 2 else X
    with np.errstate(all="ignore"):
        Y = xp.where(work > 0, -work * xp.log(work), xp.where(work == 0, 0, -xp.inf))
        Y = xp.where(xp.isnan(work), work, Y).astype(X.dtype)

    def rule(o, g, x_):
        with np.errstate(all="ignore"):
            return (g * -(1 + o.log(x_)),)

    return _out(record(Y, (x,), rule, "SpecialEntr"), out)


def ndtr(input):  # noqa: A002
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2 as torch forms it: recorded ops."""
    x = _tensor(input)
    return (ew.erf(x * _SQRT1_2) + 1) * 0.5


# ---- x * log(y) and x * log1p(y) ---------------------------------------------------------------------------
def _xlog_values(xp, X, Y, log_name, dt):
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


def _xlog(x, y, log_name, name):
    X, Y, dt, xp = _operands(x, y, float_out=True)
    res = _as(_xlog_values(xp, X, Y, log_name, dt), dt, xp)
    shift = 0 if log_name == "log" else -1
    op = xlogy if log_name == "log" else xlog1py
    need_x, need_y = (isinstance(v, Tensor) and v.requires_grad for v in (x, y))

    def rule(o, g, a, b):
        ga = gb = None
        with np.errstate(all="ignore"):
            if need_x:   # torch: xlogy(grad, other), 0 where x == 0 and y is at or below the pole
                ga = op(g, b) if isinstance(g, Tensor) else _xlog_grad_array(g, b, log_name)
                ga = o.where((a == 0) & (b <= shift), 0, ga)
            if need_y:
                gb = g * a / (b + 1) if shift else g * a / b
        return ga, gb

    return record(res, (x, y), rule, _overload_name(name, x, y), saved=(_number(x, X), _number(y, Y)))


def _overload_name(name, a, b):
    """torch's node names of ops with number overloads: ...Backward1 for a number first, 2 for a number second."""
    return f"{name}Backward{0 if isinstance(a, Tensor) and isinstance(b, Tensor) else 1 if isinstance(b, Tensor) else 2}"


def _xlog_grad_array(g, b, log_name):
    xp = backend.array_module(g)
    return _xlog_values(xp, g, b, log_name, g.dtype).astype(g.dtype)


def xlogy(input, other, *, out=None):  # noqa: A002
    return _out(_xlog(input, other, "log", "Xlogy"), out)


def xlog1py(input, other, *, out=None):  # noqa: A002
    return _out(_xlog(input, other, "log1p", "SpecialXlog1Py"), out)


def zeta(input, other, *, out=None):  # noqa: A002
    """The Hurwitz zeta function; differentiable in ``other`` (q) only, as torch."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("special_zeta() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__})")
    S, Q, dt, xp = _operands(input, other, float_out=True)
    res = _host(K.zeta64, xp.asarray(S, np.float64), xp.asarray(Q, np.float64))
    res = res if dt == np.float64 else res.astype(np.float32).astype(dt)
    s_grad = isinstance(input, Tensor) and input.requires_grad

    def rule(o, g, s_, q_):
        if s_grad:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, g * -s_ * _call(_zeta_of, q_, s_ + 1)

    return _out(record(res, (input, other), rule, _overload_name("SpecialZeta", input, other), saved=(_number(input, S), _number(other, Q))), out)


def _zeta_of(q, s):
    return zeta(s, q)


def _zeta_array(q, s):
    out = _host(K.zeta64, np.asarray(s, np.float64) if not hasattr(s, "astype") else s.astype(np.float64),
                q.astype(np.float64))
    return out if q.dtype == np.float64 else out.astype(np.float32).astype(q.dtype)


_zeta_of.array = _zeta_array


# ---- binary float ops --------------------------------------------------------------------------------------
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


# ---- Tensor methods and in-place forms ----------------------------------------------------------------------
_METHODS = {"lgamma": lgamma, "digamma": digamma, "erfc": erfc, "erfinv": erfinv, "i0": i0, "sinc": sinc,
            "exp2": exp2, "logit": logit, "xlogy": xlogy, "mvlgamma": mvlgamma, "hypot": hypot,
            "nextafter": nextafter, "copysign": copysign, "ldexp": ldexp, "deg2rad": deg2rad, "rad2deg": rad2deg}
for _name, _fn in _METHODS.items():
    register(_name)(_fn)
    setattr(Tensor, _name + "_", _make_inplace(_fn, _name + "_"))
register("logaddexp")(logaddexp)
register("logaddexp2")(logaddexp2)
register("float_power")(float_power)
Tensor.float_power_ = _float_power_
Tensor.fix, Tensor.fix_ = Tensor.trunc, Tensor.trunc_
Tensor.polygamma = lambda self, n: polygamma(n, self)
Tensor.polygamma_ = _make_inplace(lambda self, n: polygamma(n, self), "polygamma_")

EXPORTS = ("lgamma", "digamma", "polygamma", "mvlgamma", "erfc", "erfinv", "i0", "sinc", "exp2", "logit", "xlogy",
           "logaddexp", "logaddexp2", "hypot", "nextafter", "copysign", "float_power", "ldexp", "deg2rad", "rad2deg",
           "fix") + K.EXPORTS
globals().update({_n: getattr(K, _n) for _n in K.EXPORTS})
