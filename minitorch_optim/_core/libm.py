"""``pow`` on NumPy arrays as the C library computes it, so every path of an update gives the same bits.

NumPy's own ``power`` uses SIMD approximations on some CPUs (SVML on AVX-512) whose last bits differ
from libm's ``pow``/``powf``, which the generated Numba kernels call (as does the g++ build of the CUDA
kernels in the tests). ``o.pow`` on NumPy arrays therefore goes through a small Numba ufunc over libm's
function (compiled on first use, cached on disk); without Numba there are no CPU kernels to agree with
and NumPy's ``power`` is used. On CuPy, ``cupy.power`` and the CUDA kernels call the same CUDA ``pow``.
"""
from __future__ import annotations

import threading

import numpy as np

_UFUNC = []
_LOCK = threading.Lock()
SIGNATURES = ["float32(float32, float32)", "float64(float64, float64)"]


def _build():
    try:
        from numba import vectorize  # noqa: PLC0415
    except ImportError:
        return None

    def libm_pow(x, e):
        return x ** e

    try:
        return vectorize(SIGNATURES, cache=True)(libm_pow)
    except Exception:  # noqa: BLE001 - no writable cache folder: compile without caching
        return vectorize(SIGNATURES)(libm_pow)


def ufunc():
    """The libm ``pow`` ufunc, or None without Numba."""
    if not _UFUNC:
        with _LOCK:
            if not _UFUNC:
                _UFUNC.append(_build())
    return _UFUNC[0]


def power(xp, x, e, out=None):
    """``x ** e`` elementwise (``out=`` as NumPy's): libm's ``pow`` for float32/float64 NumPy arrays."""
    if xp is np and getattr(x, "dtype", None) in (np.float32, np.float64):
        f = ufunc()
        if f is not None:
            return f(x, e) if out is None else f(x, e, out=out)
    return xp.power(x, e) if out is None else xp.power(x, e, out=out)
