"""torch's remaining small shape, view and product functions: the in-place view ops (``squeeze_``,
``unsqueeze_``, ``t_``, ``transpose_`` / ``swapaxes_`` / ``swapdims_``: the tensor itself takes the new
shape, as torch), ``tril_`` / ``triu_`` / ``cumsum_`` / ``cumprod_``, ``ravel``, ``reshape_as``, ``select``
(a view), ``sum_to_size``, ``argwhere``, ``inner``, ``vdot``, ``ger``, ``dist``, ``mH`` /
``H`` / ``adjoint``, the ``unsafe_`` splits, ``unravel_index``, and the small queries and conversions
(``ndimension``, ``get_device``, ``is_nonzero``, ``is_same_size``, ``new_empty_strided``, ``short`` /
``byte`` / ``char``). Each is composed of recorded ops, so gradients to any order are theirs. Gathered into
``torch.<name>`` by :mod:`.tensor_aliases`.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend, creation, dtypes, grad_mode
from ..graph.views import _check_view_inplace, bump
from ..tensor import Tensor
from . import composites, linalg, reduction, selection, shape, shape_more
from .basic import record, register
from .inplace import _make_inplace
from .shape import _dim


# ---- in-place view ops -------------------------------------------------------------------------------------------
def _check_rebind(self):
    """torch's refusals for an in-place op on ``self`` under grad mode: a leaf that requires grad, a view of one,
    an output of a multi-view op or a view taken in no_grad mode of a base that requires grad."""
    if not grad_mode.is_grad_enabled():
        return
    info = self._view
    if info is None:
        if self.requires_grad and self._node is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    elif info.base.requires_grad:
        _check_view_inplace(self, info)


def _view_inplace(view_op, name):
    """The in-place form of a view op: ``self`` takes the view's array, graph node and (for a view) view record,
    so it keeps sharing its storage and version counter with its base and aliases; the version is bumped."""
    def method(self, *args, **kwargs):
        _check_rebind(self)
        v = view_op(self, *args, **kwargs)
        self._data = v._data
        if self._view is not None:
            self._view = v._view
        if v._node is not None:
            self._node = v._node
            self.requires_grad = True
        bump(self)
        if self._view is not None:
            # a recorded node is this view's current one; without one (no_grad), rebuild it off the base when used
            self._view.ver = self._counter()[0] if v._node is not None else -1
        return self

    method.__name__ = name
    return method


def _t_checked(x):
    if x.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return shape.t(x)


Tensor.squeeze_ = _view_inplace(shape.squeeze, "squeeze_")
Tensor.unsqueeze_ = _view_inplace(shape.unsqueeze, "unsqueeze_")
Tensor.t_ = _view_inplace(_t_checked, "t_")
Tensor.transpose_ = _view_inplace(shape.transpose, "transpose_")
Tensor.swapaxes_ = _view_inplace(shape.transpose, "swapaxes_")
Tensor.swapdims_ = _view_inplace(shape.transpose, "swapdims_")

# value-changing in-place forms of existing ops (written into self's storage, recorded as such)
Tensor.tril_ = _make_inplace(shape_more.tril, "tril_")
Tensor.triu_ = _make_inplace(shape_more.triu, "triu_")
Tensor.cumsum_ = _make_inplace(reduction.cumsum, "cumsum_")
Tensor.cumprod_ = _make_inplace(selection.cumprod, "cumprod_")


# ---- views and reshapes ----------------------------------------------------------------------------------------
@register("ravel")
def ravel(input):  # noqa: A002
    """The elements as one dimension: a view of a contiguous tensor, else a contiguous copy (as torch)."""
    return shape.reshape(input if input.is_contiguous() else shape.contiguous(input), (-1,))


@register("reshape_as")
def reshape_as(input, other):  # noqa: A002
    return shape.reshape(input, tuple(other.shape))


@register("select")
def select(input, dim, index):  # noqa: A002
    """The slice at ``index`` of ``dim``, that dimension removed: a view."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _dim(dim, input.ndim)
    index = int(index.item() if isinstance(index, Tensor) else index)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
                         f"dimension {d}")
    return shape._getitem(input, (slice(None),) * d + (index % n,))


@register("sum_to_size")
def sum_to_size(input, *size):  # noqa: A002
    """``input`` summed down to ``size`` (which must expand to ``input``'s shape); ``input`` itself when the
    shapes are the same, as torch."""
    size = shape._shape_arg(size)
    have = tuple(input.shape)
    lead = len(have) - len(size)
    if lead < 0 or any(s != 1 and s != have[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(have)}}}.")
    if size == have:
        return input
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and have[lead + i] != 1)
    out = reduction.sum(input, axes, keepdim=True) if axes else input
    return shape.reshape(out, size)


@register("argwhere")
def argwhere(input):  # noqa: A002
    """The indices of the non-zero elements, one row each (``nonzero`` under numpy's name)."""
    return composites.nonzero(input)


def _matrix_view(input, what, ndim_ok):  # noqa: A002
    if not ndim_ok(input.ndim):
        raise RuntimeError(what.format(input.ndim))
    t = shape.transpose(input, -2, -1)
    return t.conj() if t.dtype.kind == "c" else t


def _m_h(self):
    return _matrix_view(self, "tensor.mH is only supported on matrices or batches of matrices. Got {}-D tensor.",
                        lambda n: n >= 2)


def _h(self):
    if self.ndim == 0:
        warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=2)
        return self.conj() if self.dtype.kind == "c" else self
    hint = " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""
    return _matrix_view(self, "tensor.H is only supported on matrices (2-D tensors). Got {}-D tensor." + hint,
                        lambda n: n == 2)


@register("adjoint")
def adjoint(input):  # noqa: A002
    """The transpose of the last two dimensions (conjugated for complex tensors): a view."""
    return _matrix_view(input, "tensor.adjoint() is only supported on matrices or batches of matrices. Got {}-D "
                        "tensor.", lambda n: n >= 2)


Tensor.mH = property(_m_h)
Tensor.H = property(_h)


# ---- products and distances --------------------------------------------------------------------------------------
@register("inner")
def inner(input, other):  # noqa: A002
    """Sums over the last dimension of both: shape ``input.shape[:-1] + other.shape[:-1]``; a product with a
    0-d operand."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    if input.dtype != other.dtype:
        raise RuntimeError("both inputs should have same dtype")
    k = input.shape[-1]
    flat = linalg.matmul(shape.reshape(input, (-1, k)), shape.transpose(shape.reshape(other, (-1, k)), 0, 1))
    return shape.reshape(flat, tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


@register("vdot")
def vdot(input, other):  # noqa: A002
    """The dot product of two 1-D tensors of one dtype (the first conjugated for complex tensors)."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{dtypes.torch_name(input.dtype)} and {dtypes.torch_name(other.dtype)}")
    if input.shape != other.shape:
        n, m = input.shape[0], other.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    return linalg.matmul(input.conj() if input.dtype.kind == "c" else input, other)


@register("ger")
def ger(input, vec2):  # noqa: A002
    """``outer`` under its old name: the product of every pair of elements of two 1-D tensors."""
    for name, v in (("vec1", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return linalg.outer(input, vec2)


@register("dist")
def dist(input, other, p=2):  # noqa: A002
    """The ``p``-norm of ``input - other`` (broadcast)."""
    diff = input - other
    if not (diff.dtype.kind in "fc" or diff.dtype == dtypes.bfloat16):
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                           f"{dtypes.torch_name(diff.dtype)} instead.")
    return reduction.norm(diff, float(p.item() if isinstance(p, Tensor) else p))


# ---- splits whose pieces autograd does not treat as views ---------------------------------------------------------
def _unsafe_pieces(input, sizes, dim, name):  # noqa: A002
    """One piece per size along ``dim``: each shares the storage (as torch's unsafe_ splits) but is recorded
    as an op of its own, not as a view (no view record, its own version counter), so in-place ops on it are
    allowed and do not reach the input's graph."""
    X = input._data
    xs = X.shape
    pieces, lo = [], 0
    for s in sizes:
        key = (slice(None),) * dim + (slice(lo, lo + s),)
        pieces.append(record(X[key], (input,), lambda o, g, key=key: (o.index_backward(g, xs, key),), name,
                             saved=()))
        lo += s
    return tuple(pieces)


@register("unsafe_split")
def unsafe_split(input, split_size, dim=0):  # noqa: A002
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    if split_size == 0 and n:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
    if split_size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={split_size}")
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) if split_size else [0]
    return _unsafe_pieces(input, sizes or [0], d, "UnsafeSplit")


@register("unsafe_split_with_sizes")
def unsafe_split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    d = _dim(dim, input.ndim)
    sizes = [int(s) for s in split_sizes]
    if sum(sizes) != input.shape[d] or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {input.shape[d]} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={sizes}")
    return _unsafe_pieces(input, sizes, d, "UnsafeSplitWithSizes")


@register("unsafe_chunk")
def unsafe_chunk(input, chunks, dim=0):  # noqa: A002
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[_dim(dim, input.ndim)]
    return unsafe_split(input, max(-(-n // chunks), 1), dim)


# ---- index arithmetic ------------------------------------------------------------------------------------------
def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of each flat (C-order) index: one int64 tensor per dimension,
    each of ``indices``' shape. Indices wrap around as Python's floor modulo does (torch does not check them)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): expected 'indices' to be a Tensor, but got {type(indices).__name__}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got torch.{indices.dtype}")
    dims = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    dims = tuple(int(s.item() if isinstance(s, Tensor) else s) for s in dims)
    if any(s < 0 for s in dims):
        raise ValueError(f"'shape' cannot have negative values, but got {dims}")
    rest = indices._data.astype(np.int64)
    xp = backend.array_module(rest)
    coords = []
    for size in reversed(dims):
        coords.append(xp.mod(rest, size) if size else xp.zeros_like(rest))
        rest = xp.floor_divide(rest, size) if size else rest
    return tuple(Tensor._wrap(c) for c in reversed(coords))


# ---- queries and conversions -----------------------------------------------------------------------------------
def _get_device(self):
    dev = self.device
    return -1 if dev.type == "cpu" else (dev.index or 0)


def _is_nonzero(self):
    n = self.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(self._data.reshape(()) != 0)


def _is_same_size(self, other):
    return tuple(self.shape) == tuple(other.shape)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False):
    """A tensor of ``size`` laid out with the given element ``stride``s over a storage just large enough;
    ``self``'s dtype and device unless given. Its values are zeros (torch leaves them uninitialised)."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    dt = dtypes.as_dtype(dtype) or self.dtype
    dev = backend.as_device(device) if device is not None else self.device
    extent = 0 if math.prod(size) == 0 else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    storage = creation.zeros(extent, dtype=dt, device=dev)._data
    xp = backend.array_module(storage)
    out = Tensor._wrap(xp.lib.stride_tricks.as_strided(storage, shape=size,
                                                       strides=tuple(s * storage.itemsize for s in stride)))
    return out.requires_grad_(True) if requires_grad else out


Tensor.ndimension = Tensor.dim
Tensor.get_device = _get_device
Tensor.is_nonzero = _is_nonzero
Tensor.is_same_size = _is_same_size
Tensor.new_empty_strided = _new_empty_strided
Tensor.short = lambda self: self.to(dtypes.int16)
Tensor.byte = lambda self: self.to(dtypes.uint8)
Tensor.char = lambda self: self.to(dtypes.int8)

EXPORTS = ("ravel", "select", "argwhere", "adjoint", "inner", "vdot", "ger", "dist", "unsafe_split",
           "unsafe_split_with_sizes", "unsafe_chunk", "unravel_index")
