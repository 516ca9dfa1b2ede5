"""In-place Tensor methods (``add_``, ``addcmul_``, ``lerp_``, ``copy_``, ``fill_``, ...).

Each one computes the out-of-place result and hands it to :func:`autograd.ops.basic.inplace`, which
writes it into the existing storage (views, aliases and flat buffers see it; the version counter is
bumped) and, under grad mode, gives the tensor (or a view's base) the new graph node. When recorded, the
op runs on a stand-in holding a copy of the old value (:func:`autograd.graph.views.protect`), so its backward
keeps the value the write overwrites. Scalars may be Python numbers or 0-d Tensors; a 0-d Tensor that
requires grad (a differentiable learning rate) gets its gradient through these ops.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import elementwise as ew
from ..graph.views import check_overlap, protect, write
from .basic import _cow, _inplace_cow, arr, inplace, record, register


def _make_inplace(fn, name):
    def method(self, *args, **kwargs):
        src, args = protect(self, args)
        return inplace(self, fn(src, *args, **kwargs))

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


@register("copy_")
def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast, moved across devices) into ``self``; differentiable w.r.t. ``src``."""
    xp = backend.array_module(self._data)
    if isinstance(src, Tensor):
        check_overlap(self, (src,))
        s_dev, s_dtype, s_shape = src.device, src.dtype, src.shape
        moved = s_dev != self.device
        data = backend.to_device(src._data, self.device) if moved else src._data
        try:
            out = xp.broadcast_to(data, self._data.shape)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({self.shape}) must match the size of tensor b "
                               f"({src.shape})") from None
        if out.dtype != self.dtype:
            out = out.astype(self.dtype)

        def rule(o, g):   # the engine casts the gradient to src's dtype
            g = o.sum_to(g, s_shape)
            return None, o.to_device(g, s_dev) if moved else g

        res = record(out, (self, src), rule, "Copy", saved=())
    else:
        out = xp.broadcast_to(xp.asarray(arr(src, self._data), dtype=self.dtype), self._data.shape)
        res = record(out, (self,), _fill_rule, "Fill", saved=())
    # no cast check: copy_ may narrow (float into int) like torch
    return _inplace_cow(self, res) if getattr(_cow, "on", False) else write(self, res)


def _fill_rule(o, g):
    return (None,)


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


@register("uniform_")
def uniform_(self, a=0.0, b=1.0, generator=None):
    from ..creation import random_array

    return copy_(self, Tensor._wrap(random_array("uniform", self.shape, self.dtype, self.device, generator,
                                                 low=a, high=b)))


@register("normal_")
def normal_(self, mean=0.0, std=1.0, generator=None):
    from ..creation import random_array

    return copy_(self, Tensor._wrap(random_array("normal", self.shape, self.dtype, self.device, generator,
                                                 loc=mean, scale=std)))

