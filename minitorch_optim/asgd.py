"""ASGD: SGD with a decaying step size and a running (Polyak-Ruppert) average of the iterates."""
from __future__ import annotations

from autograd import Tensor
from autograd.dtypes import get_default_dtype

from .elementwise import ElementwiseOptimizer
from .adagrad import tensor_lr_scalar
from .optimizer import check_args, scalar


def asgd_update(o, p, g, st, *, eta, mu, lambd, weight_decay, maximize):
    """One ASGD step with the current step size ``eta`` and averaging weight ``mu``; updates ``st["ax"]``."""
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    if getattr(o, "foreach_rounding", False):
        # torch's foreach ASGD steps ``p -= (g + lambd*p) * eta`` and always averages with ``mu``, which
        # float16/bfloat16 round apart from the per-tensor form; its 0-d eta and mu enter in p's dtype
        low = p.dtype.type
        o.addcmul_(p, o.add(g, p, alpha=lambd), float(low(eta)), value=-1)
        o.addcmul_(st["ax"], o.sub(p, st["ax"]), float(low(mu)))
        return
    o.mul_(p, 1 - lambd * eta)
    if isinstance(eta, Tensor):
        o.sub_(p, o.mul(g, eta))
    else:
        o.add_(p, g, alpha=-eta)
    ax = st["ax"]
    if mu != 1:
        o.add_(ax, o.mul(o.sub(p, ax), mu))
    else:
        o.copy_(ax, p)


def asgd_eta(lr, lambd, alpha, step):
    """The step size after ``step`` steps: ``lr / (1 + lambd * lr * step) ** alpha``."""
    return lr / ((1 + lambd * lr * step) ** alpha)


def asgd_mu(t0, step):
    """The averaging weight after ``step`` steps: plain copy until ``t0``, then ``1 / (step - t0)``."""
    return 1 / max(1, step - t0)


class ASGD(ElementwiseOptimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992).

    Plain SGD with a shrink term and a step size that decays polynomially, plus a running average
    :math:`\bar\theta` of the iterates (``ax``) that starts averaging after ``t0`` steps:

    .. math::
        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda_{wd}\,\theta_{t-1} \\
        \theta_t &= (1 - \lambda\,\eta_{t-1})\,\theta_{t-1} - \eta_{t-1}\,g_t \\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_{t-1}\,(\theta_t - \bar\theta_{t-1})
            \quad(\bar\theta_t = \theta_t \text{ while } \mu_{t-1} = 1) \\
        \eta_t &= \frac{\gamma}{(1 + \lambda\,\gamma\,t)^{\alpha}}, \qquad
        \mu_t = \frac{1}{\max(1,\; t - t_0)}

    with :math:`\eta_0 = \gamma` (``lr``), :math:`\mu_0 = 1`, :math:`\lambda` = ``lambd``. State:
    ``step``, ``eta`` and ``mu`` (0-d, in torch's default dtype, as in torch) and ``ax``.
    """

    _fused_supported = True

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False, *, fused=None):
        check_args(lr=lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        if fused is not None:       # beyond torch (no fused kernel there); kept out of torch's groups
            defaults["fused"] = fused
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"ax": 0.0}

    def scalar_state(self, group):
        return {"step": 0.0, "eta": scalar(group["lr"]), "mu": 1.0}

    def step_scalars(self, group, lr, s):
        done = s["step"]
        step = done + 1
        lambd, alpha = group["lambd"], group["alpha"]
        eta = s["eta"]
        if isinstance(lr, Tensor):
            # differentiable path with a Tensor lr: use the stored eta's value, but let gradients reach lr
            # through the closed form of eta (eta_0 = lr, eta_k = lr / (1 + lambd*lr*k)**alpha)
            # (in float64, so the value is exactly the stored one, used in double precision as torch does)
            expr = asgd_eta(lr.double(), lambd, alpha, done)
            eta = (expr - expr.detach()) + eta
        # torch makes the next eta/mu with torch.as_tensor: a default-dtype value for a Python float lr (whatever the
        # dtype of the state it is copied into), computed in the lr's own dtype for a Tensor lr
        if isinstance(group["lr"], Tensor):
            new_eta = float(asgd_eta(tensor_lr_scalar(group, scalar(lr)), lambd, alpha, step))
        else:
            new_eta = float(get_default_dtype().type(asgd_eta(scalar(lr), lambd, alpha, step)))
        new = {"step": step, "eta": new_eta, "mu": float(get_default_dtype().type(asgd_mu(group["t0"], step)))}
        return {"eta": eta, "mu": s["mu"]}, new

    def update(self, o, p, g, st, group, sc):
        asgd_update(o, p, g, st, eta=sc["eta"], mu=sc["mu"], lambd=group["lambd"],
                    weight_decay=group["weight_decay"], maximize=group["maximize"])
