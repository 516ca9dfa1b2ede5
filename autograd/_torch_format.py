"""Read ``torch.save`` files (the zip format torch writes since 1.6) without torch and without running code.

Such a file is a zip archive ``<name>/data.pkl`` + ``<name>/data/<key>`` (one raw storage each) +
``<name>/byteorder``. ``data.pkl`` is a pickle whose tensors are calls of
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])``, with
each storage a *persistent id* ``("storage", torch.FloatStorage, key, location, numel)``.

The zip container is read as torch reads it (:mod:`autograd._zip_reader`), and ``data.pkl`` is not given to
Python's ``pickle`` module: :mod:`autograd._pickle_vm` interprets the opcodes plain data needs (protocols 2-4),
within :class:`~autograd._load_limits.LoadLimits`. Globals resolve only through a fixed table that maps torch's rebuild functions,
storage classes, dtypes and ``collections.OrderedDict`` onto small functions of ours; any other global
(``os.system``, ``builtins.eval``, a numpy object, a class) is refused with ``pickle.UnpicklingError``, and it
is never imported or looked up. Tensors sharing a storage in torch share memory here too on the CPU, whether
the file names typed storages (``_rebuild_tensor_v2``) or untyped ones viewed as a dtype (``_rebuild_tensor_v3``,
which torch 2.13 writes for the unsigned dtypes). The result never holds a loader object (a bare function,
storage or storage type is refused), and every refusal is a ``pickle.UnpicklingError`` (the pickle asks for
something not allowed) or a ``RuntimeError`` (the archive or a tensor is damaged).
"""
from __future__ import annotations

import pickle
import struct
import sys
from collections import OrderedDict

import numpy as np

from . import backend
from ._load_limits import check_result, short, too_big
from ._pickle_vm import Budget, Callable, unpickle
from ._zip_reader import ZipReader
from .tensor import Size, Tensor
from . import dtypes as _dtypes

# torch storage class -> NumPy dtype (bfloat16: ml_dtypes' NumPy dtype)
_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
             "BFloat16Storage": "bfloat16",
             "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
             "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
             "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8"}
_DTYPE_NAMES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
                "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64", "long": "int64", "int32": "int32",
                "int": "int32", "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8",
                "bool": "bool", "complex64": "complex64", "complex128": "complex128", "uint16": "uint16",
                "uint32": "uint32", "uint64": "uint64"}


def target_device(location, map_location):
    """Where a tensor saved on ``location`` goes, following torch's map_location forms."""
    if map_location is None:
        dev = location
    elif isinstance(map_location, dict):
        dev = map_location.get(location, location)
    elif isinstance(map_location, (str, backend.device)):
        dev = str(map_location)
    else:
        raise TypeError(f"map_location must be None, a string, a device or a dict, got "
                        f"{type(map_location).__name__}")
    try:
        dev = backend.as_device(dev)
    except (ValueError, TypeError, RuntimeError) as e:
        raise RuntimeError(f"don't know how to restore data location {short(dev)} ({e})") from None
    if dev.type == "cuda" and not backend.cuda_is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but autograd.cuda.is_available() "
                           "is False. If you are running on a CPU-only machine, please use autograd.load with "
                           "map_location='cpu' to map your storages to the CPU.")
    return dev


def _ordered(dtype, order):
    """``dtype`` in the file's byte order; bfloat16 (which has none) read as its 16 bits."""
    if dtype == _dtypes.bfloat16:
        return np.dtype("u2").newbyteorder(order)
    return dtype.newbyteorder(order)


def _as_native(arr, dtype):
    """A native-order copy of ``arr`` (read with :func:`_ordered`) as ``dtype``."""
    if dtype == _dtypes.bfloat16:
        return arr.astype(np.uint16).view(dtype)
    return arr.astype(dtype, copy=True)


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGES[name]) if name in _STORAGES else None


class _Storage:
    __slots__ = ("array", "location", "key", "views")

    def __init__(self, array, location, key):
        self.array, self.location, self.key, self.views = array, location, key, {}


class TorchFileError(RuntimeError):
    """A torch.save file whose archive or tensors are damaged."""


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class _Loader:
    def __init__(self, zr, prefix, map_location, limits, writable):
        self.zr, self.prefix, self.map_location, self.limits = zr, prefix, map_location, limits
        self.writable = writable
        self.storages, self.inflated = {}, 0
        order = self.record("byteorder", 64, missing_ok=True)
        order = "little" if order is None else bytes(order).decode("utf-8", "replace").strip()
        if order not in ("little", "big"):
            raise TorchFileError(f"corrupted torch file: unknown byteorder {short(order)}")
        self.order = "<" if order == "little" else ">"
        self.native = (order == sys.byteorder)

    def record(self, name, limit, missing_ok=False):
        m = self.zr.find(self.prefix + name)
        if m is None:
            if missing_ok:
                return None
            raise TorchFileError(f"PytorchStreamReader failed locating file {name}: file not found")
        if m.method != 0:                      # inflated bytes are not in the file: they get their own budget
            left = self.limits.max_inflated_bytes - self.inflated
            if m.size > left:
                raise too_big(f"the inflated size of compressed record {short(name)}",
                              self.limits.max_inflated_bytes, "max_inflated_bytes")
            self.inflated += m.size
        return self.zr.read(m, limit)

    # -- persistent ids: the storages ------------------------------------------------------------
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"unsupported persistent id in torch file: {short(pid)}")
        _, stype, key, location, numel = pid
        key = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        location = location.decode("utf-8", "replace") if isinstance(location, bytes) else location
        if (not isinstance(stype, _StorageType) or not isinstance(key, str) or not isinstance(location, str)
                or not _int(numel) or numel < 0):
            raise pickle.UnpicklingError(f"malformed storage reference in torch file: {short(pid)}")
        if stype.dtype is None:
            raise pickle.UnpicklingError(f"torch storage type {stype.name} is not supported (NumPy has no "
                                         f"such dtype); convert the tensors (e.g. .float()) before torch.save")
        st = self.storages.get(key)
        if st is None:
            dt = _ordered(stype.dtype, self.order)
            nbytes = numel * dt.itemsize
            m = self.zr.find(f"{self.prefix}data/{key}")
            raw = self.record(f"data/{key}", sys.maxsize)   # stored: a view; deflated: within the budget
            if len(raw) < nbytes:
                raise TorchFileError(f"corrupted torch file: storage {short(key)} is shorter than declared")
            arr = np.frombuffer(raw, dtype=dt, count=numel)
            if not (self.writable and self.native and m.method == 0 and arr.flags.aligned):
                arr = _as_native(arr, stype.dtype)   # one copy, straight from the file's buffer
            self.storages[key] = st = _Storage(arr, location, key)
        if st.array.dtype != stype.dtype:
            raise pickle.UnpicklingError("torch file views one storage as two dtypes; not supported")
        return st

    def typed(self, storage, dtype):
        """An untyped (bytes) storage seen as ``dtype``: a view, so every tensor on it shares memory."""
        got = storage.views.get(dtype)
        if got is None:
            raw = storage.array.view(np.uint8)
            if raw.size % dtype.itemsize:
                raise TorchFileError("corrupted torch file: storage size is not a multiple of its dtype")
            arr = raw.view(dtype) if self.native else _as_native(raw.view(_ordered(dtype, self.order)), dtype)
            got = storage.views[dtype] = _Storage(arr, storage.location, storage.key)
        return got

    # -- the functions torch's pickle calls --------------------------------------------------------
    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("tensor rebuild without a storage")
        if not (isinstance(size, tuple) and isinstance(stride, tuple) and isinstance(requires_grad, bool)):
            raise pickle.UnpicklingError("malformed tensor in torch file")
        if not (_int(offset) and all(_int(v) for v in (*size, *stride)) and len(size) == len(stride)
                and 0 <= offset < 2**63 and all(0 <= v < 2**63 for v in (*size, *stride))):
            raise TorchFileError(f"corrupted torch file: bad tensor geometry (offset {short(offset)}, size "
                                 f"{short(size)}, stride {short(stride)})")
        base = storage.array
        numel = 1
        for v in size:
            numel *= v
        if numel and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= base.size:
            raise TorchFileError("corrupted torch file: tensor runs past its storage")
        if requires_grad and (base.dtype.kind not in "fc" and base.dtype != _dtypes.bfloat16):
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        if tuple(stride) == _contiguous(size) and (numel or not size):
            arr = base[offset:offset + numel].reshape(size)
        else:
            arr = np.lib.stride_tricks.as_strided(base[offset:], shape=size,
                                                  strides=tuple(s * base.itemsize for s in stride))
        dev = target_device(storage.location, self.map_location)
        if dev.type != "cpu":
            arr = backend.to_device(np.ascontiguousarray(arr), dev)
        return Tensor._wrap(arr, requires_grad=requires_grad)

    def rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype, *rest):
        if not isinstance(dtype, np.dtype) or not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("malformed tensor in torch file")
        return self.rebuild_tensor(self.typed(storage, dtype), offset, size, stride, requires_grad, hooks)

    @staticmethod
    def rebuild_parameter(data, requires_grad, hooks, *state):
        from .nn.parameter import Parameter

        if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
            raise pickle.UnpicklingError("parameter rebuild without a tensor")
        if requires_grad and (data._data.dtype.kind not in "fc" and data._data.dtype != _dtypes.bfloat16):
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        return Parameter(data, requires_grad=requires_grad)


def _contiguous(size):
    out, acc = [], 1
    for n in reversed(size):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


_PLAIN = (list, tuple, set, frozenset, dict)


def _plain_items(what, budget, args):
    """The one iterable argument of set()/frozenset()/OrderedDict(): a plain container, never a tensor
    (iterating one would walk its elements, 2**40 of them for a zero-stride view)."""
    if len(args) > 1 or (args and not isinstance(args[0], _PLAIN)):
        raise pickle.UnpicklingError(f"{what} built from a {type(args[0]).__name__ if args else 'call'}; "
                                     f"only a list, tuple, set or dict is allowed")
    items = args[0] if args else ()
    budget.hash(items.keys() if isinstance(items, dict) else items)
    return items


def _globals(loader, budget):
    def ordered_dict(*args):
        items = _plain_items("OrderedDict", budget, args)
        if isinstance(items, (list, tuple)) and not all(isinstance(p, tuple) and len(p) == 2 for p in items):
            raise pickle.UnpicklingError("OrderedDict built from something other than (key, value) pairs")
        return OrderedDict(items)

    def torch_size(*args):
        items = _plain_items("torch.Size", budget, args)
        if not isinstance(items, (list, tuple)) or not all(_int(v) and 0 <= v < 2**63 for v in items):
            raise pickle.UnpicklingError(f"torch.Size of something other than sizes: {short(items)}")
        return Size(items)

    def torch_device(spec, index=None):
        if not isinstance(spec, str) or not (index is None or _int(index)):
            raise pickle.UnpicklingError(f"malformed torch.device({short(spec)}, {short(index)})")
        try:
            return backend.device(spec, index) if index is not None else backend.device(spec)
        except (ValueError, TypeError, RuntimeError) as e:
            raise RuntimeError(f"bad device in torch file: {e}") from None

    table = {("collections", "OrderedDict"): ordered_dict,
             ("torch._utils", "_rebuild_tensor_v2"): loader.rebuild_tensor,
             ("torch._utils", "_rebuild_tensor"): loader.rebuild_tensor,
             ("torch._utils", "_rebuild_tensor_v3"): loader.rebuild_tensor_v3,
             ("torch._utils", "_rebuild_parameter"): loader.rebuild_parameter,
             ("torch._utils", "_rebuild_parameter_with_state"): loader.rebuild_parameter,
             ("torch", "Size"): torch_size,
             ("torch", "device"): torch_device}
    for mod in ("builtins", "__builtin__"):
        table[(mod, "set")] = lambda *a: set(_plain_items("set", budget, a))
        table[(mod, "frozenset")] = lambda *a: frozenset(_plain_items("frozenset", budget, a))

    def find(module, name):
        fn = table.get((module, name))
        if fn is not None:
            return Callable(fn, f"{module}.{name}")
        if (module == "torch" and name in _STORAGES) or (
                (module, name) == ("torch.storage", "UntypedStorage")):
            return _StorageType(name)
        if module == "torch" and name in _DTYPE_NAMES:
            return np.dtype(_DTYPE_NAMES[name])
        raise pickle.UnpicklingError(
            f"Weights only load failed: the file asks for the global {short(module)}.{short(name)}, which is not "
            f"a tensor, storage or plain container. autograd.load never executes code from a file; only state "
            f"dicts (tensors, numbers, strings and containers) can be loaded.")
    return find


def load_torch_zip(buf, map_location, limits, writable=False):
    """Read a ``torch.save`` zip archive held in ``buf`` (see the module docstring)."""
    deadline = limits.deadline()
    zr = ZipReader(buf)
    if not zr.members:
        raise TorchFileError("PytorchStreamReader failed reading zip archive: archive does not contain any files")
    first = zr.members[0].name.decode("utf-8", "replace")
    if "/" not in first:
        raise TorchFileError(f"file in archive is not in a subdirectory: {short(first)}")
    prefix = first[:first.index("/") + 1]
    for m in zr.members:
        if not m.name.startswith(prefix.encode("utf-8")):
            raise TorchFileError(f"file in archive is not in a subdirectory {short(prefix)}: "
                                 f"{short(m.name.decode('utf-8', 'replace'))}")
    loader = _Loader(zr, prefix, map_location, limits, writable)
    if zr.find(prefix + ".data/version") is None and zr.find(prefix + "version") is None:
        raise TorchFileError('Expected hasRecord("version") to be true, but got false.')
    data = loader.record("data.pkl", limits.max_pickle_bytes)
    budget = Budget(limits)
    try:
        out = unpickle(data if isinstance(data, bytes) else bytes(data), _globals(loader, budget), loader.persistent_load, budget, deadline)
    except (pickle.UnpicklingError, RuntimeError):
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, struct.error, OverflowError,
            UnicodeDecodeError, RecursionError) as e:
        raise pickle.UnpicklingError(f"malformed pickle in torch file: {type(e).__name__}: "
                                     f"{short(str(e))}") from None
    return check_result(out, limits, (_Storage, _StorageType, Callable), deadline)
