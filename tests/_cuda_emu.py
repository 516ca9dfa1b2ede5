"""Build the CUDA kernel sources with the host C++ compiler (tests/cuda_shim/cuda_shim.h) and call them.

``emu_lib()`` compiles every ``minitorch_optim/kernels/cuda/*.cu`` into one shared library (once per source
hash, cached in the temp dir) with extern "C" wrappers that run all blocks and threads of a launch
serially. ``EmuRunner`` has the interface of ``_cuda.CupyRunner`` over NumPy arrays, so
``_cuda.launch(..., runner=EmuRunner(...))`` runs the very same host packing and kernel code on the CPU.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np

from minitorch_optim.kernels.cuda import launch as _cuda

SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuda_shim")
SUFFIX = {"float": "f32", "double": "f64", "half_t": "f16", "bf16_t": "bf16"}
FLAGS = ["-std=c++17", "-O2", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-fast-math", "-shared", "-fPIC",
         "-w"]

_EXTRA = r"""
extern "C" void emu_h2f(const unsigned short* h, float* f, long long n) { for (long long i = 0; i < n; ++i) f[i] = mt_h2f(h[i]); }
extern "C" void emu_f2h(const float* f, unsigned short* h, long long n) { for (long long i = 0; i < n; ++i) h[i] = mt_f2h(f[i]); }
extern "C" void emu_f2b(const float* f, unsigned short* b, long long n) { for (long long i = 0; i < n; ++i) b[i] = mt_f2b(f[i]); }
"""


def _unit():
    lines = ['#include "cuda_shim.h"']
    for f in _cuda.FILES:
        lines.append(f'#include "{os.path.join(_cuda.HERE, f + ".cu")}"')
    for ct, suf in SUFFIX.items():
        lines.append(f"EMU_AVG({ct}, {suf})")
        for f in _cuda.FILES:
            if f != "avg":
                lines.append(f"EMU_STEP({f}_step, {ct}, {suf})")
                lines.append(f"EMU_ADV({f}_advance, {ct}, {suf})")
    return "\n".join(lines) + _EXTRA


_LIB = None


def compiler():
    return shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")


def emu_lib():
    """The emulation library (built on first use; cached by the hash of sources, shim and flags)."""
    global _LIB
    if _LIB is None:
        cxx = compiler()
        if cxx is None:
            raise RuntimeError("no host C++ compiler (g++) found")
        unit = _unit()
        with open(os.path.join(SHIM, "cuda_shim.h"), "rb") as fh:
            shim = fh.read()
        key = hashlib.sha256((_cuda.sources_digest() + unit + " ".join(FLAGS)).encode() + shim).hexdigest()[:16]
        out_dir = os.path.join(tempfile.gettempdir(), "minitorch_optim_emu")
        os.makedirs(out_dir, exist_ok=True)
        so = os.path.join(out_dir, f"kernels_{key}.so")
        if not os.path.exists(so):
            src = os.path.join(out_dir, f"kernels_{key}.cpp")
            with open(src, "w") as fh:
                fh.write(unit)
            tmp = f"{so}.{os.getpid()}.tmp"
            subprocess.run([cxx, *FLAGS, "-I", SHIM, "-I", _cuda.HERE, src, "-o", tmp], check=True,
                           capture_output=True, text=True)
            os.replace(tmp, so)
        _LIB = ctypes.CDLL(so)
    return _LIB


class EmuRunner:
    """``_cuda``'s runner interface on the CPU; ``grid``/``block`` override the launch shape if given."""

    xp = np

    def __init__(self, grid=None, block=None):
        self.lib = emu_lib()
        self.grid, self.block = grid, block
        self.calls = []

    def __call__(self, file, func, dtype, grid, block, args):
        conv = {"i32": ctypes.c_int, "i64": ctypes.c_longlong, "f64": ctypes.c_double}
        vals = []
        for kind, v in args:
            if kind == "ptr":
                vals.append(None if v is None else ctypes.c_void_p(v.ctypes.data))
            else:
                vals.append(conv[kind](v))
        g, b = self.grid or grid, self.block or block
        self.calls.append(func)
        getattr(self.lib, f"emu_{func}_{SUFFIX[_cuda.ctype_of(dtype)]}")(ctypes.c_int(g), ctypes.c_int(b), *vals)


def convert(name, src, dst_dtype):
    """Run one of the 16-bit conversion helpers over a whole array."""
    src = np.ascontiguousarray(src)
    out = np.empty(src.shape, dst_dtype)
    getattr(emu_lib(), name)(ctypes.c_void_p(src.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                             ctypes.c_longlong(src.size))
    return out
