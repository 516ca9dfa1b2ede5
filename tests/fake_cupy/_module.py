"""The ``cupy`` / ``cupyx`` module objects of the stand-in: every name checked against the recorded table."""
from __future__ import annotations

import math
import numbers
import sys
import types

import numpy as np

from . import _state as S
from ._array import (CUDARuntimeError, Device, MemoryPointer, check_devices, collect, ndarray, refuse_host,
                     unwrap, wrap)

# functions that only build views / read metadata: no kernel, so an array on another device is fine
VIEW = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
        "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d", "split", "array_split", "hsplit", "vsplit",
        "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type", "promote_types", "isscalar",
        "real", "imag", "diagonal", "iinfo", "finfo", "broadcast_shapes", "common_type", "get_array_module",
        "asnumpy", "rollaxis", "flip", "fliplr", "flipud"}
HOST_OK = {"isscalar", "shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type", "promote_types",
           "iinfo", "finfo", "broadcast_shapes", "common_type", "get_array_module", "dtype"}
SYNCS = {"nonzero", "argwhere", "flatnonzero", "unique", "extract", "compress", "count_nonzero_host"}
UFUNC_KW = {"out", "dtype", "casting"}


def _erf_libm(x, out=None):
    """``scipy.special.erf`` through libm's ``math.erf``, with SciPy's result dtypes (float16 -> float32)."""
    x = np.asarray(x)
    dt = np.result_type(x.dtype, np.float32) if x.dtype.kind in "fc" else np.float64
    r = np.vectorize(math.erf, otypes=[dt])(x) if x.size else np.empty(x.shape, dt)
    if out is not None:
        out[...] = r
        return out
    return r


def _numpy_target(full):
    parts = full.split(".")
    if parts[0] == "cupyx":
        if parts[1:3] == ["scipy", "special"]:
            try:
                import scipy.special  # noqa: PLC0415
            except ImportError:      # SciPy is no test requirement: the one function used has a libm twin
                return _erf_libm if parts[-1] == "erf" else None
            return getattr(scipy.special, parts[-1], None)
        return None
    mod = np
    for p in parts[1:-1]:
        mod = getattr(mod, p, None)
        if mod is None:
            return None
    return getattr(mod, parts[-1], None)


def _wrap_indices(idx, n):
    idx = np.asarray(idx)
    return idx % n if n else idx


def _special(full, np_f, args, kwargs, bound):
    """Functions whose CuPy behaviour differs from NumPy's (the defaults and wrap-around rules)."""
    name = full.rsplit(".", 1)[-1]
    a = unwrap(args)
    kw = {k: unwrap(v) for k, v in kwargs.items()}
    if name == "ravel_multi_index":      # CuPy's default mode is 'wrap' (NumPy's: 'raise')
        ba = bound.arguments
        return np.ravel_multi_index(unwrap(ba["multi_index"]), ba["dims"], mode=ba.get("mode", "wrap"),
                                    order=ba.get("order", "C"))
    if name == "take":                  # out-of-bounds indices wrap around
        ba = {k: unwrap(v) for k, v in bound.arguments.items()}
        n = ba["a"].size if ba.get("axis") is None else ba["a"].shape[ba["axis"]]
        return np.take(ba["a"], _wrap_indices(ba["indices"], n), axis=ba.get("axis"))
    if name == "take_along_axis":
        ba = {k: unwrap(v) for k, v in bound.arguments.items()}
        ax = ba.get("axis", -1)
        arr = ba["a"] if ax is not None else ba["a"].reshape(-1)
        return np.take_along_axis(arr, _wrap_indices(ba["indices"], arr.shape[ax if ax is not None else 0]),
                                  axis=ax if ax is not None else 0)
    if name == "put_along_axis":
        ba = {k: unwrap(v) for k, v in bound.arguments.items()}
        np.put_along_axis(ba["arr"], _wrap_indices(ba["indices"], ba["arr"].shape[ba["axis"]]), ba["values"],
                          ba["axis"])
        return None
    return np_f(*a, **kw)


SPECIAL = {"ravel_multi_index", "take", "take_along_axis", "put_along_axis"}


def make_function(full):
    name = full.rsplit(".", 1)[-1]
    np_f = _numpy_target(full)

    def f(*args, **kwargs):
        bound = S.check_call("functions", full, args, kwargs)
        if np_f is None:
            raise NotImplementedError(f"the CuPy stand-in does not model {full}")
        if name not in HOST_OK:
            for v in list(args) + list(kwargs.values()):
                refuse_host(v, full)
        arrays = collect([args, kwargs], [])
        check_devices(arrays, full, allow_other=name in VIEW)
        if name in SYNCS:
            S.sync(full)
        dev = arrays[0]._dev if arrays and name in VIEW else S.current()
        kwargs.pop("blocking", None)
        out = _special(full, np_f, args, kwargs, bound) if name in SPECIAL else \
            np_f(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        if kwargs.get("out") is not None:
            return kwargs["out"]
        return wrap(out, dev) if name != "get_array_module" else out

    f.__name__ = name
    f.__qualname__ = full
    return f


def _loop_dtype(types_, dts):
    """The first of a ufunc's loops that takes ``dts`` safely (CuPy's resolution for array operands)."""
    for t in types_:
        ins, _, outs = t.partition("->")
        if len(ins) == len(dts) and all(np.can_cast(d, np.dtype(c), "safe") for d, c in zip(dts, ins)):
            return [np.dtype(c) for c in ins], [np.dtype(c) for c in outs]
    return None


class ufunc:
    """``cupy.ufunc``: positional operands (device arrays or scalars), ``out``/``dtype``/``casting``."""

    def __init__(self, full, info, impl):
        self.__name__ = self.name = full.rsplit(".", 1)[-1]
        self.full, self.nin, self.nout, self.types = full, info["nin"], info["nout"], info["types"]
        self.nargs = self.nin + self.nout
        self._impl = impl
        self._by_table = full.startswith("cupyx.")      # scipy.special: the result dtype follows CuPy's loops

    def _operands(self, args, what):
        for x in args:
            if isinstance(x, (np.ndarray, list, tuple)):
                raise TypeError(f"Unsupported type {type(x)} (cupy.{self.name}{what})")
            if not isinstance(x, (ndarray, numbers.Number, np.generic)) and x is not None:
                raise TypeError(f"Unsupported type {type(x)} (cupy.{self.name}{what})")

    def __call__(self, *args, **kwargs):
        bad = set(kwargs) - UFUNC_KW
        if bad:
            raise TypeError(f"Wrong arguments {kwargs}")
        if len(args) not in (self.nin, self.nargs):
            raise TypeError(f"Wrong number of arguments for {self.name}")
        out = kwargs.get("out")
        if len(args) == self.nargs:
            out, args = args[self.nin:] if self.nout > 1 else args[-1], args[:self.nin]
        self._operands(args, "")
        outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o is not None]
        for o in outs:
            if not isinstance(o, ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
        check_devices(collect(list(args), []) + outs, f"cupy.{self.name}")
        a = [unwrap(x) for x in args]
        kw = {k: unwrap(v) for k, v in kwargs.items() if k != "out"}
        if self._by_table and all(isinstance(x, np.ndarray) for x in a):
            loop = _loop_dtype(self.types, [x.dtype for x in a])
            if loop is None:
                raise TypeError(f"Wrong type ({', '.join(str(x.dtype) for x in a)}) of arguments for "
                                f"{self.full}")
            res = self._impl(*[x.astype(d, copy=False) for x, d in zip(a, loop[0])])
            res = res.astype(loop[1][0]) if self.nout == 1 else tuple(r.astype(d) for r, d in zip(res, loop[1]))
        else:
            res = self._impl(*a, **kw)
        if outs:
            if self.nout == 1:
                outs[0]._a[...] = res
                return outs[0]
            for o, r in zip(outs, res):
                o._a[...] = r
            return tuple(outs)
        return wrap(res)

    def _method(self, meth, *args, **kwargs):
        if meth == "at":      # ufunc.at(a, indices, b): indices may be a tuple; out-of-bounds indices wrap
            target, idx = args[0], args[1]
            refuse_host(idx, f"cupy.{self.name}.at")
            self._operands((target,) + tuple(args[2:]), ".at")
            check_devices(collect(list(args), []), f"cupy.{self.name}.at")
            comps = idx if isinstance(idx, tuple) else (idx,)
            comps = tuple((c._a % target.shape[d] if target.shape[d] else c._a) if isinstance(c, ndarray) and
                          c.dtype.kind in "iu" else unwrap(c) for d, c in enumerate(comps))
            self._impl.at(target._a, comps if isinstance(idx, tuple) else comps[0], *unwrap(args[2:]))
            return None
        self._operands(args, f".{meth}")
        arrays = collect([args, kwargs], [])
        check_devices(arrays, f"cupy.{self.name}.{meth}")
        a = unwrap(args)
        res = getattr(self._impl, meth)(*a, **{k: unwrap(v) for k, v in kwargs.items()})
        if kwargs.get("out") is not None:
            return kwargs["out"]
        return wrap(res)

    def reduce(self, *a, **k):
        return self._method("reduce", *a, **k)

    def accumulate(self, *a, **k):
        return self._method("accumulate", *a, **k)

    def outer(self, *a, **k):
        return self._method("outer", *a, **k)

    def at(self, *a, **k):
        return self._method("at", *a, **k)

    def __repr__(self):
        return f"<ufunc '{self.name}'>"


# ---- the special functions here -------------------------------------------------------------------------
def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    if isinstance(a, ndarray):
        if a._dev != S.current():
            S.counters["peer"] += 1
            r = ndarray._new(a._a.copy(), S.current())
        else:
            r = a
        if dtype is not None and np.dtype(dtype) != r.dtype:
            check_devices([r], "cupy.asarray")
            r = ndarray._new(r._a.astype(dtype), r._dev)
        elif copy and r is a:
            r = a.copy()
        return r
    if collect(a, []):
        raise TypeError("cupy.asarray of a sequence containing cupy arrays: use cupy.stack")
    S.counters["h2d"] += 1
    return ndarray._new(np.array(a, dtype=dtype, order=order or "K", copy=True), S.current())


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        r = asarray(obj, dtype)
        r = r.copy() if (copy and r is obj) else r
    else:
        r = asarray(obj, dtype, order=order if order in ("C", "F") else None)
    if ndmin > r.ndim:
        r = r.reshape((1,) * (ndmin - r.ndim) + r.shape)
    return r


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return cupy if collect(list(args), []) else np


def _unpickle_array(host):
    S.counters["h2d"] += 1
    return ndarray._new(host, S.current())


class _Generator:
    """``cupy.random.Generator``: numbers made "on the device" (no host transfer is counted)."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def __getattr__(self, name):
        S.signature("methods", f"cupy.random.Generator.{name}") or (_ for _ in ()).throw(
            AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'"))

        def method(*args, **kwargs):
            S.check_call("methods", f"cupy.random.Generator.{name}", args, kwargs, drop_self=True)
            for v in list(args) + list(kwargs.values()):
                refuse_host(v, f"Generator.{name}")
            dt = kwargs.get("dtype")
            if name in ("random", "standard_normal") and dt is not None and np.dtype(dt) not in (
                    np.float32, np.float64):
                raise TypeError(f"cupy.random.Generator.{name}: dtype must be float32 or float64, got {dt}")
            out = kwargs.pop("out", None)
            S.counters["rng"] += 1
            res = getattr(self._rng, name)(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
            if out is not None:
                out._a[...] = res
                return out
            return wrap(np.asarray(res))

        return method


def default_rng(seed=None):
    S.check_call("functions", "cupy.random.default_rng", (seed,), {})
    if isinstance(seed, (np.ndarray, ndarray)):
        raise TypeError("seed must be an int")
    return _Generator(seed)


_legacy = np.random.RandomState(0)


def _legacy_fn(name):
    full = f"cupy.random.{name}"

    def f(*args, **kwargs):
        S.check_call("functions", full, args, kwargs)
        for v in list(args) + list(kwargs.values()):
            refuse_host(v, full)
        S.counters["rng"] += 1
        dt = kwargs.pop("dtype", None)
        if name == "seed":
            _legacy.seed(*unwrap(args))
            return None
        res = np.asarray(getattr(_legacy, name)(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}))
        return wrap(res.astype(dt) if dt is not None else res)

    return f


class _Stream:
    null = None

    def __init__(self, *a, **k):
        pass

    def synchronize(self):
        S.sync("Stream.synchronize")

    def __enter__(self):
        return self

    def __exit__(self, *e):
        pass

    ptr = 0


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def set_limit(self, size=None, fraction=None):
        pass


_POOL = _MemoryPool()


def _runtime():
    rt = types.ModuleType("cupy.cuda.runtime")
    rt.CUDARuntimeError = CUDARuntimeError
    rt.is_hip = False
    rt.getDeviceCount = lambda: S.N_DEVICES
    rt.getDevice = S.current

    def setDevice(i):
        Device(i).use()

    def deviceSynchronize():
        S.sync("runtime.deviceSynchronize")

    rt.setDevice = setDevice
    rt.deviceSynchronize = deviceSynchronize
    rt.runtimeGetVersion = lambda: 13000
    rt.driverGetVersion = lambda: 13000
    rt.memGetInfo = lambda: Device().mem_info
    rt.deviceCanAccessPeer = lambda a, b: 0     # peer access modelled as unavailable
    rt.getDeviceProperties = lambda i: {"name": b"CuPy stand-in (NumPy)", "multiProcessorCount": S.MULTIPROCESSORS,
                                        "major": 9, "minor": 0, "totalGlobalMem": Device(i).mem_info[1]}

    def _missing(name):
        full = f"cupy.cuda.runtime.{name}"
        if name in {k.rsplit(".", 1)[-1] for k in S.TABLE["functions"] if k.startswith("cupy.cuda.runtime.")}:
            raise NotImplementedError(f"the CuPy stand-in does not model {full}")
        raise AttributeError(f"CuPy has no {full}")

    rt.__getattr__ = _missing
    return rt


class _Namespace(types.ModuleType):
    """A module whose unknown attributes come from the recorded table (or raise AttributeError)."""

    def __init__(self, name, overrides):
        super().__init__(name)
        self.__dict__.update(overrides)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        full = f"{self.__name__}.{attr}"
        if full in S.TABLE["ufuncs"]:
            impl = _numpy_target(full)
            if impl is None:
                raise NotImplementedError(f"the CuPy stand-in does not model {full}")
            val = ufunc(full, S.TABLE["ufuncs"][full], impl)
        elif full in S.TABLE["functions"]:
            val = make_function(full)
        elif full in S.TABLE["classes"] or full in S.TABLE["constants"]:
            val = _numpy_target(full)
            if val is None:
                raise NotImplementedError(f"the CuPy stand-in does not model {full}")
        else:
            raise AttributeError(f"module '{self.__name__}' has no attribute '{attr}' (not in CuPy "
                                 f"{S.TABLE['cupy_version']})")
        setattr(self, attr, val)
        return val


def _build():
    from . import _raw  # noqa: PLC0415

    cuda = _Namespace("cupy.cuda", dict(
        Device=Device, runtime=_runtime(), Stream=_Stream, MemoryPointer=MemoryPointer,
        get_current_stream=lambda device=None: _Stream(), is_available=lambda: True,
        get_device_id=S.current))
    compiler = _Namespace("cupy.cuda.compiler", dict(compile_using_nvrtc=_raw.compile_using_nvrtc,
                                                      CompileException=_raw.CompileException))
    cuda.compiler = compiler
    random = _Namespace("cupy.random", dict(default_rng=default_rng, Generator=_Generator))
    for n in ("seed", "rand", "randn", "random", "uniform", "normal", "randint", "permutation", "random_sample",
              "standard_normal", "choice"):
        setattr(random, n, _legacy_fn(n))
    linalg = _Namespace("cupy.linalg", {})

    def as_strided(x, shape=None, strides=None):
        S.check_call("functions", "cupy.lib.stride_tricks.as_strided", (x, shape, strides), {})
        if not isinstance(x, ndarray):
            raise TypeError(f"as_strided needs a cupy.ndarray, got {type(x).__name__}")
        return ndarray._new(np.lib.stride_tricks.as_strided(x._a, shape, strides), x._dev)   # a view: no kernel

    stride_tricks = _Namespace("cupy.lib.stride_tricks", dict(as_strided=as_strided))
    lib = _Namespace("cupy.lib", dict(stride_tricks=stride_tricks))
    lib.__path__ = []
    cp = _Namespace("cupy", dict(
        ndarray=ndarray, asarray=asarray, array=array, asnumpy=asnumpy, get_array_module=get_array_module,
        cuda=cuda, random=random, linalg=linalg, lib=lib, ufunc=ufunc, RawModule=_raw.RawModule, RawKernel=_raw.RawKernel,
        get_default_memory_pool=lambda: _POOL, get_default_pinned_memory_pool=lambda: _POOL,
        __version__=S.TABLE["cupy_version"], newaxis=None, _fake=True))
    cp.__path__ = []
    special = _Namespace("cupyx.scipy.special", {})
    scipy_ = _Namespace("cupyx.scipy", dict(special=special))
    scipy_.__path__ = []

    def scatter_add(a, slices, value):
        S.check_call("functions", "cupyx.scatter_add", (a, slices, value), {})
        refuse_host(slices, "cupyx.scatter_add")
        refuse_host(value, "cupyx.scatter_add")
        check_devices(collect([a, slices, value], []), "cupyx.scatter_add")
        idx = unwrap(slices)
        if isinstance(idx, np.ndarray) and idx.dtype.kind in "iu":
            idx = idx % a.shape[0] if a.shape[0] else idx
        np.add.at(a._a, idx, unwrap(value))

    cupyx = _Namespace("cupyx", dict(scipy=scipy_, scatter_add=scatter_add))
    cupyx.__path__ = []
    return {"cupy": cp, "cupy.cuda": cuda, "cupy.cuda.runtime": cuda.runtime, "cupy.cuda.compiler": compiler,
            "cupy.random": random, "cupy.lib": lib, "cupy.lib.stride_tricks": stride_tricks,
            "cupy.linalg": linalg, "cupyx": cupyx, "cupyx.scipy": scipy_, "cupyx.scipy.special": special}


MODULES = _build()
cupy = MODULES["cupy"]


def install():
    """Put the stand-in in ``sys.modules`` as ``cupy``/``cupyx`` (the real CuPy, if imported, is set aside)."""
    from . import _raw  # noqa: PLC0415

    _raw.nvrtc()            # load libnvrtc through the real CuPy first (its loader reads cupy._environment)
    saved = {k: v for k, v in sys.modules.items() if k == "cupy" or k.startswith(("cupy.", "cupyx"))}
    for k in saved:
        del sys.modules[k]
    sys.modules.update(MODULES)
    return saved
