"""Adam (and, with decoupled weight decay, AdamW)."""
from __future__ import annotations

from autograd import Tensor

from .elementwise import ElementwiseOptimizer
from .optimizer import check_two_betas, scalar


def adam_moments(o, p, g, st, *, lr, beta1, beta2, weight_decay, decoupled, maximize):
    """The part Adam, AdamW, NAdam and RAdam share: sign and weight decay of the gradient (L2 into the
    gradient, or decoupled: shrink the parameter), then both moment updates. Returns ``(g, m, v)``."""
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        if decoupled:
            o.mul_(p, 1 - lr * weight_decay)
        else:
            g = o.add(g, p, alpha=weight_decay)
    m, v = st["exp_avg"], st["exp_avg_sq"]
    o.lerp_(m, g, 1 - beta1)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1 - beta2)
    return g, m, v


def adam_update(o, p, g, st, *, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled,
                step_size, bias_correction2_sqrt):
    """One Adam/AdamW step in torch's operation order; the bias corrections come from ``adam_scalars``."""
    g, m, v = adam_moments(o, p, g, st, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                           decoupled=decoupled, maximize=maximize)
    if amsgrad:
        vmax = st["max_exp_avg_sq"]
        o.maximum_(vmax, v)
        denom = o.sqrt(vmax)
    else:
        denom = o.sqrt(v)
    o.div_(denom, bias_correction2_sqrt)
    o.add_scalar_(denom, eps)
    o.addcdiv_(p, m, denom, value=-step_size)


def adam_scalars(lr, beta1, beta2, step):
    """Step size and the square root of the second bias correction at ``step`` (1-based)."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    return {"step_size": lr / bias_correction1, "bias_correction2_sqrt": bias_correction2 ** 0.5}


def check_lr(lr, foreach=None, capturable=False):
    if isinstance(lr, Tensor):
        if foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        if lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas, foreach, capturable):
    check_two_betas(betas)
    for i, b in enumerate(betas[:2]):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
    if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for i, b in enumerate(betas[:2]):
        if isinstance(b, Tensor) and foreach and not capturable:
            raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True")
        if isinstance(b, Tensor) and b.numel() != 1:
            raise ValueError(f"Tensor betas[{i}] must be 1-element")
    return tuple(b.reshape(()) if isinstance(b, Tensor) else b for b in betas)


class Adam(ElementwiseOptimizer):
    r"""Adam (Kingma & Ba), with ``amsgrad``, ``maximize`` and L2 or decoupled weight decay.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t}+\epsilon}
    """

    _filled_on_load = {"amsgrad": False, "decoupled_weight_decay": False}  # torch's __setstate__

    _fused_supported = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_lr(lr, foreach, capturable)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = check_betas(betas, foreach, capturable)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def state_buffers(self, group):
        b = {"exp_avg": 0.0, "exp_avg_sq": 0.0}
        if group["amsgrad"]:
            b["max_exp_avg_sq"] = 0.0
        return b

    def step_scalars(self, group, lr, s):
        step = s["step"] + 1
        b1, b2 = group["betas"]
        if not group["differentiable"]:
            b1, b2 = scalar(b1), scalar(b2)
        return dict(adam_scalars(lr, b1, b2, step), lr=lr, beta1=b1, beta2=b2), {"step": step}

    def update(self, o, p, g, st, group, sc):
        adam_update(o, p, g, st, lr=sc["lr"], beta1=sc["beta1"], beta2=sc["beta2"], eps=group["eps"],
                    weight_decay=group["weight_decay"], amsgrad=group["amsgrad"], maximize=group["maximize"],
                    decoupled=group["decoupled_weight_decay"], step_size=sc["step_size"],
                    bias_correction2_sqrt=sc["bias_correction2_sqrt"])


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter); ``weight_decay`` defaults to 1e-2.

    The decay shrinks the parameter before the Adam step instead of being added to the gradient:

    .. math::
        \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda),\quad
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t}+\epsilon}
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
