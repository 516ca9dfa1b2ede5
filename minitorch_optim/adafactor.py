"""Adafactor (Shazeer & Stern, 2018) with torch's conventions: factored second moments, relative steps."""
from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.dtypes import get_default_dtype

from ._core.fma import axpy_, lerp_, torch_scalar
from ._core.ops import ops_for
from .optimizer import GroupwiseOptimizer, scalar


def _norm(xp, x):
    return float(xp.linalg.norm(x.reshape(-1)))


def adafactor_update(p, g, st, *, lr, step, beta2_decay, eps1, eps2, d, weight_decay):
    """One Adafactor step on arrays ``p`` (param) and ``g`` (gradient, already negated for maximize).

    ``st`` holds ``row_var``/``col_var`` (params with 2+ dims: second moments factored over the last two
    dims) or ``variance`` (vectors). ``step`` is the new step count (1-based).
    """
    o = ops_for(p)
    xp = o.xp
    beta2_weight = step ** beta2_decay        # 1 - beta2_t
    rho = min(lr, 1 / step ** 0.5)           # relative step size
    alpha = max(eps2, _norm(xp, p) / p.size ** 0.5) * rho     # scaled by the parameter's RMS
    if weight_decay != 0:
        o.mul_(p, 1 - lr * weight_decay)
    if g.ndim > 1:
        row_var, col_var = st["row_var"], st["col_var"]
        # means of g^2 over the last / second-to-last dim, formed as squared norms
        row_mean = xp.square(xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True))) / g.shape[-1]
        lerp_(row_var, row_mean, beta2_weight)
        col_mean = xp.square(xp.sqrt(xp.sum(g * g, axis=-2, keepdims=True))) / g.shape[-2]
        lerp_(col_var, col_mean, beta2_weight)
        v_hat = xp.matmul(row_var, col_var)
        o.div_(v_hat, xp.maximum(xp.mean(row_var, axis=-2, keepdims=True), eps1))
    else:
        variance = st["variance"]
        lerp_(variance, g * g, beta2_weight)
        v_hat = variance.copy()
    # eps1 is squared because of the square root that follows
    update = 1 / xp.sqrt(xp.maximum(v_hat, eps1 * eps1))
    update *= g
    clip = max(1.0, _norm(xp, update) / (update.size ** 0.5 * d))
    axpy_(p, -alpha / clip, update)


class Adafactor(GroupwiseOptimizer):
    r"""Adafactor as in ``torch.optim.Adafactor`` (2.13).

    .. math::
        \hat\beta_{2,t} = 1 - t^{\tau},\quad \rho_t = \min(\gamma, 1/\sqrt t),\quad
        \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t

    Params with two or more dims keep a row factor ``R`` (last dim reduced) and a column factor ``C``
    (second-to-last dim reduced) of the second moment, ``V \approx R C / \mathrm{mean}(R)``; vectors keep
    the full ``variance``. The step is ``G / \sqrt{\max(V, \epsilon_1^2)}``, clipped so its RMS is at
    most ``d``, times ``\alpha_t``; weight decay multiplies the params by ``1 - \gamma\lambda`` first.
    ``eps=(None, 1e-3)``: ``None`` means the machine epsilon of the (first) parameter's dtype.
    State: ``step`` (0-d, the default dtype as in torch), ``row_var`` and ``col_var``, or ``variance``.

    Paths: for-loop only (the factored moments are not elementwise); ``foreach`` is accepted for
    compatibility and gives the same numbers.
    """

    _filled_on_load = {"foreach": None}  # torch's __setstate__

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            for p in group["params"]:
                st = self.state.get(p)
                if st and not isinstance(st["step"], Tensor):
                    st["step"] = Tensor._wrap(np.array(float(st["step"]), dtype=get_default_dtype()))

    def _state_spec(self, param, group):
        shape = tuple(param.shape)
        if len(shape) > 1:
            return {"step": "scalar", "row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:]}
        return {"step": "scalar", "variance": "param"}

    def _state_for(self, p, g):
        st = self.state[p]
        if len(st) == 0:
            xp = ops_for(g).xp
            st["step"] = Tensor._wrap(np.array(0.0, dtype=get_default_dtype()))
            if g.ndim > 1:
                st["row_var"] = Tensor._wrap(xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype))
                st["col_var"] = Tensor._wrap(xp.zeros(g.shape[:-2] + (1,) + g.shape[-1:], dtype=g.dtype))
            else:
                st["variance"] = Tensor._wrap(xp.zeros_like(g))
        return st

    def _step_group(self, group):
        active = [(p, self._state_for(p, p.grad._data)) for p in self._dense_grad_params(group)]
        lr = torch_scalar(group["lr"])
        eps1, eps2 = group["eps"]
        for p, st in active:
            g = p.grad._data
            if group["maximize"]:
                g = -g
            if eps1 is None:  # fixed by the first parameter, then kept for the group (as torch)
                eps1 = float(np.finfo(p._data.dtype).eps)
            step = scalar(st["step"]) + 1
            st["step"]._data[...] = step
            bufs = {k: st[k]._data for k in ("row_var", "col_var", "variance") if k in st}
            adafactor_update(p._data, g, bufs, lr=lr, step=step, beta2_decay=group["beta2_decay"], eps1=eps1,
                             eps2=eps2, d=group["d"], weight_decay=group["weight_decay"])
