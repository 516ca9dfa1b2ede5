"""torch's arithmetic for float16/bfloat16 ("opmath") on the float32 values of their operands: the ops of
:mod:`autograd.ops.elementwise` and the optimizers' ``LowPrecisionOps`` (``minitorch_optim._core.ops``)
compute with these helpers and round the result once to the 16-bit dtype.

Where torch's CPU kernels fuse a multiply-add (lerp, addcmul, add with ``alpha``), the product of two
float32 values is formed exactly in float64 and the sum rounded to float32 once, as an FMA does.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor


def opmath_operands(raw, dt, scalars_in_dtype=False):
    """torch's arithmetic for float16/bfloat16: the op runs in float32 and its result (``_as``) is rounded
    once to ``dt``. Tensors of another dtype are first cast to ``dt`` (as torch's common dtype); Python
    scalars and 0-d tensors enter in float32 directly, as torch's kernels read a scalar operand, except
    for add/sub (``scalars_in_dtype``), whose kernel takes the scalar as a ``dt`` value."""
    f32 = dtypes.float32
    out = []
    for o in raw:
        o = o._data if isinstance(o, Tensor) else o
        if isinstance(o, np.generic):
            o = o.item()
        if hasattr(o, "dtype"):
            if o.ndim and o.dtype != dt:
                o = o.astype(dt)
            o = o.astype(f32)
            if scalars_in_dtype and not o.ndim:
                o = o.astype(dt).astype(f32)
        elif isinstance(o, numbers.Real) and not isinstance(o, bool):
            o = float(np.asarray(o, dt)) if scalars_in_dtype else float(o)
        out.append(o)
    return out


def alpha_in(alpha, dt):
    """torch's add/sub take ``alpha`` in the tensor's dtype (float16/bfloat16 round it first)."""
    return float(np.asarray(alpha, dt)) if dt.itemsize == 2 and dt in dtypes.LOW_PRECISION else alpha


_VEC = 32           # float16/bfloat16 elements per vectorised step of torch's CPU loops
_GRAIN = 32768      # torch's parallel grain size


def parallel_chunks(n, grain):
    """The ``[lo, hi)`` ranges torch's ``parallel_for(0, n, grain)`` hands its threads: one range when ``n`` fits
    in a grain or one thread is set, else ``ceil(n / threads)`` elements each. The vectorised and scalar parts
    of torch's CPU loops follow these ranges, so results that depend on them must too."""
    from ..threads import get_num_threads  # noqa: PLC0415

    tasks = max(1, min(get_num_threads(), -(-n // max(grain, 1))))
    step = max(-(-n // tasks), 1)
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def vectorised_mask(n, row, grain, width=_VEC):
    """Which of ``n`` flat positions (rows of ``row`` elements) torch's CPU loops over an inner dimension compute
    in whole vectors of ``width``: inside each thread's range, each row's run is split into vectors from its
    start; the remainder of a run (shorter than a vector) takes the scalar loop."""
    f = np.arange(n)
    mask = np.zeros(n, bool)
    for lo, hi in parallel_chunks(n, grain):
        g = f[lo:hi]
        start = np.maximum(lo, g // row * row)
        end = np.minimum(hi, (g // row + 1) * row)
        mask[lo:hi] = (g - start) < (end - start) // width * width
    return mask


def add_alpha_low(x, y, alpha, dt):
    """``x + alpha * y`` on the float32 values of float16/bfloat16 operands, as torch's CPU add kernel
    rounds it (``alpha`` already in ``dt``): its vectorised steps of 32 elements form one fused multiply-add
    in float32, the last ``n % 32`` elements of each thread's contiguous chunk run its scalar loop, which
    rounds ``alpha * y`` to ``dt`` first. Returns float32 values (rounded to ``dt`` by the caller)."""
    xp = backend.array_module(x) if hasattr(x, "dtype") else np
    f64, f32 = np.float64, np.float32
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    out = (xp.asarray(x, f64) + alpha * xp.asarray(y, f64)).astype(f32)
    if xp is not np or not out.size:
        return out
    xb, yb = np.broadcast_to(x, shape).reshape(-1), np.broadcast_to(y, shape).reshape(-1)
    flat = out.reshape(-1)
    n = flat.size
    for lo, hi in parallel_chunks(n, _GRAIN):
        t = hi - (hi - lo) % _VEC
        if t < hi:
            prod = (f32(alpha) * yb[t:hi].astype(f32)).astype(dt).astype(f32)
            flat[t:hi] = xb[t:hi] + prod
    return out


def lerp_fma32(S, E, W, diff):
    """torch's vectorised lerp on float32 values: one fused multiply-add ``base + coeff * (end - start)``
    (formed in float64, where the product is exact, and rounded to float32 once)."""
    W = np.asarray(W, np.float32)
    small = np.abs(W) < 0.5
    coeff = np.where(small, W, W - np.float32(1))
    return fma32(np.where(small, S, E), coeff, diff)


def fma32(x, a, b):
    """``x + a * b`` with one float32 rounding, as a fused multiply-add: the float32 product is exact in
    float64."""
    return (np.asarray(x, np.float64) + np.asarray(a, np.float64) * np.asarray(b, np.float64)).astype(np.float32)


def _low_array(v):
    d = getattr(v, "dtype", None)
    return d is not None and not isinstance(v, (Tensor, np.generic)) and d.itemsize == 2 and d in dtypes.LOW_PRECISION


def float32_rule(rule):
    """``rule(o, g, *saved)`` as torch's fused backward kernels (tanh_backward, sigmoid_backward, softmax's)
    compute it on float16/bfloat16 arrays: on the float32 values of its operands, each gradient rounded once
    to its operand's dtype. Tensors (``create_graph``) and other dtypes run the rule as written."""
    def run(o, g, *saved):
        if not _low_array(g):
            return rule(o, g, *saved)
        dt = g.dtype
        o32 = getattr(o, "opmath", o)
        out = rule(o32, g.astype(np.float32), *(v.astype(np.float32) if _low_array(v) else v for v in saved))
        return tuple(r if r is None or not hasattr(r, "astype") else r.astype(dt) for r in out)

    return run


def cascade_sum_low(terms, flushes, dt):
    """The float32 value of torch's scalar cascade sum in the 16-bit ``dt`` (nll_loss's reduction): eight
    partial sums, each addition rounded to ``dt``; after term ``b`` (where ``flushes[b]``, i.e. the term was
    not skipped) partial ``j`` is added into partial ``j + 1`` for as long as ``b`` is a multiple of
    ``16 ** (j + 1)``; the result adds the partials in order. ``terms`` are float32 values of ``dt``."""
    f32 = np.float32
    terms = np.asarray(terms, f32).reshape(-1)
    pos = np.arange(terms.size)
    flush = np.asarray(flushes, bool).reshape(-1)
    partials = []
    for level in range(8):
        if level < 7:
            ends = flush & (pos % (16 ** (level + 1)) == 0)
        else:
            ends = np.zeros(terms.size, bool)
        group = np.concatenate(([0], np.cumsum(ends)[:-1])).astype(np.int64) if terms.size else pos
        ngroups = int(ends.sum()) + 1
        width = int(np.bincount(group, minlength=ngroups).max()) if terms.size else 0
        table = np.zeros((ngroups, max(width, 1)), f32)
        start = np.searchsorted(group, np.arange(ngroups))
        table[group, np.arange(terms.size) - start[group]] = terms
        acc = np.zeros(ngroups, f32)
        for c in range(table.shape[1]):    # in order, each addition rounded to dt (adding the padding 0 is exact)
            acc = (acc + table[:, c]).astype(dt).astype(f32)
        partials.append(acc[-1])           # what is left in partial `level` after its last flush
        terms, pos, flush = acc[:-1], pos[ends], flush[ends]
    out = f32(0)
    for p in partials:
        out = f32(np.asarray(out + p, f32).astype(dt))
    return out


def _ceil_log2(x):
    return 1 if x <= 2 else int(x - 1).bit_length()


def _add_moments(n_add, m1_add, m2_add, n, m1, m2):
    """Welford's merge of ``(n_add, m1_add, m2_add)`` into ``(n, m1, m2)`` in float32, in torch's order."""
    f32 = np.float32
    total = n + n_add
    c = f32(0) if total == 0 else f32(n_add) / f32(total)
    delta = m1_add - m1
    m1 = m1 + c * delta
    m2 = m2 + (m2_add + delta * delta * c * f32(n))
    return total, m1, m2


def rowwise_moments(x, vec=_VEC, lanes=16, ddof=0):
    """torch's CPU ``RowwiseMoments`` (layer/group norm statistics) of the rows of ``x`` (float32 values of a
    16-bit tensor, shape (M, N)): ``(mean, variance)`` in float32, as its kernel rounds them. Welford's update
    runs per float32 lane over vectors of ``vec`` elements (each split into two halves of ``lanes``), in
    chunks of 16 vectors merged by a cascade; the elements past the last whole vector take a scalar Welford
    update, and the lanes are merged into it one by one."""
    f32 = np.float32
    M, N = x.shape
    n = N // vec
    m = -(-n // 16)
    depth = _ceil_log2(m)
    zero = np.zeros((M, lanes), f32)
    stk = [[0, zero, zero] for _ in range(depth)]
    inv = [f32(1) / f32(j + 1) for j in range(16)]
    for i in range(m):
        m0 = min(16, n - i * 16)
        base = i * 16 * vec
        for half in range(2):
            a1, a2 = zero, zero
            for j in range(m0):
                xv = x[:, base + j * vec + half * lanes: base + j * vec + (half + 1) * lanes]
                d = xv - a1
                a1 = a1 + d * inv[j]
                a2 = a2 + d * (xv - a1)
            stk[0] = list(_add_moments(m0, a1, a2, *stk[0]))
        mask = i + 1
        j = 1
        while j < depth and (mask & 1) == 0:
            stk[j] = list(_add_moments(*stk[j - 1], *stk[j]))
            stk[j - 1] = [0, zero, zero]
            mask >>= 1
            j += 1
    for i in range(1, depth):
        stk[0] = list(_add_moments(*stk[i], *stk[0]))
    c0, m1, m2 = 0, np.zeros(M, f32), np.zeros(M, f32)
    for i in range(n * vec, N):
        xv = x[:, i]
        d = xv - m1
        c0 += 1
        m1 = m1 + d / f32(c0)
        m2 = m2 + d * (xv - m1)
    add = n * vec // lanes
    for lane in range(lanes):
        c0, m1, m2 = _add_moments(add, stk[0][1][:, lane], stk[0][2][:, lane], c0, m1, m2)
    return m1, m2 / f32(N - ddof)


def scalar_op(x, c, op):
    """``op(x, c)`` with the number ``c`` taken in float32 on a float16/bfloat16 array (torch's kernels read a
    number operand in opmath; NumPy would round it to the array's dtype first), rounded once; as written
    otherwise (other dtypes, Tensors)."""
    if _low_array(x) and isinstance(c, numbers.Real):
        return op(x.astype(np.float32), np.float32(c)).astype(x.dtype)
    return op(x, c)


def _erf_vec32(x):
    """torch's vectorised float32 erf: Abramowitz-Stegun 7.1.26, ``1 - (r(t) t) exp(-x^2)`` with
    ``t = 1 / (1 + p |x|)`` and r evaluated by fused multiply-adds, the sign of x put back."""
    f32 = np.float32
    a = np.abs(x)
    t = f32(1) / fma32(f32(1), f32(0.3275911), a)
    r = f32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        r = fma32(f32(c), r, t)
    e = np.exp((-(x * x)).astype(np.float64)).astype(f32)
    return np.copysign(fma32(f32(1), (-e) * t, r), x)


def erf_vectorised(v, scalar):
    """erf of float32 values (a contiguous 16-bit tensor's) as torch's CPU loops compute it: the vectorised
    erf on whole steps of two 16-bit vectors (64 elements) of each thread's range, ``scalar`` (libm's value,
    given) on the rest."""
    flat = v.reshape(-1)
    vec = vectorised_mask(flat.size, flat.size, _GRAIN, 2 * _VEC)
    return np.where(vec, _erf_vec32(flat), scalar.reshape(-1)).reshape(v.shape)


def pow_low(x, e):
    """``x ** e`` (``e`` a number) on a float16/bfloat16 array as torch's CPU pow computes it: in float32, with
    its special cases (2: x*x, 3: x*x*x, 0.5: sqrt, -0.5: 1/sqrt, -1: 1/x, -2: 1/(x*x)), else the correctly
    rounded power, rounded once to the dtype (bfloat16 also rounds the square inside its cube and 1/(x*x))."""
    f32 = np.float32
    v = x.astype(f32)
    r = (lambda t: t.astype(x.dtype).astype(f32)) if x.dtype != np.float16 else (lambda t: t)
    with np.errstate(all="ignore"):
        special = {2: lambda: v * v, 3: lambda: r(v * v) * v, 0.5: lambda: np.sqrt(v), -0.5: lambda: f32(1) / np.sqrt(v),
                   -1: lambda: f32(1) / v, -2: lambda: f32(1) / r(v * v)}
        y = special[e]() if e in special else np.power(v.astype(np.float64), float(e)).astype(f32)
    return y.astype(x.dtype)
