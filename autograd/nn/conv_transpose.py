"""``Conv1d``, ``ConvTranspose1d``, ``ConvTranspose2d``: torch's parameter shapes and initialisation, forward
through :mod:`autograd.nn.functional_layers` (a transposed convolution is conv2d's input-gradient map)."""
from __future__ import annotations

from ..creation import empty
from . import functional as F
from .conv import Conv2d, check_groups, n_tuple
from .module import Module
from .parameter import Parameter


class Conv1d(Conv2d):
    """Conv2d's checks and initialisation, with 1-tuples and a (out, in // groups, k) weight."""

    _n = 1

    def _conv_forward(self, input, weight, bias):  # noqa: A002
        return F.conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class _ConvTransposeNd(Module):
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        n = self._n
        check_groups(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = n_tuple(kernel_size, n), n_tuple(stride, n)
        self.padding, self.dilation = n_tuple(padding, n), n_tuple(dilation, n)
        self.output_padding = n_tuple(output_padding, n)
        self.groups, self.padding_mode, self.transposed = groups, padding_mode, True
        self.weight = Parameter(empty(in_channels, out_channels // groups, *self.kernel_size, device=device,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = Conv2d.reset_parameters

    def _output_padding(self, input, output_size):  # noqa: A002
        if output_size is None:
            return self.output_padding
        n = self._n
        output_size = list(output_size)[-n:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must have {n} or "
                             f"{n + 2} elements (got {len(output_size)})")
        pads = []
        for d in range(n):
            size = input.shape[input.ndim - n + d]
            lo = ((size - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1)
                  + 1)
            hi = lo + self.stride[d] - 1
            if not lo <= output_size[d] <= hi:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes range from "
                                 f"{lo} to {hi} (for an input of {list(input.shape[2:])})")
            pads.append(output_size[d] - lo)
        return tuple(pads)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if any(self.padding):
            s += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            s += f", dilation={self.dilation}"
        if any(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(_ConvTransposeNd):
    _n = 2

    def forward(self, input, output_size=None):  # noqa: A002
        op = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    _n = 1

    def forward(self, input, output_size=None):  # noqa: A002
        op = self._output_padding(input, output_size)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                  self.dilation)


__all__ = ["Conv1d", "ConvTranspose1d", "ConvTranspose2d"]
