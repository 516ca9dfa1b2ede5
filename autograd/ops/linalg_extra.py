"""The front of the linear-algebra family: it gathers the torch-level names (``torch.det``, ``torch.svd``,
``torch.triangular_solve``...) into ``EXPORTS`` for :mod:`autograd.functional_api`; importing it attaches
their Tensor methods. The ``torch.linalg`` namespace itself is :mod:`autograd.linalg`. What lives where:

- :mod:`.linalg_common`: :class:`LinAlgError`, torch's input checks and failure messages, shared helpers.
- :mod:`.linalg_decompositions`: ``cholesky``, ``qr``, ``eigh`` / ``eigvalsh``, ``svd`` / ``svdvals``,
  ``eig`` / ``eigvals``, their backward rules, and the helpers for factorisations with several outputs.
- :mod:`.linalg_lu`: the batched LU with partial pivoting (getrf for arrays), its rule, ``lu``,
  ``lu_factor`` / ``lu_factor_ex``, ``torch.lu``, ``torch.lu_unpack``.
- :mod:`.linalg_solvers`: ``solve`` / ``solve_ex``, ``solve_triangular``, ``lu_solve``, ``inv`` / ``inv_ex``,
  ``pinv``, ``matrix_rank``, ``lstsq``, ``cholesky_solve`` / ``cholesky_inverse``, ``triangular_solve``, and
  the op vocabulary's solve / inverse kernels.
- :mod:`.linalg_functions`: ``det`` / ``slogdet`` / ``logdet``, ``matrix_norm``, ``cond``, ``matrix_power``,
  ``matrix_exp``, ``multi_dot`` / ``chain_matmul``, ``vecdot``, ``diagonal``, ``householder_product``.
"""
from __future__ import annotations

from .linalg_decompositions import cholesky, qr, svd
from .linalg_functions import chain_matmul, det, logdet, matrix_exp, matrix_power, slogdet
from .linalg_lu import lu, lu_unpack
from .linalg_solvers import cholesky_inverse, cholesky_solve, inverse, lu_solve, pinverse, triangular_solve

EXPORTS = __all__ = ("det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "matrix_exp", "cholesky",
                     "cholesky_solve", "cholesky_inverse", "qr", "svd", "triangular_solve", "lu_solve", "lu",
                     "lu_unpack", "chain_matmul")
