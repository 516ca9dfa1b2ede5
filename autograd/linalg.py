"""``torch.linalg``: the norms (``vector_norm``, ``matrix_norm``, ``norm``), composed of the recorded
reductions (the spectral and nuclear norms of the singular values) so that they differentiate to any order;
``cross``, ``vecdot``, ``diagonal``, ``multi_dot``, ``matmul``, ``vander``, ``tensorinv``, ``tensorsolve``;
and the factorisations and solvers with torch's arguments, return types and errors (:class:`LinAlgError`),
implemented with their backward rules in :mod:`autograd.ops.linalg_decompositions` (``cholesky`` /
``cholesky_ex``, ``qr``, ``eigh`` / ``eigvalsh``, ``svd`` / ``svdvals``, and ``eig`` / ``eigvals``: complex
results, forward only), :mod:`autograd.ops.linalg_lu` (``lu`` / ``lu_factor`` / ``lu_factor_ex``),
:mod:`autograd.ops.linalg_solvers` (``solve`` / ``solve_ex``, ``solve_triangular``, ``lu_solve``, ``inv`` /
``inv_ex``, ``pinv``, ``matrix_rank``, ``lstsq``) and :mod:`autograd.ops.linalg_functions` (``det``,
``slogdet``, ``matrix_power``, ``matrix_exp``, ``cond``, ``householder_product``). The LDL factorisation
(``ldl_factor``, ``ldl_solve``) is not provided and fails by name, as does any other name torch has and this
module lacks."""
from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dtypes
from ._unsupported import module_getattr as _module_getattr
from .ops import reduction as _red
from .ops.composites import linalg_cross as cross
from .ops import linalg_decompositions as _dec, linalg_functions as _fn, linalg_lu as _lu, linalg_solvers as _sol
from .ops.linalg_common import LinAlgError
from .ops.linalg import matmul as _matmul
from .ops import selection as _sel, shape as _shape

det, slogdet, inv, inv_ex = _fn.linalg_det, _fn.linalg_slogdet, _sol.linalg_inv, _sol.linalg_inv_ex
solve, solve_ex, solve_triangular = _sol.linalg_solve, _sol.linalg_solve_ex, _sol.linalg_solve_triangular
cholesky, cholesky_ex, qr = _dec.linalg_cholesky, _dec.linalg_cholesky_ex, _dec.linalg_qr
eigh, eigvalsh, svd, svdvals = _dec.linalg_eigh, _dec.linalg_eigvalsh, _dec.linalg_svd, _dec.linalg_svdvals
eig, eigvals = _dec.linalg_eig, _dec.linalg_eigvals
pinv, matrix_rank, lstsq, cond = _sol.linalg_pinv, _sol.linalg_matrix_rank, _sol.linalg_lstsq, _fn.linalg_cond
lu, lu_factor, lu_factor_ex, lu_solve = _lu.linalg_lu, _lu.linalg_lu_factor, _lu.linalg_lu_factor_ex, _sol.linalg_lu_solve
matrix_power, matrix_exp, multi_dot = _fn.linalg_matrix_power, _fn.linalg_matrix_exp, _fn.linalg_multi_dot
vecdot, diagonal, householder_product = _fn.linalg_vecdot, _fn.linalg_diagonal, _fn.linalg_householder_product
matrix_norm = _fn.linalg_matrix_norm   # with the factorisations: its spectral and nuclear norms need svdvals
matmul = _matmul

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
           "householder_product", "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul",
           "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
           "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot",
           "vector_norm"]

__getattr__ = _module_getattr(__name__, "torch.linalg")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002  torch's argument name
    """The ``ord``-norm of ``x`` flattened, or along ``dim`` (an int or a tuple)."""
    if dtype is not None:
        if np.dtype(dtype).itemsize < x.dtype.itemsize:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_dtypes.torch_name(x.dtype)}) "
                               f"should be convertible without narrowing to the specified dtype "
                               f"({_dtypes.torch_name(dtype)})")
        x = x.to(dtype)
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' (position 2) must be Number, not str")
    return _red.norm(x, float(ord), dim, keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """torch's dispatch: ``ord=None`` is the 2-norm of the flattened input (or along ``dim``); a string
    ``ord``, or a 2-tuple ``dim``, or a 2-D input with a numeric ``ord`` and no ``dim``, is a matrix norm."""
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim, dtype=dtype)
    if dim is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def tensorinv(A, ind=2):
    """The inverse of ``A`` seen as a square matrix of its first ``ind`` dims by the rest, shaped back to
    ``A.shape[ind:] + A.shape[:ind]``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    r, c = math.prod(rows), math.prod(cols)
    if r != c:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {c} != {r}")
    return _shape.reshape(inv(_shape.reshape(A, (r, c))), cols + rows)


def tensorsolve(A, B, dims=None):
    """``X`` with ``tensordot(A, X, X.ndim) = B``: A seen as a (B.numel() x rest) matrix."""
    if dims is not None:
        nd = A.ndim
        moved = [d % nd for d in dims]
        A = A.permute(*([i for i in range(nd) if i not in moved] + moved))
    rest = tuple(A.shape[B.ndim:])
    r, c = B.numel(), math.prod(rest)
    if r != c:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {c} != {r}")
    return _shape.reshape(solve(_shape.reshape(A, (r, c)), _shape.reshape(B, (r,))), rest)


def vander(x, *, N=None):
    """Columns ``x^0, x^1, ..., x^(N-1)`` (N defaults to x.shape[-1]), by a running product so that the gradient
    at x = 0 is finite."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    N = x.shape[-1] if N is None else N
    if N < 0:
        raise RuntimeError("N must be greater than 1.")
    ones = x.new_ones(tuple(x.shape) + (1,))
    if N <= 1:
        return ones[..., :N]
    powers = _sel.cumprod(_shape.expand(_shape.unsqueeze(x, -1), tuple(x.shape) + (N - 1,)), -1)
    return _shape.cat([ones, powers], -1)
