"""Tiny hostile files for autograd.load, built from pickle opcodes and zipfile (nothing downloaded).

Each builder returns (name, bytes); :func:`run_all` loads each one in this process and reports, per file,
the outcome (the exception class or "ok"), the wall time and the peak traced memory, so the tests can run
the whole set in one subprocess under a hard timeout and an address-space limit.
"""
import io
import json
import struct
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib


def zip_of(pkl, storages=(), compress=False, extra=()):
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/byteorder", "little")
            z.writestr("archive/version", "3\n")
            for k, v in storages:
                z.writestr(f"archive/data/{k}", v)
            for k, v in extra:
                z.writestr(k, v)
    return out.getvalue()


def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def long(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(b)]) + b


def tup(*parts):
    return b"(" + b"".join(parts) + b"t"


def storage(stype="torch\nLongStorage", key="0", numel=2, loc=None):
    return b"(" + u("storage") + b"c" + stype.encode() + b"\n" + u(key) + (loc or u("cpu")) + long(numel) + b"tQ"


def tensor_v2(size, stride, rg=b"\x89", st=None, off=b"K\x00"):
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + (st or storage()) + off + size + stride + rg
            + b"ccollections\nOrderedDict\n)RtR")


DATA = [("0", struct.pack("<2q", 1, 2))]


def tuple_dag(levels=60):
    # t0 = (); t_{i+1} = (t_i, t_i) via the memo: 2**levels paths in a few hundred bytes; then hash it
    p = b"\x80\x02)q\x00"
    for i in range(levels):
        p += b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86q" + bytes([i + 1])
    return p + b"c__builtin__\nset\n]h" + bytes([levels]) + b"a\x85R."


def list_dag(levels=40):
    # l0 = [1]; l_{i+1} = [l_i, l_i]: a 2**40-element result (torch hands it back; repr would take years)
    p = b"\x80\x02]q\x00K\x01a"
    for i in range(levels):
        p += b"]q" + bytes([i + 1]) + b"h" + bytes([i]) + b"h" + bytes([i]) + b"e"[:0] + b"(h" + bytes([i]) + b"h" + bytes([i]) + b"e"
    return p + b"."


def bomb():
    """A 320 MiB zero storage deflated (to ~1 MiB), declared honestly in the zip directory."""
    pkl = b"\x80\x02" + tensor_v2(tup(long(20 << 24)), tup(b"K\x01"), st=storage("torch\nByteStorage", numel=20 << 24)) + b"."
    good = zip_of(pkl, [("0", b"\0")], compress=True)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 24)
    body = b"".join(c.compress(chunk) for _ in range(20)) + c.flush()
    small = zlib.compress(b"\0", 9)[2:-4]
    i = good.index(small, good.index(b"archive/data/0"))
    out = good[:i] + body + good[i + len(small):]
    # patch the sizes in the local and central headers of data/0 (crc is not checked, as by torch)
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        j = out.find(b"archive/data/0", out.find(b"archive/data/0") + 1 if sig == b"PK\x01\x02" else 0)
        h = out.rfind(sig, 0, j)
        o = 18 if sig == b"PK\x03\x04" else 20
        out = out[:h + o] + struct.pack("<II", len(body), 20 << 24) + out[h + o + 8:]
        if sig == b"PK\x01\x02":
            cd = out.rfind(b"PK\x05\x06")
            off = struct.unpack_from("<I", out, cd + 16)[0]
            out = out[:cd + 16] + struct.pack("<I", off + len(body) - len(small)) + out[cd + 20:]
    return out


def cases():
    """(name, file bytes, expected: "ok" or an exception class name accepted)."""
    big_zero_stride = tensor_v2(tup(long(2**40)), tup(b"K\x00"))
    yield "tuple-dag-hash", zip_of(tuple_dag()), "UnpicklingError"
    yield "list-dag", zip_of(b"\x80\x02" + list_dag()[2:]), "UnpicklingError"
    yield "list-dag-in-message", zip_of(b"\x80\x02" + list_dag()[2:-1] + b"\x85Q."), "UnpicklingError"
    yield "set-of-zero-stride-tensor", zip_of(b"\x80\x02c__builtin__\nset\n" + big_zero_stride + b"\x85R.", DATA), \
        "UnpicklingError"
    yield "size-of-zero-stride-tensor", zip_of(b"\x80\x02ctorch\nSize\n" + big_zero_stride + b"\x85R.", DATA), \
        "UnpicklingError"
    yield "zero-stride-tensor-alone", zip_of(b"\x80\x02" + big_zero_stride + b".", DATA), "ok"
    yield "deflate-bomb-320MiB", bomb(), "UnpicklingError"
    yield "none-pop-60MB", zip_of(b"\x80\x02" + b"N0" * (30 << 20) + b"}.", compress=True), "UnpicklingError"
    yield "mark-depth", zip_of(b"\x80\x02" + b"(" * 100000 + b"."), "UnpicklingError"
    yield "deep-lists", zip_of(b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"."), "UnpicklingError"
    yield "size-2**64", zip_of(b"\x80\x02" + tensor_v2(tup(long(2**64)), tup(b"K\x01")) + b".", DATA), "RuntimeError"
    yield "stride-2**64", zip_of(b"\x80\x02" + tensor_v2(tup(b"K\x02"), tup(long(2**64))) + b".", DATA), "RuntimeError"
    yield "negative-stride", zip_of(b"\x80\x02" + tensor_v2(tup(b"K\x02"), tup(long(-1))) + b".", DATA), "RuntimeError"
    yield "int-requires-grad", zip_of(b"\x80\x02" + tensor_v2(tup(b"K\x02"), tup(b"K\x01"), rg=b"\x88") + b".", DATA), \
        "RuntimeError"
    yield "location-not-a-string", zip_of(b"\x80\x02" + tensor_v2(tup(b"K\x02"), tup(b"K\x01"), st=storage(
        loc=b"K\x05")) + b".", DATA), "UnpicklingError"
    yield "bare-rebuild-function", zip_of(b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n."), "UnpicklingError"
    yield "bare-storage-type", zip_of(b"\x80\x02ctorch\nFloatStorage\n."), "UnpicklingError"
    yield "bare-storage", zip_of(b"\x80\x02" + storage() + b".", DATA), "UnpicklingError"
    good = zip_of(b"\x80\x02}.")
    eocd = good.rfind(b"PK\x05\x06")
    z64 = good[:eocd] + b"PK\x06\x07" + struct.pack("<IQI", 0, 2**64 - 1, 1) + good[eocd:]
    yield "damaged-zip64-locator", z64, "RuntimeError"
    yield "huge-member-count", good[:eocd + 10] + b"\xff\xff" + good[eocd + 12:], "RuntimeError"


def run_all(names=None):
    from pickle import UnpicklingError  # noqa: F401 - the classes the caller expects by name

    import autograd as ag

    def attempt(data, expected):
        try:
            ag.load(io.BytesIO(data))
            return "ok"
        except Exception as e:  # noqa: BLE001 - the class is the result
            return expected if expected in [c.__name__ for c in type(e).__mro__] else type(e).__name__

    rows = []
    for name, data, expected in cases():
        if names and name not in names:
            continue
        t = time.perf_counter()
        got = attempt(data, expected)                 # timed untraced: tracing slows the interpreter 10x
        dt = time.perf_counter() - t
        peak = None
        if name not in UNTRACED:
            tracemalloc.start()
            attempt(data, expected)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        rows.append({"name": name, "got": got, "expected": expected, "seconds": dt, "peak": peak,
                     "size": len(data)})
        del data
    return rows


# a 60 KiB deflated pickle of 60 MB: the inflated pickle itself is the memory (within max_inflated_bytes),
# the instruction limit is what stops it
UNTRACED = {"none-pop-60MB"}


if __name__ == "__main__":
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    print(json.dumps(run_all(sys.argv[1:])))
