"""AdamP and SGDP (Heo et al.): remove the radial part of the update of scale-invariant weights
(pytorch_optimizer 4.1.0).

For a parameter with ``ndim > 1`` the cosine similarity between gradient and weight is taken per output
channel (rows of ``view(shape[0], -1)``) and then over the whole layer; where its largest magnitude is below
``delta / sqrt(fan)`` the weight is deemed scale-invariant: the update loses its component along the
(normalised) weight and the weight decay is scaled by ``wd_ratio``.

Paths: for-loop (the projection decision needs per-tensor reductions); ``foreach`` is accepted (default
False as in the reference) and gives the same arithmetic. Reference quirk kept: with
``weight_decouple=False`` the L2 term is added to the gradient *after* the update was formed, so it has no
effect on the step (pytorch_optimizer does the same).
"""
from __future__ import annotations

import math

from autograd.backend import array_module

from ._loop import (debias, LoopOptimizer, lr_of, refuse_extras, validate_betas, validate_learning_rate,
                        validate_non_negative, validate_range, weight_decay_)


def _cos_max(g2, p2, eps):
    """max over rows of |cos(g_row, p_row)| as torch's cosine_similarity (each side divided by its clamped norm)."""
    xp = array_module(p2)
    gn = xp.maximum(xp.sqrt(xp.sum(g2 * g2, axis=1, keepdims=True)), eps)
    pn = xp.maximum(xp.sqrt(xp.sum(p2 * p2, axis=1, keepdims=True)), eps)
    return float(xp.max(xp.abs(xp.sum((g2 / gn) * (p2 / pn), axis=1))))


def projection(p, g, perturb, delta, wd_ratio, eps):
    """Project ``perturb`` (in place) off the radial direction when ``p`` looks scale-invariant.
    Returns the weight-decay ratio (``wd_ratio`` when projected, else 1)."""
    xp = array_module(p)
    for rows in (p.shape[0], 1):
        p2, g2 = p.reshape(rows, -1), g.reshape(rows, -1)
        if _cos_max(g2, p2, eps) < delta / math.sqrt(p2.shape[1]):
            shape = (-1,) + (1,) * (p.ndim - 1) if rows > 1 else (1,) * p.ndim
            pnorm = xp.sqrt(xp.sum(p2 * p2, axis=1)).reshape(shape) + eps
            p_n = p / pnorm
            radial = (p_n * perturb).reshape(rows, -1).sum(axis=1).reshape(shape)
            perturb -= p_n * radial
            return wd_ratio
    return 1.0


def centralize(g):
    """Gradient centralisation (mean over all but the first dim removed) on a copy, for ``ndim > 1``."""
    if g.ndim > 1:
        return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
    return g


def cautious_(update, g):
    """Zero the components whose sign disagrees with the gradient, rescaled by numel / (kept + 1)."""
    mask = (update * g > 0).astype(g.dtype)
    mask *= mask.size / (mask.sum() + 1)
    update *= mask


class SGDP(LoopOptimizer):
    r"""SGDP: SGD with momentum (``dampening``, ``nesterov``) and the AdamP projection. The decoupled weight
    decay is scaled by ``wd_ratio / (1 - momentum)`` as in the reference. State: ``momentum``;
    ``group['step']``. Paths: for-loop."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, delta=0.1, wd_ratio=0.1, nesterov=False, eps=1e-8, maximize=False,
                 foreach=False, **kwargs):
        validate_learning_rate(lr)
        validate_non_negative(weight_decay, "weight_decay")
        validate_range(wd_ratio, "wd_ratio", 0.0, 1.0)
        validate_non_negative(eps, "eps")
        self.maximize = maximize
        defaults = dict(lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple, fixed_decay=fixed_decay,
                        momentum=momentum, dampening=dampening, delta=delta, wd_ratio=wd_ratio, nesterov=nesterov,
                        eps=eps, foreach=foreach)
        super().__init__(params, defaults)

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        for p in active:
            if len(self.state[p]) == 0:
                self.state[p]["momentum"] = self._zeros(p)
        group["step"] += 1
        mom = group["momentum"]
        for p in active:
            x, g = p._data, self._grad(p, self.maximize)
            buf = self.state[p]["momentum"]._data
            buf *= mom
            buf += g * (1.0 - group["dampening"])
            d_p = buf * mom + g if group["nesterov"] else buf.copy()
            ratio = 1.0
            if x.ndim > 1:
                ratio = projection(x, g, d_p, group["delta"], group["wd_ratio"], group["eps"])
            weight_decay_(x, g, lr=lr_of(group), weight_decay=group["weight_decay"],
                          weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"],
                          ratio=ratio / (1.0 - mom))
            x -= lr_of(group) * d_p


class AdamP(LoopOptimizer):
    r"""AdamP: Adam (step size ``lr / (1 - beta1^t)``, denominator ``(sqrt(v) + eps) / sqrt(1 - beta2^t)``)
    with the projection above; ``nesterov`` uses ``lerp(m, g, 1 - beta1)``. Extra keywords of the reference
    implemented: ``use_gc``, ``cautious``, ``adam_debias`` (``adanorm`` is refused). State: ``exp_avg``,
    ``exp_avg_sq``; ``group['step']``. Paths: for-loop."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, delta=0.1, wd_ratio=0.1, nesterov=False, eps=1e-8, maximize=False,
                 foreach=False, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_range(wd_ratio, "wd_ratio", 0.0, 1.0)
        validate_non_negative(eps, "eps")
        refuse_extras("AdamP", kwargs, ("use_gc", "cautious", "adam_debias"))
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, delta=delta, wd_ratio=wd_ratio, nesterov=nesterov, eps=eps,
                        foreach=foreach, **kwargs)
        super().__init__(params, defaults)

    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        for p in active:
            if len(self.state[p]) == 0:
                self.state[p]["exp_avg"] = self._zeros(p)
                self.state[p]["exp_avg_sq"] = self._zeros(p)
        group["step"] += 1
        beta1, beta2 = group["betas"]
        bc2_sq = math.sqrt(debias(beta2, group["step"]))
        step_size = lr_of(group) if group.get("adam_debias", False) else lr_of(group) / debias(beta1, group["step"])
        for p in active:
            x, g = p._data, self._grad(p, self.maximize)
            xp = array_module(x)
            if group.get("use_gc"):
                g = centralize(g)
            m, v = self.state[p]["exp_avg"]._data, self.state[p]["exp_avg_sq"]._data
            _lerp_(m, g, 1.0 - beta1)
            v *= beta2
            v += (g * g) * (1.0 - beta2)
            inv = 1.0 / (xp.sqrt(v) + group["eps"])
            inv *= bc2_sq
            if group.get("cautious"):
                perturb = m.copy()
                cautious_(perturb, g)
                if group["nesterov"]:
                    _lerp_(perturb, g, 1.0 - beta1)
                perturb *= inv
            elif group["nesterov"]:
                perturb = _lerp_(m.copy(), g, 1.0 - beta1)
                perturb *= inv
            else:
                perturb = inv * m
            ratio = 1.0
            if x.ndim > 1:
                ratio = projection(x, g, perturb, group["delta"], group["wd_ratio"], group["eps"])
            weight_decay_(x, g, lr=lr_of(group), weight_decay=group["weight_decay"],
                          weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"], ratio=ratio)
            x -= step_size * perturb


def _lerp_(x, y, w):
    from .._core.fma import lerp_

    return lerp_(x, y, w)
