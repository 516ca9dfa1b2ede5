"""Learning-rate-free Adam variants: Prodigy (Mishchenko & Defazio) and DAdaptAdam (Defazio & Mishchenko),
as pytorch_optimizer 4.1.0 implements them.

Both estimate the distance to the solution ``d`` from sums over *all* parameters of all groups (so a step is
two passes: statistics and moments, then the update with the new ``d``). The accumulators are float32
1-element tensors as in the reference (``group['d_numerator']`` for Prodigy, ``group['numerator_weighted']``
for DAdaptAdam, shared by all groups), so float64 runs accumulate their statistics in float32 too.
Reference details kept: the hyper-parameters ``lr``, ``betas``, ``beta3``, ``d``, ``d0``, ``bias_correction``
and the step count come from the first group, ``d_coef``, ``d_max`` and ``growth_rate`` from the last one;
with ``weight_decouple=False`` Prodigy adds the L2 term to the gradient after it was used (no effect).

Paths: for-loop only (the two passes with a global reduction between them); ``foreach`` is accepted.
"""
from __future__ import annotations

import math

import numpy as np

from autograd import Tensor
from autograd.backend import array_module

from ._common_b import (LoopOptimizer, NoComplexParameterError, debias, validate_betas, validate_learning_rate,
                        validate_non_negative, weight_decay_)


def _acc32(acc, value, alpha=1.0):
    """``acc += alpha * value`` on a float32 accumulator (a 1-element array), as a float32 tensor add_."""
    # torch's CPU add with alpha is a fused multiply-add: one rounding (float64 holds the exact product)
    acc[...] = np.float32(float(acc[0]) + float(np.float32(alpha)) * float(np.float32(value)))


def _f32_tensor(v=0.0):
    return Tensor._wrap(np.array([v], dtype=np.float32))


def _host(x):
    return float(x) if array_module(x) is np else float(x.get())


class _DAdaptBase(LoopOptimizer):
    def _active_all(self):
        out = []
        for group in self.param_groups:
            act = self._active(group)
            for p in act:
                if p.is_complex():
                    raise NoComplexParameterError(str(self))
            out.append(act)
        return out

    def _ensure_acc(self, group, name):
        if name not in group or not isinstance(group[name], Tensor):
            group[name] = _f32_tensor(0.0)
        return group[name]


class Prodigy(_DAdaptBase):
    r"""Prodigy: Adam whose moments are scaled by the running estimate ``d``.

    ``d_numerator = beta3 * d_numerator + (d / d0) * d_lr * <g, p0 - p>``, ``s = beta3 s + (d/d0) d_lr g``
    (``d`` instead of ``d_lr`` with ``safeguard_warmup``), ``d_hat = d_coef * d_numerator / ||s||_1``,
    ``d = min(max(d_max, d_hat), d * growth_rate)``; update ``p -= d_lr m / (sqrt(v) + d eps)`` (``atan2``
    when ``eps=None``), ``d_lr = d lr`` (divided by ``bc1 / sqrt(bc2)`` with ``bias_correction``).
    State: ``s``, ``p0``, ``exp_avg``, ``exp_avg_sq``; groups carry ``d``, ``d0``, ``d_max``, ``d_hat``,
    ``d_numerator``, ``d_de_nom``, ``step`` (starts at 1, as the reference). Paths: for-loop.
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

    def step(self, closure=None):  # the whole step is global: no per-group _step_group
        from ..optimizer import closure_loss  # noqa: PLC0415
        from autograd import grad_mode  # noqa: PLC0415

        loss = closure_loss(closure)
        with grad_mode.no_grad():
            self._step_all()
        return loss

    def _step_all(self):
        g0 = self.param_groups[0]
        beta1, beta2 = g0["betas"]
        beta3 = g0["beta3"] if g0["beta3"] is not None else math.sqrt(beta2)
        bc = debias(beta1, g0["step"]) / math.sqrt(debias(beta2, g0["step"])) if g0["bias_correction"] else 1.0
        d, d0 = g0["d"], g0["d0"]
        d_lr = d * g0["lr"] / bc
        d_num = self._ensure_acc(g0, "d_numerator")._data
        d_num[...] = np.float32(d_num[0] * np.float32(beta3))
        d_den = np.zeros(1, dtype=np.float32)
        actives = self._active_all()
        for group, active in zip(self.param_groups, actives):
            group.setdefault("step", 0)
            for p in active:
                st = self.state[p]
                if len(st) == 0:
                    st["s"] = self._zeros(p)
                    st["p0"] = Tensor._wrap(p._data.copy())
                    st["exp_avg"] = self._zeros(p)
                    st["exp_avg_sq"] = self._zeros(p)
            group["step"] += 1
            for p in active:
                st = self.state[p]
                x, g = p._data, self._grad(p, self.maximize)
                xp = array_module(x)
                _acc32(d_num, _host(xp.vdot(g.reshape(-1), (st["p0"]._data - x).reshape(-1))), d / d0 * d_lr)
                m, v, s = st["exp_avg"]._data, st["exp_avg_sq"]._data, st["s"]._data
                m *= beta1
                m += g * (d * (1.0 - beta1))
                v *= beta2
                v += (g * g) * (d * d * (1.0 - beta2))
                s *= beta3
                s += g * (d / d0 * (d if group["safeguard_warmup"] else d_lr))
                _acc32(d_den, _host(xp.sum(xp.abs(s), dtype=s.dtype)))
        if d_den[0] == 0:
            return
        last = self.param_groups[-1]
        d_hat = float(np.float32(np.float32(last["d_coef"]) * d_num[0]) / d_den[0])
        if d == last["d0"]:
            d = max(d, d_hat)
        d_max = max(last["d_max"], d_hat)
        d = min(d_max, d * last["growth_rate"])
        num_t, den_t = self.param_groups[0]["d_numerator"], Tensor._wrap(d_den)
        for group, active in zip(self.param_groups, actives):
            group.update(d_numerator=num_t, d_de_nom=den_t, d=d, d_max=d_max, d_hat=d_hat)
            for p in active:
                st = self.state[p]
                x = p._data
                xp = array_module(x)
                weight_decay_(x, None, lr=d_lr, weight_decay=group["weight_decay"],
                              weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"])
                m, denom = st["exp_avg"]._data, xp.sqrt(st["exp_avg_sq"]._data)
                if group["eps"] is not None:
                    denom += d * group["eps"]
                    x -= d_lr * (m / denom)
                else:
                    x -= d_lr * xp.arctan2(m, denom)


class DAdaptAdam(_DAdaptBase):
    r"""D-Adaptation Adam: the moments absorb ``d_lr = d * lr``; ``s = sqrt(beta2) s + (1 - sqrt(beta2)) d_lr g``,
    ``numerator_weighted = lerp(numerator_weighted, sum <g, s / (sqrt(v) + eps)> d_lr, 1 - sqrt(beta2))``,
    ``d = max(d, min(numerator_weighted / ((1 - sqrt(beta2)) ||s||_1), d * growth_rate))`` (when ``lr > 0``);
    update ``p -= m / (sqrt(v) + eps)``. ``bias_correction=True`` divides ``d_lr`` by ``bc1 / sqrt(bc2)``.
    State: ``s``, ``exp_avg``, ``exp_avg_sq``; groups carry ``d``, ``numerator_weighted``, ``step``.
    Paths: for-loop.
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

    step = Prodigy.step

    def _step_all(self):
        g0 = self.param_groups[0]
        beta1, beta2 = g0["betas"]
        beta2_sq = math.sqrt(beta2)
        d, lr = g0["d"], g0["lr"]
        bc = (1.0 - beta1 ** (g0["step"] + 1)) / math.sqrt(1.0 - beta2 ** (g0["step"] + 1))
        d_lr = d * lr if not g0["bias_correction"] else d * lr / bc
        sk_l1 = np.zeros(1, dtype=np.float32)
        num_acc = np.zeros(1, dtype=np.float32)
        num_w = self._ensure_acc(g0, "numerator_weighted")._data
        actives = self._active_all()
        for group, active in zip(self.param_groups, actives):
            group.setdefault("step", 0)
            for p in active:
                st = self.state[p]
                if len(st) == 0:
                    st["s"] = self._zeros(p)
                    st["exp_avg"] = self._zeros(p)
                    st["exp_avg_sq"] = self._zeros(p)
            group["step"] += 1
            for p in active:
                st = self.state[p]
                x, g = p._data, self._grad(p, self.maximize)
                xp = array_module(x)
                m, v, s = st["exp_avg"]._data, st["exp_avg_sq"]._data, st["s"]._data
                if not group["weight_decouple"]:
                    g = weight_decay_(x, g, lr=d_lr, weight_decay=group["weight_decay"], weight_decouple=False,
                                      fixed_decay=group["fixed_decay"])
                denom = xp.sqrt(v) + group["eps"]
                _acc32(num_acc, _host(xp.vdot(g.reshape(-1), (s / denom).reshape(-1))), d_lr)
                m *= beta1
                m += g * (d_lr * (1.0 - beta1))
                v *= beta2
                v += (g * g) * (1.0 - beta2)
                s *= beta2_sq
                s += g * (d_lr * (1.0 - beta2_sq))
                _acc32(sk_l1, _host(xp.sum(xp.abs(s), dtype=s.dtype)))
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
        num_t = g0["numerator_weighted"]
        for group, active in zip(self.param_groups, actives):
            group["numerator_weighted"] = num_t
            group["d"] = d
            for p in active:
                st = self.state[p]
                x = p._data
                xp = array_module(x)
                denom = xp.sqrt(st["exp_avg_sq"]._data) + group["eps"]
                weight_decay_(x, None, lr=d_lr, weight_decay=group["weight_decay"],
                              weight_decouple=group["weight_decouple"], fixed_decay=group["fixed_decay"])
                x -= st["exp_avg"]._data / denom
