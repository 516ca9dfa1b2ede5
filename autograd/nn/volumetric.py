"""3-D convolution and pooling, the remaining 2-D pools (adaptive max, LP, unpooling, fractional max) and grid
sampling: ``torch.nn.functional``'s functions and ``torch.nn``'s modules of that family.

The ops live in :mod:`autograd.ops.nn_conv3d`, :mod:`~autograd.ops.nn_pool3d`, :mod:`~autograd.ops.nn_pool_more`
and :mod:`~autograd.ops.nn_grid_sample`; here are torch's Python-level signatures, argument handling and the
modules (parameters, initialisation, ``extra_repr`` as torch's).
"""
from __future__ import annotations

from .. import creation
from ..ops import nn_grid_sample as _gs, nn_pool_more as _more
from ..ops.nn_conv3d import conv3d, conv_transpose3d, triple  # noqa: F401  (FUNCTIONAL)
from ..ops.nn_pool import pair
from ..ops.nn_pool3d import (adaptive_avg_pool3d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool3d,  # noqa: F401
                             max_pool3d)
from .conv import Conv2d
from .conv_transpose import _ConvTransposeNd
from .group_norm import Upsample
from . import functional as F
from .module import Module

affine_grid = _gs.affine_grid
grid_sample = _gs.grid_sample


# ---- functional --------------------------------------------------------------------------------------------
def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):  # noqa: A002
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):  # noqa: A002
    return adaptive_max_pool3d(input, output_size, return_indices=True)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _more.lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _more.lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    return _more.lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _more.max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _more.max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):  # noqa: A002
    return _more.max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, nsp):  # noqa: A002
    if output_size is None and output_ratio is None:
        raise ValueError(f"fractional_max_pool{nsp}d requires specifying either an output_size or an output_ratio")
    if _random_samples is None:
        # one uniform sample per (sample, channel, spatial axis), drawn from this library's generator
        n_batch = 1 if input.ndim == nsp + 1 else input.shape[0]
        _random_samples = creation.rand(n_batch, input.shape[-nsp - 1], nsp, dtype=input.dtype,
                                        device=input.device)
    return _more.fractional_max_pool(input, kernel_size, output_size, output_ratio, return_indices,
                                     _random_samples, nsp)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,  # noqa: A002
                          _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,  # noqa: A002
                          _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices=True, _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                                       return_indices=True, _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)


# The modules call their function through ``nn.functional`` when they run: that is where autocast's
# wrappers are installed (after this module is imported).

# ---- modules: convolution ----------------------------------------------------------------------------------
class Conv3d(Conv2d):
    """Conv2d's checks and initialisation (kaiming_uniform, a = sqrt(5)) with 3-tuples."""

    _n = 3

    def _conv_forward(self, input, weight, bias):  # noqa: A002
        return F.conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    _n = 3

    def forward(self, input, output_size=None):  # noqa: A002
        op = self._output_padding(input, output_size)
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                self.dilation)


# ---- modules: pooling --------------------------------------------------------------------------------------
class MaxPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):  # noqa: A002
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):  # noqa: A002
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool3d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):  # noqa: A002
        return F.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    _function_name = "adaptive_max_pool2d"

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):  # noqa: A002
        return getattr(F, self._function_name)(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    _function_name = "adaptive_max_pool3d"


class LPPool1d(Module):
    _function_name = "lp_pool1d"

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):  # noqa: A002
        return getattr(F, self._function_name)(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool2d(LPPool1d):
    _function_name = "lp_pool2d"


class LPPool3d(LPPool1d):
    _function_name = "lp_pool3d"


def _single(v):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),)


class MaxUnpool1d(Module):
    _n = 1
    _function_name = "max_unpool1d"

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        tup = {1: _single, 2: pair, 3: triple}[self._n]
        self.kernel_size = tup(kernel_size)
        self.stride = tup(stride if stride is not None else kernel_size)
        self.padding = tup(padding)

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return getattr(F, self._function_name)(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(MaxUnpool1d):
    _n = 2
    _function_name = "max_unpool2d"


class MaxUnpool3d(MaxUnpool1d):
    _n = 3
    _function_name = "max_unpool3d"


def _float_tuple(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(float(a) for a in v)
    return (float(v),) * n


class FractionalMaxPool2d(Module):
    _n = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        tup = pair if self._n == 2 else triple
        self.kernel_size = tup(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = tup(output_size) if output_size is not None else None
        self.output_ratio = _float_tuple(output_ratio, self._n) if output_ratio is not None else None
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):  # noqa: A002
        return getattr(F, f"fractional_max_pool{self._n}d")(input, self.kernel_size, self.output_size,
                                                             self.output_ratio, self.return_indices,
                                                             self._random_samples)


class FractionalMaxPool3d(FractionalMaxPool2d):
    _n = 3


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


FUNCTIONAL = ("conv3d", "conv_transpose3d", "max_pool3d", "max_pool3d_with_indices", "avg_pool3d",
              "adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d",
              "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d",
              "max_unpool2d", "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
              "fractional_max_pool3d", "fractional_max_pool3d_with_indices", "affine_grid", "grid_sample")
MODULES = ("Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d",
           "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
           "FractionalMaxPool2d", "FractionalMaxPool3d", "UpsamplingNearest2d", "UpsamplingBilinear2d")
