"""The scheduler base class and the helpers every scheduler shares (torch 2.13 behaviour).

A scheduler owns a list of per-group values (``base_lrs``) and a counter (``last_epoch``). Each
``step()`` advances the counter, asks ``get_lr()`` for the new learning rates and writes them into
``optimizer.param_groups``. A group whose ``lr`` is a 0-d Tensor keeps its Tensor: the new value is
written into it with ``fill_`` so anything holding that Tensor sees the change.
"""
from __future__ import annotations

import functools
import warnings
import weakref

from autograd import Tensor

from ..optimizer import Optimizer
from .fixes import adopt_new_groups, fixes_enabled

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. "
    "Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from "
    "None, the closed form is used instead of the new chainable form, where available. Please open an issue "
    "if you are unable to replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose."
)

_OVERRIDDEN_STEP_WARNING = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler initialization. Please, "
    "make sure to call `optimizer.step()` before `lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)

_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and later, you should "
    "call them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _snapshot(value):
    """A value safe to keep: Tensors are cloned so later in-place updates do not reach it."""
    return value.clone() if isinstance(value, Tensor) else value


def _format_param(name, optimizer, param):
    """One value per param group: a scalar is repeated, a list/tuple must have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(param, (list, tuple)):
        if len(param) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} has "
                             f"{len(param)} values, param_groups has {n}.")
        values = list(param)
    else:
        values = [param] * n
    return [_snapshot(v) for v in values]


def _param_groups_val_list(optimizer, key):
    """``[group[key] for group]`` with Tensors cloned."""
    return [_snapshot(group[key]) for group in optimizer.param_groups]


def _as_fill_value(val):
    """A value ``fill_`` accepts: a Python number, or a Tensor squeezed to 0-d."""
    if isinstance(val, Tensor) and val.ndim != 0:
        return val.reshape(())
    return val


def _update_param_group_val(group, key, val):
    """Store ``val`` in ``group[key]``: in place when the group holds a Tensor, else by assignment."""
    current = group[key]
    if isinstance(current, Tensor):
        current.fill_(_as_fill_value(val))
    else:
        group[key] = val


def _set_momentum(group, value, use_beta1):
    """Write a cycled momentum: into ``betas[0]`` for Adam-like optimizers, else ``momentum``.

    Decided per group, so a MultiOptimizer's Muon groups cycle ``momentum`` and its AdamW groups ``betas``
    (for one optimizer every group has the keys of its defaults: the same choice as torch's)."""
    if use_beta1 and "betas" in group:
        group["betas"] = (value, *group["betas"][1:])
    elif "momentum" in group or not use_beta1:
        group["momentum"] = value


class _Flag:
    """``with _Flag(sched, name):`` sets the boolean attribute ``name`` on ``sched`` for the block."""

    def __init__(self, sched, name):
        self.sched = sched
        self.name = name

    def __enter__(self):
        setattr(self.sched, self.name, True)
        return self

    def __exit__(self, *exc):
        setattr(self.sched, self.name, False)


def _enable_get_lr_call(sched):
    return _Flag(sched, "_get_lr_called_within_step")


def _initial_mode(sched):
    return _Flag(sched, "_is_initial")


def _warn_get_lr_called_within_step(sched):
    if not sched._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                      UserWarning, stacklevel=3)


def _track_optimizer_step(optimizer):
    """Replace ``optimizer.step`` on the instance by a wrapper that records that it ran.

    The scheduler uses the record to warn when ``scheduler.step()`` comes before ``optimizer.step()``.
    The class's ``step`` (already wrapped with the optimizer hooks) is untouched; the wrapper only holds a
    weak reference so the optimizer can still be collected.
    """
    if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        return
    unbound = optimizer.step.__func__
    opt_ref = weakref.ref(optimizer)

    @functools.wraps(unbound)
    def step_and_record(*args, **kwargs):
        opt = opt_ref()
        opt._opt_called = True
        return unbound.__get__(opt, type(opt))(*args, **kwargs)

    step_and_record._wrapped_by_lr_sched = True
    optimizer.step = step_and_record


class LRScheduler:
    """Base class of the learning-rate schedulers.

    A subclass gives ``get_lr()`` (the chainable rule: new lrs from the current ones and ``last_epoch``)
    and, where one exists, ``_get_closed_form_lr()`` (lrs as a function of ``last_epoch`` alone, used by the
    deprecated ``step(epoch)``). Building a scheduler performs its first step, which sets the group lrs.
    ``last_epoch=-1`` starts fresh; another value resumes and needs ``initial_lr`` in every group.
    """

    _get_lr_called_within_step = False
    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _snapshot(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler with "
                        "last_epoch >= 0.\nThis typically happens when:\n1. You're trying to resume training "
                        "from a checkpoint but haven't properly loaded the optimizer state\n2. You're using "
                        "last_epoch >= 0 for a fresh training run (not recommended)")
        self.base_lrs = _param_groups_val_list(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_step(optimizer)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        with _initial_mode(self):
            self.step()

    # ---- checkpointing ----------------------------------------------------------------------------
    def state_dict(self):
        """Every attribute but the optimizer (subclasses also drop what cannot be saved)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)

    # ---- values -------------------------------------------------------------------------------------
    def get_last_lr(self):
        """The lrs written by the last ``step()`` (one per group)."""
        return self._last_lr

    def get_lr(self):
        """The lrs for the current ``last_epoch``; call ``get_last_lr()`` to read them from outside."""
        raise NotImplementedError

    # ---- stepping -----------------------------------------------------------------------------------
    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``, deprecated) and write the new lrs into the groups."""
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn(_OVERRIDDEN_STEP_WARNING, UserWarning, stacklevel=2)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if fixes_enabled():
            adopt_new_groups(self)
        with _enable_get_lr_call(self):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            _update_param_group_val(group, "lr", lr)
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    """Old name of :class:`LRScheduler`, kept for code written against torch < 2.0."""
