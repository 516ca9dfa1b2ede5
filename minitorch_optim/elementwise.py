"""The public way to write an elementwise optimizer that gets every path, and the driver that plans a step.

Subclass ``ElementwiseOptimizer`` and give three methods (four with extra scalar state):

* ``state_buffers(group) -> {name: fill}``: the parameter-shaped state, e.g. ``{"exp_avg": 0.0}``;
* ``scalar_state(group) -> {name: initial}``: per-parameter 0-d state (default ``{"step": 0.0}``);
* ``step_scalars(group, lr, state) -> (scalars, new_state)``: the per-step scalars (Python floats, e.g.
  bias corrections) from the current scalar state, and the advanced scalar state;
* ``update(o, p, g, state, group, scalars)``: the elementwise update, written with the op vocabulary
  ``o`` (``OPS``), in place on ``p`` and ``state[name]``.

The for-loop, foreach, fused CPU (Numba), fused CUDA and ``differentiable=True`` paths all run or are
generated from ``update``: the fused kernels are traced from it (flags and other Python branches on
scalars are resolved per step; branching on array values must use ``o.where``).

A step is *planned* per group (``_plan``, the one place every fallback is decided: the flags' path,
sparse gradients, a parameter listed twice, devices and dtypes without kernels, an update the tracer
cannot follow, a kernel still compiling) and then *executed*: the per-tensor loop (for-loop path; the
differentiable path is the same loop on Tensors with grad mode on), the multi-tensor NumPy/CuPy executor
(``_core.foreach``) or the generated kernels (``kernels.execute``), which get finished launches and never
call back into the optimizer.
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor, grad_mode
from autograd.dtypes import LOW_PRECISION as _LOW_PRECISION, get_default_dtype
from autograd.ops.basic import copy_on_write

from . import kernels
from .kernels.numba import launch as _numba_launch  # noqa: F401 - light; not on the first step's clock
from ._core.flat import FlatGroup, SparseGradientError, start_pool
from ._core.foreach import Run, foreach_step, nd1
from ._core.ops import TENSOR_OPS, ops_for
from ._core.trace import UNSCALE, TraceError, attribute_key
from ._core.vocabulary import VOCABULARY
from .optimizer import Optimizer, closure_loss, device_key, scalar

OPS = tuple(VOCABULARY)      # the op vocabulary ``o`` of an update function (``_core/vocabulary.py``)

__all__ = ["ElementwiseOptimizer", "OPS"]

# kernels not compiled yet are compiled in the background while their steps run foreach (same bits);
# False makes every kernel path wait for its compiler instead
BACKGROUND_COMPILE = True


class FlatPlan:
    """One FlatGroup's part of a step: its runs, which of them run foreach, and the kernel launches
    ``(trace, spans, scalars)`` of the others on ``backend``."""

    __slots__ = ("flat", "runs", "backend", "foreach", "launches")

    def __init__(self, flat, runs, backend):
        self.flat, self.runs, self.backend = flat, runs, backend
        self.foreach = runs if backend is None else []
        self.launches = []


class ElementwiseOptimizer(Optimizer):
    """Base of the elementwise optimizers (public as ``minitorch_optim.elementwise.ElementwiseOptimizer``).

    A subclass defines ``state_buffers``, ``step_scalars`` and ``update`` (and ``scalar_state`` when its
    per-parameter scalar state is more than ``step``); see docs/src/extending.md. The built-in algorithms
    are written with the same hooks, so a subclass of one overrides them by these names.
    """

    _sparse_ok = False     # algorithms that take sparse grads on the for-loop path override _sparse_step
    _fused_supported = True   # the update can be traced into a fused kernel (kernels/); False opts out
    _per_tensor_options = ()  # group keys that, when truthy, make the update need whole tensors (norms, means)
    _always_per_tensor = False

    def __init__(self, params, defaults, flags=None):
        """``flags``: ``(foreach, fused, differentiable)`` as given, where ``defaults`` does not hold them all."""
        self._flat_cache = {}      # id(group) -> (group, {device key: FlatGroup})
        super().__init__(params, defaults)
        self._check_flags(*(flags or (defaults.get("foreach"), defaults.get("fused"), defaults.get("differentiable"))))
        if any(device_key(p)[0] == "cpu" for g in self.param_groups for p in g["params"]):
            start_pool()

    # ---- the algorithm's hooks (see the class docstring) -----------------------------------------------
    def state_buffers(self, group):
        """``{name: fill value}`` of the parameter-shaped state buffers, in a fixed order."""
        raise NotImplementedError

    def scalar_state(self, group):
        """``{name: initial value}`` of the per-parameter 0-d state (torch's default dtype)."""
        return {"step": 0.0}

    def step_scalars(self, group, lr, state):
        """``(scalars, new_state)`` from the scalar state ``state`` (Python floats): the per-step scalars
        ``update`` reads, and the advanced scalar state."""
        raise NotImplementedError

    def update(self, o, p, g, state, group, scalars):
        """The elementwise update of ``p`` with gradient ``g`` and state buffers ``state``, written with the
        op vocabulary ``o`` (in place on ``p`` and the buffers; never on ``g``)."""
        raise NotImplementedError

    # ---- path choice ---------------------------------------------------------------------------------
    def _path(self, group):
        """Which path the flags ask for: "differentiable", "fused", "forloop", "foreach" or "auto".

        Explicit flags win. With ``foreach`` and ``fused`` both left at None the default is "auto": the
        fused kernel where every parameter of a device+dtype is a contiguous float32/float64 CPU array and
        Numba can be imported (bitwise equal to the foreach path, one pass over memory instead of one per
        operation), otherwise foreach. (On CUDA the default stays foreach.) See docs/paths.md.
        A group whose update needs whole tensors (``_per_tensor``) takes the for-loop path for foreach and
        auto, and refuses ``fused=True``.
        """
        if group.get("differentiable"):
            return "differentiable"
        if self._per_tensor(group):
            if group.get("fused"):
                opts = [k for k in self._per_tensor_options if group.get(k)]
                why = f"with {', '.join(opts)} " if opts and not self._always_per_tensor else ""
                raise RuntimeError(f"`fused=True` is not available for {self} {why}(its update needs per-tensor "
                                   "reductions or state the kernels do not hold)")
            return "forloop"
        if group.get("fused"):
            return "fused"
        if group.get("foreach") is False:
            return "forloop"
        if group.get("foreach") is None and group.get("fused") is None and self._fused_default():
            return "auto"
        return "foreach"

    def _per_tensor(self, group):
        """Whether this group's update needs each parameter whole (a per-tensor reduction, or state the
        flat buffers cannot hold): then only the for-loop and differentiable paths apply."""
        return self._always_per_tensor or any(group.get(k) for k in self._per_tensor_options)

    def _fused_default(self):
        if not type(self)._fused_supported:
            return False
        from .kernels.numba.launch import available  # noqa: PLC0415 - Numba is imported lazily

        return available()

    def _check_flags(self, foreach, fused, differentiable):
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and not self._fused_default() and any(
                device_key(p)[0] == "cpu" for g in self.param_groups for p in g["params"]):
            from .kernels.numba.launch import unavailable_reason  # noqa: PLC0415

            name = type(self).__name__
            why = (f"the CPU fused kernels need Numba, which cannot be imported here ({unavailable_reason()})"
                   if type(self)._fused_supported else "its update is not traceable (_fused_supported = False)")
            raise RuntimeError(f"`fused=True` is not available for {name} on the CPU: {why}")

    def _sparse_error(self):
        name = type(self).__name__
        return RuntimeError(f"{name} does not support sparse gradients" +
                            (", please consider SparseAdam instead" if "Adam" in name else ""))

    # ---- state ------------------------------------------------------------------------------------------
    def _init_state(self, p, group, like):
        st = self.state.get(p)
        if not st:
            st = {}
            if not self.scalar_state(group) and not self.state_buffers(group):
                return st       # stateless (e.g. SGD without momentum): no entry, as in torch
            self.state[p] = st
            for name, v in self.scalar_state(group).items():
                st[name] = Tensor._wrap(np.array(v, dtype=_scalar_dtype(group, name)))
            xp = ops_for(like).xp
            for name, fill in self.state_buffers(group).items():
                st[name] = Tensor._wrap(xp.full(like.shape, fill, dtype=like.dtype))
        return st

    # ---- step ---------------------------------------------------------------------------------------------
    def _step_begin(self):
        """Refusals that do not need the gradients, before the closure runs (default: none)."""

    def _before_step(self):
        """Checks and optimizer-wide work after the closure, before any group changes (default: none)."""

    def _after_step(self):
        """Optimizer-wide work after every group was stepped (e.g. a global step counter; default: none)."""

    def step(self, closure=None):
        self._step_begin()
        loss = closure_loss(closure)
        found_inf = getattr(self, "found_inf", None)
        if found_inf is not None and float(_first(found_inf)) != 0:
            return loss     # skipped on every path: parameters, state and gradients untouched
        self._before_step()
        grad_scale = getattr(self, "grad_scale", None)
        last = len(self.param_groups) - 1
        for gi, group in enumerate(self.param_groups):
            plan = self._plan(group, grad_scale)
            if plan == "differentiable":
                self._flat_cache.pop(id(group), None)   # the steps rebind the tensors
                with grad_mode.enable_grad(), copy_on_write():
                    self._step_loop(group, differentiable=True)
            elif plan == "forloop":
                with grad_mode.no_grad():
                    self._step_loop(group, differentiable=False)
            else:
                with grad_mode.no_grad():
                    self._execute(group, plan, more=gi < last)
        self._after_step()
        kernels.compile_queued()
        return loss

    def _plan(self, group, grad_scale=None):
        """The step of ``group`` as data: "differentiable", "forloop", or a list of ``FlatPlan`` (one per
        device+dtype). Every fallback is decided here; the gradients are unscaled (``grad_scale``) once
        the step is known to proceed and before they are read: by the Numba kernels themselves (as
        torch's fused kernels do: divided in the compute type, stored back rounded, stepped unrounded),
        elsewhere by dividing the gradient arrays first (``_unscale``)."""
        path = self._path(group)
        if path in ("differentiable", "forloop"):
            _unscale(group["params"], grad_scale)
            return path
        unscaled = []       # params whose gradients were divided already (a sparse fallback divides the rest)
        try:
            flats = self._flat_groups(group)
            if any(f.duplicates for f in flats.values()):
                _unscale(group["params"], grad_scale)
                return "forloop"    # a parameter listed twice is stepped twice, one after the other
            if path == "auto" and any(f.on_cpu and f.dtype in _LOW_PRECISION for f in flats.values()):
                # torch's CPU default is its single-tensor loop, whose float16/bfloat16 numbers differ from
                # both foreach's and fused's
                _unscale(group["params"], grad_scale)
                return "forloop"
            backends = [self._backend(group, path, flat) for flat in flats.values()]
            gs = (_host_scalar(grad_scale) if grad_scale is not None and "numba" in backends
                  else None)      # (a host read: only for the CPU kernels, which take it as a scalar)
            collected = []
            for flat, backend in zip(flats.values(), backends):
                in_kernel = gs is not None and backend == "numba"
                if not in_kernel:
                    _unscale(flat.params, grad_scale)
                    unscaled.extend(flat.params)
                idx = flat.collect(self.state)
                if in_kernel and any(flat.grad_array(i) is not flat.params[i].grad._data for i in idx):
                    # a gradient the kernel reads from a private copy (non-contiguous, another dtype)
                    # cannot take the write-back: this group divides its arrays first instead
                    flat.release()
                    _unscale(flat.params, grad_scale)
                    unscaled.extend(flat.params)
                    idx, in_kernel = flat.collect(self.state), False
                collected.append((flat, idx, backend, gs if in_kernel else None))
        except SparseGradientError:        # sparse gradients, or sparse state they left: per tensor
            if not self._sparse_ok:
                raise self._sparse_error() from None
            if path == "fused":     # torch: "`fused` does not support sparse grad"
                raise RuntimeError(f"{type(self).__name__}: `fused=True` does not support sparse gradients") from None
            done = {id(p) for p in unscaled}
            _unscale([p for p in group["params"] if id(p) not in done], grad_scale)
            return "forloop"
        lr = scalar(group["lr"])
        names = list(self.state_buffers(group))
        strict = path == "fused"
        plans = []
        for flat, idx, backend, unscale in collected:
            fp = FlatPlan(flat, self._runs(group, flat, idx, lr, unscale), backend)
            if fp.backend is not None and fp.runs:
                _plan_launches(self, group, fp, names, strict)
            plans.append(fp)
        return plans

    def _backend(self, group, path, flat):
        """The kernel backend for ``flat`` on ``path``, or None for the foreach executor."""
        if path == "foreach":
            if flat.on_cpu and group.get("foreach") is None and group.get("fused") is None:
                _warn_without_numba(type(self))
            return None
        if path == "auto" and not flat.on_cpu:
            return None             # on CUDA the default stays foreach
        backend = kernels.backend(flat)
        why = flat.kernel_cache.get(("refusal", backend), False)    # fixed for the flat group's life
        if why is False:
            why = flat.kernel_cache[("refusal", backend)] = kernels.refusal(backend, flat)
        if why is None:
            return backend
        if path == "fused":
            raise RuntimeError(f"fused=True on the {'CPU' if flat.on_cpu else 'GPU'} cannot step these "
                               f"parameters: {why}")
        return None

    def _runs(self, group, flat, idx, lr, unscale=None):
        """The runs of the params ``idx`` of ``flat`` with their scalars and advanced scalar state;
        ``unscale``: the gradient scale the kernels divide by (``_core.trace.UNSCALE``), or None."""
        out = []
        for i0, i1, lo, hi in flat.runs(idx):
            s = {name: float(arr[i0]) for name, arr in flat.scalars.items()}
            sc, new = self.step_scalars(group, lr, s)
            sc["first"] = i0 in flat.fresh
            if unscale is not None:
                sc[UNSCALE] = unscale

            def update(o, p, g, st, sc=sc):
                self.update(o, p, g, st, group, sc)

            out.append(Run(i0, i1, lo, hi, update, new, sc))
        return out

    def _execute(self, group, plans, more=False):
        """Run ``group``'s plans; ``more``: other groups of this step follow (their launches come soon)."""
        names = list(self.state_buffers(group))
        for k, fp in enumerate(plans):
            flat = fp.flat
            try:
                if fp.foreach:
                    for r in fp.foreach:     # runs left to foreach by a kernel path unscale here
                        if UNSCALE in r.sc:
                            _unscale_arrays([flat.grad_array(i) for i in range(r.i0, r.i1)], r.sc[UNSCALE])
                    foreach_step(flat, fp.foreach, names)
                if fp.launches:
                    kernels.execute(fp.backend, flat, fp.launches, [flat.buffers[n] for n in names],
                                    more or k < len(plans) - 1)
            finally:
                flat.release()
            for r in fp.runs:
                for name, v in r.new.items():
                    flat.scalars[name][r.i0:r.i1] = v

    def _advance(self, group, st, lr):
        s = {name: scalar(st[name]) for name in self.scalar_state(group)}
        sc, new = self.step_scalars(group, lr, s)
        for name, v in new.items():
            st[name]._data[...] = v
        return sc

    def _step_loop(self, group, differentiable):
        """The per-tensor executor: the update on each parameter's own arrays (or Tensors, differentiable),
        with all of its state (also entries the flat buffers do not hold: nested dicts, Python floats)."""
        lr = group["lr"] if differentiable else scalar(group["lr"])
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad
            sparse = getattr(g, "is_sparse", False)
            if sparse and not self._sparse_ok:
                raise self._sparse_error()
            first = not self.state.get(p)
            st = self._init_state(p, group, p._data)
            sc = self._advance(group, st, lr)
            sc["first"] = first
            if sparse:
                self._sparse_step(p, g, st, group, sc)
            elif differentiable:
                self.update(TENSOR_OPS, p, g, _tensors(st), group, sc)
            else:
                self.update(ops_for(p._data), nd1(p._data), nd1(g._data), _arrays(st), group, sc)

    def _flat_groups(self, group):
        """The FlatGroups of ``group`` (one per device+dtype), rebuilt when params or state changed."""
        cache = self._flat_cache
        entry = cache.get(id(group))
        if entry is not None and entry[0] is group and len(entry[1]) == 1:
            flats = entry[1]    # the usual case, one device+dtype: the flat group holds the params' arrays
            if next(iter(flats.values())).valid(group["params"], self.state):
                return flats
        by_key = {}
        for p in group["params"]:
            by_key.setdefault(device_key(p), []).append(p)
        if entry is not None and entry[0] is group and len(entry[1]) == len(by_key):
            flats = entry[1]
            if all(f.valid(by_key.get(k, []), self.state) for k, f in flats.items()):
                return flats
        bufs, scal = self.state_buffers(group), self.scalar_state(group)
        dtypes = {name: _scalar_dtype(group, name) for name in scal}
        flats = {k: FlatGroup(ps, self.state, bufs, scal, dtypes) for k, ps in by_key.items()}
        cache[id(group)] = (group, flats)
        return flats


def _plan_launches(opt, group, fp, names, strict):
    """Trace each run of ``fp`` and group the runs by kernel; a run the tracer cannot follow, or whose
    kernel is still compiling, joins ``fp.foreach``. ``strict`` (``fused=True``) raises for an update the
    tracer cannot follow, and waits for a kernel still compiling only on float16/bfloat16: there torch's
    fused arithmetic (float32 throughout, rounded on store) differs from its foreach (rounded after each
    op), so foreach could not stand in; on float32/float64 both give the same bits and nothing waits.

    Traces come from the flat group's ``TraceCache``: the update depends on the group's values, the step
    scalars and the optimizer's plain attributes (``maximize``...), so a later step with the same flags
    reuses the statements and only recomputes the slot values."""
    launches = {}
    params = group["params"]
    values = {k: v for k, v in group.items() if k != "params"}
    attrs = attribute_key(opt)
    key = None if attrs is None else (type(opt), fp.flat.dtype.str, tuple(names), attrs)

    def make(values, sc):
        grp = {**values, "params": params}
        return lambda o, p, g, st: opt.update(o, p, g, st, grp, sc)

    for r in fp.runs:
        try:
            tr, scalars = fp.flat.trace_cache.lookup(make, (values, r.sc), key, names, fp.flat.dtype)
        except TraceError as e:
            if strict:
                raise RuntimeError(f"fused=True: the update function cannot be traced ({e})") from None
            fp.foreach.append(r)
            continue
        entry = launches.get(tr.key())
        if entry is None:
            entry = launches[tr.key()] = (tr, [], [], [])
        entry[1].append((r.i0, r.i1))
        entry[2].append(scalars)
        entry[3].append(r)
    wait = not BACKGROUND_COMPILE or (strict and fp.flat.dtype.itemsize == 2)
    for tr, spans, scalars, runs in launches.values():
        if kernels.ready(fp.backend, tr, len(names), wait=wait):
            fp.launches.append((tr, spans, scalars))
        else:
            fp.foreach.extend(runs)


_WARNED = []


def _warn_without_numba(cls):
    """One warning per process when the default CPU path is foreach because Numba cannot be imported."""
    if _WARNED or not cls._fused_supported:
        return
    from .kernels.numba.launch import available, unavailable_reason  # noqa: PLC0415

    if available():
        return
    _WARNED.append(True)
    import warnings  # noqa: PLC0415

    warnings.warn(f"minitorch_optim: Numba cannot be imported ({unavailable_reason()}), so elementwise optimizers "
                  "run the foreach path on the CPU (the same numbers, slower). Numba is a dependency of "
                  "minitorch_optim: `pip install numba` restores the fused kernels.", RuntimeWarning, stacklevel=4)


def _first(x):
    d = x._data if isinstance(x, Tensor) else x
    d = d.reshape(-1)[0]
    return d.get() if hasattr(d, "get") else d


def _host_scalar(x):
    """The float value of a 0-d/1-element Tensor, array or number (a device array is read to the host)."""
    return float(_first(x)) if isinstance(x, Tensor) or hasattr(x, "reshape") else float(x)


def _unscale(params, grad_scale):
    """Divide every dense gradient of ``params`` by ``grad_scale`` in place (torch's fused semantics: the
    unscaled gradient is written back), for the groups that step without the kernels' own unscale."""
    if grad_scale is None:
        return
    gs = grad_scale._data if isinstance(grad_scale, Tensor) else grad_scale
    host = None
    for p in params:
        g = p.grad
        if g is None or getattr(g, "is_sparse", False):
            continue
        d = g._data
        if isinstance(d, np.ndarray):
            if host is None:
                host = _host_scalar(gs)
            _unscale_arrays([d], host)
        else:
            _unscale_arrays([d], ops_for(d).xp.asarray(gs).reshape(()))   # on the device: no host read


def _unscale_arrays(arrays, gs):
    """``d /= gs`` for each array, in the parameter dtype, or for float16/bfloat16 in float32 rounded once,
    the quotient the kernels write back (a 16-bit divisor would round the scale: float16 takes 65536 as
    inf). ``gs``: a Python float, or a 0-d device array."""
    for d in arrays:
        low = d.dtype.itemsize == 2
        if isinstance(gs, float):
            s = np.float32(gs) if low else d.dtype.type(gs)
        else:
            s = gs.astype("float32" if low else d.dtype)
        if low:
            d[...] = (d.astype(np.float32) / s).astype(d.dtype)
        else:
            ops_for(d).xp.divide(d, s, out=d)


def _arrays(st):
    """A state dict as arrays (0-d as 1-element views; nested dicts likewise; other values as they are)."""
    out = {}
    for k, v in st.items():
        if isinstance(v, Tensor):
            out[k] = nd1(v._data)
        elif isinstance(v, dict):
            out[k] = _arrays(v)
        else:
            out[k] = v
    return out


def _tensors(st):
    return {k: (_tensors(v) if isinstance(v, dict) else v) for k, v in st.items()}


def _scalar_dtype(group, name):
    """The dtype of a new scalar state entry, as torch keeps it: the default dtype, except that a ``fused=True``
    group counts ``step`` in float32 (torch's fused kernels take a float32 step)."""
    return np.dtype(np.float32) if name == "step" and group.get("fused") else get_default_dtype()
