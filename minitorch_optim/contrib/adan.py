"""Adan: adaptive Nesterov momentum (Xie et al., 2022), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

import numpy as np

from autograd import Tensor
from autograd.backend import array_module

from ._base import (ContribOptimizer, adanorm_grad, centralize, debias, validate_betas, validate_learning_rate,
                    validate_non_negative)


def adan_update(o, p, g, st, *, lr, beta1, beta2, beta3, eps, weight_decay, weight_decouple, maximize, clip,
                first, step_size, diff_step_size, bias_correction3_sq, use_gc=False, adanorm=False,
                adanorm_r=None):
    """One Adan step; ``clip`` is the global-norm clipping factor of this step (1.0 without clipping)."""
    prev = st["previous_grad"]
    if first:       # the reference starts it at -clip * (the raw gradient, before maximize)
        o.copy_(prev, g)
        o.mul_(prev, -clip)
    if maximize:
        g = o.neg(g)
    if clip != 1.0:
        g = o.mul(g, clip)
    if use_gc:
        g = centralize(o, g)
    o.add_(prev, g)                 # previous_grad now holds g_t - g_{t-1}
    s_grad = adanorm_grad(o, g, st.get("exp_grad_adanorm") if adanorm else None, adanorm_r)
    m, v, d = st["exp_avg"], st["exp_avg_sq"], st["exp_avg_diff"]
    o.lerp_(m, s_grad, 1.0 - beta1)
    o.lerp_(d, prev, 1.0 - beta2)
    o.mul_(prev, beta2)
    o.add_(prev, g)                 # g_t + beta2 (g_t - g_{t-1})
    o.mul_(v, beta3)
    o.addcmul_(v, prev, prev, value=1.0 - beta3)
    de = o.sqrt(v)
    o.div_(de, bias_correction3_sq)
    o.add_scalar_(de, eps)
    if weight_decay != 0.0 and weight_decouple:
        o.mul_(p, 1.0 - lr * weight_decay)
    o.addcdiv_(p, m, de, value=-step_size)
    o.addcdiv_(p, d, de, value=-diff_step_size)
    if weight_decay != 0.0 and not weight_decouple:
        o.div_(p, 1.0 + lr * weight_decay)
    o.copy_(prev, o.neg(g))


def global_clip_factor(param_groups, max_grad_norm, eps):
    """``min(1, max_grad_norm / (||g||_2 + eps))`` over every gradient of every group, in float32 as the
    reference computes it (per-tensor norms in the gradient's dtype, squared and summed in float32)."""
    if max_grad_norm == 0.0:
        return 1.0
    sq = []
    for group in param_groups:
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad._data
            xp = array_module(g)
            n = np.float32(float(xp.sqrt((g * g).sum())))
            sq.append(n * n)
    total = np.sqrt(np.float32(np.sum(np.array(sq, np.float32)))) + np.float32(eps)
    return float(min(np.float32(1.0) / total * np.float32(max_grad_norm), np.float32(1.0)))


class Adan(ContribOptimizer):
    r"""Adan (Xie et al., 2022), as pytorch_optimizer's.

    .. math::
        m_t &= \beta_1 m + (1-\beta_1) g_t,\quad d_t = \beta_2 d + (1-\beta_2)(g_t - g_{t-1}),\\
        n_t &= \beta_3 n + (1-\beta_3)\,[g_t + \beta_2 (g_t - g_{t-1})]^2,\\
        \theta_t &= \theta_{t-1} - \gamma\Big(\frac{m_t}{1-\beta_1^t} + \frac{\beta_2 d_t}{1-\beta_2^t}\Big)
                    \Big/\Big(\frac{\sqrt{n_t}}{\sqrt{1-\beta_3^t}} + \epsilon\Big)

    (the reference's bias corrections). ``weight_decouple`` shrinks :math:`\theta` by
    :math:`1-\gamma\lambda` first; otherwise the proximal form :math:`\theta/(1+\gamma\lambda)` follows
    the step, as in the paper. ``max_grad_norm > 0`` clips by the global gradient norm of all groups
    (read from the constructor's value, as the reference does). As in the reference, the first
    ``previous_grad`` is :math:`-c\,g_1` of the raw gradient, so with ``maximize`` the first difference
    is :math:`-2 c g_1` rather than 0 (we match it). Extra keyword options: ``use_gc``, ``adanorm`` /
    ``adanorm_r`` (per-tensor path only).

    State: ``exp_avg``, ``exp_avg_sq``, ``exp_avg_diff``, ``previous_grad``.
    Paths: for-loop, foreach, differentiable (the clipping factor is a constant of the step, as in the
    reference's no-grad step), and fused where the kernel generator provides it.
    """

    _per_tensor_options = ("use_gc", "adanorm")

    def __init__(self, params, lr=1e-3, betas=(0.98, 0.92, 0.99), weight_decay=0.0, weight_decouple=False,
                 max_grad_norm=0.0, foreach=None, eps=1e-8, maximize=False, *, differentiable=False, fused=None,
                 **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(max_grad_norm, "max_grad_norm")
        validate_non_negative(eps, "eps")
        self.max_grad_norm = max_grad_norm
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        max_grad_norm=max_grad_norm, foreach=foreach, eps=eps, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0, "exp_avg_diff": 0.0, "previous_grad": 0.0}

    def _extra_state(self, group, p, st):
        if group.get("adanorm"):
            st["exp_grad_adanorm"] = Tensor._wrap(p.xp.zeros((1,), dtype=p._data.dtype))

    def _before_step(self):
        super()._before_step()
        self._clip = global_clip_factor(self.param_groups, self.defaults["max_grad_norm"], self.defaults["eps"])

    def step_scalars(self, group, lr, s):
        b1, b2, b3 = group["betas"]
        t = group.get("step", 1)
        return {"lr": lr, "clip": getattr(self, "_clip", 1.0), "step_size": lr / debias(b1, t),
                "diff_step_size": lr * b2 / debias(b2, t), "bias_correction3_sq": math.sqrt(debias(b3, t))}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2, b3 = group["betas"]
        adan_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, beta3=b3, eps=group["eps"],
                    weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                    maximize=self.maximize, clip=sc["clip"], first=sc["first"], step_size=sc["step_size"],
                    diff_step_size=sc["diff_step_size"], bias_correction3_sq=sc["bias_correction3_sq"],
                    use_gc=bool(group.get("use_gc")), adanorm=bool(group.get("adanorm")),
                    adanorm_r=group.get("adanorm_r"))
