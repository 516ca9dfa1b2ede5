"""Every scheduler stepped side by side with torch 2.13, plus state_dict round trips."""
from __future__ import annotations

import copy
import warnings

import pytest

from _sched_helpers import make_opt, sched_ns, snapshot

torch = pytest.importorskip("torch")


class Scale:
    """A callable object (its __dict__ goes into the state_dict, unlike a lambda)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


# name -> (optimizer kind, builder(ns, opt), epochs)
CASES = {
    "lambda": ("sgd", lambda ns, o: ns.LambdaLR(o, lambda e: 0.95 ** e), 60),
    "lambda_list": ("sgd", lambda ns, o: ns.LambdaLR(o, [lambda e: 1 / (1 + e), Scale(0.9)]), 60),
    "multiplicative": ("sgd", lambda ns, o: ns.MultiplicativeLR(o, lambda e: 0.97), 60),
    "step": ("sgd", lambda ns, o: ns.StepLR(o, step_size=7, gamma=0.5), 60),
    "multistep": ("sgd", lambda ns, o: ns.MultiStepLR(o, milestones=[10, 25, 25, 40], gamma=0.3), 60),
    "constant": ("sgd", lambda ns, o: ns.ConstantLR(o, factor=0.5, total_iters=8), 60),
    "linear": ("adam", lambda ns, o: ns.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=20), 60),
    "exponential": ("sgd", lambda ns, o: ns.ExponentialLR(o, gamma=0.95), 60),
    "polynomial": ("sgd", lambda ns, o: ns.PolynomialLR(o, total_iters=30, power=2.0), 60),
    "cosine": ("sgd", lambda ns, o: ns.CosineAnnealingLR(o, T_max=15, eta_min=0.001), 70),
    "cyclic_tri": ("sgd", lambda ns, o: ns.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=7, step_size_down=5), 65),
    "cyclic_tri2": ("sgd", lambda ns, o: ns.CyclicLR(o, [0.01, 0.001], 0.1, step_size_up=6, mode="triangular2",
                                                       base_momentum=[0.7, 0.75], max_momentum=0.95), 65),
    "cyclic_exp_adam": ("adam", lambda ns, o: ns.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range",
                                                            gamma=0.97), 65),
    "cyclic_custom": ("sgd", lambda ns, o: ns.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=Scale(0.99),
                                                         scale_mode="iterations"), 65),
    "cyclic_nomom": ("sgd", lambda ns, o: ns.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False), 60),
    "onecycle_cos": ("sgd", lambda ns, o: ns.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=70), 70),
    "onecycle_linear_adam": ("adam", lambda ns, o: ns.OneCycleLR(o, max_lr=0.3, epochs=8, steps_per_epoch=9,
                                                                  anneal_strategy="linear", pct_start=0.25), 72),
    "onecycle_three": ("sgd", lambda ns, o: ns.OneCycleLR(o, 0.4, total_steps=66, three_phase=True,
                                                            base_momentum=0.8, max_momentum=[0.9, 0.97]), 66),
    "onecycle_nomom": ("adam", lambda ns, o: ns.OneCycleLR(o, 0.4, total_steps=60, cycle_momentum=False,
                                                             div_factor=10.0, final_div_factor=100.0), 60),
    "warm_restarts": ("sgd", lambda ns, o: ns.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001), 70),
    "warm_restarts_1": ("sgd", lambda ns, o: ns.CosineAnnealingWarmRestarts(o, T_0=7), 60),
}


def run_pair(build, kind, epochs, lr_tensor=False):
    """Step our scheduler and torch's together; return both trajectories (one row per epoch)."""
    rows = {}
    for lib in ("ours", "torch"):
        opt = make_opt(lib, kind, lr_tensor)
        sched = build(sched_ns(lib), opt)
        traj = [snapshot(opt, sched)]
        for epoch in range(epochs):
            opt.step()
            sched.step()
            traj.append(snapshot(opt, sched))
        rows[lib] = traj
    return rows["ours"], rows["torch"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    kind, build, epochs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right call order must not warn (in either library)
        ours, ref = run_pair(build, kind, epochs)
    assert len(ours) == epochs + 1
    for epoch, (a, b) in enumerate(zip(ours, ref)):
        assert a == b, f"epoch {epoch}"  # bit-identical: same operations in the same order
    assert len({tuple(r) for r in ours}) > 1  # the schedule really moves


@pytest.mark.parametrize("name", ["step", "cosine", "cyclic_tri", "onecycle_cos", "warm_restarts", "linear",
                                  "multiplicative", "polynomial"])
def test_tensor_lr_filled_in_place(name):
    kind, build, epochs = CASES[name]
    ours, ref = run_pair(build, kind, 40, lr_tensor=True)
    for a, b in zip(ours, ref):
        assert a == pytest.approx(b, rel=2e-6, abs=1e-9)
    opt = make_opt("ours", kind, lr_tensor=True)
    held = [g["lr"] for g in opt.param_groups]
    sched = build(sched_ns("ours"), opt)
    for _ in range(10):
        opt.step()
        sched.step()
    assert all(g["lr"] is t for g, t in zip(opt.param_groups, held))  # same Tensor objects, new values
    last = sched.get_last_lr()
    assert all(l is not t for l, t in zip(last, held))  # get_last_lr() holds copies
    assert [float(t) for t in held] == pytest.approx([float(v) for v in last])


def _same_keys(sd_ours, sd_torch):
    return set(sd_ours) == set(sd_torch)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip(name):
    kind, build, epochs = CASES[name]
    ns = sched_ns("ours")
    opt = make_opt("ours", kind)
    sched = build(ns, opt)
    half = epochs // 2
    for _ in range(half):
        opt.step()
        sched.step()
    sd = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in sd
    for v in sd.get("lr_lambdas", []):
        assert v is None or isinstance(v, dict)
    # the layout is torch's (same keys), so checkpoints read the same way
    t_opt = make_opt("torch", kind)
    assert _same_keys(sd, build(sched_ns("torch"), t_opt).state_dict())

    opt2 = make_opt("ours", kind)
    sched2 = build(ns, opt2)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    sched2.load_state_dict(sd)
    assert sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(epochs - half):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
        assert snapshot(opt2, sched2) == snapshot(opt, sched)


def test_callable_object_state_is_saved():
    ns = sched_ns("ours")
    opt = make_opt("ours")
    fn = Scale(0.9)
    sched = ns.LambdaLR(opt, [lambda e: 1.0, fn])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.9}]
    fn2 = Scale(0.5)
    sched2 = ns.LambdaLR(make_opt("ours"), [lambda e: 1.0, fn2])
    sched2.load_state_dict(sd)
    assert fn2.rate == 0.9 and "lr_lambdas" in sd
    cyc = ns.CyclicLR(make_opt("ours"), 0.01, 0.1, scale_fn=Scale(0.8))
    sd = cyc.state_dict()
    assert sd["_scale_fn_custom"] == {"rate": 0.8} and "_scale_fn_ref" not in sd
    cyc2 = ns.CyclicLR(make_opt("ours"), 0.01, 0.1, scale_fn=Scale(0.3))
    cyc2.load_state_dict(sd)
    assert cyc2._scale_fn_custom.rate == 0.8


@pytest.mark.parametrize("name,epochs", [("step", [0, 3, 7, 14, 30, 2]), ("multistep", [12, 26, 41, 5]),
                                         ("exponential", [4, 9, 1]), ("cosine", [3, 15, 22, 40]),
                                         ("linear", [2, 25, 7]), ("constant", [3, 9, 1]),
                                         ("polynomial", [5, 35, 10]), ("lambda", [3, 8]),
                                         ("warm_restarts", [0.5, 3.25, 7.75, 16.0, 40.5, 2])])
def test_deprecated_step_epoch(name, epochs):
    kind, build, _ = CASES[name]
    rows = {}
    for lib in ("ours", "torch"):
        opt = make_opt(lib, kind)
        sched = build(sched_ns(lib), opt)
        traj = []
        for e in epochs:
            opt.step()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                sched.step(e)
            # torch warns about the epoch argument except in warm restarts
            traj.append((snapshot(opt, sched), sorted(str(x.message)[:40] for x in w)))
            opt.step()
            sched.step()
            traj.append((snapshot(opt, sched), []))
        rows[lib] = traj
    for (a, wa), (b, wb) in zip(rows["ours"], rows["torch"]):
        assert a == pytest.approx(b, rel=1e-14, abs=1e-17)
        assert wa == wb


def test_last_epoch_resume_matches_torch():
    rows = {}
    for lib in ("ours", "torch"):
        opt = make_opt(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        ns = sched_ns(lib)
        out = []
        for sched in (ns.CosineAnnealingLR(opt, T_max=10, last_epoch=4), ns.StepLR(opt, 3, last_epoch=5)):
            for _ in range(6):
                opt.step()
                sched.step()
                out.append(snapshot(opt, sched))
        rows[lib] = out
    assert len(rows["ours"]) == 12
    for a, b in zip(rows["ours"], rows["torch"]):
        assert a == pytest.approx(b, rel=1e-14)
