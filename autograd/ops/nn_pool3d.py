"""3-D pooling (max, average, adaptive average) and adaptive max pooling in 2-D and 3-D.

Max pooling picks its winners on raw arrays (no graph) and the output is one recorded gather
(``take_along``) of the input at those flat positions, so the backward adds each output gradient at its
winner and its own derivative is the gather again, to any order.  The winner follows torch's scan rule
over the window in (d, h, w) order: ``v > best or isnan(v)`` (the first of tied maxima, the last NaN).
max_pool3d runs the compiled 2-D max pooling over the (h, w) taps of every depth plane, then the same
rule over the depth taps of those winners (first/last in depth order composes to first/last overall).

Average pooling and adaptive average pooling are linear maps given the geometry: a :class:`nn_pool._Linear`
pair of raw-array maps recorded through ``pool_apply`` / ``pool_adjoint`` (pooling's vocabulary ops).
The 3-D average is separable: one box sum per axis (kd + kh + kw strided slice adds), divided by torch's
divisor, the product of the per-axis window lengths.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import shape as _shape
from .basic import record
from .nn_conv3d import triple
from .nn_pool import _Linear, _adaptive_matrix, _avg_divisor, _out_len, _pool_rule, max_pool2d
from .selection import take_along


def _batched5(x, name):
    if x.ndim not in (4, 5):
        raise RuntimeError(f"{name}: Expected 4D or 5D tensor for input, but got: {list(x.shape)}")
    return x.ndim == 4


def _stride(stride, kernel):
    return kernel if stride is None or stride == [] or stride == () else triple(stride, "stride")


def _geometry3(x, kernel_size, stride, padding, dilation, ceil_mode, name):
    k = triple(kernel_size, "kernel_size")
    s = _stride(stride, k)
    p, d = triple(padding, "padding"), triple(dilation, "dilation")
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0:
        raise RuntimeError(f"{name}: kernel_size, stride and dilation must be greater than zero, but got "
                           f"kernel_size={k}, stride={s}, dilation={d}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                           f"kernel_size={k} and padding={p}")
    sizes = tuple(x.shape[-3:])
    outs = tuple(_out_len(n, ki, si, di, pi, pi, ceil_mode) for n, ki, si, di, pi in zip(sizes, k, s, d, p))
    if min(outs) <= 0:
        raise RuntimeError(f"Given input size: ({x.shape[-4]}x{'x'.join(map(str, sizes))}). Calculated output "
                           f"size: ({x.shape[-4]}x{'x'.join(map(str, outs))}). Output size is too small")
    return k, s, p, d, sizes, outs


def _gather_winners(input, flat, unbatched):
    """``input`` read at the flat spatial positions ``flat`` (N, C, *out): the recorded op of max pooling."""
    x = _shape.unsqueeze(input, 0) if unbatched else input
    N, C = x.shape[:2]
    xf = _shape.reshape(x, (N, C, -1))
    out = _shape.reshape(take_along(xf, flat.reshape(N, C, -1), 2), flat.shape)
    return _shape.squeeze(out, 0) if unbatched else out


def _scan_winner(vals, axis):
    """The tap torch's scan keeps along ``axis``: the first maximum, or the last NaN when there is one."""
    arg = vals.argmax(axis=axis)
    xp = backend.array_module(vals)
    nan = xp.isnan(vals)
    if not bool(nan.any()):
        return arg
    K = vals.shape[axis]
    last_nan = K - 1 - xp.flip(nan, axis).argmax(axis=axis)
    return xp.where(nan.any(axis=axis), last_nan, arg)


def _clamped_taps(n_out, k, s, p, d, size):
    """(k, n_out) tap positions, those outside [0, size) moved to the window's nearest tap inside (a
    repeated tap never changes the scan's winner: ties keep the earlier copy, NaN-last the later one)."""
    pos = np.arange(n_out)[None, :] * s - p + np.arange(k)[:, None] * d
    inside = (pos >= 0) & (pos < size)
    first = np.where(inside.any(0), pos[inside.argmax(0), np.arange(n_out)], 0)
    last = pos[k - 1 - inside[::-1].argmax(0), np.arange(n_out)]
    return np.where(pos < 0, first[None], np.where(pos >= size, last[None], pos))


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    unbatched = _batched5(input, "max_pool3d")
    k, s, p, d, (D, H, W), (OD, OH, OW) = _geometry3(input, kernel_size, stride, padding, dilation, ceil_mode,
                                                     "max_pool3d")
    X = input._data[None] if unbatched else input._data
    xp = backend.array_module(X)
    N, C = X.shape[:2]
    planes = Tensor._wrap(X.reshape(N, C * D, H, W))
    m2, i2 = max_pool2d(planes, k[1:], s[1:], p[1:], d[1:], ceil_mode=ceil_mode, return_indices=True)
    m2 = m2._data.reshape(N, C, D, OH, OW)
    i2 = i2._data.reshape(N, C, D, OH, OW)
    taps = xp.asarray(_clamped_taps(OD, k[0], s[0], p[0], d[0], D))            # (kd, OD)
    win = _scan_winner(m2[:, :, taps], 2)                                     # tap per (n, c, od, oh, ow)
    depth = taps[win, xp.arange(OD).reshape(1, 1, OD, 1, 1)]                  # winning depth
    hw = xp.take_along_axis(i2, depth, 2)                                      # winner's (h, w) at that depth
    flat = (depth * (H * W) + hw).astype(np.int64)
    out = _gather_winners(input, flat, unbatched)
    if not return_indices:
        return out
    return out, Tensor._wrap(flat[0] if unbatched else flat)


def _axis_pos(n_out, size):
    """(n_out, width) positions of adaptive windows [floor(i n / o), ceil((i + 1) n / o)), short windows
    padded with their last position (never a new winner for the scan rule)."""
    starts = [(i * size) // n_out for i in range(n_out)]
    ends = [-(-((i + 1) * size) // n_out) for i in range(n_out)]
    width = max(e - b for b, e in zip(starts, ends))
    return np.array([[min(b + j, e - 1) for j in range(width)] for b, e in zip(starts, ends)])


def _adaptive_sizes(output_size, sizes, name, ndim):
    n = len(sizes)
    if isinstance(output_size, (tuple, list)):
        if len(output_size) >= ndim:   # torch's Python wrapper fills None entries from the input's sizes first
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        outs = list(output_size) * n if len(output_size) == 1 else list(output_size)
        if len(outs) != n:
            raise RuntimeError(f"{name}: output_size must be {n}" if "avg" in name else
                               f"{name}(): internal error: output_size.size() must be {n}")
    else:
        outs = [output_size] * n
    outs = [sz if o is None else int(o) for o, sz in zip(outs, sizes)]
    if min(outs) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{tuple(outs)}")
    return outs


def _check_nonempty(input, nsp, name):  # noqa: A002
    if input.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got: {list(input.shape)}")
    for i in range(1, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {i} being empty")


def adaptive_max_pool(input, output_size, return_indices, nsp):  # noqa: A002
    """Adaptive max pooling over the last ``nsp`` (2 or 3) dims."""
    name = f"adaptive_max_pool{nsp}d"
    _check_nonempty(input, nsp, name)
    unbatched = input.ndim == nsp + 1
    X = input._data[None] if unbatched else input._data
    xp = backend.array_module(X)
    sizes = X.shape[2:]
    outs = _adaptive_sizes(output_size, sizes, name, input.ndim)
    N, C = X.shape[:2]
    if min(outs) == 0:
        flat = xp.zeros((N, C) + tuple(outs), np.int64)
    else:
        pos = [_axis_pos(o, n) for o, n in zip(outs, sizes)]
        strides = [int(np.prod(sizes[a + 1:])) for a in range(nsp)]
        # flat input position of every (out_1, tap_1, ..., out_n, tap_n)
        flat_taps = 0
        for a, P in enumerate(pos):
            shp = [1] * (2 * nsp)
            shp[2 * a], shp[2 * a + 1] = P.shape
            flat_taps = flat_taps + P.reshape(shp) * strides[a]
        order = [2 * a for a in range(nsp)] + [2 * a + 1 for a in range(nsp)]
        flat_taps = xp.asarray(np.ascontiguousarray(flat_taps.transpose(order)).reshape(int(np.prod(outs)), -1))
        vals = xp.take(X.reshape(N, C, -1), flat_taps, axis=2)                           # (N, C, O, taps)
        win = _scan_winner(vals, 3)
        flat = flat_taps[xp.arange(flat_taps.shape[0])[None, None, :], win].reshape((N, C) + tuple(outs))
        flat = flat.astype(np.int64)
    out = _gather_winners(input, flat, unbatched)
    if not return_indices:
        return out
    return out, Tensor._wrap(flat[0] if unbatched else flat)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    return adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    return adaptive_max_pool(input, output_size, return_indices, 3)


# ---- linear pools ----------------------------------------------------------------------------------------
def _box_sum(xp, x, axis, k, s, n_out):
    """Sum of ``k`` consecutive entries every ``s`` along ``axis`` (already padded far enough)."""
    out = None
    for i in range(k):
        key = (slice(None),) * axis + (slice(i, i + s * (n_out - 1) + 1, s),)
        out = x[key].copy() if out is None else out + x[key]
    return out


def _box_sum_adjoint(xp, g, axis, k, s, size):
    shape = list(g.shape)
    shape[axis] = size
    out = xp.zeros(shape, dtype=g.dtype)
    n_out = g.shape[axis]
    for i in range(k - 1, -1, -1):
        key = (slice(None),) * axis + (slice(i, i + s * (n_out - 1) + 1, s),)
        out[key] += g
    return out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    unbatched = _batched5(input, "avg_pool3d")
    k, s, p, _, sizes, outs = _geometry3(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool3d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    X = input._data[None] if unbatched else input._data
    xp = backend.array_module(X)
    # float16/bfloat16 sum in float32 and round once, as torch's CPU kernels accumulate
    acc = np.dtype(np.float32) if X.dtype.itemsize == 2 else X.dtype
    # right padding reaching the last ceil-mode window
    extra = [max(0, (o - 1) * si + ki - (n + 2 * pi)) for o, si, ki, n, pi in zip(outs, s, k, sizes, p)]
    padded = [n + 2 * pi + e for n, pi, e in zip(sizes, p, extra)]
    if divisor_override is not None:
        div = xp.asarray(float(divisor_override), dtype=acc)
    else:
        dv = [_avg_divisor(xp, n, ki, si, pi, o, count_include_pad) for n, ki, si, pi, o in zip(sizes, k, s, p, outs)]
        div = (dv[0][:, None, None] * dv[1][None, :, None] * dv[2][None, None, :]).astype(acc)
    crop = (slice(None), slice(None)) + tuple(slice(pi, pi + n) for pi, n in zip(p, sizes))

    def fwd(x):
        xpd = xp.zeros(x.shape[:2] + tuple(padded), dtype=acc)
        xpd[crop] = x
        for a in range(3):
            xpd = _box_sum(xp, xpd, 2 + a, k[a], s[a], outs[a])
        return (xpd / div).astype(x.dtype, copy=False)

    def bw(g):
        dt = g.dtype
        g = g.astype(acc, copy=False) / div
        for a in range(2, -1, -1):
            g = _box_sum_adjoint(xp, g, 2 + a, k[a], s[a], padded[a])
        return xp.ascontiguousarray(g[crop], dtype=dt)

    m = _Linear(fwd, bw, unbatched, "AvgPool3D")
    out = m.apply(input._data)
    return record(out, (input,), _pool_rule(m), "AvgPool3D", saved=(input,))


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    _check_nonempty(input, 3, "adaptive_avg_pool3d")
    X = input._data
    xp = backend.array_module(X)
    sizes = X.shape[-3:]
    outs = _adaptive_sizes(output_size, sizes, "adaptive_avg_pool3d", input.ndim)
    acc = np.dtype(np.float32) if X.dtype.itemsize == 2 else X.dtype   # 16-bit: float32 sums, one rounding
    Pd, Ph, Pw = (_adaptive_matrix(xp, n, o, acc) for n, o in zip(sizes, outs))

    def fwd(x):
        y = xp.matmul(x.astype(acc, copy=False), Pw.T)                  # (..., D, H, ow)
        y = xp.matmul(Ph, y)                                            # (..., D, oh, ow)
        return xp.ascontiguousarray(xp.einsum("ad,...dhw->...ahw", Pd, y), dtype=x.dtype)

    def bw(g):
        y = xp.einsum("ad,...ahw->...dhw", Pd, g.astype(acc, copy=False))
        return xp.ascontiguousarray(xp.matmul(Ph.T, xp.matmul(y, Pw)), dtype=g.dtype)

    # the maps broadcast over the leading dims, so the unbatched form needs no batch dimension added
    m = _Linear(fwd, bw, False, "AdaptiveAvgPool3D")
    return record(fwd(X), (input,), _pool_rule(m), "AdaptiveAvgPool3D", saved=(input,))


__all__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool3d"]
