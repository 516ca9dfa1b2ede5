"""AdaBelief (Zhuang et al., 2020) and Yogi (Zaheer et al., 2018), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

from autograd import Tensor

from ._base import (ContribOptimizer, adanorm_grad, debias, validate_betas, validate_learning_rate,
                    validate_non_negative, weight_decay_)
from .lion import add_scaled_


def rectify_step_size(is_rectify, step, lr, beta2, n_sma_threshold, degenerated_to_sgd):
    """RAdam's rectified step size and the SMA length (the reference's ``get_rectify_step_size``)."""
    step_size, n_sma = lr, 0.0
    if is_rectify:
        n_sma_max = 2.0 / (1.0 - beta2) - 1.0
        beta2_t = beta2 ** step
        n_sma = n_sma_max - 2 * step * beta2_t / (1.0 - beta2_t)
        if n_sma >= n_sma_threshold:
            rt = math.sqrt((1.0 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max
                           / (n_sma_max - 2))
        elif degenerated_to_sgd:
            rt = 1.0
        else:
            rt = -1.0
        step_size = step_size * rt
    return step_size, n_sma


def adabelief_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                     ams_bound, rectify, step_size, bias_correction2_sq, adaptive_step, adanorm=False,
                     adanorm_r=None):
    """One AdaBelief step: the second moment tracks :math:`(g - m)^2` (the "belief" in the gradient)."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    s_grad = adanorm_grad(o, g, st.get("exp_grad_adanorm") if adanorm else None, adanorm_r)
    m, v = st["exp_avg"], st["exp_avg_var"]
    o.lerp_(m, s_grad, 1.0 - beta1)
    res = o.sub(g, m)
    o.mul_(v, beta2)
    o.addcmul_(v, res, res, value=1.0 - beta2)
    o.add_scalar_(v, eps)
    if ams_bound:
        vmax = st["max_exp_avg_var"]
        o.maximum_(vmax, v)
        de = o.sqrt(vmax)
    else:
        de = o.sqrt(v)
    if not rectify:
        o.div_(de, bias_correction2_sq)
        o.add_scalar_(de, eps)
        o.addcdiv_(p, m, de, value=-step_size)
        return
    o.add_scalar_(de, eps)
    if adaptive_step:
        o.addcdiv_(p, m, de, value=-step_size)
    elif step_size > 0:
        add_scaled_(o, p, m, -step_size)


class AdaBelief(ContribOptimizer):
    r"""AdaBelief (Zhuang et al., 2020), as pytorch_optimizer's.

    .. math::
        m_t = \beta_1 m + (1-\beta_1) g_t,\quad s_t = \beta_2 s + (1-\beta_2)(g_t - m_t)^2 + \epsilon,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{\sqrt{s_t}/\sqrt{1-\beta_2^t} + \epsilon}

    ``rectify`` takes RAdam's rectified step (``n_sma_threshold``, ``degenerated_to_sgd``), ``ams_bound``
    the running maximum of :math:`s`. Weight decay decoupled by default. Extra keyword options:
    ``adam_debias`` (no first-moment bias correction of the step), ``adanorm`` / ``adanorm_r``
    (per-tensor path only).

    State: ``exp_avg``, ``exp_avg_var`` (and ``max_exp_avg_var`` with ``ams_bound``).
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    _per_tensor_options = ("adanorm",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, rectify=False, n_sma_threshold=5, degenerated_to_sgd=True, ams_bound=False,
                 foreach=None, eps=1e-16, maximize=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        self.n_sma_threshold = n_sma_threshold
        self.degenerated_to_sgd = degenerated_to_sgd
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, rectify=rectify, ams_bound=ams_bound, foreach=foreach, eps=eps,
                        **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        b = {"exp_avg": 0.0, "exp_avg_var": 0.0}
        if group["ams_bound"]:
            b["max_exp_avg_var"] = 0.0
        return b

    def _extra_state(self, group, p, st):
        if group.get("adanorm"):
            st["exp_grad_adanorm"] = Tensor._wrap(p.xp.zeros((1,), dtype=p._data.dtype))

    def step_scalars(self, group, lr, s):
        b1, b2 = group["betas"]
        t = group.get("step", 1)
        step_size, n_sma = rectify_step_size(group["rectify"], t, lr, b2, self.n_sma_threshold,
                                             self.degenerated_to_sgd)
        if not group.get("adam_debias", False):
            step_size = step_size / debias(b1, t)
        return {"lr": lr, "step_size": step_size, "bias_correction2_sq": math.sqrt(debias(b2, t)),
                "adaptive_step": n_sma >= self.n_sma_threshold}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        adabelief_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                         weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                         fixed_decay=group["fixed_decay"], maximize=self.maximize, ams_bound=group["ams_bound"],
                         rectify=group["rectify"], step_size=sc["step_size"],
                         bias_correction2_sq=sc["bias_correction2_sq"], adaptive_step=sc["adaptive_step"],
                         adanorm=bool(group.get("adanorm")), adanorm_r=group.get("adanorm_r"))


def yogi_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                step_size, bias_correction2_sq):
    """One Yogi step: the second moment moves by :math:`\\pm(1-\\beta_2) g^2` towards :math:`g^2`."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    g2 = o.mul(g, g)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    o.lerp_(m, g, 1.0 - beta1)
    o.addcmul_(v, o.sign(o.sub(v, g2)), g2, value=-(1.0 - beta2))
    de = o.sqrt(v)
    o.div_(de, bias_correction2_sq)
    o.add_scalar_(de, eps)
    o.addcdiv_(p, m, de, value=-step_size)


class Yogi(ContribOptimizer):
    r"""Yogi (Zaheer et al., 2018), as pytorch_optimizer's.

    .. math::
        m_t = \beta_1 m + (1-\beta_1) g_t,\quad
        v_t = v_{t-1} - (1-\beta_2)\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t}+\epsilon}

    Both moments start at ``initial_accumulator``. The reference bias-corrects the step like Adam (the
    paper does not); we match it. Extra keyword option: ``adam_debias``.

    State: ``exp_avg``, ``exp_avg_sq``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), initial_accumulator=1e-6, weight_decay=0.0,
                 weight_decouple=True, fixed_decay=False, eps=1e-3, maximize=False, foreach=None, *,
                 differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, initial_accumulator=initial_accumulator, eps=eps,
                        foreach=foreach, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        a = group["initial_accumulator"]
        return {"exp_avg": a, "exp_avg_sq": a}

    def step_scalars(self, group, lr, s):
        b1, b2 = group["betas"]
        t = group.get("step", 1)
        step_size = lr if group.get("adam_debias", False) else lr / debias(b1, t)
        return {"lr": lr, "step_size": step_size, "bias_correction2_sq": math.sqrt(debias(b2, t))}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        yogi_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, eps=group["eps"],
                    weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                    fixed_decay=group["fixed_decay"], maximize=self.maximize, step_size=sc["step_size"],
                    bias_correction2_sq=sc["bias_correction2_sq"])
