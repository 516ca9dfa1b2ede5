"""Compiled (Numba) window kernels of convolution and pooling: col2im, max and average pooling.

The threading rules are :mod:`autograd.ops._numba_kernels`' (each kernel compiled threaded and serial from
one body, one thread per (n, c) plane, so any thread count gives the same bits); the call sites check
``_numba_kernels.enabled`` and keep a NumPy/CuPy twin.
"""
from __future__ import annotations

import numpy as np

from . import _numba_kernels as _nk

if _nk._numba is not None:
    from numba import prange

    from ._numba_kernels import _dual, _jit

    # ---- shared: which outputs a kernel tap reaches --------------------------------------------------------
    @_jit
    def _tap_range(j, s, p, d, n_out, size):
        """Output positions ``o`` whose tap ``j`` (at ``o * s - p + j * d``) lies inside [0, size)."""
        off = j * d - p
        lo = 0 if off >= 0 else (-off + s - 1) // s
        hi = (size - 1 - off) // s + 1 if size - 1 - off >= 0 else 0
        return lo, max(lo, min(hi, n_out))

    # ---- convolution: col2im ----------------------------------------------------------------------------
    @_dual()
    def col2im(gcols, gx, sh, sw, dh, dw, pt, pl):
        """Adjoint of im2col. ``gcols`` (C, kh, kw, N, OH, OW) scatters-adds into ``gx`` (N, C, H, W), whose
        planes are zeroed here; taps that fall into the padding are dropped (the loops cover only in-range
        ones). One thread per (n, c) plane, which adds its taps in the serial order."""
        C, kh, kw, N, OH, OW = gcols.shape
        H, W = gx.shape[2], gx.shape[3]
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            gx[n, c, :, :] = 0
            for i in range(kh):
                olo, ohi = _tap_range(i, sh, pt, dh, OH, H)
                for j in range(kw):
                    lo, hi = _tap_range(j, sw, pl, dw, OW, W)
                    base = j * dw - pl
                    for oh in range(olo, ohi):
                        src = gcols[c, i, j, n, oh]
                        dst = gx[n, c, oh * sh - pt + i * dh]
                        if sw == 1:   # unit stride spelled out: LLVM vectorises only this form
                            d1 = dst[base + lo:base + hi]
                            s1 = src[lo:hi]
                            for k in range(hi - lo):
                                d1[k] += s1[k]
                        else:
                            for ow in range(lo, hi):
                                dst[ow * sw + base] += src[ow]

    # ---- pooling ----------------------------------------------------------------------------------------
    @_jit
    def _max_pool_2x2(plane, ob, ib, tap):
        """The common 2x2, stride 2 window with no padding or dilation, every tap inside the plane: the same
        taps in the same order as the general loop (the first tap needs no comparison with -inf: it is taken
        unless it is -inf, where the index is the first tap's either way). The winning tap (0-3) is kept in
        the input's dtype in ``tap`` (a row of scratch) and turned into the flat index in a second loop, so
        that the first loop is all one width and LLVM vectorises it: 2-3x faster than the general loop."""
        W = plane.shape[1]
        OW = ob.shape[1]
        for oh in range(ob.shape[0]):
            r0 = plane[2 * oh]
            r1 = plane[2 * oh + 1]
            o = ob[oh]
            for ow in range(OW):
                w = 2 * ow
                best = r0[w]
                k = 0.0
                v = r0[w + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                k = 1.0 if take else k
                v = r1[w]
                take = (v > best) | (v != v)
                best = v if take else best
                k = 2.0 if take else k
                v = r1[w + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                k = 3.0 if take else k
                o[ow] = best
                tap[ow] = k
            top = 2 * oh * W
            row = ib[oh]
            for ow in range(OW):
                k = np.int64(tap[ow])
                row[ow] = top + (k >> 1) * W + 2 * ow + (k & 1)

    @_dual()
    def max_pool_fwd(x, out, idx, kh, kw, sh, sw, dh, dw, ph, pw):
        """torch's max pooling: per output, taps in row-major order, ``v > best or isnan(v)`` takes the tap
        (so ties keep the first, NaN wins and the last NaN is reported); ``idx`` gets the flat ``h * W + w``.
        The best value and index live in registers and the take is a select, not a branch (on data like
        activations the comparison is a coin flip a branch predictor loses); one thread per (n, c) plane."""
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        fast = (kh == kw == sh == sw == 2 and dh == dw == 1 and ph == pw == 0 and 2 * OH <= H and 2 * OW <= W)
        taps = np.empty((N * C if fast else 0, OW), dtype=x.dtype)   # the 2x2 loop's scratch rows
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            plane = x[n, c]
            if fast:
                _max_pool_2x2(plane, out[n, c], idx[n, c], taps[nc])
                continue
            for oh in range(OH):
                h0 = oh * sh - ph
                h1 = min(h0 + (kh - 1) * dh + 1, H)
                while h0 < 0:
                    h0 += dh
                for ow in range(OW):
                    w0 = ow * sw - pw
                    w1 = min(w0 + (kw - 1) * dw + 1, W)
                    while w0 < 0:
                        w0 += dw
                    out[n, c, oh, ow] = -np.inf   # read back: ``best`` in the input's dtype
                    best = out[n, c, oh, ow]
                    bi = h0 * W + w0
                    for h in range(h0, h1, dh):
                        for w in range(w0, w1, dw):
                            v = plane[h, w]
                            take = (v > best) | (v != v)
                            best = v if take else best
                            bi = h * W + w if take else bi
                    out[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = bi

    @_dual()
    def max_pool_bwd(g, idx, gx):
        """``gx`` (N, C, H*W) = ``g`` scatter-added at the saved indices; every element written (no zeroed
        buffer needed). One thread per (n, c) plane, adding in output order as the serial loop."""
        N, C, OH, OW = g.shape
        HW = gx.shape[2]
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            dst = gx[n, c]
            dst[:] = 0
            for oh in range(OH):
                for ow in range(OW):
                    i = idx[n, c, oh, ow]
                    if 0 <= i < HW:  # a dilated window can miss the input entirely (output -inf)
                        dst[i] += g[n, c, oh, ow]

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

    @_dual()
    def avg_pool_fwd(x, out, kh, kw, sh, sw, ph, pw, include_pad, divisor):
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            for oh in range(OH):
                h0, h1, fh = _avg_window(oh, sh, ph, kh, H)
                for ow in range(OW):
                    w0, w1, fw = _avg_window(ow, sw, pw, kw, W)
                    d = _avg_divisor(h0, h1, fh, w0, w1, fw, include_pad, divisor)
                    acc = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            acc += x[n, c, h, w]
                    out[n, c, oh, ow] = acc / d

    @_dual()
    def avg_pool_bwd(g, gx, kh, kw, sh, sw, ph, pw, include_pad, divisor):
        """``gx``'s planes are zeroed here; one thread per (n, c) plane, adding in output order as the serial
        loop."""
        N, C, OH, OW = g.shape
        H, W = gx.shape[2], gx.shape[3]
        for nc in prange(N * C):
            n = nc // C
            c = nc % C
            gx[n, c, :, :] = 0
            for oh in range(OH):
                h0, h1, fh = _avg_window(oh, sh, ph, kh, H)
                for ow in range(OW):
                    w0, w1, fw = _avg_window(ow, sw, pw, kw, W)
                    d = _avg_divisor(h0, h1, fh, w0, w1, fw, include_pad, divisor)
                    v = g[n, c, oh, ow] / d
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            gx[n, c, h, w] += v

