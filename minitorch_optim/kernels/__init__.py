"""Fused multi-tensor updates: ``fused=True`` (and the CPU default when Numba is installed).

The dispatcher reuses the flat buffers of the foreach path (``_flat.FlatGroup``): for each device+dtype it
collects the parameters with gradients, splits them into runs of equal scalar state, computes each run's
per-step scalars with the optimizer's own ``_scalars`` (the same Python code the other paths use) and
hands everything to one backend launch: ``_cpu.launch`` (Numba kernels, the CPU twin) or ``_cuda.launch``
(CuPy RawKernels compiled from the ``.cu`` sources here).

Launch contract: ``launch(opt_name, flat, entries, group, grad_scale, found_inf)`` where ``entries`` is a
list of ``Entry`` (one per run); it updates ``flat.param`` and ``flat.buffers`` in place for every run and
must not touch anything when ``found_inf`` (a 0-d/1-element array on the params' device) is non-zero.
``grad_scale`` (same kind of array, or None) divides the gradients inside the kernel (torch's fused
semantics). It returns True when it advanced the scalar state itself (e.g. on the device, to avoid a host
synchronisation); otherwise the dispatcher advances it afterwards unless found_inf was set.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..optimizer import scalar


@dataclass
class Entry:
    i0: int          # first parameter index of the run (in flat order)
    i1: int          # one past the last
    lo: int          # element offsets of the run in the flat buffers
    hi: int
    sc: dict         # per-step scalars from opt._scalars (Python floats) plus "first"
    new: dict        # advanced scalar state for the run (e.g. {"step": 3.0})


def _backend(flat):
    if flat.on_cpu:
        from .numba import launch as _cpu

        return _cpu
    from .cuda import launch as _cuda

    return _cuda


def supported(opt_name, on_cpu=True):
    """Whether a fused kernel exists for this optimizer on that kind of device (and can be built here)."""
    try:
        if on_cpu:
            from .numba import launch as mod
        else:
            from .cuda import launch as mod
    except ImportError:
        return False
    return mod.supports(opt_name)


def fused_step(opt, group):
    """One fused step of ``group`` for optimizer ``opt`` (an ElementwiseOptimizer)."""
    lr = scalar(group["lr"])
    grad_scale = getattr(opt, "grad_scale", None)
    found_inf = getattr(opt, "found_inf", None)
    name = type(opt).__name__
    for flat in opt._flat_groups(group).values():
        idx = flat.collect(opt.state)
        entries = []
        for i0, i1, lo, hi in flat.runs(idx):
            s = {k: float(a[i0]) for k, a in flat.scalars.items()}
            sc, new = opt._scalars(group, lr, s)
            sc["first"] = i0 in flat.fresh
            entries.append(Entry(i0, i1, lo, hi, sc, new))
        if not entries:
            continue
        backend = _backend(flat)
        if not backend.supports(name):
            raise RuntimeError(f"fused=True is not supported for {name} on {'CPU' if flat.on_cpu else 'CUDA'}")
        advanced = backend.launch(name, flat, entries, group, _as_arr(grad_scale), _as_arr(found_inf))
        if not advanced and not (found_inf is not None and flat.on_cpu and float(_as_arr(found_inf).reshape(-1)[0])):
            for e in entries:
                for k, v in e.new.items():
                    flat.scalars[k][e.i0:e.i1] = v


def _as_arr(x):
    if x is None:
        return None
    return x._data if hasattr(x, "_data") else x
