"""``torch.func.vmap`` and ``stack_module_state`` (model ensembling), and the ``randomness`` modes that
``jacfwd`` (:mod:`.func_transforms`) shares with ``vmap``.

``vmap`` is a loop over the mapped dimension: each sample is a differentiable slice of the batched inputs, and
the per-sample outputs are stacked (differentiably) along ``out_dims``. The numbers are torch's; what the loop
cannot see is listed in :func:`vmap`'s docstring. Re-exported by :mod:`autograd.func`.
"""
from __future__ import annotations

import functools

from . import grad_mode
from .creation import default_generator, zeros
from .func_pytree import _broadcast_prefix, _describe, _fill, _leaves
from .ops.shape import stack as _stack
from .tensor import Tensor

__all__ = ["vmap", "stack_module_state"]


# ------------------------------------------------------------------------------------------- randomness

_RANDOMNESS = ("error", "different", "same")
_RANDOM_IN_ERROR_MODE = ("vmap: called random operation while in randomness error mode. Please either use the 'same' "
                         "or 'different' randomness flags on vmap or perform the randomness operation out of vmap")


def _check_randomness(randomness):
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def _random_state():
    return default_generator.get_state()


# ------------------------------------------------------------------------------------------------- vmap

def _func_name(func):
    return getattr(func, "__name__", None) or repr(func)


def _in_dims_per_leaf(func, in_dims, args):
    """The mapped dimension of each leaf of ``args`` (None: not mapped), with torch's errors."""
    name = _func_name(func)
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if isinstance(in_dims, bool) or not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                         f"to vmap over a function with no inputs. The latter is unsupported.")
    per_leaf = _broadcast_prefix(in_dims, tuple(args))
    if per_leaf is None:
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
                         f"{_describe(in_dims)} but inputs has structure {_describe(tuple(args))}.")
    leaves = _leaves(tuple(args))
    dims = []
    for d, x in zip(per_leaf, leaves):
        if d is None:
            dims.append(None)
            continue
        if isinstance(d, bool) or not isinstance(d, int):
            raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an integer dimension "
                             f"or None.")
        if not isinstance(x, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. We cannot vmap "
                             f"over non-Tensor arguments, please use None as the respective in_dim")
        n = x.dim()
        if not -n <= d < n:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of dimensionality "
                             f"{n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
        dims.append(d % n)
    return leaves, dims


def _batch_size(leaves, dims):
    sizes = [x.shape[d] for x, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0]


def _sample(x, d, i):
    return x[(slice(None),) * d + (i,)]


def _placeholder(x, d):
    """A zero sample of ``x`` with its mapped dimension ``d`` removed (for a batch of size 0)."""
    shape = tuple(x.shape[:d]) + tuple(x.shape[d + 1:])
    return zeros(shape, dtype=x.dtype, device=x.device)


def _outputs_equal(a, b):
    if a is b:
        return True
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return a == b
    return a.shape == b.shape and bool((a.detach() == b.detach()).all())


def _stack_outputs(func, out_dims, samples, batch_size):
    """One output tree from the per-sample output trees, each leaf stacked at its ``out_dims`` entry."""
    name = _func_name(func)
    first = samples[0]
    per_leaf = _broadcast_prefix(out_dims, first)
    if per_leaf is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {_describe(out_dims)} but outputs has "
                         f"structure {_describe(first)}.")
    columns = list(zip(*[_leaves(s) for s in samples]))
    results = []
    for d, column in zip(per_leaf, columns):
        head = column[0]
        if d is None:
            # torch raises when an out_dim=None output is batched; per sample, that shows as outputs that differ
            if isinstance(head, Tensor) and not all(_outputs_equal(head, c) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            results.append(head)
            continue
        if not isinstance(head, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(head)}. Did you "
                             f"mean to set out_dims= to None for output?")
        n = head.dim() + 1
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
        d = d % n
        if batch_size == 0:
            shape = tuple(head.shape[:d]) + (0,) + tuple(head.shape[d:])
            results.append(zeros(shape, dtype=head.dtype, device=head.device))
        else:
            results.append(_stack(list(column), d))
    return _fill(first, iter(results))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``f`` mapped over a dimension of its inputs (``torch.func.vmap``), as a loop over that dimension whose
    per-sample results are stacked at ``out_dims``. ``in_dims``/``out_dims``: an int, None (not mapped) or
    a tuple/list/dict prefix of the arguments'/outputs' structure; keyword arguments are not mapped.
    ``randomness``: 'error' raises torch's error when ``f`` draws from the default generator (CPU stream);
    'different' draws anew for each sample; 'same' gives every sample the same draws (the generator is
    rewound before each sample).

    What a loop differs in from torch's batching: a function torch rejects inside vmap for data-dependent
    Python control flow or ``.item()`` runs here; an output with ``out_dims=None`` is rejected only when its
    values differ between samples (torch rejects any output computed from a mapped input); random draws from
    a GPU stream or an explicit ``Generator`` are not detected by ``randomness='error'``, and the random
    numbers themselves are this library's, not torch's; over a mapped dimension of size 0, ``f`` is called
    once on zeros to learn the output shapes (its random draws undone)."""
    _check_randomness(randomness)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if any(d is not None and (isinstance(d, bool) or not isinstance(d, int)) for d in _leaves(out_dims)):
            raise ValueError(f"vmap({_func_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a "
                             f"python collection of ints representing where in the outputs the vmapped dimension "
                             f"should appear.")
        leaves, dims = _in_dims_per_leaf(func, in_dims, args)
        batch_size = _batch_size(leaves, dims)
        start_state = _random_state()
        samples = []
        for i in range(max(batch_size, 1)):
            if batch_size == 0:
                # a probe call on zeros gives the output structure and shapes; its draws are undone
                sample_leaves = [_placeholder(x, d) if d is not None else x for x, d in zip(leaves, dims)]
            else:
                sample_leaves = [_sample(x, d, i) if d is not None else x for x, d in zip(leaves, dims)]
            if randomness == "same":
                default_generator.set_state(start_state)
            before = _random_state()
            sample_args = _fill(tuple(args), iter(sample_leaves))
            samples.append(func(*sample_args, **kwargs))
            if randomness == "error" and _random_state() != before:
                raise RuntimeError(_RANDOM_IN_ERROR_MODE)
        if batch_size == 0:
            default_generator.set_state(start_state)
        return _stack_outputs(func, out_dims, samples, batch_size)

    return wrapper


# -------------------------------------------------------------------------------------- model ensembling

def stack_module_state(models):
    """``(params, buffers)``: each parameter and buffer of ``models`` (same class, same train/eval mode)
    stacked along a new first dimension, by name. The stacked parameters are new leaves (they require grad
    where the models' do); the stacked buffers do not require grad."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named, requires_grad_from):
        out = {}
        for name, first in named(models[0]):
            tensors = [dict(named(m))[name] for m in models]
            wants_grad = requires_grad_from and all(t.requires_grad for t in tensors)
            if requires_grad_from and any(t.requires_grad for t in tensors) and not wants_grad:
                raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
            with grad_mode.no_grad():
                value = _stack([t.detach() for t in tensors], 0)
            out[name] = value.requires_grad_(True) if wants_grad else value
        return out

    params = stacked(lambda m: list(m.named_parameters()), True)
    buffers = stacked(lambda m: list(m.named_buffers()), False)
    return params, buffers
