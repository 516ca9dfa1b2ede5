"""Learning-rate-free Adam variants: Prodigy (Mishchenko & Defazio) and DAdaptAdam (Defazio & Mishchenko),
as pytorch_optimizer 4.1.0 implements them.

Both estimate the distance to the solution ``d`` from sums over *all* parameters of all groups, so a step
has two elementwise phases with a global reduction between them:

1. ``*_moments``: the moment and ``s`` updates (one update function in the op vocabulary),
2. the statistics (dot products and ``||s||_1``, per tensor, accumulated in float32 like the reference's
   1-element float32 tensors ``group['d_numerator']`` / ``group['numerator_weighted']``), then the new ``d``,
3. ``*_apply``: the parameter update with the new ``d`` (a second update function).

The elementwise phases run on the ElementwiseOptimizer driver: for-loop (``foreach=False``) and the flat
multi-tensor path (``foreach=None/True``), bitwise equal to each other. No ``differentiable`` path (the
``d`` estimate is a float computed between the phases).

Reference details kept: the hyper-parameters ``lr``, ``betas``, ``beta3``, ``d``, ``d0``,
``bias_correction`` and the step count come from the first group, ``d_coef``, ``d_max`` and ``growth_rate``
from the last one (the reference reads them after its loop); float64 runs accumulate the statistics in
float32 too; with ``weight_decouple=False`` Prodigy adds the L2 term to the gradient after it was used, so
it has no effect (the reference does the same).
"""
from __future__ import annotations

import math

import numpy as np

from autograd import Tensor, grad_mode
from autograd.backend import array_module

from .._core.foreach import nd1 as _nd1
from ..elementwise import ElementwiseOptimizer
from .._core.ops import ops_for
from ..optimizer import closure_loss
from ._loop import (debias, lr_of, NoComplexParameterError, NoSparseGradientError, validate_betas,
                        validate_learning_rate, validate_non_negative)


# ---- the elementwise parts ------------------------------------------------------------------------------------
def prodigy_moments(o, p, g, st, *, first, maximize, beta1, beta2, beta3, alpha_m, alpha_v, alpha_s):
    """Prodigy phase 1: ``p0`` (first step), ``m``, ``v`` and ``s`` (``alpha_*`` carry ``d``, ``d_lr``)."""
    if first:
        o.copy_(st["p0"], p)
    if maximize:
        g = o.neg(g)
    m, v, s = st["exp_avg"], st["exp_avg_sq"], st["s"]
    o.mul_(m, beta1)
    o.add_(m, g, alpha=alpha_m)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=alpha_v)
    o.mul_(s, beta3)
    o.add_(s, g, alpha=alpha_s)


def prodigy_apply(o, p, g, st, *, decay, d_eps, d_lr):
    """Prodigy phase 2: decoupled decay ``p *= decay`` (1 for none) then ``p -= d_lr m / (sqrt(v) + d eps)``."""
    if decay != 1.0:
        o.mul_(p, decay)
    denom = o.sqrt(st["exp_avg_sq"])
    o.add_scalar_(denom, d_eps)
    o.addcdiv_(p, st["exp_avg"], denom, value=-d_lr)


def dadapt_adam_moments(o, p, g, st, *, maximize, l2, beta1, beta2, beta2_sq, alpha_m, alpha_s):
    """DAdaptAdam phase 1: (L2 term into the gradient), ``m``, ``v`` and ``s``."""
    if maximize:
        g = o.neg(g)
    if l2 != 0.0:
        g = o.add(g, p, alpha=l2)
    m, v, s = st["exp_avg"], st["exp_avg_sq"], st["s"]
    o.mul_(m, beta1)
    o.add_(m, g, alpha=alpha_m)
    o.mul_(v, beta2)
    o.addcmul_(v, g, g, value=1.0 - beta2)
    o.mul_(s, beta2_sq)
    o.add_(s, g, alpha=alpha_s)


def dadapt_adam_apply(o, p, g, st, *, decay, eps):
    """DAdaptAdam phase 2: decoupled decay, then ``p -= m / (sqrt(v) + eps)`` (``m`` already holds ``d_lr``)."""
    denom = o.sqrt(st["exp_avg_sq"])
    o.add_scalar_(denom, eps)
    if decay != 1.0:
        o.mul_(p, decay)
    o.addcdiv_(p, st["exp_avg"], denom, value=-1.0)


# ---- float32 statistics ----------------------------------------------------------------------------------------
def _acc32(acc, value, alpha=1.0):
    """``acc += alpha * value`` on a float32 1-element accumulator, rounded once as torch's fused add_."""
    acc[...] = np.float32(float(acc[0]) + float(np.float32(alpha)) * float(np.float32(value)))


def _host(x):
    return float(x) if array_module(x) is np else float(x.get())


def _l1(a):
    xp = array_module(a)
    return _host(xp.sum(xp.abs(a), dtype=a.dtype))


def _decay(group, lr):
    """The decoupled weight-decay factor (1.0 when there is none)."""
    if group["weight_decay"] == 0.0 or not group["weight_decouple"]:
        return 1.0
    return 1.0 - group["weight_decay"] * (1.0 if group["fixed_decay"] else lr)


class _TwoPhase(ElementwiseOptimizer):
    """Runs the driver twice per step (``self._phase`` selects the update function)."""

    # per-step group scalars come from step() itself (not from the state alone), so the kernel generator
    # cannot enumerate them: for-loop, foreach and differentiable paths only, no fused kernel
    _fused_supported = False

    def scalar_state(self, group):
        return {}

    def step_scalars(self, group, lr, s):
        return dict(self._sc[id(group)]), {}

    def __str__(self):
        return type(self).__name__

    def _check(self):
        active = []
        for group in self.param_groups:
            act = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if getattr(p.grad, "is_sparse", False):
                    raise NoSparseGradientError(str(self))
                if p.is_complex():
                    raise NoComplexParameterError(str(self))
                act.append(p)
            active.append(act)
        return active

    def _run(self, phase, scalars):
        self._phase, self._sc = phase, scalars
        ElementwiseOptimizer.step.__wrapped__(self)    # the driver's paths, without running the hooks again

    def _ensure_acc(self, group, name):
        """The float32 1-element accumulator ``group[name]`` (created at 0; one loaded from a reference
        state_dict as a torch tensor or an array is converted)."""
        v = group.get(name)
        if not isinstance(v, Tensor):
            if v is None:
                arr = np.zeros(1, dtype=np.float32)
            else:
                arr = v.detach().cpu().numpy() if hasattr(v, "detach") else v
                arr = np.array(arr, dtype=np.float32).reshape(1)
            v = group[name] = Tensor._wrap(arr)
        return v

    def step(self, closure=None):
        loss = closure_loss(closure)
        with grad_mode.no_grad():
            self._step_all(self._check())
        return loss


class Prodigy(_TwoPhase):
    r"""Prodigy: Adam whose moments are scaled by the running estimate ``d``.

    ``d_numerator = beta3 d_numerator + (d / d0) d_lr <g, p0 - p>``, ``s = beta3 s + (d/d0) d_lr g``
    (``d`` instead of ``d_lr`` with ``safeguard_warmup``), ``d_hat = d_coef d_numerator / ||s||_1``,
    ``d = min(max(d_max, d_hat), d growth_rate)`` (and ``max(d, d_hat)`` while ``d == d0``); update
    ``p -= d_lr m / (sqrt(v) + d eps)`` (``atan2(m, sqrt(v))`` when ``eps=None``), ``d_lr = d lr`` (divided by
    ``bc1 / sqrt(bc2)`` with ``bias_correction``). State: ``s``, ``p0``, ``exp_avg``, ``exp_avg_sq``; groups
    carry ``d``, ``d0``, ``d_max``, ``d_hat``, ``d_numerator``, ``d_de_nom``, ``step`` (starts at 1, as the
    reference). Paths: for-loop and foreach (flat), bitwise equal; ``eps=None`` (``atan2``, not in the op
    vocabulary) steps its update per tensor on arrays.
    """

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, d0=1e-6, d_coef=1.0,
                 growth_rate=float("inf"), weight_decay=0.0, weight_decouple=True, fixed_decay=False,
                 bias_correction=False, safeguard_warmup=False, eps=1e-8, maximize=False, foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas((*betas, beta3))
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, beta3=beta3, d=d0, d0=d0, d_max=d0, d_coef=d_coef,
                        growth_rate=growth_rate, weight_decay=weight_decay, weight_decouple=weight_decouple,
                        fixed_decay=fixed_decay, bias_correction=bias_correction, safeguard_warmup=safeguard_warmup,
                        step=1, foreach=foreach, eps=eps)
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"s": 0.0, "p0": 0.0, "exp_avg": 0.0, "exp_avg_sq": 0.0}

    def update(self, o, p, g, st, group, sc):
        if self._phase == "moments":
            prodigy_moments(o, p, g, st, first=sc["first"], maximize=self.maximize, beta1=sc["beta1"],
                            beta2=sc["beta2"], beta3=sc["beta3"], alpha_m=sc["alpha_m"], alpha_v=sc["alpha_v"],
                            alpha_s=sc["alpha_s"])
        else:
            prodigy_apply(o, p, g, st, decay=sc["decay"], d_eps=sc["d_eps"], d_lr=sc["d_lr"])

    def _step_all(self, actives):
        g0 = self.param_groups[0]
        beta1, beta2 = g0["betas"]
        beta3 = g0["beta3"] if g0["beta3"] is not None else math.sqrt(beta2)
        bc = debias(beta1, g0["step"]) / math.sqrt(debias(beta2, g0["step"])) if g0["bias_correction"] else 1.0
        d, d0 = g0["d"], g0["d0"]
        d_lr = d * lr_of(g0) / bc
        d_num = self._ensure_acc(g0, "d_numerator")._data
        d_num[...] = np.float32(d_num[0] * np.float32(beta3))
        for p in (p for act in actives for p in act):    # <g, p0 - p> before the moments (p unchanged by them)
            st = self.state.get(p)
            if st:
                x, g = p._data, p.grad._data
                dot = _host(array_module(x).vdot(g.reshape(-1), (st["p0"]._data - x).reshape(-1)))
                _acc32(d_num, -dot if self.maximize else dot, d / d0 * d_lr)
        scalars = {}
        for group in self.param_groups:
            group.setdefault("step", 0)
            group["step"] += 1
            scalars[id(group)] = dict(beta1=beta1, beta2=beta2, beta3=beta3, alpha_m=d * (1.0 - beta1),
                                      alpha_v=d * d * (1.0 - beta2),
                                      alpha_s=d / d0 * (d if group["safeguard_warmup"] else d_lr))
        self._run("moments", scalars)
        d_den = np.zeros(1, dtype=np.float32)
        for p in (p for act in actives for p in act):
            _acc32(d_den, _l1(self.state[p]["s"]._data))
        if d_den[0] == 0:
            return
        last = self.param_groups[-1]
        d_hat = float(np.float32(np.float32(last["d_coef"]) * d_num[0]) / d_den[0])
        if d == last["d0"]:
            d = max(d, d_hat)
        d_max = max(last["d_max"], d_hat)
        d = min(d_max, d * last["growth_rate"])
        num_t, den_t = g0["d_numerator"], Tensor._wrap(d_den)
        scalars = {}
        for group in self.param_groups:
            group.update(d_numerator=num_t, d_de_nom=den_t, d=d, d_max=d_max, d_hat=d_hat)
            scalars[id(group)] = dict(decay=_decay(group, d_lr), d_lr=d_lr,
                                      d_eps=d * group["eps"] if group["eps"] is not None else 0.0)
        if all(group["eps"] is not None for group in self.param_groups):
            return self._run("apply", scalars)
        for group, act in zip(self.param_groups, actives):   # eps=None (atan2): per tensor on arrays
            sc = scalars[id(group)]
            for p in act:
                st, x = self.state[p], p._data
                bufs = {k: _nd1(st[k]._data) for k in ("exp_avg", "exp_avg_sq")}
                if group["eps"] is not None:
                    prodigy_apply(ops_for(x), _nd1(x), None, bufs, decay=sc["decay"], d_eps=sc["d_eps"], d_lr=d_lr)
                    continue
                xp = array_module(x)
                if sc["decay"] != 1.0:
                    x *= sc["decay"]
                x -= d_lr * xp.arctan2(bufs["exp_avg"], xp.sqrt(bufs["exp_avg_sq"])).reshape(x.shape)


class DAdaptAdam(_TwoPhase):
    r"""D-Adaptation Adam: the moments absorb ``d_lr = d lr``; ``s = sqrt(beta2) s + (1 - sqrt(beta2)) d_lr g``,
    ``numerator_weighted = lerp(numerator_weighted, sum d_lr <g, s / (sqrt(v) + eps)>, 1 - sqrt(beta2))``
    (with the previous ``s`` and ``v``), ``d = max(d, min(numerator_weighted / ((1 - sqrt(beta2)) ||s||_1),
    d growth_rate))`` when ``lr > 0``; update ``p -= m / (sqrt(v) + eps)``. ``bias_correction=True`` divides
    ``d_lr`` by ``bc1 / sqrt(bc2)``. State: ``s``, ``exp_avg``, ``exp_avg_sq``; groups carry ``d``,
    ``numerator_weighted``, ``step``. Paths: for-loop and foreach (flat), bitwise equal.
    """

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), d0=1e-6, growth_rate=float("inf"), weight_decay=0.0,
                 weight_decouple=False, fixed_decay=False, bias_correction=False, eps=1e-8, maximize=False,
                 foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, d=d0, growth_rate=growth_rate, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, bias_correction=bias_correction,
                        step=0, foreach=foreach, eps=eps)
        super().__init__(params, defaults)

    def state_buffers(self, group):
        return {"s": 0.0, "exp_avg": 0.0, "exp_avg_sq": 0.0}

    def update(self, o, p, g, st, group, sc):
        if self._phase == "moments":
            dadapt_adam_moments(o, p, g, st, maximize=self.maximize, l2=sc["l2"], beta1=sc["beta1"],
                                beta2=sc["beta2"], beta2_sq=sc["beta2_sq"], alpha_m=sc["alpha_m"],
                                alpha_s=sc["alpha_s"])
        else:
            dadapt_adam_apply(o, p, g, st, decay=sc["decay"], eps=group["eps"])

    def _step_all(self, actives):
        g0 = self.param_groups[0]
        beta1, beta2 = g0["betas"]
        beta2_sq = math.sqrt(beta2)
        d, lr = g0["d"], lr_of(g0)
        bc = (1.0 - beta1 ** (g0["step"] + 1)) / math.sqrt(1.0 - beta2 ** (g0["step"] + 1))
        d_lr = d * lr if not g0["bias_correction"] else d * lr / bc
        num_w = self._ensure_acc(g0, "numerator_weighted")._data
        num_acc = np.zeros(1, dtype=np.float32)
        for group, act in zip(self.param_groups, actives):   # <g, s / (sqrt(v) + eps)> with the previous s, v
            l2 = 0.0 if group["weight_decouple"] else group["weight_decay"]
            for p in act:
                st = self.state.get(p)
                if not st:
                    continue        # s = 0 on the first step: the product is 0
                x, g = p._data, p.grad._data
                xp = array_module(x)
                if self.maximize:
                    g = -g
                if l2 != 0.0:
                    g = g + l2 * x
                denom = xp.sqrt(st["exp_avg_sq"]._data) + group["eps"]
                _acc32(num_acc, _host(xp.vdot(g.reshape(-1), (st["s"]._data / denom).reshape(-1))), d_lr)
        scalars = {}
        for group in self.param_groups:
            group.setdefault("step", 0)
            group["step"] += 1
            scalars[id(group)] = dict(l2=0.0 if group["weight_decouple"] else group["weight_decay"], beta1=beta1,
                                      beta2=beta2, beta2_sq=beta2_sq, alpha_m=d_lr * (1.0 - beta1),
                                      alpha_s=d_lr * (1.0 - beta2_sq))
        self._run("moments", scalars)
        sk_l1 = np.zeros(1, dtype=np.float32)
        for p in (p for act in actives for p in act):
            _acc32(sk_l1, _l1(self.state[p]["s"]._data))
        if sk_l1[0] == 0:
            return
        w = np.float32(1.0 - beta2_sq)
        diff = float(np.float32(num_acc[0] - num_w[0]))      # torch's lerp, fused: one rounding after the diff
        num_w[...] = np.float32(float(num_w[0]) + float(w) * diff if w < 0.5 else
                                float(num_acc[0]) - diff * float(np.float32(1) - w))
        last = self.param_groups[-1]
        if lr > 0.0:
            d_hat = float(num_w[0] / np.float32(np.float32(1.0 - beta2_sq) * sk_l1[0]))
            d = max(d, min(d_hat, d * last["growth_rate"]))
        scalars = {}
        for group in self.param_groups:
            group["numerator_weighted"] = g0["numerator_weighted"]
            group["d"] = d
            scalars[id(group)] = dict(decay=_decay(group, d_lr))
        self._run("apply", scalars)
