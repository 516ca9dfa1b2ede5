"""``autograd.save`` / ``autograd.load``: torch.save / torch.load for state dicts, without pickle.

Our format (``.pt`` or any name) is one file::

    b"\\x93MTSAVE\\x00"  magic (8 bytes)
    uint64 LE           length of the header
    header              UTF-8 JSON: {"format", "version", "root": <node>, "blobs": [[offset, nbytes, crc32], ...]}
    uint32 LE           crc32 of everything before it, then zeros to a multiple of 64
    raw data            each array's bytes, little-endian, C order, 64-byte aligned; a blob's crc32 covers
                        the padding before it too, so a flipped byte anywhere is detected

A node is a small tagged JSON list (``["d", [[key, value], ...]]`` for a dict, ``["T", {...}]`` for a
Tensor, ...). Loading checks the checksums and every entry's types (:mod:`autograd._autograd_format`, which
also reads version 1 files, written before the checksums) and maps bytes into arrays of an allow-listed
dtype: nothing in the file is ever executed, whatever ``weights_only`` says. Writing to a path is atomic (a temporary file in the
same folder, fsync, ``os.replace``) and leaves the file with the usual permissions (0644 under umask 022).

``load`` also reads the zip files ``torch.save`` writes, without torch: see :mod:`autograd._torch_format`.
"""
from __future__ import annotations

import os
import pickle
import struct
import tempfile
import zlib
from collections import OrderedDict

import numpy as np

from . import backend
from ._autograd_format import (ALIGN as _ALIGN, DTYPES as _DTYPES, FORMAT, MAGIC, VERSION, CorruptFileError,
                               header_bytes, load_ours)
from ._load_limits import DEFAULT_LIMITS as _DEFAULT, LoadLimits
from ._torch_format import TorchFileError, load_torch_zip
from ._zip_reader import ZipError
from .tensor import Tensor

__all__ = ["save", "load", "LoadLimits", "DEFAULT_LIMITS", "CorruptFileError", "TorchFileError", "ZipError"]

# the limits every load uses unless given ``limits=``; assign a LoadLimits here to change them process-wide
DEFAULT_LIMITS = _DEFAULT


# ---------------------------------------------------------------------------------------------------
# save
class _Writer:
    def __init__(self):
        self.blobs, self.chunks, self.size, self.memo = [], [], 0, {}

    def array(self, a):
        a = backend.to_device(a, "cpu") if not isinstance(a, np.ndarray) else a
        if a.dtype.name not in _DTYPES:
            raise TypeError(f"cannot save an array of dtype {a.dtype}")
        name = a.dtype.name
        bits = a.view(np.uint16) if name == "bfloat16" else a      # bfloat16 has no byte order: its bits
        a = np.asarray(bits, dtype=bits.dtype.newbyteorder("<"))   # (ascontiguousarray would make 0-d 1-d)
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        pad = b"\0" * ((-self.size) % _ALIGN)
        if pad:
            self.chunks.append(pad)
            self.size += len(pad)
        raw = a.tobytes()
        self.blobs.append([self.size, len(raw), zlib.crc32(raw, zlib.crc32(pad))])
        self.chunks.append(raw)
        self.size += len(raw)
        return {"blob": len(self.blobs) - 1, "dtype": name, "shape": list(a.shape)}

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


def _encode(obj) -> bytes:
    w = _Writer()
    root = w.node(obj)
    return header_bytes(root, w.blobs) + b"".join(w.chunks)


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
def _read(f):
    """The file's bytes as a uint8 memoryview, and whether arrays may be views of it (a buffer of our own)."""
    if hasattr(f, "read"):
        return memoryview(f.read()).cast("B"), False
    with open(os.fspath(f), "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        buf = np.empty(size, np.uint8)
        got = fh.readinto(buf) if size else 0
        if got != size:                        # the file changed under us: read what is there
            fh.seek(0)
            return memoryview(fh.read()).cast("B"), False
    return memoryview(buf), True


def load(f, map_location=None, weights_only=True, *, limits=None, **kwargs):
    """Read what :func:`save` wrote, or a file written by ``torch.save`` (zip format), like ``torch.load``.

    ``map_location``: None (each tensor goes back to the device it was saved from), a device or string
    (``"cpu"``, ``"cuda:1"``) for all tensors, or a dict mapping saved locations to new ones
    (``{"cuda:0": "cpu"}``). ``weights_only`` is accepted for torch compatibility; loading is always
    weights-only: neither format can run code, and a torch file that pickles anything but tensors,
    storages and plain containers is refused with ``pickle.UnpicklingError``. ``limits`` (a
    :class:`LoadLimits`, default :data:`DEFAULT_LIMITS`) bounds the work a torch file's pickle may ask
    for. Damaged, truncated or malformed files raise ``RuntimeError`` (:class:`CorruptFileError`,
    :class:`TorchFileError`, :class:`ZipError`); a pickle that asks for something not allowed, or
    more than the limits, raises ``pickle.UnpicklingError``. Nothing else escapes.

    Tensors loaded from a path share the one buffer the file was read into (no second copy).
    """
    kwargs.pop("mmap", None)          # torch's keyword; we always read the file into memory
    if kwargs:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(kwargs)}")
    limits = DEFAULT_LIMITS if limits is None else limits
    if not isinstance(limits, LoadLimits):
        raise TypeError(f"limits must be a LoadLimits, got {type(limits).__name__}")
    buf, writable = _read(f)
    head = bytes(buf[:8])
    if head == MAGIC:
        return load_ours(buf, map_location, writable)
    if head[:4] == b"PK\x03\x04":
        return load_torch_zip(buf, map_location, limits, writable)
    if head[:1] == b"\x80":
        raise pickle.UnpicklingError(
            "this looks like a bare pickle (torch's legacy format or pickle.dump): refused, because unpickling "
            "can execute arbitrary code. Re-save it with torch.save (zip format, torch >= 1.6) or autograd.save.")
    raise pickle.UnpicklingError(f"invalid load key, {head[:1]!r}: not a file written by autograd.save or "
                                 f"torch.save")
