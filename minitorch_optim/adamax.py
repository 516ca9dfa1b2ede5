"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""
from __future__ import annotations


from .elementwise import ElementwiseOptimizer
from .adagrad import _py, tensor_lr_scalar
from .optimizer import check_args, scalar


def adamax_update(o, p, g, st, *, beta1, beta2, eps, weight_decay, maximize, clr):
    """One Adamax step; ``clr`` is ``lr / (1 - beta1**step)`` from ``Adamax.step_scalars``."""
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    m, u = st["exp_avg"], st["exp_inf"]
    o.lerp_(m, g, 1 - beta1)
    o.mul_(u, beta2)
    o.maximum_(u, o.add_scalar_(o.abs(g), eps))
    o.addcdiv_(p, m, u, value=-clr)


class Adamax(ElementwiseOptimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1).

    Like Adam, but the denominator is a decaying running maximum of :math:`|g|` instead of the root of
    a running mean of :math:`g^2`; it needs no bias correction, only the first moment does:

    .. math::
        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\,g_t \\
        u_t &= \max\left(\beta_2 u_{t-1},\; |g_t| + \epsilon\right) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{u_t}

    State: ``step``, ``exp_avg`` (:math:`m`), ``exp_inf`` (:math:`u`).
    """

    _fused_supported = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False, fused=None):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_inf": 0.0}

    def step_scalars(self, group, lr, s):
        step = s["step"] + 1
        beta1, beta2 = (scalar(b) for b in group["betas"])
        clr = tensor_lr_scalar(group, lr) / (1 - beta1 ** step)
        return {"clr": _py(clr), "beta1": beta1, "beta2": beta2}, {"step": step}

    def update(self, o, p, g, st, group, sc):
        adamax_update(o, p, g, st, beta1=sc["beta1"], beta2=sc["beta2"], eps=group["eps"],
                      weight_decay=group["weight_decay"], maximize=group["maximize"], clr=sc["clr"])
