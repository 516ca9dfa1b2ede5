"""The LU factorisation with partial pivoting: LAPACK's getrf written for arrays (NumPy has none),
vectorised over the batch (:func:`lu_array`, :func:`pivots_to_permutation`, :func:`first_zero_pivot`, which
the solvers use to report a singular matrix); the recorded ``_lu`` with its backward rule for square, tall
and wide matrices; ``linalg.lu``, ``lu_factor``, ``lu_factor_ex``; and the torch-level ``torch.lu`` and
``torch.lu_unpack``. ``lu_solve`` is a solver: it is in :mod:`.linalg_solvers`.
"""
from __future__ import annotations

import collections

import numpy as np

from .. import backend, creation
from ..tensor import Tensor
from . import shape as _shape, shape_more as _shape_more
from .basic import record, register
from .linalg_common import check_matrix, deprecated, int32_tensor, raise_first_failure
from .linalg_common import array_namespace as _xp
from .linalg_decompositions import cat_last, save_joint, zeros_block


def _nt(name, fields):
    return collections.namedtuple(name, fields)


LUFactorResult = _nt("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = _nt("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUResult = _nt("linalg_lu", ["P", "L", "U"])
LUUnpackResult = _nt("lu_unpack", ["P", "L", "U"])


# ---- LU with partial pivoting (getrf), vectorised over the batch -------------------------------------------
def lu_array(A):
    """``(LU, pivots, info)`` as LAPACK's getrf: the unit lower and the upper factor packed in one matrix,
    1-based int32 row swaps, and per matrix the 1-based index of the first zero pivot (0 when none). The pivot
    is the first entry of largest magnitude in its column, as getrf's idamax picks it."""
    xp = _xp(A)
    m, n = A.shape[-2:]
    batch = A.shape[:-2]
    count = int(np.prod(batch, dtype=np.int64))
    LU = xp.array(A, copy=True).reshape((count, m, n))
    k = min(m, n)
    rows = xp.arange(LU.shape[0])
    piv = xp.zeros((LU.shape[0], k), np.int32)
    info = xp.zeros(LU.shape[0], np.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(LU[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        row_j, row_p = LU[rows, j, :].copy(), LU[rows, p, :].copy()
        LU[rows, p, :] = row_j
        LU[rows, j, :] = row_p
        d = LU[:, j, j]
        zero = d == 0
        info = xp.where(zero & (info == 0), j + 1, info).astype(np.int32)
        with np.errstate(divide="ignore", invalid="ignore"):
            # a zero pivot leaves its column as it is (getrf skips the scaling) and the factorisation goes on
            scale = xp.where(zero, 1, d)
            LU[:, j + 1:, j] /= scale[:, None]
            LU[:, j + 1:, j + 1:] -= LU[:, j + 1:, j:j + 1] * LU[:, j:j + 1, j + 1:]
    return LU.reshape(batch + (m, n)), piv.reshape(batch + (k,)), info.reshape(batch)


def pivots_to_permutation(piv, m):
    """The permutation matrix ``P`` with ``A = P L U`` from getrf's 1-based row swaps."""
    xp = _xp(piv)
    batch = piv.shape[:-1]
    flat = piv.reshape((int(np.prod(batch, dtype=np.int64)), piv.shape[-1])) - 1
    order = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    rows = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        oj, op = order[rows, j].copy(), order[rows, p].copy()
        order[rows, j], order[rows, p] = op, oj
    # row j of P^T A is row order[j] of A, so P[order[j], j] = 1
    P = xp.zeros((flat.shape[0], m, m))
    P[rows[:, None], order, xp.arange(m)[None, :]] = 1
    return P.reshape(batch + (m, m))


def first_zero_pivot(A):
    """Per matrix, the 1-based index of the first zero diagonal element of U (0: invertible)."""
    return lu_array(A)[2]


# ---- the recorded factorisation and its rule ---------------------------------------------------------------
def _lu(A):
    """``(P, L, U, pivots, info)`` with ``A = P L U`` (L m x k unit lower, U k x n upper, k = min(m, n)) and
    getrf's pivots and info; L and U are differentiable."""
    X = A._data
    xp = _xp(X)
    m, n = X.shape[-2:]
    k = min(m, n)
    LUp, piv, info = lu_array(X)
    L = xp.tril(LUp[..., :, :k], -1) + xp.eye(m, k, dtype=X.dtype)
    U = xp.triu(LUp[..., :k, :])
    P = Tensor._wrap(pivots_to_permutation(piv, m).astype(X.dtype))

    def rule(o, gL, gU, L_, U_, P_):
        return (o.matmul(P_, _lu_grad(o, gL, gU, L_, U_, m, n)),)

    Lr = record(L, (A,), lambda o, g, L_, U_, P_: rule(o, g, None, L_, U_, P_), "LinalgLuBackward", saved=())
    Ur = record(U, (A,), lambda o, g, L_, U_, P_: rule(o, None, g, L_, U_, P_), "LinalgLuBackward", saved=())
    save_joint((Lr, Ur), (P,))
    return P, Lr, Ur, piv, info


def _rows(o, X, lo, hi):
    return o.getitem(X, (Ellipsis, slice(lo, hi), slice(None)))


def _cols(o, X, lo, hi):
    return o.getitem(X, (Ellipsis, slice(None), slice(lo, hi)))


def _lu_grad(o, gL, gU, L, U, m, n):
    """The gradient of ``P^T A`` for ``P^T A = L U`` given those of L and U (either may be None).

    Square: L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T. Tall (m > n): the rows below, L2 = A2 U^-1, give
    gA2 = gL2 U^-T and add -L2^T gA2 to gU. Wide (m < n): the columns right, U2 = L^-1 A2, give
    gA2 = L^-T gU2 and add -gA2 U2^T to gL. The square block then takes the rest."""
    k = min(m, n)
    tail = None
    if m > n:
        L1, L2 = _rows(o, L, 0, k), _rows(o, L, k, m)
        if gL is not None:
            gL1, gL2 = _rows(o, gL, 0, k), _rows(o, gL, k, m)
            tail = o.solve_triangular(o.swapaxes(U, -1, -2), gL2, False, False, False)
            extra = -o.matmul(o.swapaxes(L2, -1, -2), tail)
            gL, gU = gL1, extra if gU is None else gU + extra
        L = L1
    elif m < n:
        U1, U2 = _cols(o, U, 0, k), _cols(o, U, k, n)
        if gU is not None:
            gU1, gU2 = _cols(o, gU, 0, k), _cols(o, gU, k, n)
            tail = o.solve_triangular(o.swapaxes(L, -1, -2), gU2, True, True, True)
            extra = -o.matmul(tail, o.swapaxes(U2, -1, -2))
            gU, gL = gU1, extra if gL is None else gL + extra
        U = U1
    inner = None
    if gL is not None:
        inner = o.tril(o.matmul(o.swapaxes(L, -1, -2), gL), -1)
    if gU is not None:
        part = o.triu(o.matmul(gU, o.swapaxes(U, -1, -2)), 0)
        inner = part if inner is None else inner + part
    Y = o.solve_triangular(o.swapaxes(L, -1, -2), inner, True, True, True)
    Y = o.solve_triangular(o.swapaxes(U, -1, -2), Y, False, False, False)
    if m == n:
        return Y
    if m > n:
        tail = tail if tail is not None else zeros_block(o, Y, (m - n, n))
        return o.swapaxes(cat_last(o, o.swapaxes(Y, -1, -2), o.swapaxes(tail, -1, -2)), -1, -2)
    tail = tail if tail is not None else zeros_block(o, Y, (m, n - m))
    return cat_last(o, Y, tail)


# ---- torch.linalg.lu, lu_factor, lu_factor_ex, torch.lu, torch.lu_unpack -----------------------------------
def _pivot_check(name, pivot):
    if not pivot:
        raise RuntimeError(f"{name}: LU without pivoting is not implemented on the CPU")


def linalg_lu(A, *, pivot=True):
    _pivot_check("linalg.lu", pivot)
    check_matrix("linalg.lu", A, square=False)
    P, L, U, _, _ = _lu(A)
    return LUResult(P, L, U)


def _packed_lu(A):
    """getrf's packed ``LU`` composed of the differentiable factors: ``tril(L, -1) + U``, the smaller of the two
    padded with zeros to m x n, so that its gradient is the two factors' gradients."""
    P, L, U, piv, info = _lu(A)
    m, n = A.shape[-2:]
    low = _shape_more.tril(L, -1)
    if m > n:
        U = _shape.cat([U, U.new_zeros(tuple(U.shape[:-2]) + (m - n, n))], -2)
    elif m < n:
        low = _shape.cat([low, low.new_zeros(tuple(low.shape[:-2]) + (m, n - m))], -1)
    return low + U, piv, info


def linalg_lu_factor_ex(A, *, pivot=True, check_errors=False):
    _pivot_check("linalg.lu_factor_ex", pivot)
    check_matrix("linalg.lu_factor_ex", A, square=False)
    LU, piv, info = _packed_lu(A)
    return LUFactorExResult(LU, int32_tensor(piv), int32_tensor(info))


def linalg_lu_factor(A, *, pivot=True):
    _pivot_check("linalg.lu_factor", pivot)
    check_matrix("linalg.lu_factor", A, square=False)
    LU, piv, info = _packed_lu(A)
    if info.any():
        raise_first_failure(info, A.shape, "torch.linalg.lu_factor", lambda i: (
            f"U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you still want to "
            f"perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"),
            RuntimeError)   # torch's is a plain RuntimeError here
    return LUFactorResult(LU, int32_tensor(piv))


@register("lu")
def lu(A, pivot=True, get_infos=False):
    """torch.lu: ``(LU, pivots)`` (and ``infos`` when asked), as ``linalg.lu_factor_ex``."""
    deprecated("lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
                "will be removed in a future PyTorch release.")
    LU, piv, info = linalg_lu_factor_ex(A, pivot=pivot)
    return (LU, piv, info) if get_infos else (LU, piv)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803
    """``(P, L, U)`` from ``lu_factor``'s packed result, composed (L and U differentiate back to LU)."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    xp = backend.array_module(LU_data._data)
    empty = Tensor._wrap(xp.zeros((0,), LU_data.dtype))
    L = U = P = empty
    if unpack_data:
        eye = creation.eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        L = _shape_more.tril(LU_data[..., :, :k], -1) + eye
        U = _shape_more.triu(LU_data[..., :k, :])
    if unpack_pivots:
        P = Tensor._wrap(pivots_to_permutation(LU_pivots._data, m).astype(LU_data.dtype))
    return LUUnpackResult(P, L, U)
