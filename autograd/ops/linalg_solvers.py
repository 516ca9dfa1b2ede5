"""The solvers and inverses: ``linalg.solve`` / ``solve_ex``, ``solve_triangular``, ``lu_solve``, ``inv`` /
``inv_ex``, ``pinv``, ``matrix_rank`` (it shares pinv's cutoff) and ``lstsq``, with torch's arguments, result
types and errors, and the torch-level ``torch.inverse``, ``pinverse``, ``cholesky_solve``,
``cholesky_inverse``, ``triangular_solve`` and ``lu_solve`` (also Tensor methods).

The array kernels (:func:`solve_array`, :func:`inv_array`, :func:`solve_triangular_array`) and the recorded
primitives :func:`solve`, :func:`inv` and :func:`solve_triangular` are the op vocabulary's ``linalg_solve``,
``linalg_inv`` and ``solve_triangular`` rows (:mod:`.vocabulary`), which the backward rules call. Those three
primitives, ``_cholesky_solve`` and ``_pinv`` are recorded with ONE backward rule each, written in that
vocabulary, so they differentiate to any order; what is built from them (vectors and ``left=False`` in
``solve``, ``lu_solve``, ``lstsq``...) is composed of recorded ops.
"""
from __future__ import annotations

import collections

import numpy as np

from .. import backend, creation
from ..tensor import Tensor
from . import elementwise as _ew, reduction as _red, shape as _shape
from .basic import OUT, record, register
from .linalg import matmul
from .linalg_common import LinAlgError, check_matrix, deprecated, device_failed, int32_tensor, raise_first_failure
from .linalg_common import array_namespace as _xp, transpose_array as _mT_array, transpose as _mT
from .linalg_decompositions import linalg_svdvals
from .linalg_lu import first_zero_pivot, lu_array, pivots_to_permutation


def _nt(name, fields):
    return collections.namedtuple(name, fields)


InvExResult = _nt("linalg_inv_ex", ["inverse", "info"])
SolveExResult = _nt("linalg_solve_ex", ["result", "info"])
LstsqResult = _nt("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
TriangularSolveResult = _nt("triangular_solve", ["solution", "cloned_coefficient"])


# ---- array-level kernels (the vocabulary's array column) ----------------------------------------------------
def _broadcast_batch(A, B):
    xp = _xp(A)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return xp.broadcast_to(A, batch + A.shape[-2:]), xp.broadcast_to(B, batch + B.shape[-2:])


def solve_array(A, B):
    """``A^-1 B`` for matrices ``B`` (batch dims broadcast)."""
    A, B = _broadcast_batch(A, B)
    return _xp(A).linalg.solve(A, B)


def inv_array(A):
    return _xp(A).linalg.inv(A)


def _substitute(T, B, upper):
    """Forward / back substitution (trsm): zero pivots give inf/nan as LAPACK does, no error."""
    xp = _xp(T)
    n = T.shape[-1]
    X = xp.zeros(np.broadcast_shapes(T.shape[:-2], B.shape[:-2]) + B.shape[-2:], np.result_type(T, B))
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            acc = B[..., i, :] - (T[..., i:i + 1, :] @ X)[..., 0, :]
            X[..., i, :] = acc / T[..., i, i][..., None]
    return X


def solve_triangular_array(A, B, upper, left=True, unitriangular=False):
    """The solution of ``T X = B`` (``X T = B`` when not ``left``), ``T`` the upper / lower triangle of ``A``,
    with a unit diagonal when ``unitriangular``."""
    xp = _xp(A)
    T = xp.triu(A) if upper else xp.tril(A)
    if unitriangular:
        n = T.shape[-1]
        T = T * (1 - xp.eye(n, dtype=T.dtype)) + xp.eye(n, dtype=T.dtype)
    if not left:
        return _mT_array(solve_triangular_array(_mT_array(T), _mT_array(B), not upper))
    T, B = _broadcast_batch(T, B)
    try:
        return xp.linalg.solve(T, B)
    except np.linalg.LinAlgError:
        return _substitute(T, B, upper)


# ---- recorded primitives -----------------------------------------------------------------------------------
def solve(A, B, name="torch.linalg.solve"):
    """``X`` with ``A X = B`` for batches of matrices ``B`` (the caller turns vectors into columns)."""
    def singular(info):
        raise_first_failure(info, A.shape, name, lambda i: "The solver failed because the input matrix is singular.")

    try:
        X = solve_array(A._data, B._data)
    except np.linalg.LinAlgError:
        singular(first_zero_pivot(A._data))
    if device_failed(X):
        info = first_zero_pivot(A._data)
        if info.any():
            singular(info)

    def rule(o, g, A_, X_):
        gB = o.linalg_solve(o.swapaxes(A_, -1, -2), g)
        return -o.matmul(gB, o.swapaxes(X_, -1, -2)), gB

    return record(X, (A, B), rule, "LinalgSolveEx", saved=(A, OUT))


def inv(A, name="linalg.inv"):
    def singular(info):
        raise_first_failure(info, A.shape, name, lambda i: (
            f"The diagonal element {i} is zero, the inversion could not be completed because the input "
            f"matrix is singular."))

    try:
        Ai = inv_array(A._data)
    except np.linalg.LinAlgError:
        singular(first_zero_pivot(A._data))
    if device_failed(Ai):
        info = first_zero_pivot(A._data)
        if info.any():
            singular(info)

    def rule(o, g, Ai_):
        AiT = o.swapaxes(Ai_, -1, -2)
        return (-o.matmul(o.matmul(AiT, g), AiT),)

    return record(Ai, (A,), rule, "LinalgInvEx", saved=(OUT,))


def solve_triangular(A, B, upper, left=True, unitriangular=False):
    X = solve_triangular_array(A._data, B._data, upper, left, unitriangular)

    def rule(o, g, A_, X_):
        gB = o.solve_triangular(o.swapaxes(A_, -1, -2), g, not upper, left, unitriangular)
        gA = -o.matmul(gB, o.swapaxes(X_, -1, -2)) if left else -o.matmul(o.swapaxes(X_, -1, -2), gB)
        off = 1 if unitriangular else 0
        gA = o.triu(gA, off) if upper else o.tril(gA, -off)
        return gA, gB

    return record(X, (A, B), rule, "LinalgSolveTriangular", saved=(A, OUT))


def _cholesky_solve(B, F, upper=False):
    """``A^-1 B`` for ``A = L L^T`` (``U^T U`` when ``upper``) with the factor ``F``: potrs's two triangular
    solves. As torch, the gradient treats ``F`` as a full matrix in ``A = F F^T`` (``F^T F``)."""
    L = _mT_array(F._data) if upper else F._data
    X = solve_triangular_array(_mT_array(L), solve_triangular_array(L, B._data, False), True)

    def rule(o, g, F_, X_):
        Lo = o.swapaxes(F_, -1, -2) if upper else F_
        gB = o.solve_triangular(o.swapaxes(Lo, -1, -2), o.solve_triangular(Lo, g, False, True, False), True, True,
                                False)
        C = o.matmul(gB, o.swapaxes(X_, -1, -2))
        C = -(C + o.swapaxes(C, -1, -2))
        return (o.matmul(F_, C) if upper else o.matmul(C, F_)), gB

    return record(X, (F, B), rule, "CholeskySolve", saved=(F, OUT))


def _pinv(A, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse, singular values (|eigenvalues| when ``hermitian``) at most
    ``max(atol, rtol * largest)`` treated as zero."""
    X = A._data
    xp = _xp(X)
    if hermitian:
        w, V = xp.linalg.eigh(X)
        s = xp.abs(w)
    else:
        U, s, Vh = xp.linalg.svd(X, full_matrices=False)
    keep = s > cutoff(X, s, atol, rtol)[..., None]
    with np.errstate(divide="ignore"):
        if hermitian:
            P = (V * xp.where(keep, 1 / xp.where(keep, w, 1), 0)[..., None, :]) @ _mT_array(V)
        else:
            P = (_mT_array(Vh) * xp.where(keep, 1 / xp.where(keep, s, 1), 0)[..., None, :]) @ _mT_array(U)

    def rule(o, g, A_, P_):
        # fixed-rank derivative: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
        PT = o.swapaxes(P_, -1, -2)
        gT = o.swapaxes(g, -1, -2)
        first = -o.matmul(o.matmul(PT, g), PT)
        left = o.matmul(gT, o.matmul(P_, PT))
        second = left - o.matmul(A_, o.matmul(P_, left))
        right = o.matmul(o.matmul(PT, P_), gT)
        third = right - o.matmul(o.matmul(right, P_), A_)
        return (first + second + third,)

    return record(xp.ascontiguousarray(P.astype(X.dtype)), (A,), rule, "LinalgPinv", saved=(A, OUT))


def cutoff(X, s, atol, rtol):
    """torch's threshold for pinv / matrix_rank: ``max(atol, rtol * s_max)``, per matrix; with neither given
    ``rtol = eps * max(m, n)``, with only ``atol`` given ``rtol = 0``."""
    xp = _xp(X)
    if rtol is None:
        rtol = 0.0 if atol is not None and not _is_zero(atol) else np.finfo(X.dtype).eps * max(X.shape[-2:])
    atol = 0.0 if atol is None else atol
    smax = s.max(-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    rt = rtol._data if isinstance(rtol, Tensor) else rtol
    at = atol._data if isinstance(atol, Tensor) else atol
    return xp.maximum(at, rt * smax)


def _is_zero(v):
    return not isinstance(v, Tensor) and v == 0


# ---- inverses -----------------------------------------------------------------------------------------------
def linalg_inv(A):
    check_matrix("linalg.inv", A)
    return inv(A)


def linalg_inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: ``info`` is the 1-based index of the first zero pivot (0: invertible); a singular
    matrix of the batch gets NaNs (LAPACK leaves garbage there), unless ``check_errors`` raises."""
    check_matrix("linalg.inv_ex", A)
    xp = backend.array_module(A._data)
    try:   # LAPACK fails exactly when a pivot is zero: only then is the LU walked for info
        return InvExResult(inv(A, "linalg.inv_ex"), int32_tensor(xp.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        info = first_zero_pivot(A._data)
    bad = (info != 0)[..., None, None]
    safe = xp.where(bad, xp.eye(A.shape[-1], dtype=A.dtype), A._data)
    out = _ew.where(Tensor._wrap(bad), float("nan"), inv(_ew.where(Tensor._wrap(bad), Tensor._wrap(safe), A)))
    return InvExResult(out, int32_tensor(info))


# ---- solvers -----------------------------------------------------------------------------------------------
def _vector_rhs(A, B):
    """torch treats ``B`` as a (batch of) vector(s) when it is 1-D or has A's batch shape without a column."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def linalg_solve(A, B, *, left=True, _name="torch.linalg.solve"):
    check_matrix("linalg.solve", A)
    vector = _vector_rhs(A, B)
    Bm = _shape.unsqueeze(B, -1) if vector else B
    if left:
        if Bm.shape[-2] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
        X = solve(A, Bm, _name)
    else:
        if vector or Bm.shape[-1] != A.shape[-2]:
            Bs = (Bm.shape[-2], Bm.shape[-1])
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {Bs[0]}x{Bs[1]})")
        X = _mT(solve(_mT(A), _mT(Bm), _name))
    return _shape.squeeze(X, -1) if vector else X


def linalg_solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``; a singular matrix gives inf/nan from its LU (no error unless ``check_errors``)."""
    check_matrix("linalg.solve_ex", A)
    zeros = int32_tensor(backend.array_module(A._data).zeros(A.shape[:-2], np.int32))
    try:
        return SolveExResult(linalg_solve(A, B, left=left, _name="torch.linalg.solve_ex"), zeros)
    except LinAlgError:
        if check_errors:
            raise
        LU, piv, info = lu_array(A._data)
    vector = _vector_rhs(A, B)
    Bm = _shape.unsqueeze(B, -1) if vector else B
    X = linalg_lu_solve(Tensor._wrap(LU), Tensor._wrap(piv), Bm, left=left)
    return SolveExResult(_shape.squeeze(X, -1) if vector else X, int32_tensor(info))


def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    check_matrix("linalg.solve_triangular", A)
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    inner = B.shape[-2] if left else B.shape[-1]
    if inner != A.shape[-1]:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    return solve_triangular(A, B, upper, left, unitriangular)


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """``X`` with ``A X = B`` (``X A = B`` when not ``left``; ``A^T`` for ``adjoint``), ``A = P L U`` given
    by ``lu_factor``."""
    if not left:   # X A = B  <=>  A^T X^T = B^T
        return _mT(linalg_lu_solve(LU, pivots, _mT(B), left=True, adjoint=not adjoint))
    P = Tensor._wrap(pivots_to_permutation(pivots._data, LU.shape[-2]).astype(LU.dtype))
    if not adjoint:   # U^-1 L^-1 P^T B
        Y = solve_triangular(LU, matmul(_mT(P), B), False, True, True)
        return solve_triangular(LU, Y, True, True, False)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    Y = solve_triangular(_mT(LU), B, False, True, False)
    return matmul(P, solve_triangular(_mT(LU), Y, True, True, True))


# ---- pseudo-inverse, rank, least squares -------------------------------------------------------------------
def linalg_pinv(A, *, atol=None, rtol=None, hermitian=False):
    check_matrix("linalg.pinv", A, square=hermitian)
    return _pinv(A, atol, rtol, hermitian)


def linalg_matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    check_matrix("linalg.matrix_rank", A, square=hermitian)
    X = A._data
    xp = backend.array_module(X)
    s = xp.abs(xp.linalg.eigvalsh(X)) if hermitian else xp.linalg.svd(X, compute_uv=False)
    tol = cutoff(X, s, atol, rtol)
    return Tensor._wrap(xp.asarray((s > tol[..., None]).sum(-1), np.int64))


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def linalg_lstsq(A, B, rcond=None, *, driver=None):
    """The minimum-norm least-squares solution (``pinv(A) @ B`` with ``rcond`` as the relative cutoff, which
    is what gelsy / gelsd / gelss compute; ``gels`` assumes full rank and agrees there). ``residuals`` (the
    squared residual norms) come for m > n when every matrix has full rank and the driver is not gelsy;
    ``rank`` for all but gels; ``singular_values`` for gelsd / gelss. Values agree with LAPACK's to rounding."""
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    check_matrix("torch.linalg.lstsq", A, square=False)
    m, n = A.shape[-2:]
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = B.ndim == A.ndim - 1
    Bm = _shape.unsqueeze(B, -1) if vector else B
    if Bm.shape[-2] != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {m} vs "
                           f"{Bm.shape[-2]}")
    rtol = rcond if rcond is not None and rcond > 0 else float(np.finfo(A.dtype).eps * max(m, n))
    X = matmul(_pinv(A, None, rtol), Bm)
    xp = backend.array_module(A._data)
    empty_f = Tensor._wrap(xp.zeros((0,), A.dtype))
    rank = linalg_matrix_rank(A, rtol=rtol) if driver != "gels" else Tensor._wrap(xp.zeros((0,), np.int64))
    residuals = empty_f
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank._data == n).all())):
        residuals = _red.sum((matmul(A, X) - Bm) ** 2, -2)   # a vector B keeps its column here, as torch
    sv = linalg_svdvals(A) if driver in ("gelsd", "gelss") else empty_f
    return LstsqResult(_shape.squeeze(X, -1) if vector else X, residuals, rank, sv)


# ---- torch-level names and Tensor methods ------------------------------------------------------------------
@register("inverse")
def inverse(input):  # noqa: A002
    return linalg_inv(input)


@register("pinverse")
def pinverse(input, rcond=1e-15):  # noqa: A002
    return linalg_pinv(input, rtol=rcond)


@register("cholesky_solve")
def cholesky_solve(input, input2, upper=False):  # noqa: A002
    """``A^-1 B`` for ``A = L L^T`` (``U^T U`` when ``upper``): two triangular solves."""
    B, F = input, input2
    if B.ndim < 2 or F.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead"
                           if B.ndim < 2 else f"u should have at least 2 dimensions, but has {F.ndim} dimensions "
                           f"instead")
    return _cholesky_solve(B, F, upper)


@register("cholesky_inverse")
def cholesky_inverse(input, upper=False):  # noqa: A002
    eye = creation.eye(input.shape[-1], dtype=input.dtype, device=input.device)
    return cholesky_solve(eye, input, upper)


@register("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):  # noqa: A002
    deprecated("triangular_solve", "torch.triangular_solve is deprecated in favor of "
                "torch.linalg.solve_triangular and will be removed in a future PyTorch release.")
    T = _mT(A) if transpose else A
    X = solve_triangular(T, input, upper != transpose, True, unitriangular)
    return TriangularSolveResult(X, A.clone())


@register("lu_solve")
def lu_solve(input, LU_data, LU_pivots):  # noqa: A002,N803  torch's argument names
    deprecated("lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
                "future PyTorch release.")
    return linalg_lu_solve(LU_data, LU_pivots, input)
