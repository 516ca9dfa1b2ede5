"""Sign-based optimizers: Lion, Tiger and SignSGD (Signum), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

from autograd import Tensor

from ._base import (ContribOptimizer, adanorm_grad, cautious_, centralize, validate_betas, validate_learning_rate,
                    validate_non_negative, validate_range, weight_decay_)


def add_scaled_(o, p, u, coef):
    """``p += coef * u``; a Tensor ``coef`` (differentiable lr) as a product, as the reference does."""
    if isinstance(coef, Tensor):
        return o.add_(p, o.mul(u, coef))
    return o.add_(p, u, alpha=coef)


def lion_update(o, p, g, st, *, lr, beta1, beta2, weight_decay, weight_decouple, fixed_decay, maximize,
                use_gc=False, adanorm=False, adanorm_r=None, cautious=False):
    """Lion: the sign of an interpolation of momentum and gradient, then the momentum update."""
    if maximize:
        g = o.neg(g)
    if use_gc:
        g = centralize(o, g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    s_grad = adanorm_grad(o, g, st.get("exp_grad_adanorm") if adanorm else None, adanorm_r)
    m = st["exp_avg"]
    update = o.sign(o.lerp_(o.clone(m), g, 1.0 - beta1))
    o.lerp_(m, s_grad, 1.0 - beta2)
    if cautious:
        cautious_(o, update, g)
    add_scaled_(o, p, update, -lr)


class Lion(ContribOptimizer):
    r"""Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), as pytorch_optimizer's.

    .. math::
        u_t = \operatorname{sign}(\beta_1 m_{t-1} + (1-\beta_1) g_t),\quad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t,\quad \theta_t = \theta_{t-1} - \gamma u_t

    with decoupled weight decay :math:`\theta \leftarrow \theta(1-\gamma\lambda)` by default
    (``weight_decouple``; ``fixed_decay`` drops the :math:`\gamma`), or L2 decay added to the gradient.
    Also the reference's extra keyword options: ``use_gc`` (gradient centralisation), ``adanorm`` /
    ``adanorm_r`` (state ``exp_grad_adanorm``) and ``cautious``; these need per-tensor reductions, so a
    group that sets them runs the per-tensor loop on the foreach path and has no fused kernel.

    State: ``exp_avg``; the step count is ``group["step"]``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    _per_tensor_options = ("use_gc", "adanorm", "cautious")

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, foreach=None, maximize=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, foreach=foreach, **kwargs)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0}

    def _extra_state(self, group, p, st):
        if group.get("adanorm"):
            st["exp_grad_adanorm"] = Tensor._wrap(p.xp.zeros((1,), dtype=p._data.dtype))

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    def update(self, o, p, g, st, group, sc):
        b1, b2 = group["betas"]
        lion_update(o, p, g, st, lr=sc["lr"], beta1=b1, beta2=b2, weight_decay=group["weight_decay"],
                    weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"],
                    maximize=self.maximize, use_gc=bool(group.get("use_gc")), adanorm=bool(group.get("adanorm")),
                    adanorm_r=group.get("adanorm_r"), cautious=bool(group.get("cautious")))


def tiger_update(o, p, g, st, *, lr, beta, weight_decay, weight_decouple, fixed_decay, maximize):
    """Tiger: one momentum, the step is its sign."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    m = st["exp_avg"]
    o.lerp_(m, g, 1.0 - beta)
    add_scaled_(o, p, o.sign(m), -lr)


class Tiger(ContribOptimizer):
    r"""Tiger ("A Tight-fisted Optimizer", Su, 2023), as pytorch_optimizer's.

    .. math::
        m_t = \beta m_{t-1} + (1-\beta) g_t,\quad \theta_t = \theta_{t-1} - \gamma\,\operatorname{sign}(m_t)

    Weight decay as in :class:`Lion` (decoupled by default, ``weight_decay=0.01``). Extra keyword
    arguments are accepted and ignored, as the reference does. State: ``exp_avg``.
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-3, beta=0.965, weight_decay=0.01, weight_decouple=True, fixed_decay=False,
                 foreach=None, maximize=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_range(beta, "beta", 0.0, 1.0, range_type="[)")
        validate_non_negative(weight_decay, "weight_decay")
        defaults = dict(lr=lr, beta=beta, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"exp_avg": 0.0}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    def update(self, o, p, g, st, group, sc):
        tiger_update(o, p, g, st, lr=sc["lr"], beta=group["beta"], weight_decay=group["weight_decay"],
                     weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"],
                     maximize=self.maximize)


def signsgd_update(o, p, g, st, *, lr, momentum, weight_decay, weight_decouple, maximize):
    """SignSGD (momentum 0) or Signum (an EMA of the gradient): the step is the sign."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=False)
    if momentum > 0.0:
        buf = st["momentum_buffer"]
        o.lerp_(buf, g, 1.0 - momentum)
        g = buf
    add_scaled_(o, p, o.sign(g), -lr)


class SignSGD(ContribOptimizer):
    r"""signSGD / Signum (Bernstein et al., 2018), as pytorch_optimizer's.

    .. math::
        b_t = \mu b_{t-1} + (1-\mu) g_t,\quad \theta_t = \theta_{t-1} - \gamma\,\operatorname{sign}(b_t)

    (:math:`b_t = g_t` when ``momentum`` is 0). The momentum is an EMA (``lerp``), as in the reference,
    where the paper's Signum accumulates :math:`\mu b + (1-\mu) g` the same way. Extra keyword arguments
    are accepted and ignored, as the reference does. State: ``momentum_buffer`` (momentum > 0 only).
    Paths: for-loop, foreach, differentiable (and fused where the kernel generator provides it).
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0.0, weight_decouple=True, foreach=None,
                 maximize=False, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_range(momentum, "beta", 0.0, 1.0)
        validate_non_negative(weight_decay, "weight_decay")
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {"momentum_buffer": 0.0} if group["momentum"] > 0.0 else {}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    def update(self, o, p, g, st, group, sc):
        signsgd_update(o, p, g, st, lr=sc["lr"], momentum=group["momentum"], weight_decay=group["weight_decay"],
                       weight_decouple=group["weight_decouple"], maximize=self.maximize)
