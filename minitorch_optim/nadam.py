"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat, 2016)."""
from __future__ import annotations

import numpy as np


from autograd.dtypes import get_default_dtype

from .elementwise import ElementwiseOptimizer
from .adam import adam_moments
from .optimizer import check_args, scalar


def nadam_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                 bias_correction2, grad_coef, avg_coef):
    """One NAdam step on ``p`` (torch's per-parameter operation order); coefficients from ``nadam_scalars``."""
    g, m, v = adam_moments(o, p, g, st, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                           decoupled=decoupled, maximize=maximize)
    if getattr(o, "foreach_rounding", False):
        # torch's foreach NAdam divides sqrt(v) by sqrt(1 - beta2^t) where its per-tensor step takes the
        # square root of the quotient; float16/bfloat16 round the two forms apart (float32 paths keep one)
        denom = o.sqrt(v)
        o.div_(denom, bias_correction2 ** 0.5)
    else:
        denom = o.div(v, bias_correction2)
        o.sqrt_(denom)
    o.add_scalar_(denom, eps)
    o.addcdiv_(p, g, denom, value=grad_coef)
    o.addcdiv_(p, m, denom, value=avg_coef)


def nadam_mu(beta1, momentum_decay, step):
    """The momentum coefficient :math:`\\mu_t = \\beta_1 (1 - 0.5 \\cdot 0.96^{t\\psi})`."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def nadam_scalars(lr, beta1, beta2, momentum_decay, step, mu_product, mu_dtype=None):
    """Per-step scalars at ``step`` (1-based) given the previous ``mu_product``.

    ``mu_product`` is stored in ``mu_dtype`` (torch's default dtype, as torch creates it, unless the state
    was loaded in another dtype), and the product is rounded to it, as torch's in-place multiply does.
    """
    mu_dtype = mu_dtype or get_default_dtype().type
    mu = nadam_mu(beta1, momentum_decay, step)
    mu_next = nadam_mu(beta1, momentum_decay, step + 1)
    mu_product = float(mu_dtype(mu_product) * mu_dtype(mu))
    mu_product_next = mu_product * mu_next
    return {"bias_correction2": 1 - beta2 ** step,
            "grad_coef": -lr * (1.0 - mu) / (1.0 - mu_product),
            "avg_coef": (-lr * mu_next) / (1.0 - mu_product_next)}, mu_product


class NAdam(ElementwiseOptimizer):
    r"""NAdam: Adam whose update looks one momentum step ahead, with a decaying momentum schedule.

    With gradient :math:`g_t` (negated if ``maximize``; plus :math:`\lambda\theta_{t-1}`, or
    :math:`\theta_{t-1}` scaled by :math:`1-\gamma\lambda` when ``decoupled_weight_decay``) and
    ``momentum_decay`` :math:`\psi`:

    .. math::
        \mu_t &= \beta_1\big(1 - \tfrac12\, 0.96^{t\psi}\big),\qquad \Pi_t = \textstyle\prod_{i\le t}\mu_i \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        d_t &= \sqrt{v_t/(1-\beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1} - \gamma\frac{1-\mu_t}{1-\Pi_t}\frac{g_t}{d_t}
                   - \gamma\frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}}\frac{m_t}{d_t}

    State per parameter: ``step``, ``mu_product`` (:math:`\Pi_t`, 0-d, torch's default dtype), ``exp_avg`` (:math:`m`),
    ``exp_avg_sq`` (:math:`v`).
    """

    _filled_on_load = {"decoupled_weight_decay": False}  # torch's __setstate__

    _fused_supported = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def scalar_state(self, group):
        return {"step": 0.0, "mu_product": 1.0}

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _advance(self, group, st, lr):
        # as the base, but the mu_product rounding follows the stored dtype (float64 after a torch load)
        s = {name: scalar(st[name]) for name in ("step", "mu_product")}
        sc, new = self.step_scalars(group, lr, s, st["mu_product"]._data.dtype.type)
        for name, v in new.items():
            st[name]._data[...] = v
        return sc

    def step_scalars(self, group, lr, s, mu_dtype=None):
        step = s["step"] + 1
        beta1, beta2 = group["betas"]
        sc, mu_product = nadam_scalars(lr, beta1, beta2, group["momentum_decay"], step, s["mu_product"],
                                       mu_dtype)
        return dict(sc, lr=lr, beta1=beta1, beta2=beta2), {"step": step, "mu_product": mu_product}

    def update(self, o, p, g, st, group, sc):
        nadam_update(o, p, g, st, lr=sc["lr"], beta1=sc["beta1"], beta2=sc["beta2"], eps=group["eps"],
                     weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"],
                     maximize=group["maximize"], bias_correction2=sc["bias_correction2"],
                     grad_coef=sc["grad_coef"], avg_coef=sc["avg_coef"])
