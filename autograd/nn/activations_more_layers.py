"""The dropouts and layers of :mod:`autograd.nn.activations_more` (which lists them for ``nn.functional``):
alpha and feature-alpha dropout, the channel dropouts dropout1d / dropout3d, channel_shuffle,
local_response_norm and bilinear.

The random ops draw a constant noise array and multiply by it, so their gradient is that noise, as torch's;
the rest is composed from differentiable ops (reshapes, pad, narrow, matmul), so gradients of any order
come from those ops' rules."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes
from ..creation import random_array
from ..tensor import Tensor
from . import functional as F

# SELU's negative saturation, -scale * alpha: the value alpha dropout gives a dropped unit
SELU_SATURATION = 1.7580993408473766

# ---- dropouts --------------------------------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p, feature):  # noqa: A002
    """Boolean keep mask (kept with probability 1 - p): per element, or per (sample, channel) for feature
    dropout, broadcast over the remaining dims."""
    if feature:
        if input.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(input.shape)
    return random_array("random", shape, np.float64, input.device) < 1.0 - p


def _dropout_impl(input, p, training, inplace, feature, alpha):  # noqa: A002
    """torch's dropout family: identity when p == 0, not training or empty; zeros (``input * 0``) when p == 1;
    else ``input * noise`` (plus an offset for alpha dropout) with a constant noise drawn here."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if not input.is_floating_point():
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{dtypes.torch_name(input.dtype)}")
    if p == 1:
        return F._maybe_inplace(input, lambda t: t * 0.0, inplace)
    keep = _keep_mask(input, p, feature)
    dt = input._data.dtype
    kept = keep.astype(dt)
    if not alpha:
        noise = Tensor._wrap(kept / dt.type(1 - p))
        return F._maybe_inplace(input, lambda t: t * noise, inplace)
    # kept units: a * x + b; dropped: a * (-saturation) + b; a and b restore mean 0 and variance 1
    a = 1.0 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    scale = Tensor._wrap(kept * dt.type(a))
    offset = Tensor._wrap(((kept - 1) * dt.type(SELU_SATURATION * a) + dt.type(SELU_SATURATION * a * p))
                          .astype(dt, copy=False))
    return F._maybe_inplace(input, lambda t: t * scale + offset, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def _channel_dropout(input, p, training, inplace, batched):  # noqa: A002
    if batched:
        return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)
    # unbatched: the channels are dim 0; dropped on a view with a batch of one
    return F._maybe_inplace(input, lambda t: _dropout_impl(t.unsqueeze(0), p, training, False, True,
                                                           False).squeeze(0), inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, input.ndim == 3)


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                      "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", UserWarning, stacklevel=2)
    return _channel_dropout(input, p, training, inplace, input.ndim == 5)


# ---- channel shuffle, local response norm, bilinear --------------------------------------------------------
def channel_shuffle(input, groups):  # noqa: A002
    """(N, g * k, *) -> the channels regrouped as (k, g): channel i * k + j moves to j * g + i."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
    return x.reshape(tuple(input.shape))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """``x / (k + alpha * mean of x^2 over a window of `size` channels) ** beta``; the window is zero-padded
    (size // 2 before, (size - 1) // 2 after) and always divided by ``size``, as torch's average pooling."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    padded = F.pad(input * input, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    window = padded.narrow(1, 0, c)
    for j in range(1, size):
        window = window + padded.narrow(1, j, c)
    div = (window / size * alpha + k) ** beta
    return input / div


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = x1[..., i] W[o, i, j] x2[..., j] + b[o]``."""
    if input1.ndim == 0 or input2.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for d in range(input1.ndim - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got "
                               f"{input1.shape[d]} and {input2.shape[d]}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1]}")
    if weight.ndim < 3 or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {weight.shape[2] if weight.ndim > 2 else 1}")
    if bias is not None and bias.shape[-1] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[-1]} but expected "
                           f"{weight.shape[0]}")
    out_f, in1, in2 = weight.shape
    batch = tuple(input1.shape[:-1])
    x1 = input1.reshape((-1, in1))
    x2 = input2.reshape((-1, in2))
    # (B, in1) @ (in1, O * in2) -> (B, O, in2), then contracted with x2 over in2
    left = (x1 @ weight.permute(1, 0, 2).reshape((in1, out_f * in2))).reshape((-1, out_f, in2))
    out = (left * x2.unsqueeze(1)).sum(-1).reshape(batch + (out_f,))
    return out + bias if bias is not None else out
