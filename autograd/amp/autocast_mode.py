"""``autocast``: regions where the listed ops run in a lower precision (or float32), as torch's.

The state is thread-local, per device type, as torch keeps it. The ops themselves are untouched: at
import, each public entry point named in ``policy`` (Tensor methods, ``autograd.*`` free functions,
``autograd.nn.functional.*``) is replaced by a thin wrapper that reads one thread-local flag and calls
straight through when no autocast region is open. Inside a region the wrapper casts the inputs (with
``Tensor.to``, so gradients flow back to the float32 parameters in their own dtype) and runs the op with
autocast suspended, as torch's dispatcher excludes the autocast key under a cast op: a composite op
casts once, at its own level.
"""
from __future__ import annotations

import functools
import threading
import warnings

from .. import backend, dtypes
from ..tensor import Tensor
from . import policy as _policy

_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_TABLES = {"cpu": _policy.table("cpu"), "cuda": _policy.table("cuda")}


class _State(threading.local):
    # class attributes are each thread's defaults
    active = False          # some device type has autocast on in this thread (the wrappers' one check)

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {}
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}


_tls = _State()


def _low_dtype(name):
    dt = getattr(dtypes, name, None)
    return None if dt is None else dtypes.as_dtype(dt)


def _check_device_type(device_type):
    if device_type not in _TABLES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")


def is_autocast_available(device_type):
    return device_type in _TABLES


def is_autocast_enabled(device_type=None):
    """torch's: with no argument, the CUDA state."""
    _check_device_type("cuda" if device_type is None else device_type)
    return _tls.enabled["cuda" if device_type is None else device_type]


def set_autocast_enabled(device_type, enabled=None):
    if enabled is None:     # torch's deprecated one-argument form sets CUDA
        device_type, enabled = "cuda", device_type
    _check_device_type(device_type)
    _tls.enabled[device_type] = True if enabled else False
    _tls.active = _tls.enabled["cpu"] or _tls.enabled["cuda"]


def get_autocast_dtype(device_type):
    _check_device_type(device_type)
    dt = _tls.dtype.get(device_type)
    return dt if dt is not None else (_low_dtype(_DEFAULT_DTYPE[device_type]))


def set_autocast_dtype(device_type, dtype):
    _check_device_type(device_type)
    _tls.dtype[device_type] = dtypes.as_dtype(dtype)


def is_autocast_cache_enabled():
    return _tls.cache_enabled


def set_autocast_cache_enabled(enabled):
    _tls.cache_enabled = True if enabled else False


def clear_autocast_cache():
    _tls.cache.clear()


def _supported_dtypes():
    return [d for d in (_low_dtype("bfloat16"), dtypes.float16) if d is not None]


class autocast:
    """``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: a context manager (and
    decorator) in which the ops of ``policy`` run in ``dtype`` (default: bfloat16 on the CPU, float16 on
    CUDA), in float32, or at the widest input type. Regions nest; ``enabled=False`` opens a region
    without autocast inside an autocast one."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        _check_device_type(device_type)
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtypes.as_dtype(dtype)
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        if enabled:
            if device_type == "cuda":
                if not backend.cuda_is_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                                  stacklevel=2)
                    enabled = False
            elif self.fast_dtype not in _supported_dtypes():
                names = ", ".join(f"torch.{dtypes.as_dtype(d).name}" for d in _supported_dtypes())
                warnings.warn(f"In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"CPU Autocast only supports dtypes of {names} currently.", stacklevel=2)
                enabled = False
        self._enabled = True if enabled else False

    def __enter__(self):
        self.prev_cache_enabled = _tls.cache_enabled
        self.prev = _tls.enabled[self.device]
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        _tls.nesting += 1
        _tls.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        _tls.nesting -= 1
        if _tls.nesting == 0:
            _tls.cache.clear()      # casts of parameters live as long as the outermost region
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        _tls.cache_enabled = self.prev_cache_enabled
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


# ---- the casts ------------------------------------------------------------------------------------------
def _floats():
    return {d for d in (dtypes.float16, dtypes.float32, _low_dtype("bfloat16")) if d is not None}


_FLOATS = _floats()


def _eligible(a, device_type):
    """torch's rule: a floating tensor on the region's device type; float64 is never cast."""
    return isinstance(a, Tensor) and a.dtype in _FLOATS and a.device.type == device_type


def _cast(a, to, device_type):
    if isinstance(a, Tensor):
        if a.dtype == to or not _eligible(a, device_type):
            return a
        # torch caches the low-precision copy of a float32 leaf parameter for the outermost region
        if (_tls.cache_enabled and a.requires_grad and a.is_leaf and a.dtype == dtypes.float32
                and to == _tls.dtype.get(device_type)):
            hit = _tls.cache.get(id(a))
            if hit is not None and hit[0] is a:
                return hit[1]
            out = a.to(to)
            _tls.cache[id(a)] = (a, out)
            return out
        return a.to(to)
    if isinstance(a, (list, tuple)):
        return type(a)(_cast(x, to, device_type) for x in a)
    return a


def _tensors(args, kwargs):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, Tensor))
    yield from (v for v in kwargs.values() if isinstance(v, Tensor))


def _run(fn, name, args, kwargs):
    device_type = None
    for t in _tensors(args, kwargs):
        device_type = t.device.type
        break
    if device_type is None or not _tls.enabled.get(device_type, False):
        return fn(*args, **kwargs)
    pol = _TABLES[device_type].get(name)
    low = get_autocast_dtype(device_type)
    if pol == "fp32_if":
        pol = "fp32" if _policy.CPU_CONDITIONAL[name](args, kwargs) else None
    if pol is None:
        return fn(*args, **kwargs)
    if pol == "banned":
        raise RuntimeError(_policy.BANNED_MESSAGE)
    if pol == "lower":
        to = low
    elif pol == "fp32":
        to = dtypes.float32
    elif pol == "fp32_opt":
        if kwargs.get("dtype") is not None or not (args and _eligible(args[0], device_type)):
            return _suspended(fn, args, kwargs)
        return _suspended(fn, (args[0].to(dtypes.float32),) + tuple(args[1:]), kwargs)
    else:   # promote
        to = low
        for t in _tensors(args, kwargs):
            if _eligible(t, device_type):
                to = dtypes.promote_types(to, t.dtype)
    args = tuple(_cast(a, to, device_type) for a in args)
    kwargs = {k: _cast(v, to, device_type) for k, v in kwargs.items()}
    return _suspended(fn, args, kwargs)


def _suspended(fn, args, kwargs):
    _tls.active = False
    try:
        return fn(*args, **kwargs)
    finally:
        _tls.active = _tls.enabled["cpu"] or _tls.enabled["cuda"]


def _wrap(fn, name):
    if getattr(fn, "_autocast_wrapped", False):
        return fn

    @functools.wraps(fn)
    def autocast_entry(*args, **kwargs):
        if not _tls.active:
            return fn(*args, **kwargs)
        return _run(fn, name, args, kwargs)
    autocast_entry._autocast_wrapped = True
    return autocast_entry


def install(namespaces):
    """Wrap every entry point named in ``policy`` in each of ``namespaces`` (classes or module dicts)."""
    names = _policy.all_names()
    for ns in namespaces:
        for attr in sorted(names):
            get = ns.get if isinstance(ns, dict) else (lambda a, ns=ns: ns.__dict__.get(a))
            fn = get(attr)
            if fn is None or not callable(fn):
                continue
            wrapped = _wrap(fn, _policy.canonical(attr))
            if isinstance(ns, dict):
                ns[attr] = wrapped
            else:
                setattr(ns, attr, wrapped)
