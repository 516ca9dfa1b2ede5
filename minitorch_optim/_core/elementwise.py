"""Shared driver for elementwise optimizers: state init, the plan of a step, and its executors.

A subclass gives:
  * ``_buffers(group)``: ordered ``{name: fill value}`` of param-shaped state (e.g. exp_avg: 0.0),
  * ``_scalar_state(group)``: ordered ``{name: initial value}`` of per-parameter 0-d state (e.g. step: 0.0),
  * ``_scalars(group, lr, s)``: given the scalar state ``s`` (Python floats) returns ``(sc, new_s)``: the
    per-step scalars for the update and the advanced scalar state,
  * ``_update(o, p, g, st, group, sc)``: the one elementwise update, written with ``o`` (see ``ops``).

A step is planned once per group (``_plan``: which executor, decided here and nowhere else) and run by
one executor: the per-tensor loop (for-loop path; also the differentiable path on Tensors with grad mode
on, and any group holding a parameter twice, which torch steps twice), the multi-tensor NumPy/CuPy
executor (foreach) or a generated fused kernel (kernels/). The executors get the runs of a ``FlatGroup``
with one update closure per run; they never call back into the optimizer.
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor, grad_mode
from autograd.dtypes import get_default_dtype
from autograd.ops.basic import copy_on_write

from ..optimizer import Optimizer, closure_loss, device_key, scalar
from .flat import FlatGroup, SparseGradientError, run_chunked
from .ops import TENSOR_OPS, ops_for


class Run:
    """Params ``[i0, i1)`` of a FlatGroup (elements ``[lo, hi)``) stepped with one set of scalars."""

    __slots__ = ("i0", "i1", "lo", "hi", "update", "new")

    def __init__(self, i0, i1, lo, hi, update, new):
        self.i0, self.i1, self.lo, self.hi, self.update, self.new = i0, i1, lo, hi, update, new


_HOOKS = (("_buffers", "state_buffers"), ("_scalar_state", "scalar_state"), ("_scalars", "step_scalars"),
          ("_update", "update"))


class ElementwiseOptimizer(Optimizer):
    """Base of the elementwise optimizers (public as ``minitorch_optim.elementwise.ElementwiseOptimizer``).

    A subclass defines ``state_buffers``, ``step_scalars`` and ``update`` (and ``scalar_state`` when its
    per-parameter scalar state is more than ``step``); see docs/src/extending.md. The built-in algorithms
    spell the same hooks with a leading underscore (``_buffers``, ``_scalar_state``, ``_scalars``,
    ``_update``); whichever spelling a class's MRO defines first is used, so a subclass of a built-in may
    override either.
    """

    _sparse_ok = False     # algorithms that take sparse grads on the for-loop path override _sparse_step
    _fused_supported = True   # the update can be traced into a fused kernel (kernels/); False opts out

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for private, public in _HOOKS:
            for k in cls.__mro__:
                if public in k.__dict__ and k is not ElementwiseOptimizer:
                    setattr(cls, private, ElementwiseOptimizer.__dict__[private])   # delegate to the public hook
                    break
                if private in k.__dict__:
                    break

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        self._check_flags(defaults.get("foreach"), defaults.get("fused"), defaults.get("differentiable"))

    # ---- the algorithm's hooks (public spelling; see the class docstring) -------------------------------
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

    def _buffers(self, group):
        return self.state_buffers(group)

    def _scalar_state(self, group):
        return self.scalar_state(group)

    def _scalars(self, group, lr, s):
        return self.step_scalars(group, lr, s)

    def _update(self, o, p, g, st, group, sc):
        return self.update(o, p, g, st, group, sc)

    # ---- path choice ---------------------------------------------------------------------------------
    def _path(self, group):
        """Which path the flags ask for: "differentiable", "fused", "forloop", "foreach" or "auto".

        Explicit flags win. With ``foreach`` and ``fused`` both left at None the default is "auto": the
        fused kernel where every parameter of a device+dtype is a contiguous float32/float64 CPU array and
        Numba can be imported (bitwise equal to the foreach path, one pass over memory instead of one per
        operation), otherwise foreach. (On CUDA the default stays foreach.) See docs/paths.md.
        """
        if group.get("differentiable"):
            return "differentiable"
        if group.get("fused"):
            return "fused"
        if group.get("foreach") is False:
            return "forloop"
        if group.get("foreach") is None and group.get("fused") is None and self._fused_default():
            return "auto"
        return "foreach"

    def _fused_default(self):
        if not type(self)._fused_supported:
            return False
        from ..kernels.numba.launch import available  # noqa: PLC0415 - Numba is imported lazily

        return available()

    def _check_flags(self, foreach, fused, differentiable):
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and not self._fused_default() and any(
                device_key(p)[0] == "cpu" for g in self.param_groups for p in g["params"]):
            from ..kernels.numba.launch import unavailable_reason  # noqa: PLC0415

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
            if not self._scalar_state(group) and not self._buffers(group):
                return st       # stateless (e.g. SGD without momentum): no entry, as in torch
            self.state[p] = st
            for name, v in self._scalar_state(group).items():
                st[name] = Tensor._wrap(np.array(v, dtype=get_default_dtype()))
            xp = ops_for(like).xp
            for name, fill in self._buffers(group).items():
                st[name] = Tensor._wrap(xp.full(like.shape, fill, dtype=like.dtype))
        return st

    # ---- step ---------------------------------------------------------------------------------------------
    def step(self, closure=None):
        loss = closure_loss(closure)
        found_inf = getattr(self, "found_inf", None)
        if found_inf is not None and float(_first(found_inf)) != 0:
            return loss     # skipped on every path: parameters, state and gradients untouched
        grad_scale = getattr(self, "grad_scale", None)
        for group in self.param_groups:
            plan = self._plan(group)
            if grad_scale is not None:
                _unscale(group, grad_scale)
            if plan == "differentiable":
                self.__dict__.setdefault("_flat_cache", {}).pop(id(group), None)   # tensors get rebound
                with grad_mode.enable_grad(), copy_on_write():
                    self._step_loop(group, differentiable=True)
                continue
            with grad_mode.no_grad():
                if plan == "forloop":
                    self._step_loop(group, differentiable=False)
                else:
                    self._step_multi(group, *plan)
        return loss

    def _plan(self, group):
        """The executor for ``group``: "differentiable", "forloop", or for the multi-tensor executors
        ``(flats, {device key: "foreach" | "numba" | "cuda"})``. All fallbacks are decided here."""
        path = self._path(group)
        if path in ("differentiable", "forloop"):
            return path
        plan = {}
        try:
            flats = self._flat_groups(group)
        except SparseGradientError:        # sparse state left by sparse gradients: per tensor
            if not self._sparse_ok:
                raise self._sparse_error() from None
            if path == "fused":     # torch: "`fused` does not support sparse grad"
                raise RuntimeError(f"{type(self).__name__}: `fused=True` does not support sparse gradients") from None
            return "forloop"
        for key, flat in flats.items():
            if flat.duplicates:
                return "forloop"    # a parameter listed twice is stepped twice, one after the other
            plan[key] = "foreach"
            if path == "foreach":
                if flat.on_cpu and group.get("foreach") is None and group.get("fused") is None:
                    _warn_without_numba(type(self))
                continue
            if not flat.on_cpu:
                plan[key] = "cuda" if path == "fused" else "foreach"
                continue
            ok = flat.contiguous and flat.dtype in (np.float32, np.float64) and self._fused_default()
            if ok:
                plan[key] = "numba"
            elif path == "fused":
                raise RuntimeError(f"fused=True on the CPU takes contiguous float32/float64 parameters and "
                                   f"needs Numba; got {flat.dtype}" + ("" if flat.contiguous else " non-contiguous"))
        return flats, plan

    def _advance(self, group, st, lr):
        s = {name: scalar(st[name]) for name in self._scalar_state(group)}
        sc, new = self._scalars(group, lr, s)
        for name, v in new.items():
            st[name]._data[...] = v
        return sc

    def _step_loop(self, group, differentiable):
        lr = group["lr"] if differentiable else scalar(group["lr"])
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad
            if getattr(g, "is_sparse", False):
                if not self._sparse_ok:
                    raise self._sparse_error()
                first = not self.state.get(p)
                st = self._init_state(p, group, p._data)
                sc = self._advance(group, st, lr)
                sc["first"] = first
                self._sparse_step(p, g, st, group, sc)
                continue
            first = not self.state.get(p)
            st = self._init_state(p, group, p._data)
            sc = self._advance(group, st, lr)
            sc["first"] = first
            names = self._buffers(group)
            if differentiable:
                bufs = {k: st[k] for k in names}
                self._update(TENSOR_OPS, p, g, bufs, group, sc)
            else:
                bufs = {k: _nd1(st[k]._data) for k in names}
                self._update(ops_for(p._data), _nd1(p._data), _nd1(g._data), bufs, group, sc)

    def _flat_groups(self, group):
        """The FlatGroups of ``group`` (one per device+dtype), rebuilt when params or state changed."""
        cache = self.__dict__.setdefault("_flat_cache", {})
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
        bufs, scal = self._buffers(group), self._scalar_state(group)
        flats = {k: FlatGroup(ps, self.state, bufs, scal) for k, ps in by_key.items()}
        cache[id(group)] = (group, flats)
        return flats

    def _step_multi(self, group, flats, fused):
        lr = scalar(group["lr"])
        names = list(self._buffers(group))
        try:
            collected = [(key, flat, flat.collect(self.state)) for key, flat in flats.items()]
        except SparseGradientError:
            if not self._sparse_ok:
                raise self._sparse_error() from None
            if group.get("fused"):      # torch: "`fused` does not support sparse grad"
                raise RuntimeError(f"{type(self).__name__}: `fused=True` does not support sparse gradients") from None
            return self._step_loop(group, differentiable=False)    # sparse gradients: per tensor
        for key, flat, idx in collected:
            runs = []
            for i0, i1, lo, hi in flat.runs(idx):
                s = {name: float(arr[i0]) for name, arr in flat.scalars.items()}
                sc, new = self._scalars(group, lr, s)
                sc["first"] = i0 in flat.fresh

                def update(o, p, g, st, sc=sc):
                    self._update(o, p, g, st, group, sc)

                runs.append(Run(i0, i1, lo, hi, update, new))
            executor = fused[key]
            try:
                if executor == "foreach" or not runs:
                    foreach_step(flat, runs, names)
                else:
                    from ..kernels import fused_step  # noqa: PLC0415 - optional machinery

                    fused_step(executor, flat, runs, names, strict=group.get("fused") is True)
            finally:
                flat.release()
            for r in runs:
                for name, v in r.new.items():
                    flat.scalars[name][r.i0:r.i1] = v


def foreach_step(flat, runs, names):
    """The multi-tensor NumPy/CuPy executor: each run's params and gradients as flat arrays (the gradient
    arena itself when every gradient is in its slot), the update over cache-sized chunks, params written back."""
    o = ops_for(flat.arena.buf)
    B = flat.buffers
    for r in runs:
        P, G = flat.gather(r.i0, r.i1, r.lo, r.hi)
        lo = r.lo

        def chunk(a, b, P=P, G=G, r=r):
            r.update(o, P[a - lo:b - lo], G[a - lo:b - lo], {k: B[k][a:b] for k in names})

        run_chunked(chunk, r.lo, r.hi, flat.on_cpu)
        flat.scatter(P, r.i0, r.i1, r.lo)


_WARNED = []


def _warn_without_numba(cls):
    """One warning per process when the default CPU path is foreach because Numba cannot be imported."""
    if _WARNED or not cls._fused_supported:
        return
    from ..kernels.numba.launch import available, unavailable_reason  # noqa: PLC0415

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


def _unscale(group, grad_scale):
    """Divide every dense gradient of ``group`` by ``grad_scale`` in place (torch's fused semantics: the
    unscaled gradient is written back), on every path."""
    gs = grad_scale._data if isinstance(grad_scale, Tensor) else grad_scale
    for p in group["params"]:
        g = p.grad
        if g is None or getattr(g, "is_sparse", False):
            continue
        d = g._data
        if isinstance(d, np.ndarray):
            np.divide(d, d.dtype.type(float(np.asarray(gs).reshape(-1)[0])), out=d)
        else:
            xp = ops_for(d).xp
            xp.divide(d, xp.asarray(gs).reshape(()).astype(d.dtype), out=d)


def _nd1(a):
    """0-d arrays as 1-element views (NumPy turns 0-d results into scalars, which have no ``out=``)."""
    return a.reshape(1) if a.ndim == 0 else a
