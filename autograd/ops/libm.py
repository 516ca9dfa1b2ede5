"""The C library's scalar ``erf``, ``erfc`` and ``lgamma`` over NumPy arrays, computed in float64.

NumPy has no ufunc for these. Numba compiles a loop that calls libm for each element (the same ``erf`` and
``erfc`` values as Python's ``math`` module, about ten times faster than ``np.vectorize``; for ``lgamma``
libm's value, which is torch's more often than CPython's own ``math.lgamma``). It is compiled on first
use and cached on disk where Numba can write its cache. Without Numba (or with ``AUTOGRAD_NUMBA=0``) the
functions run ``math``'s one element at a time.
"""
from __future__ import annotations

import math

import numpy as np

from ._numba_kernels import ENABLED

if ENABLED:
    from ._numba_kernels import cached_njit


def _scalar_lgamma(v):
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):   # the poles (0, -1, -2, ...) and overflow: libm gives +inf
        return math.inf


_PYTHON = {"erf": math.erf, "erfc": math.erfc, "lgamma": _scalar_lgamma}


if ENABLED:
    @cached_njit(nogil=True, error_model="numpy")
    def _erf_loop(x, out):
        for i in range(x.size):
            out[i] = math.erf(x[i])

    @cached_njit(nogil=True, error_model="numpy")
    def _erfc_loop(x, out):
        for i in range(x.size):
            out[i] = math.erfc(x[i])

    @cached_njit(nogil=True, error_model="numpy")
    def _lgamma_loop(x, out):
        for i in range(x.size):
            out[i] = math.lgamma(x[i])

    _LOOPS = {"erf": _erf_loop, "erfc": _erfc_loop, "lgamma": _lgamma_loop}


def _apply(name, x):
    x = np.asarray(x, np.float64)
    if not x.size:
        return np.empty(x.shape, np.float64)
    if ENABLED:
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty_like(flat)
        _LOOPS[name](flat, out)
        return out.reshape(x.shape)
    with np.errstate(all="ignore"):
        return np.vectorize(_PYTHON[name], otypes=[np.float64])(x)


def erf(x):
    """libm's erf of each element (float64)."""
    return _apply("erf", x)


def erfc(x):
    """libm's erfc of each element (float64)."""
    return _apply("erfc", x)


def lgamma(x):
    """libm's lgamma of each element (float64; +inf at the poles)."""
    return _apply("lgamma", x)
