"""autograd.save / autograd.load: exact round trips of every state-dict kind, torch.save files read
without torch's unpickler, and hostile files refused with nothing executed."""
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F
import minitorch_optim as optim
from minitorch_optim import lr_scheduler as S
from minitorch_optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool", "complex64",
          "complex128"]


def _roundtrip(obj, **kw):
    buf = io.BytesIO()
    ag.save(obj, buf)
    buf.seek(0)
    return ag.load(buf, **kw)


def _same(a, b):
    """Structure, types, dtypes, shapes and bits all equal (a dict subclass other than OrderedDict, such as
    the optimizer's write-through state entries, counts as a dict: it is saved as one)."""
    plain = (lambda t: dict if issubclass(t, dict) and not issubclass(t, OrderedDict) else t)
    assert plain(type(a)) is plain(type(b)), (type(a), type(b))
    if isinstance(a, ag.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert a.numpy().tobytes() == b.numpy().tobytes()
        assert str(a.device) == str(b.device)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert list(a) == list(b)
        assert getattr(a, "_metadata", None) == getattr(b, "_metadata", None)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b)      # -0.0, nan, inf exactly
    else:
        assert a == b


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensors_arrays_and_scalars_of_every_dtype(dtype):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4)) * 50).astype(dtype)
    obj = {"t": ag.tensor(a), "nd": a[:, ::2], "scalar": a.reshape(-1)[0], "zero_d": ag.tensor(a.reshape(-1)[1]),
           "empty": ag.tensor(a[:0])}
    _same(obj | {"nd": np.ascontiguousarray(a[:, ::2])}, _roundtrip(obj))


def test_python_values_and_containers():
    obj = OrderedDict(a=[1, -2 ** 70, 3.5, -0.0, float("nan"), float("inf"), 1 + 2j], b=(None, True, False, "é"),
                      c={0: "int key", "s": b"\x00\xff", (1, 2): "tuple key"}, d=ag.float64,
                      e=ag.device("cpu"), f=[[], {}, ()])
    obj._metadata = {"": {"version": 1}}
    _same(obj, _roundtrip(obj))


def test_same_tensor_twice_comes_back_as_one_object_and_parameters_stay_parameters():
    t = ag.ones(3)
    p = nn.Parameter(ag.zeros(2))
    out = _roundtrip({"a": t, "b": t, "p": p})
    assert out["a"] is out["b"] and type(out["p"]) is nn.Parameter and out["p"].requires_grad


def test_unsupported_objects_are_refused_with_a_hint():
    with pytest.raises(TypeError, match="state_dict"):
        ag.save(nn.Linear(2, 2), io.BytesIO())
    with pytest.raises(TypeError, match="object"):
        ag.save({"f": lambda: 0}, io.BytesIO())


def _model():
    return nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _train(model, opt, steps, seed, sched=None):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x, y = ag.tensor(rng.standard_normal((16, 3)).astype(np.float32)), ag.tensor(rng.integers(0, 2, 16))

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        opt.step(closure)
        if sched is not None:
            sched.step()


OPTIMIZERS = [("Adam", {"lr": 1e-2, "amsgrad": True}), ("AdamW", {}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
              ("ASGD", {}), ("Rprop", {}), ("RMSprop", {"centered": True, "momentum": 0.5}), ("Adagrad", {}),
              ("Adadelta", {}), ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("LBFGS", {"history_size": 3}),
              ("Adafactor", {}), ("Muon", {"adjust_lr_fn": "match_rms_adamw"})]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_model_optimizer_and_scheduler_resume_byte_identically(tmp_path, name, kw):
    def make():
        ag.manual_seed(0)
        m = _model()
        params = [p for p in m.parameters() if p.ndim == 2] if name == "Muon" else m.parameters()
        o = getattr(optim, name)(params, **kw)
        return m, o, S.StepLR(o, step_size=2, gamma=0.5)

    m1, o1, s1 = make()
    _train(m1, o1, 3, seed=1, sched=s1)
    path = tmp_path / "ck.pt"
    ag.save({"model": m1.state_dict(), "optim": o1.state_dict(), "sched": s1.state_dict()}, path)
    first = path.read_bytes()
    ck = ag.load(path)
    _same(o1.state_dict(), ck["optim"])
    _same(m1.state_dict(), ck["model"])
    m2, o2, s2 = make()
    m2.load_state_dict(ck["model"])
    o2.load_state_dict(ck["optim"])
    s2.load_state_dict(ck["sched"])
    _train(m1, o1, 3, seed=2, sched=s1)
    _train(m2, o2, 3, seed=2, sched=s2)
    _same(m1.state_dict(), m2.state_dict())
    _same(o1.state_dict(), o2.state_dict())
    ag.save({"model": m1.state_dict(), "optim": o1.state_dict(), "sched": s1.state_dict()}, path)
    b1 = path.read_bytes()
    ag.save({"model": m2.state_dict(), "optim": o2.state_dict(), "sched": s2.state_dict()}, path)
    assert path.read_bytes() == b1 and b1 != first



def test_schedulers_and_averaged_models_round_trip():
    m = _model()
    o = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    scheds = [S.OneCycleLR(o, max_lr=0.5, total_steps=20), S.ReduceLROnPlateau(o),
              S.CosineAnnealingWarmRestarts(o, T_0=3)]
    for s in scheds[:1]:
        for _ in range(4):
            o.step()
            s.step()
    scheds[1].step(1.0)
    for s in scheds:
        _same(s.state_dict(), _roundtrip(s.state_dict()))
    ema = AveragedModel(m, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    ema.update_parameters(m)
    sd = _roundtrip(ema.state_dict())
    _same(ema.state_dict(), sd)
    other = AveragedModel(_model(), multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    other.load_state_dict(sd)
    _same(ema.state_dict(), other.state_dict())


def test_path_writes_are_atomic_with_0644_and_no_temporaries(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "x.pt"
        ag.save({"a": ag.ones(2)}, path)
        assert (os.stat(path).st_mode & 0o777) == 0o644
        before = path.read_bytes()
        with pytest.raises(TypeError):
            ag.save({"a": ag.zeros(2), "bad": object()}, path)       # fails before anything is written
        assert path.read_bytes() == before and os.listdir(tmp_path) == ["x.pt"]
        with pytest.raises(RuntimeError, match="Parent directory"):
            ag.save({}, tmp_path / "missing" / "x.pt")
        with pytest.raises(IsADirectoryError):
            ag.save({}, tmp_path)
        assert os.listdir(tmp_path) == ["x.pt"]
    finally:
        os.umask(old)


def test_map_location():
    obj = {"w": ag.ones(2)}
    assert str(_roundtrip(obj, map_location="cpu")["w"].device) == "cpu"
    assert str(_roundtrip(obj, map_location={"cuda:0": "cpu"})["w"].device) == "cpu"
    if not ag.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            _roundtrip(obj, map_location="cuda")


@settings(deadline=None, max_examples=30)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda ch: st.lists(ch, max_size=3) | st.tuples(ch, ch)
                    | st.dictionaries(st.text(max_size=3) | st.integers(), ch, max_size=3), max_leaves=12))
def test_any_plain_structure_round_trips(obj):
    _same(obj, _roundtrip(obj))


# ---- files written by torch.save -------------------------------------------------------------------
def _torch_bytes(obj, **kw):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def test_torch_model_and_optimizer_state_dicts_load_and_continue_like_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    topt = torch.optim.Adam(tm.parameters(), lr=1e-2, weight_decay=0.1)
    x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    for _ in range(3):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(x), y).backward()
        topt.step()
    ck = ag.load(io.BytesIO(_torch_bytes({"model": tm.state_dict(), "optim": topt.state_dict()})))
    assert ck["model"]._metadata == tm.state_dict()._metadata
    for k, v in tm.state_dict().items():
        assert ck["model"][k].dtype == np.dtype(str(v.dtype).split(".")[1])
        np.testing.assert_array_equal(ck["model"][k].numpy(), v.numpy(), err_msg=k)
    st0 = ck["optim"]["state"][0]
    assert st0["step"].shape == () and float(st0["step"]) == 3.0 and st0["step"].dtype == np.float32
    m = _model()
    m.load_state_dict(ck["model"])
    o = optim.Adam(m.parameters(), lr=1e-2, weight_decay=0.1)
    o.load_state_dict(ck["optim"])
    X, Y = ag.tensor(x.numpy()), ag.tensor(y.numpy())
    for _ in range(2):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(x), y).backward()
        topt.step()
        o.zero_grad()
        F.cross_entropy(m(X), Y).backward()
        o.step()
    for (k, a), b in zip(m.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("protocol", [2, 4])
def test_torch_views_shared_storages_dtypes_and_parameters(protocol):
    torch = pytest.importorskip("torch")
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    obj = {"base": base, "col": base[:, 2], "t": base.t(), "slice": base[1:3, 1:], "p": torch.nn.Parameter(torch.ones(3)),
           "size": torch.Size([2, 3]), "dtype": torch.int16, "dev": torch.device("cpu"), "set": {1, 2},
           **{f"d_{d}": torch.tensor([1, 0, 3]).to(getattr(torch, d)) for d in
              ("float16", "float32", "int8", "uint8", "int16", "int32", "int64", "bool", "complex64")}}
    out = ag.load(io.BytesIO(_torch_bytes(obj, pickle_protocol=protocol)))
    for k in ("base", "col", "t", "slice"):
        np.testing.assert_array_equal(out[k].numpy(), obj[k].numpy(), err_msg=k)
    assert np.shares_memory(out["col"].numpy(), out["base"].numpy())       # torch's views share storage
    out["base"].numpy()[0, 2] = -1.0
    assert out["col"].numpy()[0] == -1.0 and out["t"].numpy()[2, 0] == -1.0
    assert type(out["p"]) is nn.Parameter and out["p"].requires_grad
    assert out["size"] == (2, 3) and out["dtype"] == np.int16 and str(out["dev"]) == "cpu" and out["set"] == {1, 2}
    for d in ("float16", "float32", "int8", "uint8", "int16", "int32", "int64", "bool", "complex64"):
        assert out[f"d_{d}"].dtype == np.dtype(d)
        np.testing.assert_array_equal(out[f"d_{d}"].numpy(), obj[f"d_{d}"].numpy())


# ---- hostile and broken files ----------------------------------------------------------------------
class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _torch_like_zip(pkl):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


@pytest.mark.parametrize("protocol", [2, 4])
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"w": [1, _Evil(marker)]}, protocol=protocol)
    for data in (_torch_like_zip(evil), evil):
        with pytest.raises(pickle.UnpicklingError):
            ag.load(io.BytesIO(data))
    assert not marker.exists()
    for target in ("builtins.eval", "numpy.core.multiarray._reconstruct", "collections.deque"):
        mod, name = target.rsplit(".", 1)
        pkl = b"\x80\x02c" + f"{mod}\n{name}\n".encode() + b")R."
        with pytest.raises(pickle.UnpicklingError, match="Weights only"):
            ag.load(io.BytesIO(_torch_like_zip(pkl)))


def test_state_setting_on_anything_but_an_ordered_dicts_metadata_is_refused():
    # EMPTY_DICT, then BUILD with {'x': 1}: pickle would set attributes; we allow only OrderedDict._metadata
    pkl = b"\x80\x02}q\x00}q\x01X\x01\x00\x00\x00xK\x01sb."
    with pytest.raises(pickle.UnpicklingError, match="state"):
        ag.load(io.BytesIO(_torch_like_zip(pkl)))


def test_a_torch_file_with_a_custom_class_is_refused():
    pytest.importorskip("torch")
    data = _torch_bytes({"obj": OrderedDict(a=_Plain())})
    with pytest.raises(pickle.UnpicklingError, match="_Plain"):
        ag.load(io.BytesIO(data))


class _Plain:
    pass


def test_truncated_and_corrupted_files(tmp_path):
    ours = io.BytesIO()
    ag.save({"w": ag.ones(100)}, ours)
    ours = ours.getvalue()
    for cut in (4, 12, 40, len(ours) - 10):
        with pytest.raises((RuntimeError, pickle.UnpicklingError)):
            ag.load(io.BytesIO(ours[:cut]))
    bad = bytearray(ours)
    bad[20:30] = b"##########"
    with pytest.raises(RuntimeError, match="corrupted"):
        ag.load(io.BytesIO(bytes(bad)))


def test_truncated_torch_zips():
    torch = pytest.importorskip("torch")
    t = _torch_bytes({"w": torch.ones(100)})
    for cut in (10, len(t) // 2, len(t) - 30):
        with pytest.raises(RuntimeError):
            ag.load(io.BytesIO(t[:cut]))
    hand = _torch_like_zip(b"\x80\x02}q\x00.")
    with pytest.raises(RuntimeError):
        ag.load(io.BytesIO(hand[:len(hand) // 2]))


def test_wrong_magic_and_bare_pickles():
    with pytest.raises(pickle.UnpicklingError, match="invalid load key"):
        ag.load(io.BytesIO(b"GIF89a......"))
    with pytest.raises(pickle.UnpicklingError, match="bare pickle"):
        ag.load(io.BytesIO(pickle.dumps({"a": 1})))
