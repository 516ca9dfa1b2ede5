"""Tracing an update function into straight-line element code.

``trace(fn, buffers, dtype)`` runs ``fn(o, p, g, st)`` once with ``o = ArrayOps(recorder)``: the very
``ArrayOps`` the foreach and for-loop paths use, over a recorder instead of an array module. Every primitive ArrayOps
calls becomes one statement of the trace, in order, so the generated kernels do exactly the operations the
NumPy paths do (same order, same rounding: every scalar operand is rounded to the parameter dtype, as
NumPy does with a Python float meeting a float32 array). Python-level branches of the update (flags,
``weight_decay != 0``, torch's two-sided lerp choosing its form from ``|w| < 0.5``) are taken on the
concrete values, so a trace is valid for the values it was made with; its ``key`` (the statements with
scalars as numbered slots) names the kernel and ``scalars`` are that step's values for the slots.

Statements are ``(target, op, operands)``: targets and operands are local names (``p``, ``g``, ``b0``..
for the buffers, ``t0``.. for temporaries) or scalar slots ``s0``..; ops are the ``PRIMITIVES`` of
``vocabulary`` (the recorder stands in for the array module: ``ArrayOps(trace)``). Backends turn them into
code with the templates of the same table (kernels/codegen.py).
"""
from __future__ import annotations

import numbers

from .ops import ArrayOps
from .vocabulary import PRIMITIVES


class TraceError(TypeError):
    """The update function did something the tracer cannot turn into element code."""


class Sym:
    """A symbolic array: one local variable of the generated element loop (``kind`` "f" or "b")."""

    __slots__ = ("tr", "name", "kind")

    def __init__(self, tr, name, kind="f"):
        self.tr, self.name, self.kind = tr, name, kind

    @property
    def dtype(self):
        return self.tr.dtype

    def copy(self):
        return self.tr.emit("copy", self)

    def astype(self, dtype, copy=True):
        return self.tr.emit("cast", self) if self.kind == "b" else self

    def __setitem__(self, key, value):
        if key is not Ellipsis and key != slice(None):
            raise TraceError("only x[...] = y assignments can be traced")
        self.tr.emit("copy", value, out=self)

    def __bool__(self):
        raise TraceError("an update function may not branch on array values (use o.where)")

    def __getattr__(self, name):
        raise TraceError(f"an update function on the fused path may not use .{name} of its arrays "
                         "(per-tensor values are not elementwise)")


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

    def emit(self, op, *args, out=None):
        """Record ``op`` (a ``PRIMITIVES`` name) on ``args``; returns its result (``out`` when given)."""
        prim = PRIMITIVES.get(op)
        if prim is None or len(args) != prim.arity:
            raise TraceError(f"no element operation {op} of {len(args)} operands")
        ops = tuple(self._operand(a) for a in args)
        if out is None:
            out = Sym(self, f"t{self.n_tmp}", "b" if prim.boolean else "f")
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
    o = ArrayOps(tr)
    p, g = Sym(tr, "p"), Sym(tr, "g")
    st = {name: Sym(tr, f"b{i}") for i, name in enumerate(buffers)}
    fn(o, p, g, st)
    if "g" in tr.written:
        raise TraceError("an update function may not write into the gradient")
    return tr
