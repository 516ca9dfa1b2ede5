"""``autograd.save`` / ``autograd.load``: torch.save / torch.load for state dicts, without pickle.

Our format (``.pt`` or any name) is one file::

    b"\\x93MTSAVE\\x00"  magic (8 bytes)
    uint64 LE           length of the header
    header              UTF-8 JSON: {"format", "version", "root": <node>, "blobs": [[offset, nbytes], ...]}
    raw data            each array's bytes, little-endian, C order, 64-byte aligned

A node is a small tagged JSON list (``["d", [[key, value], ...]]`` for a dict, ``["T", {...}]`` for a
Tensor, ...). Loading parses JSON and copies bytes into arrays of an allow-listed dtype: nothing in the
file is ever executed, whatever ``weights_only`` says. Writing to a path is atomic (a temporary file in the
same folder, fsync, ``os.replace``) and leaves the file with the usual permissions (0644 under umask 022).

``load`` also reads the zip files ``torch.save`` writes, without torch: see :mod:`autograd._torch_format`.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
import tempfile
from collections import OrderedDict

import numpy as np

from . import backend
from ._torch_format import load_torch_zip, target_device as _target_device
from .tensor import Tensor

MAGIC = b"\x93MTSAVE\x00"
FORMAT = "autograd-save"
VERSION = 1
_ALIGN = 64
# dtypes a file may declare (never "O": an object array would need pickle)
_DTYPES = {"bool", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}

__all__ = ["save", "load"]


# ---------------------------------------------------------------------------------------------------
# save
class _Writer:
    def __init__(self):
        self.blobs, self.chunks, self.size, self.memo = [], [], 0, {}

    def array(self, a):
        a = backend.to_device(a, "cpu") if not isinstance(a, np.ndarray) else a
        if a.dtype.name not in _DTYPES:
            raise TypeError(f"cannot save an array of dtype {a.dtype}")
        a = np.asarray(a, dtype=a.dtype.newbyteorder("<"))   # (ascontiguousarray would make 0-d 1-d)
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        pad = (-self.size) % _ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        raw = a.tobytes()
        self.blobs.append([self.size, len(raw)])
        self.chunks.append(raw)
        self.size += len(raw)
        return {"blob": len(self.blobs) - 1, "dtype": a.dtype.name, "shape": list(a.shape)}

    def node(self, obj, depth=0):
        if depth > 200:
            raise ValueError("object nests too deeply to save")
        if obj is None:
            return ["N"]
        if isinstance(obj, (Tensor, np.ndarray, np.generic)) or getattr(obj, "is_sparse", False):
            key = id(obj)
            if key in self.memo:             # the same object twice comes back as one object
                return ["r", self.memo[key][0]]
            self.memo[key] = (len(self.memo), obj)   # keep obj alive so its id stays unique
            idx = self.memo[key][0]
            return ["m", idx, self._leaf(obj)]
        if isinstance(obj, bool):
            return ["b", obj]
        if isinstance(obj, int):
            return ["i", int(obj)]
        if isinstance(obj, float):
            return ["f", _fbits(obj)]
        if isinstance(obj, complex):
            return ["c", _fbits(obj.real), _fbits(obj.imag)]
        if isinstance(obj, str):
            return ["s", obj]
        if isinstance(obj, bytes):
            return ["y", obj.hex()]
        if isinstance(obj, np.dtype):
            return ["D", obj.name]
        if isinstance(obj, backend.device):
            return ["V", str(obj)]
        if isinstance(obj, OrderedDict):
            meta = getattr(obj, "_metadata", None)
            return ["o", self._items(obj, depth), None if meta is None else self.node(meta, depth + 1)]
        if isinstance(obj, dict):
            return ["d", self._items(obj, depth)]
        if isinstance(obj, list):
            return ["l", [self.node(v, depth + 1) for v in obj]]
        if isinstance(obj, tuple):
            return ["t", [self.node(v, depth + 1) for v in obj]]
        hint = "; save its state_dict() instead" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"autograd.save cannot store an object of type {type(obj).__name__} (only Tensors, "
                        f"arrays, numbers, strings, None, dtypes, devices and dicts/lists/tuples of them){hint}")

    def _items(self, d, depth):
        return [[self.node(k, depth + 1), self.node(v, depth + 1)] for k, v in d.items()]

    def _leaf(self, obj):
        if getattr(obj, "is_sparse", False):
            return ["S", {"indices": self.array(obj._ind), "values": self.array(obj._val),
                          "shape": list(obj.shape), "coalesced": bool(obj._coalesced)}]
        if isinstance(obj, np.generic):
            return ["g", self.array(np.asarray(obj))]
        if isinstance(obj, np.ndarray):
            return ["a", self.array(obj)]
        from .nn.parameter import Parameter

        return ["P" if isinstance(obj, Parameter) else "T",
                {"data": self.array(obj._data), "device": str(obj.device),
                 "requires_grad": bool(obj.requires_grad)}]


def _fbits(x):
    """A float as the hex of its 8 bytes: exact for every value, NaN payloads and -0.0 included."""
    return struct.pack("<d", x).hex()


def _bitsf(h):
    return struct.unpack("<d", bytes.fromhex(h))[0]


def _encode(obj) -> bytes:
    w = _Writer()
    root = w.node(obj)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root, "blobs": w.blobs},
                        separators=(",", ":"), allow_nan=False).encode()
    head = MAGIC + struct.pack("<Q", len(header)) + header
    head += b"\0" * ((-len(head)) % _ALIGN)
    return head + b"".join(w.chunks)


def save(obj, f):
    """Write ``obj`` (nested dicts / OrderedDicts / lists / tuples of Tensors, NumPy arrays, numbers,
    strings, None) to ``f``, a path or a binary file object, like ``torch.save``.

    A path is written atomically: the data goes to a temporary file in the same folder, which replaces
    ``f`` only once complete, so an interrupted save leaves the old file (or none) and no temporary.
    Equal objects give byte-identical files.
    """
    data = _encode(obj)
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------------
# load
def _place(arr, location, map_location):
    return backend.to_device(arr, _target_device(location, map_location))


class _Reader:
    def __init__(self, buf, header, base, map_location):
        self.buf, self.base, self.map_location = buf, base, map_location
        self.blobs = header["blobs"]
        self.memo = {}

    def array(self, spec):
        try:
            dtype, shape, (off, nbytes) = spec["dtype"], tuple(spec["shape"]), self.blobs[spec["blob"]]
        except (KeyError, TypeError, IndexError, ValueError):
            raise RuntimeError("corrupted file: bad array entry") from None
        if (dtype not in _DTYPES or not all(isinstance(s, int) and s >= 0 for s in shape)
                or not isinstance(off, int) or off < 0 or self.base + off + nbytes > len(self.buf)):
            raise RuntimeError("corrupted file: array entry out of range or of a forbidden dtype")
        dt = np.dtype(dtype).newbyteorder("<")
        if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != nbytes:
            raise RuntimeError("corrupted file: array size does not match its shape")
        start = self.base + off
        a = np.frombuffer(self.buf, dtype=dt, count=nbytes // dt.itemsize, offset=start).reshape(shape)
        return a.astype(dt.newbyteorder("="), copy=True)

    def node(self, n):
        tag, args = n[0], n[1:]
        if tag == "N":
            return None
        if tag in ("b", "s"):
            return args[0]
        if tag == "i":
            return int(args[0])
        if tag == "f":
            return _bitsf(args[0])
        if tag == "c":
            return complex(_bitsf(args[0]), _bitsf(args[1]))
        if tag == "y":
            return bytes.fromhex(args[0])
        if tag == "D":
            if args[0] not in _DTYPES:
                raise RuntimeError(f"corrupted file: unknown dtype {args[0]!r}")
            return np.dtype(args[0])
        if tag == "V":
            return backend.device(args[0])
        if tag == "l":
            return [self.node(v) for v in args[0]]
        if tag == "t":
            return tuple(self.node(v) for v in args[0])
        if tag == "d":
            return {self.node(k): self.node(v) for k, v in args[0]}
        if tag == "o":
            out = OrderedDict((self.node(k), self.node(v)) for k, v in args[0])
            if args[1] is not None:
                out._metadata = self.node(args[1])
            return out
        if tag == "m":
            self.memo[args[0]] = obj = self.leaf(args[1])
            return obj
        if tag == "r":
            return self.memo[args[0]]
        raise RuntimeError(f"corrupted file: unknown entry {tag!r}")

    def leaf(self, n):
        tag, spec = n
        if tag == "a":
            return self.array(spec)
        if tag == "g":
            return self.array(spec)[()]
        if tag == "S":
            from .sparse import SparseTensor

            dev = _target_device("cpu", self.map_location)
            ind, val = (backend.to_device(self.array(spec[k]), dev) for k in ("indices", "values"))
            return SparseTensor(ind, val, spec["shape"], coalesced=spec["coalesced"])
        data = _place(self.array(spec["data"]), spec["device"], self.map_location)
        if tag == "P":
            from .nn.parameter import Parameter

            return Parameter(data, requires_grad=spec["requires_grad"])
        if tag == "T":
            return Tensor._wrap(data, requires_grad=spec["requires_grad"])
        raise RuntimeError(f"corrupted file: unknown entry {tag!r}")


def _load_ours(buf, map_location):
    if len(buf) < len(MAGIC) + 8:
        raise RuntimeError("corrupted file: truncated header")
    (n,) = struct.unpack_from("<Q", buf, len(MAGIC))
    start = len(MAGIC) + 8
    if start + n > len(buf):
        raise RuntimeError("corrupted file: truncated header")
    try:
        header = json.loads(bytes(buf[start:start + n]).decode())
        if header.get("format") != FORMAT:
            raise ValueError("not an autograd.save file")
    except (ValueError, AttributeError) as e:
        raise RuntimeError(f"corrupted file: unreadable header ({e})") from None
    if header.get("version") != VERSION:
        raise RuntimeError(f"file format version {header.get('version')} is not supported (this autograd "
                           f"reads version {VERSION})")
    base = start + n + ((-(start + n)) % _ALIGN)
    try:
        return _Reader(buf, header, base, map_location).node(header["root"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise RuntimeError(f"corrupted file: malformed entry ({type(e).__name__}: {e})") from None


def load(f, map_location=None, weights_only=True, **kwargs):
    """Read what :func:`save` wrote, or a file written by ``torch.save`` (zip format), like ``torch.load``.

    ``map_location``: None (each tensor goes back to the device it was saved from), a device or string
    (``"cpu"``, ``"cuda:1"``) for all tensors, or a dict mapping saved locations to new ones
    (``{"cuda:0": "cpu"}``). ``weights_only`` is accepted for torch compatibility; loading is always
    weights-only: neither format can run code, and a torch file that pickles anything but tensors,
    storages and plain containers is refused with ``pickle.UnpicklingError``. Corrupted or truncated
    files raise ``RuntimeError``.
    """
    kwargs.pop("mmap", None)          # torch's keyword; we always read the file into memory
    if kwargs:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(kwargs)}")
    if hasattr(f, "read"):
        buf = f.read()
    else:
        with open(os.fspath(f), "rb") as fh:
            buf = fh.read()
    buf = memoryview(bytes(buf))
    head = bytes(buf[:8])
    if head == MAGIC:
        return _load_ours(buf, map_location)
    if head[:4] == b"PK\x03\x04":

        return load_torch_zip(io.BytesIO(buf), map_location)
    if head[:1] == b"\x80":
        raise pickle.UnpicklingError(
            "this looks like a bare pickle (torch's legacy format or pickle.dump): refused, because unpickling "
            "can execute arbitrary code. Re-save it with torch.save (zip format, torch >= 1.6) or autograd.save.")
    raise pickle.UnpicklingError(f"invalid load key, {head[:1]!r}: not a file written by autograd.save or "
                                 f"torch.save")
