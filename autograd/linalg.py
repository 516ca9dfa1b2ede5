"""``torch.linalg``: the norms (``vector_norm``, ``matrix_norm`` for ``'fro'`` / ``inf`` / ``1``, and
``norm``), composed of the recorded reductions so that they differentiate to any order, and ``cross``. The
factorisations and solvers are not provided and fail by name."""
from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dtypes
from ._unsupported import module_getattr as _module_getattr
from .ops import reduction as _red
from .ops.composites import linalg_cross as cross
from .ops.elementwise import abs as _abs

__all__ = ["cross", "matrix_norm", "norm", "vector_norm"]

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


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """``'fro'``, or the largest absolute column (``1``) / row (``inf``) sum and the smallest (``-1`` /
    ``-inf``), over the two dims ``dim``. The spectral and nuclear norms need an SVD and raise."""
    if dtype is not None:
        A = A.to(dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (d % A.ndim for d in dim)
    if ord == "fro":
        return _red.norm(A, 2.0, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)   # 1: sum down columns, max over them
        s = _abs(A).sum(inner, keepdim=True)
        r = s.amax(outer, keepdim=True) if ord > 0 else s.amin(outer, keepdim=True)
        return r if keepdim else r.reshape(tuple(n for i, n in enumerate(A.shape) if i not in (d0, d1)))
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which autograd "
                                  f"does not provide")
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


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
