"""CPU-compiled (Numba) kernels for the training hot paths: GELU, row coalescing, and the machinery (threading,
caching) shared with the window kernels of convolution and pooling (:mod:`autograd.ops._numba_window`).

Every kernel here has a NumPy/CuPy twin at its call site; :func:`enabled` decides which one runs: the
compiled one only for NumPy arrays, when Numba imports and ``AUTOGRAD_NUMBA`` is not ``0``. Kernels are
compiled lazily on first use and cached on disk (``cache=True``), one specialisation per dtype (float32,
float64) and array layout the call sites pass (always C-contiguous), so a fresh process pays the compile
once per machine.

The heavy kernels are parallel (``prange`` over independent outputs: batch x channel planes, or elements),
each compiled twice from one body (:func:`_dual`): threaded, run on the process's thread budget
(:mod:`autograd.threads`), and serial, run where the budget is one thread, where the work is too small
to pay for a thread launch, and in a forked child (Numba's OpenMP layer aborts a child whose parent
used it). Every output element is computed by one thread in the serial order, so the two give the same
bits.
"""
from __future__ import annotations

import math
import os
import threading
import types

import numpy as np

from ..threads import get_num_threads

try:  # Numba is a core dependency; the library still works (slower) without it
    import numba as _numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - exercised only where Numba is missing
    _numba = None

ENABLED = _numba is not None and os.environ.get("AUTOGRAD_NUMBA", "1") != "0"


def enabled(xp):
    """Whether the compiled CPU kernels apply to arrays of module ``xp``."""
    return ENABLED and xp is np


_FORKED = []
_LOCAL = threading.local()   # Numba's thread count is per calling thread
_MIN_PARALLEL = 1 << 15      # elements of work below which a thread launch costs more than it saves

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _FORKED.append(True))


def _runnable():
    """Tasks runnable on the machine right now, this one included (Linux ``/proc/loadavg``), or None."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            return int(fh.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


_CPUS = os.cpu_count() or 1


def idle_threads():
    """The thread budget cut to the cores idle right now (and to one in a forked child): a parallel region
    waits for its slowest thread, and a thread that must share a busy core arrives a scheduler slice late
    (measured on the 2-core machine under load: a CNN step 2.2x slower threaded than serial, where on idle
    cores threads halve the kernels' time)."""
    if _FORKED:
        return 1
    n = get_num_threads()
    busy = _runnable()
    if busy is not None:
        n = min(n, max(1, _CPUS - busy + 1))
    return n


def _threads(work):
    """Threads for a kernel of ``work`` elements: 1 (the serial twin), or :func:`idle_threads`, applied to
    Numba."""
    if _FORKED or work < _MIN_PARALLEL:
        return 1
    n = min(idle_threads(), _numba.config.NUMBA_NUM_THREADS)
    if n <= 1:
        return 1
    if getattr(_LOCAL, "n", 0) != n:
        _numba.set_num_threads(n)
        _LOCAL.n = n
    return n


_BLAS = []


def _blas():
    """threadpoolctl's controllers of the loaded BLAS libraries (none without threadpoolctl), found once."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController  # noqa: PLC0415
            _BLAS.append([c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"])
        except Exception:  # noqa: BLE001 - no threadpoolctl, or a BLAS it cannot steer: BLAS keeps its own
            _BLAS.append([])
    return _BLAS[0]


class blas_on_idle_cores:
    """Context: the BLAS calls inside run on :func:`idle_threads` threads, the BLAS setting restored after.
    OpenBLAS's threads wait for each other at every GEMM as the kernels' do (measured on the 2-core machine
    with other processes running: a CNN step 6x slower with two BLAS threads than with one); setting the
    count costs about a microsecond."""

    __slots__ = ("saved",)

    def __enter__(self):
        self.saved = []
        libs = _blas()
        if libs:
            n = idle_threads()
            for c in libs:
                before = c.get_num_threads()
                if before != n:
                    c.set_num_threads(n)
                    self.saved.append((c, before))
        return self

    def __exit__(self, *exc):
        for c, before in self.saved:
            c.set_num_threads(before)
        return False


class _Dual:
    """One kernel body compiled threaded and serial; calling it with ``work=`` picks by :func:`_threads`."""

    __slots__ = ("par", "ser")

    def __init__(self, par, ser):
        self.par, self.ser = par, ser

    def __call__(self, *args, work):
        return (self.par if _threads(work) > 1 else self.ser)(*args)


if _numba is not None:
    # error_model="numpy": no ZeroDivisionError checks, which would keep LLVM from vectorising the loops
    def cached_njit(**kw):
        """``njit(cache=True, **kw)``, or without the on-disk cache where Numba finds no writable folder for
        it (a read-only install and an unwritable home make its cache locator raise at decoration)."""
        def deco(fn):
            try:
                return njit(cache=True, **kw)(fn)
            except RuntimeError:
                return njit(**kw)(fn)
        return deco


    _jit = cached_njit(nogil=True, error_model="numpy")
    # fused multiply-adds only: no fast-math assumption about NaN, infinities or signed zeros
    _jit_fma = cached_njit(nogil=True, error_model="numpy", fastmath={"contract"})

    def _dual(**kw):
        """Compile ``fn`` threaded and, from a renamed copy (Numba's disk cache is keyed by the function's
        name, not its flags), serial; ``prange`` is ``range`` in the serial one."""
        def deco(fn):
            twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__,
                                      fn.__closure__)
            twin.__qualname__ = fn.__qualname__ + "_serial"
            return _Dual(cached_njit(nogil=True, error_model="numpy", parallel=True, **kw)(fn),
                         cached_njit(nogil=True, error_model="numpy", **kw)(twin))
        return deco

    # ---- GELU ---------------------------------------------------------------------------------------------
    # float64: libm's erf/tanh (matches torch to rounding). float32: evaluated in float64 from arithmetic only,
    # so that LLVM vectorises the loop (there is no vector erf/exp without SVML), and written so that no step
    # cancels: the erf form as x * Phi(x) with Phi from erfc (x < 0: erfc(|z|) / 2, x >= 0: 1 - erfc(z) / 2),
    # erfc by the Chebyshev fit of Numerical Recipes' erfcc (relative error < 1.2e-7 for every z >= 0), and
    # the tanh form as x * sigmoid(2u) (1 + tanh(u) = 2 sigmoid(2u)); exp(y) = e(y / 256)^256 with e a
    # degree-11 Taylor polynomial (relative error < 1e-13 where a float32 result depends on it).
    # Result: within 3 ulp of the exact value over the whole float32 range (tests/test_nn_pool_gelu_kernels.py);
    # torch's float32 CPU kernel rounds 1 + erf and 1 + tanh in float32, so it differs from the exact value by
    # up to |x| * 2^-24 where that sum cancels (x < -3), and that is the bound against torch.
    @_jit_fma
    def _exp_f32(y):
        """exp(y), arithmetic only, for y in [-708, 708] (float64's range); inf above, 0 below (so that an
        infinite input gives torch's NaN gradient: inf * 0)."""
        r = max(min(y, 708.0), -708.0) * 0.00390625
        p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
            1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
                1.0 / 3628800 + r * (1.0 / 39916800)))))))))))
        for _ in range(8):
            p = p * p
        # 0 below, inf above (p / 0), as arithmetic rather than branches, which kept LLVM from vectorising
        return p / np.float64(y <= 708.0) * np.float64(y > -708.0)

    @_jit_fma
    def _phi_f32(v):
        """The standard normal CDF at ``v`` from erfc(|v| / sqrt 2), with no cancellation on either side."""
        z = abs(v) * 0.7071067811865476
        t = 1.0 / (1.0 + 0.5 * z)
        e = 0.5 * t * _exp_f32(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * (
                0.17087277))))))))))
        return e if v < 0 else 1.0 - e

    @_jit_fma
    def _sig2_f32(u):
        """(sigmoid(2u), 1 - sigmoid(2u)), each without cancellation."""
        q = _exp_f32(-2.0 * u)
        return 1.0 / (1.0 + q), 1.0 / (1.0 + 1.0 / q)

    _S2 = 0.7071067811865476       # 1 / sqrt(2)
    _ISQ2PI = 0.3989422804014327   # 1 / sqrt(2 pi)
    _K = 0.7978845608028654        # sqrt(2 / pi)
    _C = 0.044715

    @_dual()
    def gelu_erf_f64(x, out):
        for i in prange(x.size):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.erf(v * _S2))

    @_dual()
    def gelu_erf_bwd_f64(x, g, out):
        for i in prange(x.size):
            v = x[i]
            cdf = 0.5 * (1.0 + math.erf(v * _S2))
            out[i] = g[i] * (cdf + v * _ISQ2PI * math.exp(-0.5 * v * v))

    @_dual(fastmath={"contract"})
    def gelu_erf_f32(x, out):
        for i in prange(x.size):
            v = np.float64(x[i])
            out[i] = v * _phi_f32(v)

    @_dual(fastmath={"contract"})
    def gelu_erf_bwd_f32(x, g, out):
        for i in prange(x.size):
            v = np.float64(x[i])
            out[i] = g[i] * (_phi_f32(v) + v * _ISQ2PI * _exp_f32(-0.5 * v * v))

    @_dual()
    def gelu_tanh_f64(x, out):
        for i in prange(x.size):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.tanh(_K * (v + _C * v * v * v)))

    @_dual()
    def gelu_tanh_bwd_f64(x, g, out):
        for i in prange(x.size):
            v = x[i]
            t = math.tanh(_K * (v + _C * v * v * v))
            out[i] = g[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _K * (1.0 + 3.0 * _C * v * v))

    @_dual(fastmath={"contract"})
    def gelu_tanh_f32(x, out):
        for i in prange(x.size):
            v = np.float64(x[i])
            s, _ = _sig2_f32(_K * (v + _C * v * v * v))
            out[i] = v * s

    @_dual(fastmath={"contract"})
    def gelu_tanh_bwd_f32(x, g, out):
        # 0.5 (1 + t) = s and 1 - t^2 = 4 s (1 - s), with s = sigmoid(2u)
        for i in prange(x.size):
            v = np.float64(x[i])
            s, s1 = _sig2_f32(_K * (v + _C * v * v * v))
            out[i] = g[i] * (s + 2.0 * v * s * s1 * _K * (1.0 + 3.0 * _C * v * v))

    GELU = {("none", "float64"): (gelu_erf_f64, gelu_erf_bwd_f64),
            ("none", "float32"): (gelu_erf_f32, gelu_erf_bwd_f32),
            ("tanh", "float64"): (gelu_tanh_f64, gelu_tanh_bwd_f64),
            ("tanh", "float32"): (gelu_tanh_f32, gelu_tanh_bwd_f32)}

    # ---- sparse rows ---------------------------------------------------------------------------------------
    @_jit
    def sum_sorted_rows(order, starts, values, out):
        """``out[k] = sum(values[order[starts[k]:starts[k + 1]]])``: duplicate rows summed in index order."""
        K = starts.size
        n = order.size
        D = values.shape[1]
        for k in range(K):
            end = starts[k + 1] if k + 1 < K else n
            for d in range(D):
                out[k, d] = values[order[starts[k]], d]
            for r in range(starts[k] + 1, end):
                src = order[r]
                for d in range(D):
                    out[k, d] += values[src, d]

    @_jit
    def scatter_add_rows(out, idx, rows):
        for r in range(idx.size):
            i = idx[r]
            for d in range(rows.shape[1]):
                out[i, d] += rows[r, d]
else:  # pragma: no cover
    GELU = {}


def coalesce_rows(idx, values):
    """Sorted unique ``idx`` and the sums of ``values`` rows (nnz, D) sharing an index; no ``np.add.at``."""
    xp = np
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    flag = np.empty(s.size, dtype=bool)
    flag[:1] = True
    np.not_equal(s[1:], s[:-1], out=flag[1:])
    starts = np.flatnonzero(flag)
    uniq = s[starts]
    vals2 = values.reshape(values.shape[0], math.prod(values.shape[1:]))
    if enabled(xp) and vals2.dtype.kind == "f":
        out = np.empty((starts.size, vals2.shape[1]), dtype=vals2.dtype)
        sum_sorted_rows(order, starts, np.ascontiguousarray(vals2), out)
    else:
        out = np.add.reduceat(vals2[order], starts, axis=0) if starts.size else vals2[:0].copy()
    return uniq, out.reshape((starts.size,) + values.shape[1:])
