"""Reading ``autograd.save`` files: strict checks on every entry, and the checksums of version 2.

Version 2 (written now)::

    MAGIC (8) | uint64 LE n | header (n bytes, JSON) | uint32 LE crc32 of the bytes before it | zeros to 64
    data: each blob 64-byte aligned; blob i's crc32 covers the bytes from the end of blob i-1 (so padding too)

so every byte of the file is covered by a checksum and a file may not run past its last blob. Version 1
(no checksums; blobs ``[offset, nbytes]``) is still read, with the same strict checks but no detection of
flipped bytes. Every refusal is a ``RuntimeError`` (:class:`CorruptFileError`).
"""
from __future__ import annotations

import json
import struct
import zlib
from collections import OrderedDict

import numpy as np

from . import backend
from ._torch_format import target_device
from .tensor import Tensor
from . import dtypes as _dtypes

MAGIC = b"\x93MTSAVE\x00"
FORMAT = "autograd-save"
VERSION = 2
ALIGN = 64
# dtypes a file may declare (never "O": an object array would need pickle)
DTYPES = {"bool", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "bfloat16", "float32", "float64", "complex64", "complex128"}
_HASHABLE = (type(None), bool, int, float, complex, str, bytes, tuple, np.dtype, backend.device)


class CorruptFileError(RuntimeError):
    """An ``autograd.save`` file that is damaged, truncated or malformed."""


def _bad(what):
    raise CorruptFileError(f"corrupted file: {what}")


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str(v, what):
    if not isinstance(v, str):
        _bad(f"{what} is a {type(v).__name__}, not a string")
    return v


def _hexfloat(h):
    if not (isinstance(h, str) and len(h) == 16):
        _bad("a float entry is not 16 hex digits")
    return struct.unpack("<d", bytes.fromhex(h))[0]


class _Reader:
    def __init__(self, buf, header, base, map_location, version, writable):
        self.buf, self.base, self.map_location, self.writable = buf, base, map_location, writable
        blobs = header.get("blobs")
        width = 3 if version >= 2 else 2
        if not isinstance(blobs, list) or not all(
                isinstance(b, list) and len(b) == width and all(_int(v) and v >= 0 for v in b) for b in blobs):
            _bad("the blob table is malformed")
        end = 0
        for b in blobs:
            if b[0] < end or b[0] % ALIGN or base + b[0] + b[1] > len(buf):
                _bad("a blob lies outside the file or overlaps another")
            if version >= 2 and zlib.crc32(buf[base + end:base + b[0] + b[1]]) != b[2]:
                _bad("checksum mismatch in the data (the file was damaged after it was written)")
            end = b[0] + b[1]
        if version >= 2 and len(buf) != base + end:
            _bad(f"the file has {len(buf) - base - end} bytes past its last blob (damaged or truncated)")
        self.blobs, self.memo = blobs, {}

    def array(self, spec):
        if not (isinstance(spec, dict) and set(spec) == {"blob", "dtype", "shape"}):
            _bad("an array entry is malformed")
        i, dtype, shape = spec["blob"], spec["dtype"], spec["shape"]
        if not (_int(i) and 0 <= i < len(self.blobs)):
            _bad(f"an array names blob {i!r:.40}, which does not exist")
        if dtype not in DTYPES or not (isinstance(shape, list) and all(_int(s) and s >= 0 for s in shape)):
            _bad("an array entry has a forbidden dtype or a bad shape")
        off, nbytes = self.blobs[i][:2]
        dt = np.dtype("<u2") if dtype == "bfloat16" else np.dtype(dtype).newbyteorder("<")   # bfloat16: its bits
        numel = 1
        for s in shape:
            numel *= s
        if numel * dt.itemsize != nbytes:
            _bad("an array's size does not match its shape")
        a = np.frombuffer(self.buf, dtype=dt, count=numel, offset=self.base + off).reshape(shape)
        if dtype == "bfloat16":
            return (a if dt.isnative and self.writable else a.astype(np.uint16)).view(_dtypes.bfloat16)
        if dt.isnative and self.writable:
            return a                          # a view of the file's own buffer: no copy
        return a.astype(dt.newbyteorder("="), copy=True)

    def node(self, n):
        if not (isinstance(n, list) and n and isinstance(n[0], str)):
            _bad("an entry is not a tagged list")
        tag, args = n[0], n[1:]
        want = _ARITY.get(tag)
        if want is None:
            _bad(f"unknown entry {tag!r:.20}")
        if len(args) != want:
            _bad(f"entry {tag!r} has {len(args)} arguments, not {want}")
        if tag == "N":
            return None
        if tag == "b":
            if not isinstance(args[0], bool):
                _bad("a bool entry holds a non-bool")
            return args[0]
        if tag == "s":
            return _str(args[0], "a string entry")
        if tag == "i":
            if not _int(args[0]):
                _bad("an int entry holds a non-int")
            return args[0]
        if tag == "f":
            return _hexfloat(args[0])
        if tag == "c":
            return complex(_hexfloat(args[0]), _hexfloat(args[1]))
        if tag == "y":
            return bytes.fromhex(_str(args[0], "a bytes entry"))
        if tag == "D":
            if args[0] not in DTYPES:
                _bad(f"unknown dtype {args[0]!r:.40}")
            return np.dtype(args[0])
        if tag == "V":
            try:
                return backend.device(_str(args[0], "a device entry"))
            except (ValueError, TypeError) as e:
                _bad(f"bad device ({e})")
        if tag in ("l", "t"):
            if not isinstance(args[0], list):
                _bad("a list entry holds a non-list")
            items = [self.node(v) for v in args[0]]
            return items if tag == "l" else tuple(items)
        if tag in ("d", "o"):
            pairs = args[0]
            if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs)):
                _bad("a dict entry is not a list of pairs")
            out = {} if tag == "d" else OrderedDict()
            for k, v in pairs:
                k = self.node(k)
                if not isinstance(k, _HASHABLE) or (isinstance(k, tuple) and not _all_hashable(k)):
                    _bad(f"a dict key is a {type(k).__name__}")
                out[k] = self.node(v)
            if tag == "o" and args[1] is not None:
                out._metadata = self.node(args[1])
            return out
        if tag == "m":
            if not (_int(args[0]) and args[0] == len(self.memo)):
                _bad("a shared-object entry is out of order")
            self.memo[args[0]] = obj = self.leaf(args[1])
            return obj
        # tag == "r"
        if not _int(args[0]) or args[0] not in self.memo:
            _bad("a reference to an object not yet read")
        return self.memo[args[0]]

    def leaf(self, n):
        if not (isinstance(n, list) and len(n) == 2 and n[0] in ("a", "g", "S", "T", "P")):
            _bad("a leaf entry is malformed")
        tag, spec = n
        if tag == "a":
            return self.array(spec)
        if tag == "g":
            a = self.array(spec)
            if a.ndim:
                _bad("a NumPy scalar entry is not 0-d")
            return a[()]
        if tag == "S":
            return self.sparse(spec)
        if not (isinstance(spec, dict) and set(spec) == {"data", "device", "requires_grad"}
                and isinstance(spec["requires_grad"], bool)):
            _bad("a tensor entry is malformed")
        arr = self.array(spec["data"])
        if spec["requires_grad"] and (arr.dtype.kind not in "fc" and arr.dtype != _dtypes.bfloat16):
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        data = backend.to_device(arr, target_device(_str(spec["device"], "a device"), self.map_location))
        if tag == "P":
            from .nn.parameter import Parameter

            return Parameter(data, requires_grad=spec["requires_grad"])
        return Tensor._wrap(data, requires_grad=spec["requires_grad"])

    def sparse(self, spec):
        from .sparse import SparseTensor

        if not (isinstance(spec, dict) and set(spec) == {"indices", "values", "shape", "coalesced"}
                and isinstance(spec["coalesced"], bool) and isinstance(spec["shape"], list)
                and all(_int(s) and s >= 0 for s in spec["shape"])):
            _bad("a sparse tensor entry is malformed")
        ind, val, shape = self.array(spec["indices"]), self.array(spec["values"]), spec["shape"]
        if (ind.dtype != np.int64 or ind.ndim != 2 or val.ndim < 1 or val.shape[0] != ind.shape[1]
                or len(shape) != ind.shape[0] + val.ndim - 1 or list(val.shape[1:]) != shape[ind.shape[0]:]):
            _bad("a sparse tensor's indices, values and shape disagree")
        if ind.size and ((ind < 0).any() or (ind >= np.array(shape[:ind.shape[0]])[:, None]).any()):
            _bad("a sparse tensor has indices outside its shape")
        if spec["coalesced"] and ind.shape[1] > 1:
            flat = np.ravel_multi_index(tuple(ind), tuple(shape[:ind.shape[0]]))
            if (np.diff(flat) <= 0).any():
                _bad("a sparse tensor marked coalesced has unsorted or repeated indices")
        dev = target_device("cpu", self.map_location)
        return SparseTensor(backend.to_device(ind, dev), backend.to_device(val, dev), shape,
                            coalesced=spec["coalesced"])


_ARITY = {"N": 0, "b": 1, "s": 1, "i": 1, "f": 1, "c": 2, "y": 1, "D": 1, "V": 1, "l": 1, "t": 1, "d": 1,
          "o": 2, "m": 2, "r": 1}


def _all_hashable(t):
    return all(isinstance(v, _HASHABLE) and (not isinstance(v, tuple) or _all_hashable(v)) for v in t)


def load_ours(buf, map_location, writable):
    """Read an ``autograd.save`` file held in ``buf`` (a memoryview of uint8)."""
    if len(buf) < len(MAGIC) + 8:
        _bad("truncated header")
    (n,) = struct.unpack_from("<Q", buf, len(MAGIC))
    start = len(MAGIC) + 8
    if n > len(buf) - start:
        _bad("truncated header")
    raw = bytes(buf[start:start + n])
    checked = (len(buf) >= start + n + 4
               and struct.unpack_from("<I", buf, start + n)[0] == zlib.crc32(buf[:start + n]))
    try:
        header = json.loads(raw.decode())
    except (ValueError, RecursionError) as e:
        _bad(f"unreadable header ({type(e).__name__})")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        _bad("not an autograd.save header")
    version = header.get("version")
    if version == 2 and not checked:
        _bad("checksum mismatch in the header (the file was damaged after it was written)")
    if version not in (1, 2):
        raise CorruptFileError(f"file format version {version!r:.20} is not supported (this autograd reads "
                               f"versions 1 and 2)")
    end = start + n + (4 if version >= 2 else 0)
    base = end + ((-end) % ALIGN)
    if version >= 2 and bytes(buf[end:base]) != b"\0" * (base - end):
        _bad("the padding after the header is not zero")
    try:
        return _Reader(buf, header, base, map_location, version, writable).node(header.get("root"))
    except RecursionError:
        _bad("the structure nests too deeply")
    except (TypeError, ValueError, OverflowError) as e:
        _bad(f"malformed entry ({type(e).__name__}: {e})")


def header_bytes(root, blobs):
    """MAGIC, length, JSON and its crc32, padded to the data (the writer's half of the layout above)."""
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root, "blobs": blobs},
                        separators=(",", ":"), allow_nan=False).encode()
    head = MAGIC + struct.pack("<Q", len(header)) + header
    head += struct.pack("<I", zlib.crc32(head))
    return head + b"\0" * ((-len(head)) % ALIGN)
