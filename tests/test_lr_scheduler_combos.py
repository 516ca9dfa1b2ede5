"""Schedulers combined (stacked, ChainedScheduler, SequentialLR) and ReduceLROnPlateau, against torch."""
from __future__ import annotations

import copy
import itertools
import warnings

import pytest

from _sched_helpers import make_opt, sched_ns, snapshot

torch = pytest.importorskip("torch")


def stacked(ns, o):
    return [ns.ExponentialLR(o, 0.95), ns.MultiStepLR(o, [10, 30], 0.5), ns.ConstantLR(o, 0.5, 6)]


def chained(ns, o):
    return [ns.ChainedScheduler([ns.LinearLR(o, 0.1, 1.0, 10), ns.ExponentialLR(o, 0.97),
                                 ns.StepLR(o, 15, 0.5)])]


def chained_explicit_opt(ns, o):
    return [ns.ChainedScheduler([ns.ConstantLR(o, 0.25, 5), ns.CosineAnnealingLR(o, 20, 0.001)], optimizer=o)]


def sequential(ns, o):
    return [ns.SequentialLR(o, [ns.LinearLR(o, 0.1, 1.0, 8), ns.CosineAnnealingLR(o, 20, 0.0001),
                                ns.ExponentialLR(o, 0.9)], milestones=[8, 30])]


def sequential_lambda(ns, o):
    return [ns.SequentialLR(o, [ns.ConstantLR(o, 0.3, 4), ns.LambdaLR(o, lambda e: 0.9 ** e),
                                ns.MultiplicativeLR(o, lambda e: 0.98)], milestones=[5, 20])]


def sequential_of_chained(ns, o):
    inner = ns.ChainedScheduler([ns.ExponentialLR(o, 0.9), ns.StepLR(o, 4, 0.5)])
    return [ns.SequentialLR(o, [inner, ns.LinearLR(o, 0.5, 1.0, 5)], milestones=[10])]


def test_chained_after_a_milestone_fails_like_torch():
    # at a milestone SequentialLR restarts the next member with _update_lr(0), which a ChainedScheduler
    # cannot do (it has no get_lr): torch 2.13 raises NotImplementedError there, and so do we
    for lib in ("ours", "torch"):
        ns = sched_ns(lib)
        o = make_opt(lib)
        inner = ns.ChainedScheduler([ns.ExponentialLR(o, 0.9), ns.StepLR(o, 4, 0.5)])
        seq = ns.SequentialLR(o, [ns.LinearLR(o, 0.5, 1.0, 5), inner], milestones=[3])
        for _ in range(2):
            o.step()
            seq.step()
        with pytest.raises(NotImplementedError):
            seq.step()


def chained_of_sequential(ns, o):
    seq = ns.SequentialLR(o, [ns.ConstantLR(o, 0.5, 3), ns.PolynomialLR(o, 40, 1.5)], milestones=[6])
    return [ns.ChainedScheduler([seq, ns.MultiplicativeLR(o, lambda e: 0.99)])]


def cyclic_in_chain_adam(ns, o):
    return [ns.ChainedScheduler([ns.CyclicLR(o, 0.01, 0.1, 5), ns.ExponentialLR(o, 0.99)])]


COMBOS = [stacked, chained, chained_explicit_opt, sequential, sequential_lambda, sequential_of_chained,
          chained_of_sequential, cyclic_in_chain_adam]


def run(lib, build, epochs, kind="sgd"):
    opt = make_opt(lib, kind)
    scheds = build(sched_ns(lib), opt)
    out = []
    for _ in range(epochs):
        opt.step()
        for s in scheds:
            s.step()
        out.append(snapshot(opt, scheds[-1]))
    return out


@pytest.mark.parametrize("build", COMBOS, ids=lambda f: f.__name__)
def test_combination_matches_torch(build):
    kind = "adam" if "adam" in build.__name__ else "sgd"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns inside SequentialLR's milestone switch in some cases
        ours = run("ours", build, 60, kind)
        ref = run("torch", build, 60, kind)
    assert ours == ref
    assert len({tuple(r) for r in ours}) >= 10


# SequentialLR replays the first step of a ChainedScheduler member at build time, before any optimizer
# step: torch warns about the call order there too
@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")
@pytest.mark.parametrize("build", [chained, sequential, sequential_of_chained], ids=lambda f: f.__name__)
def test_combination_state_dict_round_trip(build):
    ns = sched_ns("ours")
    opt = make_opt("ours")
    (sched,) = build(ns, opt)
    for _ in range(25):
        opt.step()
        sched.step()
    sd = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in sd and len(sd["_schedulers"]) == len(sched._schedulers)
    assert all("optimizer" not in s for s in sd["_schedulers"])
    t_opt = make_opt("torch")
    (t_sched,) = build(sched_ns("torch"), t_opt)
    assert set(sd) == set(t_sched.state_dict())
    opt2 = make_opt("ours")
    (sched2,) = build(ns, opt2)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    sched2.load_state_dict(sd)
    assert "_schedulers" in sd  # the caller's dict is left whole
    for _ in range(35):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert snapshot(opt2, sched2) == snapshot(opt, sched)


# ---- ReduceLROnPlateau --------------------------------------------------------------------------------
METRIC = [1.0, 0.9, 0.9, 0.8999, 0.95, 0.97, 0.89, 0.89, 0.891, 0.9, 0.92, 0.5, 0.5, 0.50004, 0.6, 0.7,
          0.4, 0.4, 0.4, 0.4, 0.41, 0.42, 0.39999, 0.3, 0.3, 0.3, 0.3, 0.3, 0.2, 0.2, 0.2, 0.25, 0.25, 0.25,
          0.1, 0.1, 0.1, 0.1, 0.1, 0.1]


def plateau_run(lib, kwargs, metric, kind="sgd"):
    opt = make_opt(lib, kind)
    sched = sched_ns(lib).ReduceLROnPlateau(opt, **kwargs)
    out = []
    for m in metric:
        opt.step()
        sched.step(m)
        out.append(snapshot(opt, sched) + [sched.num_bad_epochs, sched.cooldown_counter, sched.best,
                                          sched.last_epoch])
    return out


@pytest.mark.parametrize("mode,threshold_mode", list(itertools.product(["min", "max"], ["rel", "abs"])))
@pytest.mark.parametrize("extra", [dict(patience=2), dict(patience=1, cooldown=2, threshold=0.01),
                                   dict(patience=0, factor=0.5, min_lr=[0.004, 0.001]),
                                   dict(patience=1, factor=0.3, min_lr=0.003, eps=1e-3, cooldown=1)])
def test_plateau_matches_torch(mode, threshold_mode, extra):
    kwargs = dict(mode=mode, threshold_mode=threshold_mode, **extra)
    metric = METRIC if mode == "min" else [-m for m in METRIC]
    ours = plateau_run("ours", kwargs, metric)
    ref = plateau_run("torch", kwargs, metric)
    assert ours == ref
    assert ours[-1][0] < 0.1  # it did cut the lr


def test_plateau_tensor_metric_and_lr_and_state_dict():
    import autograd
    rows = {}
    for lib, mk in (("ours", autograd.tensor), ("torch", torch.tensor)):
        opt = make_opt(lib, "adam", lr_tensor=True)
        lr0 = opt.param_groups[0]["lr"]
        sched = sched_ns(lib).ReduceLROnPlateau(opt, patience=1, factor=0.5)
        for m in METRIC[:20]:
            opt.step()
            sched.step(mk(m))
        assert opt.param_groups[0]["lr"] is lr0  # cut in place
        sd = sched.state_dict()
        rows[lib] = (snapshot(opt, sched), sorted(sd))
    assert rows["ours"][0] == pytest.approx(rows["torch"][0], rel=1e-6)
    assert rows["ours"][1] == rows["torch"][1]


def test_plateau_state_dict_round_trip_and_new_group():
    ns = sched_ns("ours")
    opt = make_opt("ours")
    sched = ns.ReduceLROnPlateau(opt, mode="max", patience=1, cooldown=1, threshold_mode="abs")
    for m in [-x for x in METRIC[:15]]:
        sched.step(m)
    opt2 = make_opt("ours")
    sched2 = ns.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(copy.deepcopy(sched.state_dict()))
    assert (sched2.mode, sched2.threshold_mode, sched2.mode_worse) == ("max", "abs", float("-inf"))
    for m in [-x for x in METRIC[15:]]:
        sched.step(m)
        sched2.step(m)
        assert snapshot(opt2, sched2) == snapshot(opt, sched)
    # a group added later gets the default min_lr; with a min_lr list it is an error (as torch)
    import autograd
    opt.add_param_group({"params": [autograd.tensor([1.0], requires_grad=True)], "lr": 1.0})
    sched.patience = 0
    sched.cooldown_counter = 0
    sched.step(-1000.0)  # worse in mode max
    assert sched.get_last_lr()[-1] == pytest.approx(0.1)
    opt3 = make_opt("ours")
    s3 = ns.ReduceLROnPlateau(opt3, patience=0, min_lr=[0.0, 0.0])
    opt3.add_param_group({"params": [autograd.tensor([1.0], requires_grad=True)], "lr": 1.0})
    s3.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was initialized"):
        s3.step(2.0)
