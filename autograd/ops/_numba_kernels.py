"""CPU-compiled (Numba) kernels for the training hot paths: col2im, max/avg pooling, GELU, row coalescing.

Every kernel here has a NumPy/CuPy twin at its call site; :func:`enabled` decides which one runs: the
compiled one only for NumPy arrays, when Numba imports and ``AUTOGRAD_NUMBA`` is not ``0``. Kernels are
compiled lazily on first use and cached on disk (``cache=True``), one specialisation per dtype (float32,
float64) and array layout the call sites pass (always C-contiguous), so a fresh process pays the compile
once per machine.
"""
from __future__ import annotations

import math
import os

import numpy as np

try:  # Numba is a core dependency; the library still works (slower) without it
    import numba as _numba
    from numba import njit
except ImportError:  # pragma: no cover - exercised only where Numba is missing
    _numba = None

ENABLED = _numba is not None and os.environ.get("AUTOGRAD_NUMBA", "1") != "0"


def enabled(xp):
    """Whether the compiled CPU kernels apply to arrays of module ``xp``."""
    return ENABLED and xp is np


if _numba is not None:
    # error_model="numpy": no ZeroDivisionError checks, which would keep LLVM from vectorising the loops
    def _cached_njit(**kw):
        # Numba's cache locator raises at decoration when neither the install's __pycache__ nor the user's
        # cache folder is writable (a read-only install and an unwritable home): compile per process then
        def deco(fn):
            try:
                return njit(cache=True, **kw)(fn)
            except RuntimeError:
                return njit(**kw)(fn)
        return deco

    _jit = _cached_njit(nogil=True, error_model="numpy")
    _jit_fast = _cached_njit(nogil=True, fastmath=True, error_model="numpy")

    # ---- shared: which outputs a kernel tap reaches --------------------------------------------------------
    @_jit
    def _tap_range(j, s, p, d, n_out, size):
        """Output positions ``o`` whose tap ``j`` (at ``o * s - p + j * d``) lies inside [0, size)."""
        off = j * d - p
        lo = 0 if off >= 0 else (-off + s - 1) // s
        hi = (size - 1 - off) // s + 1 if size - 1 - off >= 0 else 0
        return lo, max(lo, min(hi, n_out))

    # ---- convolution: col2im --------------------------------------------------------------------------
    @_jit
    def col2im(gcols, gx, sh, sw, dh, dw, pt, pl):
        """Adjoint of im2col. ``gcols`` (C, kh, kw, N, OH, OW) scatters-adds into ``gx`` (N, C, H, W), which
        must be zeroed; taps that fall into the padding are dropped (the loops cover only in-range ones)."""
        C, kh, kw, N, OH, OW = gcols.shape
        H, W = gx.shape[2], gx.shape[3]
        for n in range(N):
            for c in range(C):
                for i in range(kh):
                    olo, ohi = _tap_range(i, sh, pt, dh, OH, H)
                    for j in range(kw):
                        lo, hi = _tap_range(j, sw, pl, dw, OW, W)
                        base = j * dw - pl
                        for oh in range(olo, ohi):
                            src = gcols[c, i, j, n, oh]
                            dst = gx[n, c, oh * sh - pt + i * dh]
                            for ow in range(lo, hi):
                                dst[ow * sw + base] += src[ow]

    # ---- pooling ----------------------------------------------------------------------------------------
    @_jit
    def max_pool_fwd(x, out, idx, kh, kw, sh, sw, dh, dw, ph, pw):
        """torch's max pooling: per output, taps in row-major order, ``v > best or isnan(v)`` takes the tap
        (so ties keep the first, NaN wins and the last NaN is reported); ``idx`` gets the flat ``h * W + w``.
        Loops run tap by tap over a whole output row, so the inner loop has no bounds tests."""
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        for n in range(N):
            for c in range(C):
                for oh in range(OH):
                    h0 = oh * sh - ph
                    h1 = min(h0 + (kh - 1) * dh + 1, H)
                    while h0 < 0:
                        h0 += dh
                    best = out[n, c, oh]
                    bi = idx[n, c, oh]
                    for ow in range(OW):
                        w0 = ow * sw - pw
                        while w0 < 0:
                            w0 += dw
                        best[ow] = -np.inf
                        bi[ow] = h0 * W + w0
                    for h in range(h0, h1, dh):
                        row = x[n, c, h]
                        for j in range(kw):
                            lo, hi = _tap_range(j, sw, pw, dw, OW, W)
                            base = j * dw - pw
                            for ow in range(lo, hi):
                                w = ow * sw + base
                                v = row[w]
                                if v > best[ow] or v != v:
                                    best[ow] = v
                                    bi[ow] = h * W + w

    @_jit
    def max_pool_bwd(g, idx, gx):
        """Scatter-add ``g`` into ``gx`` (zeroed, (N, C, H*W)) at the saved indices."""
        N, C, OH, OW = g.shape
        HW = gx.shape[2]
        for n in range(N):
            for c in range(C):
                for oh in range(OH):
                    for ow in range(OW):
                        i = idx[n, c, oh, ow]
                        if 0 <= i < HW:  # a dilated window can miss the input entirely (output -inf)
                            gx[n, c, i] += g[n, c, oh, ow]

    @_jit
    def _avg_window(o, s, p, k, size):
        start = o * s - p
        end = min(start + k, size + p)
        full = end - start
        return max(start, 0), min(end, size), full

    @_jit
    def _avg_divisor(h0, h1, fh, w0, w1, fw, include_pad, divisor):
        """torch's divisor: ``divisor_override``, else the padded window, else the part inside the input."""
        if divisor > 0:
            return divisor
        if include_pad:
            return fh * fw
        return (h1 - h0) * (w1 - w0)

    @_jit
    def avg_pool_fwd(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor):
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        for oh in range(OH):
            h0, h1, fh = _avg_window(oh, sh, ph, kh, H)
            for ow in range(OW):
                w0, w1, fw = _avg_window(ow, sw, pw, kw, W)
                d = _avg_divisor(h0, h1, fh, w0, w1, fw, include_pad, divisor)
                for n in range(N):
                    for c in range(C):
                        acc = 0.0
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                acc += x[n, c, h, w]
                        out[n, c, oh, ow] = acc / d

    @_jit
    def avg_pool_bwd(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor):
        N, C, OH, OW = g.shape
        H, W = gx.shape[2], gx.shape[3]
        for oh in range(OH):
            h0, h1, fh = _avg_window(oh, sh, ph, kh, H)
            for ow in range(OW):
                w0, w1, fw = _avg_window(ow, sw, pw, kw, W)
                d = _avg_divisor(h0, h1, fh, w0, w1, fw, include_pad, divisor)
                for n in range(N):
                    for c in range(C):
                        v = g[n, c, oh, ow] / d
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                gx[n, c, h, w] += v

    # ---- GELU ---------------------------------------------------------------------------------------------
    # float64: libm's erf/tanh (matches torch to rounding). float32: erf and tanh built from arithmetic
    # only, so that LLVM vectorises the loop (there is no vector erf/exp without SVML), evaluated in float64:
    # erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, below float32's resolution of 1 + erf), and
    # exp(y) = e(y / 256)^256 with e a degree-11 Taylor polynomial (relative error < 1e-13 for |y| <= 88).
    @_jit_fast
    def _exp_f32(y):
        """exp(y), arithmetic only; ``y`` is clamped to [-88, 88] (beyond float32's range either way)."""
        r = max(min(y, 88.0), -88.0) * 0.00390625
        p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
            1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
                1.0 / 3628800 + r * (1.0 / 39916800)))))))))))
        for _ in range(8):
            p = p * p
        return p

    @_jit_fast
    def _erf_f32(z):
        a = min(abs(z), 4.0)
        t = 1.0 / (1.0 + 0.3275911 * a)
        y = 1.0 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) \
            * _exp_f32(-a * a)
        return math.copysign(y, z)

    @_jit_fast
    def _tanh_f32(u):
        u = max(min(u, 20.0), -20.0)  # tanh(20) is 1 in float64
        return 1.0 - 2.0 / (_exp_f32(2.0 * u) + 1.0)

    _S2 = 0.7071067811865476       # 1 / sqrt(2)
    _ISQ2PI = 0.3989422804014327   # 1 / sqrt(2 pi)
    _K = 0.7978845608028654        # sqrt(2 / pi)
    _C = 0.044715

    @_jit
    def gelu_erf_f64(x, out):
        for i in range(x.size):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.erf(v * _S2))

    @_jit
    def gelu_erf_bwd_f64(x, g, out):
        for i in range(x.size):
            v = x[i]
            cdf = 0.5 * (1.0 + math.erf(v * _S2))
            out[i] = g[i] * (cdf + v * _ISQ2PI * math.exp(-0.5 * v * v))

    @_jit_fast
    def gelu_erf_f32(x, out):
        for i in range(x.size):
            v = np.float64(x[i])
            out[i] = 0.5 * v * (1.0 + _erf_f32(v * _S2))

    @_jit_fast
    def gelu_erf_bwd_f32(x, g, out):
        for i in range(x.size):
            v = np.float64(x[i])
            cdf = 0.5 * (1.0 + _erf_f32(v * _S2))
            out[i] = g[i] * (cdf + v * _ISQ2PI * _exp_f32(-0.5 * v * v))

    @_jit
    def gelu_tanh_f64(x, out):
        for i in range(x.size):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.tanh(_K * (v + _C * v * v * v)))

    @_jit
    def gelu_tanh_bwd_f64(x, g, out):
        for i in range(x.size):
            v = x[i]
            t = math.tanh(_K * (v + _C * v * v * v))
            out[i] = g[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _K * (1.0 + 3.0 * _C * v * v))

    @_jit_fast
    def gelu_tanh_f32(x, out):
        for i in range(x.size):
            v = np.float64(x[i])
            out[i] = 0.5 * v * (1.0 + _tanh_f32(_K * (v + _C * v * v * v)))

    @_jit_fast
    def gelu_tanh_bwd_f32(x, g, out):
        for i in range(x.size):
            v = np.float64(x[i])
            t = _tanh_f32(_K * (v + _C * v * v * v))
            out[i] = g[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _K * (1.0 + 3.0 * _C * v * v))

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
