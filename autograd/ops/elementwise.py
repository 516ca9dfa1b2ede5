"""Elementwise operations (unary, binary, ternary) and their in-place forms."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor
from .basic import arr, check_same_device, inplace, needs, record, register, result_dtype, unbroadcast


def _red(g, x):
    """Gradient for operand ``x``: summed over broadcast dims, in ``x``'s dtype."""
    if not isinstance(x, Tensor):
        return None
    g = unbroadcast(g, x._data.shape)
    return g if g.dtype == x._data.dtype else g.astype(x._data.dtype)


def _operands(a, b):
    check_same_device(a, b)
    like = a._data if isinstance(a, Tensor) else b._data if isinstance(b, Tensor) else None
    A, B = arr(a, like), arr(b, like)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and backend.device_of(A) != backend.device_of(B):
        check_same_device(a, b)
    return A, B


def _fix(out, A, B):
    want = result_dtype(A, B)
    if hasattr(out, "dtype") and out.dtype != want and out.dtype.kind == want.kind == "f":
        return out.astype(want)
    if not hasattr(out, "dtype"):
        return np.asarray(out, dtype=want)
    return out


# ---- binary ---------------------------------------------------------------------------------------------
def add(a, b, alpha=1):
    A, B = _operands(a, b)
    out = _fix(A + B if alpha == 1 else A + alpha * B, A, B)
    return record(out, (a, b), lambda g: (_red(g, a), _red(g if alpha == 1 else g * alpha, b)), "Add")


def sub(a, b, alpha=1):
    A, B = _operands(a, b)
    out = _fix(A - B if alpha == 1 else A - alpha * B, A, B)
    return record(out, (a, b), lambda g: (_red(g, a), _red(-g if alpha == 1 else -alpha * g, b)), "Sub")


def mul(a, b):
    A, B = _operands(a, b)
    out = _fix(A * B, A, B)
    na, nb = needs((a, b))
    return record(out, (a, b), lambda g: (_red(g * B, a) if na else None, _red(g * A, b) if nb else None),
                  "Mul")


def div(a, b, rounding_mode=None):
    A, B = _operands(a, b)
    if rounding_mode is not None:
        xp = backend.array_module(A if hasattr(A, "shape") else B)
        q = A / B
        out = xp.floor(q) if rounding_mode == "floor" else xp.trunc(q)
        return record(_fix(out, A, B), (a, b), lambda g: (None, None), "Div")
    out = _fix(A / B, A, B)
    na, nb = needs((a, b))
    return record(out, (a, b), lambda g: (_red(g / B, a) if na else None,
                                          _red(-g * A / (B * B), b) if nb else None), "Div")


def pow_(a, b):
    A, B = _operands(a, b)
    out = _fix(A ** B, A, B)
    na, nb = needs((a, b))

    def bw(g):
        ga = gb = None
        if na:
            if isinstance(B, numbers.Number):
                ga = g * B * A ** (B - 1) if B != 0 else g * 0
            else:
                ga = g * B * A ** (B - 1)
        if nb:
            xp = backend.array_module(out)
            ga_safe = xp.where(A > 0, A, 1) if hasattr(A, "shape") else (A if A > 0 else 1)
            gb = g * out * xp.log(ga_safe) * (A > 0) if hasattr(A, "shape") else g * out * math.log(ga_safe)
        return _red(ga, a) if ga is not None else None, _red(gb, b) if gb is not None else None

    return record(out, (a, b), bw, "Pow")


def _minmax(a, b, pick, name):
    A, B = _operands(a, b)
    xp = backend.array_module(A if hasattr(A, "shape") else B)
    out = _fix(pick(xp)(A, B), A, B)

    def bw(g):
        take_a = (A == out) * 1.0
        tie = (A == B) * 1.0
        wa = take_a - 0.5 * tie
        return _red(g * wa, a), _red(g * (1.0 - wa), b)

    return record(out, (a, b), bw, name)


def maximum(a, b):
    return _minmax(a, b, lambda xp: xp.maximum, "Maximum")


def minimum(a, b):
    return _minmax(a, b, lambda xp: xp.minimum, "Minimum")


def atan2(a, b):
    A, B = _operands(a, b)
    xp = backend.array_module(A)
    out = xp.arctan2(A, B)
    den = A * A + B * B
    return record(out, (a, b), lambda g: (_red(g * B / den, a), _red(-g * A / den, b)), "Atan2")


# ---- unary ----------------------------------------------------------------------------------------------
def _unary(name, fwd, dfn):
    """``dfn(x, y, xp)`` is dy/dx given input ``x`` and output ``y``."""

    def op(x):
        X = x._data
        xp = backend.array_module(X)
        Y = fwd(xp, X)
        return record(Y, (x,), lambda g: (g * dfn(X, Y, xp),), name)

    op.__name__ = name.lower()
    return op


def _erf(xp, x):
    if xp is np:
        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    import cupyx.scipy.special as sp  # pragma: no cover - GPU only

    return sp.erf(x)


_UNARY = {
    "neg": (lambda xp, x: -x, lambda x, y, xp: -1),
    "exp": (lambda xp, x: xp.exp(x), lambda x, y, xp: y),
    "expm1": (lambda xp, x: xp.expm1(x), lambda x, y, xp: y + 1),
    "log": (lambda xp, x: xp.log(x), lambda x, y, xp: 1 / x),
    "log1p": (lambda xp, x: xp.log1p(x), lambda x, y, xp: 1 / (1 + x)),
    "log2": (lambda xp, x: xp.log2(x), lambda x, y, xp: 1 / (x * math.log(2))),
    "sqrt": (lambda xp, x: xp.sqrt(x), lambda x, y, xp: 0.5 / y),
    "rsqrt": (lambda xp, x: 1 / xp.sqrt(x), lambda x, y, xp: -0.5 * y * y * y),
    "abs": (lambda xp, x: xp.abs(x), lambda x, y, xp: xp.sign(x)),
    "sign": (lambda xp, x: xp.sign(x), lambda x, y, xp: 0 * x),
    "sin": (lambda xp, x: xp.sin(x), lambda x, y, xp: xp.cos(x)),
    "cos": (lambda xp, x: xp.cos(x), lambda x, y, xp: -xp.sin(x)),
    "tan": (lambda xp, x: xp.tan(x), lambda x, y, xp: 1 + y * y),
    "tanh": (lambda xp, x: xp.tanh(x), lambda x, y, xp: 1 - y * y),
    "sigmoid": (lambda xp, x: _sigmoid(xp, x), lambda x, y, xp: y * (1 - y)),
    "relu": (lambda xp, x: xp.maximum(x, 0), lambda x, y, xp: (x > 0).astype(x.dtype)),
    "square": (lambda xp, x: x * x, lambda x, y, xp: 2 * x),
    "reciprocal": (lambda xp, x: 1 / x, lambda x, y, xp: -y * y),
    "erf": (_erf, lambda x, y, xp: (2 / math.sqrt(math.pi)) * xp.exp(-x * x)),
    "floor": (lambda xp, x: xp.floor(x), lambda x, y, xp: 0 * x),
    "ceil": (lambda xp, x: xp.ceil(x), lambda x, y, xp: 0 * x),
    "round": (lambda xp, x: xp.round(x), lambda x, y, xp: 0 * x),
    "trunc": (lambda xp, x: xp.trunc(x), lambda x, y, xp: 0 * x),
}


def _sigmoid(xp, x):
    # stable for large |x|
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


for _name, (_f, _d) in _UNARY.items():
    globals()[_name] = _unary(_name.capitalize(), _f, _d)
    register(_name)(globals()[_name])

erf = globals()["erf"]
sqrt = globals()["sqrt"]
exp = globals()["exp"]
log = globals()["log"]
neg = globals()["neg"]
abs_ = globals()["abs"]
sigmoid = globals()["sigmoid"]
tanh = globals()["tanh"]
relu = globals()["relu"]
sign = globals()["sign"]


def clamp(x, min=None, max=None):  # noqa: A002 - torch's names
    X = x._data
    xp = backend.array_module(X)
    lo, hi = arr(min, X) if min is not None else None, arr(max, X) if max is not None else None
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    Y = X
    if lo is not None:
        Y = xp.maximum(Y, lo)
    if hi is not None:
        Y = xp.minimum(Y, hi)
    if Y is X:
        Y = X.copy()
    Y = Y.astype(X.dtype, copy=False)
    mask = xp.ones(X.shape, dtype=bool)
    if lo is not None:
        mask &= X >= lo
    if hi is not None:
        mask &= X <= hi
    return record(Y, (x,), lambda g: (g * mask,), "Clamp")


def where(cond, a, b):
    C = arr(cond)
    A, B = _operands(a, b)
    xp = backend.array_module(C)
    out = _fix(xp.where(C, A, B), A, B)
    return record(out, (a, b), lambda g: (_red(xp.where(C, g, 0), a), _red(xp.where(C, 0, g), b)), "Where")


def lerp(start, end, weight):
    """``start + weight * (end - start)``, with torch's formula choice for |weight| >= 0.5."""
    S, E = _operands(start, end)
    W = arr(weight, S)
    xp = backend.array_module(S)
    diff = E - S
    if isinstance(W, numbers.Number):
        out = S + W * diff if abs(W) < 0.5 else E - diff * (1 - W)
    else:
        out = xp.where(xp.abs(W) < 0.5, S + W * diff, E - diff * (1 - W))
    out = _fix(out, S, E)
    parents = (start, end, weight)
    return record(out, parents, lambda g: (_red(g * (1 - W), start), _red(g * W, end),
                                           _red(g * diff, weight)), "Lerp")


def addcmul(x, t1, t2, value=1):
    return add(x, mul(mul(t1, t2), value)) if value != 1 else add(x, mul(t1, t2))


def addcdiv(x, t1, t2, value=1):
    return add(x, mul(div(t1, t2), value)) if value != 1 else add(x, div(t1, t2))


# ---- comparisons (no gradient) --------------------------------------------------------------------------
def _cmp(fn):
    def op(a, b):
        A, B = _operands(a, b)
        return Tensor._wrap(fn(A, B))

    return op


for _n, _fn in {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
                "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}.items():
    register(_n, f"__{_n}__")(_cmp(_fn))


@register("logical_not")
def logical_not(x):
    return Tensor._wrap(backend.array_module(x._data).logical_not(x._data))


@register("isfinite")
def isfinite(x):
    return Tensor._wrap(backend.array_module(x._data).isfinite(x._data))


@register("isnan")
def isnan(x):
    return Tensor._wrap(backend.array_module(x._data).isnan(x._data))


@register("isinf")
def isinf(x):
    return Tensor._wrap(backend.array_module(x._data).isinf(x._data))


# ---- operators ------------------------------------------------------------------------------------------
register("add", "__add__")(add)
register("sub", "__sub__")(sub)
register("mul", "__mul__")(mul)
register("div", "__truediv__", "true_divide")(div)
register("pow", "__pow__")(pow_)
register("maximum")(maximum)
register("minimum")(minimum)
register("clamp", "clip")(clamp)
register("lerp")(lerp)
register("addcmul")(addcmul)
register("addcdiv")(addcdiv)
register("__neg__")(globals()["neg"])
register("__abs__")(globals()["abs"])
Tensor.__radd__ = lambda self, o: add(o, self)
Tensor.__rsub__ = lambda self, o: sub(o, self)
Tensor.__rmul__ = lambda self, o: mul(o, self)
Tensor.__rtruediv__ = lambda self, o: div(o, self)
Tensor.__rpow__ = lambda self, o: pow_(o, self)
Tensor.__floordiv__ = lambda self, o: div(self, o, rounding_mode="floor")
Tensor.__and__ = lambda self, o: Tensor._wrap(self._data & arr(o, self._data))
Tensor.__or__ = lambda self, o: Tensor._wrap(self._data | arr(o, self._data))
Tensor.__invert__ = lambda self: Tensor._wrap(~self._data)
Tensor.clamp_min = lambda self, m: clamp(self, min=m)
Tensor.clamp_max = lambda self, m: clamp(self, max=m)


# ---- in-place -------------------------------------------------------------------------------------------
def _make_inplace(fn):
    def method(self, *args, **kwargs):
        return inplace(self, fn(self, *args, **kwargs))

    return method


for _n, _fn in {"add_": add, "sub_": sub, "mul_": mul, "div_": div, "pow_": pow_, "addcmul_": addcmul,
                "addcdiv_": addcdiv, "lerp_": lerp, "clamp_": clamp, "clip_": clamp, "maximum_": maximum,
                "minimum_": minimum}.items():
    setattr(Tensor, _n, _make_inplace(_fn))
for _n in ("sqrt", "exp", "log", "neg", "abs", "sign", "sigmoid", "tanh", "relu", "reciprocal", "square",
           "floor", "ceil", "round"):
    setattr(Tensor, _n + "_", _make_inplace(globals()[_n]))
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_


def _copy_from(self, src):
    xp = backend.array_module(self._data)
    if isinstance(src, Tensor):
        data = backend.to_device(src._data, self.device)
        moved = backend.device_of(src._data) != self.device
        s_dev, s_dtype = src.device, src.dtype
        out = xp.broadcast_to(data, self._data.shape).astype(self.dtype, copy=True)

        def bw(g):
            return (None, _red(backend.to_device(g, s_dev) if moved else g, src).astype(s_dtype, copy=False))

        res = record(out, (self, src), bw, "Copy")
    else:
        res = Tensor._wrap(xp.broadcast_to(xp.asarray(arr(src), dtype=self.dtype), self._data.shape))
    return inplace(self, res)


@register("zero_")
def zero_(self):
    return _fill(self, 0)


@register("fill_")
def _fill(self, value):
    v = value._data if isinstance(value, Tensor) else value
    if self.requires_grad and grad_mode_enabled() and not self.is_leaf:
        return inplace(self, mul(self, 0) + v)
    return inplace(self, Tensor._wrap(backend.array_module(self._data).full(self._data.shape, v,
                                                                             dtype=self.dtype)))


def grad_mode_enabled():
    from ..grad_mode import is_grad_enabled

    return is_grad_enabled()


Tensor.copy_ = _copy_from
