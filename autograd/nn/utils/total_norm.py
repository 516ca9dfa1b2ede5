"""``get_total_norm`` and ``clip_grads_with_norm_`` (torch 2.6+): ``clip_grad_norm_`` split in its two halves,
so the norm can be computed (or reduced across processes) before the gradients are scaled.

The arithmetic is torch's: the norm of each tensor in its own dtype, then the norm of those norms; the clip
coefficient ``max_norm / (total_norm + 1e-6)`` clamped at 1 and computed in the norm's dtype, then cast to
each gradient's dtype.
"""
from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...graph.views import bump
from ...linalg import vector_norm
from ...ops.shape import stack
from ...sparse import SparseTensor
from ...tensor import Tensor


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _dense(t):
    """The values whose norm counts: a sparse gradient's stored values (its zeros add nothing to a norm)."""
    return Tensor._wrap(t._val) if isinstance(t, SparseTensor) else t.detach()


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated); ``foreach`` is accepted for
    torch's signature (one path here)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    norms = [vector_norm(_dense(t), norm_type) for t in tensors]
    first_device = backend.device_of(norms[0]._data)
    total = vector_norm(stack([n.to(first_device) for n in norms]), norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           f"it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           f"norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    norm = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm, dtype=np.float32)
    xp = backend.array_module(norm)
    dtype = norm.dtype.type
    # in the norm's dtype, on its device: no host synchronisation, as torch avoids an ``if coef < 1``; torch's
    # ``max_norm / tensor`` is ``tensor.reciprocal() * max_norm``, one rounding more than a division
    coef = xp.minimum((dtype(1.0) / (norm + dtype(1e-6))).astype(norm.dtype) * dtype(max_norm), dtype(1.0))
    for g in grads:
        arr = g._val if isinstance(g, SparseTensor) else g._data
        arr *= backend.to_device(coef, backend.device_of(arr)).astype(arr.dtype)
        if not isinstance(g, SparseTensor):
            bump(g)                 # an in-place write, as torch's _foreach_mul_ counts it


__all__ = ["get_total_norm", "clip_grads_with_norm_"]
