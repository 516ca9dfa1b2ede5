"""``cosine_similarity`` and ``pairwise_distance`` (with their modules), composed of recorded ops so that
they have every derivative, in torch's arithmetic."""
from __future__ import annotations

import numpy as np

from .. import grad_mode
from .module import Module

__all__ = ["cosine_similarity", "pairwise_distance"]


def _broadcast(x1, x2):
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        a, b = tuple(x1.shape), tuple(x2.shape)
        n = max(len(a), len(b))
        a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
        i = next(i for i in range(n) if a[i] != b[i] and 1 not in (a[i], b[i]))
        raise RuntimeError(f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                           f"non-singleton dimension {i}") from None
    return x1.expand(*shape), x2.expand(*shape)


def _clamped_norm(x, dim, eps):
    """``||x||`` along ``dim`` with its value clamped to ``eps`` from below and its gradient left as the
    norm's: torch clamps the norm in place under no_grad."""
    n = x.norm(2, dim=dim, keepdim=True)
    with grad_mode.no_grad():
        lift = n.clamp_min(eps) - n
    return n + lift


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 / max(||x1||, eps) . x2 / max(||x2||, eps)`` along ``dim``, after broadcasting the two."""
    x1, x2 = _broadcast(x1, x2)
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dim (torch adds ``eps`` to the difference, not to the norm)."""
    last = max(x1.ndim, x2.ndim) - 1
    return (x1 - x2 + eps).norm(p, dim=last, keepdim=keepdim)


class CosineSimilarity(Module):
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
