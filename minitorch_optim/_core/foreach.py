"""The multi-tensor NumPy/CuPy executor (the foreach path) over the runs of a ``FlatGroup``.

A run is params ``[i0, i1)`` of one FlatGroup (elements ``[lo, hi)``) stepped with one set of per-step
scalars; its ``update(o, p, g, st)`` is the algorithm's update with those scalars bound. The executor
gathers the run's parameters and gradients into flat arrays (the gradient arena itself when every
gradient is in its slot), applies the update over cache-sized chunks (split over the thread budget on the
CPU) and writes the parameters back. It is also what a step runs while its kernel is still compiling:
the kernels do the same operations in the same order, so the numbers are the same.
"""
from __future__ import annotations

from .flat import CHUNK, get_num_threads, parallel, run_chunked
from .ops import LowPrecisionOps, ops_for

# runs whose tensors average this many elements are stepped in place (``_step_in_place``): below it one
# update call per tensor costs more (about 20 NumPy calls, ~30 us for Adam) than copying them to one array
IN_PLACE_MIN = CHUNK // 4


class Run:
    """Params ``[i0, i1)`` (elements ``[lo, hi)``), the update with this run's scalars bound (``update``),
    the scalar state the step advances them to (``new``) and this step's scalars themselves (``sc``)."""

    __slots__ = ("i0", "i1", "lo", "hi", "update", "new", "sc")

    def __init__(self, i0, i1, lo, hi, update, new, sc=None):
        self.i0, self.i1, self.lo, self.hi, self.update, self.new, self.sc = i0, i1, lo, hi, update, new, sc


def foreach_step(flat, runs, names):
    """Step ``runs`` of ``flat``; ``names`` are the state buffers in the update's order."""
    o = ops_for(flat.arena.buf, foreach=True)
    B = flat.buffers
    per_tensor = isinstance(o, LowPrecisionOps)
    for r in runs:
        if not per_tensor and flat.on_cpu and flat.contiguous and r.hi - r.lo >= IN_PLACE_MIN * (r.i1 - r.i0):
            _step_in_place(flat, r, o, names)
            continue
        P, G = flat.gather(r.i0, r.i1, r.lo, r.hi)
        lo = r.lo

        def chunk(a, b, P=P, G=G, r=r):
            r.update(o, P[a - lo:b - lo], G[a - lo:b - lo], {k: B[k][a:b] for k in names})

        if per_tensor:
            # float16/bfloat16: torch's CPU foreach ops step tensor by tensor, and where a kernel's rounding
            # depends on an element's place in its tensor (add's scalar tail), so must ours
            for i in range(r.i0, r.i1):
                chunk(max(flat.offsets[i], r.lo), min(flat.offsets[i + 1], r.hi))
        else:
            run_chunked(chunk, r.lo, r.hi, flat.on_cpu)
        flat.scatter(P, r.i0, r.i1, r.lo)


def _step_in_place(flat, r, o, names):
    """A run of large tensors, stepped on each parameter's and gradient's own array (copying them into
    one flat array and back would cost more than the update saves by being one call per chunk)."""
    B = flat.buffers
    parts = []
    for i in range(r.i0, r.i1):
        lo, hi = flat.offsets[i], flat.offsets[i + 1]
        P, G = flat.pviews[i].reshape(-1), flat.grad_array(i).reshape(-1)
        parts.extend((P, G, lo, a, min(a + CHUNK, hi)) for a in range(lo, hi, CHUNK))

    def chunk(P, G, base, a, b):
        r.update(o, P[a - base:b - base], G[a - base:b - base], {k: B[k][a:b] for k in names})

    if r.hi - r.lo <= 2 * CHUNK or get_num_threads() == 1:
        for part in parts:
            chunk(*part)
    else:
        parallel(chunk, parts)


def nd1(a):
    """0-d arrays as 1-element views (NumPy turns 0-d results into scalars, which have no ``out=``)."""
    return a.reshape(1) if a.ndim == 0 else a
