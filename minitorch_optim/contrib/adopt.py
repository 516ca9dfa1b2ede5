"""ADOPT (Taniguchi et al., 2024) and AdEMAMix (Pagliardini et al., 2024), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

from ._base import (ContribOptimizer, cautious_, debias, stable_adamw_rms, validate_betas, validate_learning_rate,
                    validate_non_negative, weight_decay_)
from .lion import add_scaled_


def adopt_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                 first_step, clip, cautious=False, stable_adamw=False):
    """One ADOPT step: normalise by the *previous* second moment, clip, then update the moments."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    if first_step:
        o.addcmul_(v, g, g)
        return
    normed = o.div(g, o.clamp_(o.sqrt(v), eps))
    if clip is not None:
        o.clamp_(normed, -clip, clip)
    o.lerp_(m, normed, 1.0 - beta1)
    update = cautious_(o, o.clone(m), normed) if cautious else m
    if stable_adamw:
        update = o.div(update, stable_adamw_rms(o, g, v))
    add_scaled_(o, p, update, -lr)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1.0 - beta2)


def _quarter_power(step):
    return math.pow(step, 0.25)


class ADOPT(ContribOptimizer):
    r"""ADOPT (Taniguchi et al., 2024), as pytorch_optimizer's.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1)\,\mathrm{clip}\Big(\frac{g_t}{\max(\sqrt{v_{t-1}}, \epsilon)},
        c_t\Big),\quad \theta_t = \theta_{t-1} - \gamma m_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2

    with :math:`c_t` = ``clip_lambda(step)`` (:math:`t^{1/4}` by default, None for no clipping). The first
    step of a group only initialises :math:`v_0 = g_0^2`. Extra keyword options ``cautious`` and
    ``stable_adamw`` (per-tensor path only).

    State: ``exp_avg``, ``exp_avg_sq``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    _per_tensor_options = ("cautious", "stable_adamw")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.9999), clip_lambda=_quarter_power, weight_decay=0.0,
                 weight_decouple=False, fixed_decay=False, foreach=None, eps=1e-6, maximize=False, *,
                 differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        self.clip_lambda = clip_lambda
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, foreach=foreach, eps=eps, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def step_scalars(self, group, lr, s):
        t = group.get("step", 1)
        clip = self.clip_lambda(t) if self.clip_lambda is not None and t > 1 else None
        return {"lr": lr, "first_step": t == 1, "clip": clip}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        adopt_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                     weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                     fixed_decay=group["fixed_decay"], maximize=self.maximize, first_step=sc["first_step"],
                     clip=sc["clip"], cautious=bool(group.get("cautious")),
                     stable_adamw=bool(group.get("stable_adamw")))


def ademamix_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                    beta3_t, alpha_t, bias_correction1, bias_correction2_sq, cautious=False, stable_adamw=False):
    """One AdEMAMix step: Adam's fast EMA plus ``alpha_t`` times a slow EMA (``beta3_t``) of the gradient."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    m, v, slow = st["exp_avg"], st["exp_avg_sq"], st["exp_avg_slow"]
    o.lerp_(m, g, 1.0 - beta1)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1.0 - beta2)
    o.lerp_(slow, g, 1.0 - beta3_t)
    de = o.sqrt(v)
    o.div_(de, bias_correction2_sq)
    o.add_scalar_(de, eps)
    if cautious:
        update = o.div_(cautious_(o, o.clone(m), g), bias_correction1)
    else:
        update = o.div(m, bias_correction1)
    o.add_(update, slow, alpha=alpha_t)
    if stable_adamw:
        o.div_(update, de)
        o.div_(update, stable_adamw_rms(o, g, v))
        add_scaled_(o, p, update, -lr)
    else:
        o.addcdiv_(p, update, de, value=-lr)


def schedule_alpha(t_alpha_beta3, step, alpha):
    return alpha if t_alpha_beta3 is None else min(step * alpha / t_alpha_beta3, alpha)


def schedule_beta3(t_alpha_beta3, step, beta1, beta3):
    if t_alpha_beta3 is None:
        return beta3
    log_beta1, log_beta3 = math.log(beta1), math.log(beta3)
    frac = step / t_alpha_beta3
    return min(math.exp(log_beta1 * log_beta3 / ((1.0 - frac) * log_beta3 + frac * log_beta1)), beta3)


class AdEMAMix(ContribOptimizer):
    r"""AdEMAMix (Pagliardini et al., 2024), as pytorch_optimizer's.

    .. math::
        m_1 = \mathrm{EMA}_{\beta_1}(g),\ m_2 = \mathrm{EMA}_{\beta_3(t)}(g),\ v = \mathrm{EMA}_{\beta_2}(g^2),\quad
        \theta_t = \theta_{t-1} - \gamma\,\frac{m_1/(1-\beta_1^t) + \alpha(t)\, m_2}{\sqrt{v}/\sqrt{1-\beta_2^t}+\epsilon}

    ``t_alpha_beta3`` warms :math:`\alpha` up linearly and :math:`\beta_3` up on the paper's schedule.
    Extra keyword options ``cautious`` and ``stable_adamw`` (per-tensor path only).

    State: ``exp_avg``, ``exp_avg_sq``, ``exp_avg_slow``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    _per_tensor_options = ("cautious", "stable_adamw")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999, 0.9999), weight_decay=0.0, weight_decouple=False,
                 fixed_decay=False, alpha=5.0, t_alpha_beta3=None, eps=1e-8, maximize=False, foreach=None, *,
                 differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(alpha, "alpha")
        validate_non_negative(t_alpha_beta3, "t_alpha_beta3")
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, alpha=alpha, t_alpha_beta3=t_alpha_beta3, eps=eps,
                        foreach=foreach, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0, "exp_avg_slow": 0.0}

    def step_scalars(self, group, lr, s):
        b1, b2, b3 = group["betas"]
        t = group.get("step", 1)
        return {"lr": lr, "bias_correction1": debias(b1, t), "bias_correction2_sq": math.sqrt(debias(b2, t)),
                "alpha_t": schedule_alpha(group["t_alpha_beta3"], t, group["alpha"]),
                "beta3_t": schedule_beta3(group["t_alpha_beta3"], t, b1, b3)}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2, _ = group["betas"]
        ademamix_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                        weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                        fixed_decay=group["fixed_decay"], maximize=self.maximize, beta3_t=sc["beta3_t"],
                        alpha_t=sc["alpha_t"], bias_correction1=sc["bias_correction1"],
                        bias_correction2_sq=sc["bias_correction2_sq"], cautious=bool(group.get("cautious")),
                        stable_adamw=bool(group.get("stable_adamw")))
