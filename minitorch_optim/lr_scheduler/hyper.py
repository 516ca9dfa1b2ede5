"""Schedules for any hyper-parameter, with the lr schedulers themselves.

``HyperParameter(optimizer, "weight_decay")`` is an optimizer-shaped view whose groups show the
hyper-parameter as their ``lr``: every scheduler built on it (``CosineAnnealingLR(view, T_max=...)``,
``SequentialLR(view, [...])``, ``SWALR``, ...) schedules that hyper-parameter instead, with the scheduler's
own arithmetic, state_dict and composition. ``("betas", 0)`` names one entry of a tuple (Adam's beta1).

The scheduler's other group keys are kept in the real group under names derived from the
hyper-parameter's, so they never collide with the lr scheduler's: ``initial_lr`` becomes
``initial_weight_decay`` (``max_lr`` ``max_weight_decay``, ...), a key without "lr" gets the name as prefix.
Groups that lack the hyper-parameter (a MultiOptimizer's Muon groups have no ``betas``) are left out.
"""
from __future__ import annotations

from collections.abc import MutableMapping

from ..optimizer import Optimizer


class _GroupView(MutableMapping):
    def __init__(self, group, key, index, name):
        self._group, self._key, self._index, self._name = group, key, index, name

    def _real(self, k):
        if k == "lr":
            return None
        if k == "params":
            return "params"
        return k.replace("lr", self._name) if "lr" in k else f"{self._name}_{k}"

    def __getitem__(self, k):
        real = self._real(k)
        if real is None:
            v = self._group[self._key]
            return v if self._index is None else v[self._index]
        return self._group[real]

    def __setitem__(self, k, v):
        real = self._real(k)
        if real is None:
            if self._index is None:
                self._group[self._key] = v
            else:
                old = self._group[self._key]
                self._group[self._key] = type(old)((*old[:self._index], v, *old[self._index + 1:]))
            return
        self._group[real] = v

    def __delitem__(self, k):
        real = self._real(k)
        if real is None:
            raise KeyError("the scheduled hyper-parameter cannot be deleted")
        del self._group[real]

    def __iter__(self):
        yield "lr"
        prefix = self._name + "_"
        for k in self._group:
            if k.startswith(prefix):
                yield k[len(prefix):]
            elif self._name in k and k != self._key:
                yield k.replace(self._name, "lr")

    def __len__(self):
        return sum(1 for _ in self)


class HyperParameter(Optimizer):
    """``optimizer``'s groups seen through one hyper-parameter ``key`` (a name, or ``(name, index)`` for one
    entry of a tuple such as ``("betas", 0)``), for the lr schedulers to schedule it.

    ``name`` names the keys the schedulers keep in the groups (default: ``key``, or ``"beta1"`` style for
    ``(name, index)``). Step the real optimizer as usual; the view has no ``step`` of its own to call.
    """

    _opt_called = True  # (the real optimizer is stepped, not this view: no call-order warning)

    def __init__(self, optimizer, key, name=None):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.target = optimizer
        self.key, self.index = (key, None) if isinstance(key, str) else (key[0], int(key[1]))
        if name is None:
            name = self.key if self.index is None else f"{self.key.rstrip('s')}{self.index + 1}"
        self.name = name
        if not self.param_groups:
            raise ValueError(f"no parameter group of {type(optimizer).__name__} has {self.key!r}")
        self.defaults = {}
        self.state = optimizer.state

    @property
    def param_groups(self):
        return [_GroupView(g, self.key, self.index, self.name) for g in self.target.param_groups if self.key in g]

    def step(self, closure=None):
        raise RuntimeError("HyperParameter is a view for schedulers: step the optimizer it was built on")
    step._hooked = True  # (no optimizer hooks: nothing is stepped here)

    def zero_grad(self, set_to_none=True):
        self.target.zero_grad(set_to_none)

    def __repr__(self):
        return f"HyperParameter({type(self.target).__name__}, {self.key!r}" + \
            (f"[{self.index}])" if self.index is not None else ")")
