"""SparseAdam: Adam restricted to the rows a sparse (COO) gradient touches."""
from __future__ import annotations

import math

from autograd import Tensor
from autograd.backend import array_module
from autograd.sparse import SparseTensor

from ._core.fma import torch_scalar
from .optimizer import GroupwiseOptimizer, scalar


def sparse_adam_update(p, exp_avg, exp_avg_sq, index, values, *, beta1, beta2, eps, step_size):
    """Masked Adam on arrays: only the entries at ``index`` (a tuple of index arrays, unique) change.

    ``values`` are the (coalesced) gradient values at ``index``; the moments of every other entry are
    left as they are (not decayed), which is what makes this an approximation of Adam.
    """
    old_m = exp_avg[index]
    dm = (values - old_m) * (1 - beta1)
    exp_avg[index] += dm
    old_v = exp_avg_sq[index]
    dv = (values * values - old_v) * (1 - beta2)
    exp_avg_sq[index] += dv
    m = dm + old_m
    denom = array_module(p).sqrt(dv + old_v) + eps
    p[index] += -step_size * (m / denom)


def _sparse_param_positions(params):
    """[[group, position]] of sparse tensors among the given params (torch rejects sparse params)."""
    if isinstance(params, (Tensor, SparseTensor)):
        return [], params
    params = list(params)
    groups = params if params and isinstance(params[0], dict) else [{"params": params}]
    found = []
    for gi, g in enumerate(groups):
        ps = g.get("params", []) if isinstance(g, dict) else []
        ps = [ps] if isinstance(ps, (Tensor, SparseTensor)) else ps
        if not isinstance(ps, (list, tuple)):
            ps = list(ps)
            g["params"] = ps
        for pi, p in enumerate(ps):
            if getattr(p, "is_sparse", False):
                found.append([gi, pi])
    return found, params


class SparseAdam(GroupwiseOptimizer):
    r"""Adam for parameters whose gradients are sparse COO tensors (e.g. ``nn.Embedding(sparse=True)``).

    Only the moments and parameter entries present in the gradient are updated:

    .. math::
        m_I \leftarrow m_I + (1-\beta_1)(g_I - m_I),\quad v_I \leftarrow v_I + (1-\beta_2)(g_I^2 - v_I),\quad
        \theta_I \leftarrow \theta_I - \gamma\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\,\frac{m_I}{\sqrt{v_I}+\epsilon}

    where ``I`` are the gradient's (coalesced) indices. Dense gradients raise ``RuntimeError``.
    State per parameter: ``step`` (a Python int, as in torch), ``exp_avg``, ``exp_avg_sq``.

    Paths: for-loop only (the update is a scatter into the touched rows; there is no foreach/fused variant).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        sparse, params = _sparse_param_positions(params)
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors")
        super().__init__(params, defaults)
        complex_params = [[gi, pi] for gi, g in enumerate(self.param_groups)
                          for pi, p in enumerate(g["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not support complex "
                             "parameters")

    def _state_spec(self, param, group):
        return {"step": "scalar", "exp_avg": "param", "exp_avg_sq": "param"}

    def _step_group(self, group):
        beta1, beta2 = (scalar(b) for b in group["betas"])
        lr, eps = torch_scalar(group["lr"]), group["eps"]
        maximize = group.get("maximize", False)
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if not getattr(g, "is_sparse", False):
                raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
            st = self.state[p]
            if len(st) == 0:
                xp = p.xp
                st["step"] = 0
                st["exp_avg"] = Tensor._wrap(xp.zeros_like(p._data))
                st["exp_avg_sq"] = Tensor._wrap(xp.zeros_like(p._data))
            st["step"] += 1
            step = st["step"]
            g = g.coalesce()
            values = g._values()._data
            if values.size == 0:
                continue
            if maximize:
                values = -values
            ind = g._indices()._data
            index = tuple(ind[i] for i in range(ind.shape[0]))
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr * math.sqrt(bias_correction2) / bias_correction1
            sparse_adam_update(p._data, st["exp_avg"]._data, st["exp_avg_sq"]._data, index, values,
                               beta1=beta1, beta2=beta2, eps=eps, step_size=step_size)
