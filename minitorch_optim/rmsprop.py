"""RMSprop: divide the gradient by a running root-mean-square of its recent magnitudes."""
from __future__ import annotations

from autograd import Tensor

from .elementwise import ElementwiseOptimizer
from .optimizer import check_args


def rmsprop_update(o, p, g, st, *, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """One RMSprop step on ``p`` (torch's per-parameter operation order).

    ``st`` holds ``square_avg``, plus ``momentum_buffer`` when ``momentum > 0`` and ``grad_avg`` when
    ``centered``.
    """
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    sq = st["square_avg"]
    o.mul_(sq, alpha)
    o.addcmul_(sq, g, g, value=1 - alpha)
    if centered:
        mean = st["grad_avg"]
        o.lerp_(mean, g, 1 - alpha)
        # variance estimate E[g^2] - E[g]^2, built in a fresh array so square_avg is untouched
        avg = o.clone(sq)
        o.addcmul_(avg, mean, mean, value=-1)
        o.sqrt_(avg)
    else:
        avg = o.sqrt(sq)
    o.add_scalar_(avg, eps)
    tensor_lr = isinstance(lr, Tensor)
    if momentum > 0:
        buf = st["momentum_buffer"]
        o.mul_(buf, momentum)
        o.addcdiv_(buf, g, avg)
        if tensor_lr:
            o.sub_(p, o.mul(buf, lr))
        else:
            o.add_(p, buf, alpha=-lr)
    elif tensor_lr:
        o.sub_(p, o.mul(o.div(g, avg), lr))
    else:
        o.addcdiv_(p, g, avg, value=-lr)


class RMSprop(ElementwiseOptimizer):
    r"""RMSprop (Tieleman & Hinton), optionally centered and with momentum.

    With gradient :math:`g_t` (negated if ``maximize``, plus :math:`\lambda\theta_{t-1}` if
    ``weight_decay``), smoothing constant :math:`\alpha` and learning rate :math:`\gamma`:

    .. math::
        v_t &= \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t \qquad\text{(centered only)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)}\quad\text{or}\quad \sqrt{v_t}+\epsilon \\
        b_t &= \mu b_{t-1} + g_t / d_t,\quad \theta_t = \theta_{t-1} - \gamma b_t
        \qquad\text{(if } \mu > 0\text{, else } \theta_t = \theta_{t-1} - \gamma g_t/d_t)

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (:math:`b`, when
    ``momentum > 0``) and ``grad_avg`` (:math:`\bar g`, when ``centered``).
    """

    _filled_on_load = {"momentum": 0, "centered": False}  # torch's __setstate__

    _fused_supported = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False, *, fused=None):
        check_args(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        b = {"square_avg": 0.0}
        if group["momentum"] > 0:
            b["momentum_buffer"] = 0.0
        if group["centered"]:
            b["grad_avg"] = 0.0
        return b

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {"step": s["step"] + 1}

    def update(self, o, p, g, st, group, sc):
        rmsprop_update(o, p, g, st, lr=sc["lr"], alpha=group["alpha"], eps=group["eps"],
                       weight_decay=group["weight_decay"], momentum=group["momentum"],
                       centered=group["centered"], maximize=group["maximize"])
