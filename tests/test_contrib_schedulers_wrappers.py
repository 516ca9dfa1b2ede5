"""contrib's schedulers against pytorch_optimizer.lr_scheduler (every step, state_dict, chaining),
the Lookahead / SAM wrappers against the reference, and the helpers."""
import copy

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as mo
from minitorch_optim import contrib as C
from _contrib_reference import TOL, as_np, grad_of, init_arrays, targets, torch  # noqa: F401

SCHED = [("CosineScheduler", dict(t_max=20, max_lr=0.1, min_lr=1e-3, init_lr=1e-2, warmup_steps=5)),
         ("LinearScheduler", dict(t_max=20, max_lr=0.1, min_lr=1e-3, warmup_steps=5)),
         ("PolyScheduler", dict(t_max=20, max_lr=0.1, min_lr=1e-3, warmup_steps=5, poly_order=0.7)),
         ("CosineAnnealingWarmupRestarts", dict(first_cycle_steps=7, cycle_mult=1.5, max_lr=0.1, min_lr=1e-3,
                                                warmup_steps=2, gamma=0.8)),
         ("get_wsd_schedule", dict(num_warmup_steps=3, num_stable_steps=4, num_decay_steps=6, min_lr_ratio=0.1,
                                   cooldown_type="cosine")),
         ("get_wsd_schedule", dict(num_warmup_steps=3, num_stable_steps=4, num_decay_steps=6)),
         ("get_wsd_schedule", dict(num_warmup_steps=2, num_stable_steps=2, num_decay_steps=5, cooldown_type="linear")),
         ("get_wsd_schedule", dict(num_warmup_steps=2, num_stable_steps=2, num_decay_steps=5,
                                   cooldown_type="1-square"))]


def _opts(torch):
    t = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                         {"params": [torch.zeros(1, requires_grad=True)]}], lr=0.1)
    o = mo.SGD([{"params": [ag.nn.Parameter(ag.zeros(2))]}, {"params": [ag.nn.Parameter(ag.zeros(1))]}], lr=0.1)
    return t, o


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name,kw", SCHED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHED)])
def test_scheduler_lrs_equal_reference_every_step(torch, name, kw):
    pl = pytest.importorskip("pytorch_optimizer.lr_scheduler")
    to, oo = _opts(torch)
    rs, os_ = getattr(pl, name)(to, **kw), getattr(C, name)(oo, **kw)
    assert isinstance(os_, mo.lr_scheduler.LRScheduler)
    for i in range(25):
        assert [g["lr"] for g in oo.param_groups] == [g["lr"] for g in to.param_groups], i
        if i == 11:   # save, rebuild, load: continues identically
            sd = copy.deepcopy(os_.state_dict())
            os_ = getattr(C, name)(oo, **kw)
            os_.load_state_dict(sd)
            for g, lr in zip(oo.param_groups, sd["_last_lr"]):
                g["lr"] = lr
        to.step()
        oo.step()
        rs.step()
        os_.step()


@pytest.mark.filterwarnings("ignore")
def test_scheduler_chaining(torch):
    pl = pytest.importorskip("pytorch_optimizer.lr_scheduler")
    kw = dict(t_max=15, max_lr=0.1, min_lr=1e-3, warmup_steps=3)
    to, oo = _opts(torch)
    ref = pl.CosineScheduler(to, **kw)
    cos = C.CosineScheduler(oo, **kw)
    chain = mo.lr_scheduler.ChainedScheduler([cos, mo.lr_scheduler.ExponentialLR(oo, gamma=0.5)])
    expected = []
    for _ in range(12):
        to.step()
        oo.step()
        expected.append(ref.step() * 0.5)       # the cosine value, then ExponentialLR's factor on top
        chain.step()
        assert [g["lr"] for g in oo.param_groups] == pytest.approx([expected[-1]] * 2, rel=1e-15)
    seq = mo.lr_scheduler.SequentialLR(oo, [mo.lr_scheduler.ConstantLR(oo, factor=0.5, total_iters=2),
                                            C.LinearScheduler(oo, **kw)], milestones=[2])
    lrs = []
    for _ in range(8):
        oo.step()
        seq.step()
        lrs.append(oo.param_groups[0]["lr"])
    assert all(np.isfinite(lrs))


def test_scheduler_errors():
    _, oo = (None, mo.SGD([ag.nn.Parameter(ag.zeros(1))], lr=0.1))
    with pytest.raises(C.NegativeLRError):
        C.CosineScheduler(oo, t_max=10, max_lr=-1.0)
    with pytest.raises(C.NegativeStepError):
        C.LinearScheduler(oo, t_max=10, max_lr=1.0, warmup_steps=-1)
    with pytest.raises(ValueError):
        C.CosineAnnealingWarmupRestarts(oo, first_cycle_steps=3, warmup_steps=3)


# ---- wrappers -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("pullback", ["none", "reset", "pullback"])
def test_lookahead_matches_reference(torch, dtype, pullback):
    po = pytest.importorskip("pytorch_optimizer")
    init, t = init_arrays(dtype), targets()
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    op = [ag.nn.Parameter(ag.tensor(a.copy())) for a in init]
    ref = po.Lookahead(torch.optim.SGD(tp, lr=0.05, momentum=0.9), k=3, alpha=0.6, pullback_momentum=pullback)
    ours = C.Lookahead(mo.SGD(op, lr=0.05, momentum=0.9), k=3, alpha=0.6, pullback_momentum=pullback)
    for s in range(12):
        for i, (a, b) in enumerate(zip(tp, op)):
            a.grad = torch.tensor(grad_of(a.detach().numpy(), t[i], i, s))
            b.grad = ag.tensor(grad_of(b.numpy(), t[i], i, s))
        ref.step()
        ours.step()
    for a, b in zip(tp, op):
        np.testing.assert_allclose(as_np(b), as_np(a), **TOL[dtype])
    sd = ours.state_dict()
    assert set(sd) == {"lookahead_state", "base_optimizer"} and (0, 0) in sd["lookahead_state"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kw", [dict(), dict(adaptive=True, rho=0.5), dict(use_gc=True, rho=0.1)])
def test_sam_matches_reference(torch, dtype, kw):
    po = pytest.importorskip("pytorch_optimizer")
    init, t = init_arrays(dtype), targets()
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    op = [ag.nn.Parameter(ag.tensor(a.copy())) for a in init]
    ref, ours = po.SAM(tp, torch.optim.Adam, lr=0.01, **kw), C.SAM(op, mo.Adam, lr=0.01, **kw)

    def setg(ps, tor, s):
        for i, p in enumerate(ps):
            g = grad_of(p.detach().numpy() if tor else p.numpy(), t[i], i, s)
            p.grad = torch.tensor(g) if tor else ag.tensor(g)

    for s in range(12):
        setg(tp, True, s)
        setg(op, False, s)
        ref.step(lambda: setg(tp, True, s + 100))
        ours.step(lambda: setg(op, False, s + 100))
    tol = TOL[dtype] if dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)   # float32 global norm inside
    for a, b in zip(tp, op):
        np.testing.assert_allclose(as_np(b), as_np(a), **tol)
    with pytest.raises(C.NoClosureError):
        ours.step()


# ---- helpers ---------------------------------------------------------------------------------------------------
def test_get_optimizer_parameters_matches_reference(torch):
    po = pytest.importorskip("pytorch_optimizer")
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    om = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.LayerNorm(4), ag.nn.Linear(4, 2))
    tname = {id(p): n for n, p in tm.named_parameters()}
    oname = {id(p): n for n, p in om.named_parameters()}
    ref = po.get_optimizer_parameters(tm, 0.1)
    ours = C.get_optimizer_parameters(om, 0.1)
    assert [(g["weight_decay"], [tname[id(p)] for p in g["params"]]) for g in ref] == \
        [(g["weight_decay"], [oname[id(p)] for p in g["params"]]) for g in ours]
    mo.AdamW(ours, lr=1e-3)


def test_layer_wise_lr_decay():
    m = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Linear(4, 4), ag.nn.Linear(4, 2))
    groups = C.layer_wise_lr_decay(m, lr=1.0, lr_decay=0.5, weight_decay=0.01)
    lrs = {(g["layer_index"], g["weight_decay"]): g["lr"] for g in groups}
    assert lrs == {(0, 0.01): 0.25, (0, 0.0): 0.25, (1, 0.01): 0.5, (1, 0.0): 0.5, (2, 0.01): 1.0, (2, 0.0): 1.0}
    assert sum(len(g["params"]) for g in groups) == 6
    mo.AdamW(groups)
    with pytest.raises(ValueError):
        C.layer_wise_lr_decay(m, lr=1.0, lr_decay=0.0)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam", "Lamb"])
def test_multisteps_equals_one_step_on_the_mean(opt_name):
    k, init, t = 3, init_arrays(np.float64), targets()
    make = (lambda ps: getattr(C, opt_name)(ps)) if opt_name == "Lamb" else \
        (lambda ps: getattr(mo, opt_name)(ps, lr=0.01))
    pa = [ag.nn.Parameter(ag.tensor(a.copy())) for a in init]
    pb = [ag.nn.Parameter(ag.tensor(a.copy())) for a in init]
    acc, ref = C.MultiSteps(make(pa), every_k_schedule=k), make(pb)
    for outer in range(4):
        grads = [[grad_of(p.numpy(), t[i], i, outer * k + j) for i, p in enumerate(pb)] for j in range(k)]
        for j in range(k):
            for p, g in zip(pa, grads[j]):
                p.grad = ag.tensor(g)
            acc.step()
            assert acc.has_updated == (j == k - 1)
            np.testing.assert_array_equal(pa[0].grad.numpy(), grads[j][0])   # the user's gradient untouched
        for i, p in enumerate(pb):
            p.grad = ag.tensor(sum(grads[j][i] for j in range(k)) / k)
        ref.step()
        for a, b in zip(pa, pb):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    sd = copy.deepcopy(acc.state_dict())
    assert sd["mini_step"] == 0
    acc.load_state_dict(sd)


@pytest.mark.parametrize("which", ["Lookahead", "SAM", "MultiSteps"])
def test_wrapper_state_dict_resume_continues_exactly(which):
    init, t = init_arrays(np.float64), targets()

    def build(ps):
        if which == "Lookahead":
            return C.Lookahead(mo.SGD(ps, lr=0.05, momentum=0.9), k=4, pullback_momentum="pullback")
        if which == "SAM":
            return C.SAM(ps, mo.Adam, lr=0.01, rho=0.1)
        return C.MultiSteps(mo.Adam(ps, lr=0.01), every_k_schedule=4)

    def run(n, start=None, sd=None, k0=0):
        ps = [ag.nn.Parameter(ag.tensor((start or init)[i].copy())) for i in range(len(init))]
        opt = build(ps)
        if sd is not None:
            opt.load_state_dict(sd)

        def setg(s):
            for i, p in enumerate(ps):
                p.grad = ag.tensor(grad_of(p.numpy(), t[i], i, s))

        for s in range(k0, k0 + n):
            setg(s)
            if which == "SAM":
                opt.step(lambda s=s: setg(s + 100))
            else:
                opt.step()
        return ps, opt

    full, _ = run(14)
    half, opt = run(6)
    sd = copy.deepcopy(opt.state_dict())
    rest, _ = run(8, start=[p.numpy() for p in half], sd=sd, k0=6)
    for a, b in zip(full, rest):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_lookahead_class_form_backup_and_errors():
    ps = [ag.nn.Parameter(ag.tensor(a)) for a in init_arrays(np.float64)]
    la = C.Lookahead(C.Lamb, params=ps, k=2)
    assert isinstance(la.optimizer, C.Lamb) and la.param_groups is la.optimizer.param_groups
    t = targets()
    for s in range(3):
        for i, p in enumerate(ps):
            p.grad = ag.tensor(grad_of(p.numpy(), t[i], i, s))
        la.step()
    fast = [p.numpy().copy() for p in ps]
    la.backup_and_load_cache()
    for p in ps:
        np.testing.assert_array_equal(p.numpy(), la.state[p]["slow_params"].numpy())
    la.clear_and_load_backup()
    for p, a in zip(ps, fast):
        np.testing.assert_array_equal(p.numpy(), a)
    with pytest.raises(ValueError):
        C.Lookahead(mo.SGD(ps, lr=0.1), k=0)
    with pytest.raises(ValueError):
        C.Lookahead(mo.SGD(ps, lr=0.1), pullback_momentum="bad")
    with pytest.raises(ValueError):
        C.Lookahead(mo.SGD)
    sched = mo.lr_scheduler.StepLR(la, step_size=1, gamma=0.5)      # schedulers drive the wrapped groups
    la.step()
    sched.step()
    assert la.optimizer.param_groups[0]["lr"] == pytest.approx(0.5e-3)
