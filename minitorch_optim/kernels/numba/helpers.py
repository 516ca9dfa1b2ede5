"""The hand-written part of the CPU kernels, each helper once: address -> pointer, the atomic claim of a
chunk-table row and the count of finished ones, NumPy's NaN-propagating maximum/minimum, and torch's two-sided lerp over flat arrays
(AveragedModel's EMA/SWA step). The per-algorithm kernels are generated (kernels/codegen.py) and import
these."""
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


def _counter(context, builder, sig, args, index):
    """The address of ``counter[index]`` (the intrinsics' first argument, an int64 array)."""
    arr = context.make_array(sig.args[0])(context, builder, value=args[0])
    return cgutils.gep(builder, arr.data, index)


@intrinsic
def _claim_rows(typingctx, counter, n):
    """An atomic fetch-and-add of ``n`` on ``counter[0]`` (int64): the first of the next ``n`` chunk-table
    rows of a launch, so the threads running one kernel share its rows without the GIL."""
    def codegen(context, builder, sig, args):
        return builder.atomic_rmw("add", _counter(context, builder, sig, args, 0), args[1], "monotonic")

    return types.int64(counter, types.int64), codegen


@njit(inline="always")
def _claim(counter):
    """The next chunk-table row of a launch."""
    return _claim_rows(counter, 1)


@intrinsic
def _finish(typingctx, counter):
    """Count one finished chunk-table row: an atomic add of 1 on ``counter[1]`` (int64) with release
    ordering, so the row's stores are visible to a thread that sees the count (``rows_done``)."""
    def codegen(context, builder, sig, args):
        one = ir.Constant(ir.IntType(64), 1)
        return builder.atomic_rmw("add", _counter(context, builder, sig, args, 1), one, "release")

    return types.int64(counter), codegen


@intrinsic
def _raise_to(typingctx, addr, value):
    """``*(int64 *)addr = max(*addr, value)``, atomically (a late call of an older launch leaves it)."""
    def codegen(context, builder, sig, args):
        ptr = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
        builder.atomic_rmw("max", ptr, args[1], "release")
        return context.get_dummy_value()

    return types.none(types.int64, types.int64), codegen


@intrinsic
def _read(typingctx, addr):
    """``*(int64 *)addr``, with acquire ordering."""
    def codegen(context, builder, sig, args):
        return builder.load_atomic(builder.inttoptr(args[0], ir.IntType(64).as_pointer()), "acquire", 8)

    return types.int64(types.int64), codegen


@njit(inline="always")
def _at(counter, i):
    """``counter[i]`` (int64), read with acquire ordering (pairs with ``_finish`` and ``_raise_to``)."""
    return _read(counter.ctypes.data + 8 * i)


@njit(inline="always")
def _ring(counter):
    """A kernel's first act: raise the team's bell (at address ``counter[2]``, when there is one, see
    team.py) to the launch's number ``counter[3]``. The launching thread runs it without the GIL, so a
    pool thread that sees the bell can take the GIL at once."""
    if counter[2] != 0:
        _raise_to(counter[2], counter[3])


@njit(inline="always")
def _linger(counter, polls):
    """A pool thread's last act in a kernel: poll the team's bell (``counter[2]``, see team.py) up to
    ``polls`` times until a later launch rings it or a call is handed to the pool. It then returns while
    that launch's thread is inside its kernel, without the GIL, so it takes the GIL uncontended, where
    returning at once would wait for the GIL the launching thread holds between launches and join the
    next launch late."""
    if counter[2] != 0 and polls > 0:
        submitted = _read(counter[2] + 8)
        for _ in range(polls):
            if _read(counter[2]) != counter[3] or _read(counter[2] + 8) != submitted:
                return


@cached_njit(nogil=True)
def wait_bell(bell, rung, submitted, polls):
    """Whether the bell (``bell[0]``: the latest launch, ``bell[1]``: calls handed to the pool) moved
    from ``rung, submitted`` within ``polls`` polls (without the GIL)."""
    for _ in range(polls):
        if _at(bell, 0) != rung or _at(bell, 1) != submitted:
            return True
    return _at(bell, 0) != rung or _at(bell, 1) != submitted


@cached_njit(nogil=True)
def close_rows(counter, rows):
    """Let no thread claim another row of a launch of ``rows`` rows (claims them all at once); returns how
    many were claimed before (the rows some thread may still be running)."""
    return min(_claim_rows(counter, rows), rows)


@cached_njit(nogil=True)
def rows_done(counter, rows, spins):
    """Whether all ``rows`` rows of a launch are finished, polling ``counter[1]`` up to ``spins`` times
    without the GIL: the launching thread waits here for the rows the pool threads took, instead of for
    those threads to come back through the GIL."""
    for _ in range(spins):
        if _at(counter, 1) >= rows:
            return True
    return _at(counter, 1) >= rows


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
# Each conversion gives the bits NumPy's (ml_dtypes') cast gives, NaN payloads included (the hardware
# conversions would set the quiet bit of a signalling NaN, NumPy keeps its bits), without branches
# (selects), so the element loops vectorise. They are written as LLVM IR on 32-bit integers: the same
# arithmetic in Numba's integer types widens every uint32 operation to 64 bits (uint32 + uint32 is
# uint64 to Numba), which made the vector loops work on <32 x i64>, four times the integer work and
# registers of <32 x i32> (the 16-bit kernels ran 4-6x slower per element than float32 in cache).
_I16, _I32, _F32 = ir.IntType(16), ir.IntType(32), ir.FloatType()


def _c32(v):
    return ir.Constant(_I32, v)


@intrinsic
def _b2f_bits(typingctx, h):
    """bfloat16 bits (uint16) -> float32: the bits shifted up (exact, NaNs kept)."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(builder.shl(builder.zext(args[0], _I32), _c32(16)), _F32)

    return types.float32(types.uint16), codegen


def _isnan(builder, x):
    return builder.fcmp_unordered("uno", x, x)       # one vector compare into a mask register


@intrinsic
def _f2b_bits(typingctx, x):
    """float32 -> bfloat16 bits, round to nearest even; a NaN becomes the quiet NaN of its sign (0x7FC0 or
    0xFFC0), as ml_dtypes' cast gives."""
    def codegen(context, builder, sig, args):
        u = builder.bitcast(args[0], _I32)
        hi = builder.lshr(u, _c32(16))
        r = builder.lshr(builder.add(builder.add(u, _c32(0x7FFF)), builder.and_(hi, _c32(1))), _c32(16))
        nan = builder.or_(builder.and_(hi, _c32(0x8000)), _c32(0x7FC0))
        return builder.trunc(builder.select(_isnan(builder, args[0]), nan, r), _I16)

    return types.uint16(types.float32), codegen


@intrinsic
def _h2f_bits(typingctx, h):
    """float16 bits (uint16) -> float32 by LLVM's ``fpext half`` (F16C), exact but for a signalling NaN,
    whose quiet bit the hardware sets: that bit is cleared again (the rest of the payload and the sign are
    the hardware's already). The test runs on the 16-bit input, where one vector op covers 32 lanes."""
    def codegen(context, builder, sig, args):
        c16 = lambda v: ir.Constant(_I16, v)  # noqa: E731
        f = builder.fpext(builder.bitcast(args[0], ir.HalfType()), _F32)
        fb = builder.bitcast(f, _I32)
        nan = builder.icmp_unsigned(">", builder.and_(args[0], c16(0x7FFF)), c16(0x7C00))
        signalling = builder.and_(nan, builder.icmp_unsigned("==", builder.and_(args[0], c16(0x200)), c16(0)))
        cleared = builder.and_(fb, _c32(~0x400000 & 0xFFFFFFFF))
        return builder.bitcast(builder.select(signalling, cleared, fb), _F32)

    return types.float32(types.uint16), codegen


@intrinsic
def _f2h_bits(typingctx, x):
    """float32 -> float16 bits by LLVM's ``fptrunc`` (F16C: round to nearest even, overflow to inf); a NaN
    keeps its sign and the top 10 bits of its payload, unquieted (a payload that would vanish becomes 1),
    as NumPy's cast, where the hardware would set the quiet bit."""
    def codegen(context, builder, sig, args):
        u = builder.bitcast(args[0], _I32)
        h = builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), _I16)
        top = builder.and_(builder.lshr(u, _c32(13)), _c32(0x3FF))
        top = builder.select(builder.icmp_unsigned("==", top, _c32(0)), _c32(1), top)
        nan = builder.or_(builder.or_(builder.and_(builder.lshr(u, _c32(16)), _c32(0x8000)), _c32(0x7C00)), top)
        return builder.select(_isnan(builder, args[0]), builder.trunc(nan, _I16), h)

    return types.uint16(types.float32), codegen


@njit(inline="always")
def _b2f(h):
    return _b2f_bits(np.uint16(h))


@njit(inline="always")
def _f2b(x):
    """float32 -> bfloat16 bits, round to nearest even (a NaN: the quiet NaN of its sign, as ml_dtypes)."""
    return _f2b_bits(np.float32(x))


@njit(inline="always")
def _h2f(h):
    return _h2f_bits(np.uint16(h))


@njit(inline="always")
def _f2h(x):
    """float32 -> float16 bits, round to nearest even (as NumPy's cast: overflow to inf, NaN kept)."""
    return _f2h_bits(np.float32(x))
