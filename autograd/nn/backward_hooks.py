"""Module backward hooks, as torch's ``register_full_backward_hook`` / ``register_full_backward_pre_hook``.

A call of a module that has them passes its tensor arguments, and then its tensor outputs, through an
identity Function each (after the forward pre-hooks, and after the forward hooks). The backward of the
output side sees the gradients of all outputs at once: the pre-hooks may replace them. The backward of the
input side sees the gradients of all tensor arguments at once: the hooks get them with the output gradients
and may replace them. When no argument requires a gradient, the hooks run on the output side with
``grad_input`` all None, as torch's do.
"""
from __future__ import annotations

import warnings

from .. import grad_mode
from ..function import Function
from ..tensor import Tensor


class _Call:
    """One call of the module: where its tensors sit among the arguments and outputs (torch's hooks get one
    entry per positional argument and per output, None for what is not a tensor), and what the output side
    hands to the input side."""

    __slots__ = ("module", "in_idx", "n_inputs", "inputs_need_grad", "out_idx", "n_outputs", "grad_outputs")

    def __init__(self, module, in_idx, n_inputs, inputs_need_grad):
        self.module, self.in_idx, self.n_inputs, self.inputs_need_grad = module, in_idx, n_inputs, inputs_need_grad
        self.out_idx, self.n_outputs, self.grad_outputs = (), 0, None


def _spread(idx, values, size):
    out = [None] * size
    for i, v in zip(idx, values):
        out[i] = v
    return tuple(out)


def _replaced(res, current, what):
    if res is None:
        return current
    res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
    if len(res) != len(current):
        kind = "input" if what == "hook" else "output"
        raise RuntimeError(f"Backward {what} returned an invalid number of grad_{kind}, got {len(res)}, but "
                           f"expected {len(current)}")
    return res


def _run_full_hooks(call, grad_inputs):
    module = call.module
    for hook in list(module._backward_hooks.values()):
        grad_inputs = _replaced(hook(module, grad_inputs, call.grad_outputs), grad_inputs, "hook")
    return grad_inputs


class BackwardHookFunction(Function):
    """The identity on a call's tensors whose backward runs the module's hooks (``side``: "input" or
    "output")."""

    @staticmethod
    def forward(ctx, call, side, *tensors):
        ctx.call, ctx.side = call, side
        # gradients stay materialised: a tensor that does not require one gets zeros, as torch's hooks see
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        call, module = ctx.call, ctx.call.module
        if ctx.side == "input":
            full = _run_full_hooks(call, _spread(call.in_idx, grads, call.n_inputs))
            return (None, None, *[full[i] for i in call.in_idx])
        full = _spread(call.out_idx, grads, call.n_outputs)
        for hook in list(module._backward_pre_hooks.values()):
            full = _replaced(hook(module, full), full, "pre hook")
        call.grad_outputs = full
        if module._backward_hooks and not call.inputs_need_grad:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                          "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
                          "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
                          "details.", stacklevel=2)
            res = _run_full_hooks(call, (None,) * call.n_inputs)
            if any(r is not None for r in res):
                raise RuntimeError("Backward hook for Modules where no input requires gradient should always return "
                                   "None or None for all gradients.")
        return (None, None, *[full[i] for i in call.out_idx])


def wrap_inputs(module, args):
    """``(args, call)``: the positional arguments with their tensors passed through the input side (when a
    full backward hook is registered and one of them requires a gradient), and the call's record."""
    idx = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    need = any(args[i].requires_grad for i in idx)
    call = _Call(module, idx, len(args), need)
    if need and module._backward_hooks:
        out = BackwardHookFunction.apply(call, "input", *[args[i] for i in idx])
        args = list(args)
        for i, t in zip(idx, out):
            args[i] = t
        args = tuple(args)
    return args, call


def wrap_outputs(call, out):
    """The module's output with its tensors (a Tensor, or the Tensors of a tuple) passed through the output
    side; anything else is returned as is (torch's hooks do not fire for it either)."""
    single = isinstance(out, Tensor)
    outs = (out,) if single else out
    if not (isinstance(outs, tuple) and any(isinstance(o, Tensor) and o.requires_grad for o in outs)):
        return out
    call.out_idx = tuple(i for i, o in enumerate(outs) if isinstance(o, Tensor))
    call.n_outputs = len(outs)
    wrapped = BackwardHookFunction.apply(call, "output", *[outs[i] for i in call.out_idx])
    res = list(outs)
    for i, t in zip(call.out_idx, wrapped):
        res[i] = t
    if single:
        return res[0]
    return tuple(res) if type(out) is tuple else type(out)(*res)


def hooks_active(module):
    d = module.__dict__
    return bool(d.get("_backward_hooks") or d.get("_backward_pre_hooks")) and grad_mode.is_grad_enabled()
