"""torch's stride-level API: the layout queries ``stride``, ``storage_offset``, ``untyped_storage``
(``UntypedStorage``), ``dim_order``, ``nbytes`` / ``itemsize`` / ``is_signed``, and ``EXPORTS``, the
``torch.<name>`` functions of the family (:mod:`autograd.functional_api` gathers them). The storage model they
read (torch's strides, a tensor's storage) and the views defined by strides (``unfold``, ``as_strided`` and
their copies and scatter, with their backward rules) live in :mod:`.strided_views`; importing this module
imports that one, which attaches their Tensor methods.
"""
from __future__ import annotations

import builtins

from .. import backend
from ..tensor import Tensor
from . import strided_views
from .basic import register
from .shape import _dim
from .strided_views import _ASKED_STRIDES, _index, _storage, offset_in_storage, torch_strides

EXPORTS = ("as_strided", "as_strided_copy", "as_strided_scatter", "unfold_copy")   # defined in strided_views
globals().update({_name: getattr(strided_views, _name) for _name in EXPORTS})


# ---- metadata -----------------------------------------------------------------------------------------
@register("stride")
def stride(x, dim=None):
    """The element strides of ``x`` (one dimension's with ``dim``), as torch reports them."""
    asked = _ASKED_STRIDES.get(id(x)) if _ASKED_STRIDES else None
    if asked is not None and asked[0]() is x and asked[1] is x._data:
        strides = asked[2]
    else:
        strides = torch_strides(x._data)
    if dim is None:
        return strides
    d = _index(dim, "dim", "stride", 1)
    if not strides:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    return strides[_dim(d, len(strides))]


register("storage_offset")(offset_in_storage)


class UntypedStorage:
    """The bytes a tensor's elements live in (``Tensor.untyped_storage()``), as far as this library has one:
    its size, address and device. Two tensors share memory when their storages have the same ``data_ptr``."""

    def __init__(self, storage):
        self._storage = storage

    def nbytes(self):
        return self._storage.nbytes

    size = nbytes

    def __len__(self):
        return self._storage.nbytes

    def data_ptr(self):
        return self._storage.start

    def element_size(self):
        return 1

    @property
    def device(self):
        return backend.device_of(self._storage.array)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def __repr__(self):
        return f"<UntypedStorage of {self.nbytes()} bytes on {self.device} at {self.data_ptr():#x}>"


@register("untyped_storage")
def untyped_storage(x):
    return UntypedStorage(_storage(x))


Tensor.nbytes = property(lambda self: int(self._data.size) * self._data.itemsize,
                         doc="Bytes of the elements (``numel() * itemsize``; expanded elements count each time).")
Tensor.itemsize = property(lambda self: self._data.itemsize, doc="Bytes of one element.")


@register("is_signed")
def is_signed(x):
    """Whether the dtype holds negative values (floating, complex and signed integer dtypes)."""
    return x.is_floating_point() or x._data.dtype.kind in "ic"


# memory formats, as this library names them (``autograd.contiguous_format`` is the string "preserve_format")
_CONTIGUOUS_FORMATS = ("contiguous_format", "preserve_format", "torch.contiguous_format")
_CHANNELS_LAST = {"channels_last": 4, "torch.channels_last": 4, "channels_last_3d": 5, "torch.channels_last_3d": 5}


def _contiguous_in(x, memory_format):
    """``x.is_contiguous(memory_format=...)`` for this library's memory formats."""
    name = str(memory_format)
    if name in _CONTIGUOUS_FORMATS:
        return x.is_contiguous()
    nd = _CHANNELS_LAST.get(name)
    if nd is None:
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    if x.ndim != nd:
        return False
    # channels last: the channel dimension (1) innermost, then the spatial ones, then the batch
    order = (1,) + tuple(range(nd - 1, 1, -1)) + (0,)
    shape, strides, expected = x.shape, x.stride(), 1
    for d in order:
        if shape[d] == 0:
            return True
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def _inner_first(shape, strides, a, b):
    """Whether dimension ``a`` must lie inside ``b`` (-1), outside it (1), or either way (0): a larger stride
    is further out; equal strides put the longer dimension further out; a stride 0 says nothing."""
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0
    if sa == sb:
        return 1 if _longer(shape[a], shape[b]) else 0
    return -1 if sa < sb else 1


def _longer(n, m):
    """``n > m`` for lengths, where an empty dimension counts as the shortest."""
    if n == 0:
        return False
    return m == 0 or n > m


@register("dim_order")
def dim_order(x, *, ambiguity_check=False):
    """The dimensions from the outermost to the innermost in memory (torch's rules for a layout that
    admits several orders, and its ``ambiguity_check``)."""
    formats = None
    if not isinstance(ambiguity_check, builtins.bool):
        if not isinstance(ambiguity_check, list) or not all(isinstance(f, str) for f in ambiguity_check):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
        formats = ambiguity_check
    shape, strides = tuple(x.shape), x.stride()
    nd = len(shape)
    if ambiguity_check is not False:
        several = 1 in shape or any(strides[i] == strides[i + 1] for i in range(nd - 1))
        if several and sum(_contiguous_in(x, f) for f in formats or ()) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                               "memory formats.")
    if nd <= 1:
        return tuple(range(nd))
    contiguous = x.is_contiguous()
    channels_last = nd == 4 and _contiguous_in(x, "channels_last")
    if contiguous and not channels_last:
        return tuple(range(nd))
    if channels_last and not contiguous:
        return (0,) + tuple(range(2, nd)) + (1,)
    # from the innermost out: each dimension, taken from the last to the first, moves inwards past every
    # dimension that must lie outside it, and stops at the first one that must lie inside it
    inner_to_outer = []
    for d in range(nd - 1, -1, -1):
        pos = len(inner_to_outer)
        inner_to_outer.append(d)
        for j in range(pos - 1, -1, -1):
            order = _inner_first(shape, strides, inner_to_outer[j], d)
            if order > 0:
                inner_to_outer[j], inner_to_outer[pos] = d, inner_to_outer[j]
                pos = j
            elif order < 0:
                break
    if ambiguity_check is not False:
        for i in range(nd - 1):
            if _inner_first(shape, strides, inner_to_outer[i], inner_to_outer[i + 1]) != -1:
                raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(inner_to_outer))

