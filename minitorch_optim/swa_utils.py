"""Weight averaging as ``torch.optim.swa_utils`` (torch 2.13): SWA and EMA copies of a model.

``AveragedModel`` keeps a deep copy of a model and folds the model's current weights into it on every
``update_parameters(model)``. The averaging rule is SWA (the equal-weight running mean) by default, or
any rule given by the factories below. Rules built by these factories, and the default, run over flat
storage: the averaged tensors of one device+dtype share one contiguous array, so one update is a single
vector operation per device+dtype (see ``_swa_flat``). A user's own ``avg_fn`` / ``multi_avg_fn`` is
called exactly as torch calls it (per tensor / per list of tensors).

``SWALR`` anneals every group's learning rate to a fixed ``swa_lr``; ``update_bn`` recomputes
BatchNorm statistics for the averaged weights with one pass over the data.
"""
from __future__ import annotations

import copy as _copy
import math
from collections import OrderedDict

import numpy as np

import autograd
from autograd import Tensor, backend
from autograd.nn import Module

from . import _swa_flat as flat
from .lr_scheduler.base import LRScheduler, _format_param, _warn_get_lr_called_within_step
from autograd import dtypes as _dtypes

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _is_float(arr):
    return (arr.dtype.kind in "fc" or arr.dtype == _dtypes.bfloat16)


def _swa_weight(num_averaged):
    """``1 / (n + 1)``; as in torch, a Tensor ``n`` makes this a float32 division."""
    if isinstance(num_averaged, Tensor):
        return float(np.float32(1) / np.float32(num_averaged.item() + 1))
    return 1.0 / (num_averaged + 1)


def _count(num_averaged):
    return int(num_averaged.item()) if isinstance(num_averaged, Tensor) else num_averaged


def _in_place_pairs(kernel, averaged, current, num_averaged):
    """Run a flat ``kernel(a, b, n)`` on each pair of Tensors (what a direct call of a list rule does)."""
    for a, b in zip(averaged, current, strict=True):
        dst = a._data
        src = backend.to_device(b._data, a.device).reshape(-1)
        if dst.flags.c_contiguous:
            kernel(dst.reshape(-1), src, num_averaged)
        else:
            work = dst.reshape(-1)          # a copy for a strided tensor: compute there, write back
            kernel(work, src, num_averaged)
            dst[...] = work.reshape(dst.shape)


def get_ema_multi_avg_fn(decay=0.999):
    """Rule for lists of tensors: ``ema <- decay * ema + (1 - decay) * model`` (a lerp, as torch)."""
    _check_decay(decay)

    def kernel(a, b, _):
        if _is_float(a):
            flat.lerp(a, b, 1 - decay)
        else:
            flat.blend(a, b, decay)

    def ema_update(ema_param_list, current_param_list, _):
        with autograd.no_grad():
            _in_place_pairs(kernel, ema_param_list, current_param_list, _)

    ema_update._flat_kernel = kernel
    return ema_update


def get_swa_multi_avg_fn():
    """Rule for lists of tensors: the running mean ``avg <- avg + (model - avg) / (n + 1)``.

    Floating tensors use torch's lerp with weight ``1 / (n + 1)`` (float32 when ``n`` is a Tensor);
    integer tensors take the true-division mean truncated back to the integer type (torch 2.13 raises for
    them on this path).
    """
    def kernel(a, b, num_averaged):
        if _is_float(a):
            flat.lerp(a, b, _swa_weight(num_averaged))
        else:
            flat.swa_divide(a, b, _count(num_averaged))

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        with autograd.no_grad():
            _in_place_pairs(kernel, averaged_param_list, current_param_list, num_averaged)

    swa_update._flat_kernel = kernel
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """Rule for one tensor, returning the new value: ``decay * ema + (1 - decay) * model``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with autograd.no_grad():
            return decay * ema_param + (1 - decay) * current_param

    ema_update._flat_kernel = lambda a, b, _: flat.blend(a, b, decay)
    return ema_update


def get_swa_avg_fn():
    """Rule for one tensor, returning the new value: ``avg + (model - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        with autograd.no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    swa_update._flat_kernel = lambda a, b, n: flat.swa_divide(a, b, _count(n))
    return swa_update


class AveragedModel(Module):
    """A running average (SWA by default, or EMA / any rule) of a model's weights.

    ``model`` is deep-copied (onto ``device`` when given). Each ``update_parameters(model)`` copies the
    model's values on the first call and then applies ``avg_fn`` (one tensor at a time, returns the new
    value) or ``multi_avg_fn`` (lists of tensors, in place); pass at most one. With ``use_buffers=True``
    the buffers (BatchNorm statistics, ...) are averaged too, otherwise they are copied from the model.
    The model's values are moved to the averaged copy's device, so an EMA can live on the CPU while the
    model trains on CUDA. ``n_averaged`` (an int64 buffer) counts the updates; calling the averaged model
    runs the averaged copy.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = _copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", autograd.tensor(0, dtype=autograd.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers
        self._flat = flat.FlatAverages()

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _pairs(self, model):
        if self.use_buffers:
            mine = [*self.module.parameters(), *self.module.buffers()]
            theirs = [*model.parameters(), *model.buffers()]
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        groups = OrderedDict()
        for a, m in zip(mine, theirs):      # like torch: the shorter list decides
            avgs, models = groups.setdefault((a.device, a.dtype), ([], []))
            avgs.append(a)
            models.append(m)
        return groups

    def update_parameters(self, model):
        """Fold ``model``'s current weights into the average (the first call copies them)."""
        n = int(self.n_averaged.item())
        with autograd.no_grad():
            for (dev, _), (avgs, models) in self._pairs(model).items():
                flat_avg = self._flat.averaged_flat(avgs)
                if n == 0:
                    if flat_avg is not None:
                        flat.copy(flat_avg, self._flat.model_flat(avgs, models, flat_avg))
                else:
                    self._average(dev, avgs, models, flat_avg)
            if not self.use_buffers:        # keep the buffers in sync with the model
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_avg._data[...] = backend.to_device(b_model._data, b_avg.device)
            self.n_averaged._data += 1

    def _average(self, dev, avgs, models, flat_avg):
        """One averaging step for the tensors of one device+dtype."""
        if self.multi_avg_fn is not None:
            kernel = getattr(self.multi_avg_fn, "_flat_kernel", None)
            if kernel is None:
                self.multi_avg_fn([a.detach() for a in avgs], [m.detach().to(dev) for m in models],
                                  self.n_averaged.to(dev))
                return
        elif self.avg_fn is None:
            # torch: the list (lerp) rule on devices with foreach kernels, the per-tensor rule on the CPU
            kernel = (get_swa_avg_fn() if dev.type == "cpu" else get_swa_multi_avg_fn())._flat_kernel
        else:
            kernel = getattr(self.avg_fn, "_flat_kernel", None)
            if kernel is None:
                n_dev = self.n_averaged.to(dev)
                for a, m in zip(avgs, models, strict=True):
                    a.detach().copy_(self.avg_fn(a.detach(), m.detach().to(dev), n_dev))
                return
        if flat_avg is not None:
            kernel(flat_avg, self._flat.model_flat(avgs, models, flat_avg), self.n_averaged)


def _batchnorm_types():
    from autograd.nn import normalization

    return tuple(getattr(normalization, name) for name in ("_BatchNorm",) if hasattr(normalization, name))


def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    The statistics are reset and the momenta set to None for the pass, so each layer keeps the plain
    average over batches (of batch means and unbiased batch variances). A batch is a Tensor, or a
    list/tuple whose first item is the input. The momenta and the model's train/eval mode are restored.
    """
    kinds = _batchnorm_types()
    with autograd.no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, kinds):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` (one value, or one per group) over ``anneal_epochs`` steps.

    ``anneal_strategy`` is ``"cos"`` or ``"linear"``; once annealed the lr stays at ``swa_lr``. The rule is
    chainable: each step recovers the lr the annealing started from and moves along the curve.
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for value, group in zip(swa_lrs, optimizer.param_groups, strict=True):
            group["swa_lr"] = value
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        """The lr the annealing started from, given the current ``lr`` at curve position ``alpha``."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy):
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def _position(self, step):
        return self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))

    def get_lr(self):
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._position(step - 1)
        alpha = self._position(step)
        out = []
        for group in self.optimizer.param_groups:
            start = self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            out.append(group["swa_lr"] * alpha + start * (1 - alpha))
        return out

    def state_dict(self):
        """Every attribute but the optimizer and the annealing function (rebuilt on load)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
