"""Per-tensor trust-ratio and layer-normalised methods: Lamb, LARS, NovoGrad (pytorch_optimizer 4.1.0).

Paths: for-loop only (each update needs per-tensor norms between elementwise parts). ``foreach`` is
accepted and kept in the groups like the reference; ``foreach`` left at None/True picks the reference's
batched arithmetic where it differs by rounding (Lamb forms ``exp_avg * (1 / denom)`` there), so both
settings give the reference's numbers for that setting.
"""
from __future__ import annotations

import math

import numpy as np

from autograd.backend import array_module

from ._loop import (debias, LoopOptimizer, lr_of, norm, refuse_extras, scalar_tensor, validate_betas,
                        validate_learning_rate, validate_non_negative, validate_range, weight_decay_, wrap)
from .adabelief import rectify_step_size


def global_grad_scale(param_groups, max_grad_norm, eps):
    """``min(max_grad_norm / (||g||_global + eps), 1)`` in float32, as the reference's ``pre_norm``."""
    if max_grad_norm == 0.0:
        return 1.0
    sq = np.float32(0.0)
    for group in param_groups:
        for p in group["params"]:
            if p.grad is not None:
                n = float(norm(p.grad._data))
                sq = np.float32(sq + np.float32(np.float32(n) * np.float32(n)))
    total = np.float32(np.sqrt(sq) + np.float32(eps))
    return min(np.float32(np.float32(max_grad_norm) / total), np.float32(1.0))


class Lamb(LoopOptimizer):
    r"""LAMB (You et al.): Adam moments, then a per-tensor trust ratio ``||w|| / ||update||``.

    As the reference: ``step_size = lr / (1 - beta1^t)`` (the first bias correction is applied, the second
    is not), ``||w||`` clamped to ``[0, 10]``, trust ratio 1 where either norm is 0; ``rectify`` uses RAdam's
    step size; ``pre_norm`` rescales gradients by ``min(max_grad_norm / ||g||, 1)`` (global norm, float32);
    ``adam=True`` keeps the ratio at 1. State: ``exp_avg``, ``exp_avg_sq``, ``weight_norm``, ``adam_norm``,
    ``trust_ratio``; the step count is ``group['step']``. Extra keyword ``adam_debias`` as the reference.
    Paths: for-loop (see the module docstring).
    """

    clamp = 10.0

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, rectify=False, degenerated_to_sgd=False, n_sma_threshold=5, grad_averaging=True,
                 max_grad_norm=1.0, adam=False, pre_norm=False, eps=1e-6, foreach=None, maximize=False, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(max_grad_norm, "max_grad_norm")
        validate_non_negative(eps, "eps")
        refuse_extras("Lamb", kwargs, ("adam_debias",))
        self.degenerated_to_sgd = degenerated_to_sgd
        self.n_sma_threshold = n_sma_threshold
        self.pre_norm = pre_norm
        self.foreach = foreach
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, rectify=rectify, grad_averaging=grad_averaging,
                        max_grad_norm=max_grad_norm, adam=adam, eps=eps, foreach=foreach, **kwargs)
        super().__init__(params, defaults)

    def step(self, closure=None):
        self._grad_scale = 1.0
        if self.pre_norm:
            self._grad_scale = global_grad_scale(self.param_groups, self.defaults["max_grad_norm"],
                                                 self.defaults["eps"])
        return super().step(closure)

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        for p in active:
            st = self.state[p]
            if len(st) == 0:
                st["exp_avg"] = self._zeros(p)
                st["exp_avg_sq"] = self._zeros(p)
        group["step"] += 1
        beta1, beta2 = group["betas"]
        beta3 = 1.0 - beta1 if group["grad_averaging"] else 1.0
        step_size, n_sma = rectify_step_size(group["rectify"], group["step"], lr_of(group), beta2,
                                             self.n_sma_threshold, self.degenerated_to_sgd)
        if not group.get("adam_debias", False):
            step_size = step_size / debias(beta1, group["step"])
        batched = group.get("foreach") is not False and not group["rectify"] and len(active) > 0
        for p in active:
            self._update(p, group, step_size, n_sma, beta1, beta2, beta3, batched)

    def _update(self, p, group, step_size, n_sma, beta1, beta2, beta3, batched):
        st = self.state[p]
        x, eps, wd = p._data, group["eps"], group["weight_decay"]
        g = p.grad._data
        if self.pre_norm:
            g = g * self._grad_scale
        if self.maximize:
            g = -g
        m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
        m *= beta1
        m += g * beta3 if beta3 != 1.0 else g
        v *= beta2
        v += (g * g) * (1.0 - beta2)
        weight_decay_(x, None, lr=lr_of(group), weight_decay=wd, weight_decouple=group["weight_decouple"],
                      fixed_decay=group["fixed_decay"])
        if group["rectify"] and step_size <= 0:
            return
        xp = array_module(x)
        denom = None
        if group["rectify"]:
            update = x.copy()
            if n_sma >= self.n_sma_threshold:
                denom = xp.sqrt(v) + eps
                update -= step_size * (m / denom)
            else:
                update -= step_size * m
        else:
            denom = xp.sqrt(v) + eps
            update = m * (1.0 / denom) if batched else m / denom
            if not group["weight_decouple"] and wd > 0.0:
                update += wd * x
        weight_norm = xp.minimum(norm(x), x.dtype.type(self.clamp))
        p_norm = norm(update)
        if float(weight_norm) == 0 or float(p_norm) == 0:
            trust = 1.0
        else:
            trust = float(weight_norm / (p_norm + x.dtype.type(eps)))
        st["weight_norm"] = scalar_tensor(weight_norm, x.dtype)
        st["adam_norm"] = scalar_tensor(p_norm, x.dtype)
        st["trust_ratio"] = scalar_tensor(trust, x.dtype)
        if group["adam"]:
            trust = 1.0
        if group["rectify"]:
            if n_sma >= self.n_sma_threshold:
                x -= (step_size * trust) * (m / denom)
            else:
                x -= (step_size * trust) * m
        else:
            x -= (step_size * trust) * update


class LARS(LoopOptimizer):
    r"""LARS (You et al.): SGD whose gradient of each matrix (``ndim > 1``) is scaled by the trust ratio
    ``trust_coefficient * ||w|| / (||g|| + weight_decay ||w||)`` (1 where a norm is 0) after adding the weight
    decay; vectors and scalars get plain SGD without decay, as the reference. Momentum with ``dampening`` and
    ``nesterov``. State: ``momentum_buffer`` (when ``momentum > 0``). Paths: for-loop.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.0, momentum=0.9, dampening=0.0, trust_coefficient=1e-3,
                 nesterov=False, foreach=None, maximize=False, **kwargs):
        validate_learning_rate(lr)
        validate_non_negative(weight_decay, "weight_decay")
        validate_range(momentum, "momentum", 0.0, 1.0)
        validate_range(dampening, "dampening", 0.0, 1.0)
        validate_non_negative(trust_coefficient, "trust_coefficient")
        self.foreach = foreach
        self.maximize = maximize
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, dampening=dampening,
                        trust_coefficient=trust_coefficient, nesterov=nesterov, foreach=foreach)
        super().__init__(params, defaults)

    def __str__(self):
        return "Lars"

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        mom, wd = group["momentum"], group["weight_decay"]
        for p in active:
            if mom > 0.0 and "momentum_buffer" not in self.state[p]:
                self.state[p]["momentum_buffer"] = self._zeros(p)
        group["step"] += 1
        for p in active:
            x = p._data
            g = self._grad(p, self.maximize).copy()
            if p.ndim > 1:
                pn, gn = norm(x), norm(g)
                den = gn + x.dtype.type(wd) * pn
                trust = x.dtype.type(group["trust_coefficient"]) * pn / den if (pn > 0 and den > 0) else 1.0
                g += wd * x
                g *= trust
            if mom > 0.0:
                buf = self.state[p]["momentum_buffer"]._data
                buf *= mom
                buf += g * (1.0 - group["dampening"])
                if group["nesterov"]:
                    g += mom * buf
                else:
                    g[...] = buf
            x -= lr_of(group) * g


class NovoGrad(LoopOptimizer):
    r"""NovoGrad (Ginsburg et al.): the second moment is one number per tensor, an EMA of ``||g||^2``
    (``grads_ema``, started at the first ``||g||^2``); the normalised gradient ``g / (sqrt(grads_ema) + eps)``
    (plus coupled weight decay) feeds a momentum ``moments`` (the first step copies it). State: ``grads_ema``
    (0-d), ``moments``; ``group['step']``. Extra keyword ``adam_debias``. Paths: for-loop.
    """

    def __init__(self, params, lr=1e-3, betas=(0.95, 0.98), weight_decay=0.0, weight_decouple=False,
                 fixed_decay=False, grad_averaging=False, eps=1e-8, maximize=False, foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        refuse_extras("NovoGrad", kwargs, ("adam_debias",))
        self.maximize = maximize
        self.foreach = foreach
        defaults = dict(lr=lr, foreach=foreach, betas=betas, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, grad_averaging=grad_averaging,
                        eps=eps, **kwargs)
        super().__init__(params, defaults)

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        group["step"] += 1
        beta1, beta2 = group["betas"]
        step_size = lr_of(group)
        if group.get("adam_debias", False):
            step_size = step_size * math.sqrt(debias(beta2, group["step"]))
        for p in active:
            x = p._data
            xp = array_module(x)
            g = self._grad(p, self.maximize)
            st = self.state[p]
            first = len(st) == 0
            g2 = xp.sum(g * g, dtype=g.dtype)
            if first:
                st["grads_ema"] = scalar_tensor(g2, g.dtype)
            else:
                ema = st["grads_ema"]._data
                ema[...] = ema + (1.0 - beta2) * (g2 - ema) if (1.0 - beta2) < 0.5 else g2 - (g2 - ema) * beta2
            g = g / (xp.sqrt(st["grads_ema"]._data) + group["eps"])
            g = weight_decay_(x, g, lr=lr_of(group), weight_decay=group["weight_decay"],
                              weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"])
            if first:
                st["moments"] = wrap(g.copy())
            else:
                if group["grad_averaging"]:
                    g = g * (1.0 - beta1)
                mo = st["moments"]._data
                mo *= beta1
                mo += g
            x -= step_size * st["moments"]._data
