"""``torch.linalg``'s factorisations and solvers with torch's arguments, return types, shapes and errors, and the
torch-level names (``torch.det``, ``torch.svd``, ``torch.triangular_solve``...) with their Tensor methods.

The LAPACK-backed primitives and their backward rules are in :mod:`autograd.ops.linalg_extra2`; what is
built here from them (``solve`` with vectors and ``left=False``, ``lu_solve``, ``cholesky_solve``,
``matrix_power``, ``matrix_exp``, ``lstsq``, ``cond``, ``multi_dot``...) is composed of recorded ops, so it
differentiates to any order through their rules.
"""
from __future__ import annotations

import collections
import math
import warnings

import numpy as np

from .. import backend, creation, grad_mode
from ..tensor import Tensor
from . import elementwise as _ew, reduction as _red, shape as _shape, shape_more as _shape_more
from . import linalg_extra2 as _p
from .basic import register
from .linalg import matmul

LinAlgError = _p.LinAlgError

EXPORTS = ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "cholesky",
           "cholesky_solve", "cholesky_inverse", "qr", "svd", "triangular_solve", "lu_solve", "lu", "lu_unpack",
           "chain_matmul")


def _nt(name, fields):
    return collections.namedtuple(name, fields)


SlogdetResult = _nt("linalg_slogdet", ["sign", "logabsdet"])
InvExResult = _nt("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = _nt("linalg_cholesky_ex", ["L", "info"])
QRResult = _nt("linalg_qr", ["Q", "R"])
EighResult = _nt("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = _nt("linalg_eig", ["eigenvalues", "eigenvectors"])
SVDResult = _nt("linalg_svd", ["U", "S", "Vh"])
LstsqResult = _nt("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
LUFactorResult = _nt("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = _nt("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUResult = _nt("linalg_lu", ["P", "L", "U"])
SolveExResult = _nt("linalg_solve_ex", ["result", "info"])
TorchSlogdet = _nt("slogdet", ["sign", "logabsdet"])
TorchQR = _nt("qr", ["Q", "R"])
TorchSVD = _nt("svd", ["U", "S", "V"])
TriangularSolveResult = _nt("triangular_solve", ["solution", "cloned_coefficient"])
LUUnpackResult = _nt("lu_unpack", ["P", "L", "U"])


def _mT(x):
    return _shape.transpose(x, -1, -2)


def _int32(x):
    return Tensor._wrap(backend.array_module(x).asarray(x, np.int32))


# ---- determinants and inverses --------------------------------------------------------------------------
def linalg_det(A):
    _p.check_matrix("linalg.det", A)
    return _p.det(A)


def linalg_slogdet(A):
    _p.check_matrix("linalg.slogdet", A)
    return SlogdetResult(*_p.slogdet(A))


def linalg_inv(A):
    _p.check_matrix("linalg.inv", A)
    return _p.inv(A)


def linalg_inv_ex(A, *, check_errors=False):
    """``(inverse, info)``: ``info`` is the 1-based index of the first zero pivot (0: invertible); a singular
    matrix of the batch gets NaNs (LAPACK leaves garbage there), unless ``check_errors`` raises."""
    _p.check_matrix("linalg.inv_ex", A)
    xp = backend.array_module(A._data)
    try:   # LAPACK fails exactly when a pivot is zero: only then is the LU walked for info
        return InvExResult(_p.inv(A, "linalg.inv_ex"), _int32(xp.zeros(A.shape[:-2], np.int32)))
    except _p.LinAlgError:
        if check_errors:
            raise
        info = _p.first_zero_pivot(A._data)
    bad = (info != 0)[..., None, None]
    safe = xp.where(bad, xp.eye(A.shape[-1], dtype=A.dtype), A._data)
    out = _ew.where(Tensor._wrap(bad), float("nan"), _p.inv(_ew.where(Tensor._wrap(bad), Tensor._wrap(safe), A)))
    return InvExResult(out, _int32(info))


# ---- solvers --------------------------------------------------------------------------------------------
def _vector_rhs(A, B):
    """torch treats ``B`` as a (batch of) vector(s) when it is 1-D or has A's batch shape without a column."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def linalg_solve(A, B, *, left=True, _name="torch.linalg.solve"):
    _p.check_matrix("linalg.solve", A)
    vector = _vector_rhs(A, B)
    Bm = _shape.unsqueeze(B, -1) if vector else B
    if left:
        if Bm.shape[-2] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {Bm.shape[-2]}x{Bm.shape[-1]})")
        X = _p.solve(A, Bm, _name)
    else:
        if vector or Bm.shape[-1] != A.shape[-2]:
            Bs = (Bm.shape[-2], Bm.shape[-1])
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {Bs[0]}x{Bs[1]})")
        X = _mT(_p.solve(_mT(A), _mT(Bm), _name))
    return _shape.squeeze(X, -1) if vector else X


def linalg_solve_ex(A, B, *, left=True, check_errors=False):
    """``(result, info)``; a singular matrix gives inf/nan from its LU (no error unless ``check_errors``)."""
    _p.check_matrix("linalg.solve_ex", A)
    zeros = _int32(backend.array_module(A._data).zeros(A.shape[:-2], np.int32))
    try:
        return SolveExResult(linalg_solve(A, B, left=left, _name="torch.linalg.solve_ex"), zeros)
    except _p.LinAlgError:
        if check_errors:
            raise
        LU, piv, info = _p.lu_array(A._data)
    vector = _vector_rhs(A, B)
    Bm = _shape.unsqueeze(B, -1) if vector else B
    X = linalg_lu_solve(Tensor._wrap(LU), Tensor._wrap(piv), Bm, left=left)
    return SolveExResult(_shape.squeeze(X, -1) if vector else X, _int32(info))


def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    _p.check_matrix("linalg.solve_triangular", A)
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    inner = B.shape[-2] if left else B.shape[-1]
    if inner != A.shape[-1]:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    return _p.solve_triangular(A, B, upper, left, unitriangular)


# ---- Cholesky ------------------------------------------------------------------------------------------
def linalg_cholesky(A, *, upper=False):
    _p.check_matrix("linalg.cholesky", A)
    return _p.cholesky(A, upper)[0]


def linalg_cholesky_ex(A, *, upper=False, check_errors=False):
    _p.check_matrix("linalg.cholesky_ex", A)
    L, info = _p.cholesky(A, upper, check=check_errors, name="linalg.cholesky_ex")
    return CholeskyExResult(L, _int32(info))


# ---- QR, eigh, SVD -------------------------------------------------------------------------------------
def linalg_qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    _p.check_matrix("linalg.qr", A, square=False)
    return QRResult(*_p.qr(A, mode))


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def linalg_eigh(A, UPLO="L"):
    """Eigenvalues ascending and orthonormal eigenvectors of the symmetric matrix in ``A``'s ``UPLO`` triangle.
    Each eigenvector is determined up to sign."""
    _check_uplo(UPLO)
    _p.check_matrix("linalg.eigh", A)
    return EighResult(*_p.eigh(A, UPLO))


def linalg_eigvalsh(A, UPLO="L"):
    _check_uplo(UPLO)
    _p.check_matrix("linalg.eigh", A)   # torch's messages name eigh
    if not (A.requires_grad and grad_mode.is_grad_enabled()):
        w = backend.array_module(A._data).linalg.eigvalsh(A._data, UPLO=UPLO)
        return Tensor._wrap(w)
    return _p.eigh(A, UPLO)[0]


def linalg_eig(A):
    """Complex eigenvalues and unit eigenvectors (each up to a complex phase), forward only."""
    _p.check_matrix("linalg.eig", A)
    return EigResult(*_p.eig(A))


def linalg_eigvals(A):
    _p.check_matrix("linalg.eigvals", A)
    return _p.eig(A, vectors=False)


def linalg_svd(A, full_matrices=True, *, driver=None):
    """``A = U diag(S) Vh``; singular vectors are determined up to a common sign per pair (U's column i with
    Vh's row i)."""
    _p.check_matrix("linalg.svd", A, square=False)
    return SVDResult(*_p.svd(A, full_matrices))


def linalg_svdvals(A, *, driver=None):
    _p.check_matrix("linalg.svdvals", A, square=False)
    if not (A.requires_grad and grad_mode.is_grad_enabled()):
        s = backend.array_module(A._data).linalg.svd(A._data, compute_uv=False)
        return Tensor._wrap(s)
    return _p.svd(A, False)[1]


# ---- pseudo-inverse, rank, least squares, condition number -----------------------------------------------
def linalg_pinv(A, *, atol=None, rtol=None, hermitian=False):
    _p.check_matrix("linalg.pinv", A, square=hermitian)
    return _p.pinv(A, atol, rtol, hermitian)


def linalg_matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    _p.check_matrix("linalg.matrix_rank", A, square=hermitian)
    X = A._data
    xp = backend.array_module(X)
    s = xp.abs(xp.linalg.eigvalsh(X)) if hermitian else xp.linalg.svd(X, compute_uv=False)
    tol = _p.cutoff(X, s, atol, rtol)
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
    _p.check_matrix("torch.linalg.lstsq", A, square=False)
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
    X = matmul(_p.pinv(A, None, rtol), Bm)
    xp = backend.array_module(A._data)
    empty_f = Tensor._wrap(xp.zeros((0,), A.dtype))
    rank = linalg_matrix_rank(A, rtol=rtol) if driver != "gels" else Tensor._wrap(xp.zeros((0,), np.int64))
    residuals = empty_f
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank._data == n).all())):
        residuals = _red.sum((matmul(A, X) - Bm) ** 2, -2)   # a vector B keeps its column here, as torch
    sv = linalg_svdvals(A) if driver in ("gelsd", "gelss") else empty_f
    return LstsqResult(_shape.squeeze(X, -1) if vector else X, residuals, rank, sv)


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
            _p.check_matrix("linalg.cond(ord=nuc)", A)
        s = linalg_svdvals(A)
        if p == "nuc":   # sum(s) * sum(1 / s), as torch (finite for a singular matrix in rounding)
            return s.sum(-1) * (1 / s).sum(-1)
        first, last = s[..., 0], s[..., -1]
        return first / last if p != -2 else last / first
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        _p.check_matrix(f"linalg.cond(ord={p})", A)
    try:
        return linalg_matrix_norm(A, p) * linalg_matrix_norm(_p.inv(A), p)
    except _p.LinAlgError:
        info = _p.first_zero_pivot(A._data)
    # a singular matrix has condition number inf: invert the identity in its place
    bad = Tensor._wrap(info != 0)
    safe = _ew.where(_shape.reshape(bad, tuple(info.shape) + (1, 1)),
                     creation.eye(A.shape[-1], dtype=A.dtype, device=A.device), A)
    return _ew.where(bad, float("inf"), linalg_matrix_norm(A, p) * linalg_matrix_norm(_p.inv(safe), p))


# ---- LU -------------------------------------------------------------------------------------------------
def _pivot_check(name, pivot):
    if not pivot:
        raise RuntimeError(f"{name}: LU without pivoting is not implemented on the CPU")


def linalg_lu(A, *, pivot=True):
    _pivot_check("linalg.lu", pivot)
    _p.check_matrix("linalg.lu", A, square=False)
    P, L, U, _, _ = _p.lu(A)
    return LUResult(P, L, U)


def _packed_lu(A):
    """getrf's packed ``LU`` composed of the differentiable factors: ``tril(L, -1) + U``, the smaller of the two
    padded with zeros to m x n, so that its gradient is the two factors' gradients."""
    P, L, U, piv, info = _p.lu(A)
    m, n = A.shape[-2:]
    low = _shape_more.tril(L, -1)
    if m > n:
        U = _shape.cat([U, U.new_zeros(tuple(U.shape[:-2]) + (m - n, n))], -2)
    elif m < n:
        low = _shape.cat([low, low.new_zeros(tuple(low.shape[:-2]) + (m, n - m))], -1)
    return low + U, piv, info


def linalg_lu_factor_ex(A, *, pivot=True, check_errors=False):
    _pivot_check("linalg.lu_factor_ex", pivot)
    _p.check_matrix("linalg.lu_factor_ex", A, square=False)
    LU, piv, info = _packed_lu(A)
    return LUFactorExResult(LU, _int32(piv), _int32(info))


def linalg_lu_factor(A, *, pivot=True):
    _pivot_check("linalg.lu_factor", pivot)
    _p.check_matrix("linalg.lu_factor", A, square=False)
    LU, piv, info = _packed_lu(A)
    if info.any():
        _p.raise_first_failure(info, A.shape, "torch.linalg.lu_factor", lambda i: (
            f"U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you still want to "
            f"perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"),
            RuntimeError)   # torch's is a plain RuntimeError here
    return LUFactorResult(LU, _int32(piv))


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """``X`` with ``A X = B`` (``X A = B`` when not ``left``; ``A^T`` for ``adjoint``), ``A = P L U`` given
    by ``lu_factor``."""
    if not left:   # X A = B  <=>  A^T X^T = B^T
        return _mT(linalg_lu_solve(LU, pivots, _mT(B), left=True, adjoint=not adjoint))
    P = Tensor._wrap(_p.pivots_to_permutation(pivots._data, LU.shape[-2]).astype(LU.dtype))
    if not adjoint:   # U^-1 L^-1 P^T B
        Y = _p.solve_triangular(LU, matmul(_mT(P), B), False, True, True)
        return _p.solve_triangular(LU, Y, True, True, False)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    Y = _p.solve_triangular(_mT(LU), B, False, True, False)
    return matmul(P, _p.solve_triangular(_mT(LU), Y, True, True, True))


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


# ---- torch-level names and Tensor methods ----------------------------------------------------------------
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


@register("inverse")
def inverse(input):  # noqa: A002
    return linalg_inv(input)


@register("pinverse")
def pinverse(input, rcond=1e-15):  # noqa: A002
    return linalg_pinv(input, rtol=rcond)


@register("matrix_power")
def matrix_power(input, n):  # noqa: A002
    return linalg_matrix_power(input, n)


@register("matrix_exp")
def matrix_exp(input):  # noqa: A002
    return linalg_matrix_exp(input)


_warned = set()


def _deprecated(key, message):
    if key not in _warned:   # torch warns once per process
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


@register("cholesky")
def cholesky(input, upper=False):  # noqa: A002
    _deprecated("cholesky", "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
                "future PyTorch release.")
    _p.check_matrix("cholesky", input)
    return _p.cholesky(input, upper, name="cholesky")[0]


@register("cholesky_solve")
def cholesky_solve(input, input2, upper=False):  # noqa: A002
    """``A^-1 B`` for ``A = L L^T`` (``U^T U`` when ``upper``): two triangular solves."""
    B, F = input, input2
    if B.ndim < 2 or F.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead"
                           if B.ndim < 2 else f"u should have at least 2 dimensions, but has {F.ndim} dimensions "
                           f"instead")
    return _p.cholesky_solve(B, F, upper)


@register("cholesky_inverse")
def cholesky_inverse(input, upper=False):  # noqa: A002
    eye = creation.eye(input.shape[-1], dtype=input.dtype, device=input.device)
    return cholesky_solve(eye, input, upper)


@register("qr")
def qr(input, some=True):  # noqa: A002
    _deprecated("qr", "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                "release.")
    return TorchQR(*linalg_qr(input, "reduced" if some else "complete"))


@register("svd")
def svd(input, some=True, compute_uv=True):  # noqa: A002
    """torch.svd: ``(U, S, V)`` with V (not Vh); without ``compute_uv`` U and V are zero matrices."""
    if not compute_uv:
        m, n = input.shape[-2:]
        xp = backend.array_module(input._data)
        batch = tuple(input.shape[:-2])
        return TorchSVD(Tensor._wrap(xp.zeros(batch + (m, m), input.dtype)), linalg_svdvals(input),
                        Tensor._wrap(xp.zeros(batch + (n, n), input.dtype)))
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return TorchSVD(U, S, _mT(Vh))


@register("triangular_solve")
def triangular_solve(input, A, upper=True, transpose=False, unitriangular=False):  # noqa: A002
    _deprecated("triangular_solve", "torch.triangular_solve is deprecated in favor of "
                "torch.linalg.solve_triangular and will be removed in a future PyTorch release.")
    T = _mT(A) if transpose else A
    X = _p.solve_triangular(T, input, upper != transpose, True, unitriangular)
    return TriangularSolveResult(X, A.clone())


@register("lu_solve")
def lu_solve(input, LU_data, LU_pivots):  # noqa: A002,N803  torch's argument names
    _deprecated("lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
                "future PyTorch release.")
    return linalg_lu_solve(LU_data, LU_pivots, input)


@register("lu")
def lu(A, pivot=True, get_infos=False):
    """torch.lu: ``(LU, pivots)`` (and ``infos`` when asked), as ``linalg.lu_factor_ex``."""
    _deprecated("lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
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
        P = Tensor._wrap(_p.pivots_to_permutation(LU_pivots._data, m).astype(LU_data.dtype))
    return LUUnpackResult(P, L, U)


def chain_matmul(*matrices, out=None):
    _deprecated("chain_matmul", "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
                "Use torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                "multiple parameters.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return linalg_multi_dot(matrices)

