"""Shampoo (Gupta et al., 2018) as pytorch_optimizer 4.1.0's ``Shampoo``: one preconditioner per dimension.

Paths: for-loop only (matrix statistics and inverse roots per tensor).
"""
from __future__ import annotations

import numpy as np

from autograd.backend import array_module

from .._core.fma import lerp_
from ._loop import (LoopOptimizer, lr_of, validate_learning_rate, validate_non_negative, validate_range,
                        validate_step, weight_decay_, wrap)


def compute_power_svd(matrix, power):
    """``matrix^(-1/power)`` through an SVD, computed in float64 for float64 input and float32 otherwise."""
    xp = array_module(matrix)
    dt = np.float64 if matrix.dtype == np.float64 else np.float32
    u, s, vh = xp.linalg.svd(matrix.astype(dt), full_matrices=False)
    s = s ** (-1.0 / power)
    return ((u * s[..., None, :]) @ vh).astype(matrix.dtype)


class Shampoo(LoopOptimizer):
    r"""Shampoo: for each dimension ``i`` of a parameter a statistic ``L_i += G_(i) G_(i)^T`` (``G_(i)`` the
    gradient unfolded along ``i``; started at ``matrix_eps * I``) and its inverse root ``L_i^{-1/(2k)}``
    (``k`` = number of dims, recomputed every ``preconditioning_compute_steps`` steps, zero before the first
    recomputation as in the reference); the step preconditions the gradient along every dimension.
    ``momentum`` lerps the gradient towards ``momentum_buffer`` (the previous *preconditioned* gradient; the
    buffer is stored after each step even with ``momentum=0``, as the reference does). State:
    ``momentum_buffer``, ``pre_cond_{i}``, ``inv_pre_cond_{i}``; ``group['step']``. Paths: for-loop.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, weight_decouple=False, fixed_decay=False,
                 preconditioning_compute_steps=1, matrix_eps=1e-6, maximize=False, **kwargs):
        validate_learning_rate(lr)
        validate_range(momentum, "momentum", 0.0, 1.0)
        validate_non_negative(weight_decay, "weight_decay")
        validate_step(preconditioning_compute_steps, "preconditioning_compute_steps")
        validate_non_negative(matrix_eps, "matrix_eps")
        self.preconditioning_compute_steps = preconditioning_compute_steps
        self.maximize = maximize
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, matrix_eps=matrix_eps)
        super().__init__(params, defaults)

    def _init(self, p, group):
        st = self.state[p]
        if len(st) == 0:
            g = p.grad._data
            xp = array_module(g)
            if group["momentum"] > 0.0:
                st["momentum_buffer"] = wrap(g.copy())
            for i, dim in enumerate(g.shape):
                eye = xp.eye(dim, dtype=np.float32).astype(g.dtype)
                st[f"pre_cond_{i}"] = wrap(eye * g.dtype.type(group["matrix_eps"]))
                st[f"inv_pre_cond_{i}"] = wrap(xp.zeros((dim, dim), dtype=g.dtype))
        return st

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        states = [self._init(p, group) for p in active]
        group["step"] += 1
        mom = group["momentum"]
        recompute = group["step"] % self.preconditioning_compute_steps == 0
        for p, st in zip(active, states):
            x = p._data
            xp = array_module(x)
            g = self._grad(p, self.maximize).copy()
            if mom > 0.0:
                lerp_(g, st["momentum_buffer"]._data, mom)
            g = weight_decay_(x, g, lr=lr_of(group), weight_decay=group["weight_decay"],
                              weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"])
            order, original = g.ndim, g.shape
            stats = g
            for i, dim in enumerate(original):
                pre, inv = st[f"pre_cond_{i}"]._data, st[f"inv_pre_cond_{i}"]._data
                unfolded = xp.moveaxis(stats, i, 0).reshape(dim, -1)
                pre += unfolded @ unfolded.T
                g = xp.ascontiguousarray(xp.swapaxes(g, 0, i))
                transposed = g.shape
                g = g.reshape(dim, -1)
                if recompute:
                    inv[...] = compute_power_svd(pre, 2 * order)
                if i == order - 1:
                    g = (g.T @ inv).reshape(original)
                else:
                    g = (inv @ g).reshape(transposed)
            st["momentum_buffer"] = wrap(g)
            x -= lr_of(group) * g
