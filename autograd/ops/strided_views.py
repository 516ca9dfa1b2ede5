"""The storage model under torch's stride-level API, and the two views defined by strides: ``unfold`` (and
``unfold_copy``) and ``as_strided`` (and ``as_strided_copy``, ``as_strided_scatter``), with their backward rules.
The queries (``stride``, ``storage_offset``, ``untyped_storage``, ``dim_order`` ...) and ``EXPORTS`` are in
:mod:`.strided`, which builds on this module.

Strides are the array's own (NumPy/CuPy byte strides divided by the item size), so they describe the real
memory. The *storage* of a tensor is its root base's array when the tensor is a view lying inside it, else
its own array: an array that an op (or the optimizer's gradient arena) carved out of a bigger buffer is a
storage of its own, as the fresh allocation torch would have made for it.

``unfold`` is defined on the logical layout (it works on any array by its strides), so the view machinery can
replay it on index arrays. ``as_strided`` addresses the storage, so its view records where each of its
elements lies among the elements of the tensor it was taken from; its gradient is torch's: summed over the
view elements that share a memory location, and only onto the input's own elements.
"""
from __future__ import annotations

import math
import weakref

import numpy as np

from .. import backend
from ..graph.views import make_view
from ..tensor import Tensor
from .basic import register
from .shape import _dim


# ---- raw layout ---------------------------------------------------------------------------------------
def _address(a):
    """The address of the first element of array ``a``."""
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.data.ptr  # pragma: no cover - GPU only


def _extent(a):
    """The byte range ``[lo, hi)`` that array ``a`` touches (empty at its address when it has no elements)."""
    lo = hi = _address(a)
    if a.size == 0:
        return lo, hi
    for n, s in zip(a.shape, a.strides):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + a.itemsize


def _raw_strides(a):
    size = a.itemsize
    return tuple(s // size for s in a.strides)


def _contiguous_strides(shape):
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def torch_strides(a):
    """The element strides torch reports for the layout of array ``a``.

    They are the array's own, except where NumPy's choice is arbitrary and torch's is not: an empty array
    freshly allocated by NumPy has all strides 0 (torch: the contiguous strides of its shape), and a size-1
    dimension made by ``None``-indexing or ``broadcast_to`` has stride 0 (torch: the extent of the next
    dimension, ``size * stride``, or 1 for the last one, as its ``unsqueeze`` gives).
    """
    shape = a.shape
    out = list(_raw_strides(a))
    if a.size == 0 and not any(out):
        return _contiguous_strides(shape)
    for i in range(len(shape) - 1, -1, -1):
        if shape[i] == 1 and out[i] == 0:
            out[i] = 1 if i == len(shape) - 1 else shape[i + 1] * out[i + 1]
    return tuple(out)


class _Storage:
    """Where a tensor's storage lies: ``array`` (the array it belongs to), ``start`` (its lowest address) and
    ``nbytes`` (its size in bytes)."""

    __slots__ = ("array", "start", "nbytes")

    def __init__(self, array):
        lo, hi = _extent(array)
        self.array, self.start, self.nbytes = array, lo, hi - lo

    def contains(self, a):
        lo, hi = _extent(a)
        end = self.start + self.nbytes
        if a.size == 0:
            return self.start <= lo <= end
        return self.start <= lo and hi <= end

    def flat(self):
        """The storage as a 1-d array of its dtype, sharing its memory (writable when the storage is)."""
        a = self.array
        if any(s < 0 for s in a.strides):  # start from the lowest element: reverse the axes that run backwards
            a = a[tuple(slice(None, None, -1) if s < 0 else slice(None) for s in a.strides)]
        xp = backend.array_module(a)
        return xp.lib.stride_tricks.as_strided(a, (self.nbytes // a.itemsize,), (a.itemsize,))


def _storage(t):
    """The storage of tensor ``t`` (see the module's docstring)."""
    a = t._data
    info = t._view
    if info is not None:
        root = info.base._data
        if type(root) is type(a) and root.dtype == a.dtype:
            s = _Storage(root)
            if s.contains(a):
                return s
    return _Storage(a)


# ---- strides asked of as_strided, storage offsets -----------------------------------------------------
# as_strided views whose requested strides the array cannot tell (a size-1 dimension given stride 0 reads
# as one from None-indexing): id(tensor) -> (weak reference to it, its array then, the strides asked for);
# keyed by id because a Tensor's == is elementwise; an entry leaves with its tensor; rarely anything in it
_ASKED_STRIDES = {}


def _remember_strides(view, array, strides):
    key = id(view)
    _ASKED_STRIDES[key] = (weakref.ref(view, lambda _ref: _ASKED_STRIDES.pop(key, None)), array, strides)


def offset_in_storage(x):   # Tensor.storage_offset: registered in .strided
    """How many elements into its storage ``x`` starts."""
    s = _storage(x)
    return (_address(x._data) - s.start) // x._data.itemsize


# ---- argument checks ----------------------------------------------------------------------------------
def _index(v, what, fn, position):
    if isinstance(v, Tensor) and v.numel() == 1 and v.dtype.kind in "iu":
        return int(v.item())
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{fn}(): argument '{what}' (position {position}) must be int, not {type(v).__name__}")
    return int(v)


def _int_tuple(v, what, position):
    if isinstance(v, (tuple, list)) and all(isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))
                                            for i in v):
        return tuple(int(i) for i in v)
    raise TypeError(f"as_strided(): argument '{what}' (position {position}) must be tuple of ints, not "
                    f"{type(v).__name__}")


# ---- unfold -------------------------------------------------------------------------------------------
def _windows(a, dim, size, step):
    """The windows of ``size`` entries every ``step`` along ``dim`` of array ``a``, as a new last dimension:
    a view of ``a`` taken by its own strides (so it applies to any array of the same shape)."""
    xp = backend.array_module(a)
    if a.ndim == 0:
        return xp.lib.stride_tricks.as_strided(a, (size,), (a.itemsize,))
    shape, strides = list(a.shape), list(a.strides)
    inner = strides[dim]
    shape[dim] = (shape[dim] - size) // step + 1
    strides[dim] = inner * step
    return xp.lib.stride_tricks.as_strided(a, tuple(shape) + (size,), tuple(strides) + (inner,))


@register("unfold")
def unfold(x, dimension, size, step):
    """A view of every window of ``size`` entries, ``step`` apart, along ``dimension``, as a new last
    dimension (torch's ``Tensor.unfold``). Its gradient sums the windows' gradients back onto the input."""
    dimension = _index(dimension, "dimension", "unfold", 1)
    size = _index(size, "size", "unfold", 2)
    step = _index(step, "step", "unfold", 3)
    X = x._data
    d = _dim(dimension, X.ndim)
    n = X.shape[d] if X.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    xp = backend.array_module(X)
    xs = X.shape
    cache = {}

    def positions():   # where each element of the view sits in the input (flat, row-major)
        if "pos" not in cache:
            cache["pos"] = (_windows(xp.arange(X.size).reshape(xs), d, size, step),)
        return cache["pos"]

    def rule(o, g):   # overlapping windows add up: the scatter of index_backward accumulates
        return o.reshape(o.index_backward(g, (X.size,), positions()), xs)

    return make_view(x, _windows(X, d, size, step), lambda a: _windows(a, d, size, step), rule, "Unfold", True)


def unfold_copy(input, dimension, size, step):  # noqa: A002  (torch's argument name)
    """``input.unfold(dimension, size, step)`` in memory of its own."""
    return unfold(input, dimension, size, step).clone()


# ---- as_strided ---------------------------------------------------------------------------------------
def _geometry(x, size, stride, storage_offset):
    """Checks ``as_strided``'s arguments as torch does; returns ``(size, stride, offset)`` in elements."""
    size = _int_tuple(size, "size", 1)
    stride = _int_tuple(stride, "stride", 2)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    if storage_offset is None:
        offset = offset_in_storage(x)
    else:
        offset = _index(storage_offset, "storage_offset", "as_strided", 3)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    return size, stride, offset


def _grid(xp, offset, shape, strides):
    """The storage position (in elements) of every element of an array with this geometry."""
    pos = xp.full(shape, offset, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        if n > 1 and s:
            pos = pos + (xp.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - k - 1))
    return pos


class _Placement:
    """Where the elements of a strided view of ``x``'s storage lie among the elements of ``x``; computed on
    first use (only a backward or an in-place write through the view needs it).

    ``view``: the storage position of each view element; ``input``: that of each element of ``x``; both
    shifted so that the lowest position is 0, within ``span``. ``share``: for an ``x`` that repeats a location
    (expanded), ``1 / copies`` per element of ``x``, else None. ``pick``: for each view element, the flat
    (row-major) index of an element of ``x`` at its location, -1 where ``x`` has none.
    """

    def __init__(self, x, size, stride, offset):
        X = x._data
        st = _storage(x)
        self._xp = backend.array_module(X)
        self._x = (X.shape, X.dtype, X.size, (_address(X) - st.start) // X.itemsize, _raw_strides(X))
        self._view = (size, stride, offset)
        self._done = False

    def _compute(self):
        xp = self._xp
        shape, dtype, numel, x_offset, x_strides = self._x
        pv = _grid(xp, self._view[2], self._view[0], self._view[1])
        px = _grid(xp, x_offset, shape, x_strides)
        lo = min([int(p.min()) for p in (pv, px) if p.size] or [0])
        hi = max([int(p.max()) + 1 for p in (pv, px) if p.size] or [0])
        self.view, self.input, self.span = pv - lo, px - lo, hi - lo
        copies = xp.bincount(self.input.reshape(-1), minlength=self.span)
        self.share = None
        if numel and int(copies.max()) > 1:
            self.share = (1.0 / xp.maximum(copies, 1))[self.input].astype(dtype)
        owner = xp.full(self.span, -1, dtype=np.int64)
        owner[self.input.reshape(-1)] = xp.arange(numel, dtype=np.int64)
        self.pick = owner[self.view]
        self._done = True

    def __getattr__(self, name):   # the lazily computed fields
        if name.startswith("_") or self._done:
            raise AttributeError(name)
        self._compute()
        return getattr(self, name)


@register("as_strided")
def as_strided(input, size, stride, storage_offset=None):  # noqa: A002  (torch's argument names)
    """A view of ``input``'s storage with these sizes and strides (in elements), starting ``storage_offset``
    elements into it (default: where ``input`` starts).

    The gradient w.r.t. ``input`` is torch's: the view's gradient summed at each memory location it reads,
    given to the elements of ``input`` there (shared equally when ``input`` itself repeats a location, as an
    expanded tensor does); locations outside ``input`` get none.
    """
    X = input._data
    size, stride, offset = _geometry(input, size, stride, storage_offset)
    st = _storage(input)
    isz = X.itemsize
    if math.prod(size):
        need = (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * isz
        if need > st.nbytes:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                               f"and itemsize {isz} requiring a storage size of {need} are out of bounds for "
                               f"storage of size {st.nbytes}")
    flat = st.flat()
    xp = backend.array_module(X)
    out = xp.lib.stride_tricks.as_strided(flat[min(offset, flat.size):], size, tuple(s * isz for s in stride))
    where = _Placement(input, size, stride, offset)

    def rule(o, g):
        gx = o.take(o.index_backward(g, (where.span,), (where.view,)), where.input)
        return gx if where.share is None else gx * where.share

    def pick(a):
        """The view's elements taken from ``a``, an array laid out as ``input``: the view machinery replays
        this on index arrays to find the base elements that an in-place write through the view reaches."""
        if where.pick.size and int(where.pick.min()) < 0:
            raise RuntimeError("as_strided: this view reaches memory outside the tensor it was taken from, which "
                               "autograd cannot follow through an in-place write; take the view from the tensor "
                               "that owns that memory")
        return a.reshape(-1)[where.pick]

    view = make_view(input, out, pick, rule, "AsStrided", True)
    if torch_strides(out) != stride:
        _remember_strides(view, out, stride)
    return view


def as_strided_copy(input, size, stride, storage_offset=None):  # noqa: A002
    """``input.as_strided(...)`` in memory of its own."""
    return as_strided(input, size, stride, storage_offset).clone()


def as_strided_scatter(input, src, size, stride, storage_offset=None):  # noqa: A002
    """A copy of ``input`` whose elements at the memory locations of ``input.as_strided(size, stride,
    storage_offset)`` hold ``src`` (torch's ``as_strided_scatter``; differentiable in both)."""
    from .elementwise import where as where_
    from .shape import _getitem, reshape

    X = input._data
    size, stride, offset = _geometry(input, size, stride, storage_offset)
    if math.prod(size):
        st, isz = _storage(input), X.itemsize
        need = (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * isz
        if need > st.nbytes:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                               f"and itemsize {isz} requiring a storage size of {need} are out of bounds for "
                               f"storage of size {st.nbytes}")
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(size)}")
    at = _Placement(input, size, stride, offset)
    xp = backend.array_module(X)
    # for each location, the src element written there (the last one when several are)
    writer = xp.full(at.span, -1, dtype=np.int64)
    writer[at.view.reshape(-1)] = xp.arange(at.view.size, dtype=np.int64)
    source = writer[at.input]
    written = source >= 0
    picked = _getitem(reshape(src, -1), xp.where(written, source, 0)) if src.numel() else src.new_zeros(X.shape)
    return where_(Tensor._wrap(written), picked, input)
