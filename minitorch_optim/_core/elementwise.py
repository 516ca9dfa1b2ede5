"""Shared driver for elementwise optimizers: state init, path choice, and the three paths.

A subclass gives:
  * ``_buffers(group)``: ordered ``{name: fill value}`` of param-shaped state (e.g. exp_avg: 0.0),
  * ``_scalar_state(group)``: ordered ``{name: initial value}`` of per-parameter 0-d state (e.g. step: 0.0),
  * ``_scalars(group, lr, s)``: given the scalar state ``s`` (Python floats) returns ``(sc, new_s)``: the
    per-step scalars for the update and the advanced scalar state,
  * ``_update(o, p, g, st, group, sc)``: the one elementwise update, written with ``o`` (see ``_ops``).
The for-loop path calls ``_update`` per parameter on arrays, the foreach path on flat chunks, the
differentiable path on Tensors with grad mode on.
"""
from __future__ import annotations

from autograd import Tensor, grad_mode
from autograd.ops.basic import copy_on_write

from .flat import FlatGroup, SparseGradientError, run_chunked
from .ops import TENSOR_OPS, ops_for
from ..optimizer import Optimizer, closure_loss, device_key, scalar


class ElementwiseOptimizer(Optimizer):
    _sparse_ok = False     # algorithms that take sparse grads on the for-loop path override _sparse_step

    # ---- to be given by the algorithm ------------------------------------------------------------------
    def _buffers(self, group):
        raise NotImplementedError

    def _scalar_state(self, group):
        return {"step": 0.0}

    def _scalars(self, group, lr, s):
        raise NotImplementedError

    def _update(self, o, p, g, st, group, sc):
        raise NotImplementedError

    # ---- path choice ---------------------------------------------------------------------------------
    _fused_supported = False    # set by algorithms that have fused kernels (kernels/)

    def _path(self, group):
        """Which path steps ``group``: "differentiable", "fused", "forloop", "foreach" or "auto".

        Explicit flags win. With ``foreach`` and ``fused`` both left at None the default is "auto": the
        fused Numba kernel when every parameter of the group is a float32/float64 CPU array, Numba is
        installed and the algorithm has a kernel (it is bitwise equal to the foreach path, and 2-3x
        faster: one pass over memory instead of one per operation), otherwise the flat foreach path.
        (On CUDA the default stays foreach.) Whether a kernel exists is looked up once per class; the
        dtype/device check is made per step on the cached flat groups (``_step_auto``). See docs/paths.md.
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
        ok = type(self).__dict__.get("_fused_cpu_ok")
        if ok is None:
            ok = False
            if self._fused_supported:
                from ..kernels import supported  # noqa: PLC0415 - optional machinery

                ok = supported(type(self).__name__, on_cpu=True)
            type(self)._fused_cpu_ok = ok
        return ok

    def _check_flags(self, foreach, fused, differentiable):
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if fused and differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if fused and not self._fused_default() and any(
                device_key(p)[0] == "cpu" for g in self.param_groups for p in g["params"]):
            from ..kernels.numba.launch import available  # noqa: PLC0415

            name = type(self).__name__
            why = ("the CPU fused kernels need Numba (pip install numba, or the [fast] extra)"
                   if self._fused_supported and not available() else "there is no fused kernel for it")
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
                st[name] = Tensor._wrap(_np_scalar(v))
            xp = ops_for(like).xp
            for name, fill in self._buffers(group).items():
                st[name] = Tensor._wrap(xp.full(like.shape, fill, dtype=like.dtype))
        return st

    # ---- step ---------------------------------------------------------------------------------------------
    def step(self, closure=None):
        loss = closure_loss(closure)
        for group in self.param_groups:
            path = self._path(group)
            if path == "differentiable":
                with grad_mode.enable_grad(), copy_on_write():
                    self._step_loop(group, differentiable=True)
            else:
                with grad_mode.no_grad():
                    if path == "forloop":
                        self._step_loop(group, differentiable=False)
                    elif path == "fused":
                        self._step_fused(group)
                    elif path == "auto":
                        self._step_auto(group)
                    else:
                        self._step_flat(group)
        return loss

    def _step_fused(self, group):
        from ..kernels import fused_step  # noqa: PLC0415 - optional machinery

        fused_step(self, group)

    def _step_auto(self, group):
        """Default path: fused where the CPU kernels take the group's flat buffers, else foreach."""
        if self._sparse_ok and any(p.grad is not None and getattr(p.grad, "is_sparse", False)
                                   for p in group["params"]):
            return self._step_flat(group)
        from ..kernels import fused_step  # noqa: PLC0415 - optional machinery
        from ..kernels.numba.launch import supports_dtype  # noqa: PLC0415

        flats = self._flat_groups(group)
        if not all(f.on_cpu and supports_dtype(f.param.dtype) for f in flats.values()):
            return self._step_flat(group)
        try:
            fused_step(self, group)
        except SparseGradientError:
            raise self._sparse_error() from None

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
            # the usual case, one device+dtype: a valid FlatGroup holds the very arrays (so device and
            # dtype) of the group's params, no need to key every param again
            flats = entry[1]
            if next(iter(flats.values())).valid(group["params"], self.state):
                return flats
        by_key = {}
        for p in group["params"]:
            by_key.setdefault(device_key(p), []).append(p)
        entry = cache.get(id(group))
        if entry is not None and entry[0] is group and len(entry[1]) == len(by_key):
            flats = entry[1]
            if all(f.valid(by_key.get(k, []), self.state) for k, f in flats.items()):
                return flats
        bufs, scal = self._buffers(group), self._scalar_state(group)
        flats = {k: FlatGroup(ps, self.state, bufs, scal) for k, ps in by_key.items()}
        cache[id(group)] = (group, flats)
        return flats

    def _step_flat(self, group):
        if any(p.grad is not None and getattr(p.grad, "is_sparse", False) for p in group["params"]):
            if not self._sparse_ok:
                raise self._sparse_error()
            return self._step_loop(group, differentiable=False)
        lr = scalar(group["lr"])
        for flat in self._flat_groups(group).values():
            idx = flat.collect(self.state)
            o = ops_for(flat.param)
            for i0, i1, lo, hi in flat.runs(idx):
                s = {name: float(arr[i0]) for name, arr in flat.scalars.items()}
                sc, new = self._scalars(group, lr, s)
                sc["first"] = i0 in flat.fresh
                for name, v in new.items():
                    flat.scalars[name][i0:i1] = v
                P, G, B = flat.param, flat.grad, flat.buffers

                def chunk(a, b, P=P, G=G, B=B, sc=sc):
                    self._update(o, P[a:b], G[a:b], {k: v[a:b] for k, v in B.items()}, group, sc)

                run_chunked(chunk, lo, hi, flat.on_cpu)


def _nd1(a):
    """0-d arrays as 1-element views (NumPy turns 0-d results into scalars, which have no ``out=``)."""
    return a.reshape(1) if a.ndim == 0 else a


def _np_scalar(v):
    """Per-parameter 0-d state (``step``, ``mu_product``, ...) in the default dtype, as torch keeps it."""
    import numpy as np

    from autograd import get_default_dtype

    return np.array(v, dtype=get_default_dtype())
