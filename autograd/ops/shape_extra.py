"""More of torch's shape, indexing and combination functions, composed from the differentiable ops of
:mod:`.shape` / :mod:`.shape_more` / :mod:`.scatter` so that their gradients (to any order) come from those
ops' rules, and views where torch gives views (``broadcast_to``, ``atleast_*d``, ``tensor_split`` and the
``h/v/dsplit`` pieces): broadcasting (``broadcast_to/_tensors/_shapes``), stacking (``hstack``, ``vstack``,
``dstack``, ``column_stack``), splitting, ``take``/``take_along_dim``, ``index_copy``/``index_fill``,
``narrow_copy``, ``rot90``, ``fill_diagonal_`` and ``unique_consecutive``. The rest (``scatter_reduce``,
``tensordot``, ``cdist``, ...) lives in :mod:`.shape_extra2` and is listed in this module's ``EXPORTS``."""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes
from ..tensor import Size, Tensor
from . import shape, shape_more
from .basic import inplace, register
from .inplace import _make_inplace
from .scatter import index_put, masked_fill
from .shape import _dim
from . import shape_extra2 as _more


# ---- broadcasting ---------------------------------------------------------------------------------------
def broadcast_shapes(*shapes):
    """The shape all of ``shapes`` (sequences of sizes, or single ints) broadcast to, as a ``Size``."""
    as_tuples = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes]
    ndim = max((len(s) for s in as_tuples), default=0)
    result = [1] * ndim
    for s in as_tuples:
        for i, n in enumerate(s):
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(s)}")
            k = ndim - len(s) + i
            if result[k] == 1:
                result[k] = n
    for arg, s in enumerate(as_tuples):
        for i, n in enumerate(s):
            k = ndim - len(s) + i
            if n not in (1, result[k]):
                raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {i - len(s)}! Mismatching "
                                   f"argument at index {arg} had {tuple(s)}; but expected shape should be "
                                   f"broadcastable to {result}")
    return Size(result)


@register("broadcast_to")
def broadcast_to(input, *sizes, size=None):  # noqa: A002
    """``input`` expanded to ``size`` (a view, as ``expand``); the sizes may also be given one by one."""
    size = shape._shape_arg(sizes) if size is None else tuple(int(n) for n in size)
    lead = len(size) - input.ndim
    for i in reversed(range(max(lead, 0), len(size))):   # torch reports the last mismatching dimension first
        have = input.shape[i - lead]
        if size[i] != -1 and have not in (1, size[i]):
            raise RuntimeError(f"The expanded size of the tensor ({size[i]}) must match the existing size ({have}) "
                               f"at non-singleton dimension {i}.  Target sizes: {list(size)}.  Tensor sizes: "
                               f"{list(input.shape)}")
    return shape.expand(input, size)


def broadcast_tensors(*tensors):
    """Every tensor expanded (as a view) to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ndim = max((t.ndim for t in tensors), default=0)
    common = [1] * ndim
    for t in tensors:
        for i, n in enumerate(t.shape):
            k = ndim - t.ndim + i
            if n != 1 and common[k] not in (1, n):
                raise RuntimeError(f"The size of tensor a ({common[k]}) must match the size of tensor b ({n}) at "
                                   f"non-singleton dimension {k}")
            if common[k] == 1:
                common[k] = n
    return tuple(shape.expand(t, tuple(common)) for t in tensors)


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


swapdims = swapaxes = shape.transpose


@register("narrow_copy")
def narrow_copy(input, dim, start, length):  # noqa: A002
    """``narrow`` as a new tensor (not a view)."""
    return shape_more.narrow(input, dim, start, length).clone()


@register("rot90")
def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Rotated by ``k`` quarter turns from ``dims[0]`` towards ``dims[1]``: a flip and a transpose (a copy)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _dim(dims[0], input.ndim), _dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    turns = k % 4
    if turns == 1:
        return shape.transpose(shape_more.flip(input, d1), d0, d1)
    if turns == 2:
        return shape_more.flip(input, (d0, d1))
    if turns == 3:
        return shape.transpose(shape_more.flip(input, d0), d0, d1)
    return input.clone()


# ---- taking and writing along an index ------------------------------------------------------------------
def _long_index(index, message):
    """``index``'s array; torch's ``message`` (with ``{}`` for the dtype) unless it is an int64 tensor."""
    if not isinstance(index, Tensor):
        raise TypeError(f"expected a Tensor as index, got {type(index).__name__}")
    if index.dtype != np.int64:
        raise RuntimeError(message.format(dtypes.torch_name(index.dtype)))
    return index._data


@register("take")
def take(input, index):  # noqa: A002
    """The elements of ``input`` (read as 1-d, C order) at ``index``, in ``index``'s shape."""
    I = _long_index(index, "take(): Expected a long tensor for index, but got {}")
    n = input.numel()
    bad = (I < -n) | (I >= n)
    if bad.any():
        raise IndexError(f"out of range: tried to access index {int(I[bad].reshape(-1)[0])} on a tensor of {n} "
                         f"elements.")
    return shape._getitem(shape.reshape(input, -1), I % max(n, 1))


@register("take_along_dim")
def take_along_dim(input, indices, dim=None):  # noqa: A002
    """``gather`` along ``dim`` with ``input`` and ``indices`` broadcast against each other in the other
    dimensions; as torch, indices along a ``dim`` are taken modulo its size, while with ``dim=None`` (both
    flattened) they must lie in [0, numel)."""
    I = _long_index(indices, "torch.take_along_dim(): dtype of indices should be Long but got {}")
    if dim is None:
        flat = shape.reshape(input, -1)
        n = flat.shape[0]
        bad = (I < 0) | (I >= n)
        if bad.any():
            raise RuntimeError(f"index {int(I[bad].reshape(-1)[0])} is out of bounds for dimension 0 with size {n}")
        return shape.gather(flat, 0, Tensor._wrap(I.reshape(-1)))
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    d = _dim(dim, input.ndim)
    others = broadcast_shapes(input.shape[:d] + (1,) + input.shape[d + 1:],
                              indices.shape[:d] + (1,) + indices.shape[d + 1:])
    x_shape = others[:d] + (input.shape[d],) + others[d + 1:]
    i_shape = others[:d] + (indices.shape[d],) + others[d + 1:]
    x = shape.expand(input, x_shape) if input.shape != x_shape else input
    idx = backend.array_module(I).broadcast_to(I, i_shape)
    return shape.gather(x, d, Tensor._wrap(idx % max(x.shape[d], 1)))


@register("index_copy")
def index_copy(input, dim, index, source):  # noqa: A002
    """``input`` with its slices ``index[i]`` along ``dim`` replaced by the slices ``i`` of ``source``."""
    I = _long_index(index, "index_copy_(): Expected a long tensor for index, but got {}")
    if I.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {I.ndim})")
    I = I.reshape(-1)
    d = _dim(dim, input.ndim)
    x = shape.reshape(input, (1,)) if input.ndim == 0 else input
    src = shape.reshape(source, (1,) * max(x.ndim, 1)) if source.ndim == 0 else source
    x_slice = x.shape[:d] + x.shape[d + 1:]
    s_slice = src.shape[:d] + src.shape[d + 1:]
    if src.ndim != x.ndim or x_slice != s_slice:
        k = next((j for j in range(min(len(x_slice), len(s_slice))) if x_slice[j] != s_slice[j]), 0)
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination "
                           f"slice shape: {x_slice[k] if x_slice else 1} at dimension {k} and source slice shape: "
                           f"{s_slice[k] if s_slice else 1} at dimension {k}.")
    if I.size != src.shape[d]:
        raise IndexError(f"index_copy_(): Number of indices ({I.size}) should be equal to source.size(dim) "
                         f"({src.shape[d]})")
    if input.dtype != source.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{dtypes.torch_name(input.dtype)} and (source) {dtypes.torch_name(source.dtype)}")
    n = x.shape[d]
    bad = (I < 0) | (I >= n)
    if bad.any():
        raise IndexError(f"index_copy_(): index {int(I[bad][0])} is out of bounds for dimension {d} with size {n}")
    moved = index_put(shape_more.movedim(x, d, 0), (I,), shape_more.movedim(src, d, 0))
    return shape.reshape(shape_more.movedim(moved, 0, d), input.shape)


@register("index_fill")
def index_fill(input, dim, index, value):  # noqa: A002
    """``input`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor, which
    gets a gradient); negative indices count from the end."""
    I = index._data if isinstance(index, Tensor) else None
    if I is None or I.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if I.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    d = _dim(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    I = I.reshape(-1)
    bad = (I < -n) | (I >= n)
    if bad.any():
        raise IndexError(f"index {int(I[bad][0])} is out of bounds for dimension {d} with size {n}")
    xp = backend.array_module(input._data)
    hit = xp.zeros(n, dtype=bool)
    hit[I % max(n, 1)] = True
    mask = hit.reshape((1,) * d + (n,) + (1,) * (input.ndim - d - 1)) if input.ndim else hit.reshape(())
    return masked_fill(input, Tensor._wrap(mask), value)


# in place: the result written into ``input`` (views and version counter as every in-place op)
Tensor.index_copy_ = _make_inplace(index_copy, "index_copy_")
Tensor.index_fill_ = _make_inplace(index_fill, "index_fill_")


@register("fill_diagonal_")
def fill_diagonal_(input, fill_value, wrap=False):  # noqa: A002
    """Set the main diagonal (all indices equal) to ``fill_value`` in place; ``wrap`` lets a tall matrix's
    diagonal start again every ``columns + 1`` rows."""
    if input.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    shp = input.shape
    if input.ndim > 2 and len(set(shp)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    # in the C-order flattening, consecutive diagonal entries are one step of every dimension apart
    step = sum(int(np.prod(shp[k + 1:], dtype=np.int64)) for k in range(input.ndim))
    count = min(shp)
    if wrap and input.ndim == 2 and shp[0] > shp[1]:
        count = -(-input.numel() // step)
    xp = backend.array_module(input._data)
    mask = xp.zeros(input.numel(), dtype=bool)
    mask[xp.arange(count) * step] = True
    return inplace(input, masked_fill(input, Tensor._wrap(mask.reshape(shp)), fill_value))


@register("unique_consecutive")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The values (or slices along ``dim``) with each run of equal neighbours collapsed to one, optionally with
    the index of each element's run and the run lengths. Not differentiable (as torch)."""
    X = input._data
    xp = backend.array_module(X)
    if dim is None:
        flat = X.reshape(-1)
        starts = xp.ones(flat.size, dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        inv_shape = X.shape
    else:
        d = _dim(dim, X.ndim)
        if X.size == 0 and X.shape[d] != 0:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
        moved = xp.moveaxis(X, d, 0).reshape(X.shape[d], X.size // max(X.shape[d], 1))
        starts = xp.ones(X.shape[d], dtype=bool)
        starts[1:] = (moved[1:] != moved[:-1]).any(axis=1)
        values = xp.compress(starts, X, axis=d)
        inv_shape = (X.shape[d],)
    run = xp.cumsum(starts) - 1
    out = [Tensor._wrap(values)]
    if return_inverse:
        out.append(Tensor._wrap(run.astype(np.int64).reshape(inv_shape)))
    if return_counts:
        edges = xp.flatnonzero(starts).tolist() + [starts.size]
        out.append(Tensor._wrap(xp.asarray(np.diff(edges), dtype=np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


EXPORTS = ("broadcast_shapes", "broadcast_to", "broadcast_tensors", "atleast_1d", "atleast_2d", "atleast_3d",
           "hstack", "vstack", "row_stack", "dstack", "column_stack", "tensor_split", "hsplit", "vsplit", "dsplit",
           "split_with_sizes", "swapdims", "swapaxes", "narrow_copy", "rot90", "take", "take_along_dim",
           "index_copy", "index_fill", "unique_consecutive") + _more.EXPORTS
globals().update({_name: getattr(_more, _name) for _name in _more.EXPORTS})
