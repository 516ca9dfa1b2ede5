"""MARS: variance reduction for preconditioned optimizers (Yuan et al., 2024), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

import numpy as np

from ..muon import newton_schulz, round_bf16
from ._base import (ContribOptimizer, cautious_, debias, validate_betas, validate_learning_rate,
                    validate_non_negative, validate_options, weight_decay_)
from .lion import add_scaled_

NS_WEIGHTS = (3.4445, -4.7750, 2.0315)


def _adam_step(o, update, c, v, vmax, *, beta2, eps, bias_correction1, bias_correction2_sq):
    """``update / ((sqrt(v) / bc2_sq) * bc1)`` after ``v`` takes ``c**2`` (with the reference's 1e-15)."""
    o.mul_(v, beta2)
    o.addcmul_(v, c, c, value=1.0 - beta2)
    if vmax is not None:
        o.maximum_(vmax, v)
    de = o.add_scalar_(o.clone(vmax if vmax is not None else v), 1e-15)
    o.sqrt_(de)
    o.add_scalar_(de, eps)
    o.div_(de, bias_correction2_sq)
    o.mul_(de, bias_correction1)
    return o.div_(update, de)


def _orthogonalised(o, update, shape, *, beta1, eps):
    """The "shampoo" update: Newton-Schulz (bfloat16, the reference's 5 quintic steps) of the momentum as a
    matrix of its first dim by the rest, scaled by sqrt(max(1, rows/cols)). Arrays only (for-loop path)."""
    if o.xp is None:
        raise RuntimeError("MARS(mars_type='shampoo') has no differentiable path (Newton-Schulz in bfloat16)")
    xp = o.xp
    o.mul_(update, 1.0 / (1.0 - beta1))
    x = newton_schulz(xp, update.reshape(shape[0], -1), NS_WEIGHTS, 5, eps)
    x = round_bf16(xp, x * np.float32(math.sqrt(max(1.0, shape[0] / shape[1]))))
    return x.reshape(shape).astype(update.dtype)


def mars_update(o, p, g, st, *, lr, beta1, beta2, gamma_coef, mars_type, mixed, eps, weight_decay,
                weight_decouple, fixed_decay, maximize, ams_bound, cautious, bias_correction1, bias_correction2_sq):
    """One MARS step on one tensor. ``mixed``: the variance-reduced update (2-D tensors, or all with
    ``optimize_1d``); otherwise the AdamW update of the 1-D tensors with their own hyper-parameters."""
    if maximize:
        g = o.neg(g)
    m, v, last = st["exp_avg"], st["exp_avg_sq"], st["last_grad"]
    vmax = st["max_exp_avg_sq"] if ams_bound else None
    c = g
    if mixed:
        c = o.sub(g, last)
        o.mul_(c, gamma_coef)
        o.add_(c, g)
        n = o.norm(c)                        # per-tensor: the corrected gradient is clipped to norm 1
        if bool(n > 1.0):
            o.div_(c, n)
    o.lerp_(m, c, 1.0 - beta1)
    update = o.clone(m)
    if cautious:
        cautious_(o, update, g)
    if mixed and mars_type == "lion":
        update = o.sign(update)
    elif mixed and mars_type == "shampoo" and g.ndim >= 2:
        update = _orthogonalised(o, update, g.shape, beta1=beta1, eps=eps)
    else:
        update = _adam_step(o, update, c, v, vmax, beta2=beta2, eps=eps, bias_correction1=bias_correction1,
                            bias_correction2_sq=bias_correction2_sq)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    add_scaled_(o, p, update, -lr)
    o.copy_(last, g)      # with coupled decay the reference stores the decayed gradient (its grad was edited)


class MARS(ContribOptimizer):
    r"""MARS (Yuan et al., 2024), as pytorch_optimizer's, with ``mars_type`` "adamw", "lion" or "shampoo".

    .. math::
        c_t = g_t + \gamma\frac{\beta_1}{1-\beta_1}(g_t - g_{t-1}),\quad
        \tilde c_t = c_t / \max(1, \|c_t\|_2),\quad m_t = \beta_1 m + (1-\beta_1)\tilde c_t

    then an AdamW step on :math:`m_t` with :math:`v_t = \mathrm{EMA}_{\beta_2}(\tilde c_t^2)` ("adamw") or
    :math:`\mathrm{sign}(m_t)` ("lion"). Tensors with fewer than 2 dims (unless ``optimize_1d``) take a plain
    AdamW step with ``lr_1d`` (as ``lr * lr_1d_factor``, the reference's product), ``betas_1d`` and
    ``weight_decay_1d``. The correction's coefficient is rounded as the reference's default foreach path
    computes it, :math:`(\gamma\beta_1)/(1-\beta_1)` (for "shampoo", which the reference steps per
    parameter, as :math:`\gamma(\beta_1/(1-\beta_1))`). With ``weight_decouple=False`` the reference adds the
    decay to the gradient after the update was computed (no effect on this step) and remembers that decayed
    gradient as ``last_grad``; we match it. ``mars_type="shampoo"`` orthogonalises the momentum of tensors
    of 2+ dims by the reference's five bfloat16 Newton-Schulz steps (emulated in float32 with bfloat16
    rounding, as :class:`~minitorch_optim.Muon`); it has no differentiable path (``RuntimeError``).

    The norm clipping is a per-tensor reduction, so every path runs per tensor (no fused kernel).
    State: ``exp_avg``, ``exp_avg_sq``, ``last_grad`` (and ``max_exp_avg_sq`` with ``ams_bound``).
    Paths: for-loop, foreach (per tensor), differentiable (not for "shampoo").
    """

    _always_per_tensor = True
    _fused_supported = False

    def __init__(self, params, lr=3e-3, betas=(0.95, 0.99), gamma=0.025, mars_type="adamw", optimize_1d=False,
                 lr_1d=3e-3, betas_1d=(0.9, 0.95), weight_decay=0.0, weight_decay_1d=0.1, weight_decouple=True,
                 fixed_decay=False, ams_bound=False, cautious=False, eps=1e-8, maximize=False, foreach=None, *,
                 differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_learning_rate(lr_1d)
        validate_betas(betas)
        validate_betas(betas_1d)
        validate_options(mars_type, "mars_type", ["adamw", "lion", "shampoo"])
        validate_non_negative(gamma, "gamma")
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(weight_decay_1d, "weight_decay_1d")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, lr_1d=lr_1d, lr_1d_factor=lr_1d / lr, betas=betas, betas_1d=betas_1d,
                        mars_type=mars_type, gamma=gamma, optimize_1d=optimize_1d, weight_decay=weight_decay,
                        weight_decay_1d=weight_decay_1d, weight_decouple=weight_decouple, fixed_decay=fixed_decay,
                        ams_bound=ams_bound, cautious=cautious, eps=eps, foreach=foreach, **kwargs)
        if differentiable and mars_type == "shampoo":
            raise RuntimeError("MARS(mars_type='shampoo') has no differentiable path (Newton-Schulz in bfloat16)")
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def _path(self, group):
        path = super()._path(group)
        if path == "differentiable" and group["mars_type"] == "shampoo":
            raise RuntimeError("MARS(mars_type='shampoo') has no differentiable path (Newton-Schulz in bfloat16)")
        return path

    def state_buffers(self, group):
        b = {"exp_avg": 0.0, "exp_avg_sq": 0.0, "last_grad": 0.0}
        if group["ams_bound"]:
            b["max_exp_avg_sq"] = 0.0
        return b

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    def update(self, o, p, g, st, group, sc):
        mixed = bool(group["optimize_1d"]) or p.ndim >= 2
        b1, b2 = group["betas"] if mixed else group["betas_1d"]
        t = group.get("step", 1)
        lr = sc["lr"] if mixed else sc["lr"] * group["lr_1d_factor"]
        # the reference's foreach path (its default for adamw/lion) and its per-parameter path (shampoo)
        # round the correction's coefficient differently
        coef = (group["gamma"] * (b1 / (1.0 - b1)) if group["mars_type"] == "shampoo"
                else group["gamma"] * b1 / (1.0 - b1))
        mars_update(o, p, g, st, lr=lr, beta1=b1, beta2=b2, gamma_coef=coef,
                    mars_type=group["mars_type"], mixed=mixed, eps=group["eps"],
                    weight_decay=group["weight_decay"] if mixed else group["weight_decay_1d"],
                    weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"],
                    maximize=self.maximize, ams_bound=group["ams_bound"], cautious=bool(group["cautious"]),
                    bias_correction1=debias(b1, t), bias_correction2_sq=math.sqrt(debias(b2, t)))
