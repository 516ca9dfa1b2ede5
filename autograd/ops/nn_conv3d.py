"""3-D convolution and transposed convolution on NCDHW Tensors, built on the 2-D ops of :mod:`nn_conv`.

conv3d: the ``kd`` depth taps of every output depth are stacked as extra input channels (one strided depth
slice per tap), so the whole 3-D convolution is ONE conv2d over a batch of ``N * OD`` planes with a
(O, kd * Cg, kh, kw) weight: im2col sees the same (C kd kh kw) x (N OD OH OW) columns a native 3-D im2col
would, and the GEMM is one call per group.  conv_transpose3d is the adjoint layout: one transposed 2-D
convolution (``conv2d_input_grad``) over ``N * D`` planes whose output channels carry the depth taps,
then each tap's planes are added at their output depth.

Everything is composed of recorded ops (slices, stacks, permutes, conv2d and its gradient ops), so the
gradients w.r.t. input, weight and bias, to any order, are those ops' rules.
"""
from __future__ import annotations

from . import nn_conv as _conv
from . import shape as _shape
from .basic import check_same_device


def triple(v, name="value"):
    """An int or a 1- or 3-sequence of ints as a 3-tuple (torch's ``_triple``)."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]),) * 3
        if len(v) != 3:
            raise ValueError(f"{name} must be an int or a triple of ints, got {v!r}")
        return tuple(int(a) for a in v)
    return (int(v),) * 3


def _batched5(x, name):
    if x.ndim not in (4, 5):
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to {name}, but got input of size: "
                           f"{list(x.shape)}")
    return x.ndim == 4


def zero_pad(x, pads):
    """``x`` with zeros added around its last ``len(pads)`` dims, ``pads`` = ((lo, hi), ...) in dim order;
    recorded as the adjoint of a slice, so its gradient is the slice of the gradient."""
    if all(lo == hi == 0 for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    shape = tuple(x.shape[:lead]) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    key = (slice(None),) * lead + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads))
    return _shape.index_backward(x, shape, key)


def _same_pads(k, d):
    total = [di * (ki - 1) for ki, di in zip(k, d)]
    return [(t // 2, t - t // 2) for t in total]


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D cross-correlation (torch's conv3d)."""
    check_same_device(input, weight, bias)
    unbatched = _batched5(input, "conv3d")
    x = _shape.unsqueeze(input, 0) if unbatched else input
    if weight.ndim != 5:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                           f"{list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                           f"{list(input.shape)} instead")
    N, C, D, H, W = x.shape
    O, Cg, kd, kh, kw = weight.shape
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if C != Cg * groups or O % groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {Cg * groups} channels, but got {C} channels instead")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{O} elements, but got bias of size {list(bias.shape)} instead")
    s = triple(stride, "stride")
    d = triple(dilation, "dilation")
    if min(s) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(d) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * 3
        elif padding == "same":
            if s != (1, 1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads((kd, kh, kw), d)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = triple(padding, "padding")
        if min(p) < 0:
            raise RuntimeError("negative padding is not supported")
        pads = [(a, a) for a in p]
    k = (kd, kh, kw)
    sizes = [n + lo + hi for n, (lo, hi) in zip((D, H, W), pads)]
    spans = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
    if any(n < sp for n, sp in zip(sizes, spans)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). Kernel "
                           f"size: ({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input "
                           f"size")
    OD = (sizes[0] - spans[0]) // s[0] + 1
    # depth padding always explicit; height/width padding left to conv2d when it is symmetric
    hw_sym = pads[1][0] == pads[1][1] and pads[2][0] == pads[2][1]
    xpad = zero_pad(x, [pads[0]] + ([(0, 0)] * 2 if hw_sym else pads[1:]))
    taps = [_shape._getitem(xpad, (slice(None), slice(None), slice(i * d[0], i * d[0] + s[0] * (OD - 1) + 1, s[0])))
            for i in range(kd)]
    G = groups
    Hs, Ws = xpad.shape[3], xpad.shape[4]
    cols = taps[0] if kd == 1 else _shape.stack(taps, 2)                       # (N, C, kd, OD, H, W)
    cols = _shape.reshape(cols, (N, G, Cg, kd, OD, Hs, Ws))
    cols = _shape.reshape(_shape.permute(cols, (0, 4, 1, 3, 2, 5, 6)), (N * OD, G * kd * Cg, Hs, Ws))
    w2 = _shape.reshape(_shape.permute(weight, (0, 2, 1, 3, 4)), (O, kd * Cg, kh, kw))
    hw_pad = (pads[1][0], pads[2][0]) if hw_sym else (0, 0)
    out = _conv.conv2d(cols, w2, None, s[1:], hw_pad, d[1:], G)               # (N * OD, O, OH, OW)
    OH, OW = out.shape[2], out.shape[3]
    out = _shape.permute(_shape.reshape(out, (N, OD, O, OH, OW)), (0, 2, 1, 3, 4)).contiguous()
    if bias is not None:
        out = out + _shape.reshape(bias, (1, O, 1, 1, 1))
    return _shape.squeeze(out, 0) if unbatched else out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The adjoint of conv3d w.r.t. its input (torch's conv_transpose3d)."""
    check_same_device(input, weight, bias)
    unbatched = _batched5(input, "conv_transpose3d")
    x = _shape.unsqueeze(input, 0) if unbatched else input
    if weight.ndim != 5:
        raise RuntimeError(f"weight should have five dimensions, got {weight.ndim}D weight")
    N, Cin, D, H, W = x.shape
    if weight.shape[0] != Cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
                           f"{list(x.shape)} to have {weight.shape[0]} channels, but got {Cin} channels instead")
    if groups <= 0 or Cin % groups:
        raise RuntimeError("non-positive groups is not supported" if groups <= 0 else
                           f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    _, Cog, kd, kh, kw = weight.shape
    G = groups
    Cout = Cog * G
    if bias is not None and tuple(bias.shape) != (Cout,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {Cout} elements, but got bias of size {list(bias.shape)} instead")
    s, p = triple(stride, "stride"), triple(padding, "padding")
    op, d = triple(output_padding, "output_padding"), triple(dilation, "dilation")
    if min(s) <= 0 or min(d) <= 0:
        raise RuntimeError("non-positive stride is not supported" if min(s) <= 0 else
                           "dilation should be greater than zero")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_depth: {op[0]} output_padding_height: {op[1]} output_padding_width: "
                           f"{op[2]} stride_depth: {s[0]} stride_height: {s[1]} stride_width: {s[2]} "
                           f"dilation_depth: {d[0]} dilation_height: {d[1]} dilation_width: {d[2]}")
    k = (kd, kh, kw)
    outs = [(n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 for n, si, pi, di, ki, oi in zip((D, H, W), s, p, d, k, op)]
    if min(outs) <= 0:
        raise RuntimeError(f"Given input size per channel: ({D} x {H} x {W}). Calculated output size per channel: "
                           f"({' x '.join(map(str, outs))}). Output size is too small")
    OD, OH, OW = outs
    x2 = _shape.reshape(_shape.permute(x, (0, 2, 1, 3, 4)), (N * D, Cin, H, W))
    # output channels of the 2-D op: (group, depth tap, channel in group), so each group stays contiguous
    w2 = _shape.reshape(_shape.permute(weight, (0, 2, 1, 3, 4)), (Cin, kd * Cog, kh, kw))
    spec = (N * D, G * kd * Cog, OH, OW, Cin, G, (kh, kw, s[1], s[2], d[1], d[2], p[1], p[1], p[2], p[2], H, W))
    planes = _conv.conv2d_input_grad(_conv.channels_first(x2), w2, spec)    # (N * D, G * kd * Cog, OH, OW)
    planes = _shape.reshape(planes, (N, D, G, kd, Cog, OH, OW))
    planes = _shape.permute(planes, (3, 0, 2, 4, 1, 5, 6))                   # (kd, N, G, Cog, D, OH, OW)
    full_depth = (D - 1) * s[0] + d[0] * (kd - 1) + 1 + op[0]
    full = None
    for i in range(kd):   # each depth tap's planes land at depths i * dd + id * sd: a strided slice
        part = _shape.reshape(_shape._getitem(planes, i), (N, Cout, D, OH, OW))
        key = (slice(None), slice(None), slice(i * d[0], i * d[0] + s[0] * (D - 1) + 1, s[0]))
        placed = _shape.index_backward(part, (N, Cout, full_depth, OH, OW), key)
        full = placed if full is None else full + placed
    out = _shape._getitem(full, (slice(None), slice(None), slice(p[0], p[0] + OD)))
    if p[0] or full_depth != OD:
        out = out.contiguous()
    if bias is not None:
        out = out + _shape.reshape(bias, (1, Cout, 1, 1, 1))
    return _shape.squeeze(out, 0) if unbatched else out


__all__ = ["conv3d", "conv_transpose3d", "triple", "zero_pad"]
