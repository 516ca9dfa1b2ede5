"""torch's product functions and the constructions made of products: ``tensordot``, ``cdist`` (p-norm
distances between all row pairs; for p=2 optionally from one matrix product), ``addr`` (a scaled outer
product added to a tensor), ``vander`` (Vandermonde matrices as running products) and ``combinations`` (rows
of element combinations; ``chain_matmul`` lives in :mod:`.linalg_functions`). All are compositions of
differentiable ops (gradients to any order from their rules) except cdist's p=inf, which records a backward
rule of its own. Gathered into ``torch.<name>`` by :mod:`.shape_extra`."""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from . import elementwise as ew, linalg, reduction, shape, shape_more
from .basic import record, register
from .inplace import _make_inplace
from .selection import cumprod
from .shape import _dim


# ---- polynomial and combinatorial constructions ---------------------------------------------------------
def vander(x, N=None, increasing=False):  # noqa: N803 - torch's name
    """The Vandermonde matrix: columns ``x ** (N-1), ..., x ** 0`` (``increasing``: reversed), as running
    products (integers and bools in int64)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x.dtype.kind in "biu":
        x = x.to(np.int64)
    ones = creation.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    if n <= 1:
        return ones[:, :n]
    powers = cumprod(shape.cat([ones, shape.expand(shape.unsqueeze(x, 1), (x.shape[0], n - 1))], 1), 1)
    return powers if increasing else shape_more.flip(powers, 1)


def combinations(input, r=2, with_replacement=False):  # noqa: A002
    """The length-``r`` combinations of the elements of a 1-d tensor, as rows (itertools' order)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_zeros((0,))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    xp = backend.array_module(input._data)
    return shape._getitem(input, xp.asarray(rows))


# ---- products -------------------------------------------------------------------------------------------
def tensordot(a, b, dims=2, out=None):
    """The sum over the paired dimensions ``dims`` (an int n: ``a``'s last n with ``b``'s first n; or two lists)
    of the product: ``a``'s other dimensions, then ``b``'s. A permute, reshape and one matrix product."""
    if isinstance(dims, Tensor):
        dims = int(dims.item()) if dims.ndim == 0 else dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(-int(dims), 0)), list(range(int(dims)))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            # a size-1 dimension broadcasts against the other: that one is summed over first (as torch)
            if a.shape[i] == 1:
                b = reduction.sum(b, j, keepdim=True)
            elif b.shape[j] == 1:
                a = reduction.sum(a, i, keepdim=True)
            else:
                raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim "
                                   f"{i} and second has size {b.shape[j]} in dim {j}")
    ca, cb = [_dim(i, a.ndim) for i in da], [_dim(j, b.ndim) for j in db]
    free_a = [k for k in range(a.ndim) if k not in ca]
    free_b = [k for k in range(b.ndim) if k not in cb]
    size = math.prod(a.shape[k] for k in ca)
    left = shape.reshape(shape.permute(a, free_a + ca), (math.prod(a.shape[k] for k in free_a), size))
    right = shape.reshape(shape.permute(b, cb + free_b), (size, math.prod(b.shape[k] for k in free_b)))
    res = shape.reshape(linalg.mm(left, right), tuple(a.shape[k] for k in free_a) + tuple(b.shape[k] for k in free_b))
    if out is not None:
        out.copy_(res)
        return out
    return res


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between every row of ``x1`` (..., P, M) and of ``x2`` (..., R, M): (..., P, R).
    For p=2 with P or R above 25 (or ``use_mm_for_euclid_dist``), from squared norms and one matrix product,
    as torch; gradients are zero where a distance (or, for p < 1, a coordinate difference) is zero."""
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, t in (("X1", x1), ("X2", x2)):
        if not (t.dtype.kind == "f" or t.dtype == dtypes.bfloat16):
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{dtypes.torch_name(t.dtype)}")
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {dtypes.torch_name(x1.dtype)} but found "
                           f"{dtypes.torch_name(x2.dtype)}")
    batch = tuple(np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2]))
    x1 = shape.expand(x1, batch + x1.shape[-2:]) if x1.shape[:-2] != batch else x1
    x2 = shape.expand(x2, batch + x2.shape[-2:]) if x2.shape[:-2] != batch else x2
    rows1, rows2 = x1.shape[-2], x2.shape[-2]
    use_mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary" and (rows1 > 25 or rows2 > 25))
    if p == 2 and use_mm:
        return _euclid_by_matmul(x1, x2)
    if x1.dtype.itemsize == 2:   # torch's direct kernels have no 16-bit forms (its matrix-product one has)
        raise NotImplementedError(f"\"cdist\" not implemented for '{dtypes.torch_name(x1.dtype)}'")
    diff = shape.unsqueeze(x1, -2) - shape.unsqueeze(x2, -3)
    if p == 0:
        # the number of differing coordinates: a constant (zero gradient) that still joins the graph
        count = Tensor._wrap((diff._data != 0).sum(-1).astype(diff.dtype))
        return reduction.sum(diff * 0, -1) + count
    if p == math.inf:
        return _max_abs(diff)
    a = ew.abs_(diff)
    if p == 1:
        return reduction.sum(a, -1)
    if p == 2:
        return _safe_root(reduction.sum(diff * diff, -1), ew.sqrt)
    zero = Tensor._wrap(a._data == 0)
    powered = ew.where(zero, 0, ew.pow_(ew.where(zero, 1, a), p))
    return _safe_root(reduction.sum(powered, -1), lambda s: ew.pow_(s, 1.0 / p))


def _safe_root(s, root):
    """``root(s)`` with a zero gradient where ``s`` is 0 (the root's slope is infinite there)."""
    zero = Tensor._wrap(s._data == 0)
    return ew.where(zero, 0, root(ew.where(zero, 1, s)))


def _euclid_by_matmul(x1, x2):
    """sqrt(|a|^2 + |b|^2 - 2 a.b) for all row pairs, from one matrix product of rows extended by the squared
    norms and ones (clamped at 0 against rounding)."""
    n1 = reduction.sum(x1 * x1, -1, keepdim=True)
    n2 = reduction.sum(x2 * x2, -1, keepdim=True)
    left = shape.cat([x1 * -2, n1, creation.ones_like(n1)], -1)
    right = shape.cat([x2, creation.ones_like(n2), n2], -1)
    return ew.sqrt(ew.clamp_min(linalg.matmul(left, shape.transpose(right, -2, -1)), 0))


def _max_abs(diff):
    """max |diff| over the last dimension; every coordinate reaching the maximum gets the whole gradient (times
    the difference's sign), as torch's p=inf distance."""
    D = diff._data
    xp = backend.array_module(D)
    A = xp.abs(D)
    out = A.max(axis=-1) if A.shape[-1] else xp.zeros(A.shape[:-1], D.dtype)
    weight = (xp.sign(D) * (A == out[..., None])).astype(D.dtype)
    keep = out.shape + (1,)
    return record(out, (diff,), lambda o, g: (o.reshape(g, keep) * weight,), "Cdist", saved=())


@register("addr")
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * outer(vec1, vec2)`` (``beta=0`` ignores ``input``, NaNs included; for bool
    tensors ``and``/``or``)."""
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    dt = dtypes.promote_types(dtypes.promote_types(input.dtype, vec1.dtype), vec2.dtype)
    if dt.kind in "iu":
        for name, s in (("beta", beta), ("alpha", alpha)):
            if isinstance(s, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point "
                                   f"number.")
    size = (vec1.shape[0], vec2.shape[0])
    base = shape.expand(input, size)
    a, b, base = (t.to(dt) if t.dtype != dt else t for t in (vec1, vec2, base))
    outer = shape.unsqueeze(a, 1) * shape.unsqueeze(b, 0)
    if dt.kind == "b":
        res = ew.logical_or(ew.logical_and(base, bool(beta)), ew.logical_and(outer, bool(alpha)))
    else:
        scaled = outer * alpha if alpha != 1 else outer
        res = scaled if beta == 0 else (base * beta if beta != 1 else base) + scaled
    if out is not None:
        out.copy_(res)
        return out
    return res


Tensor.addr_ = _make_inplace(addr, "addr_")

EXPORTS = ("vander", "combinations", "tensordot", "cdist", "addr")
