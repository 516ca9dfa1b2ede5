"""RMSprop, Rprop, NAdam and RAdam against torch 2.13 (every CPU config of torch's own optimizer tests, on
every path), state_dict round trips, constructor errors, and finite-difference checks of differentiable=True."""
import copy
import math

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim

SHAPES = [(3, 4), (5,), (2, 1, 3), ()]

# the CPU kwargs of torch/testing/_internal/common_optimizers.py (optim_inputs_func_<name>)
CONFIGS = {
    "RMSprop": [{}, {"lr": 1e-3}, {"weight_decay": 0.1}, {"maximize": True},
                {"weight_decay": 0.1, "centered": True}, {"maximize": True, "weight_decay": 0.1},
                {"weight_decay": 0.1, "centered": True, "momentum": 0.1},
                {"weight_decay": 0.1, "centered": True, "momentum": 0.1, "maximize": True}],
    "Rprop": [{}, {"lr": 2e-4}, {"etas": (0.5, 1.5)}, {"step_sizes": (2e-6, 100)}, {"maximize": True}],
    "NAdam": [{}, {"lr": 1e-3}, {"momentum_decay": 6e-3}, {"weight_decay": 0.1},
              {"weight_decay": 0.1, "momentum_decay": 6e-3},
              {"weight_decay": 0.1, "momentum_decay": 6e-3, "decoupled_weight_decay": True},
              {"weight_decay": 0.1, "maximize": True}],
    "RAdam": [{}, {"lr": 2e-3}, {"eps": 1e-6}, {"weight_decay": 0.1},
              {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"weight_decay": 0.1, "maximize": True}],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]
PATHS = [{"foreach": False}, {"foreach": True}, {"differentiable": True}]


def _data(dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    grads[3][0][0, :2] = 0      # exact zeros: Rprop's "no sign information" branch
    return init, grads


def _params(init, differentiable):
    ps = [ag.tensor(a, requires_grad=True) for a in init]
    return [p.clone() for p in ps] if differentiable else ps  # differentiable steps non-leaf params


def _step_ours(opt, ps, grads):
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = ag.tensor(g)
        opt.step()


def _step_torch(topt, tps, grads):
    import torch

    for gs in grads:
        for p, g in zip(tps, gs):
            p.grad = torch.tensor(g)
        topt.step()


def _tol(dtype):
    return (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-14)


def _assert_match(ps, opt, tps, topt, dtype):
    rtol, atol = _tol(dtype)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=atol)
    for p, tp in zip(ps, tps):
        ts, st = topt.state[tp], opt.state[p]
        assert list(st) == list(ts)
        for k, v in ts.items():
            ours = st[k].numpy()
            assert ours.shape == tuple(v.shape), k
            assert ours.dtype == np.dtype(str(v.dtype).replace("torch.", "")), k
            np.testing.assert_allclose(ours.astype(np.float64), v.detach().double().numpy(), rtol=rtol,
                                       atol=atol, err_msg=k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", PATHS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("name,cfg", CASES, ids=lambda c: str(c))
def test_parity_with_torch(name, cfg, path, dtype):
    """10 steps on each path; torch's for-loop (single-tensor) path is the reference."""
    torch = pytest.importorskip("torch")
    init, grads = _data(dtype, 10)
    ps = _params(init, "differentiable" in path)
    opt = getattr(optim, name)(ps, **cfg, **path)
    _step_ours(opt, ps, grads)
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tps, **cfg, foreach=False)
    _step_torch(topt, tps, grads)
    _assert_match(ps, opt, tps, topt, dtype)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_torch_foreach_agrees(name):
    """torch's own foreach path, for the richest config, gives our numbers too (float64)."""
    torch = pytest.importorskip("torch")
    cfg = CONFIGS[name][-1] if name != "NAdam" else CONFIGS[name][-2]
    init, grads = _data(np.float64, 10, seed=5)
    ps = _params(init, False)
    opt = getattr(optim, name)(ps, **cfg, foreach=True)
    _step_ours(opt, ps, grads)
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tps, **cfg, foreach=True)
    _step_torch(topt, tps, grads)
    _assert_match(ps, opt, tps, topt, np.float64)


@pytest.mark.parametrize("name,kw", [("RMSprop", dict(momentum=0.5, centered=True, weight_decay=0.1)),
                                     ("Rprop", dict(etas=(0.3, 1.7))), ("NAdam", dict(weight_decay=0.1)),
                                     ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True))])
def test_paths_agree_bitwise(name, kw):
    """The for-loop and flat foreach paths run the same arithmetic: equal to the last bit."""
    init, grads = _data(np.float32, 8, seed=3)
    out = []
    for foreach in (False, True):
        ps = _params(init, False)
        opt = getattr(optim, name)(ps, **kw, foreach=foreach)
        _step_ours(opt, ps, grads)
        out.append(ps)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a.numpy(), b.numpy())



@pytest.mark.parametrize("path", PATHS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("name", list(CONFIGS))
def test_tensor_lr(name, path):
    """A 0-d Tensor lr (torch accepts it on its for-loop path) gives the float-lr numbers on every path."""
    torch = pytest.importorskip("torch")
    cfg = CONFIGS[name][-1]
    init, grads = _data(np.float64, 6, seed=6)
    ps = _params(init, "differentiable" in path)
    opt = getattr(optim, name)(ps, **dict(cfg, lr=ag.tensor(0.02)), **path)
    _step_ours(opt, ps, grads)
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tps, **dict(cfg, lr=torch.tensor(0.02)), foreach=False)
    _step_torch(topt, tps, grads)
    # torch's NAdam turns a float32 Tensor lr into float32 Tensor coefficients; we compute them in double
    rtol = 1e-8 if name == "NAdam" else 1e-12
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=1e-9)

GROUPS = {"RMSprop": ({"lr": 0.01}, {"lr": 0.05, "momentum": 0.9, "centered": True, "alpha": 0.9}),
          "Rprop": ({"lr": 0.01}, {"lr": 0.03, "etas": (0.4, 1.3), "step_sizes": (1e-3, 0.05)}),
          "NAdam": ({"lr": 0.01}, {"lr": 0.1, "betas": (0.8, 0.9), "momentum_decay": 0.01, "weight_decay": 0.2,
                                   "decoupled_weight_decay": True}),
          "RAdam": ({"lr": 0.01}, {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.3})}


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", list(GROUPS))
def test_two_groups_with_different_hyperparameters(name, foreach):
    torch = pytest.importorskip("torch")
    (base, second) = GROUPS[name]
    init, grads = _data(np.float64, 10, seed=1)
    ps = _params(init, False)
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)([{"params": ps[:2]}, {"params": ps[2:], **second}], **base, foreach=foreach)
    topt = getattr(torch.optim, name)([{"params": tps[:2]}, {"params": tps[2:], **second}], **base, foreach=False)
    _step_ours(opt, ps, grads)
    _step_torch(topt, tps, grads)
    _assert_match(ps, opt, tps, topt, np.float64)
    assert opt.param_groups[1]["lr"] == second["lr"] and opt.param_groups[0]["lr"] == base["lr"]


RICH = {"RMSprop": dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
        "Rprop": dict(lr=0.01, maximize=True),
        "NAdam": dict(lr=0.01, weight_decay=0.1, momentum_decay=6e-3),
        "RAdam": dict(lr=0.01, weight_decay=0.1)}


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", list(RICH))
def test_state_dict_round_trip_continues_identically(name, foreach):
    init, grads = _data(np.float32, 10, seed=2)
    ps = _params(init, False)
    opt = getattr(optim, name)(ps, **RICH[name], foreach=foreach)
    _step_ours(opt, ps, grads[:5])
    sd = copy.deepcopy(opt.state_dict())
    ps2 = [ag.tensor(p.numpy(), requires_grad=True) for p in ps]
    opt2 = getattr(optim, name)(ps2, lr=0.5, foreach=not foreach)   # loaded groups replace lr
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == RICH[name]["lr"]
    assert opt2.param_groups[0]["foreach"] == foreach
    _step_ours(opt, ps, grads[5:])
    _step_ours(opt2, ps2, grads[5:])
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(ps, ps2):
        assert list(opt.state[a]) == list(opt2.state[b])
        for k in opt.state[a]:
            np.testing.assert_array_equal(opt.state[a][k].numpy(), opt2.state[b][k].numpy())


@pytest.mark.parametrize("name", list(RICH))
def test_torch_state_dict_loads_and_continues_like_torch(name):
    """A mid-training torch state_dict (tensors as arrays) loads into ours; both then step alike."""
    torch = pytest.importorskip("torch")
    init, grads = _data(np.float64, 10, seed=4)
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    topt = getattr(torch.optim, name)(tps, **RICH[name], foreach=False)
    _step_torch(topt, tps, grads[:5])
    tsd = topt.state_dict()
    sd = {"state": {k: {n: v.detach().numpy().copy() for n, v in s.items()} for k, s in tsd["state"].items()},
          "param_groups": copy.deepcopy(tsd["param_groups"])}
    ps = [ag.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tps]
    opt = getattr(optim, name)(ps)
    opt.load_state_dict(sd)
    topt = getattr(torch.optim, name)(tps)  # torch's own round trip: the reference for a loaded state
    topt.load_state_dict(tsd)
    _step_torch(topt, tps, grads[5:])
    _step_ours(opt, ps, grads[5:])
    _assert_match(ps, opt, tps, topt, np.float64)


# ---- constructor errors --------------------------------------------------------------------------------
BAD = {  # torch's optim_error_inputs_func_<name> (CPU) plus one entry per validated argument
    "RMSprop": [dict(lr=1e-2, momentum=-1.0), dict(lr=-0.1), dict(eps=-1e-8), dict(weight_decay=-0.5),
                dict(alpha=-0.9)],
    "Rprop": [dict(lr=1e-2, etas=(1.0, 0.5)), dict(lr=-1.0), dict(etas=(0.0, 1.2)), dict(etas=(0.5, 1.0))],
    "NAdam": [dict(lr=1e-2, betas=(1.0, 0.0)), dict(lr=1e-2, momentum_decay=-0.2), dict(betas=(0.9, 1.0)),
              dict(lr=-2.0), dict(eps=-1.0), dict(weight_decay=-0.1)],
    "RAdam": [dict(lr=1e-2, betas=(1.0, 0.0)), dict(lr=1e-2, weight_decay=-1), dict(betas=(0.5, -0.1)),
              dict(lr=-2.0), dict(eps=-1.0)],
}
ERR_CASES = [(n, kw) for n, kws in BAD.items() for kw in kws] + \
    [(n, {"lr": "tensor2"}) for n in BAD]


@pytest.mark.parametrize("name,kw", ERR_CASES, ids=str)
def test_constructor_errors_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours_kw, torch_kw = dict(kw), dict(kw)
    if kw.get("lr") == "tensor2":
        ours_kw["lr"], torch_kw["lr"] = ag.tensor([1e-3, 1e-3]), torch.tensor([1e-3, 1e-3])
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **torch_kw)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([ag.zeros(2, requires_grad=True)], **ours_kw)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", list(BAD))
def test_common_param_errors(name):
    cls = getattr(optim, name)
    a, b = ag.randn(1, 1, requires_grad=True), ag.randn(1, 1, requires_grad=True)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable"):
        cls(a)
    with pytest.warns(UserWarning, match="a parameter group with duplicate parameters"):
        cls([a, a])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        cls([{"params": a}, {"params": a}])
    with pytest.raises(ValueError, match="Some param names are missing"):
        cls([("weight", a), b])
    with pytest.raises(ValueError, match="all optimizer param groups should be with/without names"):
        cls([{"params": [a], "lr": 1e-2}, {"params": [("weight", b)]}])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])


@pytest.mark.parametrize("name", list(BAD))
def test_defaults_and_sparse_error(name):
    torch = pytest.importorskip("torch")
    ours = getattr(optim, name)([ag.zeros(2, requires_grad=True)]).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
    assert ours == theirs
    p = ag.zeros(3, requires_grad=True)
    p.grad = ag.sparse_coo_tensor([[0]], [1.0], (3,))
    with pytest.raises(RuntimeError, match=f"{name} does not support sparse gradients"):
        getattr(optim, name)([p], foreach=False).step()


# ---- differentiable=True against finite differences (float64) ---------------------------------------
FD_CASES = [
    ("RMSprop", dict(momentum=0.9, centered=True, weight_decay=0.1), 3),   # torch 2.13 fails on this one
    ("RMSprop", dict(centered=True, maximize=True), 3),
    ("RMSprop", dict(alpha=0.5, weight_decay=0.2), 3),
    ("Rprop", dict(etas=(0.4, 1.5)), 3),
    ("Rprop", dict(maximize=True), 3),
    ("NAdam", dict(weight_decay=0.1), 3),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True, momentum_decay=0.05), 3),
    ("RAdam", dict(weight_decay=0.1), 3),                                   # un-rectified branch only
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True), 7),       # steps 6, 7 are rectified
]


def _final(name, kw, x0, grads, lr, w):
    leaf = ag.tensor(x0, requires_grad=True)
    lr_t = ag.tensor(lr, dtype=np.float64, requires_grad=True)
    g_ts = [ag.tensor(g, requires_grad=True) for g in grads]
    p = leaf.clone()
    opt = getattr(optim, name)([p], lr=lr_t, differentiable=True, **kw)
    for g in g_ts:
        p.grad = g
        opt.step()
    return (p * ag.tensor(w)).sum(), leaf, g_ts, lr_t


@pytest.mark.parametrize("name,kw,steps", FD_CASES, ids=str)
def test_differentiable_matches_finite_differences(name, kw, steps):
    rng = np.random.default_rng(11)
    n = 4
    x0, w = rng.standard_normal(n), rng.standard_normal(n)
    gs = [rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n) for _ in range(steps)]
    lr = 0.05
    loss, leaf, g_ts, lr_t = _final(name, kw, x0, gs, lr, w)
    loss.backward()
    eps = 1e-6

    def f(x=x0, grads=gs, lr=lr):
        with ag.no_grad():
            return float(_final(name, kw, x, grads, lr, w)[0])

    def close(analytic, numeric):
        assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-8), (analytic, numeric)

    close(lr_t.grad.item(), (f(lr=lr + eps) - f(lr=lr - eps)) / (2 * eps))
    assert lr_t.grad.item() != 0
    for i in range(n):
        d = np.zeros(n)
        d[i] = eps
        close(leaf.grad.numpy()[i], (f(x=x0 + d) - f(x=x0 - d)) / (2 * eps))
        for k in (0, steps - 1):
            plus, minus = list(gs), list(gs)
            plus[k], minus[k] = gs[k] + d, gs[k] - d
            num = (f(grads=plus) - f(grads=minus)) / (2 * eps)
            close(0.0 if g_ts[k].grad is None else g_ts[k].grad.numpy()[i], num)
    if name != "Rprop":   # Rprop only sees sign(grad): zero derivative, checked above against zero FD
        assert np.abs(g_ts[0].grad.numpy()).max() > 1e-3


def test_radam_rectification_switches_on_at_step_six():
    from minitorch_optim.radam import radam_scalars

    on = [radam_scalars(0.9, 0.999, t)["rect"] is not None for t in range(1, 9)]
    assert on == [False] * 5 + [True] * 3


def test_rprop_step_size_starts_at_lr_and_follows_sign_rules():
    """Closed form: sizes grow by etaplus on agreement, shrink by etaminus on a flip (that step skipped)."""
    p = ag.tensor([0.0, 0.0, 0.0], requires_grad=True)
    opt = optim.Rprop([p], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    seq = [[1.0, 1.0, 0.0], [1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    for g in seq:
        p.grad = ag.tensor(g)
        opt.step()
    # col 0: 0.1, 0.2, 0.3 (clamped), 0.3 -> -(0.1+0.2+0.3+0.3); col 1: 0.1, 0.05 (flip: no move), 0.05, 0.1
    # col 2: 0.1 (g=0: no move), 0.1, 0.2, 0.3 (clamped)
    np.testing.assert_allclose(p.numpy(), [-0.9, -0.1 - 0.05 - 0.1, -0.1 - 0.2 - 0.3])
    np.testing.assert_allclose(opt.state[p]["step_size"].numpy(), [0.3, 0.1, 0.3])
    np.testing.assert_allclose(opt.state[p]["prev"].numpy(), [1.0, 1.0, 1.0])
