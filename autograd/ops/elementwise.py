"""Elementwise operations: binary (with torch's type promotion), unary, clamp/where/lerp, comparisons.

In-place forms live in :mod:`autograd.ops.inplace`.
"""
from __future__ import annotations

import builtins
import math
import numbers
import operator

import numpy as np

from .. import backend, dtypes, grad_mode
from ..tensor import Tensor
from .basic import OUT, arr, cast_operands, check_same_device, inplace, needs, record, register, result_dtype
from .opmath import add_alpha_low, alpha_in, float32_rule, fma32, lerp_fma32, opmath_operands, scalar_op
from . import complex_ops, libm
from .opmath import erf_vectorised, pow_low


def _like(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x._data
    return None


def _operands(*xs, float_out=False, scalars_in_dtype=False):
    """Raw operands cast to their torch result dtype; returns (arrays..., dtype, xp)."""
    check_same_device(*xs)
    like = _like(*xs)
    if like is None:  # free function on plain numbers/arrays
        like = np.asarray(xs[0])
    xp = backend.array_module(like)
    raw = [x if x is None or isinstance(x, (Tensor, numbers.Number, np.generic)) else arr(x, like) for x in xs]
    _check_broadcast(raw)
    dt = result_dtype(*raw)
    if float_out and (dt.kind not in "fc" and dt != dtypes.bfloat16):
        dt = dtypes.get_default_dtype()
    if dt.itemsize == 2 and dt in dtypes.LOW_PRECISION:
        return (*opmath_operands(raw, dt, scalars_in_dtype), dt, xp)
    return (*cast_operands(raw, dt), dt, xp)


def _check_broadcast(raw):
    shapes = [x.shape for x in raw if hasattr(x, "shape") and not isinstance(x, np.generic)]
    if len(shapes) < 2 or all(sh == shapes[0] for sh in shapes):
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        a, b = shapes[0], next(sh for sh in shapes[1:] if sh != shapes[0])
        for k in range(1, max(len(a), len(b)) + 1):
            da = a[-k] if k <= len(a) else 1
            db = b[-k] if k <= len(b) else 1
            if da != db and 1 not in (da, db):
                raise RuntimeError(f"The size of tensor a ({da}) must match the size of tensor b ({db}) at "
                                   f"non-singleton dimension {max(len(a), len(b)) - k}") from None
        raise RuntimeError(f"shapes {[list(sh) for sh in shapes]} cannot be broadcast together") from None


def _refuse_complex(dt, kernel):
    if dt.kind == "c":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dtypes.torch_name(dt)}'")


def _as(out, dt, xp):
    if not hasattr(out, "dtype") or isinstance(out, np.generic):
        return xp.asarray(out, dtype=dt)
    return out if out.dtype == dt else out.astype(dt)


def _out(res, out):
    """torch's ``out=``: write the result into ``out`` (its storage, views see it); like torch, refused when
    autograd would have to record it."""
    if out is None:
        return res
    if res._node is not None or (out.requires_grad and grad_mode.is_grad_enabled()):
        name = res._node.name.lower() if res._node is not None else "op"
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    return inplace(out, res)



# ---- binary ---------------------------------------------------------------------------------------------
def add(a, b, *, alpha=1, out=None):
    if isinstance(alpha, Tensor):
        return _out(add(a, mul(b, alpha)), out)
    A, B, dt, xp = _operands(a, b, scalars_in_dtype=True)
    res = _as(A + B if alpha == 1 else A + alpha * B if dt.itemsize != 2 else _add_alpha(A, B, alpha, dt), dt, xp)
    rule = _add_rule if alpha == 1 else lambda o, g: (g, g * alpha.conjugate())
    return _out(record(res, (a, b), rule, "Add", saved=()), out)


def _add_rule(o, g):
    return g, g


def sub(a, b, *, alpha=1, out=None):
    if isinstance(alpha, Tensor):
        return _out(sub(a, mul(b, alpha)), out)
    A, B, dt, xp = _operands(a, b, scalars_in_dtype=True)
    res = _as(A - B if alpha == 1 else A - alpha * B if dt.itemsize != 2 else _add_alpha(A, B, -alpha, dt), dt, xp)
    rule = _sub_rule if alpha == 1 else lambda o, g: (g, -alpha.conjugate() * g)
    return _out(record(res, (a, b), rule, "Sub", saved=()), out)


def _sub_rule(o, g):
    return g, -g


def _add_alpha(A, B, alpha, dt):
    if dt.itemsize == 2 and dt in dtypes.LOW_PRECISION:
        return add_alpha_low(A, B, alpha_in(alpha, dt), dt)
    return A + alpha * B


def rsub(a, b, alpha=1):
    return sub(b, a, alpha=alpha)


def mul(a, b, *, out=None):
    A, B, dt, xp = _operands(a, b)
    na, nb = needs((a, b))
    rule = complex_ops.mul_rule if dt.kind == "c" else _mul_rule
    res = record(_as(A * B, dt, xp), (a, b), rule, "Mul", saved=(_number(b, B) if na else None, _number(a, A) if nb else None))
    return _out(res, out)


@float32_rule     # a number operand enters in float32 (not rounded to 16 bits first), as torch's mul
def _mul_rule(o, g, b, a):
    return None if b is None else g * b, None if a is None else g * a


def div(a, b, *, rounding_mode=None, out=None):
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                             f"'{rounding_mode}'")
        A, B, dt, xp = _operands(a, b)
        if rounding_mode == "floor":
            q = xp.floor_divide(A, B)
        else:
            q = xp.trunc(A / B) if (dt.kind == "f" or dt == dtypes.bfloat16) else _as(xp.trunc(A / B), dt, xp)
        res = record(_as(q, dt, xp), (a, b), lambda o, g: (g * 0, g * 0), "Div", saved=())
        return _out(res, out)
    A, B, dt, xp = _operands(a, b, float_out=True)
    na, nb = needs((a, b))
    rule = complex_ops.div_rule if dt.kind == "c" else _div_rule
    res = record(_as(A / B, dt, xp), (a, b), rule, "Div", saved=(_number(b, B), _number(a, A) if nb else None, na))
    return _out(res, out)


def _div_rule(o, g, b, a, na):
    # torch's order for the divisor, -g * ((a / b) / b): each op rounds in float16/bfloat16 as torch's do
    return scalar_op(g, b, operator.truediv) if na else None, None if a is None else -g * ((a / b) / b)


def remainder(a, b):
    A, B, dt, xp = _operands(a, b)
    _refuse_complex(dt, "remainder_cpu")
    return record(_as(xp.remainder(A, B), dt, xp), (a, b), lambda o, g, a_, b_: (g, -g * o.floor_divide(a_, b_)),
                  "Remainder")


def pow_(a, b):
    A, B, dt, xp = _operands(a, b)
    if isinstance(B, numbers.Real) and not isinstance(B, bool) and xp is np and dt.itemsize == 2 and \
            dt in dtypes.LOW_PRECISION:   # (A holds the float32 values of the 16-bit operand)
        res = pow_low(A.astype(dt), B)
    else:
        res = _as(A ** B, dt, xp)
    na, nb = needs((a, b))

    def rule(o, g, a_, b_, y):
        ga = gb = None
        if na:
            if isinstance(b_, numbers.Number) and _low_np(a_):   # torch: g * (e * x.pow(e - 1)), op by op
                ga = g * scalar_op(pow_low(a_, b_ - 1), b_, operator.mul) if b_ != 0 else g * 0
            elif isinstance(b_, numbers.Number):
                ga = g * b_ * a_ ** (b_ - 1) if b_ != 0 else g * 0
            else:   # torch's order: g * (e * x ** (e - 1)), zero where e == 0
                ga = o.where(b_ == 0, 0, g * (b_ * o.where(b_ == 0, 1, a_) ** (b_ - 1)))
        if nb:
            with np.errstate(divide="ignore", invalid="ignore"):
                if isinstance(a_, numbers.Number):
                    gb = g * y * (math.log(a_) if a_ > 0 else (0.0 if a_ == 0 else math.nan))
                else:
                    gb = o.where((a_ == 0) & (b_ >= 0), 0, g * (y * o.log(a_)))
        return ga, gb

    return record(res, (a, b), complex_ops.pow_rule(na, nb) if dt.kind == "c" else rule, "Pow", saved=(_number(a, A), _number(b, B), OUT if nb else None))


def _low_np(x):
    return type(x) is np.ndarray and x.dtype.itemsize == 2 and x.dtype in dtypes.LOW_PRECISION


def _number(operand, raw):
    """A Tensor operand as itself; a number as the number the op computed with (cast to the result type)."""
    return operand if isinstance(operand, Tensor) else raw


def _minmax(a, b, pick, name, out):
    A, B, dt, xp = _operands(a, b)
    if dt.kind == "c":
        raise RuntimeError(f"{name.lower()} not implemented for complex tensors.")
    res = _as(pick(xp)(A, B), dt, xp)

    def rule(o, g, _a, _b):   # which operand won is read off the raw values: it is not differentiated
        wa = (A == res).astype(g.dtype) - 0.5 * (A == B)
        return g * wa, g * (1 - wa)

    return _out(record(res, (a, b), rule, name), out)


def maximum(a, b, *, out=None):
    """Elementwise max; ties split the gradient evenly (as torch)."""
    return _minmax(a, b, lambda xp: xp.maximum, "Maximum", out)


def minimum(a, b, *, out=None):
    return _minmax(a, b, lambda xp: xp.minimum, "Minimum", out)


def atan2(a, b):
    A, B, dt, xp = _operands(a, b, float_out=True)
    _refuse_complex(dt, "atan2_cpu")
    return record(_as(xp.arctan2(A, B), dt, xp), (a, b), _atan2_rule, "Atan2", saved=(_number(a, A), _number(b, B)))


def _atan2_rule(o, g, a, b):
    den = a * a + b * b
    den = o.where(den == 0, 1, den)  # atan2(0, 0): gradient 0, as torch
    return g * b / den, -g * a / den


# ---- unary ----------------------------------------------------------------------------------------------
_FLOAT_OUT = {"exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
              "sigmoid", "erf", "reciprocal", "asin", "acos", "atan", "sinh", "cosh"}


def _unary(name, fwd, dfn):
    """``dfn(o, v)`` is dy/dx given ``v``: the output ``y`` for the ops in :data:`_SAVES_OUT`, nothing for those in
    :data:`_SAVES_NONE`, else the input ``x``."""
    float_out = name in _FLOAT_OUT
    saved = (OUT,) if name in _SAVES_OUT else () if name in _SAVES_NONE else None
    if name in _ZERO_DERIVATIVE:
        def rule(o, g):   # torch's zeros_like(grad): zero also where the incoming gradient is inf or NaN
            return (o.zeros_like(g),)
    elif saved == ():
        def rule(o, g):
            return (g * dfn(o, g),)
    else:
        def rule(o, g, v):
            return (g * dfn(o, v),)
        if name in _FUSED_BACKWARD:
            rule = _FUSED_BACKWARD[name] or float32_rule(rule)
        elif name in _RULES:
            rule = _RULES[name]

    def op(x, *, out=None):
        if not isinstance(x, Tensor):
            x = Tensor._wrap(np.asarray(x))
        X = x._data
        if X.dtype.kind == "c":
            return _out(complex_ops.unary(name, x, X, fwd, dfn, saved), out)
        xp = backend.array_module(X)
        if float_out and (X.dtype.kind not in "fc" and X.dtype != dtypes.bfloat16):
            X = X.astype(dtypes.get_default_dtype())
        elif X.dtype.kind == "b" and name in _BOOL_AS:
            if _BOOL_AS[name] is None:
                return Tensor._wrap(X.copy())  # sign/abs of bool: itself
            X = X.astype(_BOOL_AS[name])
        if X.dtype.itemsize == 2 and X.dtype in dtypes.LOW_PRECISION:   # opmath: float32, rounded once
            if name in _CORRECTLY_ROUNDED and xp is np:   # torch's vectorised float32 functions: nearly always
                with np.errstate(all="ignore"):           # the correctly rounded value, which float64 gives
                    Y = fwd(xp, X.astype(np.float64)).astype(dtypes.float32)
                if name == "erf":                         # (its erf is a polynomial of its own)
                    Y = erf_vectorised(np.ascontiguousarray(X).astype(dtypes.float32), Y.reshape(X.shape))
                Y = Y.astype(X.dtype)
            else:
                Y = fwd(xp, X.astype(dtypes.float32)).astype(X.dtype)
        else:
            Y = fwd(xp, X)
        if Y.dtype != X.dtype:
            Y = Y.astype(X.dtype)
        res = record(Y, (x,), rule, name.capitalize(), saved=saved)
        return _out(res, out)

    op.__name__ = name
    return op


def _erf(xp, x):
    if xp is np:
        return libm.erf(x).astype(x.dtype)
    import cupyx.scipy.special as sp  # pragma: no cover - GPU only

    return sp.erf(x).astype(x.dtype, copy=False)  # CuPy's erf turns float16 into float64


def sigmoid_array(x):
    return _sigmoid(backend.array_module(x), x)


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))  # stable for large |x|
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def torch_sign(xp, x):
    """torch's sign of a float: ``(x > 0) - (x < 0)``, so NaN and -0.0 give +0.0 (NumPy: NaN and -0.0)."""
    if (x.dtype.kind != "f" and x.dtype != dtypes.bfloat16):
        return xp.sign(x)
    return xp.subtract(x > 0, x < 0, dtype=x.dtype)

_LN2, _LN10, _TWO_BY_SQRT_PI = math.log(2), math.log(10), 2 / math.sqrt(math.pi)
_UNARY = {  # name: (forward on arrays, derivative in the op vocabulary)
    "neg": (lambda xp, x: -x, lambda o, _: -1),
    "exp": (lambda xp, x: xp.exp(x), lambda o, y: y),
    "expm1": (lambda xp, x: xp.expm1(x), lambda o, y: y + 1),
    "log": (lambda xp, x: xp.log(x), lambda o, x: 1 / x),
    "log1p": (lambda xp, x: xp.log1p(x), lambda o, x: 1 / (1 + x)),
    "log2": (lambda xp, x: xp.log2(x), lambda o, x: 1 / (x * _LN2)),
    "log10": (lambda xp, x: xp.log10(x), lambda o, x: 1 / (x * _LN10)),
    "sqrt": (lambda xp, x: xp.sqrt(x), lambda o, y: 0.5 / y),
    "rsqrt": (lambda xp, x: 1 / xp.sqrt(x), lambda o, y: -0.5 * y * y * y),
    "abs": (lambda xp, x: xp.abs(x), lambda o, x: o.sign(x)),
    "sign": (lambda xp, x: torch_sign(xp, x), lambda o, _: 0),
    "sin": (lambda xp, x: xp.sin(x), lambda o, x: o.cos(x)),
    "cos": (lambda xp, x: xp.cos(x), lambda o, x: -o.sin(x)),
    "tan": (lambda xp, x: xp.tan(x), lambda o, y: 1 + y * y),
    "asin": (lambda xp, x: xp.arcsin(x), lambda o, x: 1 / o.sqrt(1 - x * x)),
    "acos": (lambda xp, x: xp.arccos(x), lambda o, x: -1 / o.sqrt(1 - x * x)),
    "atan": (lambda xp, x: xp.arctan(x), lambda o, x: 1 / (1 + x * x)),
    "sinh": (lambda xp, x: xp.sinh(x), lambda o, x: o.cosh(x)),
    "cosh": (lambda xp, x: xp.cosh(x), lambda o, x: o.sinh(x)),
    "tanh": (lambda xp, x: xp.tanh(x), lambda o, y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda o, y: y * (1 - y)),
    # recorded as sign(y) (the same 0/1 values) so that, as torch's threshold_backward, the derivative stays
    # joined to y and a second derivative is zeros rather than "not used in the graph"
    "relu": (lambda xp, x: xp.maximum(x, 0), lambda o, y: y > 0 if o is o.arrays else o.sign(y)),
    "square": (lambda xp, x: x * x, lambda o, x: 2 * x),
    "reciprocal": (lambda xp, x: 1 / x, lambda o, y: -y * y),
    "erf": (_erf, lambda o, x: _TWO_BY_SQRT_PI * o.exp(-x * x)),
    "floor": (lambda xp, x: xp.floor(x), lambda o, _: 0),
    "ceil": (lambda xp, x: xp.ceil(x), lambda o, _: 0),
    "round": (lambda xp, x: xp.round(x), lambda o, _: 0),
    "trunc": (lambda xp, x: xp.trunc(x), lambda o, _: 0),
}
UNARY_NAMES = tuple(_UNARY)
# what each backward reads (torch's saved tensors): the result, or nothing
_SAVES_OUT = {"exp", "expm1", "sqrt", "rsqrt", "tan", "tanh", "sigmoid", "relu", "reciprocal"}
def _sigmoid_backward(o, g, y):
    if getattr(g, "dtype", None) == np.float16 and not isinstance(g, Tensor):
        return ((g * (1 - y)) * y,)     # torch's float16 kernel rounds each of its ops to float16
    return _sigmoid_f32(o, g, y)


_sigmoid_f32 = float32_rule(lambda o, g, y: (g * (y * (1 - y)),))
# torch computes these backward rules in one kernel (tanh_backward, sigmoid_backward): in float32 and
# rounded once on float16/bfloat16 (None), or as given
_FUSED_BACKWARD = {"tanh": None, "sigmoid": _sigmoid_backward}
# torch's backward formulas where their order of operations differs from g * derivative (each op rounds
# in float16/bfloat16 as torch's separate ops do; a number enters in float32)
_RULES = {
    "log": lambda o, g, x: (g / x,),
    "log1p": lambda o, g, x: (g / (x + 1),),
    "sqrt": lambda o, g, y: (g / (2 * y),),
    "rsqrt": lambda o, g, y: ((-0.5 * g) * (pow_low(y, 3) if _low_np(y) else y * y * y),),
    "erf": lambda o, g, x: (scalar_op(o.exp(-(x * x)), _TWO_BY_SQRT_PI, operator.mul) * g,),
    # torch's threshold_backward selects rather than multiplies: an inf or NaN gradient where y <= 0 gives 0
    "relu": lambda o, g, y: (o.where(y > 0, g if o is o.arrays else g * o.sign(y), 0),),
}
_SAVES_NONE = {"neg", "sign", "floor", "ceil", "round", "trunc"}
_ZERO_DERIVATIVE = {"sign", "floor", "ceil", "round", "trunc"}
_CORRECTLY_ROUNDED = {"exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
                      "sinh", "cosh", "erf"}
_BOOL_AS = {"square": "int64", "sign": None}  # torch: square(bool) is int64 (pow), sign(bool) bool

for _name, (_f, _d) in _UNARY.items():
    globals()[_name] = register(_name)(_unary(_name, _f, _d))

erf, sqrt, rsqrt, exp, log, reciprocal = (globals()[n] for n in ("erf", "sqrt", "rsqrt", "exp", "log", "reciprocal"))
neg, abs_, sigmoid, tanh, relu, sign = (globals()[n] for n in ("neg", "abs", "sigmoid", "tanh", "relu", "sign"))


def clamp(x, min=None, max=None, *, out=None):  # noqa: A002 - torch's names
    """Clamp into [min, max]; the bounds may be numbers or Tensors (which then get gradients too)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    X, lo, hi, dt, xp = _operands(x, min, max)
    if dt.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    Y = X
    if lo is not None:
        Y = xp.maximum(Y, lo)
    if hi is not None:
        Y = xp.minimum(Y, hi)
    Y = _as(Y.copy() if Y is X else Y, dt, xp)

    def rule(o, g):   # the masks come from the raw values: they are not differentiated
        keep = xp.ones(X.shape, dtype=bool)
        if lo is not None:
            keep = keep & (X >= lo)
        if hi is not None:
            keep = keep & (X <= hi)
        g_lo = g_hi = None
        if isinstance(min, Tensor):
            g_lo = g * ((X < lo) if hi is None else (X < lo) & (lo < hi))
        if isinstance(max, Tensor):
            g_hi = g * ((X > hi) if lo is None else (xp.maximum(X, lo) > hi))
        return g * keep, g_lo, g_hi

    return _out(record(Y, (x, min, max), rule, "Clamp", saved=()), out)


def clamp_min(x, min):  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002
    return clamp(x, max=max)


def where(cond, a, b):
    check_same_device(cond, a, b)
    A, B, dt, xp = _operands(a, b)
    C = arr(cond, _like(a, b))
    if C.dtype != np.bool_:
        C = C.astype(bool)
    res = _as(xp.where(C, A, B), dt, xp)
    return record(res, (a, b), lambda o, g: (o.where(C, g, 0), o.where(C, 0, g)), "Where", saved=())


def lerp(start, end, weight):
    """``start + weight * (end - start)``, with torch's formula choice for |weight| >= 0.5."""
    S, E, W, dt, xp = _operands(start, end, weight)
    diff = E - S
    if xp is np and dt.itemsize == 2 and dt in dtypes.LOW_PRECISION:
        res = lerp_fma32(S, E, W, diff)
    elif isinstance(W, numbers.Number):
        res = S + W * diff if abs(W) < 0.5 else E - diff * (1 - W)
    else:
        res = xp.where(xp.abs(W) < 0.5, S + W * diff, E - diff * (1 - W))
    w_grad = isinstance(weight, Tensor) and weight.requires_grad
    return record(_as(res, dt, xp), (start, end, weight), complex_ops.conjugated(_lerp_rule) if dt.kind == "c" else
                  _lerp_rule, "Lerp",
                  saved=(start if w_grad else None, end if w_grad else None, _number(weight, W)))


def _lerp_rule(o, g, s, e, w):
    if isinstance(w, numbers.Number):   # torch: g * (1 - weight) and g * weight, the number in float32
        return scalar_op(g, 1 - w, operator.mul), scalar_op(g, w, operator.mul), None
    return g * (1 - w), g * w, None if s is None else g * (e - s)


def _is_one(v):
    return not isinstance(v, Tensor) and v == 1


def _muladd(x, a, b):
    """``x + a * b`` rounded once, as torch's CPU addcmul kernel (a fused multiply-add): narrow floats are
    formed in float64 and rounded back; float64 and CuPy keep two roundings (no fused multiply-add there)."""
    X, A, B, dt, xp = _operands(x, a, b)
    if xp is np and dt.itemsize == 2 and dt in dtypes.LOW_PRECISION:   # a float32 fma, then dt
        res = fma32(X, A, B).astype(dt)
    elif xp is np and (dt.kind == "f" or dt == dtypes.bfloat16) and dt.itemsize < 8:
        res = (np.asarray(X, np.float64) + np.asarray(A, np.float64) * B).astype(dt)
    else:
        res = _as(X + A * B, dt, xp)
    na, nb = needs((a, b))
    mul_rule = complex_ops.mul_rule if dt.kind == "c" else _mul_rule
    return record(res, (x, a, b), lambda o, g, b_, a_: (g,) + mul_rule(o, g, b_, a_), "Addcmul",
                  saved=(_number(b, B) if na else None, _number(a, A) if nb else None))


def addcmul(x, t1, t2, *, value=1):
    # torch's order: x + (value * t1) * t2, the last multiply-add fused
    if not _is_one(value) and _low(x, t1, t2):
        return _scaled_low(x, t1, t2, value, "Addcmul")
    return _muladd(x, t1 if _is_one(value) else mul(t1, value), t2)


def addcdiv(x, t1, t2, *, value=1):
    # torch's association: x + (value * t1) / t2
    if not _is_one(value) and _low(x, t1, t2):
        return _scaled_low(x, t1, t2, value, "Addcdiv")
    return add(x, div(t1, t2) if _is_one(value) else div(mul(t1, value), t2))


def _low(*xs):
    return builtins.any(isinstance(t, Tensor) and t.dtype.itemsize == 2 and t.dtype in dtypes.LOW_PRECISION
                        for t in xs)


def _scaled_low(x, t1, t2, value, name):
    """addcmul/addcdiv in float16/bfloat16: ``x + value * t1 (*|/) t2`` in float32 with ``value`` a float32
    scalar, rounded once (torch's kernel; the general path would round ``value * t1`` first)."""
    X, A, B, dt, xp = _operands(x, t1, t2)
    if isinstance(value, Tensor):
        value = value.item()
    if name == "Addcmul":   # the last multiply-add fused, as torch's vectorised kernel
        res = _as(fma32(X, value * A, B) if xp is np else X + value * A * B, dt, xp)
    else:
        res = _as(X + value * A / B, dt, xp)
    if name == "Addcmul":
        def rule(o, g, a_, b_):
            return g, g * value * b_, g * value * a_
    else:
        def rule(o, g, a_, b_):
            return g, g * value / b_, -g * value * a_ / (b_ * b_)
    return record(res, (x, t1, t2), rule, name, saved=(_number(t1, A), _number(t2, B)))


# ---- comparisons and logic (no gradient) ----------------------------------------------------------------
def _cmp(fn, name):
    def op(a, b):
        A, B, dt, _ = _operands(a, b)
        if dt.kind == "c" and name not in ("eq", "ne"):   # complex numbers have no order
            _refuse_complex(dt, f"{name}_cpu")
        return Tensor._wrap(backend.array_module(_like(a, b)).asarray(fn(A, B)))

    return op


_CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
for _n, _fn in _CMP.items():
    globals()[_n] = register(_n, f"__{_n}__")(_cmp(_fn, _n))


def _logic(name):
    def op(a, b=None):
        xs = (a,) if b is None else (a, b)
        raw = [arr(v, _like(*xs)) for v in xs]
        xp = backend.array_module(_like(*xs))
        return Tensor._wrap(xp.asarray(getattr(xp, name)(*raw)))

    return op


logical_not, logical_and, logical_or, logical_xor, isfinite, isnan, isinf = (
    register(n)(_logic(n)) for n in ("logical_not", "logical_and", "logical_or", "logical_xor", "isfinite",
                                     "isnan", "isinf"))


def _bits(fn):
    return lambda self, o: Tensor._wrap(fn(self._data, arr(o, self._data)))


# ---- operators ------------------------------------------------------------------------------------------
for _names, _fn in {("add", "__add__"): add, ("sub", "subtract", "__sub__"): sub, ("mul", "multiply", "__mul__"): mul,
                    ("div", "divide", "__truediv__", "true_divide"): div, ("pow", "__pow__"): pow_,
                    ("remainder", "__mod__"): remainder, ("maximum",): maximum, ("minimum",): minimum,
                    ("clamp", "clip"): clamp, ("clamp_min",): clamp_min, ("clamp_max",): clamp_max,
                    ("lerp",): lerp, ("addcmul",): addcmul, ("addcdiv",): addcdiv, ("atan2",): atan2,
                    ("__neg__", "negative"): neg, ("__abs__", "absolute"): abs_}.items():
    register(*_names)(_fn)
Tensor.__radd__ = lambda self, o: add(o, self)
Tensor.__rsub__ = lambda self, o: sub(o, self)
Tensor.__rmul__ = lambda self, o: mul(o, self)
def _rtruediv(self, o):
    # torch's ``number / tensor`` is ``tensor.reciprocal() * number``: two roundings in float16/bfloat16
    if self.dtype.itemsize == 2 and self.dtype in dtypes.LOW_PRECISION and isinstance(o, numbers.Number):
        return mul(reciprocal(self), o)
    return div(o, self)


Tensor.__rtruediv__ = _rtruediv
Tensor.__rpow__ = lambda self, o: pow_(o, self)
Tensor.__rmod__ = lambda self, o: remainder(o, self)
Tensor.__pos__ = lambda self: self
Tensor.__and__ = Tensor.__rand__ = _bits(lambda a, b: a & b)
Tensor.__or__ = Tensor.__ror__ = _bits(lambda a, b: a | b)
Tensor.__xor__ = Tensor.__rxor__ = _bits(lambda a, b: a ^ b)
Tensor.__invert__ = lambda self: Tensor._wrap(~self._data)
