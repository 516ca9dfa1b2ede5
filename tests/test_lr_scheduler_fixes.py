"""The opt-in scheduler fixes (``lr_scheduler.set_fixes`` / ``with lr_scheduler.fixes():``): for each of
torch's known failing sequences, torch's value (and ours with the switch off, equal to it) and the value the
issue expects (ours with the switch on)."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim import lr_scheduler as S


@pytest.fixture(autouse=True)
def _fixes_off_after():
    yield
    S.set_fixes(False)


def _sgd(lib, lr=0.1, n=1):
    mod = lib.optim if lib is not ag else optim
    return mod.SGD([{"params": [lib.zeros(1, requires_grad=True) if lib is not ag else
                                ag.tensor(np.zeros(1), requires_grad=True)]} for _ in range(n)], lr=lr)


def _lrs(sched, n=5, metrics=None):
    out = []
    for _ in range(n):
        out.append(round(float(sched.optimizer.param_groups[0]["lr"]), 10))
        sched.optimizer.step()
        sched.step() if metrics is None else sched.step(metrics)
    return out


def _torch_sched():
    torch = pytest.importorskip("torch")
    return torch, torch.optim.lr_scheduler


def _nested(lib, L, wrap, composite):
    opt = _sgd(lib)
    if composite == "sequential":
        inner = L.SequentialLR(opt, [L.ConstantLR(opt, factor=0.5, total_iters=2),
                                     L.ConstantLR(opt, factor=0.2, total_iters=10)], milestones=[2])
    else:
        inner = L.ChainedScheduler([L.ConstantLR(opt, factor=0.5, total_iters=2), L.ExponentialLR(opt, 0.9)])
    return L.SequentialLR(opt, [inner], milestones=[]) if wrap else inner


@pytest.mark.parametrize("composite", ["sequential", "chained"])
def test_nested_sequential_lr_is_a_transparent_wrapper_with_the_fixes(composite):
    torch, TL = _torch_sched()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_two = _lrs(_nested(torch, TL, True, composite))
        ours_two = _lrs(_nested(ag, S, True, composite))
        one = _lrs(_nested(ag, S, False, composite))
    assert ours_two == torch_two and torch_two != one   # off: torch's (shifted by one step)
    with S.fixes():
        fixed = _lrs(_nested(ag, S, True, composite))
    assert fixed == one
    if composite == "sequential":
        assert one == [0.05, 0.05, 0.02, 0.02, 0.02] and torch_two[:2] == [0.05, 0.02]


@pytest.mark.parametrize("kind", ["LambdaLR", "CosineAnnealingWarmRestarts"])
def test_group_added_later_is_scheduled_with_the_fixes(kind):
    torch, TL = _torch_sched()

    def build(lib, L):
        opt = _sgd(lib, lr=1e-3)
        sched = L.LambdaLR(opt, lambda e: 0.5 ** e) if kind == "LambdaLR" else L.CosineAnnealingWarmRestarts(opt, 10)
        opt.step()
        sched.step()
        extra = torch.zeros(1, requires_grad=True) if lib is torch else ag.tensor(np.zeros(1), requires_grad=True)
        opt.add_param_group({"params": [extra], "lr": 0.1})
        return opt, sched
    for lib, L in [(torch, TL), (ag, S)]:  # torch (and ours by default): the next step fails
        opt, sched = build(lib, L)
        with pytest.raises(ValueError, match="zip"):
            sched.step()
    S.set_fixes(True)
    opt, sched = build(ag, S)
    sched.step()
    sched.step()
    new = opt.param_groups[1]["lr"]
    expect = 0.1 * 0.5 ** 3 if kind == "LambdaLR" else 0.1 * (1 + math.cos(math.pi * 3 / 10)) / 2
    assert new == pytest.approx(expect, rel=1e-12) and opt.param_groups[1]["initial_lr"] == 0.1
    assert opt.param_groups[0]["lr"] == pytest.approx(expect / 100, rel=1e-12)  # (the first group: same factor)


def _resume(lib, L, last_epoch):
    opt = _sgd(lib, lr=1.0)
    opt.param_groups[0]["initial_lr"] = 1.0    # as a loaded optimizer state holds it
    opt.param_groups[0]["lr"] = 0.9            # the lr the interrupted run had reached
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return L.SequentialLR(opt, [L.ConstantLR(opt, factor=0.1, total_iters=20), L.ExponentialLR(opt, 0.9)],
                              milestones=[3], last_epoch=last_epoch)


def test_sequential_lr_resumes_at_last_epoch_with_the_fixes():
    torch, TL = _torch_sched()
    fresh = _lrs(_resume(ag, S, -1), 8)
    assert fresh[:6] == [0.1, 0.1, 0.1, 1.0, 0.9, 0.81]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_resumed, ours_resumed = _lrs(_resume(torch, TL, 4), 4), _lrs(_resume(ag, S, 4), 4)
    assert ours_resumed == torch_resumed and torch_resumed[0] == 0.1     # torch: back to the warm-up value
    with S.fixes():
        sched = _resume(ag, S, 4)
        assert sched.last_epoch == 4
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _lrs(sched, 4) == fresh[4:8]                          # 0.9, 0.81, ... as the fresh run


def test_plateau_inside_chained_and_sequential_with_the_fixes():
    torch, TL = _torch_sched()
    for lib, L in [(torch, TL), (ag, S)]:  # torch (and ours by default) refuse the member
        opt = _sgd(lib)
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
            L.ChainedScheduler([L.ExponentialLR(opt, 0.9), L.ReduceLROnPlateau(opt, patience=0)])
    S.set_fixes(True)
    opt = _sgd(ag)
    chained = S.ChainedScheduler([S.ExponentialLR(opt, 0.9), S.ReduceLROnPlateau(opt, patience=0, factor=0.5)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _lrs(chained, 4, metrics=1.0)   # the metric never improves after the first value
    assert got == pytest.approx([0.1, 0.09, 0.0405, 0.018225], rel=1e-9)
    with pytest.raises(TypeError, match="needs the metric"):
        chained.step()
    opt = _sgd(ag)
    seq = S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=2), S.ReduceLROnPlateau(opt, patience=0)], [2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _lrs(seq, 5, metrics=1.0)
    assert got == pytest.approx([0.01, 0.055, 0.1, 0.1, 0.01], rel=1e-9)


def test_switch_is_off_by_default_and_scoped():
    assert S.fixes_enabled() is False
    with S.fixes():
        assert S.fixes_enabled() is True
    assert S.set_fixes(True) is False and S.fixes_enabled() is True
