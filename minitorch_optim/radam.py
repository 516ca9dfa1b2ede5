"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate (Liu et al., 2019)."""
from __future__ import annotations


from .elementwise import ElementwiseOptimizer
from .adam import adam_moments
from .optimizer import check_args


def radam_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, decoupled, maximize,
                 bias_correction1, bias_correction2, rect):
    """One RAdam step on ``p`` (torch's per-parameter operation order).

    ``rect`` is the rectification factor when the variance is tractable (:math:`\\rho_t > 5`), else None:
    the step is then plain bias-corrected momentum.
    """
    g, m, v = adam_moments(o, p, g, st, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                           decoupled=decoupled, maximize=maximize)
    if getattr(o, "foreach_rounding", False):
        _radam_foreach_order(o, p, m, v, lr=lr, eps=eps, bias_correction1=bias_correction1,
                             bias_correction2=bias_correction2, rect=rect)
        return
    upd = o.mul(o.div(m, bias_correction1), lr)
    if rect is not None:
        denom = o.sqrt(v)
        o.add_scalar_(denom, eps)
        upd = o.mul(o.mul(upd, o.div(bias_correction2 ** 0.5, denom)), rect)
    o.sub_(p, upd)


def _radam_foreach_order(o, p, m, v, *, lr, eps, bias_correction1, bias_correction2, rect):
    """torch's foreach RAdam, which float16/bfloat16 round apart from the per-tensor order: one factor
    per element, ``1 / ((sqrt(v) + eps) / (sqrt(bc2) * -lr * rect / bc1)) - lr * unrectified / bc1``,
    then ``p += m * factor`` (while the variance is intractable the first term is ``1 / -inf = -0``)."""
    rect = 0.0 if rect is None else rect
    unrectified = 0.0 if rect > 0 else 1.0
    factor = o.sqrt(v)
    o.add_scalar_(factor, eps)
    o.div_(factor, (bias_correction2 ** 0.5) * (lr * rect / bias_correction1) * -1)
    factor = o.div(1.0, factor)
    o.add_scalar_(factor, (lr * unrectified / bias_correction1) * -1)
    o.addcmul_(p, m, factor)


def radam_scalars(beta1, beta2, step):
    """Bias corrections and the rectification factor (None while :math:`\\rho_t \\le 5`) at ``step``."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    rect = None
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    return {"bias_correction1": bias_correction1, "bias_correction2": bias_correction2, "rect": rect}


class RAdam(ElementwiseOptimizer):
    r"""RAdam: Adam whose adaptive term is switched on, and rescaled, once its variance is tractable.

    With gradient :math:`g_t` (negated if ``maximize``; plus :math:`\lambda\theta_{t-1}`, or
    :math:`\theta_{t-1}` scaled by :math:`1-\gamma\lambda` when ``decoupled_weight_decay``):

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t,\qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
        \qquad \hat m_t = m_t / (1-\beta_1^t) \\
        \rho_\infty &= \frac{2}{1-\beta_2} - 1,\qquad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t} \\
        \theta_t &= \begin{cases}
            \theta_{t-1} - \gamma\,\hat m_t\,\frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}\,r_t,\quad
            r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}
                & \rho_t > 5 \\
            \theta_{t-1} - \gamma\,\hat m_t & \text{otherwise}\end{cases}

    The branch is chosen per step from Python scalars. State per parameter: ``step``, ``exp_avg``
    (:math:`m`), ``exp_avg_sq`` (:math:`v`).
    """

    _filled_on_load = {"decoupled_weight_decay": False}  # torch's __setstate__

    _fused_supported = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def step_scalars(self, group, lr, s):
        step = s["step"] + 1
        beta1, beta2 = group["betas"]
        return dict(radam_scalars(beta1, beta2, step), lr=lr, beta1=beta1, beta2=beta2), {"step": step}

    def update(self, o, p, g, st, group, sc):
        radam_update(o, p, g, st, lr=sc["lr"], beta1=sc["beta1"], beta2=sc["beta2"], eps=group["eps"],
                     weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"],
                     maximize=group["maximize"], bias_correction1=sc["bias_correction1"],
                     bias_correction2=sc["bias_correction2"], rect=sc["rect"])
