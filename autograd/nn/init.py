"""In-place initialisers (``nn.init``), drawing from ``autograd.Generator`` (NumPy PCG64, not torch's
stream: distributions match torch, individual numbers do not)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..creation import default_generator, fill_random


def _write(tensor, host):
    """Overwrite ``tensor``'s values in place (no graph), casting to its dtype and device."""
    arr = backend.to_device(np.asarray(host, dtype=tensor._data.dtype), tensor.device)
    tensor._data[...] = arr
    return tensor


def _rng(generator):
    return (generator or default_generator).rng


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (torch's table)."""
    linear_fns = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d")
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, draw):
    """Overwrite ``tensor`` with ``draw(n)`` values: chunk by chunk straight into a contiguous host array (the
    same numbers as one full-size draw, peak memory the tensor plus one chunk), else via :func:`_write`."""
    d = tensor._data
    if isinstance(d, np.ndarray) and d.flags.c_contiguous and d.flags.writeable:
        fill_random(d, draw)
        return tensor
    return _write(tensor, draw(d.size).reshape(d.shape))


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    rng = _rng(generator)
    return _fill(tensor, lambda n: rng.uniform(a, b, n))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    rng = _rng(generator)
    return _fill(tensor, lambda n: rng.normal(mean, std, n))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) restricted to [a, b], by inverse-CDF sampling."""
    from math import erf, sqrt

    def cdf(x):
        return 0.5 * (1.0 + erf(x / sqrt(2.0)))

    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    u = _rng(generator).uniform(2 * lo - 1, 2 * hi - 1, tensor.shape)
    try:
        from scipy.special import erfinv  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        erfinv = np.vectorize(_erfinv)
    vals = np.clip(erfinv(u) * std * sqrt(2.0) + mean, a, b)
    return _write(tensor, vals)


def _erfinv(y):  # pragma: no cover - only without scipy
    lo, hi = -6.0, 6.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return 0.5 * (lo + hi)


def constant_(tensor, val):
    tensor._data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    d = tensor.dim()
    if d not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shp = tensor.shape
    if shp[0] % groups:
        raise ValueError("dim 0 must be divisible by groups")
    out_g = shp[0] // groups
    host = np.zeros(shp)
    for g in range(groups):
        for i in range(min(out_g, shp[1])):
            host[(g * out_g + i, i) + tuple(s // 2 for s in shp[2:])] = 1
    return _write(tensor, host)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    fan = _fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    fan = _fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def orthogonal_(tensor, gain=1, generator=None):
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    rng = _rng(generator)
    host = rng.normal(0.0, std, (rows, cols))
    nz = int(math.ceil(sparsity * rows))
    for c in range(cols):
        host[rng.permutation(rows)[:nz], c] = 0
    return _write(tensor, host)


# torch's deprecated un-suffixed aliases
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_", "_calculate_fan_in_and_fan_out"]
