"""Wrappers around another optimizer: Lookahead (Zhang et al., 2019) and SAM (Foret et al., 2021), as
pytorch_optimizer 4.1.0. Both work with any optimizer of this package (torch's names or contrib).

Paths: whatever the wrapped optimizer offers; the wrapper's own work (slow-weight interpolation, the
perturbation) is a per-tensor loop.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict

import numpy as np

from autograd import Tensor, grad_mode
from autograd.backend import array_module

from .._core.fma import lerp_
from ..optimizer import Optimizer
from ._loop import NoClosureError, norm, validate_non_negative, validate_options, validate_positive, \
    validate_range, wrap
from .adamp import centralize


def load_optimizer(optimizer, **kwargs):
    """An optimizer instance as it is, or ``optimizer(params, **rest)`` for a class (``params`` in kwargs)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if "params" in kwargs:
        params = kwargs.pop("params")
        return optimizer(params, **kwargs)
    raise ValueError("need to pass `params` when you pass the `torch.optim.Optimizer` instance.")


_HOOKS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
          "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
          "_optimizer_load_state_dict_post_hooks")


def _empty_hooks(obj):
    for name in _HOOKS:
        if not isinstance(obj.__dict__.get(name), dict):
            setattr(obj, name, OrderedDict())


class Lookahead(Optimizer):
    r"""Lookahead: every ``k`` steps of the inner optimizer, ``slow = lerp(fast, slow, 1 - alpha)`` ... i.e.
    the fast weights move to ``fast + (1 - alpha)(slow - fast)`` and the slow weights take that value.
    ``pullback_momentum``: ``'none'``, ``'reset'`` (zero the inner ``momentum_buffer``) or ``'pullback'``
    (interpolate it the same way with ``slow_momentum``). ``param_groups`` are the inner optimizer's (each
    gets a ``counter``); ``state_dict()`` is ``{'lookahead_state': {(group, index): {...}}, 'base_optimizer':
    ...}``; ``backup_and_load_cache()`` / ``clear_and_load_backup()`` swap the slow weights in for evaluation.
    """

    def __init__(self, optimizer, k=5, alpha=0.5, pullback_momentum="none", **kwargs):
        validate_positive(k, "k")
        validate_range(alpha, "alpha", 0.0, 1.0)
        validate_options(pullback_momentum, "pullback_momentum", ["none", "reset", "pullback"])
        self.optimizer = load_optimizer(optimizer, **kwargs)
        _empty_hooks(self)
        self.alpha = alpha
        self.k = k
        self.pullback_momentum = pullback_momentum
        self.state = defaultdict(dict)
        for group in self.param_groups:
            self.init_group(group)
        self.defaults = {"lookahead_alpha": alpha, "lookahead_k": k,
                         "lookahead_pullback_momentum": pullback_momentum, **self.optimizer.defaults}

    def __str__(self):
        return "Lookahead"

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def __getstate__(self):
        return {"state": self.state, "optimizer": self.optimizer, "alpha": self.alpha, "k": self.k,
                "pullback_momentum": self.pullback_momentum}

    def __setstate__(self, state):           # copy / pickle: the reference's fields, hooks start empty
        self.__dict__.update(state)
        _empty_hooks(self)
        self.defaults = {"lookahead_alpha": self.alpha, "lookahead_k": self.k,
                         "lookahead_pullback_momentum": self.pullback_momentum, **self.optimizer.defaults}

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def init_group(self, group):
        group.setdefault("counter", 0)
        for p in group.get("params", []):
            st = self.state[p]
            if "slow_params" not in st:
                st["slow_params"] = wrap(p._data.copy())
                if self.pullback_momentum == "pullback":
                    st["slow_momentum"] = wrap(array_module(p._data).zeros_like(p._data))

    def add_param_group(self, param_group):
        self.optimizer.add_param_group(param_group)
        self.init_group(self.param_groups[-1])

    def backup_and_load_cache(self):
        """Keep the fast weights in ``backup_params`` and load the slow ones into the parameters."""
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["backup_params"] = wrap(p._data.copy())
                p._data[...] = st["slow_params"]._data

    def clear_and_load_backup(self):
        """Restore the fast weights saved by ``backup_and_load_cache``."""
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                p._data[...] = st["backup_params"]._data
                del st["backup_params"]

    def state_dict(self):
        la = {(gi, pi): dict(self.state[p]) for gi, group in enumerate(self.param_groups)
              for pi, p in enumerate(group["params"]) if p in self.state}
        return {"lookahead_state": la, "base_optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state):
        saved = state["lookahead_state"]
        restored = {}
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if (gi, pi) in saved:
                    restored[p] = dict(saved[(gi, pi)])
        n = sum(len(g["params"]) for g in self.param_groups)
        if len(restored) != len(saved) or len(restored) != n:
            raise ValueError("lookahead state does not match the current parameters")
        self.optimizer.load_state_dict(state["base_optimizer"])
        for p, pst in restored.items():
            for key, value in pst.items():
                if isinstance(value, Tensor):
                    pst[key] = wrap(value._data.astype(p._data.dtype, copy=True))
        self.state = defaultdict(dict, restored)

    def update(self, group):
        inner = self.optimizer.state
        for p in group["params"]:
            if p.grad is None:
                continue
            slow = self.state[p]["slow_params"]._data
            lerp_(p._data, slow, 1.0 - self.alpha)
            slow[...] = p._data
            if self.pullback_momentum == "pullback":
                if "momentum_buffer" not in inner[p]:
                    inner[p]["momentum_buffer"] = wrap(array_module(p._data).zeros_like(p._data))
                buf, sm = inner[p]["momentum_buffer"]._data, self.state[p]["slow_momentum"]._data
                lerp_(buf, sm, 1.0 - self.alpha)
                sm[...] = buf
            elif self.pullback_momentum == "reset":
                if isinstance(inner[p].get("momentum_buffer"), Tensor):
                    inner[p]["momentum_buffer"]._data[...] = 0     # in place: the inner state may be a flat view
                else:
                    inner[p]["momentum_buffer"] = wrap(array_module(p._data).zeros_like(p._data))

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                group["counter"] += 1
                if group["counter"] >= self.k:
                    group["counter"] = 0
                    self.update(group)
        return loss


class SAM(Optimizer):
    r"""Sharpness-aware minimisation, closure form: ``step(closure)`` perturbs the weights by
    ``rho * g / ||g||`` (ASAM with ``adaptive``: ``rho * w^2 g / ||w g||``; global norm in float32 as the
    reference), re-evaluates the gradient with ``closure`` (which must recompute loss and gradients), restores
    the weights and steps ``base_optimizer`` (a class, built on the same groups with ``**kwargs``). Gradients
    must be computed before ``step``. ``first_step`` / ``second_step`` can be called by hand. ``step``
    returns None, as the reference.
    """

    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, use_gc=False, perturb_eps=1e-12,
                 foreach=None, **kwargs):
        validate_non_negative(rho, "rho")
        validate_non_negative(perturb_eps, "perturb_eps")
        self.use_gc = use_gc
        self.perturb_eps = perturb_eps
        if foreach is not None:
            kwargs["foreach"] = foreach
        defaults = dict(rho=rho, adaptive=adaptive, foreach=foreach, **kwargs)
        super().__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.state = self.base_optimizer.state

    def __str__(self):
        return "SAM"

    def __getstate__(self):                  # copy / pickle keep the base optimizer (shared groups and state)
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)
        _empty_hooks(self)

    def _grad_norm(self):
        sq = np.float32(0.0)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if group.get("adaptive", False):
                    g = g * array_module(g).abs(p._data)
                n = np.float32(float(norm(g)))
                sq = np.float32(sq + n * n)
        return np.float32(np.sqrt(sq) + np.float32(self.perturb_eps))

    def first_step(self, zero_grad=False):
        with grad_mode.no_grad():
            grad_norm = self._grad_norm()
            for group in self.param_groups:
                scale = np.float32(np.float32(group["rho"]) / grad_norm)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad._data
                    if self.use_gc:
                        g = centralize(g)
                    self.state[p]["old_p"] = wrap(p._data.copy())
                    x = p._data
                    e_w = (x * x) * g if group["adaptive"] else g * 1.0
                    e_w = e_w * x.dtype.type(scale)
                    x += e_w
        if zero_grad:
            self.zero_grad()

    def second_step(self, zero_grad=False):
        with grad_mode.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if "old_p" in self.state[p]:
                        p._data[...] = self.state[p].pop("old_p")._data
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        if closure is None:
            raise NoClosureError(str(self))
        self.first_step(zero_grad=True)
        with grad_mode.enable_grad():
            closure()
        self.second_step()

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.base_optimizer.param_groups = self.param_groups
        self.base_optimizer.state = self.state
