"""SGD with momentum, dampening, Nesterov, weight decay and maximize."""
from __future__ import annotations

from autograd import Tensor
from autograd.sparse import SparseTensor

from .elementwise import ElementwiseOptimizer
from ._core.fma import axpy_
from ._core.sparse_ops import dense_add_sparse_, sparse_add, sparse_add_, sparse_mul_
from .optimizer import check_args, scalar


def sgd_update(o, p, g, st, *, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """One SGD step on ``p`` with gradient ``g``; ``st["momentum_buffer"]`` when momentum != 0.

    ``first`` says the momentum buffer is new: it then starts as the (decayed) gradient.
    """
    if maximize:
        g = o.neg(g)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    if momentum != 0:
        buf = st["momentum_buffer"]
        if first:
            o.copy_(buf, g)
        else:
            o.mul_(buf, momentum)
            o.add_(buf, g, alpha=1 - dampening)
        g = o.add(g, buf, alpha=momentum) if nesterov else buf
    o.add_(p, g, alpha=-lr) if not isinstance(lr, Tensor) else o.sub_(p, o.mul(g, lr))


class SGD(ElementwiseOptimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    .. math::
        g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1},\quad
        b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
        \theta_t = \theta_{t-1} - \gamma\,(g_t + \mu b_t \text{ if nesterov else } b_t)
    """

    _filled_on_load = {"nesterov": False, "fused": False}  # torch's __setstate__

    _fused_supported = True

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_args(lr=lr, momentum=momentum, weight_decay=weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"momentum_buffer": 0.0} if group["momentum"] != 0 else {}

    def scalar_state(self, group):
        return {}

    def step_scalars(self, group, lr, s):
        return {"lr": lr}, {}

    _sparse_ok = True

    def _sparse_step(self, p, g, st, group, sc):
        """SGD on a sparse COO gradient with torch's sparse arithmetic (``_core.sparse_ops``): the momentum
        buffer of a parameter first stepped with a sparse gradient is itself sparse, as in torch."""
        if group["weight_decay"] != 0:
            raise RuntimeError("SGD: weight_decay is not supported with sparse gradients (torch: add(sparse, "
                               "dense) is not supported. Use add(dense, sparse) instead.)")
        if group["maximize"]:
            g = SparseTensor(g._ind, -g._val, g._shape, g.is_coalesced())
        momentum, lr = group["momentum"], scalar(sc["lr"])
        if momentum != 0:
            buf = st.get("momentum_buffer")
            if sc["first"] or buf is None:
                buf = st["momentum_buffer"] = g.clone()
            elif isinstance(buf, SparseTensor):
                sparse_add_(sparse_mul_(buf, momentum), g, 1 - group["dampening"])
            else:
                buf._data *= buf._data.dtype.type(momentum)
                dense_add_sparse_(buf._data, g, 1 - group["dampening"])
            if group["nesterov"]:
                if not isinstance(buf, SparseTensor):
                    raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
                g = sparse_add(g, buf, momentum)
            else:
                g = buf
        if isinstance(g, SparseTensor):
            dense_add_sparse_(p._data, g, -lr)
        else:
            axpy_(p._data, p._data.dtype.type(-lr), g._data)

    def update(self, o, p, g, st, group, sc):
        sgd_update(o, p, g, st, lr=sc["lr"], momentum=group["momentum"], dampening=group["dampening"],
                   weight_decay=group["weight_decay"], nesterov=group["nesterov"], maximize=group["maximize"],
                   first=sc["first"])
