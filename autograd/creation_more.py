"""torch's less common factories and tensor predicates: the spectral windows, ``logspace``, the deprecated
``range``, ``scalar_tensor``, ``empty_strided``, ``randint_like``, ``asarray``, ``frombuffer``, DLPack exchange,
``poisson`` / ``binomial`` and the in-place fills ``random_``, ``cauchy_``, ``geometric_``, ``log_normal_``;
``is_complex``, ``is_nonzero``, ``is_same_size``, ``is_inference``, ``can_cast``, ``typename``; the interop
thread count and ``set_flush_denormal``.

Random numbers come from autograd's generators (NumPy's PCG64), so they follow torch's distributions, not its
stream. Windows are computed in float64 and rounded once to the requested dtype (torch computes in the dtype
itself: float32 windows may differ from torch's in the last bit).
"""
from __future__ import annotations

import builtins
import math
import os
import warnings

import numpy as np

from . import backend, creation, dtypes
from .ops.basic import record, register
from .ops.inplace import copy_
from . import printing
from .tensor import Tensor

EXPORTS = ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window", "logspace",
           "range", "scalar_tensor", "empty_strided", "randint_like", "asarray", "frombuffer", "from_dlpack",
           "is_complex", "is_nonzero", "is_same_size", "is_inference", "can_cast", "typename",
           "get_num_interop_threads", "set_num_interop_threads", "set_flush_denormal", "poisson", "binomial",
           "set_printoptions", "get_printoptions")


def _is_float(dt):
    return dt.kind == "f" or dt == dtypes.bfloat16


def _torch_c_name(dt):
    """The C++ type name torch's messages use for a dtype (``long int`` for int64, ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}.get(dt.name, dt.name)


def _leaf(arr, requires_grad):
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def _finish(arr, device, requires_grad):
    """A host array made into a leaf on ``device`` (the default device when None)."""
    dev = backend.as_device(creation._device(device))
    return _leaf(backend.to_device(arr, dev) if dev.type != "cpu" else arr, requires_grad)


def _into(res, out):
    if out is None:
        return res
    out._data = res._data
    return out


# ---- windows ------------------------------------------------------------------------------------------
def _window(name, shape_fn, window_length, periodic, dtype, device, requires_grad):
    dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    if not _is_float(dt):
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype={_torch_c_name(dt)}, "
                           f"device=cpu, layout=Strided (default), requires_grad=false (default), "
                           f"pinned_memory=false, memory_format=(nullopt))")
    n = builtins.int(window_length)
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={n}")
    if n <= 1:   # torch: an empty window, or the single value 1
        return _finish(np.ones((n,), dt), device, requires_grad)
    # a periodic window of length n is the symmetric window of length n + 1 without its last point
    m = n + 1 if periodic else n
    k = np.arange(m, dtype=np.float64)
    values = shape_fn(k, m)[:n]
    return _finish(values.astype(dt), device, requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   pin_memory=False, requires_grad=False):
    return _window("hamming_window", lambda k, m: alpha - beta * np.cos(2 * math.pi * k / (m - 1)),
                   window_length, periodic, dtype, device, requires_grad)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                requires_grad=False):
    return _window("hann_window", lambda k, m: 0.5 - 0.5 * np.cos(2 * math.pi * k / (m - 1)),
                   window_length, periodic, dtype, device, requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    def shape(k, m):
        phase = 2 * math.pi * k / (m - 1)
        return 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2 * phase)
    return _window("blackman_window", shape, window_length, periodic, dtype, device, requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    return _window("bartlett_window", lambda k, m: 1.0 - np.abs(2.0 * k / (m - 1) - 1.0),
                   window_length, periodic, dtype, device, requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  pin_memory=False, requires_grad=False):
    def shape(k, m):
        half = (m - 1) / 2.0
        ratio = (k - half) / half
        return np.i0(beta * np.sqrt(np.clip(1.0 - ratio * ratio, 0.0, None))) / np.i0(beta)
    return _window("kaiser_window", shape, window_length, periodic, dtype, device, requires_grad)


# ---- ranges and simple factories --------------------------------------------------------------------------
def _number(x):
    return x.item() if isinstance(x, Tensor) else x


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, pin_memory=False,
             requires_grad=False):
    """``base ** linspace(start, end, steps)``; an integer dtype truncates the powers (as torch)."""
    dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    steps = builtins.int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    exps = np.linspace(float(_number(start)), float(_number(end)), steps, dtype=np.float64)
    values = np.power(float(base), exps)
    arr = np.trunc(values).astype(dt) if not _is_float(dt) and dt.kind != "c" else values.astype(dt)
    return _into(_finish(arr, device, requires_grad), out)


_RANGE_WARNING = ("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).")


def range(start, end, step=1, *, out=None, dtype=None, layout=None, device=None, pin_memory=False,  # noqa: A001
          requires_grad=False):
    """torch's deprecated ``range``: ``end`` included, the default float dtype even for integer bounds."""
    warnings.warn(_RANGE_WARNING, UserWarning, stacklevel=2)
    start, end, step = _number(start), _number(end), _number(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    count = builtins.int(math.floor((end - start) / step)) + 1
    arr = (start + step * np.arange(count, dtype=np.float64)).astype(dt)
    return _into(_finish(arr, device, requires_grad), out)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False):
    """A 0-d tensor of ``s`` in the default float dtype unless ``dtype`` says otherwise (``True`` -> ``1.``)."""
    dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    return _finish(np.array(_number(s), dtype=dt), device, requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor with the given element strides, over a storage just big enough for them."""
    size, stride = tuple(builtins.int(v) for v in size), tuple(builtins.int(v) for v in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(v < 0 for v in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
    dev = backend.as_device(creation._device(device))
    xp = backend.xp_for(dev)
    numel = math.prod(size)
    extent = 0 if numel == 0 else 1 + builtins.sum((n - 1) * s for n, s in zip(size, stride))
    with backend.device_ctx(dev):
        storage = xp.empty((extent,), dt)
        arr = xp.lib.stride_tricks.as_strided(storage, shape=size, strides=tuple(s * dt.itemsize for s in stride))
    return _leaf(arr, requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, memory_format=None, dtype=None,  # noqa: A002
                 layout=None, device=None, pin_memory=False, requires_grad=False):
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``: ``input``'s shape, dtype, device."""
    if high is None:
        low, high = 0, low
    return creation.randint(builtins.int(_number(low)), builtins.int(_number(high)), tuple(input.shape),
                            generator=generator, dtype=dtype or input.dtype, device=device or input.device,
                            requires_grad=requires_grad)


# ---- sharing memory: asarray, frombuffer, DLPack ------------------------------------------------------------
def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """torch's ``asarray``: a Tensor or an array (NumPy / CuPy / buffer protocol) is shared when neither the
    dtype nor the device changes and ``copy`` is not True; ``copy=False`` refuses any copy (ValueError)."""
    dt = dtypes.as_dtype(dtype)
    if isinstance(obj, Tensor):
        arr = obj._data
    elif isinstance(obj, np.ndarray) or backend.device_of(obj).type != "cpu":
        arr = obj
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(obj, dtype=dt or np.uint8)   # a buffer is read as bytes unless a dtype is given
    else:
        arr = None
    if arr is None:   # Python numbers and nested sequences are always copied, with torch's dtype inference
        if copy is False:
            raise ValueError("can't alias Python scalars or sequences into a tensor: a copy is needed")
        return creation.tensor(obj, dtype=dt, device=device or creation._device(None),
                               requires_grad=requires_grad)
    src_dev = backend.device_of(arr)
    dev = backend.as_device(device) if device is not None else src_dev
    same = (dt is None or dt == arr.dtype) and dev == src_dev
    if copy is False and not same:
        if dt is not None and dt != arr.dtype:
            raise ValueError(f"can't alias tensor with dtype '{dtypes.torch_name(arr.dtype)}' into dtype "
                             f"'{dtypes.torch_name(dt)}'.")
        raise ValueError(f"can't alias tensor from device '{src_dev}' to device '{dev}'.")
    if same and not copy:
        if isinstance(obj, Tensor):
            if requires_grad and not obj.requires_grad:
                return obj.detach().requires_grad_(True)
            return obj
        return _leaf(arr, requires_grad)
    moved = backend.to_device(arr, dev, copy=True) if dev != src_dev else arr.copy()
    return _leaf(moved.astype(dt, copy=False) if dt is not None else moved, requires_grad)


_warned_readonly = []


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the memory of a buffer-protocol object (shared, not copied), as torch."""
    dt = dtypes.as_dtype(dtype)
    view = memoryview(buffer)
    nbytes = view.nbytes
    if nbytes == 0:
        raise ValueError("both buffer length (0) and count (-1) must not be 0")
    if not 0 <= offset < nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")
    if count < 0 and (nbytes - offset) % dt.itemsize:
        raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                         f"multiple of element size ({dt.itemsize})")
    if count > 0 and offset + count * dt.itemsize > nbytes:
        raise ValueError(f"requested buffer length ({count} * {dt.itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({nbytes} bytes)")
    if view.readonly and not _warned_readonly:
        _warned_readonly.append(True)   # torch says this once per program
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. This "
                      "means you can write to the underlying (supposedly non-writable) buffer using the tensor. "
                      "You may want to copy the buffer to protect its data or make it writable before converting "
                      "it to a tensor.", UserWarning, stacklevel=2)
    arr = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    return _leaf(arr, requires_grad)


def from_dlpack(ext_tensor):
    """A tensor sharing memory with any DLPack producer (torch tensors, NumPy / CuPy arrays, ours)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    device_type = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else 1
    if device_type == 1:   # kDLCPU
        arr = np.from_dlpack(ext_tensor)
    else:
        arr = backend.cupy().from_dlpack(ext_tensor)
    return Tensor._wrap(arr)


@register("__dlpack__")
def _tensor_dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    kwargs = {} if stream is None else {"stream": stream}
    if max_version is not None:
        kwargs["max_version"] = max_version
    return self._data.__dlpack__(**kwargs)


@register("__dlpack_device__")
def _tensor_dlpack_device(self):
    return self._data.__dlpack_device__()


# ---- predicates and dtype facts ---------------------------------------------------------------------------
def is_complex(input):  # noqa: A002
    return input.is_complex()


def is_nonzero(input):  # noqa: A002
    """Whether a one-element tensor is nonzero (``bool(t)`` without Python's truth rules for sequences)."""
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input.item() != 0)


def is_same_size(input, other):  # noqa: A002
    return tuple(input.shape) == tuple(other.shape)


def is_inference(input):  # noqa: A002
    """Always False: tensors made under ``inference_mode`` are ordinary tensors here (see grad_mode), so no
    tensor is an inference tensor."""
    return input.is_inference()


def _category(dt):
    """torch's casting order: bool < integers < floating < complex; casting down a category is refused."""
    dt = dtypes.as_dtype(dt)
    return 2 if _is_float(dt) else {"b": 0, "i": 1, "u": 1, "c": 3}[dt.kind]


def can_cast(from_, to):
    return _category(from_) <= _category(to)


def typename(obj):
    """``torch.typename``: a tensor's legacy type string, else the module-qualified name of ``obj`` (a class or
    function) or of its type, builtins without a module."""
    if isinstance(obj, Tensor):
        return obj.type()
    named = obj if hasattr(obj, "__qualname__") else type(obj)   # classes and functions name themselves
    module = getattr(named, "__module__", None) or ""
    qualname = named.__qualname__
    if not isinstance(module, str) or module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


set_printoptions, get_printoptions = printing.set_printoptions, printing.get_printoptions


# ---- process settings -----------------------------------------------------------------------------------
_interop = {"threads": max(1, (os.cpu_count() or 1))}


def get_num_interop_threads():
    """The inter-op thread count kept for torch's API; autograd runs ops one after another, so it only
    records the value (intra-op threads: ``set_num_threads``)."""
    return _interop["threads"]


def set_num_interop_threads(num):
    if not isinstance(num, builtins.int) or isinstance(num, builtins.bool) or num <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _interop["threads"] = num


def set_flush_denormal(mode):
    """Returns False: NumPy offers no switch for the CPU's flush-to-zero / denormals-are-zero modes, and torch
    returns False where it cannot set them (a CPU without them), so denormals keep being computed."""
    return False


# ---- sampling --------------------------------------------------------------------------------------------
def _host(a):
    return a.get() if backend.device_of(a).type != "cpu" else a


def poisson(input, generator=None):  # noqa: A002
    """Poisson draws with rates ``input`` (floating dtypes); the gradient to the rates is zero, as torch's."""
    if not _is_float(input.dtype):
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{dtypes.torch_name(input.dtype)}'")
    rates = _host(input._data).astype(np.float64)
    if not (rates >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    rng = (generator or creation.default_generator).rng
    draws = rng.poisson(rates).astype(input.dtype)
    val = backend.to_device(draws, input.device) if input.device.type != "cpu" else draws
    return record(val, (input,), lambda o, g: (o.zeros_like(g),), "Poisson", saved=())


def binomial(count, prob, generator=None):
    """Binomial draws with ``count`` trials of probability ``prob`` (same floating dtype, broadcast)."""
    if not _is_float(count.dtype):
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{dtypes.torch_name(count.dtype)}")
    if prob.dtype != count.dtype:
        raise RuntimeError(f"Found dtype {dtypes.torch_name(prob.dtype)} but expected "
                           f"{dtypes.torch_name(count.dtype)}")
    n, p = np.broadcast_arrays(_host(count._data).astype(np.float64), _host(prob._data).astype(np.float64))
    rng = (generator or creation.default_generator).rng
    trials = np.floor(np.nan_to_num(np.clip(n, 0, None), nan=0.0, posinf=0.0)).astype(np.int64)
    draws = rng.binomial(trials, np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)).astype(np.float64)
    # torch's sampler: p >= 1 gives the count itself, p <= 0 nothing, a NaN count or probability NaN
    draws = np.where(p >= 1, n, draws)
    draws = np.where(np.isnan(p) | np.isnan(n), np.nan, draws)
    val = draws.astype(count.dtype)
    if count.device.type != "cpu":
        val = backend.to_device(val, count.device)

    def no_derivative(o, g):   # torch has none either: its backward refuses the same way
        raise RuntimeError("derivative for aten::binomial is not implemented")

    return record(val, (count, prob), no_derivative, "Binomial", saved=())


# ---- in-place random fills ---------------------------------------------------------------------------------
def _uniform(self, generator):
    return creation.random_array("random", self.shape, np.float64, "cpu", generator)


def _fill(self, values):
    host = values.astype(self.dtype)
    return copy_(self, Tensor._wrap(backend.to_device(host, self.device) if self.device.type != "cpu" else host))


def _require_continuous(self, which):
    if not _is_float(self.dtype):
        raise RuntimeError(f"{which} distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_torch_c_name(self.dtype)}")


def _random_bounds(dt):
    """torch's ``random_()`` range without bounds: [0, 2**mantissa] for floats (every value exact), [0, max]
    for integers, {0, 1} for bool."""
    if dt.kind == "b":
        return 0, 2
    if dt.kind in "iu":
        return 0, builtins.int(np.iinfo(dt).max) + 1
    digits = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}[dt.name]
    return 0, (1 << digits) + 1


@register("random_")
def random_(self, *bounds, generator=None, **kwargs):
    """Integers uniform in ``[from, to)`` (``random_(to)``: ``[0, to)``; no bound: the dtype's range)."""
    bounds = list(bounds)
    if "from" in kwargs:   # torch's keyword is the Python keyword ``from``
        bounds.insert(0, kwargs.pop("from"))
    if "to" in kwargs:
        bounds.append(kwargs.pop("to"))
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if len(bounds) > 2:
        raise TypeError(f"random_() takes at most 2 arguments ({len(bounds)} given)")
    if not bounds:
        low, high = _random_bounds(self.dtype)
    elif len(bounds) == 1:
        low, high = 0, builtins.int(bounds[0])
    else:
        low, high = builtins.int(bounds[0]), builtins.int(bounds[1])
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    rng = (generator or creation.default_generator).rng
    return _fill(self, rng.integers(low, high, size=tuple(self.shape)))


@register("cauchy_")
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    _require_continuous(self, "Cauchy")
    u = _uniform(self, generator)
    return _fill(self, median + sigma * np.tan(math.pi * (u - 0.5)))


@register("log_normal_")
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    if not _is_float(self.dtype):
        raise NotImplementedError(f"\"log_normal_cpu\" not implemented for '{dtypes.torch_name(self.dtype)}'")
    rng = (generator or creation.default_generator).rng
    return _fill(self, np.exp(rng.normal(mean, std, tuple(self.shape))))


@register("geometric_")
def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...); integer dtypes allowed."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    rng = (generator or creation.default_generator).rng
    return _fill(self, rng.geometric(p, tuple(self.shape)))

