"""``train --amp``: the forward runs under autocast (the run's numbers differ from float32's while the
parameters stay float32), the run still learns; fp16 with lbfgs is refused (GradScaler takes no closure)."""
import argparse

import pytest

import autograd as ag
from minitorch_optim.app.cli import add_train_arguments, train
from minitorch_optim.app.settings import UsageError

QUIET = {"log": lambda *a: None, "warn": lambda m: None}
BASE = ("--no-progress", "--samples", "200", "--hidden", "16", "--batch-size", "32", "--epochs", "5",
        "--swa-start", "0", "--ema", "0")


def _args(*argv):
    return add_train_arguments(argparse.ArgumentParser()).parse_args([*BASE, *argv])


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_train_amp_runs_in_low_precision_and_learns(amp, monkeypatch):
    seen = []
    real = ag.amp.autocast_mode._run

    def spy(fn, name, args, kwargs):
        out = real(fn, name, args, kwargs)
        if name == "linear":
            seen.append(str(out.dtype))
        return out
    monkeypatch.setattr(ag.amp.autocast_mode, "_run", spy)
    low = ag.float16 if amp == "fp16" else ag.bfloat16
    x = ag.ones(2, 2, dtype=low)
    if ag.nn.functional.linear(x, x).dtype != low:
        pytest.xfail(f"linear on {amp} inputs gives {ag.nn.functional.linear(x, x).dtype} (the op, not autocast)")
    out = train(_args("--amp", amp), **QUIET)
    assert seen and set(seen) == {str(low)}
    plain = train(_args(), **QUIET)
    ours, ref = out["results"]["plain"], plain["results"]["plain"]
    assert ours["val_loss"] != ref["val_loss"]
    assert abs(ours["val_loss"] - ref["val_loss"]) < 0.05 and ours["val_acc"] > 0.4   # chance is 1/3
    assert all(p.dtype == ag.float32 for p in out["model"].parameters())


def test_train_amp_fp16_with_lbfgs_is_a_usage_error():
    with pytest.raises(UsageError, match="--amp fp16 needs loss scaling"):
        train(_args("--amp", "fp16", "--optimizer", "lbfgs"), **QUIET)


def test_resumed_fp16_run_continues_the_grad_scaler_history(tmp_path, monkeypatch):
    """--save keeps the GradScaler's scale and growth tracker and --resume restores them: interrupted and
    resumed equals uninterrupted bit for bit, with a scale history that grows and backs off within the run."""
    import numpy as np

    base = ag.amp.GradScaler

    class Eager(base):      # growth every 3 clean steps from 2**14: the scale rises until fp16 overflows
        def __init__(self, device="cuda", **kw):
            super().__init__(device, init_scale=2.0 ** 14, growth_interval=3)
    monkeypatch.setattr(ag.amp, "GradScaler", Eager)
    scales = []
    real_update = base.update

    def update(self, new_scale=None):
        real_update(self, new_scale)
        scales.append(self.get_scale())
    monkeypatch.setattr(base, "update", update)
    full_path, path = str(tmp_path / "full.pt"), str(tmp_path / "ck.pt")
    full = train(_args("--amp", "fp16", "--save", full_path), **QUIET)        # 5 epochs (BASE)
    history = list(scales)
    assert max(history) > 2.0 ** 14 and any(b < a for a, b in zip(history, history[1:]))   # grew and backed off
    train(_args("--amp", "fp16", "--save", path, "--stop-after", "2"), **QUIET)
    done = len(scales) - len(history)
    assert ag.load(path)["amp"] == "fp16" and ag.load(path)["scaler"]["scale"] == history[done - 1]
    scales.clear()
    resumed = train(_args("--resume", path, "--save", path), **QUIET)     # --amp comes from the checkpoint
    assert scales == history[done:]
    for (k, a), (_, b) in zip(full["model"].state_dict().items(), resumed["model"].state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert full["history"] == resumed["history"]
    assert ag.load(path)["scaler"] == ag.load(full_path)["scaler"]
    with pytest.raises(UsageError, match="trained with --amp fp16"):
        train(_args("--resume", path, "--amp", "bf16", "--epochs", "6"), **QUIET)
