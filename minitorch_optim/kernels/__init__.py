"""Fused multi-tensor kernels generated from each optimizer's update function.

Nothing here is written per algorithm. ``fused_step`` traces a run's update closure (``_core.trace``: the
update function run once with a recording ``o``; flags and other Python branches are resolved there),
names the kernel by the trace's statements (``Trace.key``), generates it on first use (``codegen``) and
launches it over the runs of a ``FlatGroup`` that share that kernel: ``numba/`` on the CPU, ``cuda/``
(CuPy RawKernel, NVRTC) on CUDA. The per-step scalars of a run (the slot values of its trace) are kernel
arguments, so a new learning rate or bias correction reuses the kernel.

``python -m minitorch_optim.kernels --emit-cuda DIR`` writes every generated CUDA kernel (each algorithm
× flag combination × dtype) as a standalone .cu file (see ``__main__``).
"""
from __future__ import annotations

_KERNELS = {}      # (backend, trace key) -> compiled kernel


def supported(opt, on_cpu=True):
    """Whether ``opt`` (an optimizer class, instance, or the name of a minitorch_optim class) gets fused
    kernels on that kind of device here: its update is traceable and Numba (CPU) / CuPy (CUDA) imports."""
    if isinstance(opt, str):
        import minitorch_optim  # noqa: PLC0415

        opt = getattr(minitorch_optim, opt, None)
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


def numba_kernel(tr, n_buffers):
    key = ("numba", tr.key())
    k = _KERNELS.get(key)
    if k is None:
        from . import codegen  # noqa: PLC0415
        from .numba.launch import load  # noqa: PLC0415

        k = _KERNELS[key] = load(codegen.numba_source(tr, n_buffers))
    return k


def fused_step(executor, flat, runs, names, strict=False):
    """Step ``runs`` of ``flat`` with generated kernels (``executor``: "numba" or "cuda")."""
    from .._core.elementwise import foreach_step  # noqa: PLC0415
    from .._core.trace import TraceError, trace  # noqa: PLC0415

    launches = {}
    for r in runs:
        try:
            tr = trace(r.update, names, flat.dtype)
        except TraceError as e:
            if strict:
                raise RuntimeError(f"fused=True: the update function cannot be traced ({e})") from None
            foreach_step(flat, [r], names)
            continue
        entry = launches.setdefault(tr.key(), (tr, [], []))
        entry[1].append((r.i0, r.i1))
        entry[2].append(tr.scalars)
    buffers = [flat.buffers[n] for n in names]
    for tr, spans, scalars in launches.values():
        if executor == "numba":
            from .numba.launch import launch  # noqa: PLC0415

            launch(flat, numba_kernel(tr, len(names)), spans, scalars, buffers)
        else:
            from .cuda.launch import launch  # noqa: PLC0415

            launch(flat, tr, len(names), spans, scalars, buffers)
