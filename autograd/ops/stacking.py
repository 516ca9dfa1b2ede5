"""torch's joining and splitting functions, composed from the differentiable ops of :mod:`.shape` /
:mod:`.shape_more` (gradients to any order from their rules; views where torch gives views): ``atleast_1d/2d/3d``
(views), the stacks (``hstack``, ``vstack``/``row_stack``, ``dstack``, ``column_stack``), the splits
(``tensor_split``, ``hsplit``/``vsplit``/``dsplit``: views; ``split_with_sizes``) and ``narrow_copy``.
Gathered into ``torch.<name>`` by :mod:`.shape_extra`."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import shape, shape_more
from .basic import register
from .shape import _dim


# ---- at least n dimensions, stacking --------------------------------------------------------------------
def _atleast(tensors, ndim, lift):
    listed = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    out = tuple(t if t.ndim >= ndim else lift(t) for t in (tensors[0] if listed else tensors))
    return out[0] if len(out) == 1 and not listed else out   # a sequence gives a tuple back, as torch


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d one becomes a view of shape (1,); others are returned
    as they are)."""
    return _atleast(tensors, 1, lambda t: shape.reshape(t, (1,)))


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: (n,) -> (1, n), 0-d -> (1, 1) (views)."""
    return _atleast(tensors, 2, lambda t: shape.unsqueeze(shape.reshape(t, (1,)) if t.ndim == 0 else t, 0))


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions: (m, n) -> (m, n, 1), (n,) -> (1, n, 1), 0-d -> (1, 1, 1)."""
    def lift(t):
        if t.ndim == 0:
            return shape.reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return shape.unsqueeze(shape.unsqueeze(t, 0), 2)
        return shape.unsqueeze(t, 2)

    return _atleast(tensors, 3, lift)


def _tensor_list(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def hstack(tensors):
    """Joined along dim 1 (dim 0 when they are all 1-d), after ``atleast_1d``."""
    ts = [atleast_1d(t) for t in _tensor_list(tensors, "hstack")]
    return shape.cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Joined along dim 0 after ``atleast_2d``."""
    return shape.cat([atleast_2d(t) for t in _tensor_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors):
    """Joined along dim 2 after ``atleast_3d``."""
    return shape.cat([atleast_3d(t) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors):
    """0-d and 1-d tensors as columns (n, 1), then joined along dim 1."""
    ts = _tensor_list(tensors, "column_stack")
    return shape.cat([shape.reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in ts], 1)


# ---- splitting ------------------------------------------------------------------------------------------
@register("tensor_split")
def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,  # noqa: A002
                 tensor_indices_or_sections=None):
    """Views of ``input`` along ``dim``: ``sections`` pieces (the first ``size % sections`` one longer) or the
    pieces between the given indices (Python slice bounds: clamped, negative from the end). torch's keyword
    spellings (``sections=``, ``indices=``, ``tensor_indices_or_sections=``) are taken too."""
    indices_or_sections = _one_spec(indices_or_sections, sections, indices, tensor_indices_or_sections)
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _dim(dim, input.ndim)
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.device.type != "cpu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be on cpu")
        if spec.dtype != np.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{dtypes.torch_name(spec.dtype)}")
        if spec.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.ndim} dims")
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec._data.tolist()]
    n = input.shape[d]
    if isinstance(spec, (int, np.integer)):
        sections = int(spec)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(n, sections)
        bounds, lo = [], 0
        for k in range(sections):
            hi = lo + small + (1 if k < extra else 0)
            bounds.append((lo, hi))
            lo = hi
    else:
        cuts = [int(i) for i in spec]
        bounds = list(zip([0] + cuts, cuts + [None]))
    lead = (slice(None),) * d
    return tuple(shape._getitem(input, lead + (slice(lo, hi),)) for lo, hi in bounds)


def _one_spec(*given):
    specs = [g for g in given if g is not None]
    if len(specs) != 1:
        raise TypeError("tensor_split() expects exactly one of indices_or_sections, sections, indices or "
                        "tensor_indices_or_sections")
    return specs[0]


def _split_along(input, spec, dim, name, min_ndim):  # noqa: A002
    if input.ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension, but got a tensor "
                           f"with {input.ndim} dimensions!")
    if isinstance(spec, (int, np.integer)):
        if spec == 0 or input.shape[dim] % spec:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {input.shape[dim]} is not divisible by the split_size {spec}!")
    return tensor_split(input, spec, dim)


@register("hsplit")
def hsplit(input, indices_or_sections=None, *, sections=None, indices=None):  # noqa: A002
    spec = _one_spec(indices_or_sections, sections, indices)
    return _split_along(input, spec, 1 if input.ndim > 1 else 0, "hsplit", 1)


@register("vsplit")
def vsplit(input, indices_or_sections=None, *, sections=None, indices=None):  # noqa: A002
    return _split_along(input, _one_spec(indices_or_sections, sections, indices), 0, "vsplit", 2)


@register("dsplit")
def dsplit(input, indices_or_sections=None, *, sections=None, indices=None):  # noqa: A002
    return _split_along(input, _one_spec(indices_or_sections, sections, indices), 2, "dsplit", 3)


@register("split_with_sizes")
def split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    """Views of the given sizes along ``dim`` (one multi-output op, as torch: not writable in place)."""
    return shape.split(input, [int(s) for s in split_sizes], dim)


@register("narrow_copy")
def narrow_copy(input, dim, start, length):  # noqa: A002
    """``narrow`` as a new tensor (not a view)."""
    return shape_more.narrow(input, dim, start, length).clone()


EXPORTS = ("atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "narrow_copy")
