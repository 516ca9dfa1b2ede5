"""CAME (Luo et al., 2023): Adafactor-style factored second moments plus a factored confidence term
(pytorch_optimizer 4.1.0).

Paths: for-loop only (factored row/column moments are reductions, not elementwise); ``foreach`` is accepted
and gives the same arithmetic.
"""
from __future__ import annotations

import math


from autograd.backend import array_module

from .._core.fma import axpy_, lerp_
from ._loop import (LoopOptimizer, lr_of, norm, scalar_tensor, validate_betas, validate_learning_rate,
                        validate_non_negative, weight_decay_, wrap)


def approximate_sq_grad(row, col):
    """``rsqrt(row / mean(row)) ⊗ rsqrt(col)``: the factored inverse square root of a second moment."""
    xp = array_module(row)
    r = 1.0 / xp.sqrt(row / row.mean(axis=-1, keepdims=True))
    c = 1.0 / xp.sqrt(col)
    return r[..., :, None] * c[..., None, :]


class CAME(LoopOptimizer):
    r"""CAME: ``v`` factored into ``exp_avg_sq_row``/``exp_avg_sq_col`` for params with ``ndim >= 2`` (full
    ``exp_avg_sq`` otherwise) from ``g^2 + eps1``; ``u = g / sqrt(v)`` clipped to RMS ``clip_threshold``;
    ``m = lerp(m, u, 1 - beta1)``; the residual ``(u - m)^2 + eps2`` is factored again with ``beta3``
    (``exp_avg_res_row``/``col``) and scales ``m``. ``ams_bound`` keeps the running max ``exp_avg_sq_hat``
    of ``1/u^2`` and uses ``rsqrt(hat / beta2)``. State also holds ``RMS`` (the parameter's RMS before the
    step, as the reference). Paths: for-loop.
    """

    def __init__(self, params, lr=2e-4, betas=(0.9, 0.999, 0.9999), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, clip_threshold=1.0, ams_bound=False, eps1=1e-30, eps2=1e-16, maximize=False,
                 foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps1, "eps1")
        validate_non_negative(eps2, "eps2")
        self.clip_threshold = clip_threshold
        self.eps1 = eps1
        self.eps2 = eps2
        self.maximize = maximize
        self.foreach = foreach
        defaults = dict(lr=lr, foreach=foreach, betas=betas, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, ams_bound=ams_bound, eps1=eps1,
                        eps2=eps2)
        super().__init__(params, defaults)

    @staticmethod
    def get_options(shape):
        return len(shape) >= 2

    @staticmethod
    def get_rms(x):
        return norm(x) / x.dtype.type(math.sqrt(x.size))

    def _init(self, p, group):
        st = self.state[p]
        if len(st):
            return st
        xp, shape, dt = array_module(p._data), p.shape, p._data.dtype
        st["exp_avg"] = self._zeros(p)
        if self.get_options(shape):
            for name, s in (("exp_avg_sq_row", shape[:-1]), ("exp_avg_sq_col", shape[:-2] + shape[-1:]),
                            ("exp_avg_res_row", shape[:-1]), ("exp_avg_res_col", shape[:-2] + shape[-1:])):
                st[name] = wrap(xp.zeros(s, dtype=dt))
        else:
            st["exp_avg_sq"] = self._zeros(p)
        if group["ams_bound"]:
            st["exp_avg_sq_hat"] = self._zeros(p)
        st["RMS"] = 0.0
        return st

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        states = [self._init(p, group) for p in active]
        group["step"] += 1
        beta1, beta2, beta3 = group["betas"]
        for p, st in zip(active, states):
            x, g = p._data, self._grad(p, self.maximize)
            xp = array_module(x)
            factored = self.get_options(g.shape)
            st["RMS"] = scalar_tensor(self.get_rms(x), x.dtype)
            g = weight_decay_(x, g, lr=lr_of(group), weight_decay=group["weight_decay"],
                              weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"])
            update = g * g + x.dtype.type(self.eps1)
            if factored:
                row, col = st["exp_avg_sq_row"]._data, st["exp_avg_sq_col"]._data
                row *= beta2
                axpy_(row, 1.0 - beta2, update.mean(axis=-1))
                col *= beta2
                axpy_(col, 1.0 - beta2, update.mean(axis=-2))
                update = approximate_sq_grad(row, col)
            else:
                v = st["exp_avg_sq"]._data
                v *= beta2
                axpy_(v, 1.0 - beta2, update)
                update = 1.0 / xp.sqrt(v)
            if group["ams_bound"]:
                hat = st["exp_avg_sq_hat"]._data
                xp.maximum(hat, 1.0 / update, out=hat)
                update = 1.0 / xp.sqrt(hat / beta2)
            update *= g
            update /= max(float(self.get_rms(update)) / self.clip_threshold, 1.0)
            m = st["exp_avg"]._data
            lerp_(m, update, 1.0 - beta1)
            res = (update - m) ** 2 + x.dtype.type(self.eps2)
            if factored:
                rrow, rcol = st["exp_avg_res_row"]._data, st["exp_avg_res_col"]._data
                rrow *= beta3
                axpy_(rrow, 1.0 - beta3, res.mean(axis=-1))
                rcol *= beta3
                axpy_(rcol, 1.0 - beta3, res.mean(axis=-2))
                update = approximate_sq_grad(rrow, rcol) * m
            else:
                update = m
            axpy_(x, -lr_of(group), update)

