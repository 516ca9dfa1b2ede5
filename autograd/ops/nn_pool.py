"""Pooling on NCHW arrays (max, average, adaptive average), forward next to backward, and the window
geometry shared with convolution.

Max and average pooling run as compiled, threaded Numba kernels on NumPy arrays (``_numba_window``: one
thread per (n, c) plane, so any thread count gives the same bits) and as strided slices per kernel tap on
CuPy or without Numba (the same arithmetic, summed in a different order; max pooling's indices follow
torch's rules on both: the first of tied maxima, the last NaN).

Backward rules (see :mod:`autograd.ops.vocabulary`): pooling's backward is linear in the gradient given the
window geometry (and, for max pooling, the argmax positions, which are not differentiated), so each op
holds a :class:`_Linear` pair of raw-array maps; the vocabulary's ``pool_apply`` and ``pool_adjoint`` run
them, each recorded with the other as its derivative.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..dtypes import LOW_PRECISION
from ..tensor import Tensor
from . import _numba_kernels as _nk
from . import _numba_window as _nw
from .basic import record

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def pair(v, name="value"):
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]), int(v[0]))
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _out_len(size, k, s, d, lo, hi, ceil_mode=False):
    span = size + lo + hi - d * (k - 1) - 1
    if ceil_mode:
        n = -(-span // s) + 1
        if (n - 1) * s >= size + lo:  # the last window must start inside the input or the left padding
            n -= 1
        return n
    return span // s + 1


def _pad(xp, X, top, bottom, left, right, value=0.0):
    if top == bottom == left == right == 0:
        return X
    N, C, H, W = X.shape
    out = xp.full((N, C, H + top + bottom, W + left + right), value, dtype=X.dtype)
    out[:, :, top:top + H, left:left + W] = X
    return out


def _windows(xp, Xp, kh, kw, sh, sw, dh, dw, OH, OW):
    """(N, C, kh, kw, OH, OW) copy of the windows of the padded input (pooling's NumPy/CuPy fallback)."""
    N, C = Xp.shape[:2]
    cols = xp.empty((N, C, kh, kw, OH, OW), dtype=Xp.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            cols[:, :, i, j] = Xp[:, :, r0:r0 + sh * (OH - 1) + 1:sh, c0:c0 + sw * (OW - 1) + 1:sw]
    return cols


def _unwindows(xp, gcols, shape, kh, kw, sh, sw, dh, dw, OH, OW):
    """Adjoint of :func:`_windows`: scatter-add window gradients back into a padded-input array, the taps
    in reverse so that each position receives its contributions in the order of the outputs (torch's
    order, which a 16-bit sum rounds by)."""
    gp = xp.zeros(shape, dtype=gcols.dtype)
    for i in range(kh - 1, -1, -1):
        for j in range(kw - 1, -1, -1):
            r0, c0 = i * dh, j * dw
            gp[:, :, r0:r0 + sh * (OH - 1) + 1:sh, c0:c0 + sw * (OW - 1) + 1:sw] += gcols[:, :, i, j]
    return gp


def _batched(x, name):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {name}, but got input of size: "
                           f"{list(x.shape)}")
    return x.ndim == 3


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, name):
    unbatched = _batched(x, name)
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride if stride is not None and stride != [] and stride != () else (kh, kw), "stride")
    ph, pw = pair(padding, "padding")
    dh, dw = pair(dilation, "dilation")
    if min(kh, kw, sh, sw, dh, dw) <= 0:
        raise RuntimeError(f"{name}: kernel_size, stride and dilation must be greater than zero")
    if ph > kh // 2 or pw > kw // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={max(ph, pw)}, "
                           f"kernel_size={max(kh, kw)} and dilation={max(dh, dw)}")
    X = x._data[None] if unbatched else x._data
    H, W = X.shape[2:]
    OH = _out_len(H, kh, sh, dh, ph, ph, ceil_mode)
    OW = _out_len(W, kw, sw, dw, pw, pw, ceil_mode)
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"Given input size: ({X.shape[1]}x{H}x{W}). Calculated output size: "
                           f"({X.shape[1]}x{OH}x{OW}). Output size is too small")
    # extra right/bottom padding so that ceil-mode windows stay inside the array
    eh = max(0, (OH - 1) * sh + dh * (kh - 1) + 1 - (H + 2 * ph))
    ew = max(0, (OW - 1) * sw + dw * (kw - 1) + 1 - (W + 2 * pw))
    return unbatched, X, (kh, kw, sh, sw, dh, dw, ph, pw, eh, ew, OH, OW)


class _Linear:
    """A linear map between an input-shaped and an output-shaped array (``fwd``) and its adjoint (``bwd``), on
    batched raw arrays; ``unbatched``: the op's Tensors lack the batch dimension. Pooling's backward is the
    adjoint given the window geometry and, for max pooling, the argmax positions (never differentiated)."""

    __slots__ = ("fwd", "bwd", "unbatched", "name")

    def __init__(self, fwd, bwd, unbatched, name):
        self.fwd, self.bwd, self.unbatched, self.name = fwd, bwd, unbatched, name

    def apply(self, a):
        return self.fwd(a[None])[0] if self.unbatched else self.fwd(a)

    def adjoint(self, a):
        return self.bwd(a[None])[0] if self.unbatched else self.bwd(a)


def pool_apply(x, m):
    """``m.apply`` on a Tensor, recorded: its derivative is ``m.adjoint``."""
    return record(m.apply(x._data), (x,), lambda o, g: (o.pool_adjoint(g, m),), m.name + "BackwardBackward",
                  saved=())


def pool_adjoint(g, m):
    """``m.adjoint`` on a Tensor, recorded: its derivative is ``m.apply``."""
    return record(m.adjoint(g._data), (g,), lambda o, gg: (o.pool_apply(gg, m),), m.name + "Backward", saved=())


def _pool_rule(m):
    def rule(o, g, _input):  # torch saves the input (its version is checked), the rule needs only ``m``
        return (o.pool_adjoint(g, m),)

    return rule


def _gather_at(xp, gg, pos, valid):
    """``gg`` (N, C, H, W) read at the flat positions ``pos`` (N, C, OH, OW); zero where not ``valid``."""
    N, C = gg.shape[:2]
    out = xp.take_along_axis(gg.reshape(N, C, -1), pos.reshape(N, C, -1), axis=2).reshape(pos.shape)
    return xp.where(valid, out, xp.zeros((), dtype=out.dtype))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    unbatched, X, geo = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    kh, kw, sh, sw, dh, dw, ph, pw, eh, ew, OH, OW = geo
    xp = backend.array_module(X)
    N, C, H, W = X.shape
    if _nk.enabled(xp) and X.dtype in _FLOATS:
        out = np.empty((N, C, OH, OW), dtype=X.dtype)
        idx = np.empty((N, C, OH, OW), dtype=np.int64)
        _nw.max_pool_fwd(np.ascontiguousarray(X), out, idx, kh, kw, sh, sw, dh, dw, ph, pw,
                         work=N * C * OH * OW * kh * kw)

        def bw(g):
            gx = np.empty((N, C, H * W), dtype=g.dtype)   # the kernel writes every element
            _nw.max_pool_bwd(np.ascontiguousarray(g), idx, gx, work=N * C * (H * W + OH * OW))
            return gx.reshape(N, C, H, W)

        def fwd(gg):  # the adjoint of the kernel's scatter, which drops positions outside the input
            valid = (idx >= 0) & (idx < H * W)
            return _gather_at(np, gg, np.where(valid, idx, 0), valid)
    else:
        out, idx, fwd, bw = _max_pool_xp(xp, X, geo)
    m = _Linear(fwd, bw, unbatched, "MaxPool2DWithIndices")
    res = record(out[0] if unbatched else out, (input,), _pool_rule(m), "MaxPool2DWithIndices", saved=(input,))
    if not return_indices:
        return res
    return res, Tensor._wrap(idx[0] if unbatched else idx)


def _max_pool_xp(xp, X, geo):
    """Max pooling with array-module ops (CuPy, or NumPy without Numba): windows, argmax, one-hot backward."""
    kh, kw, sh, sw, dh, dw, ph, pw, eh, ew, OH, OW = geo
    N, C, H, W = X.shape
    Xp = _pad(xp, X, ph, ph + eh, pw, pw + ew, -xp.inf)
    K = kh * kw
    cols = _windows(xp, Xp, kh, kw, sh, sw, dh, dw, OH, OW).reshape(N, C, K, OH, OW)
    # torch's rules: the first of tied maxima, the last NaN, and where every tap is -inf the first tap
    # inside the input (argmax alone gives the first NaN and, in a padded window, a padding position)
    arg = cols.argmax(axis=2)
    nan = xp.isnan(cols)
    arg = xp.where(nan.any(axis=2), K - 1 - nan[:, :, ::-1].argmax(axis=2), arg)
    ti = xp.arange(K) // kw
    tj = xp.arange(K) % kw
    tr = xp.arange(OH).reshape(1, OH, 1) * sh - ph + (ti * dh).reshape(K, 1, 1)
    tc = xp.arange(OW).reshape(1, 1, OW) * sw - pw + (tj * dw).reshape(K, 1, 1)
    inside = (tr >= 0) & (tr < H) & (tc >= 0) & (tc < W)                   # (K, OH, OW)
    arg = xp.where(cols.max(axis=2) == -xp.inf, inside.argmax(axis=0), arg)
    out = xp.take_along_axis(cols, arg[:, :, None], axis=2)[:, :, 0]

    def bw(g):
        onehot = (arg[:, :, None] == xp.arange(kh * kw).reshape(1, 1, -1, 1, 1)).astype(g.dtype)
        gcols = (onehot * g[:, :, None]).reshape(N, C, kh, kw, OH, OW)
        gp = _unwindows(xp, gcols, Xp.shape, kh, kw, sh, sw, dh, dw, OH, OW)
        return gp[:, :, ph:ph + H, pw:pw + W]

    ki, kj = arg // kw, arg % kw
    rows = xp.arange(OH).reshape(1, 1, OH, 1) * sh - ph + ki * dh
    colsi = xp.arange(OW).reshape(1, 1, 1, OW) * sw - pw + kj * dw
    flat = (rows * W + colsi).astype("int64")

    def fwd(gg):  # the adjoint of ``bw``, which crops the padding away
        valid = (rows >= 0) & (rows < H) & (colsi >= 0) & (colsi < W)
        return _gather_at(xp, gg, xp.where(valid, flat, 0), valid)

    return out, flat, fwd, bw


def _avg_divisor(xp, size, k, s, p, n_out, include_pad):
    """Per-output-position window length along one axis (torch's rules for padding and ceil mode)."""
    start = xp.arange(n_out) * s - p
    end = xp.minimum(start + k, size + p)
    full = end - start
    start_c, end_c = xp.maximum(start, 0), xp.minimum(end, size)
    return full if include_pad else end_c - start_c


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    unbatched, X, geo = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    kh, kw, sh, sw, _, _, ph, pw, eh, ew, OH, OW = geo
    xp = backend.array_module(X)
    N, C, H, W = X.shape
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if xp is np and X.dtype.itemsize == 2 and X.dtype in LOW_PRECISION:
        fwd, bw = _avg_pool_xp(xp, X.shape, X.dtype, geo, count_include_pad, divisor_override, low=True)
    elif _nk.enabled(xp) and X.dtype in _FLOATS:
        div = 0.0 if divisor_override is None else float(divisor_override)
        args = (kh, kw, sh, sw, ph, pw, bool(count_include_pad), div)

        def fwd(x):
            out = np.empty((N, C, OH, OW), dtype=x.dtype)
            _nw.avg_pool_fwd(np.ascontiguousarray(x), out, *args, work=N * C * OH * OW * kh * kw)
            return out

        def bw(g):
            gx = np.empty((N, C, H, W), dtype=g.dtype)    # the kernel zeroes each plane it adds into
            _nw.avg_pool_bwd(np.ascontiguousarray(g), gx, *args, work=N * C * (H * W + OH * OW * kh * kw))
            return gx
    else:
        fwd, bw = _avg_pool_xp(xp, X.shape, X.dtype, geo, count_include_pad, divisor_override)
    m = _Linear(fwd, bw, unbatched, "AvgPool2D")
    out = fwd(X)
    return record(out[0] if unbatched else out, (input,), _pool_rule(m), "AvgPool2D", saved=(input,))


def _avg_pool_xp(xp, shape_, dtype, geo, count_include_pad, divisor_override, low=False):
    """Average pooling and its adjoint with array-module ops: windows of the padded input, one sum each.

    ``low`` (float16/bfloat16 on NumPy): torch's CPU kernel, each window summed in float32 in row order (a
    cumulative sum is sequential) and divided once; the backward divides each gradient in the 16-bit type
    and adds it into the input's gradient (each sum rounded) in the order of the output positions."""
    kh, kw, sh, sw, _, _, ph, pw, eh, ew, OH, OW = geo
    N, C, H, W = shape_
    if divisor_override is not None:
        div = xp.full((OH, OW), float(divisor_override), dtype=np.float32 if low else dtype)
    else:
        dv_h = _avg_divisor(xp, H, kh, sh, ph, OH, count_include_pad)
        dv_w = _avg_divisor(xp, W, kw, sw, pw, OW, count_include_pad)
        div = (dv_h[:, None] * dv_w[None, :]).astype(np.float32 if low else dtype)
    padded = (N, C, H + 2 * ph + eh, W + 2 * pw + ew)
    if low:
        def fwd_low(x):
            cols = _windows(xp, _pad(xp, x.astype(np.float32), ph, ph + eh, pw, pw + ew), kh, kw, sh, sw, 1, 1,
                            OH, OW)
            taps = np.moveaxis(cols.reshape(N, C, kh * kw, OH, OW), 2, -1)
            return (np.cumsum(taps, axis=-1)[..., -1] / div).astype(dtype)

        def bw_low(g):
            gd = (g.astype(np.float32) / div).astype(dtype)
            gp = xp.zeros(padded, dtype=dtype)
            for i in range(kh - 1, -1, -1):     # a pixel's contributions in the order of the outputs
                for j in range(kw - 1, -1, -1):
                    gp[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw] += gd
            return gp[:, :, ph:ph + H, pw:pw + W]

        return fwd_low, bw_low

    def fwd(x):
        cols = _windows(xp, _pad(xp, x, ph, ph + eh, pw, pw + ew), kh, kw, sh, sw, 1, 1, OH, OW)
        return cols.sum(axis=(2, 3)) / div

    def bw(g):
        gw = (g / div)[:, :, None, None]
        gcols = xp.broadcast_to(gw, (N, C, kh, kw, OH, OW))
        gp = _unwindows(xp, gcols, padded, kh, kw, sh, sw, 1, 1, OH, OW)
        return gp[:, :, ph:ph + H, pw:pw + W]

    return fwd, bw


def _adaptive_matrix(xp, size, n_out, dtype):
    """(n_out, size) averaging matrix: row i averages [floor(i*size/n), ceil((i+1)*size/n))."""
    m = xp.zeros((n_out, size), dtype=dtype)
    for i in range(n_out):
        lo = (i * size) // n_out
        hi = -(-((i + 1) * size) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    unbatched = _batched(input, "adaptive_avg_pool2d")
    X = input._data[None] if unbatched else input._data
    xp = backend.array_module(X)
    H, W = X.shape[2:]
    if isinstance(output_size, (tuple, list)):
        oh, ow = (list(output_size) * 2)[:2] if len(output_size) == 1 else output_size
    else:
        oh = ow = output_size
    oh = H if oh is None else int(oh)
    ow = W if ow is None else int(ow)
    if oh <= 0 or ow <= 0 or H == 0 or W == 0:
        raise RuntimeError(f"adaptive_avg_pool2d(): output size and input size must be positive, got "
                           f"output {(oh, ow)} for input {tuple(X.shape)}")
    if oh == ow == 1:   # torch computes it as the mean over the last two dims (its gradient too)
        from .reduction import mean  # noqa: PLC0415  (reduction imports nothing of pooling)

        return mean(input, (-2, -1), keepdim=True)
    if xp is np and X.dtype.itemsize == 2 and X.dtype in LOW_PRECISION:
        m = _adaptive_low(X.shape, oh, ow, X.dtype)
        out = m.fwd(X)
        return record(out[0] if unbatched else out, (input,), _pool_rule(m), "AdaptiveAvgPool2D", saved=(input,))
    Ph = _adaptive_matrix(xp, H, oh, X.dtype)
    Pw = _adaptive_matrix(xp, W, ow, X.dtype)
    # the matmuls broadcast over the leading dims, batched or not, so ``m`` needs no batch dimension added
    m = _Linear(lambda x: xp.matmul(Ph, xp.matmul(x, Pw.T)), lambda g: xp.matmul(Ph.T, xp.matmul(g, Pw)), False,
                "AdaptiveAvgPool2D")
    out = m.fwd(X)
    return record(out[0] if unbatched else out, (input,), _pool_rule(m), "AdaptiveAvgPool2D", saved=(input,))


def _adaptive_low(shape_, oh, ow, dtype):
    """Adaptive average pooling on float16/bfloat16 as torch's CPU kernel: each window summed in float32 in
    row order and divided once by its size; the backward divides each gradient by the window's height and
    then its width in the 16-bit type and adds it into the window (each sum rounded), output by output."""
    H, W = shape_[-2:]
    wins = [((i * H) // oh, -(-((i + 1) * H) // oh), (j * W) // ow, -(-((j + 1) * W) // ow))
            for i in range(oh) for j in range(ow)]

    def fwd(x):
        out = np.empty(x.shape[:-2] + (oh * ow,), np.float32)
        for k, (h0, h1, w0, w1) in enumerate(wins):
            v = x[..., h0:h1, w0:w1].astype(np.float32).reshape(x.shape[:-2] + (-1,))
            out[..., k] = np.cumsum(v, axis=-1)[..., -1] / np.float32(v.shape[-1])
        return out.astype(dtype).reshape(x.shape[:-2] + (oh, ow))

    def bw(g):
        gx = np.zeros(g.shape[:-2] + (H, W), dtype)
        gf = g.reshape(g.shape[:-2] + (-1,))
        for k, (h0, h1, w0, w1) in enumerate(wins):
            d = ((gf[..., k].astype(np.float32) / np.float32(h1 - h0)).astype(dtype).astype(np.float32)
                 / np.float32(w1 - w0)).astype(dtype)
            gx[..., h0:h1, w0:w1] += d[..., None, None]
        return gx

    return _Linear(fwd, bw, False, "AdaptiveAvgPool2D")


def fold_len(size, k, s, p, d=1, ceil_mode=False):
    """Output length of a window op along one axis (exposed for modules' error checks)."""
    return _out_len(size, k, s, d, p, p, ceil_mode)


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pair", "fold_len"]
