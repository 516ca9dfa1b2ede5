"""The op vocabulary of the update functions, declared once.

Two tables. ``PRIMITIVES`` are the element operations: each row gives its arity, its NumPy/CuPy function
(a name in the array module, or a function of ``(xp, *args)``), its Numba and its CUDA expression
template, and whether it yields a boolean. ``ArrayOps`` binds them to an array module (or to the
tracer's recorder, ``_core.trace``), the tracer records them by these names, and the kernel generator
(``kernels/codegen.py``) emits each with its template, so an op added here is an op every path has.

``VOCABULARY`` is what an update function calls on ``o``: the ops that are one primitive name it (in
place on the first argument or not) and give their Tensor form (``TensorOps``, the differentiable path);
the others (``None``) are composed from primitives in ``ArrayOps`` and from Tensor methods in
``TensorOps``, in torch's operation order. The per-tensor reductions at the end only run on whole
tensors (for-loop and differentiable paths); the tracer has no primitive for them.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Union

from autograd.ops.elementwise import torch_sign

from .fma import fma as _fma


class Prim(NamedTuple):
    arity: int
    xp: Union[str, Callable, None]     # array-module function name, f(xp, *args), or None (no array call)
    numba: str                         # expression template over the operands {0}, {1}, ...
    cuda: str
    boolean: bool = False


PRIMITIVES = {
    "mul": Prim(2, "multiply", "{0} * {1}", "{0} * {1}"),
    "div": Prim(2, "divide", "{0} / {1}", "{0} / {1}"),
    "add": Prim(2, "add", "{0} + {1}", "{0} + {1}"),
    "sub": Prim(2, "subtract", "{0} - {1}", "{0} - {1}"),
    "max": Prim(2, "maximum", "_max({0}, {1})", "mt_max({0}, {1})"),       # NaN-propagating, as NumPy
    "min": Prim(2, "minimum", "_min({0}, {1})", "mt_min({0}, {1})"),
    "pow": Prim(2, "power", "_pow({0}, {1})", "pow({0}, {1})"),
    "gt": Prim(2, "greater", "{0} > {1}", "{0} > {1}", True),
    "lt": Prim(2, "less", "{0} < {1}", "{0} < {1}", True),
    "eq": Prim(2, "equal", "{0} == {1}", "{0} == {1}", True),
    "sqrt": Prim(1, "sqrt", "np.sqrt({0})", "sqrt({0})"),
    "neg": Prim(1, "negative", "-{0}", "-{0}"),
    "abs": Prim(1, "absolute", "np.abs({0})", "fabs({0})"),
    # torch's sign: +-0 and NaN give +0
    "sign": Prim(1, torch_sign, "(ONE if {0} > ZERO else (MONE if {0} < ZERO else ZERO))", "mt_sign({0})"),
    "where": Prim(3, "where", "({1} if {0} else {2})", "({0} ? {1} : {2})"),
    "copy": Prim(1, None, "{0}", "{0}"),
    "cast": Prim(1, None, "T({0})", "C({0})"),      # a boolean as the parameter's dtype
    # a * b + c rounded once (float32 and narrower: the exact product summed in float64, see _core/fma.py)
    "fma": Prim(3, _fma, "T(np.float64({0}) * np.float64({1}) + np.float64({2}))", "fma({0}, {1}, {2})"),
}

VOCABULARY = {
    # name: (primitive, in place on the first argument, Tensor form) or None (composed)
    "mul_": ("mul", True, lambda x, s: x.mul_(s)),
    "div_": ("div", True, lambda x, s: x.div_(s)),
    "sub_": ("sub", True, lambda x, y: x.sub_(y)),
    "maximum_": ("max", True, lambda x, y: x.maximum_(y)),
    "sqrt_": ("sqrt", True, lambda x: x.sqrt_()),
    "add_scalar_": ("add", True, lambda x, s: x.add_(s)),
    "neg": ("neg", False, lambda x: -x),
    "sub": ("sub", False, lambda x, y: x - y),
    "mul": ("mul", False, lambda x, y: x * y),
    "div": ("div", False, lambda x, y: x / y),
    "sqrt": ("sqrt", False, lambda x: x.sqrt()),
    "abs": ("abs", False, lambda x: x.abs()),
    "sign": ("sign", False, lambda x: x.sign()),
    "maximum": ("max", False, lambda x, y: x.maximum(y)),
    "pow": ("pow", False, lambda x, e: x ** e),
    "gt": ("gt", False, lambda x, s: x > s),
    "lt": ("lt", False, lambda x, s: x < s),
    "eq": ("eq", False, lambda x, s: x == s),
    "fma": ("fma", False, lambda a, b, c: a * b + c),
    "add_": None, "add": None, "addcmul_": None, "addcdiv_": None, "lerp_": None, "copy_": None,
    "clamp_": None, "clone": None, "where": None, "cast": None,
    "numel": None, "sum": None, "mean": None, "norm": None,      # per-tensor reductions
}

REDUCTIONS = ("numel", "sum", "mean", "norm")
