"""Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS of gradients."""
from __future__ import annotations

from autograd import Tensor

from .elementwise import ElementwiseOptimizer
from .optimizer import check_args


def adadelta_update(o, p, g, st, *, lr, rho, eps, weight_decay, maximize):
    """One Adadelta step on ``p``; ``st`` holds ``square_avg`` (of g^2) and ``acc_delta`` (of update^2)."""
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    v, u = st["square_avg"], st["acc_delta"]
    o.mul_(v, rho)
    o.addcmul_(v, g, g, value=1 - rho)
    rms_g = o.sqrt_(o.add_scalar_(o.clone(v), eps))
    delta = o.sqrt_(o.add_scalar_(o.clone(u), eps))
    o.div_(delta, rms_g)
    o.mul_(delta, g)
    o.mul_(u, rho)
    o.addcmul_(u, delta, delta, value=1 - rho)
    if isinstance(lr, Tensor):
        o.sub_(p, o.mul(delta, lr))
    else:
        o.add_(p, delta, alpha=-lr)


class Adadelta(ElementwiseOptimizer):
    r"""Adadelta (Zeiler, 2012).

    The step of each coordinate is the gradient times the ratio of two running root-mean-squares: the
    one of the past updates over the one of the gradients, so the units of the step match the units
    of the parameter and ``lr`` is only a final scale (1.0 by default):

    .. math::
        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        v_t &= \rho\,v_{t-1} + (1-\rho)\,g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\; g_t \\
        u_t &= \rho\,u_{t-1} + (1-\rho)\,\Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma\,\Delta_t

    State: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).
    """

    _fused_supported = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False, fused=None):
        check_args(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_args(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"square_avg": 0.0, "acc_delta": 0.0}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {"step": s["step"] + 1}

    def update(self, o, p, g, st, group, sc):
        adadelta_update(o, p, g, st, lr=sc["lr"], rho=group["rho"], eps=group["eps"],
                        weight_decay=group["weight_decay"], maximize=group["maximize"])
