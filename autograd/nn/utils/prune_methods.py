"""The pruning methods of ``nn.utils.prune``: which entries (or channels) a mask zeroes.

Where several entries tie for the last place to prune, the one with the lowest flat index is chosen (torch's
choice among ties follows its ``topk`` partial sort and is not reproduced)."""
from __future__ import annotations

from ... import backend
from ...creation import rand, rand_like
from ...ops.reduction import norm as _norm
from ...tensor import Tensor
from .prune_base import (BasePruningMethod, _n_to_prune, _validate_amount, _validate_amount_init, _validate_dim,
                         _validate_structured)


def _lowest(xp, values, k):
    """Flat indices of the ``k`` smallest of ``values``; among equal values the lower index comes first."""
    return xp.argsort(values, kind="stable")[:k]


def _highest(xp, values, k):
    order = xp.argsort(-values, kind="stable") if values.dtype.kind == "f" else \
        xp.argsort(values, kind="stable")[::-1]
    return order[:k]

class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (a tensor made prunable for later methods)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries (a count, or a fraction of the tensor) chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        n_prune = _n_to_prune(self.amount, t.numel())
        _validate_amount(n_prune, t.numel())
        mask = default_mask.detach()._data.copy()
        if n_prune:
            prob = rand_like(t.detach())._data.reshape(-1)
            mask.reshape(-1)[_highest(backend.array_module(prob), prob, n_prune)] = 0
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value (of ``importance_scores`` when given)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        n_prune = _n_to_prune(self.amount, t.numel())
        _validate_amount(n_prune, t.numel())
        mask = default_mask.detach()._data.copy()
        if n_prune:
            scores = t.detach()._data
            xp = backend.array_module(scores)
            mask.reshape(-1)[_lowest(xp, xp.abs(scores).reshape(-1), n_prune)] = 0
        return Tensor._wrap(mask)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t)
        _validate_dim(t, self.dim)
        n_channels = t.shape[self.dim]
        n_prune = _n_to_prune(self.amount, n_channels)
        _validate_amount(n_prune, n_channels)
        if n_prune == 0:
            return default_mask
        prob = rand(n_channels)._data
        xp = backend.array_module(prob)
        threshold = xp.partition(prob, n_prune - 1)[n_prune - 1]     # torch's kthvalue(prob, n_prune)
        keep = backend.to_device(prob > threshold, backend.device_of(t._data))
        return Tensor._wrap(_channel_mask(t, self.dim, keep, default_mask))

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n`` as torch.norm's ``p``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _validate_structured(t)
        _validate_dim(t, self.dim)
        n_channels = t.shape[self.dim]
        n_prune = _n_to_prune(self.amount, n_channels)
        _validate_amount(n_prune, n_channels)
        if n_prune == 0:
            return default_mask
        dim = self.dim % t.ndim
        others = [d for d in range(t.ndim) if d != dim]
        norms = _norm(t.detach(), p=self.n, dim=others)._data
        kept = _highest(backend.array_module(norms), norms, n_channels - n_prune)
        return Tensor._wrap(_channel_mask(t, self.dim, kept, default_mask))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape "
                                 f"{self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def _channel_mask(t, dim, channels, default_mask):
    """Ones on the chosen ``channels`` (indices or a boolean mask) along ``dim``, times ``default_mask``."""
    xp = backend.array_module(t._data)
    mask = xp.zeros(t._data.shape, dtype=t._data.dtype)
    where = [slice(None)] * t.ndim
    where[dim] = channels
    mask[tuple(where)] = 1
    return mask * default_mask.detach()._data.astype(mask.dtype, copy=False)


__all__ = ["Identity", "RandomUnstructured", "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask"]
