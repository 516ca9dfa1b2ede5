"""pytorch_optimizer's conventions on our elementwise machinery, shared by the contrib optimizers.

What a contrib class inherits from here, so that it behaves as its pytorch_optimizer 4.1.0 reference:
  * the step count lives in the parameter group (``group["step"]``, an int, advanced once per ``step()``
    for every group), not per parameter; ``maximize`` is an attribute of the optimizer, not a group key;
  * the reference's exception classes (``NoSparseGradientError``, ``NegativeLRError``, ...) and its
    argument checks with their messages;
  * ``differentiable=`` and ``fused=`` beyond the reference: they enter the groups only when set, so a
    default construction has exactly the reference's ``param_groups`` keys;
  * the paths: for-loop (per tensor), foreach (the flat multi-tensor path of ``ElementwiseOptimizer``),
    differentiable (the same update on Tensors), and the generated fused kernels where the machinery
    has them. A configuration whose update needs a per-tensor reduction (a norm, a mean, a sum) or
    state the flat buffers cannot hold runs the per-tensor loop for ``foreach`` as well
    (``_per_tensor``), as the reference also turns off its foreach path for those options.

Unlike the reference we never write into ``p.grad`` (it negates it for ``maximize`` and adds the
L2 decay to it in place); the values of the parameters and of the state are the same.
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor

from .._core.foreach import nd1 as _nd1
from ..elementwise import ElementwiseOptimizer
from .._core.ops import TENSOR_OPS, ops_for
from ..optimizer import closure_loss, scalar


# ---- the reference's exception classes ---------------------------------------------------------------
class NoSparseGradientError(Exception):
    """An optimizer received a sparse gradient it does not support."""

    def __init__(self, optimizer_name, note=""):
        self.note = " " if not note else f" w/ {note} "
        self.message = f"{optimizer_name}{self.note}does not support sparse gradient."
        super().__init__(self.message)


class NegativeLRError(Exception):
    """A learning rate is negative."""

    def __init__(self, lr, lr_type=""):
        self.note = lr_type if lr_type else "learning rate"
        self.message = f"{self.note} must be positive. ({lr} > 0)"
        super().__init__(self.message)


class NoComplexParameterError(Exception):
    """An optimizer received a complex parameter it does not support."""

    def __init__(self, optimizer_name, note=""):
        self.note = " " if not note else f" w/ {note} "
        self.message = f"{optimizer_name}{self.note}does not support complex parameter."
        super().__init__(self.message)


class NoClosureError(Exception):
    """The optimizer needs a closure (SAM)."""

    def __init__(self, optimizer_name, note=""):
        self.message = f"{optimizer_name} requires closure.{note}"
        super().__init__(self.message)


class NegativeStepError(Exception):
    """A step count below one."""

    def __init__(self, num_steps, step_type=""):
        self.note = step_type if step_type else "step"
        self.message = f"{self.note} must be positive. ({num_steps} > 0)"
        super().__init__(self.message)


def validate_positive(x, name):
    if x <= 0:
        raise ValueError(f"{name} must be positive")


def validate_step(step, step_type):
    if step < 1:
        raise NegativeStepError(step, step_type=step_type)


def refuse_extras(name, kwargs, supported=()):
    """pytorch_optimizer accepts any extra keyword into the defaults; the variants it switches on with them
    (adanorm, cautious, ...) are implemented here only where listed in ``supported``: others raise."""
    for k, v in kwargs.items():
        if k not in supported and v not in (None, False, 0, 0.0):
            raise NotImplementedError(f"{name}: the extra option {k}={v!r} of the reference is not implemented")


# ---- the reference's argument checks ------------------------------------------------------------------
def validate_learning_rate(lr):
    if lr is not None and lr < 0.0:
        raise NegativeLRError(lr)


def validate_range(x, name, low, high, range_type="[)"):
    ok = {"[)": low <= x < high, "[]": low <= x <= high, "(]": low < x <= high, "()": low < x < high}[range_type]
    if not ok:
        raise ValueError(f"{name} must be in the range {range_type[0]}{low}, {high}{range_type[1]}")


def validate_non_negative(x, name):
    if x is not None and x < 0.0:
        raise ValueError(f"{name} must be non-negative")


def validate_betas(betas, beta_range_type="[)", beta3_range_type="[]"):
    if betas[0] is not None:
        validate_range(betas[0], "beta1", 0.0, 1.0, beta_range_type)
    validate_range(betas[1], "beta2", 0.0, 1.0, beta_range_type)
    if len(betas) >= 3 and betas[2] is not None:
        validate_range(betas[2], "beta3", 0.0, 1.0, beta3_range_type)


def validate_nus(nus):
    if isinstance(nus, tuple):
        validate_range(nus[0], "nu1", 0.0, 1.0, "[]")
        validate_range(nus[1], "nu2", 0.0, 1.0, "[]")
    else:
        validate_range(nus, "nu", 0.0, 1.0, "[]")


def validate_options(x, name, options):
    if x not in options:
        opts = " or ".join(f"'{o}'" for o in options).strip()
        raise ValueError(f"{name} {x} must be one of ({opts})")


def debias(beta, step):
    """``1 - beta ** step``."""
    return 1.0 - beta ** step


def debias_beta(beta, step):
    """The bias-corrected decay ``beta (1 - beta^(t-1)) / (1 - beta^t)``, in the reference's form."""
    beta_n = beta ** step
    return (beta_n - beta) / (beta_n - 1.0)


# ---- update helpers shared by several algorithms (all in the op vocabulary) ---------------------------
def weight_decay_(o, p, g, *, lr, weight_decay, weight_decouple, fixed_decay, ratio=None):
    """The reference's ``apply_weight_decay``: decoupled shrinks ``p``; coupled returns ``g + wd p``.

    Returns the (possibly new) gradient; the gradient given is never written.
    """
    if weight_decay == 0.0:
        return g
    if weight_decouple:
        o.mul_(p, 1.0 - weight_decay * (1.0 if fixed_decay else lr) * (ratio if ratio is not None else 1.0))
    elif weight_decay > 0.0 and g is not None:
        g = o.add(g, p, alpha=weight_decay)
    return g


def cautious_(o, update, g):
    """Zero the entries of ``update`` whose sign disagrees with ``g`` and rescale by numel/(kept+1)."""
    mask = o.cast(o.gt(o.mul(update, g), 0.0), update)
    # the reference computes numel / (sum + 1) with a Tensor divisor: torch's reciprocal * numel
    o.mul_(mask, (1.0 / (o.sum(mask) + 1)) * o.numel(mask))
    o.mul_(update, mask)
    return update


def centralize(o, g):
    """Gradient centralisation: subtract each output channel's mean (tensors of 2+ dims); a new array."""
    if g.ndim > 1:
        g = o.sub(g, o.mean(g, dims=tuple(range(1, g.ndim))))
    return g


def adanorm_grad(o, g, exp_grad_norm, r):
    """AdaNorm: update the running gradient norm; scale ``g`` up to it when its own norm is smaller."""
    if exp_grad_norm is None:
        return g
    r = 0.95 if r is None else r
    gn = o.norm(g)
    o.mul_(exp_grad_norm, r)
    o.add_(exp_grad_norm, gn, alpha=1.0 - r)
    if bool(gn > 0) and bool(exp_grad_norm > gn):
        return o.div_(o.mul(g, exp_grad_norm), gn)
    return g


def stable_adamw_rms(o, g, v, eps=1e-16):
    """The reference's StableAdamW RMS: ``max(1, sqrt(mean(g^2 / max(v, eps))))`` (a 0-d value)."""
    t = o.div_(o.mul(g, g), o.clamp_(o.clone(v), eps))
    return o.clamp_(o.sqrt_(o.mean(t)), 1.0)


# ---- the base class -------------------------------------------------------------------------------------
class ContribOptimizer(ElementwiseOptimizer):
    """An elementwise optimizer with pytorch_optimizer's conventions (see the module docstring).

    A subclass gives, as any ``ElementwiseOptimizer``: ``state_buffers(group)`` (param-shaped state),
    ``step_scalars(group, lr, s)`` (per-step scalars; the group's step is ``group["step"]``) and
    ``update(o, p, g, st, group, sc)``. Optionally ``scalar_state`` (0-d per-parameter state),
    ``_extra_state(group, p, st)`` (state the flat buffers cannot hold: the per-tensor path only),
    ``_per_tensor_options`` / ``_always_per_tensor``, and the step hooks of the base class
    (``_before_step``, which here refuses and counts group steps, and ``_after_step``).
    """

    _counts_group_steps = True   # MADGRAD's reference opens group["step"] = 0 and never advances it

    def __init__(self, params, defaults, *, maximize=False, foreach=None, differentiable=False, fused=None):
        self.maximize = maximize
        self.foreach = foreach
        if differentiable:
            defaults["differentiable"] = True
        if fused is not None:
            defaults["fused"] = fused
        super().__init__(params, defaults, flags=(foreach, fused, differentiable))

    def __str__(self):
        return type(self).__name__

    def _sparse_error(self):
        return NoSparseGradientError(str(self))

    def scalar_state(self, group):
        return {}

    def _extra_state(self, group, p, st):
        """Add state entries beyond the param-shaped buffers and 0-d scalars (per-tensor path)."""

    def _extra_spec(self, group):
        """``{name: "param" | "scalar"}`` for the ``_extra_state`` entries ``load_state_dict`` should check."""
        return {"exp_grad_adanorm": "scalar"} if group.get("adanorm") else {}

    def _state_spec(self, param, group):
        spec = super()._state_spec(param, group)
        if spec is not None:
            spec.update(self._extra_spec(group))
        return spec

    def _init_state(self, p, group, like):
        fresh = not self.state.get(p)
        st = super()._init_state(p, group, like)
        if fresh:
            if not st:
                self.state[p] = st
            self._extra_state(group, p, st)
        return st

    def _before_step(self):
        """Refuse before anything changes, then advance the group step counts (subclasses with optimizer-wide
        scalars, e.g. a global gradient norm, extend this and call it first)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if getattr(p.grad, "is_sparse", False):
                    raise self._sparse_error()
                if p.is_complex():   # the reference steps most classes on view_as_real; we do not
                    raise NoComplexParameterError(str(self))
            self._path(group)                 # a path the group cannot take raises here, not half-way
        for group in self.param_groups:
            group["step"] = group.get("step", 0) + (1 if self._counts_group_steps else 0)
            if not self.state_buffers(group) and not self.scalar_state(group):
                for p in group["params"]:          # the reference opens an (empty) entry per stepped param
                    if p.grad is not None:
                        self.state[p]               # noqa: B018 - defaultdict entry


def f32(x):
    """``x`` rounded to float32, as a Python float (state the reference keeps in float32)."""
    return float(np.float32(x))
