"""Batch and layer norm on float16/bfloat16 inputs as torch's CPU kernels compute them (float32 statistics in
their order of operations, the statistics saved in the 16-bit type, the gradients' sums in their order), so
that results are bitwise equal to torch's. :mod:`autograd.ops.nn_norm` calls these for 16-bit NumPy inputs."""
from __future__ import annotations

import numpy as np

from ..dtypes import LOW_PRECISION
from .nn_act_low import exact_first_order
from .opmath import fma32, parallel_chunks, rowwise_moments


def low(X):
    return X.dtype.itemsize == 2 and X.dtype in LOW_PRECISION


def _r(v, dt):
    return v.astype(dt).astype(np.float32)


def layer_norm_low(X, D, weight, bias, eps):
    """torch's CPU layer norm on a float16/bfloat16 input: its Welford row statistics in float32, then
    ``(x * rstd + (-mean * rstd)) * gamma + beta`` in float32, rounded once. Returns the result and what the
    backward reads: the statistics as torch saves them (in the 16-bit type unless gamma/beta are float32)."""
    f32, dt = np.float32, X.dtype
    x = np.ascontiguousarray(X).reshape(-1, D).astype(f32)
    mean, var = rowwise_moments(x)
    rstd = f32(1) / np.sqrt(var + f32(eps))
    # (its vectorised loop forms both steps as fused multiply-adds)
    y = fma32((-mean * rstd)[:, None], x, rstd[:, None])
    if weight is not None or bias is not None:
        w = f32(1) if weight is None else weight._data.reshape(-1).astype(f32)
        y = fma32(f32(0) if bias is None else bias._data.reshape(-1).astype(f32), y, w)
    pdt = dt if all(t is None or t.dtype == dt for t in (weight, bias)) else f32
    return y.astype(dt).reshape(X.shape), (_r(mean, pdt), _r(rstd, pdt), pdt)


def _lane_sums(v, lanes=16):
    """Row sums as torch's vectorised reductions form them: per float32 lane over whole vectors, the tail
    into the first lanes, then the lanes halved pairwise."""
    M, N = v.shape
    n = N // lanes
    acc = np.zeros((M, lanes), np.float32)
    for k in range(n):
        acc = acc + v[:, k * lanes:(k + 1) * lanes]
    if N - n * lanes:
        acc[:, :N - n * lanes] += v[:, n * lanes:]
    while acc.shape[1] > 1:
        h = acc.shape[1] // 2
        acc = acc[:, :h] + acc[:, h:]
    return acc[:, 0]


def _rows_per_thread(terms, dt):
    """torch's gamma/beta gradients of a 16-bit layer norm: each thread adds its rows into a buffer of the
    parameter's dtype (each addition rounded), then the buffers are added in order."""
    out = np.zeros(terms.shape[1], np.float32)
    for lo, hi in parallel_chunks(terms.shape[0], 1):
        acc = np.zeros(terms.shape[1], np.float32)
        for row in terms[lo:hi]:
            acc = _r(acc + row, dt)
        out = _r(out + acc, dt)
    return out


def layer_norm_backward_low(g, x, w, key):
    """torch's CPU layer norm backward on float16/bfloat16, in float32 from the saved 16-bit statistics."""
    (nx, nw, nb), _, _, _, _, _, (mean, rstd, pdt) = key
    f32, dt = np.float32, x.dtype
    M = mean.size
    G = g.reshape(M, -1).astype(f32)
    X = x.reshape(M, -1).astype(f32)
    W = None if w is None else w.reshape(-1).astype(f32)
    gx = gw = gb = None
    if nx:
        gw_ = G if W is None else G * W
        ds, db = _lane_sums(gw_ * X), _lane_sums(gw_)
        a, scale = rstd, f32(1) / f32(X.shape[1])
        b = (db * mean - ds) * a * a * a * scale
        c = -b * mean - db * a * scale
        gx = (a[:, None] * gw_ + b[:, None] * X + c[:, None]).astype(dt).reshape(x.shape)
    if nw:
        gw = _rows_per_thread(G * (X - mean[:, None]) * rstd[:, None], pdt).astype(w.dtype).reshape(w.shape)
    if nb:
        gb = _rows_per_thread(G, pdt).astype(pdt).reshape(x.shape[x.ndim - len(key[1]):])
    return gx, gw, gb


def _plane_sums(v3):
    """Per-channel sums of an (N, C, K) array as torch's batch norm forms them: each (n, c) plane summed by
    lanes, the planes added in order of n."""
    acc = np.zeros(v3.shape[1], np.float32)
    for n in range(v3.shape[0]):
        acc = acc + _lane_sums(v3[n])
    return acc


def batch_norm_low(X, weight, bias, running_mean, running_var, use_batch, training, momentum, eps):
    """torch's CPU batch norm on a float16/bfloat16 input: the batch mean and the sum of squared deviations in
    float32 (bfloat16 rounds that sum, and the variance from it, to bfloat16), mean and ``invstd`` saved in
    the 16-bit type; the output one fused multiply-add ``x * alpha + beta`` with ``alpha = invstd * w`` and
    ``beta = b - mean * alpha`` in float32. Updates the running statistics as torch does, in float32 rounded
    once. Returns the output and the saved ``(mean, invstd)``."""
    f32, dt = np.float32, X.dtype
    N, C = X.shape[0], X.shape[1]
    x3 = np.ascontiguousarray(X).reshape(N, C, -1).astype(f32)
    M = N * x3.shape[2]
    if use_batch:
        mean = _plane_sums(x3) / f32(M)
        d = x3 - mean[None, :, None]
        var_sum = _plane_sums(d * d)
        if dt != np.float16:
            var_sum = _r(var_sum, dt)
        var = var_sum / f32(M)
        if dt != np.float16:
            var = _r(var, dt)
        invstd = f32(1) / np.sqrt(var + f32(eps))
        if training and running_mean is not None:
            m = f32(momentum)
            rm, rv = running_mean._data, running_var._data
            unbiased = var_sum / f32(M - 1) if M > 1 else var
            rm[...] = (m * mean + (f32(1) - m) * rm.astype(f32)).astype(rm.dtype)
            rv[...] = (m * unbiased + (f32(1) - m) * rv.astype(f32)).astype(rv.dtype)
        mean, invstd = _r(mean, dt), _r(invstd, dt)
    else:
        mean = running_mean._data.reshape(-1).astype(f32)
        invstd = f32(1) / np.sqrt(running_var._data.reshape(-1).astype(f32) + f32(eps))
    alpha = invstd if weight is None else invstd * weight._data.reshape(-1).astype(f32)
    beta = -mean * alpha if bias is None else bias._data.reshape(-1).astype(f32) - mean * alpha
    y = fma32(beta[None, :, None], x3, alpha[None, :, None])
    return y.astype(dt).reshape(X.shape), (mean, invstd)


def batch_norm_backward_low(g, x, w, use_batch, needed, stats):
    """torch's CPU batch norm backward on float16/bfloat16: per channel ``sum(dy)`` and
    ``dot = sum((x - mean) dy)`` in float32 (plane by plane), ``dx = (dy - sum / M - (x - mean) k) invstd w``
    with ``k = dot invstd^2 / M`` in training, ``dy invstd w`` in eval; ``dw = dot invstd``, ``db = sum``."""
    nx, nw, nb = needed
    f32, dt = np.float32, x.dtype
    mean, invstd = stats
    N, C = x.shape[0], x.shape[1]
    G = np.ascontiguousarray(g).reshape(N, C, -1).astype(f32)
    X = np.ascontiguousarray(x).reshape(N, C, -1).astype(f32)
    M = N * X.shape[2]
    xc = X - mean[None, :, None]
    s, dot = _plane_sums(G), _plane_sums(xc * G)
    W = f32(1) if w is None else w.reshape(-1).astype(f32)
    gx = gw = gb = None
    if nx:
        scale = (invstd * W)[None, :, None]
        if use_batch:
            k = dot * invstd * invstd / f32(M)
            gx = (G - (s / f32(M))[None, :, None] - xc * k[None, :, None]) * scale
        else:
            gx = G * scale
        gx = gx.astype(dt).reshape(x.shape)
    if nw:
        gw = (dot * invstd).astype(w.dtype)
    if nb:
        gb = s.astype(dt)
    return gx, gw, gb


def rms_norm_low(input, weight, D, eps):  # noqa: A002
    """torch's fused CPU RMS norm on a float16/bfloat16 input: ``rstd = 1 / sqrt(mean(x^2) + eps)`` per row in
    float32 (lane-ordered sum), ``x * rstd * w`` rounded once; the backward from the float32 ``rstd``:
    ``dx = rstd dy w - (sum(dy w x) rstd^3 / N) x``, ``dw`` the float32 column sums of ``dy x rstd``; under
    ``create_graph`` the same formula in float32 as recorded ops (differentiable again)."""
    from .basic import needs, record  # noqa: PLC0415  (basic sits above this module's importers)

    f32, X = np.float32, input._data
    dt = X.dtype
    x = np.ascontiguousarray(X).reshape(-1, D).astype(f32)
    rstd = f32(1) / np.sqrt(_lane_sums(x * x) / f32(D) + f32(eps))
    y = x * rstd[:, None]
    if weight is not None:
        y = y * weight._data.reshape(-1).astype(f32)
    nx, nw = needs((input, weight))

    def kernel(o, g, x_, w_):
        G = g.reshape(-1, D).astype(f32)
        Xv = x_.reshape(-1, D).astype(f32)
        gw_ = G if w_ is None else G * w_.reshape(-1).astype(f32)
        gx = gw = None
        if nx:
            b = -_lane_sums(gw_ * Xv) * rstd * rstd * rstd / f32(D)
            gx = (rstd[:, None] * gw_ + b[:, None] * Xv).astype(dt).reshape(x_.shape)
        if nw:
            gw = (G * Xv * rstd[:, None]).sum(axis=0).astype(w_.dtype).reshape(w_.shape)
        return gx, gw

    def formula(o, g, x_, w_):    # the statistics recomputed from x, so that their dependence is differentiated
        G, Xv = g.reshape(-1, D), x_.reshape(-1, D)
        r = ((Xv * Xv).mean(-1, keepdim=True) + eps).rsqrt()
        gw_ = G if w_ is None else G * w_.reshape(-1)
        gx = (r * gw_ - (gw_ * Xv).sum(-1, keepdim=True) * r * r * r / D * Xv).reshape(x_.shape) if nx else None
        gw = (G * Xv * r).sum(0).reshape(w_.shape) if nw else None
        return gx, gw

    return record(y.astype(dt).reshape(X.shape), (input, weight), exact_first_order(kernel, formula), "FusedRmsNorm",
                  saved=(input, weight))


def group_norm_low(input, G, weight, bias, eps):  # noqa: A002
    """torch's CPU group norm on a float16/bfloat16 input: Welford moments of each (sample, group) in float32
    (the backward reads them as saved, in the 16-bit type), ``x * scale + shift`` per channel with ``scale = rstd * w`` and
    ``shift = -scale * mean + b`` in float32, rounded once. The backward is torch's formula in float32 from
    the saved statistics: per channel ``ds = sum(dy x)`` and ``db = sum(dy)``, per group their
    gamma-weighted sums, ``dx = c1 dy + c2 x + c3``; under ``create_graph`` layer norm's formula over each group
    in float32 as recorded ops (differentiable again)."""
    from .basic import needs, record  # noqa: PLC0415

    f32, X = np.float32, input._data
    dt = X.dtype
    N, C = X.shape[0], X.shape[1]
    x = np.ascontiguousarray(X).reshape(N * G, -1).astype(f32)
    mean, var = rowwise_moments(x)
    rstd = f32(1) / np.sqrt(np.maximum(var, f32(0)) + f32(eps))
    x4 = x.reshape(N, G, C // G, -1)
    w4 = f32(1) if weight is None else weight._data.astype(f32).reshape(1, G, C // G, 1)
    b4 = f32(0) if bias is None else bias._data.astype(f32).reshape(1, G, C // G, 1)
    scale = rstd.reshape(N, G, 1, 1) * w4      # the forward uses the float32 statistics
    y = x4 * scale + (-scale * mean.reshape(N, G, 1, 1) + b4)
    mean, rstd = _r(mean, dt).reshape(N, G, 1, 1), _r(rstd, dt).reshape(N, G, 1, 1)
    nx, nw, nb = needs((input, weight, bias))

    def kernel(o, g, x_, w_):
        G4 = g.reshape(N, G, C // G, -1).astype(f32)
        Xv = x_.reshape(N, G, C // G, -1).astype(f32)
        ds = _lane_sums((G4 * Xv).reshape(N * C, -1)).reshape(N, G, C // G, 1)
        db = _lane_sums(G4.reshape(N * C, -1)).reshape(N, G, C // G, 1)
        gx = gw = gb = None
        if nx:
            s = f32(1) / f32(Xv.shape[2] * Xv.shape[3])
            ds_g = (ds * w4).sum(axis=2, keepdims=True)
            db_g = (db * w4).sum(axis=2, keepdims=True)
            c2 = (db_g * mean - ds_g) * rstd * rstd * rstd * s
            c3 = -c2 * mean - db_g * rstd * s
            gx = (rstd * w4 * G4 + c2 * Xv + c3).astype(dt).reshape(x_.shape)
        if nw:
            gw = ((ds - db * mean) * rstd).sum(axis=0).reshape(-1).astype(w_.dtype)
        if nb:
            gb = db.sum(axis=0).reshape(-1).astype(dt)
        return gx, gw, gb

    def formula(o, g, x_, w_):    # layer norm's over each group, the statistics recomputed from x
        x3 = x_.reshape(N, G, -1)
        xc = x3 - x3.mean(-1, keepdim=True)
        r = ((xc * xc).mean(-1, keepdim=True) + eps).rsqrt()
        xhat, g3 = (xc * r).reshape(N, C, -1), g.reshape(N, C, -1)
        gh = (g3 if w_ is None else g3 * w_.reshape(1, C, 1)).reshape(N, G, -1)
        xh = xhat.reshape(N, G, -1)
        gx = (r * (gh - gh.mean(-1, keepdim=True) - xh * (gh * xh).mean(-1, keepdim=True))).reshape(x_.shape) \
            if nx else None
        return gx, ((g3 * xhat).sum((0, 2)) if nw else None), (g3.sum((0, 2)) if nb else None)

    return record(y.astype(dt).reshape(X.shape), (input, weight, bias), exact_first_order(kernel, formula),
                  "NativeGroupNorm", saved=(input, weight))
