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
