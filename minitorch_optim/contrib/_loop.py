"""Shared pieces of the contrib optimizers that are not elementwise: a base class for the per-tensor loop
optimizers and a few array helpers (pytorch_optimizer's error classes and argument checks are defined once,
in ``_base``, and re-exported here for these modules). The optimizers built on ``LoopOptimizer`` work
on the raw NumPy/CuPy arrays of the parameters with grad mode off; they never write into ``p.grad``
(the reference implementations modify the gradient in place; that is not observable in the numbers of
the step and we keep the user's gradient intact).
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.backend import array_module

from ..optimizer import GroupwiseOptimizer
from .._core.ops import ops_for
from ._base import (  # noqa: F401
    NegativeLRError, NegativeStepError, NoClosureError, NoComplexParameterError, NoSparseGradientError, debias,
    refuse_extras, validate_betas, validate_learning_rate, validate_non_negative, validate_options,
    validate_positive, validate_range, validate_step)
from ._base import weight_decay_ as _weight_decay


# ---- arrays -----------------------------------------------------------------------------------------------
def norm(x):
    """L2 norm of an array as a 0-d array of its dtype."""
    xp = array_module(x)
    return xp.sqrt(xp.asarray(xp.vdot(x.reshape(-1), x.reshape(-1)), dtype=x.dtype))   # BLAS dot: no temporary


def wrap(arr):
    return Tensor._wrap(arr)


def scalar_tensor(v, dtype):
    return Tensor._wrap(np.array(v, dtype=dtype))


def weight_decay_(p, g, **kw):
    """``_base.weight_decay_`` on the arrays ``p`` (shrunk in place when decoupled) and ``g``."""
    return _weight_decay(ops_for(p), p, g, **kw)


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
