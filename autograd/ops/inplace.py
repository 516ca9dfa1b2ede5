"""In-place Tensor methods (``add_``, ``addcmul_``, ``lerp_``, ``copy_``, ``fill_``, ...).

Each one computes the out-of-place result and hands it to :func:`autograd.ops.basic.inplace`: without
recording the value is written into the existing storage (views and flat buffers see it); under grad
mode the tensor is rebound to the new graph node. Scalars may be Python numbers or 0-d Tensors; a 0-d
Tensor that requires grad (a differentiable learning rate) gets its gradient through these ops.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import elementwise as ew
from .basic import arr, inplace, record, register, unbroadcast


def _make_inplace(fn, name):
    def method(self, *args, **kwargs):
        return inplace(self, fn(self, *args, **kwargs))

    method.__name__ = name
    return method


_BINARY = {"add_": ew.add, "sub_": ew.sub, "subtract_": ew.sub, "mul_": ew.mul, "multiply_": ew.mul,
           "div_": ew.div, "divide_": ew.div, "true_divide_": ew.div, "pow_": ew.pow_,
           "remainder_": ew.remainder, "addcmul_": ew.addcmul, "addcdiv_": ew.addcdiv, "lerp_": ew.lerp,
           "clamp_": ew.clamp, "clip_": ew.clamp, "clamp_min_": ew.clamp_min, "clamp_max_": ew.clamp_max,
           "maximum_": ew.maximum, "minimum_": ew.minimum, "atan2_": ew.atan2}
for _n, _fn in _BINARY.items():
    setattr(Tensor, _n, _make_inplace(_fn, _n))
for _n in ew.UNARY_NAMES:
    setattr(Tensor, _n + "_", _make_inplace(getattr(ew, _n), _n + "_"))
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ipow__ = Tensor.pow_
Tensor.__imod__ = Tensor.remainder_
Tensor.__ifloordiv__ = lambda self, o: inplace(self, ew.div(self, o, rounding_mode="floor"))


@register("copy_")
def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast, moved across devices) into ``self``; differentiable w.r.t. ``src``."""
    xp = backend.array_module(self._data)
    if isinstance(src, Tensor):
        s_dev, s_dtype, s_shape = src.device, src.dtype, src.shape
        moved = s_dev != self.device
        data = backend.to_device(src._data, self.device) if moved else src._data
        try:
            out = xp.broadcast_to(data, self._data.shape).astype(self.dtype, copy=True)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({self.shape}) must match the size of tensor b "
                               f"({src.shape})") from None

        def bw(g):
            g = unbroadcast(g, s_shape)
            g = backend.to_device(g, s_dev) if moved else g
            return None, g.astype(s_dtype, copy=False)

        res = record(out, (self, src), bw, "Copy")
    else:
        out = xp.array(xp.broadcast_to(xp.asarray(arr(src, self._data), dtype=self.dtype), self._data.shape))
        res = record(out, (self,), lambda g: (None,), "Copy")
    if res._node is None:  # plain copy into the existing storage, without a cast check (copy_ casts)
        if self.is_leaf and self.requires_grad and _grad_on():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._data[...] = out
        return self
    return inplace(self, res)  # res already has self's dtype: copy_ may narrow (float into int) like torch


def _grad_on():
    from ..grad_mode import is_grad_enabled

    return is_grad_enabled()


@register("fill_")
def fill_(self, value):
    """Fill with a number or a 0-d Tensor (differentiable w.r.t. the Tensor)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return copy_(self, value)
    return copy_(self, value)


@register("zero_")
def zero_(self):
    return copy_(self, 0)


@register("masked_fill_")
def masked_fill_(self, mask, value):
    return inplace(self, ew.where(mask, value, self))


@register("masked_fill")
def masked_fill(self, mask, value):
    return ew.where(mask, value, self)


@register("uniform_")
def uniform_(self, a=0.0, b=1.0, generator=None):
    from ..factory import random_array

    return copy_(self, Tensor._wrap(random_array("uniform", self.shape, self.dtype, self.device, generator,
                                                 low=a, high=b)))


@register("normal_")
def normal_(self, mean=0.0, std=1.0, generator=None):
    from ..factory import random_array

    return copy_(self, Tensor._wrap(random_array("normal", self.shape, self.dtype, self.device, generator,
                                                 loc=mean, scale=std)))
