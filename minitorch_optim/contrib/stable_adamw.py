"""StableAdamW (Wortsman et al., 2023), LaProp (Ziyin et al., 2020) and Grams (Cao et al., 2024), as
pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

from ._base import (ContribOptimizer, cautious_, debias, debias_beta, f32, stable_adamw_rms, validate_betas,
                    validate_learning_rate, validate_non_negative, weight_decay_)
from .lion import add_scaled_


def stable_adamw_update(o, p, g, st, *, lr, beta1_comp, beta2_hat, eps, weight_decay, weight_decouple, maximize):
    """One StableAdamW step: AdamW whose step (and decay) is divided by the per-tensor update RMS."""
    if maximize:
        g = o.neg(g)
    if not weight_decouple:
        g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=False, fixed_decay=False)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    o.lerp_(m, g, beta1_comp)
    o.mul_(v, beta2_hat)
    o.addcmul_(v, g, g, value=1.0 - beta2_hat)
    lr_t = (1.0 / stable_adamw_rms(o, g, v, eps * eps)) * lr      # torch's  lr / rms  (reciprocal times lr)
    if weight_decouple:
        weight_decay_(o, p, g, lr=lr_t, weight_decay=weight_decay, weight_decouple=True, fixed_decay=False)
    de = o.sqrt(v)
    o.add_scalar_(de, eps)
    o.div_(de, -lr_t)
    o.addcdiv_(p, m, de)


class StableAdamW(ContribOptimizer):
    r"""StableAdamW (Wortsman et al., 2023), as pytorch_optimizer's.

    AdamW with the bias-corrected decays :math:`\hat\beta_t = \beta(1-\beta^{t-1})/(1-\beta^t)` and the
    step divided by :math:`\mathrm{RMS}_t = \max(1, \sqrt{\mathrm{mean}(g^2/\max(v, \epsilon^2))})`:

    .. math::
        \gamma_t = \gamma/\mathrm{RMS}_t,\quad \theta \leftarrow \theta(1-\gamma_t\lambda),\quad
        \theta_t = \theta - \gamma_t\, m_t/(\sqrt{v_t}+\epsilon)

    The RMS is a per-tensor reduction in the middle of the update, so every path runs per tensor
    (foreach as well; no fused kernel). ``kahan_sum`` only acts on float16/bfloat16 parameters, which
    this implementation does not take (``TypeError``); for float32/float64 ``kahan_comp`` is ``None``,
    as in the reference.

    State: ``exp_avg``, ``exp_avg_sq``, ``kahan_comp``.
    Paths: for-loop, foreach (per tensor), differentiable.
    """

    _always_per_tensor = True
    _fused_supported = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.99), kahan_sum=True, weight_decay=1e-2, weight_decouple=True,
                 eps=1e-8, foreach=None, maximize=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, betas=betas, kahan_sum=kahan_sum, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, eps=eps, foreach=foreach, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _extra_state(self, group, p, st):
        if p._data.dtype.itemsize < 4:
            raise TypeError("StableAdamW here takes float32/float64 parameters only (no Kahan summation)")
        st["kahan_comp"] = None

    def step_scalars(self, group, lr, s):
        b1, b2 = group["betas"]
        t = group.get("step", 1)
        return {"lr": lr, "beta1_comp": 1.0 - debias_beta(b1, t), "beta2_hat": debias_beta(b2, t)}, {}

    def update(self, o, p, g, st, group, sc):
        stable_adamw_update(o, p, g, st, lr=sc["lr"], beta1_comp=sc["beta1_comp"], beta2_hat=sc["beta2_hat"],
                            eps=group["eps"], weight_decay=group["weight_decay"],
                            weight_decouple=group["weight_decouple"], maximize=self.maximize)


def laprop_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                  centered, use_centered, ams_bound, bias_correction2_sq, step_size, cautious=False):
    """One LaProp step: the momentum averages the already normalised gradient."""
    if maximize:
        g = o.neg(g)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1.0 - beta2)
    second = v
    if centered:
        mean = st["exp_mean_avg_beta2"]
        o.lerp_(mean, g, 1.0 - beta2)
        if use_centered:
            second = o.sub(v, o.mul(mean, mean))
    if ams_bound:
        vmax = st["max_exp_avg_sq"]
        o.maximum_(vmax, second)
        second = vmax
    de = o.add_scalar_(o.clone(second), 1e-15)   # the reference's exp_avg_sq_eps
    o.sqrt_(de)
    o.add_scalar_(de, eps)
    o.div_(de, bias_correction2_sq)
    o.mul_(m, beta1)
    o.addcdiv_(m, g, de, value=(1.0 - beta1) * lr)
    update = cautious_(o, o.clone(m), g) if cautious else m
    add_scaled_(o, p, update, step_size)
    # after the step, as the reference: the coupled form then changes nothing (see the class docstring)
    weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                  fixed_decay=fixed_decay)


class LaProp(ContribOptimizer):
    r"""LaProp (Ziyin et al., 2020), as pytorch_optimizer's.

    .. math::
        v_t = \beta_2 v + (1-\beta_2) g_t^2,\quad
        m_t = \beta_1 m + (1-\beta_1)\,\gamma\,\frac{g_t}{(\sqrt{v_t + 10^{-15}}+\epsilon)/\sqrt{1-\beta_2^t}},\quad
        \theta_t = \theta_{t-1} - m_t / c_t

    where :math:`c_t` = ``exp_avg_lr_1`` / :math:`\gamma` is the EMA of the learning rates (the first-moment
    bias correction that stays right when the learning rate changes). ``centered`` subtracts the squared
    EMA of :math:`g` once ``steps_before_using_centered`` steps have passed; ``ams_bound`` as in AMSGrad.

    Matches the reference's default (foreach) path on every path here: the step size :math:`-1/c_t` is
    rounded to float32 (the reference's ``foreach=False`` path keeps float64; on float64 parameters the two
    differ by that rounding). With ``cautious`` the reference has only its per-parameter path, and so the
    float64 step size; so do we.
    Reference bug kept: weight decay is applied after the step, so with ``weight_decouple=False`` it has
    no effect (the reference adds it to a gradient that is no longer used); decoupled decay works.
    ``exp_avg_lr_1`` / ``exp_avg_lr_2`` are Python floats in the state, as in the reference, so every
    path runs per tensor (no fused kernel). Extra keyword option ``cautious``.

    State: ``exp_avg``, ``exp_avg_sq``, ``exp_avg_lr_1``, ``exp_avg_lr_2`` (and ``exp_mean_avg_beta2``,
    ``max_exp_avg_sq``).
    Paths: for-loop, foreach (per tensor), differentiable.
    """

    _always_per_tensor = True
    _fused_supported = False

    def __init__(self, params, lr=4e-4, betas=(0.9, 0.999), centered=False, steps_before_using_centered=10,
                 weight_decay=0.0, weight_decouple=True, fixed_decay=False, ams_bound=False, eps=1e-15,
                 maximize=False, foreach=None, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        self.steps_before_using_centered = steps_before_using_centered
        defaults = dict(lr=lr, betas=betas, centered=centered, weight_decay=weight_decay, foreach=foreach,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, ams_bound=ams_bound, eps=eps,
                        **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        b = {"exp_avg": 0.0, "exp_avg_sq": 0.0}
        if group["centered"]:
            b["exp_mean_avg_beta2"] = 0.0
        if group["ams_bound"]:
            b["max_exp_avg_sq"] = 0.0
        return b

    def _extra_state(self, group, p, st):
        items = list(st.items())      # the reference's key order: the two floats after exp_avg_sq
        st.clear()
        for i, (k, v) in enumerate(items):
            st[k] = v
            if i == 1:
                st["exp_avg_lr_1"] = 0.0
                st["exp_avg_lr_2"] = 0.0

    def _extra_spec(self, group):
        return {"exp_avg_lr_1": "scalar", "exp_avg_lr_2": "scalar"}

    def _advance(self, group, st, lr):
        b1, b2 = group["betas"]
        st["exp_avg_lr_1"] = st["exp_avg_lr_1"] * b1 + (1.0 - b1) * lr
        st["exp_avg_lr_2"] = st["exp_avg_lr_2"] * b2 + (1.0 - b2)
        bc1 = st["exp_avg_lr_1"] / lr if lr != 0.0 else 1.0
        step_size = -1.0 / bc1
        if isinstance(step_size, float) and not group.get("cautious"):
            step_size = f32(step_size)       # the reference's foreach path (its default) holds it in float32
        return {"lr": lr, "step_size": step_size, "bias_correction2_sq": math.sqrt(debias(b2, group["step"])),
                "use_centered": group["step"] > self.steps_before_using_centered}

    def step_scalars(self, group, lr, s):   # not used: every path runs _advance per tensor
        raise NotImplementedError

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        laprop_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                      weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                      fixed_decay=group["fixed_decay"], maximize=self.maximize, centered=group["centered"],
                      use_centered=sc["use_centered"], ams_bound=group["ams_bound"],
                      bias_correction2_sq=sc["bias_correction2_sq"], step_size=sc["step_size"],
                      cautious=bool(group.get("cautious")))


def grams_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, maximize,
                 bias_correction1, bias_correction2_sq):
    """One Grams step: Adam's update magnitude with the gradient's sign."""
    if maximize:
        g = o.neg(g)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    o.lerp_(m, g, 1.0 - beta1)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1.0 - beta2)
    de = o.sqrt(v)
    o.div_(de, bias_correction2_sq)
    o.add_scalar_(de, eps)
    update = o.div(m, bias_correction1)
    o.div_(update, de)
    update = o.mul(o.abs(update), o.sign(g))
    # as the reference: the coupled form changes a gradient that is no longer used (see the class docstring)
    weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple, fixed_decay=False)
    add_scaled_(o, p, update, -lr)


class Grams(ContribOptimizer):
    r"""Grams, gradient descent with adaptive momentum scaling (Cao et al., 2024), as pytorch_optimizer's.

    .. math::
        u_t = \Big|\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t}/\sqrt{1-\beta_2^t}+\epsilon}\Big|\operatorname{sign}(g_t),\quad
        \theta_t = \theta_{t-1}(1-\gamma\lambda) - \gamma u_t

    Reference bug kept: with ``weight_decouple=False`` the decay is added to the gradient after the update
    was computed, so it has no effect; we match the numbers (decoupled decay, the default, works).
    ``foreach`` defaults to False, as in the reference. Extra keyword arguments are accepted and ignored.

    State: ``exp_avg``, ``exp_avg_sq``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True, eps=1e-6,
                 maximize=False, foreach=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple, eps=eps,
                        foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def step_scalars(self, group, lr, s):
        b1, b2 = group["betas"]
        t = group.get("step", 1)
        return {"lr": lr, "bias_correction1": debias(b1, t), "bias_correction2_sq": math.sqrt(debias(b2, t))}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        grams_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                     weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                     maximize=self.maximize, bias_correction1=sc["bias_correction1"],
                     bias_correction2_sq=sc["bias_correction2_sq"])
