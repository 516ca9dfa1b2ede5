"""The hand-written part of the CPU kernels, each helper once: address -> pointer, NumPy's NaN-propagating
maximum/minimum, and torch's two-sided lerp over flat arrays (AveragedModel's EMA/SWA step). The
per-algorithm kernels are generated (kernels/codegen.py) and import these."""
from __future__ import annotations

from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _ptr(typingctx, addr):
    """An int64 address as a void pointer (for ``numba.carray``)."""
    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@njit(inline="always")
def _max(a, b):
    return a if (a > b or a != a) else b     # np.maximum: NaN wins, ties give the second argument


@njit(inline="always")
def _pow(a, b):
    return a ** b      # libm's pow / powf, as _core/libm.py computes o.pow on NumPy arrays


@njit(inline="always")
def _min(a, b):
    return a if (a < b or a != a) else b


def cached_njit(**kw):
    """``njit(cache=True, **kw)``, or without the on-disk cache where Numba finds no writable folder for it
    (a read-only install and an unwritable home make its cache locator raise at decoration)."""
    def deco(fn):
        try:
            return njit(cache=True, **kw)(fn)
        except RuntimeError:
            return njit(**kw)(fn)
    return deco


@cached_njit(nogil=True, fastmath=False, error_model="numpy")
def lerp_avg(a, b, w, omw, small, lo, hi):
    """``a[lo:hi].lerp_(b[lo:hi], w)`` (torch's two-sided lerp: ``x + d*w`` for small w, else ``y - d*(1-w)``)."""
    for i in range(lo, hi):
        x = a[i]
        y = b[i]
        d = y - x
        a[i] = x + d * w if small else y - d * omw
