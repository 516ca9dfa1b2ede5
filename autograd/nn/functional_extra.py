"""More of ``torch.nn.functional``: instance norm, the reflect / replicate / circular paddings, pixel
(un)shuffle, GLU / logsigmoid / SELU, the 1-D poolings, ``unfold`` / ``fold``.

Composed from existing differentiable ops (indexing, batch norm, the 2-D poolings, reshapes), so their
gradients, to any order, are those ops' rules; logsigmoid and SELU have their own rules in
:mod:`autograd.ops.nn_act_more`.
"""
from __future__ import annotations

import numpy as np

from .. import backend, grad_mode
from ..ops import nn_act_more as _act
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops.nn_norm import batch_norm as _batch_norm
from ..ops.nn_pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d, pair as _pair
from ..tensor import Tensor


def _inplace(input, res, inplace):  # noqa: A002
    if not inplace:
        return res
    input.copy_(res)
    return input


# ---- normalization --------------------------------------------------------------------------------------
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,  # noqa: A002
                  momentum=0.1, eps=1e-5):
    """Each (sample, channel) normalised over its spatial positions: batch norm on the input seen as one
    sample of ``N * C`` channels; running statistics (when given) get the mean over the samples."""
    if use_input_stats:
        spatial = int(np.prod(input.shape[2:]))
        if spatial <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"torch.Size({list(input.shape)})")
    N, C = input.shape[:2]
    x = _shape.reshape(input, (1, N * C) + tuple(input.shape[2:]))
    rm = None if running_mean is None else _shape.repeat(running_mean.detach(), N)
    rv = None if running_var is None else _shape.repeat(running_var.detach(), N)
    w = None if weight is None else _shape.repeat(weight, N)
    b = None if bias is None else _shape.repeat(bias, N)
    out = _batch_norm(x, rm, rv, w, b, training=use_input_stats, momentum=momentum, eps=eps)
    if use_input_stats:
        with grad_mode.no_grad():
            for run, new in ((running_mean, rm), (running_var, rv)):
                if run is not None:
                    run.copy_(_red.mean(_shape.reshape(new, (N, C)), 0))
    return _shape.reshape(out, input.shape)


# ---- padding --------------------------------------------------------------------------------------------
_PAD_HELP = ("Supported combinations for non-constant padding:\n"
             "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
             "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
             "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pad_positions(n, lo, hi, mode, dim, shape):
    """Which input position each output position along one dimension reads."""
    if mode == "reflect":
        if max(lo, hi) >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension {dim} of input {list(shape)}")
    elif mode == "circular":
        if max(lo, hi) > n:
            raise RuntimeError("Padding value causes wrapping around more than once.")
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        i = np.abs(i) % period
        i = np.where(i >= n, period - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, n - 1)
    else:
        i = i % n
    return i


def pad_nonconstant(input, pad, mode, value=None):  # noqa: A002
    """``F.pad`` in the modes ``reflect``, ``replicate``, ``circular``: the output gathers input positions,
    so the gradient adds up every copy of a position."""
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
                                  f"{_PAD_HELP}")
    out = input
    xp = backend.array_module(input._data)
    for j in range(k):
        d = input.ndim - 1 - j
        lo, hi = int(pad[2 * j]), int(pad[2 * j + 1])
        if lo == hi == 0:
            continue
        if mode == "circular" and min(lo, hi) < 0:   # wraps around what is left after the cropping
            out = _shape._getitem(out, (slice(None),) * d + (slice(max(-lo, 0), out.shape[d] - max(-hi, 0)),))
            lo, hi = max(lo, 0), max(hi, 0)
        idx = _pad_positions(out.shape[d], lo, hi, mode, d, input.shape)
        key = (slice(None),) * d + (xp.asarray(idx),)
        out = _shape._getitem(out, key)
    return out


# ---- activations ----------------------------------------------------------------------------------------
def glu(input, dim=-1):  # noqa: A002
    """``a * sigmoid(b)`` for the two halves ``a``, ``b`` of ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.ndim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = _shape.split(input, n // 2, d)
    return a * b.sigmoid()


def logsigmoid(input):  # noqa: A002
    return _act.logsigmoid(input)


def selu(input, inplace=False):  # noqa: A002
    return _inplace(input, _act.selu(input), inplace)


# ---- pixel shuffle --------------------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    nl = len(lead)
    x = _shape.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = _shape.permute(x, (*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2))
    return _shape.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    for size, name, axis in ((h, "height", -2), (w, "width", -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({axis})={size} is not divisible by {r}")
    nl = len(lead)
    x = _shape.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = _shape.permute(x, (*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3))
    return _shape.reshape(x, (*lead, c * r * r, h // r, w // r))


# ---- 1-D pooling: the 2-D ops over a height of 1 ----------------------------------------------------------
def _one(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise RuntimeError(f"{name} must be a single int, or a tuple of one int")
        return int(v[0])
    return int(v)


def _check_1d(input, name, style="max"):  # noqa: A002
    if input.ndim not in (2, 3):
        if style == "max":
            raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                               f"input, but got:{list(input.shape)}")
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {name})")


def _out_size_check(input, k, s, p, d, ceil_mode, name):  # noqa: A002
    from ..ops.nn_pool import fold_len

    if fold_len(input.shape[-1], k, s, p, d, ceil_mode) <= 0:
        raise RuntimeError(f"{name}() Invalid computed output size: {fold_len(input.shape[-1], k, s, p, d, ceil_mode)}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    _check_1d(input, "max_pool1d")
    k = _one(kernel_size, "kernel_size")
    s = k if stride is None or stride in ((), []) else _one(stride, "stride")
    p, d = _one(padding, "padding"), _one(dilation, "dilation")
    _out_size_check(input, k, s, p, d, ceil_mode, "max_pool1d")
    res = max_pool2d(_shape.unsqueeze(input, -2), (1, k), (1, s), (0, p), (1, d), ceil_mode=ceil_mode,
                     return_indices=return_indices)
    if return_indices:
        return _shape.squeeze(res[0], -2), _shape.squeeze(res[1], -2)
    return _shape.squeeze(res, -2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    _check_1d(input, "avg_pool1d", "avg")
    k = _one(kernel_size, "kernel_size")
    s = k if stride is None or stride in ((), []) else _one(stride, "stride")
    p = _one(padding, "padding")
    out = avg_pool2d(_shape.unsqueeze(input, -2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad)
    return _shape.squeeze(out, -2)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    _check_1d(input, "adaptive_avg_pool1d", "avg")
    n = _one(output_size, "output_size")
    return _shape.squeeze(adaptive_avg_pool2d(_shape.unsqueeze(input, -2), (1, n)), -2)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """The maximum over each of ``output_size`` windows [floor(i L / n), ceil((i + 1) L / n)); the gradient
    goes to the (first) position of each maximum, as torch."""
    _check_1d(input, "adaptive_max_pool1d", "avg")
    n, L = _one(output_size, "output_size"), input.shape[-1]
    if n <= 0 or L == 0:
        raise RuntimeError(f"adaptive_max_pool1d(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)} with dimension {input.ndim - 1} "
                           f"being empty" if L == 0 else "adaptive_max_pool1d: output_size must be positive")
    xp = backend.array_module(input._data)
    starts = [(i * L) // n for i in range(n)]
    ends = [-(-((i + 1) * L) // n) for i in range(n)]
    width = max(e - s for s, e in zip(starts, ends))
    # a (n, width) table of positions; short windows repeat their last position (never a new maximum)
    pos = np.array([[min(s + j, e - 1) for j in range(width)] for s, e in zip(starts, ends)])
    win = _shape._getitem(input, (Ellipsis, xp.asarray(pos)))        # (..., n, width)
    vals, arg = _red.max(win, -1)
    if not return_indices:
        return vals
    P = xp.asarray(pos)
    index = xp.take_along_axis(xp.broadcast_to(P, arg.shape + (width,)), arg._data[..., None], -1)[..., 0]
    return vals, Tensor._wrap(index.astype(np.int64))


# ---- unfold / fold --------------------------------------------------------------------------------------
def _block_geometry(spatial, kernel_size, dilation, padding, stride):
    kh, kw = _pair(kernel_size, "kernel_size")
    dh, dw = _pair(dilation, "dilation")
    ph, pw = _pair(padding, "padding")
    sh, sw = _pair(stride, "stride")
    H, W = spatial
    oh = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    rows = (np.arange(kh)[:, None, None, None] * dh + np.arange(oh)[None, None, :, None] * sh)
    cols = (np.arange(kw)[None, :, None, None] * dw + np.arange(ow)[None, None, None, :] * sw)
    rows, cols = np.broadcast_arrays(rows, cols)   # (kh, kw, oh, ow) positions in the padded input
    return (kh, kw, dh, dw, ph, pw, sh, sw, oh, ow), rows.reshape(kh * kw, oh * ow), cols.reshape(kh * kw, oh * ow)


def _fmt(*v):
    return "(" + ", ".join(str(x) for x in v) + ")"


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """(N, C, H, W) -> (N, C * kh * kw, L): every sliding block, flattened (im2col)."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    x = input if input.ndim == 4 else _shape.unsqueeze(input, 0)
    N, C, H, W = x.shape
    (kh, kw, dh, dw, ph, pw, sh, sw, oh, ow), rows, cols = _block_geometry((H, W), kernel_size, dilation, padding,
                                                                           stride)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size {_fmt(H, W)}, kernel_size={_fmt(kh, kw)}, "
                           f"dilation={_fmt(dh, dw)}, padding={_fmt(ph, pw)}, calculated shape of the array of "
                           f"sliding blocks as {_fmt(oh, ow)}, but its components must be at least one.")
    if ph or pw:   # zeros around: the input scattered into a larger zero array
        x = _shape.index_backward(x, (N, C, H + 2 * ph, W + 2 * pw), (slice(None), slice(None), slice(ph, ph + H),
                                                                       slice(pw, pw + W)))
    xp = backend.array_module(x._data)
    blocks = _shape._getitem(x, (slice(None), slice(None), xp.asarray(rows), xp.asarray(cols)))  # (N, C, kk, L)
    out = _shape.reshape(blocks, (N, C * kh * kw, oh * ow))
    return out if input.ndim == 4 else _shape.squeeze(out, 0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """(N, C * kh * kw, L) -> (N, C, H, W): the blocks summed back where ``unfold`` took them (col2im)."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x = input if input.ndim == 3 else _shape.unsqueeze(input, 0)
    H, W = _pair(output_size, "output_size")
    (kh, kw, dh, dw, ph, pw, sh, sw, oh, ow), rows, cols = _block_geometry((H, W), kernel_size, dilation, padding,
                                                                           stride)
    N, CK, L = x.shape
    if CK % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={CK} and kernel_size={_fmt(kh, kw)}.")
    if L != oh * ow:
        raise RuntimeError(f"Given output_size={_fmt(H, W)}, kernel_size={_fmt(kh, kw)}, dilation={_fmt(dh, dw)}, "
                           f"padding={_fmt(ph, pw)}, stride={_fmt(sh, sw)}, expected size of input's dimension 2 "
                           f"to match the calculated number of sliding blocks {oh} * {ow} = {oh * ow}, but got "
                           f"input.size(2)={L}.")
    C = CK // (kh * kw)
    xp = backend.array_module(x._data)
    blocks = _shape.reshape(x, (N, C, kh * kw, L))
    full = _shape.index_backward(blocks, (N, C, H + 2 * ph, W + 2 * pw),
                                 (slice(None), slice(None), xp.asarray(rows), xp.asarray(cols)))
    out = _shape._getitem(full, (slice(None), slice(None), slice(ph, ph + H), slice(pw, pw + W)))
    return out if input.ndim == 3 else _shape.squeeze(out, 0)

