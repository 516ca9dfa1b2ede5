"""The rest of torch.nn's activations and dropouts, functional forms and modules: rrelu, hard/soft/tanh
shrink, threshold, softsign, celu, prelu, hardsigmoid, the alpha and channel (1d/3d) dropouts,
channel_shuffle, local_response_norm, bilinear; Softmax2d.

The piecewise-linear activations are one elementwise op each (float16/bfloat16 computed in float32 and
rounded once, as torch's kernels) whose backward is ``masked_grad`` (so double backward gives torch's zeros).
Everything else is built from differentiable ops, which gives gradients of any order. The dropouts and
layers live in :mod:`autograd.nn.activations_more_layers` and are listed here."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, dtypes
from ..creation import empty, random_array
from ..ops import elementwise as _ew
from ..ops.nn_act import _elementwise
from ..tensor import Tensor
from . import functional as F
from . import init
from .activation import _DropoutNd, _inplace_str
from .activations_more_layers import (alpha_dropout, bilinear, channel_shuffle, dropout1d, dropout3d,  # noqa: F401
                                      feature_alpha_dropout, local_response_norm)
from .module import Module
from .parameter import Parameter

FUNCTIONAL = ("rrelu", "rrelu_", "hardshrink", "softshrink", "tanhshrink", "threshold", "threshold_", "softsign",
              "celu", "celu_", "prelu", "hardsigmoid", "alpha_dropout", "feature_alpha_dropout", "dropout1d",
              "dropout3d", "channel_shuffle", "local_response_norm", "bilinear")
MODULES = ("RReLU", "Hardshrink", "Softshrink", "Tanhshrink", "Threshold", "Softsign", "CELU", "PReLU",
           "Hardsigmoid", "AlphaDropout", "FeatureAlphaDropout", "Dropout1d", "Dropout3d", "ChannelShuffle",
           "LocalResponseNorm", "Softmax2d", "Bilinear")

_SIXTH_F32 = float(np.float32(1.0 / 6.0))


def _zero(G):
    return np.zeros((), G.dtype) if isinstance(G, np.ndarray) else G.dtype.type(0)


def _check_float(input, kernel):  # noqa: A002
    if not input.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtypes.torch_name(input.dtype)}\'')


# ---- randomized leaky relu ----------------------------------------------------------------------------------
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    """Training: each non-positive element times its own slope drawn from U(lower, upper); otherwise a leaky
    relu with slope (lower + upper) / 2."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    _check_float(input, "leaky_relu_cpu")
    if not training:
        return F.leaky_relu(input, (lower + upper) / 2, inplace)
    X = input._data
    xp = backend.array_module(X)
    slopes = random_array("uniform", X.shape, X.dtype, input.device, low=lower, high=upper)
    factor = Tensor._wrap(xp.where(X <= 0, slopes, xp.ones((), X.dtype)).astype(X.dtype, copy=False))
    return F._maybe_inplace(input, lambda t: t * factor, inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):  # noqa: A002
    return rrelu(input, lower, upper, training, inplace=True)


# ---- shrinks, threshold, softsign ---------------------------------------------------------------------------
def _zero_inside(lambd):
    """The gradient of both shrinks: 0 on [-lambd, lambd], passed elsewhere (NaN inputs pass it too)."""
    return lambda xp, X, G: xp.where((X >= -lambd) & (X <= lambd), _zero(G), G)


def hardshrink(input, lambd=0.5):  # noqa: A002
    select = _zero_inside(lambd)
    return _elementwise(input, lambda xp, X: xp.where((X >= -lambd) & (X <= lambd), xp.zeros((), X.dtype), X),
                        lambda o, g, x_: (o.masked_grad(g, x_, select, "HardshrinkBackwardBackward"),),
                        "Hardshrink")


def softshrink(input, lambd=0.5):  # noqa: A002
    if input.is_floating_point():
        top = np.finfo(input.dtype).max if input.dtype.kind == "f" else np.finfo(np.float32).max
        if not 0 <= lambd <= top:
            raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                               f"{dtypes.torch_name(input.dtype)}, but found {lambd}")
    select = _zero_inside(lambd)

    def fwd(xp, X):   # X * 0 keeps NaN a NaN, as torch
        return xp.where(X > lambd, X - lambd, xp.where(X < -lambd, X + lambd, X * 0)).astype(X.dtype, copy=False)

    return _elementwise(input, fwd, lambda o, g, x_: (o.masked_grad(g, x_, select, "SoftshrinkBackwardBackward"),),
                        "Softshrink")


def tanhshrink(input):  # noqa: A002
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """``value`` where ``input <= threshold``, else ``input`` (NaN stays NaN)."""
    def fwd(xp, X):
        return xp.where(X <= threshold, xp.asarray(value).astype(X.dtype), X)

    def select(xp, X, G):
        return xp.where(X <= threshold, _zero(G), G)

    def op(t):
        return _elementwise(t, fwd, lambda o, g, x_: (o.masked_grad(g, x_, select, "ThresholdBackwardBackward"),),
                            "Threshold")

    return F._maybe_inplace(input, op, inplace)


def threshold_(input, threshold, value):  # noqa: A002
    return globals()["threshold"](input, threshold, value, inplace=True)


def softsign(input):  # noqa: A002
    return input / (input.abs() + 1)


# ---- celu, prelu, hardsigmoid ---------------------------------------------------------------------------------
def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """``x`` above 0, ``alpha * expm1(x / alpha)`` below (torch's ELU kernel with input scale 1 / alpha)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    inv = 1.0 / alpha

    def fwd(xp, X):
        return xp.where(X > 0, X, xp.expm1(xp.minimum(X, 0) * inv) * alpha).astype(X.dtype, copy=False)

    def op(t):
        X = t._data

        def rule(o, g, x_):
            # exp(x / alpha) below 0, read from x masked to 0 elsewhere: nothing overflows where the branch is
            # not taken, and the second derivative at 0 is torch's 0
            return (o.where(X > 0, g, g * o.exp(o.where(X < 0, x_, 0) * inv)),)

        return _elementwise(t, fwd, rule, "Celu")

    return F._maybe_inplace(input, op, inplace)


def celu_(input, alpha=1.0):  # noqa: A002
    return celu(input, alpha, inplace=True)


def prelu(input, weight):  # noqa: A002
    """``x`` above 0, ``weight * x`` elsewhere; ``weight`` has one element or one per channel (dim 1)."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {dtypes.torch_name(input.dtype)} and "
                           f"{dtypes.torch_name(weight.dtype)}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.numel()
    if n != 1 and n != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} "
                           f"and channel size = {channels}.")
    if n == 1:
        w = weight.reshape(())
    else:
        w = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    X = input._data
    return _ew.where(Tensor._wrap(X > 0), input, w * input)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """``clamp(x + 3, 0, 6) / 6``; gradient 1/6 strictly inside (-3, 3), that 1/6 rounded to float32 for every
    dtype, as torch's backward kernel has it."""
    def select(xp, X, G):
        return xp.where((X > -3) & (X < 3), G * G.dtype.type(_SIXTH_F32), _zero(G))

    def op(t):
        return _elementwise(t, lambda xp, X: (xp.clip(X + 3, 0, 6) / 6).astype(X.dtype, copy=False),
                            lambda o, g, x_: (o.masked_grad(g, x_, select, "HardsigmoidBackwardBackward"),),
                            "Hardsigmoid")

    return F._maybe_inplace(input, op, inplace)


# ---- modules -------------------------------------------------------------------------------------------------
class RReLU(Module):
    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):  # noqa: A002
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class _Shrink(Module):
    _fn = None

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):  # noqa: A002
        return type(self)._fn(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    _fn = staticmethod(hardshrink)


class Softshrink(_Shrink):
    _fn = staticmethod(softshrink)


class Tanhshrink(Module):
    def forward(self, input):  # noqa: A002
        return F.tanhshrink(input)


class Softsign(Module):
    def forward(self, input):  # noqa: A002
        return F.softsign(input)


class Threshold(Module):
    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):  # noqa: A002
        return globals()["threshold"](input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class CELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):  # noqa: A002
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class PReLU(Module):
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        self.num_parameters, self.init = num_parameters, init
        super().__init__()
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)   # the module: ``init`` the number is only the attribute

    def forward(self, input):  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Hardsigmoid(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return F.hardsigmoid(input, self.inplace)


class AlphaDropout(_DropoutNd):
    def forward(self, input):  # noqa: A002
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    def forward(self, input):  # noqa: A002
        return F.feature_alpha_dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    def forward(self, input):  # noqa: A002
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    def forward(self, input):  # noqa: A002
        return F.dropout3d(input, self.p, self.training, self.inplace)


class ChannelShuffle(Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):  # noqa: A002
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class LocalResponseNorm(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):  # noqa: A002
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Softmax2d(Module):
    def forward(self, input):  # noqa: A002
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class Bilinear(Module):
    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
