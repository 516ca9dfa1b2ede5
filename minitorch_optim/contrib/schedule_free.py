"""Schedule-free optimizers (Defazio et al., 2024) as ``schedulefree`` 1.4.1: AdamWScheduleFree,
SGDScheduleFree, RAdamScheduleFree.

The parameters hold the point ``y`` where gradients are taken during training; the state holds ``z`` (the
SGD/Adam iterate). The averaged point ``x`` used for evaluation is recovered by ``optimizer.eval()`` and
left by ``optimizer.train()``; ``step`` raises unless the optimizer is in train mode (call ``train()``
first, as with the reference). Per step, with ``c = weight / weight_sum`` (``weight = k^r lr_max^p``):

    y <- lerp(y, z, c) + lr (beta1 (1 - c) - 1) u,   z <- z - lr u

where ``u`` is the gradient (SGD) or the Adam-normalised gradient ``g / (sqrt(v / bc2) + eps)``, plus
``weight_decay * y``. The per-group scalars (warm-up / RAdam rectification, ``lr_max``, ``weight_sum``,
``k``) live in the param groups as in the reference; the elementwise part is ONE update function,
``schedule_free_update``, run by the ElementwiseOptimizer driver: for-loop (``foreach=False``) and the flat
multi-tensor path (``foreach=True``, the reference's default), bitwise equal to each other, and (an
extension) ``differentiable=True``: the same function on recorded Tensor ops, so hypergradients flow
through steps and ``eval()``.

BatchNorm: the running statistics a BatchNorm layer collected during training belong to ``y``, not to the
evaluation point ``x``. Before evaluating, recompute them at ``x``: ``model.train(); optimizer.eval()``, run
a few training batches forward without gradients, then ``model.eval()`` (``bn_update_schedule_free`` does
this). Call ``optimizer.train()`` (and ``model.train()``) before training continues.
"""
from __future__ import annotations

from autograd import grad_mode
from autograd.ops.basic import copy_on_write

from .._core.foreach import nd1 as _nd1
from ..elementwise import ElementwiseOptimizer
from .._core.ops import TENSOR_OPS, ops_for
from ._loop import lr_of


def schedule_free_update(o, p, g, st, *, first, lr, ckp1, y_lr, weight_decay, beta2=None, bias_correction2=1.0,
                         eps=0.0, normalize=True):
    """One schedule-free step on ``p`` (= y) with ``st['z']`` (and ``st['exp_avg_sq']`` when ``beta2``)."""
    z = st["z"]
    if first:
        o.copy_(z, p)          # z starts at the initial parameters
    if beta2 is not None:
        v = st["exp_avg_sq"]
        o.mul_(v, beta2)
        o.addcmul_(v, g, g, value=1 - beta2)
        if normalize:
            denom = o.div(v, bias_correction2)
            o.sqrt_(denom)
            o.add_scalar_(denom, eps)
            g = o.div(g, denom)
    if weight_decay != 0:
        g = o.add(g, p, alpha=weight_decay)
    o.lerp_(p, z, ckp1)
    o.add_(p, g, alpha=y_lr)
    o.add_(z, g, alpha=-lr)


class _ScheduleFree(ElementwiseOptimizer):

    # per-step group scalars come from step() itself (not from the state alone), so the kernel generator
    # cannot enumerate them: for-loop, foreach and differentiable paths only, no fused kernel
    _fused_supported = False
    _beta_key = "betas"

    def _beta1(self, group):
        return group["betas"][0]

    def state_buffers(self, group):
        return {"z": 0.0, "exp_avg_sq": 0.0}

    def scalar_state(self, group):
        return {}

    def _group_scalars(self, group):
        raise NotImplementedError

    @staticmethod
    def _weights(group, lr, k):
        group["scheduled_lr"] = lr
        lr_max = group["lr_max"] = max(lr, group["lr_max"])
        weight = (k + 1) ** group["r"] * lr_max ** group["weight_lr_power"]
        weight_sum = group["weight_sum"] = group["weight_sum"] + weight
        try:
            return weight / weight_sum
        except ZeroDivisionError:
            return 0

    def _step_begin(self):
        if not self.param_groups[0]["train_mode"]:
            raise Exception("Optimizer was not in train mode when step is called. Please insert .train() and "
                            ".eval() calls on the optimizer. See documentation for details.")

    def _before_step(self):
        for g in self.param_groups:            # refused before any group scalar moves
            if any(p.grad is not None and getattr(p.grad, "is_sparse", False) for p in g["params"]):
                raise self._sparse_error()
        self._sf = {id(g): self._group_scalars(g) for g in self.param_groups}

    def _after_step(self):
        for g in self.param_groups:
            g["k"] += 1

    def step_scalars(self, group, lr, s):
        return dict(self._sf[id(group)]), {}

    def update(self, o, p, g, st, group, sc):
        schedule_free_update(o, p, g, st, first=sc["first"], lr=sc["lr"], ckp1=sc["ckp1"], y_lr=sc["y_lr"],
                             weight_decay=group["weight_decay"], beta2=sc.get("beta2"),
                             bias_correction2=sc.get("bias_correction2", 1.0), eps=group.get("eps", 0.0),
                             normalize=sc.get("normalize", True))

    def _switch(self, to_train):
        for group in self.param_groups:
            if group["train_mode"] == to_train:
                continue
            b1 = self._beta1(group)
            w = 1 - b1 if to_train else 1 - 1 / b1
            for p in group["params"]:
                st = self.state.get(p)
                if not (st and "z" in st):
                    continue
                if group.get("differentiable"):        # recorded, so hypergradients flow through x
                    with grad_mode.enable_grad(), copy_on_write():
                        TENSOR_OPS.lerp_(p, st["z"], w)
                else:
                    with grad_mode.no_grad():
                        ops_for(p._data).lerp_(_nd1(p._data), _nd1(st["z"]._data), w)
            group["train_mode"] = to_train

    def eval(self):
        """Move the parameters to the averaged point ``x`` (for evaluation and checkpoints of the model)."""
        self._switch(False)

    def train(self):
        """Move the parameters back to ``y`` (where training takes its gradients)."""
        self._switch(True)


class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-free AdamW (schedulefree 1.4.1): ``warmup_steps`` linear warm-up, decoupled-style weight
    decay at ``y``, ``r`` and ``weight_lr_power`` for the averaging weights. State: ``z``, ``exp_avg_sq``.
    Paths: for-loop and foreach (flat multi-tensor), bitwise equal (see the module docstring)."""

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0, foreach=True, *, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps, train_mode=False,
                        weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay, foreach=foreach)
        _differentiable(defaults, differentiable)
        super().__init__(params, defaults)

    def _group_scalars(self, group):
        beta1, beta2 = group["betas"]
        k = group["k"]
        sched = (k + 1) / group["warmup_steps"] if k < group["warmup_steps"] else 1.0
        lr = lr_of(group) * sched
        ckp1 = self._weights(group, lr, k)
        return dict(lr=lr, ckp1=ckp1, y_lr=lr * (beta1 * (1 - ckp1) - 1), beta2=beta2,
                    bias_correction2=1 - beta2 ** (k + 1))


class RAdamScheduleFree(_ScheduleFree):
    r"""Schedule-free RAdam (schedulefree 1.4.1): no warm-up, the lr is scaled by RAdam's rectification; while
    it is undefined (``rho_t <= 4``) the step is skipped (``silent_sgd_phase=True``) or is an SGD step.
    State: ``z``, ``exp_avg_sq``. Paths: for-loop and foreach, bitwise equal."""

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, r=0.0,
                 weight_lr_power=2.0, foreach=True, silent_sgd_phase=True, *, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0,
                        scheduled_lr=0.0, weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        foreach=foreach, silent_sgd_phase=silent_sgd_phase)
        _differentiable(defaults, differentiable)
        super().__init__(params, defaults)

    def _group_scalars(self, group):
        beta1, beta2 = group["betas"]
        k = group["k"]
        step = k + 1
        beta2_t = beta2 ** step
        bc2 = 1 - beta2_t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2_t / bc2
        if rho_t > 4.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        else:
            rect = float(not group["silent_sgd_phase"])
        lr = lr_of(group) * rect
        ckp1 = self._weights(group, lr, k)
        return dict(lr=lr, ckp1=ckp1, y_lr=lr * (beta1 * (1 - ckp1) - 1), beta2=beta2, bias_correction2=bc2,
                    normalize=rho_t > 4.0)


class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-free SGD (schedulefree 1.4.1) with ``momentum`` in (0, 1) as the interpolation constant,
    linear ``warmup_steps``. State: ``z``. Paths: for-loop and foreach, bitwise equal."""

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0, warmup_steps=0, r=0.0, weight_lr_power=2,
                 foreach=True, *, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if momentum <= 0 or momentum >= 1:
            raise ValueError(f"Momentum must be between 0 and 1 exclusive: {momentum}")
        defaults = dict(lr=lr, momentum=momentum, r=r, k=0, warmup_steps=warmup_steps, train_mode=False,
                        weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0, weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay, foreach=foreach)
        _differentiable(defaults, differentiable)
        super().__init__(params, defaults)

    def _beta1(self, group):
        return group["momentum"]

    def state_buffers(self, group):
        return {"z": 0.0}

    def _group_scalars(self, group):
        k = group["k"]
        sched = (k + 1) / group["warmup_steps"] if k < group["warmup_steps"] else 1.0
        lr = lr_of(group) * sched
        ckp1 = self._weights(group, lr, k)
        return dict(lr=lr, ckp1=ckp1, y_lr=lr * (group["momentum"] * (1 - ckp1) - 1))


def _differentiable(defaults, differentiable):
    """``differentiable=True`` (an extension; the reference has no such path) steps with recorded Tensor ops;
    the key enters the groups only when set, so the groups otherwise match the reference's."""
    if differentiable:
        defaults["differentiable"] = True


def bn_update_schedule_free(model, optimizer, batches, num_batches=50):
    """Recompute BatchNorm running statistics at the evaluation point of a schedule-free optimizer.

    As the schedulefree README advises: ``model.train()``, ``optimizer.eval()``, forward ``num_batches``
    batches from ``batches`` (inputs, or ``(inputs, ...)`` tuples whose first item is the input) without
    gradients, then ``model.eval()``. The optimizer is left in eval mode: call ``optimizer.train()`` and
    ``model.train()`` before training on.
    """
    model.train()
    optimizer.eval()
    with grad_mode.no_grad():
        for i, batch in enumerate(batches):
            if i >= num_batches:
                break
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x)
    model.eval()
