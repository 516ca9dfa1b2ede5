"""MultiOptimizer: bit for bit the children stepped by hand (every path, with schedulers), one state_dict
(round trip, resume, atomic failure), hooks once per step; load_state_dict by name and partially."""
import copy

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim import lr_scheduler as S
from minitorch_optim.swa_utils import SWALR

SHAPES = {"embed.weight": (6, 4), "h1.weight": (4, 5), "h1.bias": (5,), "h2.weight": (5, 3), "h2.bias": (3,)}


def _named(seed=0, order=None):
    rng = np.random.default_rng(seed)
    arrays = {n: rng.normal(size=s) for n, s in SHAPES.items()}
    return [(n, ag.tensor(arrays[n].copy(), requires_grad=True)) for n in (order or SHAPES)]


def _grads(named, i):
    rng = np.random.default_rng(100 + i)
    return {n: rng.normal(size=SHAPES[n]) for n in SHAPES}


def _set(named, grads):
    for n, p in named:
        p.grad = ag.tensor(grads[n])


PATHS = {"forloop": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True),
         "default": {}}


def _children(named, path):
    kw = PATHS[path]
    hidden = [(n, p) for n, p in named if n.startswith("h") and p.ndim == 2]
    rest = [(n, p) for n, p in named if (n, p) not in hidden]
    return [optim.Muon(hidden, lr=0.02), optim.AdamW(rest[:2], lr=1e-2, **kw),
            optim.SGD(rest[2:], lr=0.1, momentum=0.9, **kw)]


@pytest.mark.parametrize("path", list(PATHS))
def test_multi_equals_the_children_stepped_by_hand_bitwise(path):
    if path == "fused":
        pytest.importorskip("numba")
    a, b = _named(), _named()
    multi = optim.MultiOptimizer(_children(a, path))
    alone = _children(b, path)
    sched = S.CosineAnnealingLR(multi, T_max=4)
    scheds = [S.CosineAnnealingLR(o, T_max=4) for o in alone]
    for i in range(4):
        _set(a, _grads(a, i))
        _set(b, _grads(b, i))
        loss = multi.step(lambda: ag.tensor(float(i)))
        assert float(loss) == i
        for o in alone:
            o.step()
        sched.step()
        for s in scheds:
            s.step()
        for (n, p), (_, q) in zip(a, b):
            np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=f"{path} {n} step {i}")
    assert [g["lr"] for g in multi.param_groups] == [g["lr"] for o in alone for g in o.param_groups]
    assert len(multi.state) == sum(len(o.state) for o in alone) == len(SHAPES)


SCHEDULERS = {
    "StepLR": lambda o: S.StepLR(o, 2, 0.5), "MultiStepLR": lambda o: S.MultiStepLR(o, [1, 3], 0.3),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, 2), "LinearLR": lambda o: S.LinearLR(o, 0.2, total_iters=3),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.8), "PolynomialLR": lambda o: S.PolynomialLR(o, 4, 2.0),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 3), "LambdaLR": lambda o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda o: S.MultiplicativeLR(o, lambda e: 0.9),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 2),
    "CyclicLR": lambda o: S.CyclicLR(o, 0.001, 0.05, step_size_up=2),
    "OneCycleLR": lambda o: S.OneCycleLR(o, 0.05, total_steps=8),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=0),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, 2), S.ExponentialLR(o, 0.9)], [2]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 2), S.ExponentialLR(o, 0.9)]),
    "SWALR": lambda o: SWALR(o, swa_lr=0.01, anneal_epochs=3),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_scheduler_changes_every_group_as_on_the_children(name):
    a, b = _named(), _named()

    def kids(named):  # SGD with momentum and Adam: CyclicLR/OneCycleLR cycle momentum and beta1 per group
        return [optim.SGD(named[:2], lr=0.1, momentum=0.9), optim.Adam(named[2:], lr=0.01)]
    multi, alone = optim.MultiOptimizer(kids(a)), kids(b)
    sched, scheds = SCHEDULERS[name](multi), [SCHEDULERS[name](o) for o in alone]
    seen = [{g["lr"]} for g in multi.param_groups]
    for i in range(6):
        _set(a, _grads(a, i))
        _set(b, _grads(b, i))
        multi.step()
        for o in alone:
            o.step()
        for s in [sched, *scheds]:
            s.step(1.0) if name == "ReduceLROnPlateau" else s.step()
        got = [(g["lr"], g.get("momentum"), g.get("betas")) for g in multi.param_groups]
        for lrs, g in zip(seen, multi.param_groups):
            lrs.add(g["lr"])
        assert got == [(g["lr"], g.get("momentum"), g.get("betas")) for o in alone for g in o.param_groups], i
        for (n, p), (_, q) in zip(a, b):
            np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=f"{name} {n}")
    assert all(len(lrs) > 1 for lrs in seen), name  # every group was scheduled


def _run(multi, named, steps, start=0):
    for i in range(start, start + steps):
        _set(named, _grads(named, i))
        multi.step()


def test_multi_state_dict_round_trip_and_resume():
    a, b = _named(), _named()
    ma, mb = optim.MultiOptimizer.muon_adamw(a, lr=0.02), optim.MultiOptimizer.muon_adamw(b, lr=0.02)
    assert [type(c).__name__ for c in ma.optimizers] == ["Muon", "AdamW"]
    assert ma.optimizers[0].param_groups[0]["param_names"] == ["h1.weight", "h2.weight"]  # (embed stays AdamW)
    _run(ma, a, 3)
    _run(mb, b, 3)
    sd = copy.deepcopy(ma.state_dict())
    assert sorted(sd["state"]) == list(range(len(SHAPES)))
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3, 4]]
    c = _named()
    for (_, p), (_, q) in zip(c, a):
        p._data[...] = q.numpy()
    mc = optim.MultiOptimizer.muon_adamw(c, lr=0.02)
    mc.load_state_dict(sd)
    _run(ma, a, 3, 3)
    _run(mc, c, 3, 3)
    for (n, p), (_, q) in zip(a, c):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    assert mc.state_dict()["param_groups"] == ma.state_dict()["param_groups"]


def test_multi_failed_load_leaves_every_child_as_it_was():
    a = _named()
    m = optim.MultiOptimizer.muon_adamw(a, lr=0.02)
    _run(m, a, 2)
    sd = copy.deepcopy(m.state_dict())
    sd["state"][4]["exp_avg"] = ag.tensor(np.zeros(7))  # AdamW's last parameter: wrong shape
    sd["param_groups"][0]["lr"] = 123.0                 # Muon's part, loaded first, would change
    before = copy.deepcopy(m.state_dict())
    with pytest.raises(RuntimeError, match="exp_avg"):
        m.load_state_dict(sd)
    after = m.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k in before["state"]:
        for name, v in before["state"][k].items():
            np.testing.assert_array_equal(after["state"][k][name].numpy(), v.numpy())


def test_multi_hooks_run_once_per_step_and_errors():
    a = _named()
    m = optim.MultiOptimizer.muon_adamw(a, lr=0.02)
    calls = []
    m.register_step_pre_hook(lambda o, args, kw: calls.append(("pre", o)))
    m.register_step_post_hook(lambda o, args, kw: calls.append(("post", o)))
    m.optimizers[1].register_step_post_hook(lambda o, args, kw: calls.append(("child", o)))
    h = optim.register_optimizer_step_post_hook(lambda o, args, kw: calls.append(("global", o)))
    try:
        _run(m, a, 1)
    finally:
        h.remove()
    assert calls == [("pre", m), ("child", m.optimizers[1]), ("post", m), ("global", m)]
    p = a[0][1]
    with pytest.raises(ValueError, match="more than one optimizer"):
        optim.MultiOptimizer([optim.SGD([p], lr=0.1), optim.Adam([p])])
    with pytest.raises(ValueError, match="LBFGS cannot be part"):
        optim.MultiOptimizer([optim.LBFGS([p])])
    with pytest.raises(ValueError, match="more than one optimizer"):
        m.add_param_group({"params": [a[1][1]]}, optimizer=1)
    q = ag.tensor(np.ones((2, 2)), requires_grad=True)
    m.add_param_group({"params": [("extra", q)], "lr": 0.5}, optimizer=0)
    assert m.param_groups[1]["params"] == [q] and m.optimizers[0].param_groups[1]["lr"] == 0.5
    assert copy.deepcopy(m).param_groups[1]["lr"] == 0.5


# ---------------------------------------------------------------------------------------------------
# load_state_dict by name / partially (any optimizer)
# ---------------------------------------------------------------------------------------------------
def _adam_state(order, seed=0, steps=2):
    named = _named(seed, order)
    opt = optim.Adam(named, lr=1e-2)
    for i in range(steps):
        _set(named, _grads(named, i))
        opt.step()
    return named, opt


def test_load_by_name_gives_each_parameter_its_own_state():
    old_named, old = _adam_state(None)
    sd = copy.deepcopy(old.state_dict())
    order = ["h2.bias", "h1.weight", "embed.weight", "h2.weight", "h1.bias"]  # reordered
    named = _named(1, order) + [("new.weight", ag.tensor(np.ones((2, 2)), requires_grad=True))]  # inserted
    new = optim.Adam(named, lr=0.5)
    with pytest.raises(optim.StateLoadError, match="missing: new.weight") as err:
        new.load_state_dict(sd, by_name=True)                 # strict: reported, nothing loaded
    assert err.value.report.missing == ["new.weight"] and len(new.state) == 0
    assert new.param_groups[0]["lr"] == 0.5
    report = new.load_state_dict(sd, by_name=True, strict=False)
    assert report.missing == ["new.weight"] and report.unexpected == [] and len(report.loaded) == 5
    old_by_name = dict(old_named)
    for n, p in named[:-1]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            np.testing.assert_array_equal(new.state[p][key].numpy(), old.state[old_by_name[n]][key].numpy())
    assert new.param_groups[0]["lr"] == 1e-2 and new.param_groups[0]["param_names"] == [n for n, _ in named]
    # the positional default gives the reordered model the wrong moments (shape error here): torch's behaviour
    with pytest.raises((RuntimeError, ValueError)):
        optim.Adam(named[:-1], lr=0.5).load_state_dict(sd)


def test_load_by_name_reports_shape_mismatch_and_loads_nothing_when_strict():
    _, old = _adam_state(None)
    sd = copy.deepcopy(old.state_dict())
    named = [(n, ag.tensor(np.zeros((7, 7) if n == "h1.weight" else SHAPES[n]), requires_grad=True)) for n in SHAPES]
    new = optim.Adam(named, lr=0.5)
    with pytest.raises(optim.StateLoadError) as err:
        new.load_state_dict(sd, by_name=True)
    assert [k for k, _ in err.value.report.mismatched] == ["h1.weight"] and len(new.state) == 0
    report = new.load_state_dict(sd, by_name=True, strict=False)
    assert len(report.loaded) == 4 and [k for k, _ in report.mismatched] == ["h1.weight"]
    assert named[1][1] not in new.state and "exp_avg" in new.state[named[0][1]]


def test_partial_positional_load_and_errors():
    _, old = _adam_state(None)
    sd = copy.deepcopy(old.state_dict())
    fewer = [p for _, p in _named()][:3]
    new = optim.Adam(fewer)
    report = new.load_state_dict(sd, strict=False)
    assert report.loaded == ["param_groups[0][0]", "param_groups[0][1]", "param_groups[0][2]"]
    assert report.unexpected == ["param_groups[0][3]", "param_groups[0][4]"]
    np.testing.assert_array_equal(new.state[fewer[2]]["exp_avg"].numpy(),
                                  old.state[old.param_groups[0]["params"][2]]["exp_avg"].numpy())
    with pytest.raises(ValueError, match="needs 'param_names'"):
        optim.Adam(fewer).load_state_dict(sd, by_name=True)


def test_multi_loads_by_name_across_children():
    a = _named()
    m = optim.MultiOptimizer.muon_adamw(a, lr=0.02)
    _run(m, a, 2)
    sd = copy.deepcopy(m.state_dict())
    b = _named(order=list(reversed(SHAPES)))
    mb = optim.MultiOptimizer.muon_adamw(b, lr=0.02)
    report = mb.load_state_dict(sd, by_name=True)
    assert report.clean and sorted(report.loaded) == sorted(SHAPES)
    for (n, p) in b:
        st_a = m.state[dict(a)[n]]
        for key, v in st_a.items():
            np.testing.assert_array_equal(mb.state[p][key].numpy(), v.numpy())
