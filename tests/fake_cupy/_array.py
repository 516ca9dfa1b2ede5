"""The stand-in's device arrays: NumPy storage tagged with a simulated device, refusing what CuPy refuses."""
from __future__ import annotations

import numbers
import operator

import numpy as np

from . import _state as S

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly.")


class CUDARuntimeError(RuntimeError):
    """Stand-in for ``cupy_backends.cuda.api.runtime.CUDARuntimeError`` (replaced by the real class if importable)."""


try:  # the real class, so ``except cupy.cuda.runtime.CUDARuntimeError`` means the same here
    from cupy_backends.cuda.api.runtime import CUDARuntimeError  # noqa: F811
except Exception:  # noqa: BLE001 - CuPy not installed: keep the local class
    pass


def _invalid_device():
    try:
        return CUDARuntimeError(101)          # cudaErrorInvalidDevice
    except TypeError:
        return CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")


class Device:
    """``cupy.cuda.Device``: a context manager making a device current (a stack, like CuPy's)."""

    def __init__(self, device=None):
        if device is None:
            device = S.current()
        if isinstance(device, Device):
            device = device.id
        if not isinstance(device, numbers.Integral):
            raise TypeError(f"an integer is required, got {type(device).__name__}")
        device = int(device)
        if not 0 <= device < S.N_DEVICES:
            raise _invalid_device()
        self.id = device
        self._prev = []

    compute_capability = property(lambda self: S.COMPUTE_CAPABILITY)
    attributes = property(lambda self: {"MultiProcessorCount": S.MULTIPROCESSORS, "MaxThreadsPerBlock": 1024,
                                        "WarpSize": 32, "MaxGridDimX": 2**31 - 1})
    mem_info = property(lambda self: (80 * 2**30, 141 * 2**30))

    def use(self):
        S.set_current(self.id)

    def synchronize(self):
        S.sync("Device.synchronize")

    def __enter__(self):
        self._prev.append(S.current())
        S.set_current(self.id)
        return self

    def __exit__(self, *exc):
        S.set_current(self._prev.pop())

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def check_devices(arrays, what, allow_other=False):
    """CuPy's rule for kernels: every operand on the current device (peer access modelled as unavailable)."""
    cur = S.current()
    devs = {a._dev for a in arrays}
    if len(devs) > 1 or (devs and not allow_other and cur not in devs):
        bad = next(d for d in sorted(devs) if d != cur) if cur not in devs or len(devs) > 1 else cur
        raise ValueError(f"{what}: the device where the array resides ({bad}) is different from the current "
                         f"device ({cur}). Peer access is unavailable between these devices.")


def refuse_host(x, what):
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)} in {what} (CuPy does not take NumPy arrays; "
                        f"use cupy.asarray)")
    if isinstance(x, (list, tuple)):
        for v in x:
            refuse_host(v, what)


def collect(x, out):
    """Every stand-in array inside ``x`` (nested lists/tuples/dicts)."""
    if isinstance(x, ndarray):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            collect(v, out)
    elif isinstance(x, dict):
        for v in x.values():
            collect(v, out)
    return out


def unwrap(x):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, list):
        return [unwrap(v) for v in x]
    if isinstance(x, tuple):
        return tuple(unwrap(v) for v in x)
    if isinstance(x, Device):
        return None
    return x


def writable(a):
    """CuPy views are always writable (no ``flags.writeable``): NumPy's read-only views become writable views."""
    if not isinstance(a, np.ndarray) or a.flags.writeable:
        return a
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.flags.writeable and root.flags.c_contiguous and root.size:
        off = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return np.ndarray(a.shape, a.dtype, buffer=root.reshape(-1).view(np.uint8), offset=off, strides=a.strides)
    return a.copy()


def wrap(x, dev=None):
    """NumPy results -> stand-in arrays (scalars become 0-d arrays, as CuPy returns)."""
    if dev is None:
        dev = S.current()
    if isinstance(x, ndarray):
        return x
    if isinstance(x, np.ndarray):
        return ndarray._new(writable(x), dev)
    if isinstance(x, np.generic):
        return ndarray._new(np.asarray(x), dev)
    if isinstance(x, tuple):
        return tuple(wrap(v, dev) for v in x)
    if isinstance(x, list):
        return [wrap(v, dev) for v in x]
    return x


class _Flags:
    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.base is None

    def __getitem__(self, k):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous, "OWNDATA": self.owndata}[k]


class MemoryPointer:
    def __init__(self, arr):
        self.ptr = int(arr._a.__array_interface__["data"][0])
        self.device_id = arr._dev
        self.device = Device(arr._dev)


def _index(arr, key):
    """Index for NumPy: stand-in arrays unwrapped; integer arrays wrap around (CuPy's out-of-bounds rule)."""
    if not isinstance(key, tuple):
        key = (key,)
    arrays = collect(list(key), [])
    check_devices(arrays + [arr], "indexing") if arrays else None
    out, dim, advanced, boolean = [], 0, False, False
    n_ell = arr.ndim - sum(1 for k in key if k is not None and k is not Ellipsis and not (
        isinstance(k, (ndarray, np.ndarray)) and k.dtype == bool)) - sum(
        (k.ndim if isinstance(k, (ndarray, np.ndarray)) and k.dtype == bool else 0) for k in key)
    for k in key:
        if isinstance(k, ndarray):
            k = k._a
        elif isinstance(k, list):
            S.counters["h2d"] += 1
            k = np.asarray(k)
        elif isinstance(k, np.ndarray):
            S.counters["h2d"] += 1
        if k is Ellipsis:
            dim += n_ell
            out.append(k)
        elif k is None:
            out.append(k)
        elif isinstance(k, np.ndarray) and k.dtype == bool:
            boolean = True
            dim += k.ndim
            out.append(k)
        elif isinstance(k, np.ndarray):
            advanced = True
            if k.dtype.kind not in "iu":
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            n = arr.shape[dim] if dim < arr.ndim else 1
            out.append(k % n if n else k)
            dim += 1
        else:
            if isinstance(k, numbers.Integral) and not isinstance(k, (bool, np.bool_)):
                k = operator.index(k)
            out.append(k)
            dim += 1
    return tuple(out), advanced, boolean


class ndarray:
    """``cupy.ndarray`` over a NumPy array on simulated device ``_dev``."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype, order=order)
        self._dev = S.current()

    @classmethod
    def _new(cls, a, dev):
        self = object.__new__(cls)
        self._a, self._dev = a, dev
        return self

    # ---- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    data = property(lambda self: MemoryPointer(self))
    device = property(lambda self: Device(self._dev))
    T = property(lambda self: ndarray._new(self._a.T, self._dev))
    mT = property(lambda self: ndarray._new(np.swapaxes(self._a, -1, -2), self._dev))

    @property
    def base(self):
        return None if self._a.base is None else ndarray._new(self._a.base, self._dev) if isinstance(
            self._a.base, np.ndarray) else None

    @property
    def real(self):
        return ndarray._new(writable(self._a.real), self._dev)

    @property
    def imag(self):
        return ndarray._new(writable(self._a.imag), self._dev)

    @shape.setter
    def shape(self, v):
        self._a.shape = v

    # ---- host boundary
    def __array__(self, *a, **k):
        raise TypeError(IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        S.check_call("methods", "cupy.ndarray.get", (stream, order, out, blocking), {}, drop_self=True)
        S.sync("ndarray.get")
        S.counters["d2h"] += 1
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        S.counters["h2d"] += 1
        self._a[...] = arr

    def _host_scalar(self, what):
        if self.size != 1:
            raise TypeError("only length-1 arrays can be converted to Python scalars") if what != "bool" else \
                ValueError("The truth value of an array with more than one element is ambiguous.")
        S.sync(f"ndarray.__{what}__")
        S.counters["d2h"] += 1
        return self._a.reshape(()).item()

    def __float__(self):
        return float(self._host_scalar("float"))

    def __int__(self):
        return int(self._host_scalar("int"))

    def __bool__(self):
        return bool(self._host_scalar("bool"))

    def __complex__(self):
        return complex(self._host_scalar("complex"))

    def item(self, *args):
        if args:
            raise TypeError("cupy.ndarray.item() takes no arguments")
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        S.sync("ndarray.item")
        S.counters["d2h"] += 1
        return self._a.item()

    def tolist(self):
        S.sync("ndarray.tolist")
        S.counters["d2h"] += 1
        return self._a.tolist()

    def __repr__(self):
        S.sync("ndarray.__repr__")
        return repr(self._a).replace("array(", "array(", 1)

    def __str__(self):
        S.sync("ndarray.__str__")
        return str(self._a)

    def __reduce__(self):            # CuPy pickles through the host and unpickles on the current device
        S.sync("ndarray.__reduce__")
        S.counters["d2h"] += 1
        from . import _module  # noqa: PLC0415

        return (_module._unpickle_array, (np.array(self._a),))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = None

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # ---- views (no kernel: any device)
    def __getitem__(self, key):
        idx, advanced, boolean = _index(self, key)
        if boolean:
            S.sync("boolean mask indexing")
        if advanced or boolean:
            check_devices([self], "advanced indexing")
        return wrap(self._a[idx], self._dev) if not (advanced or boolean) else \
            ndarray._new(np.asarray(self._a[idx]), self._dev)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            raise TypeError(f"Unsupported type {type(value)}: assign a cupy.ndarray (cupy.asarray) or a scalar")
        if isinstance(value, (list, tuple)):
            raise TypeError(f"Unsupported type {type(value)} for assignment into a cupy.ndarray")
        idx, advanced, boolean = _index(self, key)
        check_devices([self] + ([value] if isinstance(value, ndarray) else []), "assignment")
        self._a[idx] = value._a if isinstance(value, ndarray) else value

    def reshape(self, *shape, order="C", copy=None):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        r = self._a.reshape(shape, order=order)
        if not np.shares_memory(r, self._a) and r.size:
            check_devices([self], "reshape (copy)")
        return ndarray._new(r, self._dev)

    def view(self, dtype=None, array_class=None):
        return ndarray._new(self._a.view() if dtype is None else self._a.view(dtype), self._dev)

    def transpose(self, *axes):
        return ndarray._new(self._a.transpose(*axes), self._dev)

    def swapaxes(self, a, b):
        return ndarray._new(self._a.swapaxes(a, b), self._dev)

    def squeeze(self, axis=None):
        return ndarray._new(self._a.squeeze(axis), self._dev)

    def ravel(self, order="C"):
        r = self._a.ravel(order)
        if not np.shares_memory(r, self._a) and r.size:
            check_devices([self], "ravel (copy)")
        return ndarray._new(r, self._dev)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return ndarray._new(writable(self._a.diagonal(offset, axis1, axis2)), self._dev)

    # ---- kernels
    def copy(self, order="C"):
        # CuPy: the copy is made on the current device (a peer copy when the array lives elsewhere)
        if self._dev != S.current():
            S.counters["peer"] += 1
        return ndarray._new(self._a.copy(order=order), S.current())

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        check_devices([self], "astype")
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return ndarray._new(self._a.astype(dtype, order=order, casting=casting or "unsafe"), self._dev)

    def fill(self, value):
        if isinstance(value, ndarray):
            value = value  # CuPy accepts a 0-d device array
            check_devices([self, value], "fill")
            self._a[...] = value._a
            return
        check_devices([self], "fill")
        self._a.fill(value)

    def __getattr__(self, name):
        meths = S.TABLE["methods"]["cupy.ndarray"]
        if name not in meths or not hasattr(np.ndarray, name):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")

        def method(*args, **kwargs):
            S.check_call("methods", f"cupy.ndarray.{name}", args, kwargs, drop_self=True)
            for v in list(args) + list(kwargs.values()):
                refuse_host(v, f"ndarray.{name}")
            check_devices([self] + collect([args, kwargs], []), f"ndarray.{name}")
            if name == "nonzero":
                S.sync("ndarray.nonzero")
            out = getattr(self._a, name)(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
            if kwargs.get("out") is not None:
                return kwargs["out"]
            return wrap(out, self._dev)

        method.__name__ = name
        return method

    # ---- operators: through the ufuncs (device and host-operand checks there)
    def _binop(name, reflect=False, inplace=False):
        def op(self, other):
            from . import _module  # noqa: PLC0415

            if isinstance(other, np.ndarray):
                raise TypeError(f"Unsupported type {type(other)}")
            if not isinstance(other, (ndarray, numbers.Number, np.generic)):
                return NotImplemented
            uf = getattr(_module.cupy, name)
            if inplace:
                return uf(self, other, out=self)
            return uf(other, self) if reflect else uf(self, other)

        return op

    for _n, _u in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
                   ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "power"), ("and", "bitwise_and"),
                   ("or", "bitwise_or"), ("xor", "bitwise_xor"), ("lshift", "left_shift"),
                   ("rshift", "right_shift"), ("matmul", "matmul")]:
        locals()[f"__{_n}__"] = _binop(_u)
        locals()[f"__r{_n}__"] = _binop(_u, reflect=True)
        locals()[f"__i{_n}__"] = _binop(_u, inplace=True)
    for _n, _u in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"), ("gt", "greater"),
                   ("ge", "greater_equal")]:
        locals()[f"__{_n}__"] = _binop(_u)
    del _n, _u

    def __neg__(self):
        from . import _module  # noqa: PLC0415

        return _module.cupy.negative(self)

    def __pos__(self):
        return self.copy()

    def __abs__(self):
        from . import _module  # noqa: PLC0415

        return _module.cupy.absolute(self)

    def __invert__(self):
        from . import _module  # noqa: PLC0415

        return _module.cupy.invert(self)

    # ---- NumPy protocols: CuPy implements NumPy functions on device arrays, never on NumPy arrays
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import _module  # noqa: PLC0415

        uf = getattr(_module.cupy, ufunc.__name__, None)
        if uf is None:
            return NotImplemented
        for x in inputs:
            refuse_host(x, f"numpy.{ufunc.__name__} on a cupy.ndarray")
        if method == "__call__":
            return uf(*inputs, **kwargs)
        return getattr(uf, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import _module  # noqa: PLC0415

        mod = func.__module__.replace("numpy", "cupy", 1) if func.__module__ else "cupy"
        target = _module.cupy
        for part in mod.split(".")[1:]:
            if part.startswith("_"):
                break
            target = getattr(target, part, None)
            if target is None:
                return NotImplemented
        f = getattr(target, func.__name__, None)
        if f is None:
            return NotImplemented
        return f(*args, **kwargs)
