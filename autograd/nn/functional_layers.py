"""More of ``nn.functional``: ``scaled_dot_product_attention``, ``conv1d``, ``conv_transpose1d/2d``,
``group_norm``, ``rms_norm``, ``interpolate``.

All composed from differentiable ops, so backward and ``create_graph`` need no new rule: the transposed
convolutions are the input-gradient map of conv2d (the vocabulary op ``conv2d_input_grad``, itself
differentiable in both arguments), 1-d convolutions are 2-d ones of height 1, and interpolation is
``index_select`` plus a weighted sum along each spatial dimension.
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation, dtypes
from ..ops import nn_conv as _conv
from ..ops.nn_norm import dropout as _dropout
from ..ops.nn_pool import pair
from ..ops.nn_norm_low import group_norm_low as _group_norm_low, rms_norm_low as _rms_norm_low
from ..tensor import Tensor

__all__ = ["scaled_dot_product_attention", "conv1d", "conv_transpose1d", "conv_transpose2d", "group_norm",
           "rms_norm", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]


# ---- attention --------------------------------------------------------------------------------------------
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(q k^T * scale + mask) v over the last two dims. A bool mask marks the pairs that take part; a
    float mask is added to the scores. Rows with no pair left give zeros (as torch), not NaN."""
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{[int(np.prod(key.shape[:-2])), query.shape[-1]]} but got: "
                           f"{[int(np.prod(key.shape[:-2])), key.shape[-1]]}.")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"Expected key and value to have the same sequence length, got {key.shape[-2]} and "
                           f"{value.shape[-2]}")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(rep, -3), value.repeat_interleave(rep, -3)
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * s
    row_ok = None
    if is_causal:
        attn_mask = creation.ones(L, S, dtype=dtypes.bool, device=query.device).tril()
    if attn_mask is not None:
        if attn_mask.dtype == dtypes.bool:
            keep = attn_mask._data
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        elif attn_mask.dtype == query.dtype or attn_mask.is_floating_point():
            keep = attn_mask._data > -np.inf
            scores = scores + attn_mask
        else:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_cname(attn_mask.dtype)} and  query.dtype: "
                               f"{_cname(query.dtype)} instead.")
        ok = keep.any(axis=-1, keepdims=True)
        if not bool(ok.all()):
            row_ok = Tensor._wrap(ok)
            scores = scores.masked_fill(row_ok.logical_not(), 0.0)
    att = scores.softmax(-1)
    if row_ok is not None:
        att = att.masked_fill(row_ok.logical_not(), 0.0)
    if dropout_p > 0.0:
        att = _dropout(att, dropout_p, True, False)
    return att @ value


def _cname(dt):
    return {"int64": "long int", "int32": "int", "float32": "float", "float64": "double"}.get(str(np.dtype(dt)),
                                                                                          str(dt))


# ---- convolutions -----------------------------------------------------------------------------------------
def _single(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple, got {v!r}")
        return int(v[0])
    return int(v)


def _conv_check_1d(input, name):  # noqa: A002
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to {name}, but got input of size: "
                           f"{list(input.shape)}")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-d cross-correlation: conv2d on a height-1 image."""
    _conv_check_1d(input, "conv1d")
    if weight.ndim != 3:
        raise RuntimeError(f"weight should have three dimensions for conv1d, got {weight.ndim}D weight")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = _conv.conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _single(stride, "stride")), pad,
                       (1, _single(dilation, "dilation")), groups)
    return out.squeeze(-2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The adjoint of conv2d: conv2d's input gradient with ``input`` as the output gradient."""
    unbatched = input.ndim == 3
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of "
                           f"size: {list(input.shape)}")
    x = input.unsqueeze(0) if unbatched else input
    if weight.ndim != 4:
        raise RuntimeError(f"weight should have four dimensions, got {weight.ndim}D weight")
    N, Cin, H, W = x.shape
    if weight.shape[0] != Cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
                           f"{list(x.shape)} to have {weight.shape[0]} channels, but got {Cin} channels instead")
    if groups <= 0 or Cin % groups:
        raise RuntimeError("non-positive groups is not supported" if groups <= 0 else
                           f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    kh, kw = weight.shape[2], weight.shape[3]
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    oph, opw = pair(output_padding, "output_padding")
    dh, dw = pair(dilation, "dilation")
    if not (oph < max(sh, dh) and opw < max(sw, dw)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding_height: {oph} output_padding_width: {opw} stride_height: {sh} "
                           f"stride_width: {sw} dilation_height: {dh} dilation_width: {dw}")
    OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if OH <= 0 or OW <= 0:
        raise RuntimeError(f"Given input size per channel: ({H} x {W}). Calculated output size per channel: "
                           f"({OH} x {OW}). Output size is too small")
    Cout = weight.shape[1] * groups
    spec = (N, Cout, OH, OW, Cin, groups, (kh, kw, sh, sw, dh, dw, ph, ph, pw, pw, H, W))
    out = _conv.conv2d_input_grad(_conv.channels_first(x), weight, spec)
    if bias is not None:
        out = out + bias.reshape(1, Cout, 1, 1)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    _conv_check_1d(input, "conv_transpose1d")
    if weight.ndim != 3:
        raise RuntimeError(f"weight should have three dimensions, got {weight.ndim}D weight")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _single(stride, "stride")),
                           (0, _single(padding, "padding")), (0, _single(output_padding, "output_padding")),
                           groups, (1, _single(dilation, "dilation")))
    return out.squeeze(-2)


# ---- normalization ----------------------------------------------------------------------------------------
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalize each group of ``C // num_groups`` channels of each sample over its channels and positions."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    N, C = input.shape[0], input.shape[1]
    if num_groups <= 0 or C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    # torch's 16-bit kernel for weights of the input's dtype; a model's float32 weight and bias with a
    # 16-bit input (mixed precision) normalise in float32 and round once
    if input._data.dtype.itemsize == 2 and input._data.dtype in dtypes.LOW_PRECISION and \
            type(input._data) is np.ndarray and all(t is None or t.dtype == input.dtype for t in (weight, bias)):
        return _group_norm_low(input, num_groups, weight, bias, eps)
    low = input.dtype if input.dtype in (dtypes.float16, dtypes.bfloat16) else None
    x = (input.float() if low is not None else input).reshape(N, num_groups, -1)   # torch: float32 inside
    mean = x.mean(-1, keepdim=True)
    d = x - mean
    var = (d * d).mean(-1, keepdim=True)
    y = (d * (var + eps).rsqrt()).reshape(tuple(input.shape))
    shape = (1, C) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y if low is None else y.to(low)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims (eps: the dtype's
    machine epsilon when None, as torch)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    dt = input._data.dtype
    if dt.itemsize == 2 and dt in dtypes.LOW_PRECISION and type(input._data) is np.ndarray:
        # torch's fused kernel: float32 statistics, eps float32's machine epsilon by default
        return _rms_norm_low(input, weight, int(np.prod(shape)), float(np.finfo(np.float32).eps) if eps is None
                             else eps)
    if eps is None:
        eps = float(np.finfo(np.dtype(dt)).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


# ---- interpolation ----------------------------------------------------------------------------------------
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims: 'nearest', 'nearest-exact', 'linear', 'bilinear', 'trilinear'."""
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")
    if mode not in modes + ("bicubic", "area"):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) "
                                  f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    if mode in ("bicubic", "area") or antialias:
        raise NotImplementedError(f"interpolate(mode={mode!r}, antialias={antialias}) is not supported here yet "
                                  f"(supported: {', '.join(modes)})")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    align_corners = bool(align_corners)
    nsp = input.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != nsp:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
    if nsp < 1 or nsp > 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D)")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    in_sz = tuple(input.shape[2:])
    if size is not None:
        out_sz = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nsp
        if len(out_sz) != nsp:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(in_sz)} and output size of {list(out_sz)}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             f"...,oK) format.")
        scales = [n / o for n, o in zip(in_sz, out_sz)]
    elif scale_factor is not None:
        sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nsp
        if len(sf) != nsp:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(in_sz)} and scale_factor of shape {list(sf)}.")
        out_sz = tuple(int(math.floor(n * f)) for n, f in zip(in_sz, sf))
        scales = [n / o for n, o in zip(in_sz, out_sz)] if recompute_scale_factor else [1.0 / f for f in sf]
    else:
        raise ValueError("either size or scale_factor should be defined")
    dt = input._data.dtype
    low = dt.itemsize == 2 and dt in dtypes.LOW_PRECISION
    # float16/bfloat16 as torch's kernel: in float32 (source positions and weights too), rounded once; its
    # backward accumulates in float32 too
    y = input.to(dtypes.float32) if low else input
    for d, (n, m, sc) in enumerate(zip(in_sz, out_sz, scales)):
        dim = d + 2
        i = np.arange(m, dtype=np.float64)
        if mode == "nearest":
            idx = np.minimum(np.floor(i * sc).astype(np.int64), n - 1)
            y = y.index_select(dim, _idx(idx, y))
            continue
        if mode == "nearest-exact":
            idx = np.minimum(np.floor((i + 0.5) * sc).astype(np.int64), n - 1)
            y = y.index_select(dim, _idx(idx, y))
            continue
        if align_corners:
            src = i * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
        else:
            src = np.maximum((i + 0.5) * sc - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        if low:
            f32, i32 = np.float32, i.astype(np.float32)
            if align_corners:
                src = f32((n - 1) / (m - 1)) * i32 if m > 1 else np.zeros(m, f32)
            else:
                src = np.maximum(f32(sc) * (i32 + f32(0.5)) - f32(0.5), f32(0))
            i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
            i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0).astype(np.dtype(y._data.dtype))
        lam0 = (1 - lam).astype(lam.dtype)
        shape = [1] * y.ndim
        shape[dim] = m
        w1 = creation.tensor(lam.reshape(shape), device=y.device)
        w0 = creation.tensor(lam0.reshape(shape), device=y.device)
        y = y.index_select(dim, _idx(i0, y)) * w0 + y.index_select(dim, _idx(i1, y)) * w1
    return y.to(dt) if low else y


def _idx(a, like):
    return creation.tensor(a, device=like.device)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

