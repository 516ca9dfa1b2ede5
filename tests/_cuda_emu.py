"""Build CUDA kernel sources with the host C++ compiler (tests/cuda_shim/cuda_shim.h) and call them.

``EmuRunner`` has the interface of ``kernels.cuda.launch.CupyRunner`` over NumPy arrays: given a kernel's
source, name, dtype, launch shape and (kind, value) arguments it compiles the very source NVRTC gets
(launcher header pasted in) with an extern "C" wrapper that runs every block and thread of the launch
serially, caches the shared library by the hash of source, shim and flags, and calls it. So
``launch(..., runner=EmuRunner())`` runs the real host packing and the generated kernel code on the CPU.
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
FLAGS = ["-std=c++17", "-O1", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-fast-math", "-shared", "-fPIC",
         "-w"]
CTYPE_OF_KIND = {"ptr": "void*", "i32": "int", "i64": "long long", "f64": "double"}

_EXTRA = r"""
extern "C" void emu_h2f(const unsigned short* h, float* f, long long n) { for (long long i = 0; i < n; ++i) f[i] = mt_h2f(h[i]); }
extern "C" void emu_f2h(const float* f, unsigned short* h, long long n) { for (long long i = 0; i < n; ++i) h[i] = mt_f2h(f[i]); }
extern "C" void emu_f2b(const float* f, unsigned short* b, long long n) { for (long long i = 0; i < n; ++i) b[i] = mt_f2b(f[i]); }
"""


def compiler():
    return shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")


_LIBS = {}


def build(unit):
    """A shared library from C++ source ``unit`` (cached in the temp dir by hash)."""
    lib = _LIBS.get(unit)
    if lib is not None:
        return lib
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no host C++ compiler (g++) found")
    with open(os.path.join(SHIM, "cuda_shim.h"), "rb") as fh:
        shim = fh.read()
    key = hashlib.sha256((unit + " ".join(FLAGS)).encode() + shim).hexdigest()[:20]
    out_dir = os.path.join(tempfile.gettempdir(), "minitorch_optim_emu")
    os.makedirs(out_dir, exist_ok=True)
    so = os.path.join(out_dir, f"k_{key}.so")
    if not os.path.exists(so):
        src = os.path.join(out_dir, f"k_{key}.cpp")
        with open(src, "w") as fh:
            fh.write(unit)
        tmp = f"{so}.{os.getpid()}.tmp"
        subprocess.run([cxx, *FLAGS, "-I", SHIM, src, "-o", tmp], check=True, capture_output=True, text=True)
        os.replace(tmp, so)
    lib = _LIBS[unit] = ctypes.CDLL(so)
    return lib


KERNEL_KINDS = ["ptr"] * 4 + ["i32", "ptr", "i32"] + ["ptr"] * _cuda.N_BUFFERS   # MT_KERNEL_ARGS


def wrapper(func, kinds, ctypes_=tuple(SUFFIX)):
    """extern "C" emu_<func>_<suffix>(grid, block, args...) for the storage types ``ctypes_``."""
    params = ", ".join(f"{CTYPE_OF_KIND[k]} a{i}" for i, k in enumerate(kinds))
    call = ", ".join(f"EmuPtr{{a{i}}}" if k == "ptr" else f"a{i}" for i, k in enumerate(kinds))
    return "\n".join(f'extern "C" void emu_{func}_{SUFFIX[ct]}(int grid, int block, {params}) '
                     f'{{ EMU_RUN(grid, block, {func}<{ct}>({call})); }}' for ct in ctypes_)


def build_many(kernels, ctypes_=("float", "double")):
    """One library with every generated kernel of ``kernels`` ((name, source) pairs), header once."""
    parts, seen = ['#include "cuda_shim.h"', _cuda.header()], set()
    for name, src in kernels:
        if name not in seen:
            seen.add(name)
            parts.append(src.replace('#include "mt_launcher.h"', ""))
            parts.append(wrapper(name, KERNEL_KINDS, ctypes_))
    return build("\n".join(parts) + "\n")


class EmuRunner:
    """``CupyRunner``'s interface on the CPU; ``grid``/``block`` override the launch shape if given."""

    xp = np

    def __init__(self, grid=None, block=None, lib=None):
        self.grid, self.block, self.lib = grid, block, lib
        self.calls = []

    def _lib_for(self, src, func, sym, kinds):
        if self.lib is not None and hasattr(self.lib, sym):
            return self.lib
        return build('#include "cuda_shim.h"\n' + _cuda.standalone(src) + "\n" + wrapper(func, kinds) + "\n")

    def __call__(self, src, func, dtype, grid, block, args):
        kinds = [k for k, _ in args]
        sym = f"emu_{func}_{SUFFIX[_cuda.ctype_of(dtype)]}"
        lib = self._lib_for(src, func, sym, kinds)
        conv = {"i32": ctypes.c_int, "i64": ctypes.c_longlong, "f64": ctypes.c_double}
        vals = [(None if v is None else ctypes.c_void_p(v.ctypes.data)) if k == "ptr" else conv[k](v)
                for k, v in args]
        g, b = self.grid or grid, self.block or block
        self.calls.append(func)
        getattr(lib, sym)(ctypes.c_int(g), ctypes.c_int(b), *vals)


def convert(name, src, dst_dtype):
    """Run one of the 16-bit conversion helpers of the launcher header over a whole array."""
    lib = build('#include "cuda_shim.h"\n' + _cuda.header() + _EXTRA)
    src = np.ascontiguousarray(src)
    out = np.empty(src.shape, dst_dtype)
    getattr(lib, name)(ctypes.c_void_p(src.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                       ctypes.c_longlong(src.size))
    return out
