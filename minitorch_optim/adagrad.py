"""Adagrad: per-coordinate step sizes from the running sum of squared gradients (dense and sparse)."""
from __future__ import annotations

from autograd import Tensor
from autograd.dtypes import LOW_PRECISION as _LOW_PRECISION

from .elementwise import ElementwiseOptimizer
from ._core.ops import ops_for
from .optimizer import check_args, scalar


def adagrad_update(o, p, g, st, *, clr, eps, weight_decay, maximize, fused=False):
    """One dense Adagrad step: accumulate ``g*g`` into ``st["sum"]`` and step by ``clr * g / (sqrt(sum)+eps)``.

    ``fused``: torch's fused CPU kernel's arithmetic on float16/bfloat16 parameters (loaded into float32,
    the scalars in float32): its compiled loops contract ``g + wd*p`` and ``sum + g*g`` into fused
    multiply-adds. (torch 2.13's vectorised body took ``clr``/``eps``/``weight_decay`` in the parameter's
    type, its scalar tail in float32; torch 2.14.1 keeps them in float32 throughout, as here.)
    """
    if maximize:
        g = o.neg(g)
    acc = st["sum"]
    if fused:
        if weight_decay != 0:
            g = o.fma(p, weight_decay, g)
        o.copy_(acc, o.fma(g, g, acc))
        std = o.sqrt(acc)
        o.add_scalar_(std, eps)
        o.addcdiv_(p, g, std, value=-clr)
        return
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    o.addcmul_(acc, g, g)
    std = o.sqrt(acc)
    o.add_scalar_(std, eps)
    if getattr(o, "foreach_rounding", False):
        # torch's foreach Adagrad scales the gradient first (in place when it is already a copy), which
        # float16/bfloat16 round on their own; on every other path the two forms are the same operations
        o.addcdiv_(p, o.mul_(g, -clr) if maximize or weight_decay != 0 else o.mul(g, -clr), std)
    else:
        o.addcdiv_(p, g, std, value=-clr)


def tensor_lr_scalar(group, lr):
    """``lr`` as torch does its scalar math with it: in the Tensor lr's dtype (float32 math for a float32 lr).

    Given the Python float of a Tensor ``group["lr"]`` it returns a NumPy scalar of that dtype, so
    ``lr / x`` rounds like torch's 0-d Tensor arithmetic; Tensors (differentiable path) and floats pass as is.
    """
    if isinstance(group["lr"], Tensor) and not isinstance(lr, Tensor):
        return group["lr"]._data.dtype.type(lr)
    return lr


def _py(x):
    return x if isinstance(x, Tensor) else float(x)


def adagrad_lr(lr, lr_decay, step):
    """The decayed learning rate used at ``step`` (1-based): ``lr / (1 + (step - 1) * lr_decay)``."""
    return lr / (1 + (step - 1) * lr_decay)


class Adagrad(ElementwiseOptimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011).

    Every coordinate keeps the sum of its squared gradients and divides its step by the root of it,
    so coordinates that saw large gradients move slowly and rarely-updated ones move fast:

    .. math::
        g_t &= \pm\nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        S_t &= S_{t-1} + g_t \odot g_t, \qquad S_0 = \texttt{initial\_accumulator\_value} \\
        \gamma_t &= \frac{\gamma}{1 + (t-1)\,\eta} \\
        \theta_t &= \theta_{t-1} - \gamma_t\,\frac{g_t}{\sqrt{S_t} + \epsilon}

    (:math:`\eta` = ``lr_decay``, :math:`\lambda` = ``weight_decay``; the sign is ``-`` with
    ``maximize=True``.) The state (``step``, ``sum``) is created in the constructor, as torch does.

    Sparse (COO) gradients are accepted on the for-loop path: only the rows/entries present in the
    gradient have their sum and value updated. ``weight_decay`` cannot be combined with them.
    """

    _fused_supported = True

    _sparse_ok = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_args(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        # torch allocates the state of every parameter up front (step 0, sum filled with the initial value)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group, p._data)

    def state_buffers(self, group):
        # torch fills new sums with the constructor's value, whatever a group says (kept for parity)
        return {"sum": self.defaults["initial_accumulator_value"]}

    def step_scalars(self, group, lr, s):
        step = s["step"] + 1
        # whether this group steps with torch's fused CPU arithmetic is decided here, on the group itself: the
        # update may receive a copy of the group (the fused path traces it with the group's values)
        return ({"clr": _py(adagrad_lr(tensor_lr_scalar(group, lr), group["lr_decay"], step)),
                 "torch_fused": id(group) in getattr(self, "_torch_fused", ())}, {"step": step})

    def update(self, o, p, g, st, group, sc):
        adagrad_update(o, p, g, st, clr=sc["clr"], eps=group["eps"], weight_decay=group["weight_decay"],
                       maximize=group["maximize"],
                       fused=sc.get("torch_fused", False) and getattr(p, "dtype", None) in _LOW_PRECISION)

    def _before_step(self):
        super()._before_step()
        # fused=True on 16-bit CPU parameters follows torch's fused CPU kernel (its own numbers there, as
        # torch's for-loop and foreach differ too); float32/float64 keep the other paths' bits (one
        # arithmetic for every path), and CUDA, where torch has no fused Adagrad, keeps foreach's
        self._torch_fused = {id(g) for g in self.param_groups if g.get("fused")
                             and all(p.device.type == "cpu" for p in g["params"])}

    def _sparse_step(self, p, g, st, group, sc):
        """Adagrad on a sparse COO gradient: touch only the coalesced entries of ``g``."""
        if group["maximize"]:
            g = g.mul(-1)
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        g = g.coalesce()    # the update is not linear in g: duplicate indices must be summed first
        ind, vals = g._indices()._data, g._values()._data
        if ind.shape[1] == 0:
            return
        where = tuple(ind[i] for i in range(ind.shape[0]))
        acc, data = st["sum"]._data, p._data
        acc[where] += vals * vals
        std = ops_for(acc).xp.sqrt(acc[where])
        std += group["eps"]
        step = vals / std
        step *= -scalar(sc["clr"])
        data[where] += step
