"""MADGRAD (Defazio & Jelassi, 2021), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

import math

import numpy as np

from autograd import Tensor

from ._base import ContribOptimizer, validate_learning_rate, validate_non_negative, validate_range


def madgrad_rms(o, grad_sum_sq, eps):
    """The cube root of the accumulated squares plus ``eps`` (0 -> inf when ``eps`` is 0)."""
    rms = o.add_scalar_(o.pow(grad_sum_sq, 1.0 / 3.0), eps)
    if eps == 0.0:
        rms = o.where(o.eq(rms, 0.0), math.inf, rms)
    return rms


def madgrad_update(o, p, g, st, *, lr, lamb, momentum, eps, weight_decay, weight_decouple, maximize, first):
    """One MADGRAD step (dual averaging with a cube-root denominator); ``lamb = lr sqrt(k + 1)``."""
    if maximize:
        g = o.neg(g)
    if weight_decay > 0.0 and not weight_decouple:
        g = o.add(g, p, alpha=weight_decay)
    gss, s = st["grad_sum_sq"], st["s"]
    if momentum == 0.0:
        x0 = o.addcdiv_(o.clone(p), s, madgrad_rms(o, gss, eps), value=1)
    else:
        x0 = st["x0"]
        if first:
            o.copy_(x0, p)
    o.addcmul_(gss, g, g, value=lamb)
    rms = madgrad_rms(o, gss, eps)
    o.add_(s, g, alpha=lamb)
    p_old = o.clone(p) if weight_decay > 0.0 and weight_decouple else None
    if momentum == 0.0:
        o.copy_(p, o.addcdiv_(x0, s, rms, value=-1))
    else:
        o.lerp_(p, o.addcdiv_(o.clone(x0), s, rms, value=-1), 1.0 - momentum)
    if p_old is not None:
        o.add_(p, p_old, alpha=-lr * weight_decay)


class MADGRAD(ContribOptimizer):
    r"""MADGRAD (Defazio & Jelassi, 2021), as pytorch_optimizer's.

    .. math::
        \lambda_k = (\gamma+\epsilon)\sqrt{k+1},\quad s_k = s_{k-1} + \lambda_k g_k,\quad
        \nu_k = \nu_{k-1} + \lambda_k g_k^2,\quad
        z_k = x_0 - \frac{s_k}{\nu_k^{1/3} + \epsilon},\quad \theta_k = (1-c)\,\theta_{k-1} + c\, z_k

    with :math:`c = 1 - \text{momentum}` (:math:`\theta_k = z_k` without momentum, :math:`x_0` then
    recomputed from the current point). As the reference, the learning rate used is ``lr + eps``
    (``0`` when ``lr`` is 0), and the step counter ``k`` is optimizer-wide: ``state["k"]``, a (1,)
    int64 tensor, advanced once per ``step()`` (``group["step"]`` stays 0, as in the reference). The reference also takes sparse gradients (momentum 0,
    no coupled decay); we do not (``NoSparseGradientError``).

    State: ``grad_sum_sq``, ``s`` (and ``x0``, the starting point, with momentum); ``state["k"]``.
    Paths: for-loop, foreach, differentiable, fused (CPU and CUDA kernels generated from ``madgrad_update``).
    """

    _counts_group_steps = False

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0.0, weight_decouple=False, eps=1e-6,
                 maximize=False, foreach=None, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_non_negative(weight_decay, "weight_decay")
        validate_range(momentum, "momentum", 0.0, 1.0)
        validate_non_negative(eps, "eps")
        defaults = dict(lr=lr, foreach=foreach, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        momentum=momentum, eps=eps)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        b = {"grad_sum_sq": 0.0, "s": 0.0}
        if group["momentum"] > 0.0:
            b["x0"] = 0.0
        return b

    def _before_step(self):
        super()._before_step()
        k = self.state.get("k")
        if k is None:
            self.state["k"] = Tensor._wrap(np.zeros((1,), dtype=np.int64))
        elif not isinstance(k, Tensor):      # loaded from a torch state dict (a torch tensor) or a number
            self.state["k"] = Tensor._wrap(np.array(k.tolist() if hasattr(k, "tolist") else k,
                                                    dtype=np.int64).reshape(1))

    def _after_step(self):
        self.state["k"]._data += 1

    def step_scalars(self, group, lr, s):
        lr = lr + group["eps"] if lr != 0.0 else 0.0
        k = self.state.get("k")
        k = int(k._data.reshape(-1)[0]) if isinstance(k, Tensor) else 0
        return {"lr": lr, "lamb": lr * math.pow(k + 1, 0.5)}, {}

    def update(self, o, p, g, st, group, sc):
        madgrad_update(o, p, g, st, lr=sc["lr"], lamb=sc["lamb"], momentum=group["momentum"], eps=group["eps"],
                       weight_decay=group["weight_decay"], weight_decouple=group["weight_decouple"],
                       maximize=self.maximize, first=sc["first"])
