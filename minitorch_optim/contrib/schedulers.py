"""Schedulers torch lacks, as ``pytorch_optimizer.lr_scheduler`` 4.1.0 computes them, written as
``minitorch_optim.lr_scheduler.LRScheduler`` subclasses (so ``state_dict``, ``get_last_lr``, and chaining with
``ChainedScheduler`` / ``SequentialLR`` work as for torch's schedulers).

* ``CosineScheduler`` / ``LinearScheduler`` / ``PolyScheduler``: linear warm-up from ``init_lr`` to ``max_lr``
  over ``warmup_steps``, then cosine / linear / polynomial decay towards ``min_lr`` at ``t_max``. As the
  reference, building one sets every group's lr to ``min_lr`` and the ``n``-th ``step()`` sets the value of
  step ``n - 1``; all groups get the same lr. Deviation: the reference classes are not torch schedulers
  (their ``get_lr()`` returns one float); here ``get_lr()``/``get_last_lr()`` return one lr per group, and
  ``step_t`` is the reference's step counter.
* ``get_wsd_schedule`` (warmup-stable-decay) returns a ``WarmupStableDecayLR``, a ``LambdaLR`` over
  ``get_wsd_scheduler_lambda`` exactly as the reference's (which returns a torch ``LambdaLR``).
* ``CosineAnnealingWarmupRestarts``: linear warm-up + cosine per cycle, cycles growing by ``cycle_mult``,
  peak lr decaying by ``gamma`` per cycle (the reference's own LRScheduler subclass).
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from ..lr_scheduler import LambdaLR, LRScheduler
from ..lr_scheduler.base import _warn_get_lr_called_within_step
from ._loop import NegativeLRError, NegativeStepError


class _LinearWarmupScheduler(LRScheduler):
    def __init__(self, optimizer, t_max, max_lr, min_lr=0.0, init_lr=0.0, warmup_steps=0, last_epoch=-1):
        self.total_steps = t_max
        self.max_lr = max_lr
        self.min_lr = min_lr
        self.init_lr = init_lr
        self.warmup_steps = warmup_steps
        for value, name in ((min_lr, "min_lr"), (max_lr, "max_lr"), (init_lr, "init_lr")):
            if value < 0:
                raise NegativeLRError(value, name)
        if t_max < 0:
            raise NegativeStepError(t_max, "t_max")
        if warmup_steps < 0:
            raise NegativeStepError(warmup_steps, "warmup_steps")
        super().__init__(optimizer, last_epoch)
        self.base_lrs = [min_lr for _ in optimizer.param_groups]

    @property
    def step_t(self):
        """Steps taken (the reference's counter)."""
        return self.last_epoch

    def value(self, t):
        """The lr the reference sets at its step counter ``t`` (0-based)."""
        if t < self.warmup_steps:
            return self.init_lr + (self.max_lr - self.init_lr) * t / self.warmup_steps
        if t == self.warmup_steps:
            return self.max_lr
        return self._step(t)

    def _step(self, t):
        raise NotImplementedError

    def _get_closed_form_lr(self):
        v = self.min_lr if self.last_epoch <= 0 else self.value(self.last_epoch - 1)
        return [v for _ in self.optimizer.param_groups]

    def get_lr(self):
        _warn_get_lr_called_within_step(self)
        return self._get_closed_form_lr()


class LinearScheduler(_LinearWarmupScheduler):
    """Linear warm-up, then linear decay from ``max_lr`` to ``min_lr`` at ``t_max``."""

    def _step(self, t):
        span = self.total_steps - self.warmup_steps
        return self.max_lr + (self.min_lr - self.max_lr) * (t - self.warmup_steps) / span


class CosineScheduler(_LinearWarmupScheduler):
    """Linear warm-up, then half a cosine from ``max_lr`` to ``min_lr`` at ``t_max``."""

    def _step(self, t):
        phase = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps) * math.pi
        return float(self.min_lr + (self.max_lr - self.min_lr) * (np.cos(phase) + 1.0) / 2.0)


class PolyScheduler(_LinearWarmupScheduler):
    """Linear warm-up, then ``min_lr + (max_lr - min_lr) (t - warmup_steps)^poly_order`` (as the reference)."""

    def __init__(self, optimizer, poly_order=0.5, **kwargs):
        self.poly_order = poly_order
        if poly_order <= 0:
            raise ValueError(f"poly_order must be positive. {poly_order}")
        super().__init__(optimizer, **kwargs)

    def _step(self, t):
        return self.min_lr + (self.max_lr - self.min_lr) * (t - self.warmup_steps) ** self.poly_order


# ---- warmup-stable-decay --------------------------------------------------------------------------------------
def get_wsd_scheduler_lambda(current_step, *, num_warmup_steps, num_stable_steps, num_decay_steps, min_lr_ratio,
                             num_cycles, cooldown_type):
    """The lr factor at ``current_step``: linear warm-up, 1 while stable, then the cooldown, then ``min_lr_ratio``."""
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    if current_step < num_warmup_steps + num_stable_steps:
        return 1.0
    if current_step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress_steps = current_step - num_warmup_steps - num_stable_steps
        if cooldown_type == "cosine":
            progress = float(progress_steps) / float(max(1, num_decay_steps))
            value = max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
            return (1.0 - min_lr_ratio) * value + min_lr_ratio
        if cooldown_type == "1-sqrt":
            return 1.0 - math.sqrt(progress_steps / num_decay_steps)
        if cooldown_type == "1-square":
            return 1.0 - math.pow(progress_steps / num_decay_steps, 2)
        if cooldown_type == "linear":
            return 1.0 - progress_steps / num_decay_steps
    return min_lr_ratio


class WarmupStableDecayLR(LambdaLR):
    """Warmup-stable-decay (``cooldown_type`` 'cosine', '1-sqrt', '1-square' or 'linear')."""

    def __init__(self, optimizer, num_warmup_steps, num_stable_steps, num_decay_steps, min_lr_ratio=0.0,
                 num_cycles=0.5, cooldown_type="1-sqrt", last_epoch=-1):
        fn = partial(get_wsd_scheduler_lambda, num_warmup_steps=num_warmup_steps, num_stable_steps=num_stable_steps,
                     num_decay_steps=num_decay_steps, min_lr_ratio=min_lr_ratio, num_cycles=num_cycles,
                     cooldown_type=cooldown_type)
        super().__init__(optimizer, fn, last_epoch)


def get_wsd_schedule(optimizer, num_warmup_steps, num_stable_steps, num_decay_steps, min_lr_ratio=0.0,
                     num_cycles=0.5, cooldown_type="1-sqrt", last_epoch=-1):
    """Warmup-stable-decay schedule (pytorch_optimizer's ``get_wsd_schedule``)."""
    return WarmupStableDecayLR(optimizer, num_warmup_steps, num_stable_steps, num_decay_steps, min_lr_ratio,
                               num_cycles, cooldown_type, last_epoch)


# ---- cosine with warm-up and restarts --------------------------------------------------------------------------
class CosineAnnealingWarmupRestarts(LRScheduler):
    """Cycles of linear warm-up from ``min_lr`` to the cycle's peak, then cosine back to ``min_lr``."""

    def __init__(self, optimizer, first_cycle_steps, cycle_mult=1.0, max_lr=1e-4, min_lr=1e-6, warmup_steps=0,
                 gamma=0.9, last_epoch=-1):
        if warmup_steps >= first_cycle_steps:
            raise ValueError(f"warmup_steps must be smaller than first_cycle_steps. {warmup_steps} < "
                             f"{first_cycle_steps}")
        self.first_cycle_steps = first_cycle_steps
        self.cycle_mult = cycle_mult
        self.base_max_lr = max_lr
        self.max_lr = max_lr
        self.min_lr = min_lr
        self.warmup_steps = warmup_steps
        self.gamma = gamma
        self.cur_cycle_steps = first_cycle_steps
        self.step_in_cycle = last_epoch
        self.last_epoch = last_epoch
        self.cycle = 0
        self.base_lrs = []
        super().__init__(optimizer, last_epoch)
        self.init_lr()

    def init_lr(self):
        self.base_lrs = []
        for group in self.optimizer.param_groups:
            group["lr"] = self.min_lr
            self.base_lrs.append(self.min_lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self):
        if self.step_in_cycle == -1:
            return self.base_lrs
        if self.step_in_cycle < self.warmup_steps:
            return [(self.max_lr - b) * self.step_in_cycle / self.warmup_steps + b for b in self.base_lrs]
        return [b + (self.max_lr - b) * (1 + math.cos(math.pi * (self.step_in_cycle - self.warmup_steps)
                                                     / (self.cur_cycle_steps - self.warmup_steps))) / 2.0
                for b in self.base_lrs]

    def _next_cycle_steps(self):
        return max(1, int((self.cur_cycle_steps - self.warmup_steps) * self.cycle_mult)) + self.warmup_steps

    def step(self, epoch=None):
        if epoch is None:
            epoch = self.last_epoch + 1
            self.step_in_cycle += 1
            if self.step_in_cycle >= self.cur_cycle_steps:
                self.cycle += 1
                self.step_in_cycle -= self.cur_cycle_steps
                self.cur_cycle_steps = self._next_cycle_steps()
        elif epoch >= self.first_cycle_steps:
            if self.cycle_mult == 1.0:
                self.step_in_cycle = epoch % self.first_cycle_steps
                self.cycle = epoch // self.first_cycle_steps
            else:
                self.cycle = 0
                self.cur_cycle_steps = self.first_cycle_steps
                self.step_in_cycle = epoch
                while self.step_in_cycle >= self.cur_cycle_steps:
                    self.step_in_cycle -= self.cur_cycle_steps
                    self.cycle += 1
                    self.cur_cycle_steps = self._next_cycle_steps()
        else:
            self.cycle = 0
            self.cur_cycle_steps = self.first_cycle_steps
            self.step_in_cycle = epoch
        self.max_lr = self.base_max_lr * self.gamma ** self.cycle
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
