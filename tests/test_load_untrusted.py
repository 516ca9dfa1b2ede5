"""autograd.load on untrusted files: tiny hostile files fail fast with documented classes inside the
resource limits (run in a subprocess with a timeout and an address-space cap), the files torch also
accepts load as torch.load(weights_only=True) loads them, and our own format detects any flipped byte."""
import io
import json
import os
import pickle
import random
import struct
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import autograd as ag
from autograd.serialization import LoadLimits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _hostile_files as hostile  # noqa: E402


def _torch_bytes(obj):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_hostile_files_fail_fast_with_documented_classes_in_a_subprocess():
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "_hostile_files.py")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(out.stdout.splitlines()[-1])
    assert len(rows) == len(list(hostile.cases()))
    for r in rows:
        assert r["got"] == r["expected"], r
        assert r["seconds"] < 2.0, r
        assert r["peak"] is None or r["peak"] < 16 * 2**20 + 2 * r["size"], r     # traced allocations


def _rezip(entries):
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w") as z:
            for n, d in entries:
                z.writestr(n, d)
    return out.getvalue()


def _same_as_torch(data):
    torch = pytest.importorskip("torch")
    try:
        want = torch.load(io.BytesIO(data), weights_only=True)
    except Exception:                                   # noqa: BLE001 - torch refuses: so must we
        with pytest.raises((RuntimeError, pickle.UnpicklingError)):
            ag.load(io.BytesIO(data))
        return
    got = ag.load(io.BytesIO(data))
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())


def test_duplicate_members_read_the_copy_torch_reads():
    torch = pytest.importorskip("torch")
    base = zipfile.ZipFile(io.BytesIO(_torch_bytes({"x": torch.tensor([1.0])})))
    entries = [(n, base.read(n)) for n in base.namelist()]
    for copies in (1, 2, 3):
        for pos in range(len(entries) + 1):
            e = list(entries)
            for j in range(copies):
                e.insert(pos, ("archive/data/0", np.float32([10 * (j + 1)]).tobytes()))
            _same_as_torch(_rezip(e))


def test_concatenated_archives_read_as_torch_reads_them():
    torch = pytest.importorskip("torch")
    a = _torch_bytes({"x": torch.tensor([1.0])})
    b = _torch_bytes({"x": torch.tensor([2.0, 3.0]), "y": torch.zeros(3)})
    for data in (a + a, a + b, b + a, a + _torch_bytes({"x": torch.tensor([7.0])})):
        _same_as_torch(data)


def test_unsigned_dtypes_and_v3_views_of_one_storage_are_shared_not_copied():
    torch = pytest.importorskip("torch")
    base = torch.arange(1 << 20, dtype=torch.int32).to(torch.uint16)
    obj = {f"v{i}": base[i:] for i in range(600)}
    obj.update(u32=torch.tensor([1, 2**32 - 1], dtype=torch.uint32), u64=torch.tensor([2**64 - 1], dtype=torch.uint64))
    out = ag.load(io.BytesIO(_torch_bytes(obj)))
    assert out["u64"].numpy().tolist() == [2**64 - 1] and out["u32"].dtype == np.uint32
    np.testing.assert_array_equal(out["v599"].numpy(), base[599:].numpy())
    assert all(np.shares_memory(out["v0"].numpy(), out[f"v{i}"].numpy()) for i in range(600))


def test_torch_files_from_a_path_share_the_files_buffer(tmp_path):
    torch = pytest.importorskip("torch")
    w = torch.randn(64, 32)
    torch.save({"w": w, "t": w.t(), "b": torch.arange(5)}, tmp_path / "m.pt")
    out = ag.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(out["t"].numpy(), w.t().numpy())
    out["w"].numpy()[0, 1] = 5.0                              # writable, and views follow
    assert out["t"].numpy()[1, 0] == 5.0


def test_limits_can_be_raised_by_keyword():
    pkl = b"\x80\x02]" + b"K\x01a" * 40000 + b"."             # 80,001 instructions
    data = hostile.zip_of(pkl)
    with pytest.raises(pickle.UnpicklingError, match="max_opcodes"):
        ag.load(io.BytesIO(data), limits=LoadLimits(max_opcodes=50_000))
    assert ag.load(io.BytesIO(data)) == [1] * 40000


# ---- our format -------------------------------------------------------------------------------------
def _ours(obj):
    buf = io.BytesIO()
    ag.save(obj, buf)
    return buf.getvalue()


def test_a_flipped_byte_anywhere_in_our_format_is_refused():
    data = _ours({"w": ag.ones(3), "n": 3, "s": "x", "a": np.arange(4, dtype=np.int16)})
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        with pytest.raises((RuntimeError, pickle.UnpicklingError)):
            ag.load(io.BytesIO(bytes(bad)))
    with pytest.raises(RuntimeError):
        ag.load(io.BytesIO(data + b"\0"))


def _v1(root, blobs, chunks):
    from autograd._autograd_format import MAGIC

    header = json.dumps({"format": "autograd-save", "version": 1, "root": root, "blobs": blobs}).encode()
    head = MAGIC + struct.pack("<Q", len(header)) + header
    return head + b"\0" * ((-len(head)) % 64) + chunks


def test_version_1_files_without_checksums_still_load():
    raw = np.float32([1, 2, 3]).tobytes()
    arr = {"blob": 0, "dtype": "float32", "shape": [3]}
    root = ["d", [[["s", "w"], ["m", 0, ["T", {"data": arr, "device": "cpu", "requires_grad": True}]]],
                  [["s", "k"], ["i", 7]]]]
    out = ag.load(io.BytesIO(_v1(root, [[0, 12]], raw)))
    assert out["k"] == 7 and out["w"].requires_grad and out["w"].numpy().tolist() == [1, 2, 3]


@pytest.mark.parametrize("root, blobs", [
    (["b", "yes"], []),                                                     # a string where a bool belongs
    (["s", ["not", "a", "string"]], []),                                    # a list where a string belongs
    (["i", True], []),
    (["m", 0, ["a", {"blob": -1, "dtype": "float32", "shape": [3]}]], [[0, 12]]),   # Python's negative index
    (["m", 0, ["a", {"blob": 0, "dtype": "object", "shape": [3]}]], [[0, 12]]),
    (["m", 0, ["T", {"data": {"blob": 0, "dtype": "int32", "shape": [3]}, "device": "cpu",
                     "requires_grad": True}]], [[0, 12]]),                  # integer tensor requiring grad
    (["m", 0, ["T", {"data": {"blob": 0, "dtype": "float32", "shape": [3]}, "device": "cpu",
                     "requires_grad": "no"}]], [[0, 12]]),
    (["d", [[["l", []], ["N"]]]], []),                                      # an unhashable key
    (["r", 0], []),
    (["N", 1], []),
])
def test_our_format_checks_every_entrys_types(root, blobs):
    with pytest.raises(RuntimeError):
        ag.load(io.BytesIO(_v1(root, blobs, bytes(12))))


@pytest.mark.parametrize("ind, shape", [([[0, 5]], [3]), ([[0, -1]], [3]), ([[0, 1]], [-2])])
def test_sparse_entries_outside_their_shape_are_refused(ind, shape):
    raw = np.int64(ind).tobytes() + np.float32([1, 2]).tobytes()
    spec = {"indices": {"blob": 0, "dtype": "int64", "shape": [1, 2]},
            "values": {"blob": 1, "dtype": "float32", "shape": [2]}, "shape": shape, "coalesced": False}
    with pytest.raises(RuntimeError):
        ag.load(io.BytesIO(_v1(["m", 0, ["S", spec]], [[0, 16], [64, 8]], raw[:16] + bytes(48) + raw[16:])))


# ---- fuzz: a few hundred mutations, fixed seed ---------------------------------------------------------
def test_mutated_files_raise_only_documented_classes():
    torch = pytest.importorskip("torch")
    seeds = [_torch_bytes({"w": torch.randn(3, 2), "step": torch.tensor(3.0), "lr": [0.1, (1, 2)], "m": {"a": None}}),
             _ours({"w": ag.ones(3), "g": [{"lr": 0.1, "params": [0, 1]}]})]
    rng = random.Random(1234)
    for i in range(200):
        bad = bytearray(seeds[i % 2])
        for _ in range(rng.choice((1, 1, 2, 8))):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            ag.load(io.BytesIO(bytes(bad)))
        except (RuntimeError, pickle.UnpicklingError):
            pass


def test_a_damaged_checkpoint_is_a_one_line_checkpoint_error(tmp_path):
    from minitorch_optim.app.checkpoint import CheckpointError, read

    p = tmp_path / "ck.pt"
    ag.save({"format": "minitorch_optim-checkpoint", "w": ag.ones(4)}, p)
    data = bytearray(p.read_bytes())
    data[-3] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted") as e:
        read(str(p))
    assert "\n" not in str(e.value)
