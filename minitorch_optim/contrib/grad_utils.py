"""Gradient utilities of pytorch_optimizer 4.1.0: gradient centralisation and adaptive gradient clipping."""
from __future__ import annotations

from autograd import Tensor, where


def centralize_gradient(grad, gc_conv_only=False):
    """Subtract each output channel's mean from ``grad`` in place (Yong et al., 2020).

    A Tensor of more than one dimension (more than three with ``gc_conv_only``) loses its mean over all
    dims but the first; others are left alone. A list of Tensors is centralised one by one (the
    reference stacks same-shaped ones first, which gives the same values).
    """
    if isinstance(grad, Tensor):
        n = grad.dim()
        if (gc_conv_only and n > 3) or (not gc_conv_only and n > 1):
            grad.add_(-grad.mean(dim=tuple(range(1, n)), keepdim=True))
        return None
    for g in grad:
        centralize_gradient(g, gc_conv_only=gc_conv_only)
    return None


def unit_norm(x, norm=2.0):
    """The norm of ``x`` (vectors and scalars), per row (2-3 dims) or per output channel (4+ dims), kept."""
    n = x.dim()
    if n <= 1:
        return x.norm(p=norm)
    dim = 1 if n in (2, 3) else tuple(range(1, n))
    return x.norm(p=norm, dim=dim, keepdim=True)


def agc(p, grad, agc_eps=1e-3, agc_clip_val=1e-2, eps=1e-6):
    """Adaptive gradient clipping (Brock et al., 2021): a new gradient whose unit norms are at most
    ``agc_clip_val`` times the parameter's (floored at ``agc_eps``); ``grad`` is not changed."""
    max_norm = unit_norm(p).clamp_min(agc_eps) * agc_clip_val
    g_norm = unit_norm(grad).clamp_min(eps)
    clipped = grad * (max_norm / g_norm)
    return where(g_norm > max_norm, clipped, grad)
