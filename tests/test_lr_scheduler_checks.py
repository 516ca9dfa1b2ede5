"""Closed forms (no torch needed), bad arguments (torch's errors and messages) and call-order warnings."""
from __future__ import annotations

import gc
import math
import warnings
import weakref

import pytest

import autograd
import minitorch_optim as mo
from minitorch_optim import lr_scheduler as ls
from _sched_helpers import make_opt, sched_ns


def walk(opt, sched, n):
    """lrs of group 0 after each of n steps (index 0 = after construction)."""
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


# ---- closed forms ----------------------------------------------------------------------------------
def test_step_lr_known_epochs():
    opt = make_opt("ours")
    lrs = walk(opt, ls.StepLR(opt, step_size=4, gamma=0.5), 20)
    for e in (0, 3, 4, 7, 8, 12, 19, 20):
        assert lrs[e] == pytest.approx(0.1 * 0.5 ** (e // 4), rel=1e-15)
    lrs = walk(opt := make_opt("ours"), ls.MultiStepLR(opt, [3, 9], gamma=0.1), 12)
    assert lrs[2:4] == pytest.approx([0.1, 0.01]) and lrs[9] == pytest.approx(0.001)
    lrs = walk(opt := make_opt("ours"), ls.ExponentialLR(opt, 0.9), 12)
    assert lrs == pytest.approx([0.1 * 0.9 ** e for e in range(13)], rel=1e-14)


def test_cosine_hits_eta_min_at_t_max_and_returns():
    opt = make_opt("ours")
    lrs = walk(opt, ls.CosineAnnealingLR(opt, T_max=10, eta_min=0.01), 20)
    assert lrs[5] == pytest.approx((0.1 + 0.01) / 2, rel=1e-13)
    assert lrs[10] == pytest.approx(0.01, rel=1e-13)
    assert lrs[20] == pytest.approx(0.1, rel=1e-13)
    assert all(a >= b for a, b in zip(lrs[:10], lrs[1:11]))
    for e in (3, 7, 13):
        assert lrs[e] == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2, rel=1e-12)


def test_linear_polynomial_constant_ends():
    opt = make_opt("ours")
    lrs = walk(opt, ls.LinearLR(opt, start_factor=0.25, end_factor=0.75, total_iters=4), 8)
    assert lrs == pytest.approx([0.025, 0.0375, 0.05, 0.0625, 0.075, 0.075, 0.075, 0.075, 0.075], rel=1e-14)
    lrs = walk(opt := make_opt("ours"), ls.PolynomialLR(opt, total_iters=4, power=2.0), 6)
    assert lrs == pytest.approx([0.1 * (1 - min(e, 4) / 4) ** 2 for e in range(7)], abs=1e-16)
    lrs = walk(opt := make_opt("ours"), ls.ConstantLR(opt, factor=0.5, total_iters=3), 5)
    assert lrs == pytest.approx([0.05, 0.05, 0.05, 0.1, 0.1, 0.1])


def test_one_cycle_peaks_at_pct_start():
    opt = make_opt("ours")
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.3, div_factor=20.0,
                          final_div_factor=50.0, base_momentum=0.8, max_momentum=0.9)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(99):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(1.0 / 20) and moms[0] == pytest.approx(0.9)
    peak = 29  # pct_start * total_steps - 1
    assert lrs[peak] == pytest.approx(1.0) and max(lrs) == lrs[peak]
    assert moms[peak] == pytest.approx(0.8) and min(moms) == moms[peak]
    assert lrs[99] == pytest.approx(1.0 / 20 / 50) and moms[99] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="Tried to step 101 times. The specified number of total steps is 100"):
        sched.step()  # step 100 is still allowed, 101 is not
        sched.step()


def test_cyclic_triangular_peak_and_adam_beta1():
    opt = make_opt("ours", "adam")
    sched = ls.CyclicLR(opt, 0.01, 0.11, step_size_up=5, base_momentum=0.85, max_momentum=0.95)
    lrs, b1 = [], []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        b1.append(opt.param_groups[0]["betas"][0])
        assert opt.param_groups[0]["betas"][1] == 0.99
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[5] == pytest.approx(0.11) and lrs[10] == pytest.approx(0.01)
    assert lrs[2] == pytest.approx(0.01 + 0.1 * 2 / 5) and lrs[7] == pytest.approx(0.01 + 0.1 * 3 / 5)
    assert b1[0] == pytest.approx(0.95) and b1[5] == pytest.approx(0.85) and b1[15] == pytest.approx(0.85)
    assert opt.param_groups[1]["base_momentum"] == 0.85 and opt.param_groups[1]["max_momentum"] == 0.95


def test_warm_restarts_reset_at_t0():
    opt = make_opt("ours")
    lrs = walk(opt, ls.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.0), 36)
    for restart in (5, 15, 35):
        assert lrs[restart] == pytest.approx(0.1, rel=1e-15)
        assert lrs[restart - 1] < 0.02
    assert lrs[10] == pytest.approx(0.05, rel=1e-13)  # half way through the period of 10
    opt = make_opt("ours")
    sched = ls.CosineAnnealingWarmRestarts(opt, T_0=4)
    sched.step(2.5)  # fractional epochs: no deprecation warning for this scheduler
    assert sched.T_cur == 2.5 and sched.last_epoch == 2
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * (1 + math.cos(math.pi * 2.5 / 4)))
    sched.step(9.0)
    assert sched.T_cur == 1.0 and opt.param_groups[0]["lr"] == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))


# ---- bad arguments -----------------------------------------------------------------------------------
class _NoMomentum(mo.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})

    def step(self, closure=None):
        return None


def _torch_no_momentum(params):
    import torch

    class NoMomentum(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            return None
    return NoMomentum(params)


def _plain(lib):
    from _sched_helpers import params
    return (_NoMomentum if lib == "ours" else _torch_no_momentum)(params(lib))


def _resume(ns, o):
    return ns.StepLR(o, 3, last_epoch=4)


BAD = {
    "not_optimizer": (TypeError, lambda ns, o, lib: ns.StepLR(object(), 3)),
    "not_optimizer_plateau": (TypeError, lambda ns, o, lib: ns.ReduceLROnPlateau("sgd")),
    "not_optimizer_cyclic": (TypeError, lambda ns, o, lib: ns.CyclicLR(None, 0.1, 1.0)),
    "not_optimizer_onecycle": (TypeError, lambda ns, o, lib: ns.OneCycleLR(3, 0.1, 10)),
    "resume_without_initial_lr": (KeyError, lambda ns, o, lib: _resume(ns, o)),
    "lambda_count": (ValueError, lambda ns, o, lib: ns.LambdaLR(o, [lambda e: 1.0])),
    "multiplicative_count": (ValueError, lambda ns, o, lib: ns.MultiplicativeLR(o, (lambda e: 1.0,) * 3)),
    "multiplicative_not_callable": (TypeError, lambda ns, o, lib: ns.MultiplicativeLR(o, 0.9)),
    "constant_factor_high": (ValueError, lambda ns, o, lib: ns.ConstantLR(o, factor=1.5)),
    "constant_factor_neg": (ValueError, lambda ns, o, lib: ns.ConstantLR(o, factor=-0.1)),
    "linear_start_zero": (ValueError, lambda ns, o, lib: ns.LinearLR(o, start_factor=0)),
    "linear_start_high": (ValueError, lambda ns, o, lib: ns.LinearLR(o, start_factor=1.1)),
    "linear_end_high": (ValueError, lambda ns, o, lib: ns.LinearLR(o, end_factor=1.2)),
    "linear_end_neg": (ValueError, lambda ns, o, lib: ns.LinearLR(o, end_factor=-0.5)),
    "seq_empty": (ValueError, lambda ns, o, lib: ns.SequentialLR(o, [], [])),
    "seq_not_scheduler": (TypeError, lambda ns, o, lib: ns.SequentialLR(o, [ns.StepLR(o, 2), 5], [3])),
    "seq_plateau": (ValueError, lambda ns, o, lib: ns.SequentialLR(o, [ns.ReduceLROnPlateau(o)], [])),
    "seq_other_optimizer": (ValueError, lambda ns, o, lib: ns.SequentialLR(
        o, [ns.StepLR(o, 2), ns.StepLR(make_opt(lib), 2)], [3])),
    "seq_milestones": (ValueError, lambda ns, o, lib: ns.SequentialLR(o, [ns.StepLR(o, 2), ns.StepLR(o, 3)],
                                                                     [3, 5])),
    "chain_empty": (ValueError, lambda ns, o, lib: ns.ChainedScheduler([])),
    "chain_not_scheduler": (TypeError, lambda ns, o, lib: ns.ChainedScheduler([ns.StepLR(o, 2), "x"])),
    "chain_plateau": (ValueError, lambda ns, o, lib: ns.ChainedScheduler([ns.StepLR(o, 2),
                                                                          ns.ReduceLROnPlateau(o)])),
    "chain_other_optimizer": (ValueError, lambda ns, o, lib: ns.ChainedScheduler(
        [ns.StepLR(o, 2), ns.StepLR(make_opt(lib), 2)])),
    "plateau_factor": (ValueError, lambda ns, o, lib: ns.ReduceLROnPlateau(o, factor=1.0)),
    "plateau_min_lrs": (ValueError, lambda ns, o, lib: ns.ReduceLROnPlateau(o, min_lr=[0.1, 0.1, 0.1])),
    "plateau_mode": (ValueError, lambda ns, o, lib: ns.ReduceLROnPlateau(o, mode="avg")),
    "plateau_threshold_mode": (ValueError, lambda ns, o, lib: ns.ReduceLROnPlateau(o, threshold_mode="pct")),
    "cyclic_mode": (ValueError, lambda ns, o, lib: ns.CyclicLR(o, 0.1, 1.0, mode="sine")),
    "cyclic_base_lr_count": (ValueError, lambda ns, o, lib: ns.CyclicLR(o, [0.1], 1.0)),
    "cyclic_max_lr_count": (ValueError, lambda ns, o, lib: ns.CyclicLR(o, 0.1, (1.0, 2.0, 3.0))),
    "cyclic_no_momentum": (ValueError, lambda ns, o, lib: ns.CyclicLR(_plain(lib), 0.1, 1.0)),
    "cyclic_momentum_count": (ValueError, lambda ns, o, lib: ns.CyclicLR(o, 0.1, 1.0, base_momentum=[0.8])),
    "onecycle_no_total": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1)),
    "onecycle_epochs_only": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, epochs=3)),
    "onecycle_total_zero": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, total_steps=0)),
    "onecycle_total_float": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, total_steps=10.5)),
    "onecycle_epochs_zero": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3)),
    "onecycle_spe_neg": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-3)),
    "onecycle_pct_high": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, 10, pct_start=1.5)),
    "onecycle_pct_int": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, 10, pct_start=1)),
    "onecycle_anneal": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, 0.1, 10, anneal_strategy="exp")),
    "onecycle_max_lr_count": (ValueError, lambda ns, o, lib: ns.OneCycleLR(o, [0.1] * 3, 10)),
    "onecycle_no_momentum": (ValueError, lambda ns, o, lib: ns.OneCycleLR(_plain(lib), 0.1, 10)),
    "warm_t0_zero": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, T_0=0)),
    "warm_t0_float": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, T_0=2.5)),
    "warm_tmult_zero": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, 3, T_mult=0)),
    "warm_tmult_float": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, 3, T_mult=1.5)),
    "warm_eta_min": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, 3, eta_min="0")),
    "warm_negative_epoch": (ValueError, lambda ns, o, lib: ns.CosineAnnealingWarmRestarts(o, 3).step(-1)),
}


def _raise(lib, name):
    exc, build = BAD[name]
    with pytest.raises(exc) as info:
        build(sched_ns(lib), make_opt(lib), lib)
    return str(info.value)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arguments(name):
    msg = _raise("ours", name)
    assert msg
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    ref = _raise("torch", name)
    if "other_optimizer" in name:  # the message holds the optimizers' reprs
        msg, ref = msg.split(" has ")[0], ref.split(" has ")[0]
    assert msg == ref


# ---- warnings and the optimizer.step wrapper -----------------------------------------------------------
def test_scheduler_before_optimizer_warns_once():
    opt = make_opt("ours")
    sched = ls.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # only the first call is checked
        opt2 = make_opt("ours")
        s2 = ls.ExponentialLR(opt2, 0.9)
        opt2.step()
        s2.step()
        s3 = ls.LinearLR(opt2, total_iters=3)  # a second scheduler reuses the wrapper
        opt2.step()
        s3.step()


def test_overridden_optimizer_step_warns():
    opt = make_opt("ours")
    sched = ls.StepLR(opt, 2)
    opt.step = lambda closure=None: None  # replaced after the scheduler was built
    opt.step()
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched.step()


def test_wrapped_step_keeps_hooks_updates_and_weakref():
    p = autograd.tensor([1.0, 2.0], requires_grad=True)
    opt = mo.SGD([p], lr=0.5)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    sched = ls.StepLR(opt, 1, gamma=0.5)
    assert getattr(opt.step, "_wrapped_by_lr_sched", False) and "step" in vars(opt)
    p.grad = autograd.tensor([1.0, 1.0])
    opt.step()
    sched.step()
    assert calls == ["pre", "post"] and opt._opt_called
    assert p.detach().numpy().tolist() == [0.5, 1.5] and opt.param_groups[0]["lr"] == 0.25
    ref = weakref.ref(opt)
    del opt, sched
    gc.collect()
    assert ref() is None  # the wrapper does not keep the optimizer alive


def test_get_lr_outside_step_and_epoch_argument_warn():
    opt = make_opt("ours")
    sched = ls.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    opt.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)  # closed form
    plateau = ls.ReduceLROnPlateau(opt)
    with pytest.warns(UserWarning, match="The epoch parameter"):
        plateau.step(1.0, epoch=4)
    assert plateau.last_epoch == 4


def test_public_names_and_alias():
    assert issubclass(ls._LRScheduler, ls.LRScheduler) and mo.lr_scheduler is ls
    for name in ls.__all__:
        assert isinstance(getattr(ls, name), type)
    assert len(ls.__all__) == 16
    opt = make_opt("ours")
    sched = ls.LambdaLR(opt, lambda e: 1.0)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02] == sched.base_lrs
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.1, 0.02]
