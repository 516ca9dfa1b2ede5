"""``cupy.RawModule`` / ``cupy.RawKernel`` of the stand-in.

A module is compiled by the real NVRTC with the option set CuPy 14.2 uses (the caller's options, then
``-ftz=true``, ``-arch=sm_90`` and ``--device-as-default-execution-space``, as ``cupy.cuda.compiler`` appends
them), which also yields each kernel's C++ parameter types (NVRTC's lowered names, demangled). It then runs
on the CPU: the same source is built with g++ behind ``tests/cuda_shim/cuda_shim.h`` with one extern "C"
wrapper per kernel that runs every (block, thread) in turn. Before a launch each argument is checked
against the kernel's parameter: pointers must be C-contiguous device arrays of the pointee's dtype on the
current device (or a 0 ``numpy.uint64`` for null), scalars must be NumPy scalars of exactly the C type's
size (CuPy passes a scalar by its own size, so a mismatch would silently corrupt the arguments).
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from . import _state as S
from ._array import ndarray

SHIM = os.path.join(os.path.dirname(S.HERE), "cuda_shim")
GXX_FLAGS = ["-std=c++17", "-O1", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-fast-math", "-shared",
             "-fPIC", "-w"]
CACHE = os.path.join(tempfile.gettempdir(), "minitorch_optim_fake_cupy")
_lock = threading.Lock()

POINTEE = {"float": "float32", "double": "float64", "half_t": "float16", "__half": "float16", "half": "float16",
           "bf16_t": "bfloat16", "__nv_bfloat16": "bfloat16", "int": "int32", "unsigned int": "uint32",
           "long long": "int64", "unsigned long long": "uint64", "long": "int64", "unsigned long": "uint64",
           "short": "int16", "unsigned short": "uint16", "signed char": "int8", "unsigned char": "uint8",
           "char": "int8", "bool": "bool"}
SCALAR = {"int": (np.int32, ctypes.c_int), "unsigned int": (np.uint32, ctypes.c_uint),
          "long long": (np.int64, ctypes.c_longlong), "unsigned long long": (np.uint64, ctypes.c_ulonglong),
          "long": (np.int64, ctypes.c_long), "unsigned long": (np.uint64, ctypes.c_ulong),
          "float": (np.float32, ctypes.c_float), "double": (np.float64, ctypes.c_double),
          "bool": (np.bool_, ctypes.c_bool), "short": (np.int16, ctypes.c_short),
          "unsigned short": (np.uint16, ctypes.c_ushort), "unsigned char": (np.uint8, ctypes.c_ubyte),
          "signed char": (np.int8, ctypes.c_byte), "char": (np.int8, ctypes.c_byte)}
PY_SCALAR = {int: "long long", float: "double", bool: "bool"}    # how CuPy passes Python scalars


class CompileException(Exception):
    """As ``cupy.cuda.compiler.CompileException``: the NVRTC log is in the message."""


class CUDADriverError(RuntimeError):
    """What a bad launch would become on a GPU (illegal address, invalid launch configuration)."""


def cupy_options(options):
    """What ``cupy.RawModule(code=..., options=options)`` hands NVRTC (CuPy 14.2: ``-ftz=true`` appended by
    ``_compile_with_cache_cuda``, the arch and ``--device-as-default-execution-space`` by the NVRTC driver)."""
    return tuple(options) + ("-ftz=true",) + nvrtc_driver_options(())


def nvrtc_driver_options(options, arch=None):
    """What ``cupy.cuda.compiler.compile_using_nvrtc(source, options)`` hands NVRTC (no ``-ftz=true``)."""
    return tuple(options) + (f"-arch=sm_{arch or S.COMPUTE_CAPABILITY}", "--device-as-default-execution-space")


def flushes_subnormals(effective):
    """NVRTC takes the last ``-ftz`` option (checked on the PTX: ``.ftz`` instructions)."""
    ftz = [o for o in effective if o.startswith(("-ftz=", "--ftz="))]
    return bool(ftz) and ftz[-1].endswith("true")


_NV = []


def nvrtc():
    """NVRTC through ``cupy_backends`` (loaded once, before the stand-in replaces ``cupy``), or None."""
    if not _NV:
        _NV.append(_load_nvrtc())
    return _NV[0]


def _load_nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc  # noqa: PLC0415

        nvrtc.getVersion()
        return nvrtc
    except Exception:  # noqa: BLE001 - NVRTC missing: kernels are still emulated, not compile-checked
        return None


def _demangle(names):
    if not names:
        return {}
    cf = shutil.which("c++filt")
    out = subprocess.run([cf], input="\n".join(names), capture_output=True, text=True, check=True).stdout
    return dict(zip(names, out.strip().split("\n")))


def _split_params(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        depth += ch in "<(["
        depth -= ch in ">)]"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return [p for p in out if p and p != "void"]


def _params_of_demangled(text):
    end = text.rindex(")")
    depth = 0
    for i in range(end, -1, -1):
        depth += text[i] == ")"
        depth -= text[i] == "("
        if depth == 0:
            return _split_params(text[i + 1:end])
    raise ValueError(text)


def _params_from_source(code, name):
    """Parameter types of an ``extern "C" __global__`` kernel (names stripped)."""
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", code, flags=re.S)
    m = re.search(r"__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?" + re.escape(name) + r"\s*\(([^)]*)\)",
                  code)
    if not m:
        raise AttributeError(f"kernel {name} not found in the module source")
    out = []
    for p in _split_params(m.group(1)):
        p = re.sub(r"\b__restrict__\b|\b__restrict\b", "", p).strip()
        t = re.sub(r"\s*\b\w+$", "", p) if not p.endswith("*") else p
        out.append(" ".join(t.replace("*", " * ").split()).replace(" *", "*"))
    return out


def _norm(t):
    """``'long long const*'`` -> ('long long', 1); ``'float* const*'`` -> ('float', 2); ``'int'`` -> ('int', 0)."""
    t = " ".join(t.replace("const", " ").replace("volatile", " ").replace("__restrict__", " ").split())
    depth = t.count("*")
    return t.replace("*", " ").strip(), depth


class _Compiled:
    """One program: NVRTC-checked, built for the CPU, its kernels' parameter types."""

    def __init__(self, code, effective, names):
        self.code, self.options, self.names = code, tuple(effective), list(names)
        self.ftz = flushes_subnormals(self.options)
        self.params = {}
        nv = nvrtc()
        key = hashlib.sha256(repr((code, self.options, self.names,
                                   nv.getVersion() if nv else None)).encode()).hexdigest()[:24]
        os.makedirs(CACHE, exist_ok=True)
        meta = os.path.join(CACHE, key + ".json")
        S.counters["compiles"] += 1
        if os.path.exists(meta):
            with open(meta) as fh:
                lowered = json.load(fh)
        elif nv is not None:
            lowered = self._nvrtc(nv, key)
            with open(meta + f".{os.getpid()}", "w") as fh:
                json.dump(lowered, fh)
            os.replace(meta + f".{os.getpid()}", meta)
        else:
            lowered = {}
        dem = _demangle([v for v in lowered.values() if v.startswith("_Z")])
        probed = None
        for n in self.names:
            if n in lowered and lowered[n] in dem:
                self.params[n] = _params_of_demangled(dem[lowered[n]])
            elif nv is None:
                # no NVRTC to name the parameter types: ask g++ (behind the same shim) for the type of each
                # kernel's address; macro-defined and template kernels are out of reach of a source regex
                probed = probed if probed is not None else self._probe()
                self.params[n] = probed[n]
            else:
                self.params[n] = _params_from_source(code, n.split("<")[0])
        self.lib = self._build(key)

    def _probe(self):
        lines = ['#include "cuda_shim.h"', "#include <typeinfo>", self.code]
        lines += [f'extern "C" const char* emu_probe{i}() {{ return typeid(decltype(&{n})).name(); }}'
                  for i, n in enumerate(self.names)]
        lib = self._gxx("\n".join(lines), "probe")
        out = {}
        for i, n in enumerate(self.names):
            f = getattr(lib, f"emu_probe{i}")
            f.restype = ctypes.c_char_p
            mangled = f().decode()
            cf = shutil.which("c++filt")
            text = subprocess.run([cf, "-t", mangled], capture_output=True, text=True, check=True).stdout.strip()
            out[n] = _params_of_demangled(text)      # "void (*)(float*, float const*, int)"
        return out

    def _nvrtc(self, nv, key):
        prog = nv.createProgram(self.code, f"{key}.cu", [], [])
        try:
            for n in self.names:
                if "<" in n:
                    nv.addNameExpression(prog, n)
            try:
                nv.compileProgram(prog, list(self.options))
            except nv.NVRTCError as e:
                raise CompileException(f"{e}\n{nv.getProgramLog(prog)}") from None
            return {n: nv.getLoweredName(prog, n) for n in self.names if "<" in n}
        finally:
            nv.destroyProgram(prog)

    def _build(self, key):
        lines = ['#include "cuda_shim.h"', "#include <xmmintrin.h>", self.code, _LAUNCH]
        for i, n in enumerate(self.names):
            ps = self.params[n]
            decl = ", ".join(f"{p} a{j}" for j, p in enumerate(ps))
            call = ", ".join(f"a{j}" for j in range(len(ps)))
            lines.append(f'extern "C" void emu_k{i}(int ftz, unsigned gx, unsigned gy, unsigned gz, unsigned bx, '
                         f'unsigned by, unsigned bz{", " + decl if decl else ""}) {{ emu_launch(ftz, gx, gy, gz, bx, '
                         f'by, bz, [&] {{ {n}({call}); }}); }}')
        return self._gxx("\n".join(lines), "emu")

    def _gxx(self, unit, prefix):
        with open(os.path.join(SHIM, "cuda_shim.h"), "rb") as fh:
            shim = fh.read()
        incs = [o[2:] for o in self.options if o.startswith("-I")]
        h = hashlib.sha256(unit.encode() + shim + " ".join(GXX_FLAGS + incs).encode()).hexdigest()[:24]
        so = os.path.join(CACHE, f"{prefix}_{h}.so")
        with _lock:
            if not os.path.exists(so):
                src = os.path.join(CACHE, f"{prefix}_{h}.cpp")
                with open(src, "w") as fh:
                    fh.write(unit)
                cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
                tmp = f"{so}.{os.getpid()}.tmp"
                r = subprocess.run([cxx, *GXX_FLAGS, "-I", SHIM, *sum((["-I", i] for i in incs), []), src, "-o", tmp],
                                   capture_output=True, text=True)
                if r.returncode:
                    raise CompileException(f"the g++ emulation of the module does not build:\n{r.stderr[-3000:]}")
                os.replace(tmp, so)
        return ctypes.CDLL(so)


_LAUNCH = r"""
// -ftz=true is modelled with the SSE flush-to-zero and denormals-are-zero bits (MXCSR 0x8040): float32
// subnormal inputs and results of arithmetic become (signed) zero, as on the GPU. (On the host they also
// apply to double arithmetic, which CUDA's -ftz does not touch; double subnormals are rare in these kernels.)
template <typename F>
static void emu_launch(int ftz, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, F f) {
    unsigned int csr = _mm_getcsr();
    if (ftz) _mm_setcsr(csr | 0x8040u);
    gridDim.x = gx; gridDim.y = gy; gridDim.z = gz; blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
    for (unsigned z = 0; z < gz; ++z) for (unsigned y = 0; y < gy; ++y) for (unsigned x = 0; x < gx; ++x)
        for (unsigned tz = 0; tz < bz; ++tz) for (unsigned ty = 0; ty < by; ++ty) for (unsigned tx = 0; tx < bx; ++tx) {
            blockIdx.x = x; blockIdx.y = y; blockIdx.z = z; threadIdx.x = tx; threadIdx.y = ty; threadIdx.z = tz;
            f();
        }
    _mm_setcsr(csr);
}
"""

_PROGRAMS = {}


def _program(code, options, names):
    key = (code, tuple(options), tuple(names))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = _Compiled(code, options, names)
    return _PROGRAMS[key]


def _dims(v, what):
    if isinstance(v, (int, np.integer)):
        v = (int(v),)
    if not isinstance(v, tuple) or not 1 <= len(v) <= 3 or not all(isinstance(x, (int, np.integer)) for x in v):
        raise ValueError(f"{what} must be an int or a tuple of 1-3 ints, got {v!r}")
    v = tuple(int(x) for x in v) + (1,) * (3 - len(v))
    if min(v) < 1:
        raise CUDADriverError(f"CUDA_ERROR_INVALID_VALUE: {what} {v} has a zero dimension")
    return v


class _Function:
    """A compiled kernel: ``kernel(grid, block, args, *, shared_mem=0, stream=None)``."""

    def __init__(self, prog, name, index):
        self.prog, self.name, self._index = prog, name, index
        self.params = prog.params[name]
        self._fn = getattr(prog.lib, f"emu_k{index}")

    @property
    def attributes(self):
        return {"max_threads_per_block": 1024, "num_regs": 32}

    max_threads_per_block = 1024

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None, enable_cooperative_groups=False):
        g, b = _dims(grid, "grid"), _dims(block, "block")
        if b[0] * b[1] * b[2] > 1024:
            raise CUDADriverError(f"CUDA_ERROR_INVALID_VALUE: {b[0] * b[1] * b[2]} threads per block (max 1024)")
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"kernel arguments must be a tuple, got {type(args).__name__}")
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments ({', '.join(self.params)}), "
                            f"got {len(args)}")
        cur = S.current()
        vals = []
        for j, (v, p) in enumerate(zip(args, self.params)):
            base, ptr = _norm(p)
            where = f"{self.name} argument {j} ({p})"
            if ptr:
                if isinstance(v, ndarray):
                    # a table of device addresses (T**): 64-bit integers (the addresses themselves are not checked)
                    want = POINTEE.get(base) if ptr == 1 else ("uint64" if v.dtype == np.uint64 else "int64")
                    same_int = (want is not None and want != "bfloat16" and v.dtype.kind in "iu"
                                and np.dtype(want).kind in "iu" and v.dtype.itemsize == np.dtype(want).itemsize)
                    if want is not None and want != "bfloat16" and v.dtype != np.dtype(want) and not same_int:
                        raise TypeError(f"{where}: array of dtype {v.dtype} passed for a {p} parameter")
                    if want == "bfloat16" and v.dtype.itemsize != 2:
                        raise TypeError(f"{where}: array of dtype {v.dtype} passed for a {p} parameter")
                    if v._dev != cur:
                        raise CUDADriverError(f"CUDA_ERROR_ILLEGAL_ADDRESS: {where} lives on device {v._dev} but "
                                              f"the kernel runs on the current device {cur}")
                    if not v._a.flags.c_contiguous and v.size > 1:
                        raise ValueError(f"{where}: non-contiguous array (strides {v.strides}) passed as a pointer")
                    vals.append(ctypes.c_void_p(v._a.__array_interface__["data"][0] if v.size else None))
                elif isinstance(v, (np.uint64, np.int64)) and int(v) == 0:
                    vals.append(ctypes.c_void_p(None))
                elif isinstance(v, np.ndarray):
                    raise TypeError(f"{where}: a NumPy (host) array cannot be passed to a kernel")
                else:
                    raise TypeError(f"{where}: expected a cupy.ndarray or numpy.uint64(0), got {type(v).__name__}")
                continue
            if base not in SCALAR:
                raise TypeError(f"{where}: the stand-in cannot pass a {p} by value")
            np_t, c_t = SCALAR[base]
            if isinstance(v, ndarray):
                raise TypeError(f"{where}: a device array would be passed as a pointer to a {p} parameter")
            if isinstance(v, np.generic):
                if type(v) is not np_t and np.dtype(type(v)) != np.dtype(np_t):
                    raise TypeError(f"{where}: numpy.{type(v).__name__} ({np.dtype(type(v)).itemsize} bytes) passed "
                                    f"for a {p} ({np.dtype(np_t).itemsize} bytes)")
            elif type(v) in PY_SCALAR:
                if PY_SCALAR[type(v)] != base:
                    raise TypeError(f"{where}: Python {type(v).__name__} is passed as {PY_SCALAR[type(v)]}, "
                                    f"not {p}")
            else:
                raise TypeError(f"{where}: unsupported argument type {type(v).__name__}")
            vals.append(c_t(v.item() if isinstance(v, np.generic) else v))
        S.counters["launches"] += 1
        S.launches.append((self.name, g, b, cur))
        self._fn(ctypes.c_int(int(self.prog.ftz)), *(ctypes.c_uint(x) for x in g + b), *vals)


class RawModule:
    """``cupy.RawModule(code=None, *, path=None, options=(), backend='nvrtc', ..., name_expressions=None)``."""

    def __init__(self, *args, **kwargs):
        bound = S.check_call("classes", "cupy.RawModule", args, kwargs)
        a = bound.arguments
        code, path = a.get("code"), a.get("path")
        if (code is None) == (path is None):
            raise TypeError("One of code or path should be given")
        opts = a.get("options", ())
        self._lowered = None
        if path is not None:
            with open(path, "rb") as fh:
                blob = fh.read()
            if not blob.startswith(_MAGIC):
                raise NotImplementedError("the CuPy stand-in loads only modules from its compile_using_nvrtc")
            meta = json.loads(blob[len(_MAGIC):].decode())
            code, self._effective = meta["code"], tuple(meta["options"])
            self._lowered = meta["mapping"]          # lowered (mangled) name -> name expression
            a = dict(a, name_expressions=list(self._lowered.values()))
        if not isinstance(opts, tuple):
            raise TypeError(f"options must be a tuple, got {type(opts).__name__}")   # Cython: tuple options
        if a.get("backend", "nvrtc") != "nvrtc":
            raise NotImplementedError("the CuPy stand-in only models the nvrtc backend")
        self.code, self.options = code, opts
        if path is None:
            self._effective = cupy_options(opts)
        self.name_expressions = list(a.get("name_expressions") or ())
        self._prog = None
        self._functions = {}
        S.counters["modules"] += 1

    def _compiled(self, extra=()):
        names = self.name_expressions or list(extra)
        if self._prog is None or any(n not in self._prog.names for n in extra):
            self._prog = _program(self.code, self._effective, sorted(set(names) | set(extra)))
        return self._prog

    def compile(self, log_stream=None):
        self._compiled()

    def get_function(self, name):
        S.counters["get_function"] += 1        # every call: a launch path should keep the Function it got
        if name in self._functions:
            return self._functions[name]
        if self._lowered is not None:                # a loaded cubin: functions go by their lowered names
            if name not in self._lowered:
                raise KeyError(f"no kernel {name} in the loaded module (has {sorted(self._lowered)})")
            expr = self._lowered[name]
            prog = self._compiled((expr,))
            f = self._functions[name] = _Function(prog, expr, prog.names.index(expr))
            return f
        if self.name_expressions and "<" in name and name not in self.name_expressions:
            raise KeyError(f"{name} is not in name_expressions {self.name_expressions}")
        prog = self._compiled((name,))
        f = _Function(prog, name, prog.names.index(name))
        self._functions[name] = f
        return f


class RawKernel:
    """``cupy.RawKernel(code, name, options=(), backend='nvrtc', ...)``: an extern "C" kernel."""

    def __init__(self, *args, **kwargs):
        bound = S.check_call("classes", "cupy.RawKernel", args, kwargs)
        a = bound.arguments
        opts = a.get("options", ())
        if not isinstance(opts, tuple):
            raise TypeError(f"options must be a tuple, got {type(opts).__name__}")
        self.code, self.name, self.options = a["code"], a["name"], opts
        self._fn = None
        S.counters["kernels"] += 1

    @property
    def kernel(self):
        if self._fn is None:
            prog = _program(self.code, cupy_options(self.options), [self.name])
            self._fn = _Function(prog, self.name, 0)
        return self._fn

    def compile(self, log_stream=None):
        return self.kernel

    @property
    def attributes(self):
        return self.kernel.attributes

    def __call__(self, grid, block, args, **kwargs):
        return self.kernel(grid, block, args, **kwargs)


_MAGIC = b"FAKE-CUBIN\n"


def compile_using_nvrtc(*args, **kwargs):
    """``cupy.cuda.compiler.compile_using_nvrtc``: real NVRTC with exactly these options plus the arch
    (no ``-ftz=true``: CuPy adds that only on the RawModule(code=...) path). Returns (image, mapping) where
    the image is the stand-in's own format, loadable with ``RawModule(path=...)``."""
    bound = S.check_call("functions", "cupy.cuda.compiler.compile_using_nvrtc", args, kwargs)
    a = bound.arguments
    opts = a.get("options", ())
    if not isinstance(opts, tuple):
        raise TypeError("options must be a tuple")
    if a.get("method") not in (None, "cubin", "ptx"):
        raise NotImplementedError(f"method={a.get('method')!r}")
    names = list(a.get("name_expressions") or ())
    effective = nvrtc_driver_options(opts, a.get("arch"))
    prog = _program(a["source"], effective, names)
    nv = nvrtc()
    mapping = {}
    if nv is not None and names:
        key = hashlib.sha256(repr((a["source"], prog.options, prog.names, nv.getVersion())).encode()).hexdigest()[:24]
        with open(os.path.join(CACHE, key + ".json")) as fh:
            mapping = json.load(fh)
    mapping = {n: mapping.get(n, n) for n in names}
    blob = _MAGIC + json.dumps({"code": a["source"], "options": list(effective),
                                "mapping": {v: k for k, v in mapping.items()}}).encode()
    return blob, mapping
