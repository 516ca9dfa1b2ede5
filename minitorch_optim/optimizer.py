"""The Optimizer base: parameter groups, state, hooks, state_dict, zero_grad (torch 2.13 behaviour)."""
from __future__ import annotations

import copy
import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from autograd import Tensor, grad_mode
from autograd.graph.views import bump as bump_version
from autograd.backend import device_of, to_device

from ._core import hooks as _hooks
from ._core.hooks import add_hook
from ._core.load_checks import check_group_keys, check_param_state, fill_group_defaults
from autograd import dtypes as _dtypes


class _RequiredParameter:
    """Marks a hyper-parameter that a group must give (``lr`` of SGD in old torch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(x):
    if isinstance(x, Tensor):
        return "autograd.Tensor"
    t = type(x)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _wrap_step(step):
    """Run the global and instance step hooks around ``step`` (as torch's ``profile_hook_step``)."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        for hook in itertools.chain(_hooks.global_pre_hooks.values(), self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
        out = step(*args, **kwargs)
        # every path writes the parameters' arrays directly: count one in-place write per updated parameter,
        # so a graph that saved them refuses to backward through the old values (as torch)
        for g in self.param_groups:
            for p in g["params"]:
                if p._grad is not None:
                    bump_version(p)
        for hook in itertools.chain(self._optimizer_step_post_hooks.values(), _hooks.global_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper


_HOOK_TABLES = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                "_optimizer_load_state_dict_post_hooks")


class Optimizer:
    """Base class of all optimizers. ``params``: Tensors, dicts (parameter groups) or (name, Tensor) pairs."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _wrap_step(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        for name in _HOOK_TABLES:
            setattr(self, name, OrderedDict())
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ---- groups -------------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyper-parameters (others from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{name}")
            group.setdefault(name, default)
        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error", stacklevel=3)
        seen = set()
        for g in self.param_groups:
            seen.update(g["params"])
            if ("param_names" in group) != ("param_names" in g):
                txt = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if not seen.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        # torch mutates the dict it was given; keep that (schedulers rely on group identity)
        param_group.clear()
        param_group.update(group)
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Reset gradients: to None (default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if getattr(p.grad, "is_sparse", False):
                        p.grad = p.grad.mul(0)
                        continue
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad = False
                    p.grad._data[...] = 0

    def step(self, closure=None):
        raise NotImplementedError

    # ---- hooks --------------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` before ``step``."""
        return add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after ``step``."""
        return add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- state_dict ---------------------------------------------------------------------------------
    def state_dict(self):
        """``{"state": {id: {...}}, "param_groups": [{..., "params": [ids]}]}`` as torch lays it out.

        State values are the live Tensors (as in torch): copy them if you keep stepping.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        sd = self._collect_state_dict()
        for hook in self._optimizer_state_dict_post_hooks.values():
            res = hook(self, sd)
            if res is not None:
                sd = res
        return sd

    def _collect_state_dict(self):
        """The state dict itself, between the state_dict hooks."""
        mapping = {}
        start = 0
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for i, p in enumerate(g["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in g["params"]]
            start += len(packed["params"])
            groups.append(packed)
        # plain dicts holding the live state Tensors (the entries of self.state may be write-through
        # StateEntry dicts of the flat buffers; a state dict is plain data, saved and compared as such)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): dict(v) if isinstance(v, dict) else v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    @staticmethod
    def _cast_state(param, value, key, fused_or_capturable):
        """A copy of one state value on ``param``'s device (and dtype, for floating state but ``step``)."""
        if isinstance(value, Tensor) or isinstance(value, np.ndarray) or type(value).__module__.startswith("cupy"):
            arr = value._data if isinstance(value, Tensor) else value
            if type(arr).__module__.startswith("torch"):
                arr = arr.detach().cpu().numpy()
            arr = to_device(arr, param.device, copy=True)
            if arr is (value._data if isinstance(value, Tensor) else value):
                arr = arr.copy()
            if key == "step":
                if fused_or_capturable:
                    arr = arr.astype(np.float32)
            elif param.is_floating_point() and (arr.dtype.kind == "f" or arr.dtype == _dtypes.bfloat16):
                arr = arr.astype(param.dtype, copy=False)
            return Tensor._wrap(arr)
        if type(value).__module__.startswith("torch"):  # a torch tensor handed over directly
            return Optimizer._cast_state(param, value.detach().cpu().numpy(), key, fused_or_capturable)
        if isinstance(value, dict):
            return {k: Optimizer._cast_state(param, v, k, fused_or_capturable) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state(param, v, None, fused_or_capturable) for v in value)
        return value

    def load_state_dict(self, state_dict, *, by_name=False, strict=True):
        """Load a state_dict from ``state_dict()`` (or torch's, tensors converted to arrays).

        Everything is validated and converted before the optimizer is touched: on error it is unchanged.
        Default: torch's positional matching. ``by_name=True`` gives each parameter the state saved under its
        own name (both sides built from ``named_parameters()``); ``strict=False`` loads what matches. Either
        returns a ``LoadReport`` (loaded, missing, unexpected, mismatched); strict raises ``StateLoadError``.
        """
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        report = self._apply_state_dict(state_dict, by_name, strict)
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)
        return report

    def _apply_state_dict(self, state_dict, by_name, strict):
        """The load itself, between the load_state_dict hooks: the ``LoadReport`` of a matching load, else None."""
        if by_name or not strict:
            from .state_loading import load as _load_matching
            return _load_matching(self, state_dict, by_name=by_name, strict=strict)
        if "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError("state_dict must have 'state' and 'param_groups' entries")
        groups = self.param_groups
        saved = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        for s in saved:
            fill_group_defaults(self, s)
        check_group_keys(self, saved)
        id_map = dict(zip(itertools.chain.from_iterable(s["params"] for s in saved),
                          itertools.chain.from_iterable(g["params"] for g in groups)))
        group_of = {}
        for s in saved:
            for pid in s["params"]:
                group_of[pid] = s
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                s = group_of[k]
                check_param_state(self, k, id_map[k], v, s)
                special = bool(s.get("fused") or s.get("capturable"))
                state[id_map[k]] = self._cast_state(id_map[k], v, None, special)
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.__setstate__({"state": state, "param_groups": new_groups})
        return None

    def _state_spec(self, param, group):
        """``{state name: "param" | "scalar"}`` that a step with ``group`` reads for ``param`` (checked by
        ``load_state_dict``), or None where the class does not describe its state."""
        buffers, scalars = getattr(self, "state_buffers", None), getattr(self, "scalar_state", None)
        if buffers is None or scalars is None:
            return None
        spec = {name: "scalar" for name in scalars(group)}
        spec.update((name, "param") for name in buffers(group))
        return spec

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_TABLES:  # a copy or an unpickled optimizer starts without hooks, as in torch
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        for g in self.param_groups:  # groups from older state dicts get the flags they lack, as in torch
            fill_group_defaults(self, g)
        self._flat_cache = {}

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


class GroupwiseOptimizer(Optimizer):
    """Base of the for-loop-only optimizers (SparseAdam, Adafactor, Muon): ``step`` evaluates the closure
    and runs the subclass's ``_step_group(group)`` for every group with grad mode off."""

    def step(self, closure=None):
        loss = closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group):
        raise NotImplementedError

    def _dense_grad_params(self, group):
        """The params of ``group`` that have a gradient; complex params and sparse gradients are refused."""
        name = type(self).__name__
        out = []
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError(f"{name} does not support complex parameters")
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError(f"{name} does not support sparse gradients")
            out.append(p)
        return out


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_args(**values):
    """torch's constructor checks, in the order given: ``lr`` (a Tensor must have one element), ``betas``
    (each in [0, 1)), and every other value >= 0; ValueErrors with torch's messages."""
    for name, v in values.items():
        if name == "betas":
            check_two_betas(v)
            for i, b in enumerate(v[:2]):
                if not 0.0 <= b < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {b}")
            continue
        if name == "lr" and isinstance(v, Tensor) and v.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= v:
            raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {v}")


def check_two_betas(betas):
    """torch indexes ``betas[1]`` in the constructor: a shorter sequence is an IndexError there, not at step."""
    if len(betas) < 2:
        raise IndexError(f"betas must hold two coefficients (beta1, beta2), but got {tuple(betas)!r}")


def closure_loss(closure):
    """Evaluate a closure with grad mode on (as torch's optimizers do)."""
    if closure is None:
        return None
    with grad_mode.enable_grad():
        return closure()


def scalar(x):
    """A Python float from a float or a 0-d Tensor/array (for step scalars)."""
    if isinstance(x, Tensor):
        return float(x._data)
    return float(x)


def device_key(p):
    return (str(device_of(p._data)), p._data.dtype)
