"""The CPU fused executor: generated Numba kernels over the group's address tables, one launch per kernel.

A kernel (kernels/codegen.py) walks a chunk table ``CH`` of ``(tensor, start, stop, scalar row)`` rows:
parameters and gradients are reached through the address tables of ``_core.flat.FlatGroup`` (so they
stay where the user put them), state through the flat state buffers, the per-step scalars through row
``r`` of ``S`` (float64, rounded to the parameter dtype in the kernel, as NumPy rounds a Python float).
Kernels are plain ``nogil`` functions (no ``parallel=True``): a large launch calls the kernel on this
thread and hands the same call to the chunk pool (``_core.flat.offer``); the calls share the chunk rows
through an atomic counter (``helpers._claim``) and count the rows they finished in another, which the
launching thread waits on (``helpers.rows_done``), so no launch waits for a pool thread to retake the GIL.
Numba's threading layer is never used: no abort when several threads step optimizers at once, nothing
to reset after ``fork``, and compilation is quicker.

Generated sources are written to a cache folder, named by their hash, and imported from there, so Numba's
on-disk cache (``cache=True``) serves later processes: ``$MINITORCH_OPTIM_KERNEL_CACHE``, else
``$NUMBA_CACHE_DIR/minitorch_optim``, else ``~/.cache/minitorch_optim/kernels`` (a temporary folder when
none is writable). Numba is optional at import time: without it ``available()`` is False and the default
path is foreach (``fused=True`` is refused with one message).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time

import numpy as np

from ..._core.flat import get_num_threads, parallel
from . import team
from ..chunks import chunk_table

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
ROW = 1 << 16            # elements per chunk-table row
# launches below this many elements run on the calling thread alone (waking a pool thread costs more than
# it saves there). Above it two threads win once the state is not in cache: Adam at 1M float32 in one
# tensor, stepped right after 64 MB of other memory traffic on the 2-core box, 0.46 ms on one thread and
# 0.35 ms on two (torch fused: 0.47 and 0.28 ms); with everything in L3 one thread already nears its
# bandwidth (0.23 ms)
PARALLEL_MIN = 1 << 18
SPINS = 1 << 18          # polls of the finished-rows count per wait without the GIL (~0.1 ms here)


def _helpers_digest():
    """Part of every kernel's cache key: the generated code inlines helpers.py, whose changes Numba's
    cache (keyed by the generated file) would not see."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers.py"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()[:12]


VERSION = _helpers_digest()
_numba = None
_why = None
_MODULES = {}
_LOCK = threading.RLock()


def available():
    """Whether Numba can be imported here (tried once). The helpers the kernels import are not imported
    here (~6 ms, which the first step would pay): the compiler imports them, on its background thread."""
    global _numba, _why
    if _numba is None and _why is None:
        try:
            import numba  # noqa: F401, PLC0415

            _numba = True
        except Exception as e:  # noqa: BLE001 - any import failure means: no fused CPU path
            _why = f"{type(e).__name__}: {e}"
    return bool(_numba)


def unavailable_reason():
    available()
    return _why


_LOW = ("float16", "bfloat16")


def supports_dtype(dtype):
    """float32/float64 kernels compute in the parameter dtype; float16/bfloat16 ones in float32."""
    return np.dtype(dtype) in _FLOATS or np.dtype(dtype).name in _LOW


def _storage(b):
    """What a kernel is passed for a state buffer: 16-bit floats as their bits (Numba knows neither)."""
    return b.view(np.uint16) if b.dtype.name in _LOW else b


def cache_dir():
    """The folder generated kernel sources (and Numba's cache of them, in its __pycache__) live in."""
    env = os.environ.get("MINITORCH_OPTIM_KERNEL_CACHE")
    if not env and os.environ.get("NUMBA_CACHE_DIR"):
        env = os.path.join(os.environ["NUMBA_CACHE_DIR"], "minitorch_optim")
    if not env:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        env = os.path.join(base, "minitorch_optim", "kernels")
    for d in (env, os.path.join(tempfile.gettempdir(), f"minitorch_optim_kernels_{os.getuid()}")):
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise RuntimeError("no writable folder for the generated kernels (set MINITORCH_OPTIM_KERNEL_CACHE)")


def load(source):
    """The ``kernel`` function of a generated source (written to the cache folder once, keyed by hash)."""
    h = hashlib.sha256((VERSION + source).encode()).hexdigest()[:24]
    fn = _MODULES.get(h)
    if fn is not None:
        return fn
    with _LOCK:
        fn = _MODULES.get(h)
        if fn is None:
            path = os.path.join(cache_dir(), f"mt_{h}.py")
            if not os.path.exists(path):
                tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
                with open(tmp, "w") as fh:
                    fh.write(source)
                os.replace(tmp, path)
            spec = importlib.util.spec_from_file_location(f"minitorch_optim_kernel_{h}", path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = mod      # Numba's cache resolves the function's module by name
            spec.loader.exec_module(mod)
            fn = _MODULES[h] = mod.kernel
    return fn


def warm(kernel, dtype, n_buffers):
    """Compile (or load from Numba's disk cache) ``kernel`` for the argument types ``launch`` passes, by
    calling it over an empty chunk range, so that the first real launch does not compile."""
    z = np.zeros(1, np.int64)
    bufs = [_storage(np.zeros(1, dtype)) for _ in range(n_buffers)]
    kernel(z, z, np.zeros(2, np.int64), np.zeros((1, 4), np.int64), np.zeros((1, 1)), np.zeros(4, np.int64), 0,
           0, *bufs)
    helpers = _helpers()
    helpers.rows_done(np.zeros(2, np.int64), 0, 1)
    helpers.close_rows(np.zeros(2, np.int64), 0)
    helpers.wait_bell(np.zeros(2, np.int64), 0, 0, 1)
    team.calibrate()


def launch(flat, kernel, spans, scalars, buffers, more=False):
    """Run ``kernel`` over ``spans`` ((i0, i1) pairs); ``scalars[k]`` is span k's slot values; ``more``:
    other launches of this step follow (pool threads wait for them)."""
    spans = tuple(spans)
    ch = chunk_table(flat, spans, ROW)
    if not len(ch):
        return
    S = np.asarray(scalars, np.float64).reshape(len(spans), -1)
    if S.shape[1] == 0:
        S = np.zeros((len(spans), 1))
    if flat.dtype.itemsize == 2:        # float16 / bfloat16 (the only 16-bit dtypes the kernels take)
        buffers = [_storage(b) for b in buffers]
    offs = flat.offsets
    n = sum(offs[i1] - offs[i0] for i0, i1 in spans)
    nthreads = min(get_num_threads(), max(1, n // PARALLEL_MIN), len(ch))
    # the threads claim rows from one counter as they get to them (a core busy elsewhere does less) and
    # count the rows they finished in a second one, which this thread waits on once it finds none left
    # (counters: rows claimed, rows finished, the team's bell and this launch's number, see team.py)
    counters = np.zeros(4, np.int64)
    rows = len(ch)
    table = (flat.pptr, flat.gptr, flat.offs, ch, S, counters, rows)
    if nthreads == 1:
        kernel(*table, 0, *buffers)
        return
    seq = team.post(lambda linger: kernel(*table, linger, *buffers), more)
    counters[2], counters[3] = team.BELL_ADDRESS, seq
    team.wake(nthreads - 1)
    try:
        try:
            kernel(*table, 0, *buffers)
        except BaseException:
            # (a call that could not start: no row is claimed from now on, and the pool threads'
            # claimed rows finish before the error is raised)
            _wait_rows(counters, _helpers().close_rows(counters, rows))
            raise
        _wait_rows(counters, rows)
    finally:
        team.retire(seq)


def _wait_rows(counters, rows):
    """Until the pool threads finished the rows they claimed: polled without the GIL, and past ``SPINS``
    polls with the GIL given up between polls (a pool thread whose core was taken away).
    An exception raised meanwhile (KeyboardInterrupt) is raised once they are done: no pool thread is
    still writing when the launch returns."""
    rows_done = _helpers().rows_done
    try:
        while not rows_done(counters, rows, SPINS):
            time.sleep(0)
    except BaseException:
        while not rows_done(counters, rows, SPINS):
            pass
        raise


def _helpers():
    """helpers.py, imported on first use (with the kernels, not at import)."""
    global _HELPERS
    if _HELPERS is None:
        from . import helpers as _HELPERS  # noqa: PLC0415
    return _HELPERS


_HELPERS = None


def lerp_flat(a, b, weight):
    """``a <- lerp(a, b, weight)`` with the Numba helper when it applies; returns False when it does not.

    Used by ``_swa_flat.lerp`` (AveragedModel's EMA/SWA update over flat arrays). It applies to two
    1-D C-contiguous NumPy arrays of one float32/float64 dtype; the weight and its complement are rounded
    to that dtype first and ``1 - w`` is taken in it, exactly as the NumPy code there does.
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and a.dtype in _FLOATS and a.ndim == 1 and a.shape == b.shape and a.flags.c_contiguous
            and b.flags.c_contiguous and a.size):
        return False
    if not available():
        return False
    from .helpers import lerp_avg  # noqa: PLC0415

    c = a.dtype.type
    w = c(weight)
    omw, small = c(1) - w, bool(abs(w) < 0.5)
    n = a.size
    k = min(get_num_threads(), max(1, n // PARALLEL_MIN))
    cuts = [n * j // k for j in range(k + 1)]
    parallel(lambda lo, hi: lerp_avg(a, b, w, omw, small, lo, hi), list(zip(cuts, cuts[1:])))
    return True
