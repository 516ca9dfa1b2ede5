"""Rprop: per-element step sizes adapted from the sign agreement of successive gradients."""
from __future__ import annotations


from .elementwise import ElementwiseOptimizer
from .optimizer import check_args, scalar


def rprop_update(o, p, g, st, *, lr, etaminus, etaplus, step_size_min, step_size_max, maximize, first):
    """One Rprop step on ``p`` (torch's per-parameter operation order).

    ``st["prev"]`` is the previous (masked) gradient and ``st["step_size"]`` the per-element step size,
    set to ``lr`` on the parameter's first step (``first``), so a Tensor ``lr`` gets its gradient here.
    """
    if maximize:
        g = o.neg(g)
    prev, size = st["prev"], st["step_size"]
    if first:
        o.copy_(size, lr)
    agree = o.mul(g, prev)
    grow, shrink = o.gt(agree, 0), o.lt(agree, 0)
    # step size times etaplus where the gradient kept its sign, etaminus where it flipped, else unchanged
    # torch writes the factors into a tensor of the parameter's dtype (so ``etaplus`` is rounded to it:
    # 1.2 is 1.203125 in bfloat16) and multiplies the step sizes by that tensor
    factor = o.cast(o.where(grow, etaplus, o.where(shrink, etaminus, 1.0)), size)
    new = o.mul(size, factor)
    o.clamp_(new, step_size_min, step_size_max)
    o.copy_(size, new)
    # after a sign flip the step is skipped and the gradient forgotten
    g = o.where(shrink, 0.0, g)
    o.addcmul_(p, o.sign(g), size, value=-1)
    o.copy_(prev, g)


class Rprop(ElementwiseOptimizer):
    r"""Resilient backpropagation (Riedmiller & Braun).

    With gradient :math:`g_t` (negated if ``maximize``), step sizes :math:`\eta_t` (starting at ``lr``),
    ``etas`` :math:`(\eta^-, \eta^+)` and ``step_sizes`` :math:`(\Gamma_{min}, \Gamma_{max})`:

    .. math::
        \eta_t &= \operatorname{clip}\Big(\eta_{t-1}\cdot
            \begin{cases}\eta^+ & g_t g_{t-1} > 0\\ \eta^- & g_t g_{t-1} < 0\\ 1 & \text{otherwise}\end{cases},
            \ \Gamma_{min}, \Gamma_{max}\Big) \\
        g_t &\leftarrow 0 \quad\text{where } g_t g_{t-1} < 0 \\
        \theta_t &= \theta_{t-1} - \eta_t \operatorname{sign}(g_t)

    State per parameter: ``step``, ``prev`` (:math:`g_{t-1}` after masking) and ``step_size``
    (:math:`\eta`). ``sign`` has zero derivative, so with ``differentiable=True`` gradients reach the
    initial parameters and ``lr`` but not the gradients.
    """

    _fused_supported = True

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False, fused=None):
        check_args(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"prev": 0.0, "step_size": scalar(group["lr"])}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {"step": s["step"] + 1}

    def update(self, o, p, g, st, group, sc):
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        rprop_update(o, p, g, st, lr=sc["lr"], etaminus=etaminus, etaplus=etaplus, step_size_min=lo,
                     step_size_max=hi, maximize=group["maximize"], first=sc["first"])
