"""Numba kernels of the CPU fused path: one per algorithm, each over ``[lo, hi)`` of the flat buffers.

Every kernel redoes, element by element, exactly the operations the algorithm's update function runs
through ``ArrayOps`` (see ``_ops.py``), in the same order and the same precision, so the fused path is
bitwise equal to the foreach and for-loop paths:

* ``add_(x, y, alpha)`` is ``x + y*alpha``, ``addcmul_(x, a, b, value)`` is ``x + (a*value)*b``,
  ``addcdiv_`` is ``x + (a*value)/b``, ``lerp_(x, y, w)`` is ``x + (y-x)*w`` when ``|w| < 0.5`` and
  ``y - (y-x)*(1-w)`` otherwise, ``maximum``/``minimum`` propagate NaN as NumPy's do;
* all scalars arrive already cast to the parameter dtype (the Python-float -> dtype rounding NumPy does),
  and every derived scalar (``1 - beta1``, ``-lr``, ...) is computed in Python first, as the update
  functions do; no literal constant enters the arithmetic (a Python literal would promote float32 to
  float64 inside Numba);
* ``fastmath=False`` (no reassociation, no FMA contraction) and ``error_model="numpy"`` (x/0 is inf,
  as in NumPy, not an exception).

Optional buffers and the gradient scale are passed as ``None`` when absent: Numba prunes those branches
at compile time (one cached specialisation per combination actually used), so a conditional store never
sits in the hot loop and LLVM vectorises it. Boolean flags that only pick between two cheap values
(maximize, the lerp form, first step, nesterov, ...) are runtime arguments compiled to selects.
The arrays are sliced to ``[lo, hi)`` before the ``prange`` loop so indices start at zero (no
wrap-around checks, which would block vectorisation). Each slice is its own statement: with Numba 0.68
a tuple assignment of slices (``P, G = p[lo:hi], g[lo:hi]``) in a parallel function silently drops the
stores made through them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(parallel=True, fastmath=False, error_model="numpy", cache=True)


@njit
def _max(a, b):
    return a if (a > b or a != a) else b     # np.maximum: NaN wins, ties give the second argument


@njit
def _min(a, b):
    return a if (a < b or a != a) else b


@njit
def _lerp(x, y, w, omw, small):
    d = y - x
    return x + d * w if small else y - d * omw


@njit
def _grad(G, i, scale, maximize):
    """The gradient entry, unscaled (written back, as torch's fused kernels do) and negated if asked."""
    g = G[i]
    if scale is not None:
        g = g / scale
        G[i] = g
    return -g if maximize else g


@njit
def _adam_moments(P, G, M, V, i, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2):
    """Element ``i`` of ``adam_moments`` (Adam, NAdam, RAdam): gradient sign/scale, L2 or decoupled decay,
    both moments stored; returns the gradient, the (decayed) parameter and the new moments."""
    gi = _grad(G, i, scale, maximize)
    pi = P[i]
    if wd_mode == 1:
        gi = gi + pi * wd
    elif wd_mode == 2:
        pi = pi * dec
    mi = _lerp(M[i], gi, w, omw, small)
    M[i] = mi
    vi = V[i] * b2
    vi = vi + (gi * omb2) * gi
    V[i] = vi
    return gi, pi, mi, vi


@njit(**_JIT)
def adam(p, g, m, v, vmax, lo, hi, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2, bc2s, eps,
         nss):
    """Adam/AdamW; ``wd_mode`` 0 none, 1 L2 (``g + p*wd``), 2 decoupled (``p * dec``); ``nss`` = -step_size."""
    P = p[lo:hi]
    G = g[lo:hi]
    M = m[lo:hi]
    V = v[lo:hi]
    if vmax is not None:
        VM = vmax[lo:hi]
    for i in prange(hi - lo):
        gi, pi, mi, vi = _adam_moments(P, G, M, V, i, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2)
        if vmax is not None:
            vi = _max(VM[i], vi)
            VM[i] = vi
        den = np.sqrt(vi) / bc2s + eps
        P[i] = pi + (mi * nss) / den


@njit(**_JIT)
def sgd(p, g, buf, lo, hi, scale, maximize, has_wd, wd, mom, omd, first, nesterov, nlr):
    """SGD; ``buf`` is None without momentum; ``omd`` = 1 - dampening, ``nlr`` = -lr."""
    P = p[lo:hi]
    G = g[lo:hi]
    if buf is not None:
        B = buf[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        if buf is not None:
            b = gi if first else B[i] * mom + gi * omd
            B[i] = b
            gi = gi + b * mom if nesterov else b
        P[i] = pi + gi * nlr


@njit(**_JIT)
def adagrad(p, g, acc, lo, hi, scale, maximize, has_wd, wd, eps, nclr):
    P = p[lo:hi]
    G = g[lo:hi]
    A = acc[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        a = A[i] + gi * gi
        A[i] = a
        P[i] = pi + (gi * nclr) / (np.sqrt(a) + eps)


@njit(**_JIT)
def adadelta(p, g, sq, acc, lo, hi, scale, maximize, has_wd, wd, rho, omr, eps, nlr):
    P = p[lo:hi]
    G = g[lo:hi]
    S = sq[lo:hi]
    U = acc[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        s = S[i] * rho
        s = s + (gi * omr) * gi
        S[i] = s
        u = U[i]
        d = np.sqrt(u + eps) / np.sqrt(s + eps)
        d = d * gi
        u = u * rho
        U[i] = u + (d * omr) * d
        P[i] = pi + d * nlr


@njit(**_JIT)
def adamax(p, g, m, u, lo, hi, scale, maximize, has_wd, wd, w, omw, small, b2, eps, nclr):
    P = p[lo:hi]
    G = g[lo:hi]
    M = m[lo:hi]
    U = u[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        mi = _lerp(M[i], gi, w, omw, small)
        M[i] = mi
        ui = _max(U[i] * b2, abs(gi) + eps)
        U[i] = ui
        P[i] = pi + (mi * nclr) / ui


@njit(**_JIT)
def asgd(p, g, ax, lo, hi, scale, maximize, has_wd, wd, shrink, neta, average, mu):
    """ASGD; ``shrink`` = 1 - lambd*eta, ``neta`` = -eta; ``average`` False copies p into ax (mu == 1)."""
    P = p[lo:hi]
    G = g[lo:hi]
    X = ax[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        pi = pi * shrink
        pi = pi + gi * neta
        P[i] = pi
        x = X[i]
        X[i] = x + (pi - x) * mu if average else pi


@njit(**_JIT)
def rmsprop(p, g, sq, gavg, buf, lo, hi, scale, maximize, has_wd, wd, alpha, oma, small, ama, eps, nlr,
            mom):
    """RMSprop; ``gavg`` (centered) and ``buf`` (momentum) are None when unused; lerp weight is ``oma``."""
    P = p[lo:hi]
    G = g[lo:hi]
    S = sq[lo:hi]
    if gavg is not None:
        GA = gavg[lo:hi]
    if buf is not None:
        B = buf[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        pi = P[i]
        if has_wd:
            gi = gi + pi * wd
        s = S[i] * alpha
        s = s + (gi * oma) * gi
        S[i] = s
        if gavg is not None:
            a = _lerp(GA[i], gi, oma, ama, small)
            GA[i] = a
            avg = np.sqrt(s + (-a) * a)
        else:
            avg = np.sqrt(s)
        avg = avg + eps
        if buf is not None:
            b = B[i] * mom + gi / avg
            B[i] = b
            P[i] = pi + b * nlr
        else:
            P[i] = pi + (gi * nlr) / avg


@njit(**_JIT)
def rprop(p, g, prev, size, lo, hi, scale, maximize, first, lr, etaminus, etaplus, smin, smax, zero, one):
    """Rprop; ``zero``/``one`` carry the dtype (a literal would promote float32 math to float64)."""
    P = p[lo:hi]
    G = g[lo:hi]
    PV = prev[lo:hi]
    SZ = size[lo:hi]
    for i in prange(hi - lo):
        gi = _grad(G, i, scale, maximize)
        s = lr if first else SZ[i]
        agree = gi * PV[i]
        flip = agree < zero
        s = s * etaplus if agree > zero else (s * etaminus if flip else s)
        s = _min(_max(s, smin), smax)
        SZ[i] = s
        gi = zero if flip else gi
        # addcmul_(p, sign(g), size, value=-1): (sign(g) * -1) * size; torch's sign(+-0) = sign(NaN) = +0
        ns = -one if gi > zero else (one if gi < zero else -zero)
        P[i] = P[i] + ns * s
        PV[i] = gi


@njit(**_JIT)
def nadam(p, g, m, v, lo, hi, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2, bc2, eps, gcoef,
          acoef):
    P = p[lo:hi]
    G = g[lo:hi]
    M = m[lo:hi]
    V = v[lo:hi]
    for i in prange(hi - lo):
        gi, pi, mi, vi = _adam_moments(P, G, M, V, i, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2)
        den = np.sqrt(vi / bc2) + eps
        pi = pi + (gi * gcoef) / den
        P[i] = pi + (mi * acoef) / den


@njit(**_JIT)
def radam(p, g, m, v, lo, hi, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2, bc1, lr, bc2s,
          eps, rect):
    """RAdam; ``rect`` is None while the variance is intractable (plain bias-corrected momentum step)."""
    P = p[lo:hi]
    G = g[lo:hi]
    M = m[lo:hi]
    V = v[lo:hi]
    for i in prange(hi - lo):
        gi, pi, mi, vi = _adam_moments(P, G, M, V, i, scale, maximize, wd_mode, wd, dec, w, omw, small, b2, omb2)
        upd = (mi / bc1) * lr
        if rect is not None:
            upd = (upd * (bc2s / (np.sqrt(vi) + eps))) * rect
        P[i] = pi - upd


@njit(**_JIT)
def lerp_avg(a, b, w, omw, small):
    """``a.lerp_(b, w)`` over flat arrays (AveragedModel's EMA/SWA step), as ``_swa_flat.lerp`` computes it."""
    for i in prange(a.shape[0]):
        x = a[i]
        y = b[i]
        d = y - x
        a[i] = x + d * w if small else y - d * omw
