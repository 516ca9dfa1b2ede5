"""``torch.utils.checkpoint``: activation checkpointing. The forward of a checkpointed function keeps only what
it needs to run again; backward recomputes the tensors it saved, with the random state it had, so the
gradients are the ones a plain forward gives.

Two forms, as torch's:

* ``use_reentrant=False`` (recommended): the forward runs with grad mode on under saved-tensor hooks that keep
  an index instead of each saved tensor; the first backward that unpacks one reruns the function under hooks
  that collect the recomputed values. Works with ``autograd.grad``, with inputs that do not require grad
  (parameters still get gradients) and with ``create_graph``.
* ``use_reentrant=True`` (torch's default when the argument is left out, with its warning): a custom Function
  whose forward runs with grad mode off and whose backward reruns the function and calls ``backward`` on it.
  As in torch, it does not work with ``autograd.grad``, and needs an input that requires grad.

Ops of this library that keep a value of their own (a mask, a closure over the raw input) still hold it, so
checkpointing saves less memory here than in torch; it never changes a result.
"""
from __future__ import annotations

import contextlib
import warnings

from .. import grad_mode
from ..creation import default_generator
from ..engine import is_checkpoint_valid
from ..function import Function
from ..graph.saved_hooks import saved_tensors_hooks
from ..ops.differentiate import backward
from ..tensor import Tensor
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.utils.checkpoint")


class CheckpointError(RuntimeError):
    """The recomputation did not save the same tensors as the original forward."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, keeping less for backward and recomputing it there (see the module)."""
    if use_reentrant is None:
        warnings.warn("autograd.utils.checkpoint: pass use_reentrant explicitly (use_reentrant=False is "
                      "recommended); left out, it is True, as in torch.", stacklevel=2)
        use_reentrant = True
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if use_reentrant:
        if context_fn is not noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        return _ReentrantCheckpoint.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, args, kwargs, context_fn, determinism_check == "default",
                                         preserve_rng_state)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):  # noqa: A002
    """Run ``functions`` (a Sequential or a list of modules) in ``segments`` chunks, each checkpointed but the
    last, as torch's ``checkpoint_sequential``."""
    if use_reentrant is None:
        warnings.warn("autograd.utils.checkpoint.checkpoint_sequential: pass use_reentrant explicitly "
                      "(use_reentrant=False is recommended); left out, it is True, as in torch.", stacklevel=2)
        use_reentrant = True
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(functions) // segments
    end = -1

    def run(start, stop):
        def forward(x):
            for f in functions[start:stop + 1]:
                x = f(x)
            return x
        return forward

    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)  # noqa: A001
    return run(end + 1, len(functions) - 1)(input)


@contextlib.contextmanager
def _random_state(state):
    """Run with the default generator at ``state`` (None: as it is), and leave it as it was."""
    if state is None:
        yield
        return
    current = default_generator.get_state()
    default_generator.set_state(state)
    try:
        yield
    finally:
        default_generator.set_state(current)


def _checkpoint_without_reentrant(function, args, kwargs, context_fn, check, preserve_rng_state):
    rng = default_generator.get_state() if preserve_rng_state else None
    metadata = []            # (shape, dtype) of each tensor the forward saved, in order
    recomputed = {}          # index -> the recomputed tensor, dropped once unpacked

    def pack(t):
        metadata.append((tuple(t.shape), t.dtype))
        return len(metadata) - 1

    def recompute():
        values = []
        with _random_state(rng), grad_mode.enable_grad(), context_fn()[1], \
                saved_tensors_hooks(lambda t: values.append(t) or len(values) - 1, lambda i: values[i]):
            function(*args, **kwargs)
        if check:
            got = [(tuple(v.shape), v.dtype) for v in values]
            if got[:len(metadata)] != metadata:
                raise CheckpointError(
                    "autograd.utils.checkpoint: the recomputed forward saved different tensors than the original "
                    f"forward (shapes and dtypes, in order: {got} against {metadata}); the checkpointed function "
                    "must run the same ops on the same shapes each time.")
        recomputed.update(enumerate(values))

    def unpack(i):
        if i not in recomputed:
            recompute()
        return recomputed.pop(i)

    forward_context, _ = context_fn()
    with forward_context, saved_tensors_hooks(pack, unpack):
        return function(*args, **kwargs)


class _ReentrantCheckpoint(Function):
    @staticmethod
    def forward(ctx, function, preserve_rng_state, *args):
        ctx.function = function
        ctx.rng = default_generator.get_state() if preserve_rng_state else None
        ctx.tensor_at = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args]   # the tensors are saved
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_at))
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=4)
        return function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not is_checkpoint_valid():
            raise RuntimeError("When use_reentrant=True, checkpointing is not compatible with .grad() or with an "
                               "`inputs` argument to .backward(): use .backward() without `inputs`, or "
                               "use_reentrant=False.")
        inputs = list(ctx.inputs)
        for i, saved in zip(ctx.tensor_at, ctx.saved_tensors):
            detached = saved.detach()
            detached.requires_grad = saved.requires_grad
            inputs[i] = detached
        with _random_state(ctx.rng), grad_mode.enable_grad():
            outputs = ctx.function(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(inputs[i].grad if isinstance(inputs[i], Tensor) else None
                                    for i in range(len(inputs)))
