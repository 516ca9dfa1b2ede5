"""The CUDA fused executor: generated kernels (kernels/codegen.py) inside the generic launcher
(``mt_launcher.h``), compiled with NVRTC through ``cupy.RawModule``.

One launch steps every run of a FlatGroup that shares a kernel. The host passes the group's parameter and
gradient address tables (the tensors stay where the user put them), the flat state buffers, a chunk table
of ``(tensor, start, stop, scalar row)`` rows (chunks of ``ROW`` elements; blocks stride over chunks,
threads over a chunk's elements; cached per run layout) and the runs' scalar slots as one float64 array.
Kernels are templated on the storage type (float, double, and 16-bit ``half_t``/``bf16_t`` computed in
float) and compiled once per kernel + dtype + device. ``OPTIONS`` turn multiply-add contraction off, so
each statement rounds as NumPy's. They are compiled through ``nvrtc.Module`` with ``-ftz=false`` (CuPy's
``RawModule(code=...)`` would append ``-ftz=true`` and flush float32 subnormals to zero, unlike NumPy).
Small launches use shorter chunk rows so that every multiprocessor gets a block (``row_size``).
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from .. import codegen
from ..chunks import chunk_table
from . import nvrtc

HERE = os.path.dirname(os.path.abspath(__file__))
ROW = 8192             # elements per chunk-table row
BLOCK = 256
MAX_GRID = 4096
N_BUFFERS = 6          # state buffers a kernel takes (B0..B5)
OPTIONS = ("-std=c++17", "--fmad=false")
CTYPES = {"float32": "float", "float64": "double", "float16": "half_t", "bfloat16": "bf16_t"}


def header():
    with open(os.path.join(HERE, "mt_launcher.h")) as fh:
        return fh.read()


def standalone(src):
    """``src`` with the launcher header pasted in place of its include (what NVRTC compiles)."""
    return src.replace('#include "mt_launcher.h"', header())


def kernel_source(tr, n_buffers):
    """``(name, source)`` of the CUDA kernel for a trace; the name is a hash of the element code."""
    if n_buffers > N_BUFFERS:
        raise RuntimeError(f"the CUDA launcher takes at most {N_BUFFERS} state buffers, not {n_buffers}")
    body = codegen.cuda_source(tr, n_buffers, "mt_kernel")
    name = "mt_" + hashlib.sha256(body.encode()).hexdigest()[:16]
    return name, codegen.cuda_source(tr, n_buffers, name)


def avg_source():
    with open(os.path.join(HERE, "avg.cu")) as fh:
        return fh.read()


def ctype_of(dtype):
    try:
        return CTYPES[np.dtype(dtype).name]
    except KeyError:
        raise TypeError(f"fused CUDA kernels do not support dtype {dtype}") from None


_MODULES = {}


class CupyRunner:
    """Compiles (once per source, storage type and device) and launches on the GPU; ``args`` are
    (kind, value) pairs with kind in ptr/i32/i64/f64."""

    @property
    def xp(self):
        import cupy  # noqa: PLC0415

        return cupy

    def __call__(self, src, func, dtype, grid, block, args):
        import cupy  # noqa: PLC0415

        ct = ctype_of(dtype)
        key = (func, ct, cupy.cuda.Device().id)
        fn = _MODULES.get(key)
        if fn is None:         # compiled once per kernel + dtype + device; the Function object is kept
            fn = _MODULES[key] = nvrtc.Module(standalone(src), OPTIONS, [f"{func}<{ct}>"]).get_function(
                f"{func}<{ct}>")
        conv = {"i32": np.int32, "i64": np.int64, "f64": np.float64}
        vals = tuple((np.uint64(0) if v is None else v) if k == "ptr" else conv[k](v) for k, v in args)
        fn((grid,), (block,), vals)


_SMS = {}


def multiprocessors():
    """Multiprocessors of the current GPU (cached per device)."""
    import cupy  # noqa: PLC0415

    dev = cupy.cuda.Device()
    n = _SMS.get(dev.id)
    if n is None:
        n = _SMS[dev.id] = int(dev.attributes["MultiProcessorCount"])
    return n


def row_size(n_elements, sms):
    """Elements per chunk row: ``ROW``, or less (down to 4 per thread of a block) when that would leave
    multiprocessors idle: about two rows per multiprocessor for small launches."""
    row = ROW
    while row > 4 * BLOCK and -(-n_elements // row) < 2 * sms:
        row //= 2
    return row


def _rows(flat, spans, sms=132):
    spans = tuple(spans)
    total = sum(int(flat.offs[i1] - flat.offs[i0]) for i0, i1 in spans)
    return chunk_table(flat, spans, row_size(total, sms))


def launch(flat, tr, n_buffers, spans, scalars, buffers, runner=None):
    """Run the kernel of trace ``tr`` over ``spans`` ((i0, i1) pairs) with ``scalars[k]`` for span k."""
    runner = runner or _RUNNER
    xp = runner.xp
    if xp is not np:        # launch (and compile, and allocate) on the GPU that holds the parameters
        from autograd.backend import use_device_of  # noqa: PLC0415

        use_device_of(flat.pviews[0])
    rows = _rows(flat, spans, multiprocessors() if runner is _RUNNER else getattr(runner, "sms", 132))
    if not len(rows):
        return
    name, src = kernel_source(tr, n_buffers)
    dev = flat.kernel_cache.setdefault("cuda_dev", {})
    if dev.get("rows_key") is not rows:
        dev["rows_key"], dev["CH"] = rows, xp.asarray(rows.reshape(-1))
    if "OFF" not in dev:
        dev["OFF"] = xp.asarray(flat.offs)
    S = np.asarray(scalars, np.float64).reshape(len(spans), -1)
    nslots = S.shape[1]
    bufs = list(buffers) + [None] * (N_BUFFERS - len(buffers))
    args = [("ptr", xp.asarray(flat.pptr)), ("ptr", xp.asarray(flat.gptr)), ("ptr", dev["OFF"]),
            ("ptr", dev["CH"]), ("i32", len(rows)), ("ptr", xp.asarray(S.reshape(-1) if S.size else np.zeros(1))),
            ("i32", nslots)] + [("ptr", b) for b in bufs]
    runner(src, name, flat.dtype, min(len(rows), MAX_GRID), BLOCK, args)


# ---- averaging (swa_utils) --------------------------------------------------------------------------------
AVG_MODES = {"lerp": 0, "blend": 1, "divide": 2}


def avg_update(avg_flat, model_flat, mode, value, runner=None):
    """In place on the flat array ``avg_flat`` from ``model_flat`` (same shape/dtype), one launch.

    ``mode``: "lerp" (``value`` = weight, torch's two-sided lerp), "blend" (``value`` = decay:
    ``a*decay + b*(1-decay)``) or "divide" (``value`` = n_averaged + 1: ``a + (b-a)/value``).
    """
    runner = runner or _RUNNER
    n = avg_flat.size
    if n == 0:
        return avg_flat
    grid = min(-(-n // BLOCK), MAX_GRID)
    runner(avg_source(), "avg_update", avg_flat.dtype, grid, BLOCK,
           [("ptr", avg_flat), ("ptr", model_flat), ("i64", n), ("i32", AVG_MODES[mode]), ("f64", float(value))])
    return avg_flat


def ema_update(avg_flat, model_flat, decay, runner=None):
    """EMA of a flat buffer: ``avg.lerp_(model, 1 - decay)`` (torch's multi-avg EMA)."""
    return avg_update(avg_flat, model_flat, "lerp", 1.0 - decay, runner)


_RUNNER = CupyRunner()
