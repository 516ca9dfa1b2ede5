"""The main job: a short run learns, --resume continues identically, bad input fails cleanly."""
import argparse
import os

import numpy as np
import pytest

from minitorch_optim.app import checkpoint as ckpt
from minitorch_optim.app.main import main
from minitorch_optim.app.cli import add_train_arguments, train


def _args(*argv):
    return add_train_arguments(argparse.ArgumentParser()).parse_args(["--no-progress", *argv])


SMALL = ("--samples", "150", "--hidden", "16", "--batch-size", "32", "--ema", "0", "--swa-start", "0")


def test_short_run_learns_well_above_chance():
    out = train(_args("--epochs", "6", "--batch-size", "32", "--lr", "0.02"), log=lambda *a: None)
    assert out["results"]["plain"]["val_acc"] > 0.8   # three classes: chance is 1/3


@pytest.mark.parametrize("extra", [("--scheduler", "onecycle", "--ema", "0.9", "--swa-start", "3"),
                                   ("--optimizer", "sgd", "--scheduler", "step")])
def test_resume_continues_identically(tmp_path, extra):
    base = (*SMALL[:-4], "--epochs", "4", *extra)
    full = train(_args(*base), log=lambda *a: None)
    path = str(tmp_path / "ck.npz")
    first = train(_args(*base, "--save", path, "--stop-after", "2"), log=lambda *a: None)
    assert first["last_epoch"] == 2
    resumed = train(_args(*base, "--resume", path, "--save", path), log=lambda *a: None)
    for (k, a), (_, b) in zip(full["model"].state_dict().items(), resumed["model"].state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert full["results"] == resumed["results"]
    assert [f for f in os.listdir(tmp_path) if f.startswith(".ckpt-")] == []   # atomic writes leave no temp


def test_bad_flags_are_argparse_errors(capsys):
    for argv in (["train", "--epochs", "0"], ["train", "--optimizer", "nope"], ["train", "--lr", "-1"],
                 ["train", "--ema", "1.5"], ["train", "--scheduler", "weird"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_corrupted_and_mismatched_checkpoints(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-progress", *SMALL, "--epochs", "1", "--resume", str(bad)])
    assert e.value.code == 2 and "corrupted" in capsys.readouterr().err
    assert bad.read_bytes() == b"not a zip file at all"
    good = str(tmp_path / "good.npz")
    train(_args(*SMALL, "--epochs", "1", "--save", good), log=lambda *a: None)
    before = open(good, "rb").read()
    with pytest.raises(ckpt.CheckpointError, match="other settings"):
        train(_args(*SMALL, "--epochs", "2", "--optimizer", "sgd", "--resume", good), log=lambda *a: None)
    assert open(good, "rb").read() == before
    meta, arrays = ckpt.load(good)
    arrays.pop("model/0.weight")
    broken = str(tmp_path / "broken.npz")
    ckpt.save(broken, {k: v for k, v in meta.items() if k not in ("format", "version")}, arrays)
    with pytest.raises(ckpt.CheckpointError, match="does not match"):
        train(_args(*SMALL, "--epochs", "2", "--resume", broken), log=lambda *a: None)


def test_checkpoint_round_trip_keeps_tuples_and_refuses_pickles(tmp_path):
    p = str(tmp_path / "c.npz")
    ckpt.save(p, {"x": (1, 2), "y": [1.5, None]}, {"a/b": np.arange(3)})
    meta, arrays = ckpt.load(p)
    assert meta["x"] == (1, 2) and meta["y"] == [1.5, None] and arrays["a/b"].tolist() == [0, 1, 2]
    obj = str(tmp_path / "o.npz")
    np.savez(obj, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load(obj)


def test_bench_subcommand_reports_ratios(capsys):
    main(["bench", "--sizes", "2000x4", "--optimizers", "adam,sgd", "--repeat", "1", "--json"])
    import json

    res = json.loads(capsys.readouterr().out)
    paths = {(r["optimizer"], r["path"]) for r in res["rows"]}
    assert {("Adam", "for-loop"), ("Adam", "foreach"), ("SGD", "default")} <= paths
    assert all(r["ms"] > 0 and r["floor_ms"] > 0 and r["vs_floor"] > 0 for r in res["rows"])
    with pytest.raises(SystemExit):
        main(["bench", "--optimizers", "nope"])
