"""``nn.utils.prune``: masking a module's tensor, as torch does it.

Pruning ``name`` moves the Parameter to ``name_orig``, keeps the mask in the buffer ``name_mask`` and makes
``name`` a plain attribute ``name_mask * name_orig``, recomputed by a forward pre-hook (the pruning method
itself) before each call. Pruning the same tensor again combines the masks in a :class:`PruningContainer`:
the new method only looks at what the earlier masks kept. ``remove`` makes the pruning permanent.

Masks are computed on the arrays (they carry no gradient); the product with ``name_orig`` is recorded, so
gradients reach the original Parameter through the mask. The machinery is in ``prune_base``, the methods in
``prune_methods``; this module is torch's ``torch.nn.utils.prune`` namespace and its functional forms.
"""
from __future__ import annotations

from collections.abc import Iterable

from ... import backend
from ...tensor import Tensor
from .prune_base import BasePruningMethod, PruningContainer
from .prune_methods import (CustomFromMask, Identity, L1Unstructured, LnStructured, RandomStructured,
                            RandomUnstructured)

# the classes are torch's ``torch.nn.utils.prune.X`` for users: their reprs, error messages and pickles say so
for _cls in (BasePruningMethod, PruningContainer, CustomFromMask, Identity, L1Unstructured, LnStructured,
             RandomStructured, RandomUnstructured):
    _cls.__module__ = __name__

def identity(module, name):
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs of ``parameters`` as one tensor (e.g. the smallest 20% overall),
    each then holding its share of the mask as a CustomFromMask pruning."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    parameters = list(parameters)
    if not parameters:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    tensors = [getattr(module, name) for module, name in parameters]
    first = tensors[0]._data
    xp = backend.array_module(first)
    scores = xp.concatenate([importance_scores.get((m, n), t).detach()._data.reshape(-1)
                             for (m, n), t in zip(parameters, tensors)])
    defaults = xp.concatenate([
        (getattr(m, n + "_mask").detach()._data if hasattr(m, n + "_mask") else xp.ones(t.shape, t.dtype))
        .reshape(-1).astype(first.dtype, copy=False) for (m, n), t in zip(parameters, tensors)])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f'{pruning_method} of type {method.PRUNING_TYPE}')
    container.add_pruning_method(method)
    final = container.compute_mask(Tensor._wrap(scores), Tensor._wrap(defaults))._data
    start = 0
    for (module, name), t in zip(parameters, tensors):
        size = t.numel()
        custom_from_mask(module, name, mask=Tensor._wrap(final[start:start + size].reshape(t.shape)))
        start += size


def remove(module, name):
    """Make the pruning of ``module.name`` permanent (see :meth:`BasePruningMethod.remove`)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module):
    """Whether ``module`` or one of its submodules has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for hook in sub._forward_pre_hooks.values())


__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]
