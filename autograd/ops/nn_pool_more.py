"""Power-average (LP) pooling, max unpooling and fractional max pooling.

LP pooling is torch's composite, step for step (so its values and its gradients, including where a window's
sum is zero, are torch's): ``(sign(a) * relu(|a|) * prod(k)) ** (1 / p)`` with ``a`` the average pool of
``x ** p``.  Max unpooling writes each input value at its index in a zero output (a recorded scatter, whose
gradient is the gather at the same indices).  Fractional max pooling draws its window starts from one
uniform sample per (sample, channel, axis) with torch's interval rule, picks the winners on raw arrays with
the scan rule of :mod:`nn_pool3d`, and gathers them (one recorded ``take_along``).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import elementwise as ew, shape as _shape
from .nn_conv3d import triple
from .nn_pool import avg_pool2d, pair
from .nn_pool3d import _gather_winners, _scan_winner, avg_pool3d
from .selection import scatter_along


def _n_tuple(v, n, name):
    if n == 1:
        if isinstance(v, (tuple, list)):
            if len(v) != 1:
                raise ValueError(f"{name} must be an int or a 1-tuple, got {v!r}")
            return (int(v[0]),)
        return (int(v),)
    return pair(v, name) if n == 2 else triple(v, name)


# ---- LP pooling --------------------------------------------------------------------------------------------
def lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nsp):  # noqa: A002
    k = _n_tuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None else _n_tuple(stride, nsp, "stride")
    powered = input.pow(norm_type)
    if nsp == 1:
        if input.ndim not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument "
                               f"#1 'self' (while checking arguments for avg_pool1d)")
        a = _shape.squeeze(avg_pool2d(_shape.unsqueeze(powered, -2), (1, k[0]), (1, s[0]), 0, ceil_mode), -2)
    elif nsp == 2:
        a = avg_pool2d(powered, k, s, 0, ceil_mode)
    else:
        a = avg_pool3d(powered, k, s, 0, ceil_mode)
    # torch's sign(a) * relu(|a|) is ``a`` with a zero gradient where a is 0 (or NaN) even when the power's
    # gradient there is infinite: spelled as a select, whose gradient is selected too (never 0 * inf)
    live = (a._data > 0) | (a._data < 0)
    a = ew.where(Tensor._wrap(live), a, a.detach() * 0.0)
    return (a * float(np.prod(k))).pow(1.0 / norm_type)


# ---- max unpooling -----------------------------------------------------------------------------------------
def _unpool_size(in_sizes, k, s, p, output_size):
    default = [(n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(in_sizes, s, p, k)]
    if output_size is None:
        return default
    n = len(k)
    out = [int(v) for v in output_size]
    if len(out) == n + 2:
        out = out[2:]
    if len(out) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                         f"length of '{len(out)}'")
    for d in range(n):
        lo, hi = default[d] - s[d], default[d] + s[d]
        if not lo < out[d] < hi:
            raise ValueError(f'invalid output_size "{tuple(out)}" (dim {d} must be between {lo} and {hi})')
    return out


def max_unpool(input, indices, kernel_size, stride, padding, output_size, nsp):  # noqa: A002
    k = _n_tuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None else _n_tuple(stride, nsp, "stride")
    p = _n_tuple(padding, nsp, "padding")
    if input.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"Input to max_unpooling{nsp}d should be a {nsp + 1}d or {nsp + 2}d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if indices.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    out_sizes = _unpool_size(input.shape[-nsp:], k, s, p, output_size)
    unbatched = input.ndim == nsp + 1
    x = _shape.unsqueeze(input, 0) if unbatched else input
    N, C = x.shape[:2]
    idx = indices._data.reshape(N, C, -1)
    total = int(np.prod(out_sizes))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= total):
        bad = int(idx.max()) if int(idx.max()) >= total else int(idx.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out_sizes))}")
    flat = scatter_along(_shape.reshape(x, (N, C, -1)), (N, C, total), idx, 2, accumulate=False)
    out = _shape.reshape(flat, (N, C) + tuple(out_sizes))
    return _shape.squeeze(out, 0) if unbatched else out


# ---- fractional max pooling --------------------------------------------------------------------------------
def _intervals(samples, in_size, out_size, pool, dtype):
    """Window starts (..., out_size) from uniform ``samples`` (...): torch's rule, in the input's dtype."""
    starts = np.empty(samples.shape + (out_size,), np.int64)
    if out_size > 1:
        alpha = dtype.type(in_size - pool) / dtype.type(out_size - 1)
        i = np.arange(out_size - 1, dtype=dtype)
        u = samples[..., None].astype(dtype)
        starts[..., :-1] = (((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64))
    starts[..., -1] = in_size - pool
    return starts


def fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices, samples, nsp):  # noqa: A002
    name = f"fractional_max_pool{nsp}d"
    if input.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got: {list(input.shape)}")
    for i in range(input.ndim - nsp, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but got "
                               f"{list(input.shape)} with dimension {i} being empty.")
    k = _n_tuple(kernel_size, nsp, "kernel_size")
    sizes = tuple(input.shape[-nsp:])
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
        ratio = [float(r) for r in (output_ratio if isinstance(output_ratio, (tuple, list)) else [output_ratio])]
        ratio = ratio * nsp if len(ratio) == 1 else ratio
        if len(ratio) != nsp:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        outs = [int(n * r) for n, r in zip(sizes, ratio)]
    else:
        outs = list(_n_tuple(output_size, nsp, "output_size"))
    axis_names = ("time", "height", "width")[3 - nsp:]
    for a in range(nsp):
        if outs[a] + k[a] - 1 > sizes[a]:
            raise RuntimeError(f"{name}(): pool {axis_names[a]} {k[a]} too large relative to input "
                               f"{axis_names[a]} {sizes[a]}")
    unbatched = input.ndim == nsp + 1
    X = input._data[None] if unbatched else input._data
    N, C = X.shape[:2]
    S = samples._data
    if S.dtype != X.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if S.ndim != 3:
        raise RuntimeError(f"Expect _random samples to have 3 dimensions, got {S.ndim}")
    if S.shape[0] != N:
        raise RuntimeError(f"Expect first dimension of _random_samples to equal batch size {N}, got "
                           f"{S.shape[0]}")
    if S.shape[1] != C:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if S.shape[2] != nsp:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nsp}; got {S.shape[2]}.")
    xp = backend.array_module(X)
    Sh = np.asarray(backend.to_device(S, "cpu")) if xp is not np else S
    # torch's sample order: (width, height) in 2-D, but (time, height, width) in 3-D
    which = [1, 0] if nsp == 2 else list(range(nsp))
    starts = [_intervals(Sh[:, :, which[a]], sizes[a], outs[a], k[a], X.dtype) for a in range(nsp)]
    strides = [int(np.prod(sizes[a + 1:])) for a in range(nsp)]
    flat_taps = np.zeros((N, C), np.int64).reshape(N, C, *([1] * (2 * nsp)))
    for a in range(nsp):
        pos = starts[a][:, :, :, None] + np.arange(k[a])                    # (N, C, out_a, k_a)
        shp = [N, C] + [1] * (2 * nsp)
        shp[2 + a], shp[2 + nsp + a] = outs[a], k[a]
        flat_taps = flat_taps + pos.reshape(shp) * strides[a]
    O, K = int(np.prod(outs)), int(np.prod(k))
    flat_taps = xp.asarray(flat_taps.reshape(N, C, O, K))
    vals = xp.take_along_axis(X.reshape(N, C, 1, -1), flat_taps.reshape(N, C, 1, O * K), 3).reshape(N, C, O, K)
    win = _scan_winner(vals, 3)
    flat = xp.take_along_axis(flat_taps, win[..., None], 3)[..., 0].reshape((N, C) + tuple(outs))
    out = _gather_winners(input, flat, unbatched)
    if not return_indices:
        return out
    return out, Tensor._wrap(flat[0] if unbatched else flat)


__all__ = ["lp_pool", "max_unpool", "fractional_max_pool"]
