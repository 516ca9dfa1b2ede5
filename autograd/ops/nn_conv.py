"""Convolution on NCHW arrays, forward next to backward (pooling: :mod:`autograd.ops.nn_pool`, re-exported).

im2col is one copy of a strided view of the padded input, laid out (C, kh, kw, N, OH, OW) so that the
forward, the weight gradient and the input gradient are each one 2-D GEMM per group; the weight gradient
comes out in the weight's own (contiguous) layout. col2im runs as a compiled Numba kernel on NumPy
arrays (``_numba_window``) and as strided slices per kernel tap on CuPy or without Numba.

Backward rules (see :mod:`autograd.ops.vocabulary`): conv2d's gradients are the ops ``conv2d_input_grad``
and ``conv2d_weight_grad``, both bilinear, so each one's derivative is conv2d or the other one. They read
the output gradient laid out channels first (``conv2d_channels_first``), one copy shared by all three
gradients, and ``spec`` = (N, C, H, W, O, groups, geometry) with the batched shapes.
"""
from __future__ import annotations

import importlib

import numpy as np

from .. import backend
from . import _numba_kernels as _nk
from . import _numba_window as _nw
from .basic import check_same_device, needs, record
from .nn_pool import _FLOATS, _batched, _out_len, _pad, pair
from .nn_pool import adaptive_avg_pool2d, avg_pool2d, fold_len, max_pool2d  # noqa: F401  (re-exported)
from .shape import permute


def _im2col(xp, Xp, kh, kw, sh, sw, dh, dw, OH, OW):
    """The windows of the padded input as one (C, kh, kw, N, OH, OW) array: a strided view of ``Xp`` made
    contiguous by a single copy, laid out so that the GEMMs of forward and backward are plain 2-D ones."""
    N, C = Xp.shape[:2]
    s0, s1, s2, s3 = Xp.strides
    as_strided = importlib.import_module(xp.__name__ + ".lib.stride_tricks").as_strided  # numpy or cupy
    view = as_strided(Xp, shape=(C, kh, kw, N, OH, OW), strides=(s1, s2 * dh, s3 * dw, s0, s2 * sh, s3 * sw))
    return xp.ascontiguousarray(view)


def _col2im(xp, gcols, N, C, H, W, geo):
    """Adjoint of :func:`_im2col` with the padding cropped: (C, kh, kw, N, OH, OW) -> (N, C, H, W)."""
    kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, OH, OW = geo
    if _nk.enabled(xp) and gcols.dtype in _FLOATS:
        gx = np.empty((N, C, H, W), dtype=gcols.dtype)   # the kernel zeroes each plane it adds into
        _nw.col2im(np.ascontiguousarray(gcols), gx, sh, sw, dh, dw, pt, pl, work=gcols.size + gx.size)
        return gx
    gp = xp.zeros((N, C, H + pt + pb, W + pl + pr), dtype=gcols.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            gp[:, :, r0:r0 + sh * (OH - 1) + 1:sh, c0:c0 + sw * (OW - 1) + 1:sw] += \
                gcols[:, i, j].transpose(1, 0, 2, 3)
    return gp[:, :, pt:pt + H, pl:pl + W]


def _mm(xp, a, b):
    """Batched over groups, but a plain 2-D GEMM when there is one group; on NumPy, BLAS runs on the cores
    idle now (``_numba_kernels.blas_on_idle_cores``), as the compiled kernels do."""
    if xp is not np:
        return (a[0] @ b[0])[None] if a.shape[0] == 1 else xp.matmul(a, b)
    if a.dtype == np.float16:   # float32 GEMM, rounded back by the caller (NumPy's float16 GEMM rounds as it goes)
        a, b = a.astype(np.float32), b.astype(np.float32)
    with _nk.blas_on_idle_cores():
        return (a[0] @ b[0])[None] if a.shape[0] == 1 else xp.matmul(a, b)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D cross-correlation (torch's conv2d) through im2col and one batched matmul per group."""
    check_same_device(input, weight, bias)
    unbatched = _batched(input, "conv2d")
    X = input._data[None] if unbatched else input._data
    Wt = weight._data
    xp = backend.array_module(X)
    if Wt.ndim != 4:
        raise RuntimeError(f"weight should have at least three dimensions, got {Wt.ndim}D weight")
    N, C, H, Wd = X.shape
    O, Cg, kh, kw = Wt.shape
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if C != Cg * groups or O % groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(Wt.shape)}, expected input"
                           f"{list(X.shape)} to have {Cg * groups} channels, but got {C} channels instead")
    if X.dtype != Wt.dtype:
        raise RuntimeError(f"Input type ({X.dtype}) and weight type ({Wt.dtype}) should be the same")
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pt = pb = pl = pr = 0
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            th, tw = dh * (kh - 1), dw * (kw - 1)
            pt, pl = th // 2, tw // 2
            pb, pr = th - pt, tw - pl
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    else:
        pt, pl = pair(padding, "padding")
        pb, pr = pt, pl
    if H + pt + pb < dh * (kh - 1) + 1 or Wd + pl + pr < dw * (kw - 1) + 1:
        raise RuntimeError(f"Calculated padded input size per channel: ({H + pt + pb} x {Wd + pl + pr}). "
                           f"Kernel size: ({dh * (kh - 1) + 1} x {dw * (kw - 1) + 1}). Kernel size can't be "
                           f"greater than actual input size")
    OH = _out_len(H, kh, sh, dh, pt, pb)
    OW = _out_len(Wd, kw, sw, dw, pl, pr)
    spec = (N, C, H, Wd, O, groups, (kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, OH, OW))
    if X.dtype == np.float16 and bias is not None:
        # torch adds float16's bias to the float32 GEMM result and rounds once (not GEMM, round, add, round)
        cols = _im2col_of(X, spec)
        out2, _ = _conv_array(X, Wt.astype(np.float32), spec, cols.astype(np.float32))
    else:
        out2, cols = _conv_array(X, Wt, spec)
    out = xp.empty((N, O, OH, OW), dtype=X.dtype)  # bfloat16's GEMM gives float32: rounded back here, as torch
    if bias is not None:
        xp.add(out2, bias._data.reshape(1, O, 1, 1), out=out)
    else:
        out[...] = out2
    if unbatched:
        out = out[0]
    nx, nw, nb = needs((input, weight, bias))
    rule = _conv_rule(spec, nx, nw, nb, input.shape if unbatched else None, cols if nw else None)
    return record(out, (input, weight, bias), rule, "Convolution", saved=(input, weight))  # as torch: not bias


# ---- convolution's vocabulary ops ------------------------------------------------------------------------
def _conv_array(X, Wt, spec, cols=None):
    """The (N, O, OH, OW) view of the GEMM result (no bias) and the im2col matrix (G, K, N * L)."""
    N, C, H, Wd, O, G, geo = spec
    kh, kw, OH, OW = geo[0], geo[1], geo[10], geo[11]
    if cols is None:
        cols = _im2col_of(X, spec)
    out2 = _mm(backend.array_module(X), Wt.reshape(G, O // G, C // G * kh * kw), cols)
    return out2.reshape(O, N, OH, OW).transpose(1, 0, 2, 3), cols


def conv2d_array(x, w, spec):
    return backend.array_module(x).ascontiguousarray(_conv_array(x, w, spec)[0])


def channels_first_array(g):
    """(N, O, OH, OW) -> contiguous (O, N, OH, OW): the layout both gradient GEMMs read, copied once."""
    return backend.array_module(g).ascontiguousarray(g.transpose(1, 0, 2, 3))


def conv2d_input_grad_array(gT, w, spec):
    """The input gradient from the channels-first output gradient ``gT``: one GEMM per group, then col2im."""
    N, C, H, Wd, O, G, geo = spec
    kh, kw, OH, OW = geo[0], geo[1], geo[10], geo[11]
    xp = backend.array_module(gT)
    g2 = gT.reshape(G, O // G, N * OH * OW)
    gcols = _mm(xp, w.reshape(G, O // G, C // G * kh * kw).transpose(0, 2, 1), g2).reshape(C, kh, kw, N, OH, OW)
    if gT.dtype == np.float16:   # torch's float16 columns are rounded before col2im adds them up
        gcols = gcols.astype(np.float16)
    return _col2im(xp, gcols, N, C, H, Wd, geo)


def conv2d_weight_grad_array(x, gT, spec, cols=None):
    """The weight gradient, in the weight's own layout; ``cols``: the forward's im2col of ``x``, when kept."""
    N, C, H, Wd, O, G, geo = spec
    kh, kw, OH, OW = geo[0], geo[1], geo[10], geo[11]
    if cols is None:
        cols = _im2col_of(x, spec)
    g2 = gT.reshape(G, O // G, N * OH * OW)
    xp = backend.array_module(gT)
    if gT.dtype == np.float16 and xp is np:
        # torch's float16 weight gradient: one float32 GEMM per sample, added into the float16 gradient
        L = OH * OW
        acc = np.zeros((G, O // G, C // G * kh * kw), np.float16)
        for n in range(N):
            acc = (acc + _mm(xp, g2[:, :, n * L:(n + 1) * L], cols[:, :, n * L:(n + 1) * L].transpose(0, 2, 1)))
            acc = acc.astype(np.float16)
        return acc.reshape(O, C // G, kh, kw)
    return _mm(xp, g2, cols.transpose(0, 2, 1)).reshape(O, C // G, kh, kw)


def _im2col_of(X, spec):
    N, C, H, Wd, O, G, geo = spec
    kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, OH, OW = geo
    xp = backend.array_module(X)
    cols = _im2col(xp, _pad(xp, X, pt, pb, pl, pr), kh, kw, sh, sw, dh, dw, OH, OW)
    return cols.reshape(G, C // G * kh * kw, N * OH * OW)


def _conv_rule(spec, nx, nw, nb, unbatched_shape, cols):
    """conv2d's backward: the output gradient laid out channels first once, read by all three gradients."""
    N, O, geo = spec[0], spec[4], spec[6]
    NL = N * geo[10] * geo[11]

    def rule(o, g, x, w):
        if unbatched_shape is not None:
            g = o.reshape(g, (1,) + tuple(g.shape))
        gT = o.conv2d_channels_first(g)
        gx = gw = gb = None
        if nw:
            xb = x if unbatched_shape is None else o.reshape(x, (1,) + tuple(unbatched_shape))
            gw = o.conv2d_weight_grad(xb, gT, spec, cols)
        if nx:
            gx = o.conv2d_input_grad(gT, w, spec)
            if unbatched_shape is not None:
                gx = o.reshape(gx, tuple(unbatched_shape))
        if nb:
            gb = o.sum(o.reshape(gT, (O, NL)), 1)
        return gx, gw, gb

    return rule


def conv2d_op(x, w, spec):
    """conv2d without bias on batched Tensors (the derivative of the two gradient ops)."""
    out2, cols = _conv_array(x._data, w._data, spec)
    out = backend.array_module(out2).ascontiguousarray(out2, dtype=x._data.dtype)   # 16-bit: rounded once
    nx, nw = needs((x, w))
    rule = _conv_rule(spec, nx, nw, False, None, cols if nw else None)
    return record(out, (x, w), lambda o, g, x_, w_: rule(o, g, x_, w_)[:2], "Convolution",
                  saved=(x if nw else None, w if nx else None))


def channels_first(g):
    return permute(g, (1, 0, 2, 3))


def conv2d_input_grad(gT, w, spec):
    """Linear in ``gT`` and in ``w``: <gg, input_grad(gT, w)> = <conv2d(gg, w), g> = <weight_grad(gg, gT), w>
    (``g``: ``gT`` in the output's layout)."""
    out = conv2d_input_grad_array(gT._data, w._data, spec)
    if out.dtype != gT._data.dtype:    # bfloat16's GEMM gives float32; torch rounds back
        out = out.astype(gT._data.dtype)
    ng, nw = needs((gT, w))

    def rule(o, gg, gT_, w_):
        dg = o.conv2d_channels_first(o.conv2d(gg, w_, spec)) if ng else None
        dw = o.conv2d_weight_grad(gg, gT_, spec, None) if nw else None
        return dg, dw

    return record(out, (gT, w), rule, "ConvolutionBackwardInput", saved=(gT if nw else None, w if ng else None))


def conv2d_weight_grad(x, gT, spec, cols=None):
    """Linear in ``x`` and in ``gT``: <gg, weight_grad(x, gT)> = <input_grad(gT, gg), x> = <conv2d(x, gg), g>."""
    out = conv2d_weight_grad_array(x._data, gT._data, spec, cols)
    if out.dtype != gT._data.dtype:    # bfloat16's GEMM gives float32; torch rounds back
        out = out.astype(gT._data.dtype)
    nx, ng = needs((x, gT))

    def rule(o, gg, x_, gT_):
        dx = o.conv2d_input_grad(gT_, gg, spec) if nx else None
        dg = o.conv2d_channels_first(o.conv2d(x_, gg, spec)) if ng else None
        return dx, dg

    return record(out, (x, gT), rule, "ConvolutionBackwardWeight", saved=(x if ng else None, gT if nx else None))


__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pair", "fold_len"]
