"""AggMo: aggregated momentum (Lucas et al., 2019), as pytorch_optimizer 4.1.0."""
from __future__ import annotations

from autograd import Tensor

from ._base import ContribOptimizer, validate_betas, validate_learning_rate, validate_non_negative, weight_decay_
from .lion import add_scaled_


def aggmo_update(o, p, g, st, *, lr, betas, weight_decay, weight_decouple, fixed_decay, maximize, step_size):
    """One AggMo step: every momentum buffer ``b <- beta b + g`` adds ``step_size * b`` to ``p``."""
    if maximize:
        g = o.neg(g)
    g = weight_decay_(o, p, g, lr=lr, weight_decay=weight_decay, weight_decouple=weight_decouple,
                      fixed_decay=fixed_decay)
    bufs = st["momentum_buffer"]
    for beta in betas:
        buf = bufs[beta]
        o.mul_(buf, beta)
        o.add_(buf, g)
        add_scaled_(o, p, buf, step_size)


class AggMo(ContribOptimizer):
    r"""Aggregated momentum (Lucas et al., 2019), as pytorch_optimizer's.

    .. math::
        b^{(i)}_t = \beta_i b^{(i)}_{t-1} + g_t,\quad
        \theta \leftarrow \theta - \frac{\gamma}{K} b^{(i)}_t\ \text{for } i = 1..K \text{ in turn}

    State: ``momentum_buffer``, a dict ``{beta: buffer}`` as in the reference. Because that nested state
    does not live in the flat buffers, ``foreach`` runs the per-tensor loop (same numbers).
    Extra keyword arguments are accepted and ignored, as the reference does.
    Paths: for-loop, foreach (per tensor), differentiable.
    """

    _always_per_tensor = True
    _fused_supported = False

    def __init__(self, params, lr=1e-3, betas=(0.0, 0.9, 0.99), weight_decay=0.0, weight_decouple=False,
                 fixed_decay=False, maximize=False, foreach=None, *, differentiable=False, fused=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, foreach=foreach)
        super().__init__(params, defaults, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def state_buffers(self, group):
        return {}

    def _extra_state(self, group, p, st):
        st["momentum_buffer"] = {b: Tensor._wrap(p.xp.zeros(p._data.shape, dtype=p._data.dtype))
                                 for b in group["betas"]}

    def _state_spec(self, param, group):
        return None      # a nested {beta: buffer} dict: the load checks do not describe it

    def step_scalars(self, group, lr, s):
        return {"lr": lr, "step_size": -lr / len(group["betas"])}, {}

    def update(self, o, p, g, st, group, sc):
        aggmo_update(o, p, g, st, lr=sc["lr"], betas=group["betas"], weight_decay=group["weight_decay"],
                     weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"],
                     maximize=self.maximize, step_size=sc["step_size"])
