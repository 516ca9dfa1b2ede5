"""Helpers for any optimizer of this package: parameter groups without weight decay for biases and
normalisation weights, layer-wise learning-rate decay, and gradient accumulation over k micro-batches."""
from __future__ import annotations

from autograd import Tensor, grad_mode
from autograd.backend import array_module
from autograd.nn import Module

from ..optimizer import Optimizer, closure_loss

DEFAULT_WD_BAN_LIST = ("bias", "LayerNorm.bias", "LayerNorm.weight")


def _banned_ids(model_or_parameter, wd_ban_list):
    banned = set()
    if isinstance(model_or_parameter, Module):
        for module_name, module in model_or_parameter.named_modules():
            cls = type(module).__name__
            for pname, p in module.named_parameters(recurse=False):
                full = f"{module_name}.{pname}" if module_name else pname
                if any(b in pat for b in wd_ban_list for pat in (full, cls, f"{cls}.{pname}")):
                    banned.add(id(p))
        return banned, list(model_or_parameter.named_parameters())
    named = list(model_or_parameter)
    banned.update(id(p) for n, p in named if any(pat in n for pat in wd_ban_list))
    return banned, named


def get_optimizer_parameters(model_or_parameter, weight_decay, wd_ban_list=DEFAULT_WD_BAN_LIST):
    """Two groups as pytorch_optimizer's helper: ``weight_decay`` for the rest, 0 for parameters whose name,
    module class name or ``Class.param`` contains an entry of ``wd_ban_list`` (with a Module; with a list of
    ``(name, param)`` pairs names only). Empty groups are dropped."""
    banned, named = _banned_ids(model_or_parameter, wd_ban_list)
    groups = [{"params": [p for _, p in named if p.requires_grad and id(p) not in banned],
               "weight_decay": weight_decay},
              {"params": [p for _, p in named if p.requires_grad and id(p) in banned], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def layer_wise_lr_decay(model, lr, lr_decay, layers=None, weight_decay=0.0, wd_ban_list=DEFAULT_WD_BAN_LIST):
    """Param groups with layer-wise lr decay (as in BEiT/ELECTRA fine-tuning).

    ``layers``: name prefixes from the bottom (input side) to the top; by default the model's top-level
    children in order. A parameter under ``layers[i]`` gets ``lr * lr_decay ** (len(layers) - 1 - i)``; one
    matching no prefix gets ``lr``. Each layer is split like ``get_optimizer_parameters`` (``weight_decay`` /
    0 for the ban list). Groups are ordered bottom to top; each carries ``lr``, ``weight_decay`` and
    ``layer_index`` (``len(layers)`` for the unmatched ones).
    """
    if not 0.0 < lr_decay <= 1.0:
        raise ValueError(f"lr_decay must be in the range (0, 1]: {lr_decay}")
    if layers is None:
        layers = [name for name, _ in model.named_children()]
    layers = list(layers)
    banned, named = _banned_ids(model, wd_ban_list)
    n = len(layers)
    buckets = {}
    for name, p in named:
        if not p.requires_grad:
            continue
        idx = next((i for i, pre in enumerate(layers) if name == pre or name.startswith(pre + ".")), n)
        buckets.setdefault((idx, id(p) in banned), []).append(p)
    groups = []
    for (idx, no_wd) in sorted(buckets):
        scale = lr_decay ** (n - 1 - idx) if idx < n else 1.0
        groups.append({"params": buckets[(idx, no_wd)], "lr": lr * scale,
                       "weight_decay": 0.0 if no_wd else weight_decay, "layer_index": idx})
    return groups


class MultiSteps(Optimizer):
    """Gradient accumulation over ``every_k_schedule`` micro-batches (optax's ``MultiSteps``) around any
    optimizer: each ``step()`` adds the current gradients to an accumulator; every k-th call the inner
    optimizer steps once on the mean (``use_grad_mean=True``) or the sum of the k gradients, then the
    accumulator is cleared. Call ``zero_grad()`` (the inner optimizer's) after every micro-step as usual.
    The user's gradients are left as they were (the inner step sees the accumulated one temporarily).
    ``param_groups`` are the inner optimizer's, so lr schedulers work on the wrapper; ``has_updated`` tells
    whether the last ``step()`` stepped the inner optimizer. ``state_dict()`` holds the inner state, the
    micro-step counter and the accumulators.
    """

    def __init__(self, optimizer, every_k_schedule, use_grad_mean=True):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if int(every_k_schedule) != every_k_schedule or every_k_schedule < 1:
            raise ValueError(f"every_k_schedule must be a positive integer: {every_k_schedule}")
        self.optimizer = optimizer
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                     "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            setattr(self, name, {})
        self.every_k_schedule = int(every_k_schedule)
        self.use_grad_mean = use_grad_mean
        self.mini_step = 0
        self.has_updated = False
        self.defaults = optimizer.defaults
        self._acc = {}

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group):
        self.optimizer.add_param_group(param_group)

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def step(self, closure=None):
        loss = closure_loss(closure)
        with grad_mode.no_grad():
            for p in self._params():
                if p.grad is None:
                    continue
                if getattr(p.grad, "is_sparse", False):
                    raise RuntimeError("MultiSteps does not support sparse gradients")
                acc = self._acc.get(p)
                if acc is None:
                    self._acc[p] = p.grad._data.copy()
                else:
                    acc += p.grad._data
        self.mini_step += 1
        self.has_updated = self.mini_step >= self.every_k_schedule
        if not self.has_updated:
            return loss
        kept = {}
        with grad_mode.no_grad():
            for p in self._params():
                kept[p] = p.grad
                acc = self._acc.get(p)
                p.grad = None if acc is None else Tensor._wrap(acc / self.every_k_schedule if self.use_grad_mean
                                                               else acc)
        try:
            self.optimizer.step()
        finally:
            for p, g in kept.items():
                p.grad = g
            self._acc = {}
            self.mini_step = 0
        return loss

    def state_dict(self):
        index = {id(p): i for i, p in enumerate(self._params())}
        return {"base_optimizer": self.optimizer.state_dict(), "mini_step": self.mini_step,
                "accumulators": {index[id(p)]: Tensor._wrap(a.copy()) for p, a in self._acc.items()}}

    def load_state_dict(self, state_dict):
        params = self._params()
        acc = {}
        for i, a in state_dict["accumulators"].items():
            if not 0 <= i < len(params) or tuple(a.shape) != tuple(params[i].shape):
                raise ValueError(f"accumulator {i} does not match the optimizer's parameters")
            arr = a._data if isinstance(a, Tensor) else a
            acc[params[i]] = array_module(params[i]._data).asarray(arr, dtype=params[i]._data.dtype).copy()
        self.optimizer.load_state_dict(state_dict["base_optimizer"])
        self._acc = acc
        self.mini_step = int(state_dict["mini_step"])
