"""The zip container of ``torch.save`` files, read the way torch's reader (miniz) reads it.

Python's ``zipfile`` answers differently from torch on hostile archives: it keeps the *last* of two
members with one name and rebases offsets to read the *second* of two concatenated archives. torch finds
the end record scanning back from the end of the file, takes every offset as absolute, and looks names up
by a binary search over a heap sort of the lower-cased names; so with duplicates the member found depends
on that search. We follow those rules step by step, so every file both readers accept gives torch's bytes.

Sizes are checked before anything is allocated: a member is read (stored) or inflated (deflate, which
torch reads though it never writes it) only up to the size its directory entry declares, and the caller
passes the most it is willing to allocate. Every refusal is a ``RuntimeError`` worded like torch's.
"""
from __future__ import annotations

import struct
import zlib

_EOCD, _EOCD64, _LOC64, _CDH, _LFH = 0x06054B50, 0x06064B50, 0x07064B50, 0x02014B50, 0x04034B50
_U32 = 0xFFFFFFFF


class ZipError(RuntimeError):
    """A torch.save archive whose zip structure is damaged or unsupported."""


def _fail(what):
    raise ZipError(f"PytorchStreamReader failed reading zip archive: {what}")


class Member:
    __slots__ = ("name", "method", "flags", "comp_size", "size", "header_ofs")

    def __init__(self, name, method, flags, comp_size, size, header_ofs):
        self.name, self.method, self.flags = name, method, flags
        self.comp_size, self.size, self.header_ofs = comp_size, size, header_ofs


_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def _lower(b):
    return b.translate(_LOWER)


def _less(a, b):
    """miniz's filename order (on lower-cased names): bytewise, a prefix before the longer name."""
    return a < b


def _heap_sort(keys):
    """miniz's (unstable) heap sort of indices by ``keys``: duplicates end up where miniz puts them."""
    size = len(keys)
    idx = list(range(size))
    if size <= 1:
        return idx

    def sift(root, end):
        while True:
            child = 2 * root + 1
            if child >= end:
                return
            if child + 1 < end and _less(keys[idx[child]], keys[idx[child + 1]]):
                child += 1
            if not _less(keys[idx[root]], keys[idx[child]]):
                return
            idx[root], idx[child] = idx[child], idx[root]
            root = child

    for start in range((size - 2) >> 1, -1, -1):
        sift(start, size)
    for end in range(size - 1, 0, -1):
        idx[end], idx[0] = idx[0], idx[end]
        sift(0, end)
    return idx


class ZipReader:
    """The members of a zip archive held in ``buf`` (bytes or a memoryview)."""

    def __init__(self, buf):
        self.buf = buf
        size = len(buf)
        if size < 22:
            _fail("failed finding central directory")
        lo = max(0, size - (0xFFFF + 22 + 4096))
        eocd = bytes(buf[lo:size - 18]).rfind(struct.pack("<I", _EOCD))   # a record needs 22 bytes after it
        if eocd < 0:
            _fail("failed finding central directory")
        eocd += lo
        (_, disk, cd_disk, on_disk, total, cd_size, cd_ofs) = struct.unpack_from("<IHHHHII", buf, eocd)
        if eocd >= 42 and struct.unpack_from("<I", buf, eocd - 20)[0] == _LOC64:
            _, _, ofs64, disks = struct.unpack_from("<IIQI", buf, eocd - 20)
            if ofs64 > size - 56:
                _fail("not a zip archive (bad zip64 locator)")
            if struct.unpack_from("<I", buf, ofs64)[0] == _EOCD64:
                (_, rec_size, _, _, disk, cd_disk, on_disk, total, cd_size,
                 cd_ofs) = struct.unpack_from("<IQHHIIQQQQ", buf, ofs64)
                if rec_size < 44 or disks != 1 or total > _U32 or on_disk > _U32 or cd_size > _U32:
                    _fail("unsupported or damaged zip64 end of central directory")
        if total != on_disk or ((disk | cd_disk) and (disk, cd_disk) != (1, 1)):
            _fail("multi-disk archives are not supported")
        if cd_size < total * 46 or cd_ofs + cd_size > size:
            _fail("invalid header or archive is corrupted")
        self.members, p, left = [], cd_ofs, cd_size
        for _ in range(total):
            if left < 46 or struct.unpack_from("<I", buf, p)[0] != _CDH:
                _fail("invalid header or archive is corrupted")
            (flags, method, comp, usize, nlen, xlen, clen, dsk,
             hofs) = struct.unpack_from("<8xHH8xIIHHHH6xI", buf, p)
            name = bytes(buf[p + 46:p + 46 + nlen])
            extra = bytes(buf[p + 46 + nlen:p + 46 + nlen + xlen])
            if _U32 in (comp, usize, hofs):
                usize, comp, hofs = _zip64_sizes(extra, usize, comp, hofs)
            if (method == 0 and usize != comp) or (usize and not comp):
                _fail("invalid header or archive is corrupted")
            if dsk == 0xFFFF or (dsk != disk and dsk != 1):
                _fail("multi-disk archives are not supported")
            if hofs + 30 + comp > size:
                _fail("invalid header or archive is corrupted")
            if flags & 1:
                _fail("encrypted archives are not supported")
            step = 46 + nlen + xlen + clen
            if step > left:
                _fail("invalid header or archive is corrupted")
            left, p = left - step, p + step
            self.members.append(Member(name, method, flags, comp, usize, hofs))
        self.keys = [_lower(m.name) for m in self.members]
        self.order = _heap_sort(self.keys)

    def find(self, name):
        """The member torch would find for ``name`` (str), or None."""
        key = _lower(name.encode("utf-8"))
        lo, hi = 0, len(self.order) - 1
        while lo <= hi:
            mid = lo + ((hi - lo) >> 1)
            i = self.order[mid]
            k = self.keys[i]
            if k == key:
                return self.members[i]
            if _less(k, key):
                lo = mid + 1
            else:
                hi = mid - 1
        return None

    def read(self, member, limit):
        """The member's bytes (a memoryview into the archive when stored, bytes when inflated), refusing more
        than ``limit``."""
        if member.size > limit:
            raise ZipError(f"record {member.name.decode('utf-8', 'replace')[:100]!r} declares {member.size} "
                           f"bytes, more than the {limit} this load allows (see autograd.serialization.LoadLimits)")
        if not member.comp_size or member.name.endswith(b"/"):
            return memoryview(b"")
        if member.flags & (1 | 32 | 64):
            _fail("encrypted archives are not supported")
        if member.method not in (0, 8):
            _fail(f"unsupported compression method {member.method}")
        h = member.header_ofs
        if h + 30 > len(self.buf) or struct.unpack_from("<I", self.buf, h)[0] != _LFH:
            _fail("invalid header or archive is corrupted")
        nlen, xlen = struct.unpack_from("<HH", self.buf, h + 26)
        start = h + 30 + nlen + xlen
        if start + member.comp_size > len(self.buf):
            _fail("invalid header or archive is corrupted")
        raw = memoryview(self.buf)[start:start + member.comp_size]
        if member.method == 0:
            return raw
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(raw, member.size)     # never more than declared: the cap is checked above
        except zlib.error as e:
            _fail(f"bad deflate data ({e})")
        if len(out) != member.size or not d.eof:
            _fail("unexpected decompressed size")
        return out


def _zip64_sizes(extra, usize, comp, hofs):
    """miniz reads the zip64 extra field (id 1) for the 32-bit fields that are saturated."""
    p = 0
    while p + 4 <= len(extra):
        fid, flen = struct.unpack_from("<HH", extra, p)
        if p + 4 + flen > len(extra):
            _fail("invalid header or archive is corrupted")
        if fid == 1:
            vals, q = [], p + 4
            for v in (usize, comp, hofs):
                if v == _U32:
                    if q + 8 > p + 4 + flen:
                        _fail("invalid zip64 extended information")
                    v = struct.unpack_from("<Q", extra, q)[0]
                    q += 8
                vals.append(v)
            return tuple(vals)
        p += 4 + flen
    return usize, comp, hofs
