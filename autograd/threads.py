"""One thread budget for the CPU work of a process: ``set_num_threads`` / ``get_num_threads`` as torch's.

The budget is shared by everything that runs CPU threads for us: the BLAS library under NumPy (limited
through ``threadpoolctl``, the standard tool for it, when installed), minitorch_optim's kernel chunk pool
and its foreach executor. Keeping them to one number stops them from oversubscribing the cores (OpenBLAS
threads spinning after a GEMM while the optimizer's pool starts its own). The default is torch's: the
number of physical cores this process may run on (``OMP_NUM_THREADS`` when set, as torch's OpenMP reads
it). The BLAS limit is applied when the budget is first read (where BLAS would start more threads than
the budget) or set, not at import.
"""
from __future__ import annotations

import os
import threading

_N = []
_LOCK = threading.Lock()


def _physical_cores():
    """Physical cores among the CPUs this process may use (Linux sysfs; logical CPUs elsewhere)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for c in cpus:
        for name in ("core_cpus_list", "thread_siblings_list"):
            try:
                with open(f"/sys/devices/system/cpu/cpu{c}/topology/{name}") as fh:
                    cores.add(fh.read().strip())
                break
            except OSError:
                continue
        else:
            return max(1, len(cpus))
    return max(1, len(cores))


def _default():
    env = os.environ.get("OMP_NUM_THREADS", "")
    try:
        n = int(env.split(",")[0])
    except ValueError:
        n = 0
    return n if n > 0 else _physical_cores()


def _limit_blas(n):
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:
        return
    try:
        threadpool_limits(limits=n, user_api="blas")
    except Exception:  # noqa: BLE001 - a BLAS threadpoolctl cannot steer keeps its own threads
        pass


def _blas_within(n):
    """Whether the BLAS libraries start with at most ``n`` threads by themselves: the thread count their
    environment variables ask for, else one per CPU this process may use. Then the default budget needs no
    limit, and the first read skips threadpoolctl's scan of the loaded libraries (~8 ms)."""
    for var in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v:
            try:
                return int(v.split(",")[0]) <= n
            except ValueError:
                return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    return max(cpus, os.cpu_count() or 1) <= n


def get_num_threads():
    """The number of threads CPU work may use (torch.get_num_threads)."""
    if not _N:
        with _LOCK:
            if not _N:
                n = _default()
                if not _blas_within(n):
                    _limit_blas(n)
                _N.append(n)
    return _N[0]


def set_num_threads(n):
    """Set the thread budget (torch.set_num_threads): BLAS, the kernel pool and foreach follow it."""
    if isinstance(n, bool) or not isinstance(n, int):     # torch raises RuntimeError for both
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    with _LOCK:
        _limit_blas(n)
        _N[:] = [n]
