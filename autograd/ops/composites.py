"""Ops composed from differentiable ops of the vocabulary, so that their gradients (to any order) are those
ops' rules: ``diff``, ``trace``, ``cross`` / ``linalg.cross``, ``kron``, ``block_diag``, ``cartesian_prod``;
and queries that have no gradient, as in torch: ``nonzero``, ``count_nonzero``, ``isclose``, ``allclose``,
``equal``. Errors are torch's (class and message)."""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from . import shape, shape_more
from .basic import register
from .matrix_more import meshgrid


def _dim(d, ndim):
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def _as_tensor_like(x, like):
    return x if isinstance(x, Tensor) else creation.tensor(x, dtype=like.dtype, device=like.device)


# ---- queries without a gradient -------------------------------------------------------------------------
@register("nonzero")
def nonzero(input, *, as_tuple=False):  # noqa: A002
    """The indices of the non-zero elements: an (N, ndim) int64 tensor, or one 1-D tensor per dimension."""
    X = input._data
    xp = backend.array_module(X)
    idx = xp.nonzero(X.reshape(1) if X.ndim == 0 else X)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    if X.ndim == 0:
        return Tensor._wrap(xp.zeros((int(idx[0].size), 0), np.int64))
    return Tensor._wrap(xp.stack(idx, axis=1).astype(np.int64))


@register("count_nonzero")
def count_nonzero(input, dim=None):  # noqa: A002
    X = input._data
    if dim is None:
        axes = None
    else:
        axes = tuple(_dim(d, X.ndim) for d in ((dim,) if isinstance(dim, int) else dim))
    xp = backend.array_module(X)
    return Tensor._wrap(xp.asarray(xp.count_nonzero(X, axis=axes), dtype=np.int64))


def _check_close_args(input, other):  # noqa: A002
    if input.dtype != other.dtype:
        raise RuntimeError(f"{dtypes.torch_name(input.dtype).capitalize()} did not match "
                           f"{dtypes.torch_name(other.dtype).capitalize()}")


@register("isclose")
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """``|input - other| <= atol + rtol * |other|`` elementwise (equal infinities are close; NaNs only with
    ``equal_nan``)."""
    other = _as_tensor_like(other, input)
    _check_close_args(input, other)
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")
    xp = backend.array_module(input._data)
    a, b = input._data, other._data
    if a.dtype.kind in "biu":
        return Tensor._wrap(xp.asarray(a == b) if rtol == 0 and atol == 0 else
                            xp.abs(a.astype(np.float64) - b) <= atol + rtol * xp.abs(b.astype(np.float64)))
    return Tensor._wrap(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


@register("allclose")
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@register("equal")
def equal(input, other):  # noqa: A002
    """True when both have the same shape and equal elements (values compared after type promotion)."""
    if input.shape != other.shape:
        return False
    return bool((input._data == other._data).all())


# ---- differentiable compositions ------------------------------------------------------------------------
@register("diff")
def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """The ``n``-th forward difference along ``dim``, after ``prepend``/``append`` are joined on."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _dim(dim, input.ndim)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = shape.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        if x.shape[d] == 0:
            break
        x = shape_more.narrow(x, d, 1, x.shape[d] - 1) - shape_more.narrow(x, d, 0, x.shape[d] - 1)
    return x


@register("trace")
def trace(input):  # noqa: A002
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return shape_more.diagonal(input).sum()


def _cross_dim(input, other, dim, default_first_3):  # noqa: A002
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if dim is None and default_first_3:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=3)
        found = [i for i, s in enumerate(input.shape) if s == 3]
        if not found:
            raise RuntimeError("no dimension of size 3 in input")
        return found[0]
    d = _dim(-1 if dim is None else dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim if dim is not None else -1} must have length 3. "
                           f"Got {input.shape[d]} and {other.shape[d]}")
    return d


def _cross(input, other, d):  # noqa: A002
    at = lambda t, i: t[(slice(None),) * d + (i,)]  # noqa: E731
    a = [at(input, i) for i in range(3)]
    b = [at(other, i) for i in range(3)]
    parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return shape.stack(parts, d)


@register("cross")
def cross(input, other, dim=None):  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (None: the first dimension of size 3, deprecated in
    torch, with its warning)."""
    return _cross(input, other, _cross_dim(input, other, dim, True))


def linalg_cross(input, other, *, dim=-1):  # noqa: A002
    return _cross(input, other, _cross_dim(input, other, dim, False))


@register("kron")
def kron(input, other):  # noqa: A002
    """The Kronecker product: each element of ``input`` times the whole of ``other``."""
    nd = max(input.ndim, other.ndim)
    a = shape.reshape(input, (1,) * (nd - input.ndim) + tuple(input.shape))
    b = shape.reshape(other, (1,) * (nd - other.ndim) + tuple(other.shape))
    inter_a = tuple(s for k in range(nd) for s in (a.shape[k], 1))
    inter_b = tuple(s for k in range(nd) for s in (1, b.shape[k]))
    prod = shape.reshape(a, inter_a) * shape.reshape(b, inter_b)
    return shape.reshape(prod, tuple(a.shape[k] * b.shape[k] for k in range(nd)))


def block_diag(*tensors):
    """The tensors (0-D, 1-D as one row, 2-D) placed along the diagonal of a zero matrix."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(shape.reshape(t, (1, 1)) if t.ndim == 0 else (shape.reshape(t, (1, -1)) if t.ndim == 1 else t))
    if not mats:
        return creation.zeros(1, 0)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = np.promote_types(dt, m.dtype) if m.dtype != dt else dt
    cols = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        m = m.to(dt) if m.dtype != dt else m
        pieces = []
        if left:
            pieces.append(creation.zeros(m.shape[0], left, dtype=dt, device=m.device))
        pieces.append(m)
        right = cols - left - m.shape[1]
        if right:
            pieces.append(creation.zeros(m.shape[0], right, dtype=dt, device=m.device))
        rows.append(shape.cat(pieces, 1) if len(pieces) > 1 else m)
        left += m.shape[1]
    return shape.cat(rows, 0)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as rows (a single tensor: itself)."""
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return shape.stack([shape.reshape(g, (-1,)) for g in grids], 1)
