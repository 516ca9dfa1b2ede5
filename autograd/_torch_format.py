"""Read ``torch.save`` files (the zip format torch writes since 1.6) without torch and without running code.

Such a file is a zip archive ``<name>/data.pkl`` + ``<name>/data/<key>`` (one raw storage each) +
``<name>/byteorder``. ``data.pkl`` is a pickle whose tensors are calls of
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])``, with
each storage a *persistent id* ``("storage", torch.FloatStorage, key, location, numel)``.

``data.pkl`` is not given to Python's ``pickle`` module: :func:`_unpickle` interprets the opcodes plain data
needs (protocols 2-4) itself. Globals resolve only through a fixed table that maps torch's rebuild functions,
storage classes, dtypes and ``collections.OrderedDict`` onto small functions of ours; any other global
(``os.system``, ``builtins.eval``, a numpy object, a class) is refused with ``pickle.UnpicklingError``, and it
is never imported or looked up. Tensors sharing a storage in torch share memory here too on the CPU.
"""
from __future__ import annotations

import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

from . import backend
from .tensor import Tensor

# torch storage class -> NumPy dtype (BFloat16 has no NumPy dtype and is refused with a message)
_STORAGES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
             "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
             "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
             "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8"}
_DTYPE_NAMES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
                "float16": "float16", "half": "float16", "int64": "int64", "long": "int64", "int32": "int32",
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
    dev = backend.as_device(dev)
    if dev.type == "cuda" and not backend.cuda_is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but autograd.cuda.is_available() "
                           "is False. If you are running on a CPU-only machine, please use autograd.load with "
                           "map_location='cpu' to map your storages to the CPU.")
    return dev


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGES[name]) if name in _STORAGES else None


class _Storage:
    __slots__ = ("array", "location")

    def __init__(self, array, location):
        self.array, self.location = array, location


class _Loader:
    def __init__(self, zf, prefix, map_location):

        self.zf, self.prefix, self.target = zf, prefix, target_device
        self.map_location = map_location
        self.storages = {}
        try:
            order = zf.read(prefix + "byteorder").decode().strip()
        except KeyError:
            order = "little"
        if order not in ("little", "big"):
            raise RuntimeError(f"corrupted torch file: unknown byteorder {order!r}")
        self.order = "<" if order == "little" else ">"

    # -- persistent ids: the storages ------------------------------------------------------------
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"unsupported persistent id in torch file: {pid!r:.80}")
        _, stype, key, location, numel = pid
        key = key.decode() if isinstance(key, bytes) else key
        location = location.decode() if isinstance(location, bytes) else location
        if not isinstance(stype, _StorageType) or not isinstance(key, str) or not isinstance(numel, int):
            raise pickle.UnpicklingError(f"malformed storage reference in torch file: {pid!r:.80}")
        if stype.dtype is None:
            raise pickle.UnpicklingError(f"torch storage type {stype.name} is not supported (NumPy has no "
                                         f"such dtype); convert the tensors (e.g. .float()) before torch.save")
        if key not in self.storages:
            try:
                raw = self.zf.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise RuntimeError(f"corrupted torch file: storage {key!r} is missing") from None
            dt = stype.dtype.newbyteorder(self.order)
            if numel < 0 or len(raw) < numel * dt.itemsize:
                raise RuntimeError(f"corrupted torch file: storage {key!r} is shorter than declared")
            arr = np.frombuffer(raw, dtype=dt, count=numel).astype(stype.dtype, copy=True)
            self.storages[key] = _Storage(arr, str(location))
        st = self.storages[key]
        if st.array.dtype != stype.dtype:
            raise pickle.UnpicklingError("torch file views one storage as two dtypes; not supported")
        return st

    # -- the functions torch's pickle calls --------------------------------------------------------
    def rebuild_tensor(self, storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("tensor rebuild without a storage")
        if not (isinstance(offset, int) and all(isinstance(v, int) for v in (*size, *stride))
                and len(size) == len(stride) and offset >= 0 and all(v >= 0 for v in (*size, *stride))):
            raise RuntimeError("corrupted torch file: bad tensor geometry")
        base = storage.array
        numel = int(np.prod(size, dtype=np.int64)) if size else 1
        if numel and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= base.size:
            raise RuntimeError("corrupted torch file: tensor runs past its storage")
        if tuple(stride) == _contiguous(size) and (numel or not size):
            arr = base[offset:offset + numel].reshape(size)
        else:
            arr = np.lib.stride_tricks.as_strided(base[offset:], shape=tuple(size),
                                                  strides=tuple(s * base.itemsize for s in stride))
        dev = self.target(storage.location, self.map_location)
        if dev.type != "cpu":
            arr = backend.to_device(np.ascontiguousarray(arr), dev)
        return Tensor._wrap(arr, requires_grad=bool(requires_grad))

    def rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype, *rest):
        if not isinstance(dtype, np.dtype) or not isinstance(storage, _Storage):
            raise pickle.UnpicklingError("malformed tensor in torch file")
        raw = storage.array.view(np.uint8)
        if raw.size % dtype.itemsize:
            raise RuntimeError("corrupted torch file: storage size is not a multiple of its dtype")
        typed = _Storage(raw.view(dtype.newbyteorder(self.order)).astype(dtype), storage.location)
        return self.rebuild_tensor(typed, offset, size, stride, requires_grad, hooks)

    @staticmethod
    def rebuild_parameter(data, requires_grad, hooks, *state):
        from .nn.parameter import Parameter

        if not isinstance(data, Tensor):
            raise pickle.UnpicklingError("parameter rebuild without a tensor")
        return Parameter(data, requires_grad=bool(requires_grad))


def _contiguous(size):
    out, acc = [], 1
    for n in reversed(size):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def _ordered_dict(*args):
    if args and not isinstance(args[0], (list, tuple, dict)):
        raise pickle.UnpicklingError("OrderedDict built from a non-container")
    return OrderedDict(*args)


def _torch_size(items=()):
    return tuple(int(v) for v in items)


def _torch_device(spec, index=None):
    return backend.device(spec, index) if index is not None else backend.device(spec)


class _Callable:
    """One of the functions the pickle may call (REDUCE); nothing else on the stack is callable."""

    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name


_MARK = object()


def _globals(loader):
    table = {("collections", "OrderedDict"): _ordered_dict,
             ("torch._utils", "_rebuild_tensor_v2"): loader.rebuild_tensor,
             ("torch._utils", "_rebuild_tensor"): loader.rebuild_tensor,
             ("torch._utils", "_rebuild_tensor_v3"): loader.rebuild_tensor_v3,
             ("torch._utils", "_rebuild_parameter"): loader.rebuild_parameter,
             ("torch._utils", "_rebuild_parameter_with_state"): loader.rebuild_parameter,
             ("torch", "Size"): _torch_size,
             ("torch", "device"): _torch_device,
             ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
             ("__builtin__", "set"): set, ("__builtin__", "frozenset"): frozenset}

    def find(module, name):
        fn = table.get((module, name))
        if fn is not None:
            return _Callable(fn, f"{module}.{name}")
        if module == "torch" and (name in _STORAGES or name == "BFloat16Storage"):
            return _StorageType(name)
        if module == "torch" and name in _DTYPE_NAMES:
            return np.dtype(_DTYPE_NAMES[name])
        raise pickle.UnpicklingError(
            f"Weights only load failed: the file asks for the global {module}.{name}, which is not a tensor, "
            f"storage or plain container. autograd.load never executes code from a file; only state dicts "
            f"(tensors, numbers, strings and containers) can be loaded.")
    return find


def _unpickle(data, find, persistent_load):
    """Interpret the pickle opcodes of protocols 2-4 that plain data needs; refuse every other opcode.

    Globals come only from ``find`` (a fixed table), REDUCE/NEWOBJ call only those, and BUILD may only set
    an OrderedDict's ``_metadata`` (torch's module-version record), so no file can reach other code.
    """
    stack, metastack, memo, pos, n = [], [], {}, 0, len(data)

    def take(k):
        nonlocal pos
        if k < 0 or pos + k > n:
            raise pickle.UnpicklingError("pickle data was truncated")
        out = data[pos:pos + k]
        pos += k
        return out

    def line():
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise pickle.UnpicklingError("pickle data was truncated")
        out = data[pos:end].decode("utf-8")
        pos = end + 1
        return out

    def pop_mark():
        nonlocal stack
        items, stack = stack, metastack.pop()
        return items

    def call(fn, args):
        if not isinstance(fn, _Callable) or not isinstance(args, tuple):
            raise pickle.UnpicklingError(f"pickle calls {type(fn).__name__}, which is not an allowed function")
        return fn.fn(*args)

    u = struct.unpack
    while True:
        op = take(1)[0]
        if op == 0x80:                                   # PROTO
            if take(1)[0] > 4:
                raise pickle.UnpicklingError("unsupported pickle protocol (> 4)")
        elif op == 0x95:                                 # FRAME
            take(8)
        elif op == 0x2E:                                 # STOP
            if len(stack) != 1 or metastack:
                raise pickle.UnpicklingError("malformed pickle: stack not empty at STOP")
            return stack[0]
        elif op == 0x28:                                 # MARK
            metastack.append(stack)
            stack = []
        elif op in (0x7D, 0x5D, 0x29, 0x8F):             # EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, EMPTY_SET
            stack.append({0x7D: dict, 0x5D: list, 0x29: tuple, 0x8F: set}[op]())
        elif op == 0x4E:                                 # NONE
            stack.append(None)
        elif op in (0x88, 0x89):                         # NEWTRUE, NEWFALSE
            stack.append(op == 0x88)
        elif op == 0x4B:                                 # BININT1
            stack.append(take(1)[0])
        elif op == 0x4D:                                 # BININT2
            stack.append(u("<H", take(2))[0])
        elif op == 0x4A:                                 # BININT
            stack.append(u("<i", take(4))[0])
        elif op in (0x8A, 0x8B):                         # LONG1, LONG4
            k = take(1)[0] if op == 0x8A else u("<i", take(4))[0]
            if k > 1024:
                raise pickle.UnpicklingError("integer too large in pickle")
            stack.append(int.from_bytes(take(k), "little", signed=True))
        elif op == 0x47:                                 # BINFLOAT
            stack.append(u(">d", take(8))[0])
        elif op in (0x58, 0x8C, 0x8D):                   # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            k = u("<I", take(4))[0] if op == 0x58 else take(1)[0] if op == 0x8C else u("<Q", take(8))[0]
            stack.append(take(k).decode("utf-8", "surrogatepass"))
        elif op in (0x55, 0x54, 0x43, 0x42):             # SHORT_BINSTRING, BINSTRING, SHORT_BINBYTES, BINBYTES
            k = take(1)[0] if op in (0x55, 0x43) else u("<I", take(4))[0]
            stack.append(bytes(take(k)))
        elif op == 0x74:                                 # TUPLE
            items = tuple(pop_mark())          # pop first: pop_mark rebinds ``stack``
            stack.append(items)
        elif op in (0x85, 0x86, 0x87):                   # TUPLE1..3
            k = op - 0x84
            if len(stack) < k:
                raise pickle.UnpicklingError("malformed pickle: stack underflow")
            items = tuple(stack[-k:])
            del stack[-k:]
            stack.append(items)
        elif op == 0x6C:                                 # LIST
            items = pop_mark()
            stack.append(items)
        elif op == 0x64:                                 # DICT
            items = pop_mark()
            stack.append(dict(zip(items[::2], items[1::2])))
        elif op == 0x91:                                 # FROZENSET
            items = frozenset(pop_mark())
            stack.append(items)
        elif op in (0x61, 0x65):                         # APPEND, APPENDS
            items = [stack.pop()] if op == 0x61 else pop_mark()
            if not isinstance(stack[-1], list):
                raise pickle.UnpicklingError("malformed pickle: APPEND to a non-list")
            stack[-1].extend(items)
        elif op in (0x73, 0x75):                         # SETITEM, SETITEMS
            if op == 0x73:
                v = stack.pop()
                items = [stack.pop(), v]
            else:
                items = pop_mark()
            if not isinstance(stack[-1], dict):
                raise pickle.UnpicklingError("malformed pickle: SETITEM on a non-dict")
            for i in range(0, len(items) - 1, 2):
                stack[-1][items[i]] = items[i + 1]
        elif op == 0x90:                                 # ADDITEMS
            items = pop_mark()
            if not isinstance(stack[-1], set):
                raise pickle.UnpicklingError("malformed pickle: ADDITEMS on a non-set")
            stack[-1].update(items)
        elif op == 0x63:                                 # GLOBAL
            module = line()
            stack.append(find(module, line()))
        elif op == 0x93:                                 # STACK_GLOBAL
            name, module = stack.pop(), stack.pop()
            if not (isinstance(module, str) and isinstance(name, str)):
                raise pickle.UnpicklingError("malformed pickle: STACK_GLOBAL needs two strings")
            stack.append(find(module, name))
        elif op == 0x52:                                 # REDUCE
            args = stack.pop()
            stack.append(call(stack.pop(), args))
        elif op == 0x81:                                 # NEWOBJ
            args = stack.pop()
            stack.append(call(stack.pop(), args))
        elif op == 0x62:                                 # BUILD
            state, inst = stack.pop(), stack[-1]
            if not (isinstance(inst, OrderedDict) and isinstance(state, dict) and set(state) <= {"_metadata"}):
                raise pickle.UnpicklingError(f"pickle sets the state of a {type(inst).__name__}; only an "
                                             f"OrderedDict's _metadata is allowed")
            if "_metadata" in state:
                inst._metadata = state["_metadata"]
        elif op == 0x51:                                 # BINPERSID
            stack.append(persistent_load(stack.pop()))
        elif op in (0x71, 0x72, 0x94):                   # BINPUT, LONG_BINPUT, MEMOIZE
            key = take(1)[0] if op == 0x71 else u("<I", take(4))[0] if op == 0x72 else len(memo)
            memo[key] = stack[-1]
        elif op in (0x68, 0x6A):                         # BINGET, LONG_BINGET
            key = take(1)[0] if op == 0x68 else u("<I", take(4))[0]
            if key not in memo:
                raise pickle.UnpicklingError(f"malformed pickle: memo key {key} not found")
            stack.append(memo[key])
        elif op == 0x30:                                 # POP
            if stack:
                stack.pop()
            else:
                pop_mark()
        elif op == 0x31:                                 # POP_MARK
            pop_mark()
        elif op == 0x32:                                 # DUP
            stack.append(stack[-1])
        else:
            raise pickle.UnpicklingError(f"unsupported pickle opcode {bytes([op])!r} at byte {pos - 1}: refused")


def load_torch_zip(fileobj, map_location=None):
    """Read a ``torch.save`` zip archive from ``fileobj`` (see the module docstring)."""
    try:
        zf = zipfile.ZipFile(fileobj)
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {e}") from None
    pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        raise RuntimeError("not a torch.save archive: expected exactly one <name>/data.pkl record")
    prefix = pkls[0][: -len("data.pkl")]
    try:
        data = zf.read(pkls[0])
        loader = _Loader(zf, prefix, map_location)
        return _unpickle(data, _globals(loader), loader.persistent_load)
    except pickle.UnpicklingError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as e:
        raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {e}") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, struct.error) as e:
        raise pickle.UnpicklingError(f"malformed pickle in torch file: {type(e).__name__}: {e}") from None

