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
        self.slot_src = []       # per slot: the expression of a Scalar operand, None for a plain number
        self.written = set()
        self.n_tmp = 0
        self._key = None

    def _operand(self, x):
        if isinstance(x, Sym):
            if x.tr is not self:
                raise TraceError("an array from another trace")
            return x.name
        if isinstance(x, Scalar):
            self.scalars.append(float(x.v))
            self.slot_src.append(x.src)
            return f"s{len(self.scalars) - 1}"
        if isinstance(x, (bool,)) or not isinstance(x, numbers.Real):
            raise TraceError(f"cannot trace an operand of type {type(x).__name__}")
        self.scalars.append(float(x))
        self.slot_src.append(None)
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
        """The kernel's name: dtype, statements and written locals, computed once, as a string (which keeps
        its hash: a step looks its kernel up several times, and a tuple hashes every statement again)."""
        k = self._key
        if k is None:
            k = self._key = repr((str(self.dtype), tuple(self.stmts), tuple(sorted(self.written))))
        return k


# A step-scalar entry (``sc[UNSCALE]``, set by the driver) that makes the kernel unscale the gradient itself,
# as torch's fused kernels take ``grad_scale``: the first statement divides ``g`` by it in the compute type
# (float32 for 16-bit parameters), the quotient is stored back into the gradient (rounded on store) and the
# update steps with the unrounded quotient.
UNSCALE = "_unscale_by"


def trace(fn, buffers, dtype, unscale=None):
    """Trace ``fn(o, p, g, st)``; ``buffers`` are the state names (in kernel slot order); ``unscale``: the
    gradient scale to divide ``g`` by first (see ``UNSCALE``), or None."""
    tr = Trace(dtype)
    o = ArrayOps(tr)
    p, g = Sym(tr, "p"), Sym(tr, "g")
    st = {name: Sym(tr, f"b{i}") for i, name in enumerate(buffers)}
    if unscale is not None:
        tr.emit("div", g, unscale, out=g)
        tr.written.discard("g")
    fn(o, p, g, st)
    if "g" in tr.written:
        raise TraceError("an update function may not write into the gradient")
    if unscale is not None:
        tr.written.add("g")
    return tr


def _unscale_of(inputs):
    """The gradient scale a step's scalars (the last of ``inputs``) carry for the kernel, or None."""
    last = inputs[-1] if inputs else None
    return last.get(UNSCALE) if isinstance(last, dict) else None


# ---- reusing a trace across steps ------------------------------------------------------------------------
# A trace is valid for the values it was made with; the per-step scalars (bias corrections, a scheduled
# learning rate) change every step, but the statements rarely do. ``TraceCache`` traces once with those
# numbers as ``Scalar``s: each records the Python arithmetic done on it as an expression, and each comparison
# (the branches of the update and of ArrayOps, e.g. ``alpha != 1``, ``abs(w) < 0.5``) as a guard. A later
# step with the same structure evaluates the guards and the slot expressions on its own numbers (the same
# float operations in the same order, so the same bits) instead of running the update again. Anything that
# takes a Scalar's value another way (``float()``, ``int()``, hashing, formatting) makes that trace
# uncacheable, and a fill is kept only when it reproduces the concrete trace it was made beside.

_PLAIN = (bool, int, str, type(None))


class _Recorder:
    __slots__ = ("consts", "guards", "broken")

    def __init__(self):
        self.consts, self.guards, self.broken = [], [], False

    def const(self, v):
        self.consts.append(v)
        return f"c[{len(self.consts) - 1}]"


class Scalar:
    """A per-step float seen symbolically while a trace is made for ``TraceCache`` (see above)."""

    __slots__ = ("v", "src", "rec")

    def __init__(self, v, src, rec):
        self.v, self.src, self.rec = v, src, rec

    def _other(self, x):
        if isinstance(x, Scalar):
            return x.v, x.src
        if type(x) in (int, float):
            return x, self.rec.const(x)
        return None, None

    def _concrete(self):
        self.rec.broken = True
        return self.v

    def __float__(self):
        return float(self._concrete())

    def __int__(self):
        return int(self._concrete())

    def __index__(self):
        return self._concrete().__index__()

    def __hash__(self):
        return hash(self._concrete())

    def __repr__(self):
        return repr(self._concrete())

    def __format__(self, spec):
        return format(self._concrete(), spec)

    def __round__(self, n=None):
        return round(self._concrete(), n)

    def __bool__(self):
        r = bool(self.v)
        self.rec.guards.append((f"bool({self.src})", r))
        return r

    def __neg__(self):
        return Scalar(-self.v, f"(-{self.src})", self.rec)

    def __pos__(self):
        return Scalar(+self.v, f"(+{self.src})", self.rec)

    def __abs__(self):
        return Scalar(abs(self.v), f"abs({self.src})", self.rec)


def _binary(sym, fn, reflected=False):
    def op(self, x):
        v, src = self._other(x)
        if src is None:
            return NotImplemented
        if reflected:
            return Scalar(fn(v, self.v), f"({src} {sym} {self.src})", self.rec)
        return Scalar(fn(self.v, v), f"({self.src} {sym} {src})", self.rec)
    return op


def _compare(sym, fn):
    def op(self, x):
        v, src = self._other(x)
        if src is None:
            return NotImplemented
        r = fn(self.v, v)
        self.rec.guards.append((f"({self.src} {sym} {src})", r))
        return r
    return op


import operator as _op  # noqa: E402

for _name, (_sym, _fn) in {"add": ("+", _op.add), "sub": ("-", _op.sub), "mul": ("*", _op.mul),
                           "truediv": ("/", _op.truediv), "pow": ("**", _op.pow)}.items():
    setattr(Scalar, f"__{_name}__", _binary(_sym, _fn))
    setattr(Scalar, f"__r{_name}__", _binary(_sym, _fn, reflected=True))
for _name, (_sym, _fn) in {"lt": ("<", _op.lt), "le": ("<=", _op.le), "gt": (">", _op.gt), "ge": (">=", _op.ge),
                           "eq": ("==", _op.eq), "ne": ("!=", _op.ne)}.items():
    setattr(Scalar, f"__{_name}__", _compare(_sym, _fn))
numbers.Real.register(Scalar)


_NUMBERS = (float, int)      # not bool: flags stay part of the key


def _symbolic(value, env, rec):
    """``value`` with its numbers (also inside tuples) as Scalars reading ``e[len(env)]``.. (``env`` grows)."""
    if type(value) in _NUMBERS:
        env.append(value)
        return Scalar(value, f"e[{len(env) - 1}]", rec)
    if type(value) is tuple:
        return tuple(_symbolic(v, env, rec) for v in value)
    return value


def _structure(value, env):
    """The hashable shape of ``value`` for a cache key (numbers to ``env``), or raise TypeError."""
    if type(value) in _NUMBERS:
        env.append(value)
        return type(value)
    if type(value) is tuple:
        return tuple(_structure(v, env) for v in value)
    if type(value) in _PLAIN:
        return value
    raise TypeError


def _shape_of(d, env):
    """``_structure`` of each value of the dict ``d``, as ``((name, shape), ...)`` (the hot path of a step)."""
    out = []
    for n, v in d.items():
        t = type(v)
        if t is float or t is int:
            env.append(v)
            out.append((n, t))
        elif t in _PLAIN:
            out.append((n, v))
        else:
            out.append((n, _structure(v, env)))
    return tuple(out)


def _same_bits(a, b):
    return len(a) == len(b) and all(x == y and str(x) == str(y) if x == y else (x != x and y != y)
                                    for x, y in zip(a, b))


class TraceCache:
    """Traces of one update function by the structure of its inputs (see above); ``lookup`` gives the
    trace and its slot values for one step."""

    LIMIT = 64

    def __init__(self):
        self.entries = {}

    def lookup(self, make, inputs, key, buffers, dtype):
        """``(trace, scalars)`` of ``make(*inputs)`` (an update ``fn(o, p, g, st)``); ``inputs`` are dicts
        whose numbers (also in tuples) may change from step to step, ``key`` the rest of what
        the update reads (hashable; None: not known, so trace afresh and keep nothing). The last input
        holds the step's scalars; its ``UNSCALE`` entry, when present, starts the trace with the unscale."""
        if key is None:
            tr = trace(make(*inputs), buffers, dtype, _unscale_of(inputs))
            return tr, tr.scalars
        env = []
        try:
            k = (key, tuple(_shape_of(d, env) for d in inputs))
        except TypeError:
            k = None
        entry = self.entries.get(k) if k is not None else None
        if entry is not None:
            try:
                vals = entry[1](env, entry[2])
            except ArithmeticError:
                vals = None
            if vals is not None:
                return entry[0], vals
        tr = trace(make(*inputs), buffers, dtype, _unscale_of(inputs))
        if k is not None:
            if len(self.entries) >= self.LIMIT:
                self.entries.clear()
            self.entries[k] = self._fill(tr, make, inputs, env, buffers, dtype)
        return tr, tr.scalars

    @staticmethod
    def _fill(tr, make, inputs, env, buffers, dtype):
        rec = _Recorder()
        sym_env = []
        try:
            sym = [{n: _symbolic(v, sym_env, rec) for n, v in d.items()} for d in inputs]
            st = trace(make(*sym), buffers, dtype, _unscale_of(sym))
        except Exception:  # noqa: BLE001 - whatever the symbolic run cannot do: no reuse, trace each step
            return None
        if rec.broken or st.key() != tr.key():
            return None
        consts = rec.consts
        slots = []
        for src, v in zip(st.slot_src, st.scalars):
            slots.append(f"float({src})" if src is not None else f"c[{len(consts)}]")
            if src is None:
                consts.append(v)
        lines = ["def ev(e, c):"]
        if rec.guards:
            lines.append("    if not (" + " and ".join(f"{g} == {r!r}" for g, r in rec.guards) + "):")
            lines.append("        return None")
        lines.append(f"    return [{', '.join(slots)}]")
        ns = {"abs": abs, "bool": bool, "float": float}
        try:
            exec(compile("\n".join(lines), "<minitorch_optim trace scalars>", "exec"), ns)  # noqa: S102
            vals = ns["ev"](env, consts)
        except Exception:  # noqa: BLE001
            return None
        if vals is None or not _same_bits(vals, tr.scalars):
            return None
        return tr, ns["ev"], consts


_PLAIN = (bool, int, float, str, type(None))
# what the base classes keep on every optimizer; the update reads none of it (it gets the group and ``sc``;
# GradScaler's ``grad_scale``/``found_inf`` reach a kernel as ``sc[UNSCALE]`` and skip a step before any trace)
_FRAMEWORK_ATTRS = frozenset({"param_groups", "state", "defaults", "grad_scale", "found_inf"})


def attribute_key(opt):
    """The public attributes an update may read, as a hashable snapshot (numbers, strings, containers of them,
    and functions by identity), so that changing one retraces; None when one cannot be snapshotted (then the
    update is traced every step). Underscored attributes are the optimizer's own bookkeeping, which reaches
    the update only through ``step_scalars``."""
    items = []
    for k, v in vars(opt).items():
        if k in _FRAMEWORK_ATTRS or k.startswith("_"):
            continue
        snap = _snapshot(v, 6)
        if snap is _UNSNAPPABLE:
            return None
        items.append((k, snap))
    return tuple(items)


_UNSNAPPABLE = object()


def _snapshot(v, depth):
    if type(v) in _PLAIN:
        return v
    if callable(v) and hasattr(v, "__code__") or isinstance(v, type):
        return ("callable", id(v))
    if depth and isinstance(v, (tuple, list, set, frozenset, dict)):
        pairs = sorted(v.items(), key=repr) if isinstance(v, dict) else (
            sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v)
        out = []
        for item in pairs:
            snap = _snapshot(item, depth - 1)
            if snap is _UNSNAPPABLE:
                return _UNSNAPPABLE
            out.append(snap)
        return (type(v).__name__, tuple(out))
    return _UNSNAPPABLE
