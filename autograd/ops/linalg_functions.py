"""Functions of matrices: ``linalg.det`` / ``slogdet`` (recorded primitives with their backward rules),
``matrix_norm``, ``cond``, ``matrix_power``, ``matrix_exp``, ``multi_dot``, ``vecdot``, ``diagonal`` and
``householder_product``, with torch's arguments, result types and errors, and the torch-level ``torch.det``,
``slogdet``, ``logdet``, ``matrix_power``, ``matrix_exp`` and ``chain_matmul`` (the first five also Tensor
methods). All but the determinants are composed of recorded ops (matmuls, the singular values, the inverse),
so they differentiate to any order through those ops' rules.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from .. import backend, creation
from ..tensor import Tensor
from . import elementwise as _ew, reduction as _red, shape as _shape, shape_more as _shape_more
from .basic import OUT, record, register
from .linalg import matmul
from .linalg_common import LinAlgError, check_matrix, deprecated
from .linalg_common import array_namespace as _xp, raw as _raw
from .linalg_decompositions import linalg_svdvals
from .linalg_lu import first_zero_pivot
from .linalg_solvers import inv, linalg_inv


def _nt(name, fields):
    return collections.namedtuple(name, fields)


SlogdetResult = _nt("linalg_slogdet", ["sign", "logabsdet"])
TorchSlogdet = _nt("slogdet", ["sign", "logabsdet"])


def _eye_like(X, n=None):
    n = X.shape[-1] if n is None else n
    return _xp(X).eye(n, dtype=X.dtype)


# ---- determinants ------------------------------------------------------------------------------------------
def _expand_last2(o, x):
    return o.reshape(x, tuple(x.shape) + (1, 1))


def _det(A):
    d = _xp(A._data).linalg.det(A._data)

    def rule(o, g, A_, d_):
        # d det / dA = det * A^-T (the adjugate's transpose); an exactly singular matrix gets a zero gradient,
        # as torch's (det times a finite matrix), from the inverse of the identity put in its place
        singular = _raw(d_) == 0
        if singular.any():
            A_ = o.where(singular[..., None, None], _eye_like(_raw(A_)), A_)
        return (_expand_last2(o, g * d_) * o.swapaxes(o.linalg_inv(A_), -1, -2),)

    return record(d, (A,), rule, "LinalgDet", saved=(A, OUT))


def _slogdet(A):
    """``(sign, logabsdet)``; only ``logabsdet`` is differentiable (the sign of a real determinant is constant)."""
    sign, logabs = _xp(A._data).linalg.slogdet(A._data)

    def rule(o, g, A_):
        return (_expand_last2(o, g) * o.swapaxes(o.linalg_inv(A_), -1, -2),)

    return Tensor._wrap(_xp(sign).asarray(sign, A.dtype)), record(logabs, (A,), rule, "LinalgSlogdet", saved=(A,))


def linalg_det(A):
    check_matrix("linalg.det", A)
    return _det(A)


def linalg_slogdet(A):
    check_matrix("linalg.slogdet", A)
    return SlogdetResult(*_slogdet(A))


# ---- norms and condition number ----------------------------------------------------------------------------
def linalg_matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """``'fro'``, the largest absolute column (``1``) / row (``inf``) sum and the smallest (``-1`` /
    ``-inf``), the largest / smallest singular value (``2`` / ``-2``) or their sum (``'nuc'``), over the two
    dims ``dim``."""
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "fro":
        return _red.norm(A, 2.0, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)   # 1: sum down columns, max over them
        s = _ew.abs(A).sum(inner, keepdim=True)
        r = s.amax(outer, keepdim=True) if ord > 0 else s.amin(outer, keepdim=True)
        return r if keepdim else r.reshape(tuple(n for i, n in enumerate(A.shape) if i not in (d0, d1)))
    if ord in (2, -2, "nuc"):
        moved = A.movedim((d0, d1), (-2, -1)) if (d0, d1) != (A.ndim - 2, A.ndim - 1) else A
        s = linalg_svdvals(moved)
        r = s.sum(-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return r
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def linalg_cond(A, p=None):
    """``p`` None / 2 / -2: ratio of the extreme singular values; 'nuc' from the singular values too; 'fro',
    inf, -inf, 1, -1: the norm of A times the norm of its inverse (inf for a singular matrix)."""
    if p is None or p in (2, -2, "nuc"):
        if p == "nuc":
            check_matrix("linalg.cond(ord=nuc)", A)
        s = linalg_svdvals(A)
        if p == "nuc":   # sum(s) * sum(1 / s), as torch (finite for a singular matrix in rounding)
            return s.sum(-1) * (1 / s).sum(-1)
        first, last = s[..., 0], s[..., -1]
        return first / last if p != -2 else last / first
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        check_matrix(f"linalg.cond(ord={p})", A)
    try:
        return linalg_matrix_norm(A, p) * linalg_matrix_norm(inv(A), p)
    except LinAlgError:
        info = first_zero_pivot(A._data)
    # a singular matrix has condition number inf: invert the identity in its place
    bad = Tensor._wrap(info != 0)
    safe = _ew.where(_shape.reshape(bad, tuple(info.shape) + (1, 1)),
                     creation.eye(A.shape[-1], dtype=A.dtype, device=A.device), A)
    return _ew.where(bad, float("inf"), linalg_matrix_norm(A, p) * linalg_matrix_norm(inv(safe), p))


# ---- products and powers -------------------------------------------------------------------------------
def linalg_matrix_power(A, n):
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        eye = creation.eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return _shape.expand(eye, tuple(A.shape)).clone() if A.ndim > 2 else eye
    if n < 0:
        A, n = linalg_inv(A), -n
    # binary powering: A^n as the product of the squarings A^(2^i) for the bits of n
    result, square = None, A
    while True:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = matmul(square, square)


_EXP_DEGREE = 14   # Taylor terms after scaling to norm <= 1/2: truncation below 1e-16 of the result


def linalg_matrix_exp(A):
    """exp(A) by scaling and squaring: each matrix is scaled by 2^-s to 1-norm at most 1/2, a degree-14
    Taylor polynomial (Horner) is applied, and its result squared s times. Composed of matmuls, so it
    differentiates to any order."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    X = A._data
    xp = backend.array_module(X)
    n = X.shape[-1]
    if n == 0:
        return A.clone()
    norm1 = xp.abs(X).sum(-2).max(-1)
    with np.errstate(divide="ignore"):
        s = xp.where(norm1 > 0.5, xp.ceil(xp.log2(xp.where(norm1 > 0.5, norm1, 1) / 0.5)), 0).astype(np.int64)
    s = xp.where(xp.isfinite(norm1), s, 0)
    scaled = A * Tensor._wrap(xp.asarray(2.0 ** -s, X.dtype)[..., None, None])
    eye = creation.eye(n, dtype=A.dtype, device=A.device)
    E = eye + scaled / _EXP_DEGREE
    for k in range(_EXP_DEGREE - 1, 0, -1):
        E = eye + matmul(scaled, E) / k
    for i in range(int(s.max()) if s.size else 0):
        again = Tensor._wrap((s > i)[..., None, None])
        E = _ew.where(again, matmul(E, E), E)
    return E


def linalg_multi_dot(tensors):
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = _shape.unsqueeze(mats[0], 0)
    if last_vec:
        mats[-1] = _shape.unsqueeze(mats[-1], -1)
    for i, t in enumerate(mats):
        if t.ndim != 2:
            which = "first and last" if i in (0, len(mats) - 1) else ""
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {tensors[i].ndim}D" if not which else
                               f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D but got "
                               f"{tensors[i].ndim}D")
    out = mats[0]
    for t in mats[1:]:
        out = matmul(out, t)
    if first_vec:
        out = _shape.squeeze(out, 0)
    if last_vec:
        out = _shape.squeeze(out, -1)
    return out


def linalg_vecdot(x, y, *, dim=-1):
    return _red.sum(x * y, dim)


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _shape_more.diagonal(A, offset, dim1, dim2)


def linalg_householder_product(A, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i = (0, .., 0, 1, A[i+1:, i])
    (geqrf's representation of Q); composed of differentiable ops."""
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if tau.shape[-1] > n:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    xp = backend.array_module(A._data)
    Q = creation.eye(m, n, dtype=A.dtype, device=A.device)
    # applied right to left, so that each reflector acts on an m x n block: H_1 (H_2 (... (H_k E)))
    for i in range(tau.shape[-1] - 1, -1, -1):
        below = Tensor._wrap((xp.arange(m) > i).astype(A.dtype))
        unit = Tensor._wrap((xp.arange(m) == i).astype(A.dtype))
        v = A[..., :, i] * below + unit
        vtQ = matmul(_shape.unsqueeze(v, -2), Q)
        Q = Q - _shape.unsqueeze(tau[..., i], -1)[..., None] * (_shape.unsqueeze(v, -1) * vtQ)
    return Q


# ---- torch-level names and Tensor methods ------------------------------------------------------------------
@register("det")
def det(input):  # noqa: A002
    return linalg_det(input)


@register("slogdet")
def slogdet(input):  # noqa: A002
    return TorchSlogdet(*linalg_slogdet(input))


@register("logdet")
def logdet(input):  # noqa: A002
    """log(det): NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabs = linalg_slogdet(input)
    return _ew.where(sign < 0, float("nan"), logabs)


@register("matrix_power")
def matrix_power(input, n):  # noqa: A002
    return linalg_matrix_power(input, n)


@register("matrix_exp")
def matrix_exp(input):  # noqa: A002
    return linalg_matrix_exp(input)


def chain_matmul(*matrices, out=None):
    deprecated("chain_matmul", "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
                "Use torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                "multiple parameters.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return linalg_multi_dot(matrices)
