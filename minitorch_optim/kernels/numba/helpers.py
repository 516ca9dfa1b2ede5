"""The hand-written part of the CPU kernels, each helper once: address -> pointer, NumPy's NaN-propagating
maximum/minimum, and torch's two-sided lerp over flat arrays (AveragedModel's EMA/SWA step). The
per-algorithm kernels are generated (kernels/codegen.py) and import these."""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from autograd.ops._numba_kernels import cached_njit  # noqa: F401  (the generated kernels import it from here)


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




@cached_njit(nogil=True, fastmath=False, error_model="numpy")
def lerp_avg(a, b, w, omw, small, lo, hi):
    """``a[lo:hi].lerp_(b[lo:hi], w)`` (torch's two-sided lerp: ``x + d*w`` for small w, else ``y - d*(1-w)``)."""
    for i in range(lo, hi):
        x = a[i]
        y = b[i]
        d = y - x
        a[i] = x + d * w if small else y - d * omw


# ---- float16 / bfloat16 storage: kernels load into float32, compute, and round on store ----------------
@intrinsic
def _f32_bits(typingctx, x):
    """The bits of a float32 as a uint32."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint32))

    return types.uint32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, u):
    """A uint32's bits as a float32."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return types.float32(types.uint32), codegen


@intrinsic
def _half_f32(typingctx, h):
    """float16 bits (uint16) -> float32 by LLVM's ``fpext half`` (one vector instruction with F16C)."""
    def codegen(context, builder, sig, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

    return types.float32(types.uint16), codegen


@intrinsic
def _f32_half(typingctx, x):
    """float32 -> float16 bits by LLVM's ``fptrunc`` (round to nearest even, overflow to inf)."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(types.float32), codegen


# The conversions are written without branches (selects) so the element loops stay vectorised; each gives
# the bits NumPy's cast gives, NaN payloads included (the hardware conversions would set the quiet bit of
# a signalling NaN, NumPy keeps its bits).
@njit(inline="always")
def _b2f(h):
    return _bits_f32(np.uint32(np.uint32(h) << np.uint32(16)))


@njit(inline="always")
def _f2b(x):
    """float32 -> bfloat16 bits, round to nearest even (NaN stays a quiet NaN of its sign)."""
    u = np.uint32(_f32_bits(np.float32(x)))
    nan = np.uint32((u >> np.uint32(16)) | np.uint32(0x40))
    r = np.uint32((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16))
    return np.uint16(nan if (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000) else r)


@njit(inline="always")
def _h2f(h):
    h = np.uint32(h)
    nan = _bits_f32(np.uint32(((h & np.uint32(0x8000)) << np.uint32(16)) | np.uint32(0x7F800000)
                              | ((h & np.uint32(0x3FF)) << np.uint32(13))))
    f = _half_f32(np.uint16(h))
    return nan if (h & np.uint32(0x7FFF)) > np.uint32(0x7C00) else f


@njit(inline="always")
def _f2h(x):
    """float32 -> float16 bits, round to nearest even (as NumPy's cast: overflow to inf, NaN kept)."""
    u = np.uint32(_f32_bits(np.float32(x)))
    r = np.uint32(0x7C00) + ((u & np.uint32(0x7FFFFF)) >> np.uint32(13))
    nan = ((u >> np.uint32(16)) & np.uint32(0x8000)) | (r + np.uint32(1) if r == np.uint32(0x7C00) else r)
    h = np.uint32(_f32_half(np.float32(x)))
    return np.uint16(nan if (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000) else h)
