"""Fused multi-tensor kernels generated from traces of each optimizer's update function.

Nothing here is written per algorithm, and nothing here calls back into an optimizer: the driver
(``minitorch_optim.elementwise``) plans a step, traces the update of each run (``_core.trace``) and hands
over finished launches, ``(trace, spans, scalars)``: the kernel is named by the trace's statements
(``Trace.key``), generated on first use (``codegen``) and run over the spans of a ``FlatGroup`` that
share it: ``numba/`` on the CPU, ``cuda/`` (CuPy RawKernel, NVRTC) on CUDA. The per-step scalars are
kernel arguments, so a new learning rate or bias correction reuses the kernel.

A Numba kernel that is not compiled yet is not waited for (unless the caller must have it, as
``fused=True`` on float16/bfloat16 does, where foreach's arithmetic differs): ``ready`` queues it and says no, the driver runs that step on foreach (the same
operations in the same order, so the same bits), and ``compile_queued`` (called at the end of a step)
compiles the queue on a background thread; later steps find the kernel ready.

This package imports only ``_core`` below it (``variants``/``__main__``, the emission tool that lists the
optimizer classes, are the exception and are not imported by the step).

``python -m minitorch_optim.kernels --emit-cuda DIR`` writes every generated CUDA kernel (each algorithm
× flag combination × dtype) as a standalone .cu file (see ``__main__``).
"""
from __future__ import annotations

import _thread
import atexit
import os
import sys
import threading
import warnings

_KERNELS = {}      # (backend, trace key) -> compiled kernel
_QUEUE = {}        # trace key -> (trace, n_buffers): Numba kernels waiting for the background compiler
_FAILED = {}       # trace key -> why its compilation failed (those steps stay on foreach)
_LOCK = threading.Lock()          # guards _QUEUE and the worker thread
_COMPILING = threading.Lock()     # held while a kernel compiles (a waiting caller blocks on it)
_WORKER = [None]
_STARTING = object()              # _WORKER's value while the worker thread is being started
_STOP = [False]


def backend(flat):
    """The kernel backend for a FlatGroup's device: "numba" (CPU) or "cuda"."""
    return "numba" if flat.on_cpu else "cuda"


def refusal(backend, flat):
    """Why ``backend`` cannot step ``flat`` (None when it can): the kernels walk address tables of
    contiguous arrays and compute in the storage types they are generated for."""
    if not flat.contiguous:
        return f"non-contiguous parameters ({flat.dtype})"
    if backend == "numba":
        from .numba.launch import available, supports_dtype, unavailable_reason  # noqa: PLC0415

        if not available():
            return f"Numba cannot be imported here ({unavailable_reason()})"
        if not supports_dtype(flat.dtype):
            return f"the CPU kernels take float32/float64/float16/bfloat16 parameters, not {flat.dtype}"
        return None
    from .cuda.launch import CTYPES  # noqa: PLC0415

    return None if flat.dtype.name in CTYPES else f"no CUDA kernel for dtype {flat.dtype}"


def supported(opt, on_cpu=True):
    """Whether ``opt`` (an optimizer class, instance, or the name of a minitorch_optim class) gets fused
    kernels on that kind of device here: its update is traceable and Numba (CPU) / CuPy (CUDA) imports."""
    if isinstance(opt, str):    # (the package is imported already: it is this one's parent)
        opt = getattr(sys.modules["minitorch_optim"], opt, None)
        if opt is None:
            return False
    cls = opt if isinstance(opt, type) else type(opt)
    if not getattr(cls, "_fused_supported", False):
        return False
    if on_cpu:
        from .numba.launch import available  # noqa: PLC0415

        return available()
    try:
        import cupy  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _compile_numba(tr, n_buffers):
    from . import codegen  # noqa: PLC0415
    from .numba.launch import load, warm  # noqa: PLC0415

    k = load(codegen.numba_source(tr, n_buffers))
    warm(k, tr.dtype, n_buffers)
    return k


def ready(backend, tr, n_buffers, wait=False):
    """Whether the kernel of ``tr`` can be launched now. A Numba kernel not compiled yet is compiled here
    when ``wait``, else queued for ``compile_queued`` (and this step should run on foreach)."""
    if backend != "numba":
        return True       # CUDA kernels compile at their first launch (NVRTC, cached on disk)
    key = tr.key()
    if ("numba", key) in _KERNELS:
        return True
    if not wait:
        if key not in _FAILED:
            with _LOCK:
                _QUEUE.setdefault(key, (tr, n_buffers))
        return False
    with _COMPILING:
        if ("numba", key) not in _KERNELS:
            _KERNELS[("numba", key)] = _compile_numba(tr, n_buffers)
    return True


def compile_queued():
    """Start the background compiler on the queued kernels (no-op when nothing is queued). The thread is
    started from a helper thread: ``Thread.start`` waits until the new thread runs, a whole time slice on
    a busy machine, which the step that queued the kernel would otherwise pay."""
    if not _QUEUE:
        return
    with _LOCK:
        w = _WORKER[0]
        if w is not None and (w is _STARTING or w.is_alive()):
            return
        _WORKER[0] = _STARTING
    _thread.start_new_thread(_start_worker, ())


def wait_compiled(timeout=None):
    """Block until the background compiler is idle (its queue drained), or ``timeout`` seconds passed."""
    import time  # noqa: PLC0415

    end = None if timeout is None else time.monotonic() + timeout
    while True:
        w = _WORKER[0]
        if w is None:
            return
        left = None if end is None else end - time.monotonic()
        if left is not None and left <= 0:
            return
        if w is _STARTING:
            time.sleep(0.001)
        else:
            w.join(left)
            if not w.is_alive() and _WORKER[0] is w:
                return


def _start_worker():
    w = threading.Thread(target=_work, name="minitorch_optim-kernel-compiler", daemon=True)
    try:
        w.start()
    finally:
        with _LOCK:
            if _WORKER[0] is _STARTING:
                _WORKER[0] = w if w.is_alive() else None


def _work():
    while not _STOP[0]:
        with _LOCK:
            if not _QUEUE:
                _WORKER[0] = None
                return
            key, (tr, n) = next(iter(_QUEUE.items()))
        try:
            with _COMPILING:
                if ("numba", key) not in _KERNELS:
                    _KERNELS[("numba", key)] = _compile_numba(tr, n)
        except Exception as e:  # noqa: BLE001 - any failure: that kernel's steps stay on foreach
            _FAILED[key] = f"{type(e).__name__}: {e}"
            warnings.warn(f"minitorch_optim: a fused kernel failed to compile ({_FAILED[key]}); those steps "
                          "run the foreach path (the same numbers)", RuntimeWarning, stacklevel=1)
        with _LOCK:
            _QUEUE.pop(key, None)


def _finish_at_exit():
    """Let a compile in progress finish (its cache files stay whole); drop the rest of the queue."""
    _STOP[0] = True
    w = _WORKER[0]
    if isinstance(w, threading.Thread):
        w.join(timeout=30)


def _reset_after_fork():
    """The child has no compiler thread (only the forking thread survives); locks it held start free."""
    global _LOCK, _COMPILING
    _QUEUE.clear()
    _WORKER[0] = None
    _LOCK, _COMPILING = threading.Lock(), threading.Lock()


atexit.register(_finish_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def execute(backend, flat, launches, buffers, more=False):
    """Run finished launches, ``(trace, spans, scalars)``: ``spans`` the (i0, i1) param ranges of ``flat``
    stepped by the trace's kernel, ``scalars[k]`` span k's slot values; ``buffers`` the state buffers in
    slot order; ``more``: other launches of this step follow. Numba kernels must be ``ready``."""
    n = len(buffers)
    for k, (tr, spans, scalars) in enumerate(launches):
        if backend == "numba":
            from .numba.launch import launch  # noqa: PLC0415

            launch(flat, _KERNELS[("numba", tr.key())], spans, scalars, buffers, more or k < len(launches) - 1)
        else:
            from .cuda.launch import launch  # noqa: PLC0415

            launch(flat, tr, n, spans, scalars, buffers)
