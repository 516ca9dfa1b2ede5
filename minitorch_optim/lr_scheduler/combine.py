"""Schedulers made of schedulers: ChainedScheduler (all at once) and SequentialLR (one after another)."""
from __future__ import annotations

from bisect import bisect_right

import warnings

from .base import LRScheduler, _param_groups_val_list, _update_param_group_val
from .fixes import fixes_enabled
from .plateau import ReduceLROnPlateau


def _check_members(owner, optimizer, schedulers):
    name = type(owner).__name__
    for i, sched in enumerate(schedulers):
        if not hasattr(sched, "optimizer"):
            raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(sched, ReduceLROnPlateau) and not fixes_enabled():
            raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                             "kwargs to be specified when calling `step`, but got one at index "
                             f"{i} in the given schedulers sequence.")
        if optimizer != sched.optimizer:
            raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but got scheduler "
                             f"{type(sched).__name__} at index {i} has {sched.optimizer}, which is different "
                             f"from {type(optimizer).__name__}.")


def _composite(sched):
    return hasattr(sched, "_schedulers")


def _step_member(sched, metrics):
    """Step one member; a ReduceLROnPlateau member (allowed under the fixes) gets the metric."""
    if isinstance(sched, ReduceLROnPlateau):
        if metrics is None:
            raise TypeError("a ReduceLROnPlateau member needs the metric: call step(metrics)")
        sched.step(metrics)
    elif metrics is not None and _composite(sched):
        sched.step(metrics)
    else:
        sched.step()


class _Composite(LRScheduler):
    """state_dict of a scheduler of schedulers: its own attributes plus each member's state_dict."""

    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        members = state_dict.pop("_schedulers")
        try:
            self.__dict__.update(state_dict)
        finally:
            state_dict["_schedulers"] = members
        for sched, sd in zip(self._schedulers, members):
            sched.load_state_dict(sd)


class ChainedScheduler(_Composite):
    """Step every scheduler in the list on each ``step()``; their multiplicative effects compose."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler to be chained, but got no "
                             "scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(self, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _param_groups_val_list(self._schedulers[-1].optimizer, "lr")

    def step(self, metrics=None):
        """Step every member (``metrics`` goes to ReduceLROnPlateau members, allowed under the fixes)."""
        for sched in self._schedulers:
            _step_member(sched, metrics)
        self._last_lr = _param_groups_val_list(self._schedulers[-1].optimizer, "lr")


class SequentialLR(_Composite):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``.

    Building it rewinds the lrs to ``initial_lr`` and every member's ``last_epoch`` by one (each member's
    constructor already stepped once), then replays the first step of the first member. At a milestone
    the next member restarts at epoch 0 (its closed form where it has one).
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, but got no scheduler.")
        _check_members(self, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be one more than the "
                             f"number of milestone points, but got number of schedulers {len(schedulers)} and the "
                             f"number of milestones to be equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        fixed = fixes_enabled()
        resume = last_epoch if fixed and last_epoch > -1 else None
        self.last_epoch = 0 if resume is not None else last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            _update_param_group_val(group, "lr", group["initial_lr"])
        first = self._schedulers[bisect_right(self._milestones, 0)]
        if fixed and _composite(first):
            # a composite member was initialised by its own constructor: keep it, and its first lrs
            for member in self._schedulers:
                if member is not first:
                    self.recursive_undo(member)
            for group, lr in zip(optimizer.param_groups, first.get_last_lr(), strict=True):
                _update_param_group_val(group, "lr", lr)
        else:
            self.recursive_undo()
            first._initial_step()
        self._last_lr = first.get_last_lr()
        if resume is not None:  # where a fresh schedule stepped `last_epoch` times is
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                for _ in range(resume):
                    self.step()

    def recursive_undo(self, sched=None):
        """Take one epoch back from every (nested) member scheduler."""
        node = self if sched is None else sched
        if hasattr(node, "_schedulers"):
            for member in node._schedulers:
                self.recursive_undo(member)
        elif hasattr(node, "last_epoch"):
            node.last_epoch -= 1

    def step(self, metrics=None):
        """Advance one epoch (``metrics`` goes to a ReduceLROnPlateau member, allowed under the fixes)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            if isinstance(sched, ReduceLROnPlateau):  # starts from the groups' initial lrs, patience afresh
                for group in self.optimizer.param_groups:
                    _update_param_group_val(group, "lr", group["initial_lr"])
                sched._reset()
                sched._last_lr = _param_groups_val_list(self.optimizer, "lr")
            else:
                sched._update_lr(0)
        else:
            _step_member(sched, metrics)
        self._last_lr = sched.get_last_lr()
