"""Quasi-hyperbolic momentum: QHAdam and QHM (Ma & Yarats, 2019), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import numpy as np

from autograd import Tensor

from ._base import (ContribOptimizer, validate_betas, validate_learning_rate, validate_non_negative,
                    validate_nus, validate_range, weight_decay_)
from .lion import add_scaled_


def qhadam_update(o, p, g, st, *, lr, nu1, nu2, eps, weight_decay, weight_decouple, fixed_decay, maximize,
                  weight1, weight2):
    """One QHAdam step; ``weight1/2`` are the EMA weights ``1 / (1 + beta + beta^2 + ...)`` of this step."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    g2 = o.mul(g, g)
    o.lerp_(m, g, weight1)
    o.lerp_(v, g2, weight2)
    avg = m
    if nu1 != 1.0:
        avg = o.add_(o.mul(m, nu1), g, alpha=1.0 - nu1)
    rms = o.mul(v, nu2)
    if nu2 != 1.0:
        o.add_(rms, g2, alpha=1.0 - nu2)
    o.sqrt_(rms)
    o.add_scalar_(rms, eps)
    o.addcdiv_(p, avg, rms, value=-lr)


def _ema_weight(w, beta):
    """``w * beta + 1`` and its reciprocal in float32, as the reference's float32 state tensors round."""
    w = np.float32(w) * np.float32(beta) + np.float32(1.0)
    return float(w), float(np.float32(1.0) / w)


class QHAdam(ContribOptimizer):
    r"""QHAdam (Ma & Yarats, 2019), as pytorch_optimizer's.

    .. math::
        m_t = \mathrm{EMA}_{\beta_1}(g),\ v_t = \mathrm{EMA}_{\beta_2}(g^2)\ \text{(bias-free weights)},\quad
        \theta_t = \theta_{t-1} - \gamma\,\frac{(1-\nu_1) g_t + \nu_1 m_t}{\sqrt{(1-\nu_2) g_t^2 + \nu_2 v_t}+\epsilon}

    The moving averages use the weight :math:`1/\sum_{i<t}\beta^i`, kept as the per-parameter scalars
    ``beta1_weight`` / ``beta2_weight`` (float32, as the reference). They are 0-d here where the
    reference has shape (1,); and after ``load_state_dict`` into float64 parameters the reference
    continues their recurrence in float64 while we keep float32 (a resumed run continues exactly).
    Extra keyword arguments are accepted and ignored, as the reference does.

    State: ``beta1_weight``, ``beta2_weight``, ``exp_avg``, ``exp_avg_sq``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), nus=(1.0, 1.0), weight_decay=0.0,
                 weight_decouple=False, fixed_decay=False, eps=1e-8, maximize=False, foreach=None, *,
                 differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_nus(nus)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, betas=betas, nus=nus, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, eps=eps, foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def scalar_state(self, group):
        return {"beta1_weight": 0.0, "beta2_weight": 0.0}

    def load_state_dict(self, state_dict):
        """As the base; the reference's (1,)-shaped beta weights become our 0-d ones."""
        super().load_state_dict(state_dict)
        for st in self.state.values():
            for name in ("beta1_weight", "beta2_weight"):
                v = st.get(name) if isinstance(st, dict) else None
                if isinstance(v, Tensor) and v.ndim:
                    st[name] = Tensor._wrap(v._data.reshape(()))

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def step_scalars(self, group, lr, s):
        b1, b2 = group["betas"]
        w1, r1 = _ema_weight(s["beta1_weight"], b1)
        w2, r2 = _ema_weight(s["beta2_weight"], b2)
        return {"lr": lr, "weight1": r1, "weight2": r2}, {"beta1_weight": w1, "beta2_weight": w2}

    def update(self, o, p, g, st, group, sc):
        nu1, nu2 = group["nus"]
        qhadam_update(o, p, g, st, lr=sc["lr"], nu1=nu1, nu2=nu2, eps=group["eps"],
                      weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                      fixed_decay=group["fixed_decay"], maximize=self.maximize, weight1=sc["weight1"],
                      weight2=sc["weight2"])


def qhm_update(o, p, g, st, *, lr, momentum, nu, weight_decay, weight_decouple, fixed_decay, maximize):
    """One QHM step: a ``nu``-weighted average of the momentum and the plain gradient."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    buf = st["momentum_buffer"]
    o.lerp_(buf, g, 1.0 - momentum)
    add_scaled_(o, p, buf, -lr * nu)
    add_scaled_(o, p, g, -lr * (1.0 - nu))


class QHM(ContribOptimizer):
    r"""Quasi-hyperbolic momentum (Ma & Yarats, 2019), as pytorch_optimizer's.

    .. math::
        b_t = \beta b_{t-1} + (1-\beta) g_t,\quad \theta_t = \theta_{t-1} - \gamma(\nu b_t + (1-\nu) g_t)

    ``foreach`` defaults to False, as in the reference (our foreach path gives the same numbers).
    Extra keyword arguments are accepted and ignored, as the reference does.

    State: ``momentum_buffer``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, nu=1.0, weight_decay=0.0, weight_decouple=False,
                 fixed_decay=False, maximize=False, foreach=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_range(momentum, "momentum", 0.0, 1.0)
        validate_non_negative(weight_decay, "weight_decay")
        validate_nus(nu)
        defaults = dict(lr=lr, momentum=momentum, nu=nu, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"momentum_buffer": 0.0}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    def update(self, o, p, g, st, group, sc):
        qhm_update(o, p, g, st, lr=sc["lr"], momentum=group["momentum"], nu=group["nu"],
                   weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                   fixed_decay=group["fixed_decay"], maximize=self.maximize)
