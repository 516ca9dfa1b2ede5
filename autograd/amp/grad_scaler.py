"""``GradScaler``: loss scaling for float16 training, torch.amp's API and state machine.

The scale and the growth tracker live on the device as 0-d tensors and are updated there: a step costs
at most one host synchronisation (reading whether an inf/NaN was found, to skip or run the step); with
an optimizer that takes ``grad_scale``/``found_inf`` itself (``fused=True``) the scaler adds none.
"""
from __future__ import annotations

import enum
import inspect
import warnings
from collections import defaultdict

import numpy as np

from .. import backend, dtypes
from ..creation import full
from ..graph.views import increment_version
from ..tensor import Tensor


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _host(x):
    d = x._data
    return d.get() if hasattr(d, "get") else d


def _non_finite_check_and_unscale_(grads, found_inf, inv_scale):
    """torch's ``_amp_foreach_non_finite_check_and_unscale_``: ``found_inf`` becomes 1 where any value
    is inf/NaN; every gradient is multiplied by ``inv_scale`` (low precision computed in float32 and
    rounded once), all on the device, nothing read back."""
    for d in grads:
        xp = backend.array_module(d)
        bad = xp.logical_not(xp.isfinite(d).all())
        found_inf._data = xp.maximum(found_inf._data, bad.astype(found_inf._data.dtype))
        inv = inv_scale._data
        if d.dtype == np.float32:
            xp.multiply(d, inv, out=d)
        else:
            d[...] = (d.astype(np.float32) * inv).astype(d.dtype)


class GradScaler:
    """``GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000, enabled=True)``: multiply the loss by a scale so that small float16
    gradients survive, unscale before the step, skip steps whose gradients overflowed, and adapt the
    scale (halve on overflow, double after ``growth_interval`` clean steps)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled and not backend.cuda_is_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # ---- lazily created device state -------------------------------------------------------------------
    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev):
        self._scale = full((), self._init_scale, dtype=dtypes.float32, device=dev)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=dtypes.int32, device=dev)

    # ---- scale / unscale -------------------------------------------------------------------------------
    def scale(self, outputs):
        """``outputs * scale`` for a tensor, or for every tensor of a (nested) list/tuple/iterable."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(outputs.device)

        def apply_scale(val):
            if isinstance(val, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(val.device)
                return val * self._scale.to(val.device)
            if isinstance(val, (list, tuple)):
                return type(val)(map(apply_scale, val))
            if hasattr(val, "__iter__") and not isinstance(val, (str, bytes)):
                return map(apply_scale, val)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16):
        per_device = defaultdict(list)      # device -> arrays of every dtype (the check is per array)
        for group in optimizer.param_groups:
            for param in group["params"]:
                if not isinstance(param, Tensor):
                    raise AssertionError(f"expected param to be torch.Tensor, got {type(param).__name__}")
                g = param.grad
                if g is None:
                    continue
                if not allow_fp16 and g.dtype == dtypes.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                if getattr(g, "is_sparse", False):
                    if g.dtype == dtypes.float16:     # duplicates summed before the check, as torch
                        param.grad = g = g.coalesce()
                    per_device[str(g.device)].append(g._values()._data)
                else:
                    per_device[str(g.device)].append(g._data)
                    increment_version(g)
        found = {}
        for dev, arrays in per_device.items():
            f = found_inf.to(dev) if str(found_inf.device) != dev else found_inf.clone()
            _non_finite_check_and_unscale_(arrays, f, inv_scale.to(dev))
            found[dev] = f
        return found

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale in place (once per step, before clipping)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        xp = backend.array_module(self._scale._data)
        inv_scale = Tensor._wrap(xp.reciprocal(self._scale._data.astype(np.float64)).astype(np.float32))
        inv_scale = inv_scale.to(self._scale.device)
        found_inf = full((), 0.0, dtype=dtypes.float32, device=self._scale.device)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf, False)
        state["stage"] = OptState.UNSCALED

    def _check_inf_per_device(self, optimizer):
        self._check_scale_growth_tracker("_check_inf_per_device")
        one = full((), 1.0, dtype=dtypes.float32, device=self._scale.device)
        found_inf = full((), 0.0, dtype=dtypes.float32, device=self._scale.device)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = self._unscale_grads_(
            optimizer, one, found_inf, True)
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer):
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    # ---- step / update ---------------------------------------------------------------------------------
    @staticmethod
    def _supports_amp_scaling(optimizer):
        # torch's optimizers say so with this attribute when built with fused=True; ours take
        # grad_scale/found_inf on every path, and are handed them where torch's fused ones would be
        flag = getattr(optimizer, "_step_supports_amp_scaling", None)
        if flag is not None:
            return bool(flag)
        return bool(getattr(optimizer, "defaults", {}).get("fused"))

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        if not sum(float(_host(v)) for v in optimizer_state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless ``unscale_`` already did) and run ``optimizer.step`` unless a gradient held
        inf/NaN; returns what ``step`` returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if self._supports_amp_scaling(optimizer):
            kwargs_ = kwargs
            has_kwarg = "grad_scaler" in inspect.signature(optimizer.step).parameters
            if has_kwarg:
                warnings.warn("GradScaler is going to stop passing itself as a keyword argument to the passed "
                              "optimizer. In the near future GradScaler registers `grad_scale: Tensor` and "
                              "`found_inf: Tensor` to the passed optimizer and let the optimizer use them "
                              "directly.", FutureWarning, stacklevel=2)
                kwargs_.update({"grad_scaler": self})
            else:
                if state["stage"] is OptState.READY:
                    self._check_inf_per_device(optimizer)
                scaler = self._scale
                found_inf = sum(t.to(scaler.device) for t in state["found_inf_per_device"].values())
                optimizer.grad_scale = (getattr(optimizer, "grad_scale", None) if state["stage"] is OptState.UNSCALED
                                        else scaler * getattr(optimizer, "grad_scale", 1))
                optimizer.found_inf = found_inf
            try:
                retval = optimizer.step(*args, **kwargs_)
            finally:
                if not has_kwarg:
                    del optimizer.grad_scale
                    del optimizer.found_inf
            state["stage"] = OptState.STEPPED
            return retval
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """The next scale: ``new_scale`` if given; else times ``backoff_factor`` if any optimizer saw
        inf/NaN since the last update, times ``growth_factor`` after ``growth_interval`` clean steps.
        Computed on the device (no host read)."""
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, (float, int)) and not isinstance(new_scale, bool):
                self._scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if not isinstance(new_scale, Tensor) or new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                if new_scale.dtype != dtypes.float32:
                    raise AssertionError(reason)
                self._scale.copy_(new_scale)
        else:
            found_infs = [f.to(_scale.device) for st in self._per_optimizer_states.values()
                          for f in st["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            found = found_infs[0]._data
            for f in found_infs[1:]:
                found = found + f._data
            self._update_scale(found)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _update_scale(self, found):
        """torch's ``_amp_update_scale_``: products in float64, rounded to the float32 scale; a grown scale
        that is not finite is not taken."""
        s, t = self._scale._data, self._growth_tracker._data
        xp = backend.array_module(s)
        bad = found > 0
        successful = t + 1
        grow = xp.logical_and(xp.logical_not(bad), successful == self._growth_interval)
        grown = (s.astype(np.float64) * self._growth_factor).astype(np.float32)
        backed = (s.astype(np.float64) * self._backoff_factor).astype(np.float32)
        new_s = xp.where(bad, backed, xp.where(xp.logical_and(grow, xp.isfinite(grown)), grown, s))
        new_t = xp.where(xp.logical_or(bad, grow), xp.zeros_like(t), successful.astype(t.dtype))
        s[...] = new_s
        t[...] = new_t
        increment_version(self._scale)

    # ---- accessors and state ---------------------------------------------------------------------------
    def _get_scale_async(self):
        return self._scale

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(_host(self._scale))

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else int(_host(self._growth_tracker))

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise RuntimeError("A GradScaler instance may only be pickled at the beginning of an iteration, "
                                   "or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
