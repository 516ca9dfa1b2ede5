"""AdaHessian and SophiaH: Adam-like steps preconditioned by a Hutchinson estimate of the Hessian diagonal,
as pytorch_optimizer 4.1.0's classes of the same names.

The estimate needs second derivatives: call ``loss.backward(create_graph=True)`` before ``step()`` (or pass
your own estimate as ``step(hessian=[...])``). On every ``update_period``-th step (the first included) the
step draws, ``num_samples`` times, one noise tensor ``z`` per parameter that has a gradient (Rademacher
``+-1`` or standard normal, from autograd's default generator, see ``hutchinson_noise``), forms the
Hessian-vector products ``Hz = autograd.grad(grads, params, grad_outputs=z)`` and accumulates
``hessian += Hz * z / num_samples`` (``E[z * Hz] = diag(H)``). As in the reference the three entry points
are static methods usable on their own: ``zero_hessian``, ``compute_hutchinson_hessian`` and
``set_hessian``.

Paths: for-loop only (a per-tensor loop on the raw arrays with grad mode off; the Hessian-vector products
go through autograd). ``foreach`` is accepted and stored in the groups as by the reference, whose foreach
and for-loop paths run the same operations; here both run the loop. There is no fused kernel and no
differentiable step: ``fused=True`` / ``differentiable=True`` raise ``RuntimeError``.
"""
from __future__ import annotations

import autograd
from autograd import Tensor, grad_mode
from autograd.backend import array_module

from .._core.fma import lerp_
from ..optimizer import closure_loss
from ._loop import (LoopOptimizer, debias, lr_of, validate_betas, validate_learning_rate, validate_non_negative,
                    validate_options, validate_positive, validate_range, validate_step, wrap)

DISTRIBUTIONS = ("gaussian", "rademacher")


def hutchinson_noise(p, distribution):
    """One noise tensor shaped like ``p`` (its dtype and device): ``'rademacher'`` draws ``+-1`` with equal
    odds, ``'gaussian'`` standard normal values, from autograd's default generator (``autograd.manual_seed``).

    The single place the estimators draw their noise (the reference draws ``torch.randint_like(p, 0, 2) * 2
    - 1`` and ``torch.randn_like(p)``); the parity tests replace it to feed both implementations the same z.
    """
    if distribution == "rademacher":
        bits = autograd.randint(0, 2, tuple(p.shape), device=p.device)._data
        return wrap(bits.astype(p._data.dtype) * 2.0 - 1.0)
    return autograd.randn_like(p)


def _torch_size(shape):
    return f"torch.Size({list(shape)})"


def _estimable(param_groups):
    """The params the estimate covers: trainable, with a dense gradient (the reference's filter)."""
    return [p for group in param_groups or [] for p in group["params"]
            if p.requires_grad and p.grad is not None and not getattr(p.grad, "is_sparse", False)]


def _refuse_paths(name, fused, differentiable):
    why = "its step needs Hutchinson's Hessian estimate through autograd; paths: for-loop"
    if fused:
        raise RuntimeError(f"`fused=True` is not available for {name} ({why})")
    if differentiable:
        raise RuntimeError(f"`differentiable=True` is not available for {name} ({why})")


class _HutchinsonOptimizer(LoopOptimizer):
    """The shared step: group init, the Hessian refresh every ``update_period`` steps, then the per-tensor
    update of the subclass (``_update(p, g, st, group, update_hessian)`` on arrays)."""

    _moments = ()   # the two param-shaped state names the subclass opens

    # ---- the reference's static entry points -----------------------------------------------------------
    @staticmethod
    def set_hessian(param_groups, state, hessian):
        """Store externally computed Hessian estimates: one tensor per parameter (all params of all groups,
        in order), each of its parameter's shape; the tensors are stored as given (not copied)."""
        i = 0
        with grad_mode.no_grad():
            for group in param_groups or []:
                for p in group["params"]:
                    h = hessian[i]
                    if tuple(p.shape) != tuple(h.shape):
                        raise ValueError("the shape of parameter and hessian does not match. "
                                         f"{_torch_size(p.shape)} vs {_torch_size(h.shape)}")
                    state[p]["hessian"] = h if isinstance(h, Tensor) else autograd.as_tensor(h)
                    i += 1

    @staticmethod
    def zero_hessian(param_groups, state, pre_zero=True):
        """Open a zero ``hessian`` entry for every estimable param, or zero the existing one (``pre_zero``)."""
        for p in _estimable(param_groups):
            st = state[p]
            if "hessian" not in st:
                st["hessian"] = autograd.zeros_like(p)
            elif pre_zero:
                st["hessian"]._data[...] = 0

    @staticmethod
    def compute_hutchinson_hessian(param_groups, state, num_samples=1, alpha=1.0, distribution="gaussian"):
        """Add ``alpha * mean_k(z_k * H z_k)`` over ``num_samples`` noise draws to each ``state[p]['hessian']``
        (opened by ``zero_hessian``). The gradients must carry their graph (``backward(create_graph=True)``);
        the graph is kept between samples and released after the last one, as the reference does."""
        if distribution not in DISTRIBUTIONS:
            raise NotImplementedError(f"hessian with distribution {distribution} is not implemented.")
        params = _estimable(param_groups)
        if not params:
            return
        grads = [p.grad for p in params]
        value = alpha / num_samples
        with grad_mode.no_grad():
            for i in range(num_samples):
                zs = [hutchinson_noise(p, distribution) for p in params]
                hzs = autograd.grad(grads, params, grad_outputs=zs, retain_graph=i < num_samples - 1)
                for hz, z, p in zip(hzs, zs, params):
                    h = state[p]["hessian"]._data
                    t = hz._data * value if value != 1 else hz._data.copy()   # torch's addcmul: (value * a) * b
                    t *= z._data
                    h += t

    # ---- the step --------------------------------------------------------------------------------------
    def _init_group(self, group):
        group.setdefault("step", 0)
        for p in self._active(group):       # refuses sparse gradients and complex params, as the reference
            st = self.state[p]
            if self._moments[0] not in st:
                xp = array_module(p._data)
                for name in self._moments:
                    st[name] = wrap(xp.zeros_like(p._data))

    def step(self, closure=None, hessian=None):
        """One step; ``hessian`` (one tensor per parameter) replaces the Hutchinson estimate of this step."""
        loss = closure_loss(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._init_group(group)
            step = self.param_groups[0]["step"] + 1
            update_hessian = hessian is not None or (step - 1) % self.update_period == 0
            if hessian is not None:
                self.set_hessian(self.param_groups, self.state, hessian)
            elif update_hessian:
                self.zero_hessian(self.param_groups, self.state)
                self.compute_hutchinson_hessian(self.param_groups, self.state, num_samples=self.num_samples,
                                                distribution=self.distribution)
            for group in self.param_groups:
                group["step"] += 1
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad._data
                    g = -g if self.maximize else g
                    self._update(p._data, g, self.state[p], group, update_hessian)
        return loss

    @staticmethod
    def _decay(x, g, group):
        """The reference's ``apply_weight_decay``: shrink ``x`` in place, or return ``g + wd * x`` (new)."""
        wd = group["weight_decay"]
        if wd == 0.0:
            return g
        if group["weight_decouple"]:
            x *= 1.0 - wd * (1.0 if group["fixed_decay"] else lr_of(group))
        elif wd > 0.0:
            g = g + wd * x
        return g

    def _update(self, x, g, st, group, update_hessian):
        raise NotImplementedError


class AdaHessian(_HutchinsonOptimizer):
    r"""AdaHessian (Yao et al., 2020): Adam with the squared Hutchinson Hessian diagonal in place of the squared
    gradient. Per parameter: ``m = lerp(m, g, 1 - beta1)``; on Hessian steps ``v = beta2 v + (1 - beta2) h^2``;
    ``p -= lr / (1 - beta1^t) * m / ((v / (1 - beta2^t))^(hessian_power / 2) + eps)``.

    State: ``exp_avg``, ``exp_hessian_diag_sq``, ``hessian`` (the latest estimate); ``group['step']``.
    The Hessian is refreshed on steps ``1, 1 + update_period, ...`` (the first group's step count decides);
    in between ``exp_hessian_diag_sq`` is left as it is. Extra keywords enter the groups as in the reference;
    ``adam_debias`` is read (step size ``lr`` without ``1 / (1 - beta1^t)``), others (e.g. older releases'
    ``average_conv_kernel``) have no effect there or here. The distribution is checked when the estimate is
    computed (``NotImplementedError``), as the reference. Paths: for-loop (see the module docstring).
    """

    _moments = ("exp_avg", "exp_hessian_diag_sq")

    def __init__(self, params, lr=1e-1, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, hessian_power=1.0, update_period=1, num_samples=1,
                 hessian_distribution="rademacher", eps=1e-16, maximize=False, foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(eps, "eps")
        validate_range(hessian_power, "Hessian Power", 0, 1, range_type="(]")
        _refuse_paths("AdaHessian", kwargs.get("fused"), kwargs.get("differentiable"))
        self.update_period = update_period
        self.num_samples = num_samples
        self.distribution = hessian_distribution
        self.maximize = maximize
        self.foreach = foreach
        defaults = dict(lr=lr, foreach=foreach, betas=betas, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, hessian_power=hessian_power,
                        eps=eps, **kwargs)
        super().__init__(params, defaults)

    def _update(self, x, g, st, group, update_hessian):
        xp = array_module(x)
        beta1, beta2 = group["betas"]
        t = group["step"]
        lr = lr_of(group)
        step_size = lr if group.get("adam_debias", False) else lr / debias(beta1, t)
        g = self._decay(x, g, group)
        m, v = st["exp_avg"]._data, st["exp_hessian_diag_sq"]._data
        lerp_(m, g, 1.0 - beta1)
        if update_hessian and "hessian" in st:
            h = st["hessian"]._data
            v *= beta2
            hh = h * (1.0 - beta2)        # torch's addcmul: (value * a) * b
            hh *= h
            v += hh
        de_nom = v / debias(beta2, t)
        half = group["hessian_power"] / 2
        if half == 0.5:                    # torch's pow with exponent 0.5 is its sqrt
            xp.sqrt(de_nom, out=de_nom)
        else:
            xp.power(de_nom, half, out=de_nom)
        de_nom += group["eps"]
        upd = m * -step_size               # torch's addcdiv: (value * a) / b
        upd /= de_nom
        x += upd


class SophiaH(_HutchinsonOptimizer):
    r"""SophiaH (Liu et al., 2023) with Hutchinson's Hessian estimate: ``m = lerp(m, g, 1 - beta1)``; on Hessian
    steps ``hm = lerp(hm, h, 1 - beta2)``; ``p -= lr * clamp(m / max(hm, eps), -p, p)`` (``p`` the clip).

    State: ``momentum``, ``hessian_moment``, ``hessian``; ``group['step']``. The Hessian is refreshed on
    steps ``1, 1 + update_period, ...`` (``update_period=10`` by default). Extra keywords are accepted and
    ignored, as the reference does. Paths: for-loop (see the module docstring).
    """

    _moments = ("momentum", "hessian_moment")

    def __init__(self, params, lr=6e-2, betas=(0.96, 0.99), weight_decay=0.0, weight_decouple=True,
                 fixed_decay=False, p=1e-2, update_period=10, num_samples=1, hessian_distribution="gaussian",
                 eps=1e-12, maximize=False, foreach=None, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(weight_decay, "weight_decay")
        validate_non_negative(p, "p (gradient clip)")
        validate_step(update_period, "update_period")
        validate_positive(num_samples, "num_samples")
        validate_options(hessian_distribution, "hessian_distribution", list(DISTRIBUTIONS))
        validate_non_negative(eps, "eps")
        _refuse_paths("SophiaH", kwargs.get("fused"), kwargs.get("differentiable"))
        self.update_period = update_period
        self.num_samples = num_samples
        self.distribution = hessian_distribution
        self.maximize = maximize
        self.foreach = foreach
        defaults = dict(lr=lr, foreach=foreach, betas=betas, weight_decay=weight_decay,
                        weight_decouple=weight_decouple, fixed_decay=fixed_decay, p=p, eps=eps)
        super().__init__(params, defaults)

    def _update(self, x, g, st, group, update_hessian):
        xp = array_module(x)
        beta1, beta2 = group["betas"]
        g = self._decay(x, g, group)
        m, hm = st["momentum"]._data, st["hessian_moment"]._data
        lerp_(m, g, 1.0 - beta1)
        if update_hessian and "hessian" in st:
            lerp_(hm, st["hessian"]._data.astype(hm.dtype, copy=False), 1.0 - beta2)
        u = xp.maximum(hm, x.dtype.type(group["eps"]))
        xp.divide(m, u, out=u)
        clip = x.dtype.type(group["p"])
        xp.clip(u, -clip, clip, out=u)
        u *= -lr_of(group)
        x += u


__all__ = ["AdaHessian", "SophiaH", "hutchinson_noise"]
