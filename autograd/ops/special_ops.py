"""torch's special functions as recorded, differentiable ops: lgamma, digamma, polygamma, mvlgamma, erfc,
erfcx, erfinv, i0 / i0e / i1 / i1e, ndtri, log_ndtr, ndtr, sinc, exp2, logit, entr, xlogy, xlog1py and zeta
(Hurwitz), and their Tensor methods and in-place forms. The float64 kernels and their array forms in an
op's dtype are in :mod:`.special_kernels`; ``autograd.special`` and ``autograd.<name>`` alias these ops.

Each op is recorded with one backward rule in the op vocabulary ``o``; a rule that needs one of these
special functions again calls ``o.<name>`` (rows of :mod:`.vocabulary`: its array kernel for a first-order
backward, this module's recorded op under ``create_graph``, so that it differentiates again). float16/bfloat16
compute in float32 and round once, as torch; integer and bool inputs give the default float dtype.
"""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from . import elementwise as ew
from . import reduction, shape
from . import special_kernels as K
from .basic import OUT, record, register
from .elementwise import _as, _number, _operands, _out
from .float_ops import _is_float, _tensor
from .inplace import _make_inplace
from .opmath import scalar_op

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)


def _float_data(x):
    """The raw array of a float op's operand: integers and bools as the default float dtype."""
    X = x._data
    return X if _is_float(X.dtype) else X.astype(dtypes.get_default_dtype())


def _scale(x, c):
    """``x * c`` with the number in float32 on a float16/bfloat16 array, as torch's kernels take it."""
    return scalar_op(x, c, operator.mul)


def _special_unary(name, kernel, rule, node, saves_out=False, low=True):
    """A float op computed by ``kernel`` (its array form in the op's dtype), recorded as ``node`` with
    ``rule(o, g, x[, y])``; ``low``: whether torch has it for float16/bfloat16."""
    saved = None if not saves_out else (OUT,) if saves_out == "only" else ("x", OUT)

    def op(x, *, out=None):
        x = _tensor(x)
        X = _float_data(x)
        if not low and X.dtype.itemsize == 2:
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{dtypes.torch_name(X.dtype)}\'')
        Y = kernel(X)
        return _out(record(Y, (x,), rule, node, saved=saved and tuple(x if s == "x" else s for s in saved)), out)

    op.__name__ = name
    return op


def _via64(kernel):
    return lambda X: K.via64(kernel, X)


def _i1_rule(o, g, x, y):
    zero = x == 0    # I1' = I0 - I1 / x, 1/2 at 0
    return (g * o.where(zero, 0.5, o.i0(x) - y / o.where(zero, 1, x)),)


def _i1e_rule(o, g, x, y):
    zero = x == 0
    return (g * o.where(zero, 0.5, o.i0e(x) - y * (o.sign(x) + 1 / o.where(zero, 1, x))),)


lgamma = _special_unary("lgamma", _via64(K.lgamma64), lambda o, g, x: (g * o.digamma(x),), "Lgamma")
digamma = _special_unary("digamma", K.digamma_array, lambda o, g, x: (g * o.polygamma(1, x),), "Digamma")
erfc = _special_unary("erfc", _via64(K.erfc64), lambda o, g, x: (_scale(o.exp(-(x * x)), -2 / _SQRT_PI) * g,),
                      "Erfc")
erfinv = _special_unary("erfinv", _via64(K.erfinv64), lambda o, g, y: (_scale(o.exp(y * y), 0.5 * _SQRT_PI) * g,),
                        "Erfinv", "only")
erfcx = _special_unary("erfcx", _via64(K.erfcx64), lambda o, g, x, y: ((2 * x * y - 2 / _SQRT_PI) * g,),
                       "SpecialErfcx", True, low=False)
i0 = _special_unary("i0", K.i0_array, lambda o, g, x: (g * o.i1(x),), "I0Backward0")
i0e = _special_unary("i0e", K.i0e_array, lambda o, g, x, y: (g * (o.i1e(x) - o.sign(x) * y),), "SpecialI0E", True)
i1 = _special_unary("i1", K.i1_array, _i1_rule, "SpecialI1Backward0", True)
i1e = _special_unary("i1e", K.i1e_array, _i1e_rule, "SpecialI1E", True)
ndtri = _special_unary("ndtri", _via64(K.ndtri64), lambda o, g, y: (g * _SQRT_2PI * o.exp(y * y / 2),),
                       "SpecialNdtri", "only", low=False)
log_ndtr = _special_unary("log_ndtr", _via64(K.log_ndtr64),
                          lambda o, g, x, y: (g / _SQRT_2PI * o.exp(-(y + x * x / 2)),), "SpecialLogNdtr", True,
                          low=False)


def polygamma(n, input, *, out=None):  # noqa: A002  torch's argument names
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x = _tensor(input)
    Y = K.polygamma_array(n, _float_data(x))
    return _out(record(Y, (x,), lambda o, g, x_: (g * o.polygamma(n + 1, x_),), "Polygamma"), out)


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
def _xlog(x, y, log_name, name):
    X, Y, dt, xp = _operands(x, y, float_out=True)
    res = _as(K.xlog_values(xp, X, Y, log_name, dt), dt, xp)
    shift = 0 if log_name == "log" else -1
    need_x, need_y = (isinstance(v, Tensor) and v.requires_grad for v in (x, y))

    def rule(o, g, a, b):
        ga = gb = None
        with np.errstate(all="ignore"):
            if need_x:   # torch: xlogy(grad, other), 0 where x == 0 and y is at or below the pole
                ga = o.xlogy(g, b) if log_name == "log" else o.xlog1py(g, b)
                ga = o.where((a == 0) & (b <= shift), 0, ga)
            if need_y:
                gb = g * a / (b + 1) if shift else g * a / b
        return ga, gb

    return record(res, (x, y), rule, _overload_name(name, x, y), saved=(_number(x, X), _number(y, Y)))


def _overload_name(name, a, b):
    """torch's node names of ops with number overloads: ...Backward1 for a number first, 2 for a number second."""
    which = 0 if isinstance(a, Tensor) and isinstance(b, Tensor) else 1 if isinstance(b, Tensor) else 2
    return f"{name}Backward{which}"


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
    res = K.host(K.zeta64, xp.asarray(S, np.float64), xp.asarray(Q, np.float64))
    res = res if dt == np.float64 else res.astype(np.float32).astype(dt)
    s_grad = isinstance(input, Tensor) and input.requires_grad

    def rule(o, g, s_, q_):
        if s_grad:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, g * -s_ * o.zeta(s_ + 1, q_)

    return _out(record(res, (input, other), rule, _overload_name("SpecialZeta", input, other),
                       saved=(_number(input, S), _number(other, Q))), out)


# ---- Tensor methods and in-place forms ----------------------------------------------------------------------
for _name, _fn in {"lgamma": lgamma, "digamma": digamma, "erfc": erfc, "erfinv": erfinv, "i0": i0, "sinc": sinc,
                   "exp2": exp2, "logit": logit, "xlogy": xlogy, "mvlgamma": mvlgamma}.items():
    register(_name)(_fn)
    setattr(Tensor, _name + "_", _make_inplace(_fn, _name + "_"))
Tensor.polygamma = lambda self, n: polygamma(n, self)
Tensor.polygamma_ = _make_inplace(lambda self, n: polygamma(n, self), "polygamma_")

EXPORTS = ("lgamma", "digamma", "polygamma", "mvlgamma", "erfc", "erfinv", "i0", "sinc", "exp2", "logit", "xlogy")
