"""``nn.functional``: stateless layers, activations and losses (torch's names, arguments and defaults)."""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..ops import elementwise as _ew
from ..ops import reduction as _red
from ..ops.basic import record
from ..ops.nn_act import mish as _mish, mse_loss as _mse, refuse_complex as _refuse_complex
from ..ops.nn_act_low import smooth_l1_backward_low as _smooth_l1_bw
from .. import dtypes as _dtypes
from ..grad_mode import no_grad as _no_grad
from ..ops.nn_act import (binary_cross_entropy as _bce, binary_cross_entropy_with_logits as _bce_logits,
                          check_reduction, elu as _elu, gelu, hardtanh as _hardtanh, leaky_relu as _leaky_relu,
                          nll_loss as _nll, silu as _silu, softplus)
from ..ops.nn_linear import linear as _linear
from ..ops.nn_conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d as _max_pool2d
from ..ops.nn_norm import batch_norm, dropout as _dropout, dropout2d as _dropout2d, embedding as _embedding
from ..ops.nn_norm import layer_norm
from ..ops.basic import inplace as _inplace
from ..tensor import Tensor

__all__ = ["linear", "conv2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "adaptive_avg_pool2d",
           "batch_norm", "layer_norm", "embedding", "dropout", "dropout2d", "relu", "relu_", "relu6", "gelu",
           "tanh", "sigmoid", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "mish", "softmax",
           "log_softmax", "softmin", "one_hot", "pad", "normalize", "cross_entropy", "nll_loss", "mse_loss",
           "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "kl_div"]


# ---- layers -----------------------------------------------------------------------------------------------
def linear(input, weight, bias=None):  # noqa: A002
    """``input @ weight.T + bias``."""
    if input.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and "
                           f"{weight.ndim}D")
    if input.shape[-1] != weight.shape[-1]:
        lead = int(np.prod(input.shape[:-1])) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({lead}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim > 1 else 1})")
    if weight.ndim == 2 and (bias is None or tuple(bias.shape) == (weight.shape[0],)):
        return _linear(input, weight, bias)  # one 2-D GEMM; weight gradient in the weight's own layout
    out = input @ weight.t() if weight.ndim == 2 else input @ weight
    return out + bias if bias is not None else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=True):
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    return _embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _dropout(input, p, training, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _dropout2d(input, p, training, inplace)


# ---- activations ------------------------------------------------------------------------------------------
def _maybe_inplace(x, fn, inplace):
    """``fn(x)``, or written into ``x`` in place (computed on a stand-in when recorded, so the backward keeps
    the value the write overwrites)."""
    if not inplace:
        return fn(x)
    from ..graph.views import protect

    src, _ = protect(x, ())
    return _inplace(x, fn(src))


def relu(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _ew.relu(t), inplace)


def relu_(input):  # noqa: A002
    return relu(input, inplace=True)


def relu6(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _hardtanh(t, 0.0, 6.0), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _hardtanh(t, min_val, max_val), inplace)


def tanh(input):  # noqa: A002
    return _ew.tanh(input)


def sigmoid(input):  # noqa: A002
    return _ew.sigmoid(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _leaky_relu(t, negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _elu(t, alpha), inplace)


def silu(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, lambda t: _silu(t), inplace)


def mish(input, inplace=False):  # noqa: A002
    return _maybe_inplace(input, _mish, inplace)


def _softmax_dim(ndim, name):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  f"dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmax")
    x = input.to(dtype) if dtype is not None else input
    return _red.softmax(x, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmin")
    x = input.to(dtype) if dtype is not None else input
    return _red.softmax(-x, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    if dim is None:
        dim = _softmax_dim(input.ndim, "log_softmax")
    x = input.to(dtype) if dtype is not None else input
    return _red.log_softmax(x, dim)


# ---- utilities --------------------------------------------------------------------------------------------
def one_hot(tensor, num_classes=-1):
    I = tensor._data
    xp = backend.array_module(I)
    if I.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(I.max()) + 1 if I.size else 0
    if I.size and (int(I.min()) < 0 or int(I.max()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if I.size and int(I.min()) >= 0
                           else "Class values must be non-negative.")
    return Tensor._wrap((I[..., None] == xp.arange(num_classes)).astype("int64"))


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """``pad`` lists (left, right) pairs starting from the last dim; modes constant, reflect, replicate, circular."""
    if mode != "constant":
        return _pad_nonconstant(input, pad, mode, value)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length must be divisible by 2 and at most twice the number of dims")
    X = input._data
    xp = backend.array_module(X)
    widths = [(0, 0)] * X.ndim
    for i in range(len(pad) // 2):
        widths[X.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(X.shape, widths))
    if min(shape, default=1) < 0:
        raise RuntimeError("negative padding removes more than the whole dimension")
    out = xp.full(shape, 0 if value is None else value, dtype=X.dtype)
    dst = tuple(slice(max(lo, 0), max(lo, 0) + s + min(lo, 0) + min(hi, 0)) for s, (lo, hi) in zip(X.shape, widths))
    src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(X.shape, widths))
    out[dst] = X[src]

    # the gradient is the unpadded window of g: linear, its own gradient pads again
    return record(out, (input,), lambda o, g: (o.index_backward(o.getitem(g, dst), X.shape, src),), "ConstantPad",
                  saved=())


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    n = _red.norm(input, p, dim, keepdim=True)
    return input / _ew.clamp(n, min=eps).expand_as(input)


# ---- losses -----------------------------------------------------------------------------------------------
from ._reduction import apply_reduction as _apply_reduction, legacy_reduction as _legacy_reduction  # noqa: E402


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    return _nll(input, target, weight, ignore_index, _legacy_reduction(size_average, reduce, reduction))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Log-softmax over the class dim (1, or 0 for unbatched input) followed by the NLL of the targets.

    Targets are class indices (integer) or class probabilities (floating, same shape as ``input``).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    cdim = 0 if input.ndim == 1 else 1
    C = input.shape[cdim]
    logp = _red.log_softmax(input, cdim)
    wshape = [1] * input.ndim
    wshape[cdim] = C
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        if target.shape != input.shape:
            raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
        t = target * (1 - label_smoothing) + label_smoothing / C if label_smoothing > 0 else target
        prod = logp * t
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        loss = -prod.sum(cdim)
        if reduction == "mean":
            n = input.numel() // C if C else 0
            return loss.sum() / n if input.ndim > 1 else loss
        return _apply_reduction(loss, reduction)
    nll = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0:
        return nll
    T = target._data
    valid = T != ignore_index
    wl = logp * weight.reshape(wshape) if weight is not None else logp
    # ignored entries are masked out (torch's masked_fill), not multiplied by 0: with every target ignored the
    # mean divides by zero, and 0 * inf would turn their zero gradient into NaN
    smooth = _ew.where(Tensor._wrap(valid), -wl.sum(cdim), 0.0)
    if reduction == "mean":
        if weight is not None:
            xp = backend.array_module(T)
            denom = weight._data[xp.where(valid, T, 0)][valid].sum()
        else:
            denom = valid.sum()
        ret = smooth.sum() / float(denom)
    else:
        ret = _apply_reduction(smooth, reduction)
    return nll * (1 - label_smoothing) + ret * (label_smoothing / C)


def _check_sizes(input, target, name):  # noqa: A002
    if isinstance(target, Tensor) and target.shape != input.shape:
        warnings.warn(f"Using a target size ({list(target.shape)}) that is different to the input size "
                      f"({list(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", UserWarning, stacklevel=3)


def _weighted(loss, weight, reduction):
    """torch's elementwise-weighted mean for mse/l1: sum(w * loss) / sum(w)."""
    if weight is None:
        return _apply_reduction(loss, reduction)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError("Weights and input must have the same size.")
    check_reduction(reduction)
    wl = loss * weight
    if reduction == "mean":
        return wl.sum() / weight.sum()
    return _apply_reduction(wl, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    _check_sizes(input, target, "mse_loss")
    _refuse_complex(input, "mse_cpu")
    if (weight is None and isinstance(target, Tensor) and target.shape == input.shape
            and target.dtype == input.dtype and input.dtype.kind in "fV"):
        return _mse(input, target, _legacy_reduction(size_average, reduce, reduction))
    d = input - target
    return _weighted(d * d, weight, _legacy_reduction(size_average, reduce, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    _check_sizes(input, target, "l1_loss")
    return _weighted(_ew.abs_(input - target), weight, _legacy_reduction(size_average, reduce, reduction))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    _check_sizes(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if _low_pair(input, target):   # the value as below, the gradient torch's backward kernel's
        with _no_grad():
            out = smooth_l1_loss(input.detach(), target.detach(), reduction=reduction, beta=beta)
        return _smooth_l1_bw(input, target, out, reduction, beta, False)
    d = input - target
    a = _ew.abs_(d)
    if beta == 0:
        loss = a
    else:
        loss = _ew.where((a < beta)._data, d * d * (0.5 / beta), a - 0.5 * beta)
    return _apply_reduction(loss, reduction)


def _low_pair(input, target):  # noqa: A002
    """float16/bfloat16 NumPy input and target of one dtype and shape (torch's fused loss kernels apply)."""
    X = input._data
    return (isinstance(target, Tensor) and type(X) is np.ndarray and X.dtype.itemsize == 2
            and X.dtype in _dtypes.LOW_PRECISION and target.dtype == input.dtype and target.shape == input.shape
            and (input.requires_grad or target.requires_grad))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    _check_sizes(input, target, "huber_loss")
    if weight is None and _low_pair(input, target):
        check_reduction(reduction)
        with _no_grad():
            out = huber_loss(input.detach(), target.detach(), reduction=reduction, delta=delta)
        return _smooth_l1_bw(input, target, out, reduction, delta, True)
    d = input - target
    a = _ew.abs_(d)
    loss = _ew.where((a < delta)._data, d * d * 0.5, (a - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    return _bce(input, target, weight, _legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    return _bce_logits(input, target, weight, _legacy_reduction(size_average, reduce, reduction), pos_weight)


def _xlogx(t):
    """``t * log(t)`` (0 where t <= 0), differentiable: ``log(t) + 1``."""
    T = t._data
    xp = backend.array_module(T)
    pos = T > 0
    safe = xp.where(pos, T, 1)
    L = xp.log(safe)

    def rule(o, g, t_):
        return (g * o.where(pos, o.log(o.where(pos, t_, 1)) + 1, 0),)

    return record(xp.where(pos, T * L, 0).astype(T.dtype, copy=False), (t,), rule, "XLogX", saved=(t,))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = _ew.exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      " 'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
                      UserWarning, stacklevel=2)
    return _apply_reduction(loss, reduction)
from .functional_layers import *  # noqa: E402,F401,F403  (attention, conv1d/transposed, group/rms norm, interpolate)
from .functional_distance import cosine_similarity, pairwise_distance  # noqa: E402,F401
from .functional_extra import (adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, fold, glu,  # noqa: E402,F401
                               instance_norm, logsigmoid, max_pool1d, pixel_shuffle, pixel_unshuffle, selu, unfold)
from .functional_extra import pad_nonconstant as _pad_nonconstant  # noqa: E402
from .functional_bags import (cosine_embedding_loss, embedding_bag, hinge_embedding_loss,  # noqa: E402,F401
                              margin_ranking_loss, triplet_margin_loss)
from .functional_more import gumbel_softmax, hardswish  # noqa: E402,F401
