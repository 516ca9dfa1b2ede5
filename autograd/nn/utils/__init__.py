"""``nn.utils``: gradient clipping and norms, parameter/vector conversion, weight and spectral norm,
parametrizations, pruning, conv/linear-BatchNorm fusion, ``skip_init``."""
from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...sparse import SparseTensor
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale gradients in place so that their joint norm is at most ``max_norm``; returns the norm."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    arrs = [(g._val if isinstance(g, SparseTensor) else g._data) for g in grads]
    xp = backend.array_module(arrs[0])
    if xp is np:
        if norm_type == math.inf:
            total = max(float(xp.abs(a).max()) if a.size else 0.0 for a in arrs)
        else:
            total = sum(float((xp.abs(a.astype(np.float64)) ** norm_type).sum()) for a in arrs) ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total):
            _nonfinite(norm_type)
        coef = min(max_norm / (total + 1e-6), 1.0)
        for a in arrs:
            a *= a.dtype.type(coef)
        return Tensor._wrap(xp.asarray(total, dtype=arrs[0].dtype))
    # on a GPU: the same float64 arithmetic on the device, no host synchronisation (unless the non-finite
    # check is asked for, which must look at the value)
    with backend.device_ctx(backend.device_of(arrs[0])):
        if norm_type == math.inf:
            total = xp.max(xp.stack([xp.abs(a).max().astype(np.float64) if a.size else xp.zeros((), np.float64)
                                     for a in arrs]))
        else:
            total = xp.stack([(xp.abs(a.astype(np.float64)) ** norm_type).sum() for a in arrs]).sum() \
                ** (1.0 / norm_type)
        if error_if_nonfinite and not bool(xp.isfinite(total)):
            _nonfinite(norm_type)
        coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
        for a in arrs:
            a *= coef.astype(a.dtype)
        return Tensor._wrap(total.astype(arrs[0].dtype))


def _nonfinite(norm_type):
    raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                       f"so it cannot be clipped. To disable this error and scale the gradients by the "
                       f"non-finite norm anyway, set `error_if_nonfinite=False`")


def clip_grad_value_(parameters, clip_value, foreach=None):
    for g in _grads(parameters):
        a = g._val if isinstance(g, SparseTensor) else g._data
        backend.array_module(a).clip(a, -clip_value, clip_value, out=a)


def parameters_to_vector(parameters):
    from ...ops.shape import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    off = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[off:off + n].reshape(p.shape)
        off += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "weight_norm",
           "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "get_total_norm", "clip_grads_with_norm_",
           "skip_init", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
           "prune", "fusion", "rnn", "stateless", "parametrize", "parametrizations"]
from . import rnn  # noqa: E402,F401  (nn.utils.rnn: pad/pack sequences, as torch)
from . import stateless  # noqa: E402,F401  (nn.utils.stateless.functional_call)
from .weight_norm import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm  # noqa: E402,F401
from . import parametrize, parametrizations  # noqa: E402,F401
from . import prune, fusion  # noqa: E402,F401  (nn.utils.prune, nn.utils.fusion, as torch)
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,  # noqa: E402,F401
                     fuse_linear_bn_weights)
from .init import skip_init  # noqa: E402,F401
from .total_norm import clip_grads_with_norm_, get_total_norm  # noqa: E402,F401
