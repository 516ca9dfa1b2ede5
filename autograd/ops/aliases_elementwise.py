"""torch's remaining small elementwise functions and names: the inverse hyperbolic functions (``acosh``,
``asinh``, ``atanh``), the NumPy-style ``arc*`` aliases, the comparison aliases (``greater``, ``less_equal``,
...) and the in-place comparisons (``eq_``, ``lt_``, ...), ``positive``, ``frac``, ``fmax`` / ``fmin``,
``isneginf`` / ``isposinf``, ``isin``, and the torch-level in-place functions (``torch.exp_(x)``
...), which are the Tensor methods of the same name. Gathered into ``torch.<name>`` by :mod:`.tensor_aliases`.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor
from . import elementwise as ew
from ..graph.views import check_overlap
from .basic import inplace, record, register
from .elementwise import _operands, _out, _unary
from .inplace import _make_inplace


def _is_float(dt):
    return dt.kind in "fc" or dt == dtypes.bfloat16


# ---- inverse hyperbolic functions ----------------------------------------------------------------------------
def _float_unary(name, forward, derivative):
    """A unary op that, as torch, gives integer and bool inputs the default float dtype (their values cast
    first); its backward is ``g * derivative(o, x)`` written in the op vocabulary (so differentiable again)."""
    op = _unary(name, forward, derivative)

    def fn(input, *, out=None):  # noqa: A002
        x = input if isinstance(input, Tensor) else Tensor._wrap(np.asarray(input))
        if not _is_float(x.dtype):
            x = x.to(dtypes.get_default_dtype())
        return op(x, out=out)

    fn.__name__ = name
    return fn


acosh = _float_unary("acosh", lambda xp, x: xp.arccosh(x), lambda o, x: 1 / o.sqrt(x * x - 1))
asinh = _float_unary("asinh", lambda xp, x: xp.arcsinh(x), lambda o, x: 1 / o.sqrt(x * x + 1))
atanh = _float_unary("atanh", lambda xp, x: xp.arctanh(x), lambda o, x: 1 / (1 - x * x))
for _name, _fn in (("acosh", acosh), ("asinh", asinh), ("atanh", atanh)):
    register(_name)(_fn)
    setattr(Tensor, _name + "_", _make_inplace(_fn, _name + "_"))

# NumPy's names for the inverse trigonometric and hyperbolic functions, and the negation / absolute value
_ALIASES = {"arccos": "acos", "arcsin": "asin", "arctan": "atan", "arctan2": "atan2", "arccosh": "acosh",
            "arcsinh": "asinh", "arctanh": "atanh"}
for _alias, _target in _ALIASES.items():
    setattr(Tensor, _alias, getattr(Tensor, _target))
    setattr(Tensor, _alias + "_", getattr(Tensor, _target + "_"))
Tensor.absolute_ = Tensor.abs_
Tensor.negative_ = Tensor.neg_
arccos, arcsin, arctan, arctan2 = ew.acos, ew.asin, ew.atan, ew.atan2
arccosh, arcsinh, arctanh = acosh, asinh, atanh


# ---- comparisons: aliases and in-place forms -------------------------------------------------------------------
_COMPARISONS = {"eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge}
_COMPARISON_ALIASES = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne"}


def _zero_gradients(o, g):
    # torch's EqBackward & co: a comparison's derivative is zero for both operands
    return o.zeros_like(g), o.zeros_like(g)


def _comparison_inplace(compare, name):
    def method(self, other):
        check_overlap(self, (other,))
        truth = compare(self, other)
        # the 0/1 values in self's dtype, recorded so that self's gradient becomes zero (as torch)
        res = record(truth._data.astype(self.dtype), (self, other), _zero_gradients, name.capitalize(), saved=())
        return inplace(self, res)

    method.__name__ = name + "_"
    return method


for _name, _fn in _COMPARISONS.items():
    setattr(Tensor, _name + "_", _comparison_inplace(_fn, _name))
for _alias, _target in _COMPARISON_ALIASES.items():
    setattr(Tensor, _alias, getattr(Tensor, _target))
    setattr(Tensor, _alias + "_", getattr(Tensor, _target + "_"))
greater, greater_equal, less, less_equal, not_equal = (_COMPARISONS[_COMPARISON_ALIASES[n]] for n in
                                                       ("greater", "greater_equal", "less", "less_equal", "not_equal"))


# ---- positive, frac, fmax / fmin -------------------------------------------------------------------------------
@register("positive")
def positive(input):  # noqa: A002
    """``+input``: the tensor itself (as torch), refused for bool tensors."""
    if input.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@register("frac")
def frac(input, *, out=None):  # noqa: A002
    """``input - trunc(input)`` with the sign of ``input`` (floats only); trunc's derivative is zero, so the
    gradient is the incoming one, to any order."""
    if not _is_float(input.dtype):
        raise NotImplementedError(f"\"frac_cpu\" not implemented for '{dtypes.torch_name(input.dtype)}'")
    return _out(ew.sub(input, ew.trunc(input)), out)


Tensor.frac_ = _make_inplace(frac, "frac_")


def _nan_ignoring(input, other, name, self_wins):
    """fmax / fmin as a ``where`` between the operands: ``input`` where it wins (ties included) or ``other`` is
    NaN, else ``other``; the gradient goes to the operand chosen, as torch's."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    A, B, dt, xp = _operands(input, other)
    if dt.kind == "c":
        raise RuntimeError(f"{name} not implemented for complex tensors.")
    with np.errstate(invalid="ignore"):
        pick_input = self_wins(A, B) | (xp.isnan(B) if _is_float(dt) else False)
    return ew.where(Tensor._wrap(xp.asarray(pick_input)), input, other)


@register("fmax")
def fmax(input, other, *, out=None):  # noqa: A002
    return _out(_nan_ignoring(input, other, "fmax", lambda a, b: a >= b), out)


@register("fmin")
def fmin(input, other, *, out=None):  # noqa: A002
    return _out(_nan_ignoring(input, other, "fmin", lambda a, b: a <= b), out)


# ---- predicates (no gradient) -------------------------------------------------------------------------------
def _infinite(input, sign, name):  # noqa: A002
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    X = input._data
    xp = backend.array_module(X)
    if X.dtype.kind == "c":
        raise RuntimeError(f"{name} does not support complex inputs.")
    if not _is_float(X.dtype):
        return Tensor._wrap(xp.zeros(X.shape, dtype=bool))
    return Tensor._wrap(xp.asarray(X == sign * np.inf))


@register("isneginf")
def isneginf(input, *, out=None):  # noqa: A002
    return _out(_infinite(input, -1, "isneginf"), out)


@register("isposinf")
def isposinf(input, *, out=None):  # noqa: A002
    return _out(_infinite(input, 1, "isposinf"), out)


def isin(elements, test_elements, *, assume_unique=False, invert=False, out=None):
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number, not both),
    compared after type promotion; ``invert`` negates the answer."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got ({type(elements).__name__}, "
                        f"{type(test_elements).__name__}), but expected one of:\n * (Tensor elements, Tensor "
                        "test_elements)\n * (Number element, Tensor test_elements)\n * (Tensor elements, Number "
                        "test_element)")
    for arg in (elements, test_elements):
        if not isinstance(arg, (Tensor, numbers.Number)):
            raise TypeError(f"isin(): expected a Tensor or a number, got {type(arg).__name__}")
    like = (elements if isinstance(elements, Tensor) else test_elements)._data
    xp = backend.array_module(like)
    dt = dtypes.result_type(elements, test_elements)   # compared after type promotion, shapes independent
    E, T = (xp.asarray(a._data if isinstance(a, Tensor) else a).astype(dt) for a in (elements, test_elements))
    found = xp.isin(E, T.reshape(-1), assume_unique=assume_unique, invert=invert)
    return _out(Tensor._wrap(xp.asarray(found)), out)


# ---- torch.<name>_(x): the in-place Tensor methods as functions ------------------------------------------------
_INPLACE_FUNCTIONS = ("abs_", "acos_", "arccos_", "acosh_", "arccosh_", "asin_", "arcsin_", "asinh_",
                      "arcsinh_", "atan_", "arctan_", "atanh_", "arctanh_", "ceil_", "clamp_", "clamp_min_",
                      "clamp_max_", "clip_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp_", "exp2_", "expm1_",
                      "fix_", "floor_", "frac_", "log_", "log10_", "log1p_", "log2_", "neg_", "negative_",
                      "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinh_", "sqrt_",
                      "square_", "tan_", "tanh_", "trunc_", "zero_", "fill_")


def _as_function(method_name):
    def fn(input, *args, **kwargs):  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{method_name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, method_name)(*args, **kwargs)

    fn.__name__ = method_name
    fn.__doc__ = f"``torch.{method_name}(input, ...)``: the same as ``input.{method_name}(...)``."
    return fn


globals().update({_name: _as_function(_name) for _name in _INPLACE_FUNCTIONS})

EXPORTS = ("acosh", "asinh", "atanh", "arccos", "arcsin", "arctan", "arctan2", "arccosh", "arcsinh", "arctanh",
           "greater", "greater_equal", "less", "less_equal", "not_equal", "positive", "frac", "fmax", "fmin",
           "isneginf", "isposinf", "isin") + _INPLACE_FUNCTIONS
