"""``addmm``, ``addbmm``, ``baddbmm``, ``addmv``; ``diag``, ``diag_embed``; ``meshgrid``; ``unique``;
``tril_indices`` / ``triu_indices``.

The ``add*`` products are composed from ``matmul``/``bmm``/``mv``, ``mul`` and ``add``, so their gradients
(to any order) are those ops' rules. float16/bfloat16 operands are computed in float32 and rounded once, as
torch's kernels accumulate ``beta * input + alpha * (a @ b)`` before rounding. As torch, ``beta=0`` ignores
``input`` (a NaN in it does not propagate).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from . import linalg, reduction, shape, shape_more
from .basic import register
from .inplace import _make_inplace


def _check_same_dtype(input, a, b, op="addmm"):  # noqa: A002
    if input.dtype == a.dtype == b.dtype:
        return
    n = [dtypes.torch_name(x.dtype) for x in (input, a, b)]
    if op == "addmm":
        first, second = ("mat1", "mat2") if a.dtype != b.dtype else ("self", "mat2")
        raise RuntimeError(f"{first} and {second} must have the same dtype, but got "
                           f"{n[1] if a.dtype != b.dtype else n[0]} and {n[2]}")
    if op == "addmv":
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {n[0]}, {n[1]}, and {n[2]}")
    raise RuntimeError(f"Input dtypes must be the same, got: input {n[0].lower()}, batch1: {n[1].lower()}, "
                       f"batch2: {n[2].lower()}")


def _combine(input, product, beta, alpha, a, b, out):  # noqa: A002
    """``beta * input + alpha * product(a, b)``, in float32 for 16-bit operands."""
    dt = input.dtype
    low = dt.itemsize == 2 and dt in dtypes.LOW_PRECISION
    if low:
        input, a, b = input.float(), a.float(), b.float()   # noqa: A001
    p = product(a, b)
    if alpha != 1:
        p = p * alpha
    if beta != 0:
        try:
            base = shape.expand(input, p.shape) if input.shape != p.shape else input
        except RuntimeError:
            raise RuntimeError(f"The expanded size of the tensor ({p.shape[-1]}) must match the existing size "
                               f"({input.shape[-1] if input.ndim else 1}) at non-singleton dimension "
                               f"{p.ndim - 1}.  Target sizes: {list(p.shape)}.  Tensor sizes: "
                               f"{list(input.shape)}") from None
        p = (base * beta if beta != 1 else base) + p
    elif input.shape != p.shape:
        shape.expand(input, p.shape)   # the shape check only
    if low:
        p = p.to(dt)
    if out is not None:
        out.copy_(p)
        return out
    return p


@register("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product."""
    for m, name in ((mat1, "mat1"), (mat2, "mat2")):
        if m.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D tensor")
    _check_same_dtype(input, mat1, mat2)
    return _combine(input, linalg.matmul, beta, alpha, mat1, mat2, out)


@register("baddbmm")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_same_dtype(input, batch1, batch2, "bmm")
    return _combine(input, linalg.bmm, beta, alpha, batch1, batch2, out)


@register("addbmm")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    _check_same_dtype(input, batch1, batch2, "bmm")
    return _combine(input, lambda a, b: reduction.sum(linalg.bmm(a, b), 0), beta, alpha, batch1, batch2, out)


@register("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):  # noqa: A002
    """``beta * input + alpha * (mat @ vec)``."""
    if mat.ndim != 2 or vec.ndim != 1 or (mat.shape[1] != vec.shape[0]) or input.ndim > 1 or (
            input.ndim == 1 and input.shape[0] not in (1, mat.shape[0])):
        raise RuntimeError(f"size mismatch, got input ({'x'.join(map(str, input.shape))}), mat "
                           f"({'x'.join(map(str, mat.shape))}), vec ({'x'.join(map(str, vec.shape))})")
    _check_same_dtype(input, mat, vec, "addmv")
    return _combine(input, linalg.mv, beta, alpha, mat, vec, out)


# ---- diagonals --------------------------------------------------------------------------------------------
@register("diag_embed")
def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """A tensor whose ``offset`` diagonal over (``dim1``, ``dim2``) holds the last dimension of ``input``."""
    nd = input.ndim + 1
    d1, d2 = (dim1 % nd if -nd <= dim1 < nd else None), (dim2 % nd if -nd <= dim2 < nd else None)
    if d1 is None or d2 is None:
        bad = dim1 if d1 is None else dim2
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {bad})")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] if input.ndim else 1
    x = input if input.ndim else shape.reshape(input, (1,))
    m = n + abs(offset)
    xp = backend.array_module(x._data)
    i = xp.arange(n)
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    out = shape.index_backward(x, x.shape[:-1] + (m, m), (Ellipsis, rows, cols))
    return shape_more.movedim(out, (nd - 2, nd - 1), (d1, d2))


@register("diag")
def diag(input, diagonal=0):  # noqa: A002
    """A 1-D ``input`` as the ``diagonal``-th diagonal of a square matrix; a 2-D one's diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return shape_more.diagonal(input, diagonal).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


# ---- grids and index sets ---------------------------------------------------------------------------------
def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-D/1-D tensors, ``indexing='ij'`` (matrix, torch's default with a warning) or
    ``'xy'`` (Cartesian: the first two dimensions swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    for t in tensors[1:]:
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != tensors[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    flat = [shape.reshape(t, (-1,)) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    full = tuple(t.shape[0] for t in flat)
    k = len(flat)
    grids = [shape.expand(shape.reshape(t, tuple(-1 if j == i else 1 for j in range(k))), full)
             for i, t in enumerate(flat)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@register("unique")
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values (or slices along ``dim``) in ascending order, optionally with the inverse indices
    (``input``'s shape, or ``input.shape[dim]``) and the counts. Not differentiable (as torch)."""
    X = input._data
    xp = backend.array_module(X)
    if dim is not None:
        d = dim % X.ndim if -X.ndim <= dim < max(X.ndim, 1) else None
        if d is None:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-X.ndim}, {X.ndim - 1}], "
                             f"but got {dim})")
        vals, inv, counts = xp.unique(X, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    else:
        vals, inv, counts = xp.unique(X.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(X.shape)
    res = [Tensor._wrap(vals)]
    if return_inverse:
        res.append(Tensor._wrap(inv.astype(np.int64)))
    if return_counts:
        res.append(Tensor._wrap(counts.astype(np.int64)))
    return res[0] if len(res) == 1 else tuple(res)


def _tri_indices(which, row, col, offset, dtype, device):
    dt = dtypes.as_dtype(dtype) or dtypes.int64
    if dt.kind not in "iu":
        raise NotImplementedError(f"\"{which}_indices\" not implemented for '{dtypes.torch_name(dt)}'")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else f"col must be non-negative, got{col}")
    r, c = (np.tril_indices if which == "tril" else np.triu_indices)(row, offset, col)
    return creation.tensor(np.stack([r, c]).astype(dt).reshape(2, -1), device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, col) indices of the lower triangle of a ``row`` x ``col`` matrix, row by row (2 x N)."""
    return _tri_indices("tril", row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, col) indices of the upper triangle of a ``row`` x ``col`` matrix, row by row (2 x N)."""
    return _tri_indices("triu", row, col, offset, dtype, device)


# in-place forms: the result written into ``input`` (views and version counter as every in-place op)
for _fn in (addmm, addbmm, baddbmm, addmv):
    setattr(Tensor, _fn.__name__ + "_", _make_inplace(_fn, _fn.__name__ + "_"))
