"""Opt-in corrections of scheduler behaviour that torch keeps for compatibility.

By default every scheduler is bit for bit torch's, bugs included. ``set_fixes(True)`` (or, for a block,
``with fixes():``) turns on all of these at once:

* a group added with ``optimizer.add_param_group`` after the scheduler was built is scheduled from its
  own lr (torch: ``LambdaLR``, ``MultiplicativeLR``, ``CosineAnnealingWarmRestarts``, ``CyclicLR`` raise a
  ValueError at the next step, pytorch/pytorch#79888);
* ``SequentialLR`` leaves a composite first member (a ``SequentialLR`` or ``ChainedScheduler``, already
  initialised by its own constructor) as it is, so wrapping a schedule does not change it (torch advances
  it by one step, #196243);
* ``SequentialLR(..., last_epoch=N)`` resumes where a fresh one stepped ``N`` times would be (torch only
  re-runs the first member's first step, #162591);
* ``ChainedScheduler`` and ``SequentialLR`` accept ``ReduceLROnPlateau`` members and forward
  ``step(metrics)`` to them (torch rejects them, #68978, #110761); at a milestone a plateau member starts
  from the groups' ``initial_lr`` with a fresh patience count.

The switch is read when a scheduler is built or stepped; schedulers built with it off behave as torch's.
"""
from __future__ import annotations

import contextlib

_enabled = False


def set_fixes(enabled=True):
    """Turn the corrections on (``True``) or back to torch's behaviour (``False``); returns the old value."""
    global _enabled
    old, _enabled = _enabled, bool(enabled)
    return old


def fixes_enabled():
    return _enabled


@contextlib.contextmanager
def fixes(enabled=True):
    """``with fixes():`` the corrections for the block only."""
    old = set_fixes(enabled)
    try:
        yield
    finally:
        set_fixes(old)


# per-group lists a scheduler keeps besides base_lrs; a single value given for all groups is repeated for
# a new group, one value per group cannot be guessed
_PER_GROUP = ("lr_lambdas", "max_lrs", "base_momentums", "max_momentums")


def adopt_new_groups(sched):
    """Extend ``sched``'s per-group lists for groups added to its optimizer since it was built."""
    groups = sched.optimizer.param_groups
    base = getattr(sched, "base_lrs", None)
    if base is None or len(groups) <= len(base):
        return
    n = len(base)
    extend = {}
    for attr in _PER_GROUP:
        values = getattr(sched, attr, None)
        if values is None or len(values) != n:
            continue
        if any(v is not values[0] and v != values[0] for v in values):
            raise ValueError(f"{type(sched).__name__} was given one {attr[:-1]} per group; append one for each "
                             f"new group to scheduler.{attr} before stepping")
        extend[attr] = values[0]
    if type(sched).__name__ == "OneCycleLR":
        raise ValueError("OneCycleLR fixes each group's lr range when built; build it after adding the group")
    from .base import _snapshot
    for g in groups[n:]:
        g.setdefault("initial_lr", _snapshot(g["lr"]))
        base.append(_snapshot(g["initial_lr"]))
        for attr, v in extend.items():
            getattr(sched, attr).append(v)
