"""Tracing an update function into straight-line element code.

``trace(fn, buffers, dtype)`` runs ``fn(o, p, g, st)`` once with ``o = ArrayOps(TraceXP)``: the very
``ArrayOps`` the foreach and for-loop paths use, over a recording array module. Every NumPy call ArrayOps
makes becomes one statement of the trace, in order, so the generated kernels do exactly the operations the
NumPy paths do (same order, same rounding: every scalar operand is rounded to the parameter dtype, as
NumPy does with a Python float meeting a float32 array). Python-level branches of the update (flags,
``weight_decay != 0``, torch's two-sided lerp choosing its form from ``|w| < 0.5``) are taken on the
concrete values, so a trace is valid for the values it was made with; its ``key`` (the statements with
scalars as numbered slots) names the kernel and ``scalars`` are that step's values for the slots.

Statements are ``(target, op, operands)``: targets and operands are local names (``p``, ``g``, ``b0``..
for the buffers, ``t0``.. for temporaries) or scalar slots ``s0``..; ops are ``mul div add sub max min
sqrt neg abs sign gt lt where copy``. Backends turn them into code (kernels/codegen.py).
"""
from __future__ import annotations

import numbers

from .ops import ArrayOps

OPS = {"mul": 2, "div": 2, "add": 2, "sub": 2, "max": 2, "min": 2, "gt": 2, "lt": 2, "sqrt": 1, "neg": 1,
       "abs": 1, "sign": 1, "copy": 1, "where": 3}


class TraceError(TypeError):
    """The update function did something the tracer cannot turn into element code."""


class Sym:
    """A symbolic array: one local variable of the generated element loop."""

    __slots__ = ("tr", "name", "kind")

    def __init__(self, tr, name, kind="f"):
        self.tr, self.name, self.kind = tr, name, kind

    @property
    def dtype(self):
        return self.tr.dtype

    def copy(self):
        return self.tr.emit("copy", (self,))

    def astype(self, dtype, copy=True):
        return self

    def __setitem__(self, key, value):
        if key is not Ellipsis and key != slice(None):
            raise TraceError("only x[...] = y assignments can be traced")
        self.tr.emit("copy", (value,), out=self)

    def __imul__(self, y):
        return self.tr.emit("mul", (self, y), out=self)

    def __itruediv__(self, y):
        return self.tr.emit("div", (self, y), out=self)

    def __iadd__(self, y):
        return self.tr.emit("add", (self, y), out=self)

    def __isub__(self, y):
        return self.tr.emit("sub", (self, y), out=self)

    def __gt__(self, y):
        return self.tr.emit("gt", (self, y))

    def __lt__(self, y):
        return self.tr.emit("lt", (self, y))

    def __bool__(self):
        raise TraceError("an update function may not branch on array values (use o.where)")


class TraceXP:
    """The subset of the NumPy namespace ``ArrayOps`` calls, recording instead of computing."""

    def __init__(self, tr):
        self.tr = tr

    def _op(name):  # noqa: N805 - a small factory for the namespace's functions
        def f(self, *args, out=None):
            return self.tr.emit(name, args, out=out)

        f.__name__ = name
        return f

    multiply, divide, add, subtract = _op("mul"), _op("div"), _op("add"), _op("sub")
    maximum, minimum, sqrt, negative = _op("max"), _op("min"), _op("sqrt"), _op("neg")
    abs, sign = _op("abs"), _op("sign")
    traced_sign = sign  # ArrayOps.sign's torch rule, recorded as the `sign` primitive

    def where(self, c, a, b):
        return self.tr.emit("where", (c, a, b))


class Trace:
    def __init__(self, dtype):
        self.dtype = dtype
        self.stmts = []
        self.scalars = []
        self.written = set()
        self.n_tmp = 0
        self._key = None

    def _operand(self, x):
        if isinstance(x, Sym):
            if x.tr is not self:
                raise TraceError("an array from another trace")
            return x.name
        if isinstance(x, (bool,)) or not isinstance(x, numbers.Real):
            raise TraceError(f"cannot trace an operand of type {type(x).__name__}")
        self.scalars.append(float(x))
        return f"s{len(self.scalars) - 1}"

    def emit(self, op, args, out=None):
        ops = tuple(self._operand(a) for a in args)
        if out is None:
            kind = "b" if op in ("gt", "lt") else "f"
            out = Sym(self, f"t{self.n_tmp}", kind)
            self.n_tmp += 1
        elif out.name[0] in "pgb":
            self.written.add(out.name)
        self.stmts.append((out.name, op, ops))
        return out

    def key(self):
        """The kernel's name: dtype, statements and written locals (hashable; computed once)."""
        k = self._key
        if k is None:
            k = self._key = (str(self.dtype), tuple(self.stmts), tuple(sorted(self.written)))
        return k


def trace(fn, buffers, dtype):
    """Trace ``fn(o, p, g, st)``; ``buffers`` are the state names (in kernel slot order)."""
    tr = Trace(dtype)
    o = ArrayOps(TraceXP(tr))
    p, g = Sym(tr, "p"), Sym(tr, "g")
    st = {name: Sym(tr, f"b{i}") for i, name in enumerate(buffers)}
    fn(o, p, g, st)
    if "g" in tr.written:
        raise TraceError("an update function may not write into the gradient")
    return tr
