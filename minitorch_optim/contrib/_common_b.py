"""Shared pieces of the non-elementwise contrib optimizers (issue 12, part B).

pytorch_optimizer's error classes and argument checks (same classes, same messages), a base class for
the per-tensor loop optimizers, and a few array helpers. The optimizers built on ``LoopOptimizer`` work
on the raw NumPy/CuPy arrays of the parameters with grad mode off; they never write into ``p.grad``
(the reference implementations modify the gradient in place; that is not observable in the numbers of
the step and we keep the user's gradient intact).
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.backend import array_module

from ..optimizer import GroupwiseOptimizer
# pytorch_optimizer's error classes and argument checks: one definition for all of contrib, in _base.py
# (re-exported here for the part-B modules)
from ._base import (  # noqa: F401
    NegativeLRError, NoComplexParameterError, NoSparseGradientError, debias, validate_betas,
    validate_learning_rate, validate_non_negative, validate_options, validate_range)


class NoClosureError(Exception):
    """The optimizer needs a closure (SAM)."""

    def __init__(self, optimizer_name, note=""):
        self.message = f"{optimizer_name} requires closure.{note}"
        super().__init__(self.message)


class NegativeStepError(Exception):
    """A step count below one."""

    def __init__(self, num_steps, step_type=""):
        self.note = step_type if step_type else "step"
        self.message = f"{self.note} must be positive. ({num_steps} > 0)"
        super().__init__(self.message)


# ---- the further argument checks part B needs -------------------------------------------------------------
def validate_positive(x, name):
    if x <= 0:
        raise ValueError(f"{name} must be positive")


def validate_step(step, step_type):
    if step < 1:
        raise NegativeStepError(step, step_type=step_type)


def refuse_extras(name, kwargs, supported=()):
    """pytorch_optimizer accepts any extra keyword into the defaults; the variants it switches on with them
    (adanorm, cautious, ...) are implemented here only where listed in ``supported``: others raise."""
    for k, v in kwargs.items():
        if k not in supported and v not in (None, False, 0, 0.0):
            raise NotImplementedError(f"{name}: the extra option {k}={v!r} of the reference is not implemented")


# ---- arrays -----------------------------------------------------------------------------------------------
def norm(x):
    """L2 norm of an array as a 0-d array of its dtype."""
    xp = array_module(x)
    return xp.sqrt(xp.asarray(xp.vdot(x.reshape(-1), x.reshape(-1)), dtype=x.dtype))   # BLAS dot: no temporary


def wrap(arr):
    return Tensor._wrap(arr)


def scalar_tensor(v, dtype):
    return Tensor._wrap(np.array(v, dtype=dtype))


def weight_decay_(p, g, *, lr, weight_decay, weight_decouple, fixed_decay, ratio=None):
    """pytorch_optimizer's ``apply_weight_decay``: shrink ``p`` (decoupled) or return ``g + wd p``."""
    if weight_decay == 0.0:
        return g
    if weight_decouple:
        p *= 1.0 - weight_decay * (1.0 if fixed_decay else lr) * (ratio if ratio is not None else 1.0)
        return g
    if weight_decay > 0.0 and g is not None:
        return g + weight_decay * p
    return g


class LoopOptimizer(GroupwiseOptimizer):
    """A per-tensor loop over each group with grad mode off (``GroupwiseOptimizer``), plus the reference's
    gradient checks: ``NoSparseGradientError`` / ``NoComplexParameterError`` by the reference's ``str``."""

    _complex_ok = False

    def __str__(self):
        return type(self).__name__

    def _active(self, group):
        out = []
        for p in group["params"]:
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                raise NoSparseGradientError(str(self))
            if p.is_complex() and not self._complex_ok:
                raise NoComplexParameterError(str(self))
            out.append(p)
        return out

    @staticmethod
    def _grad(p, maximize=False):
        """The gradient array (a fresh negated copy for ``maximize``); never written to."""
        g = p.grad._data
        return -g if maximize else g

    def _zeros(self, p):
        return wrap(array_module(p._data).zeros_like(p._data))


def lr_of(group):
    """The group's lr as a Python float (an lr given as a 0-d Tensor is read, as the references read it)."""
    lr = group["lr"]
    return float(lr._data) if isinstance(lr, Tensor) else lr
