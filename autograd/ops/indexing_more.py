"""torch's functions that read or write elements chosen by an index, beyond :mod:`.scatter` and
:mod:`.shape`'s ``gather``: ``take``, ``take_along_dim``, ``index_copy(_)``, ``index_fill(_)``,
``fill_diagonal_``, ``scatter_reduce(_)`` (sum/prod/mean/amax/amin, ``include_self``) and
``unique_consecutive``. All but ``scatter_reduce`` are compositions of differentiable ops (gradients to any
order from their rules; ``unique_consecutive`` is not differentiable, as torch's); ``scatter_reduce`` records a
backward rule written so that it is itself differentiable. Gathered into ``torch.<name>`` by
:mod:`.shape_extra`."""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes, grad_mode
from ..tensor import Tensor
from . import elementwise as ew, shape, shape_more
from .basic import OUT, inplace, record, register
from .broadcasting import broadcast_shapes
from .inplace import _make_inplace
from .scatter import _grid, index_put, masked_fill
from .shape import _dim


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


# ---- scatter_reduce -------------------------------------------------------------------------------------
_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}   # unbuffered .at


def _scatter_reduce_checks(x, dim, index, src, reduce):
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if not isinstance(index, Tensor) or index.dtype not in (np.int32, np.int64):
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    if x.dtype != src.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    nd = max(x.ndim, 1)
    d = _dim(dim, x.ndim)
    I = index._data.reshape(index.shape or (1,))
    x_shape, s_shape = x.shape or (1,), src.shape or (1,)
    if I.ndim != nd or len(s_shape) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    for k in range(nd):
        if I.size and ((k != d and I.shape[k] > x_shape[k]) or I.shape[k] > s_shape[k]):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(x.shape)} apart "
                               f"from dimension {d} and to be no larger size than src {list(src.shape)}")
    bad = (I < 0) | (I >= x_shape[d])
    if bad.any():
        raise RuntimeError(f"index {int(I[bad][0])} is out of bounds for dimension {d} with size {x_shape[d]}")
    return d, I


def _fill_for(reduce, dtype):
    """The value a position excluded from its own reduction starts from (the reduction's identity)."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "b":
        return reduce == "amin"
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min if reduce == "amax" else info.max
    return -np.inf if reduce == "amax" else np.inf


@register("scatter_reduce")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """``input`` with each ``src[i]`` reduced into position ``index[i]`` along ``dim`` (``include_self``: the
    original value takes part). Gradients as torch's: sum/mean spread the gradient, amax/amin share it evenly
    among the members equal to the result, prod gives each member the product of the others (zeros exact)."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)   # torch takes the old names too
    d, I = _scatter_reduce_checks(input, dim, index, src, reduce)
    X = input._data
    xp = backend.array_module(X)
    X1 = X.reshape(X.shape or (1,))
    corner = tuple(slice(0, n) for n in I.shape)
    S = src._data.reshape(src.shape or (1,))[corner]
    grid = _grid(I.shape, d, I, xp)
    out = X1.copy()
    if not include_self:
        out[grid] = _fill_for(reduce, X.dtype)
    members = xp.zeros(X1.shape, dtype=np.int64)
    xp.add.at(members, grid, 1)
    if include_self:
        members += 1
    with np.errstate(invalid="ignore"):   # NaNs propagate, as torch
        getattr(xp, _UFUNCS[reduce]).at(out, grid, S)
    if reduce == "mean":
        count = xp.maximum(members, 1)   # a position no member reached keeps its value
        out = (out // count if X.dtype.kind in "iub" else out / count).astype(X.dtype)
    x1_shape, s1_shape, x_shape, s_shape = X1.shape, src.shape or (1,), X.shape, src.shape
    scattered = (members - (1 if include_self else 0)) > 0
    self_member = xp.ones(X1.shape, bool) if include_self else ~scattered

    def src_grad(o, gs):   # ``gs`` of the index's shape -> the gradient of src (zero outside the index's corner)
        return o.reshape(o.put(gs, s1_shape, corner), s_shape)

    if reduce in ("sum", "mean"):
        scale = None if reduce == "sum" else xp.maximum(members, 1).astype(X.dtype)

        def rule(o, g):
            g1 = o.reshape(g, x1_shape)
            if scale is not None:
                g1 = g1 / scale
            gx = g1 if include_self else o.where(self_member, g1, 0)
            return o.reshape(gx, x_shape), None, src_grad(o, o.getitem(g1, grid))
    elif reduce in ("amax", "amin"):
        # as torch, an excluded self value equal to the result still counts among the ties (but gets nothing)
        self_equal = X1 == out
        self_hit = self_member & self_equal
        src_hit = S == out[grid]
        ties = self_equal.astype(np.int64)
        xp.add.at(ties, grid, src_hit.astype(np.int64))
        share = xp.maximum(ties, 1).astype(X.dtype)

        def rule(o, g):
            g1 = o.reshape(g, x1_shape) / share
            return (o.reshape(o.where(self_hit, g1, 0), x_shape), None,
                    src_grad(o, o.where(src_hit, o.getitem(g1, grid), 0)))
    else:
        def rule(o, g, x_, s_, out_):
            gx, gs = _prod_grads(g, x_, s_, out_, d, I, grid, corner, self_member, x1_shape, s1_shape)
            return o.reshape(gx, x_shape), None, src_grad(o, gs)

    saved = (input, src, OUT) if reduce == "prod" else ()
    return record(out.reshape(X.shape), (input, index, src), rule, "ScatterReduce", saved=saved)


def _prod_grads(g, x, s, out, d, I, grid, corner, self_member, x1_shape, s1_shape):
    """The gradients of a scatter-reduced product: each member gets the product of the other members of its
    position. A non-zero member's is ``result / member``; a zero member's is the product of the non-zero others
    when it is its position's only zero, the other zero times that with two (0, but with a gradient), else 0.
    Written in recorded ops (the result and the product of the non-zero members are scatter_reduce results
    again), so differentiable again; on raw arrays (a first-order backward) the same ops run on wrapped arrays
    without recording."""
    arrays = not isinstance(g, Tensor)
    if arrays:
        g, x, s, out = Tensor._wrap(g), Tensor._wrap(x), Tensor._wrap(s), Tensor._wrap(out)
    with grad_mode.set_grad_enabled(not arrays and grad_mode.is_grad_enabled()):
        xp = backend.array_module(g._data)
        x1 = shape.reshape(x, x1_shape)
        out1 = shape.reshape(out, x1_shape)
        s1 = shape._getitem(shape.reshape(s, s1_shape), corner)
        x_zero = (x1._data == 0) & self_member
        x_skip = x_zero | ~self_member      # zero or excluded: never divided by
        s_zero = s1._data == 0
        zeros = x_zero.astype(np.int64)
        xp.add.at(zeros, grid, s_zero.astype(np.int64))
        index_t = Tensor._wrap(I)
        # per position: the product of the non-zero members, and the sum of the zero ones (0, but with their
        # gradients: with two zeros, each one's "others" is the other zero times that product)
        nonzero_prod = scatter_reduce(ew.where(Tensor._wrap(x_skip), 1, x1), d, index_t,
                                      ew.where(Tensor._wrap(s_zero), 1, s1), "prod", include_self=True)
        zero_sum = scatter_reduce(ew.where(Tensor._wrap(x_zero), x1, 0), d, index_t,
                                  ew.where(Tensor._wrap(s_zero), s1, 0), "sum", include_self=True)

        def others(v, v_zero, v_skip, zeros_at, result_at, nonzero_at, zero_sum_at):
            one_zero = ew.where(Tensor._wrap(zeros_at == 1), nonzero_at, 0)
            two_zeros = ew.where(Tensor._wrap(zeros_at == 2), nonzero_at * (zero_sum_at - v), 0)
            return ew.where(Tensor._wrap(v_zero), one_zero + two_zeros,
                            result_at / ew.where(Tensor._wrap(v_skip), 1, v))

        g1 = shape.reshape(g, x1_shape)
        gx = ew.where(Tensor._wrap(self_member),
                      g1 * others(x1, x_zero, x_skip, zeros, out1, nonzero_prod, zero_sum), 0)
        at = lambda t: shape._getitem(t, grid)  # noqa: E731
        gs = at(g1) * others(s1, s_zero, s_zero, zeros[grid], at(out1), at(nonzero_prod), at(zero_sum))
    if arrays:
        return gx._data, gs._data
    return gx, gs


Tensor.scatter_reduce_ = _make_inplace(scatter_reduce, "scatter_reduce_")


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


EXPORTS = ("take", "take_along_dim", "index_copy", "index_fill", "scatter_reduce", "unique_consecutive")
