"""Adagrad, Adadelta, Adamax, ASGD against torch 2.13 (numbers, state, errors) and finite differences."""
import copy

import numpy as np
import pytest

import autograd as A
import minitorch_optim as optim

torch = pytest.importorskip("torch")

NAMES = ["Adagrad", "Adadelta", "Adamax", "ASGD"]
TLR = "tensor-lr"   # marks a Tensor learning rate in a config: ("tensor-lr", value)

# the CPU configurations of torch/testing/_internal/common_optimizers.py (optim_inputs_func_*)
CONFIGS = {
    "Adagrad": [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "maximize": True}, {"lr": 0.1},
                {"initial_accumulator_value": 0.1, "weight_decay": 0.1},
                {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1}, {"lr": (TLR, 0.001)}],
    "Adadelta": [{}, {"lr": 0.01}, {"weight_decay": 0.1}, {"maximize": True},
                 {"weight_decay": 0.1, "maximize": True}, {"rho": 0.95, "weight_decay": 0.9}],
    "Adamax": [{}, {"lr": 0.1}, {"weight_decay": 0.1}, {"maximize": True}, {"weight_decay": 0.1, "maximize": True}],
    "ASGD": [{}, {"lambd": 0.1}, {"lr": 0.02}, {"t0": 100}, {"maximize": True}, {"weight_decay": 0.1},
             {"weight_decay": 0.1, "maximize": True}],
}
# plus Tensor lr for all (torch lists it with capturable=True on CUDA only): torch does its scalar math in float32 then
EXTRA = {"Adagrad": {"lr": (TLR, 0.01), "lr_decay": 0.3}, "Adadelta": {"lr": (TLR, 0.001)},
         "Adamax": {"lr": (TLR, 0.001), "weight_decay": 0.9},
         "ASGD": {"lr": (TLR, 0.001), "weight_decay": 0.1, "maximize": True}}
for _n, _cfg in EXTRA.items():
    CONFIGS[_n].append(_cfg)
CASES = [(n, i) for n in NAMES for i in range(len(CONFIGS[n]))]
PATHS = {"forloop": {"foreach": False}, "foreach": {"foreach": True}, "differentiable": {"differentiable": True}}
SHAPES = [(3, 4), (5,), (2, 1, 3)]
TOL = {"float64": dict(rtol=1e-11, atol=1e-13), "float32": dict(rtol=3e-6, atol=1e-7)}
# torch's foreach kernels reorder some updates (ASGD: p - eta*(g + lambd*p), eta computed in float32)
LOOSE = {"float64": dict(rtol=1e-6, atol=1e-9), "float32": dict(rtol=2e-5, atol=1e-6)}


def _kw(cfg, lib):
    out = {}
    for k, v in cfg.items():
        if isinstance(v, tuple) and v and v[0] == TLR:
            v = torch.tensor(v[1]) if lib == "torch" else A.tensor(np.float32(v[1]))
        out[k] = v
    return out


def _data(dtype, steps, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    p0 = [rng.standard_normal(s).astype(dtype) for s in shapes]
    gs = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return p0, gs


def _t(a, requires_grad=False):
    return torch.tensor(np.array(a), requires_grad=requires_grad)


def _ours(a, requires_grad=False):
    return A.tensor(np.array(a), requires_grad=requires_grad)


def _run_torch(name, groups, gs, flags):
    """groups: [(param arrays, kwargs)]; returns (optimizer, params) after len(gs) steps, or None if torch fails."""
    try:
        params = [[_t(a, requires_grad=not flags.get("differentiable")) for a in ps] for ps, _ in groups]
        opt = getattr(torch.optim, name)([dict(params=ps, **kw) for ps, (_, kw) in zip(params, groups)], **flags)
        flat = [p for ps in params for p in ps]
        for g in gs:
            for p, gi in zip(flat, g):
                p.grad = _t(gi)
            opt.step()
        return opt, flat
    except (RuntimeError, AssertionError, TypeError):
        return None


def _run_ours(name, groups, gs, flags, opt=None, params=None):
    if opt is None:
        params = [[_ours(a, requires_grad=not flags.get("differentiable")) for a in ps] for ps, _ in groups]
        opt = getattr(optim, name)([dict(params=ps, **kw) for ps, (_, kw) in zip(params, groups)], **flags)
        params = [p for ps in params for p in ps]
    for g in gs:
        for p, gi in zip(params, g):
            p.grad = _ours(gi)
        opt.step()
    return opt, params


def _torch_refs(name, groups, gs, path):
    """torch's for-loop run (our reference order on every path) and torch's run of the same path (or None)."""
    same = _run_torch(name, groups, gs, PATHS[path]) if path != "forloop" else None
    return _run_torch(name, groups, gs, PATHS["forloop"]), same


def _assert_same(ours, ref, dtype, loose=False, scalar_dtype=True):
    (opt, params), (topt, tparams) = ours, ref
    tol = LOOSE[dtype] if loose else TOL[dtype]
    for p, tp in zip(params, tparams):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), **tol)
    sd, tsd = opt.state_dict()["state"], topt.state_dict()["state"]
    assert list(sd) == list(tsd)
    for k in tsd:
        assert list(sd[k]) == list(tsd[k])
        for name, tv in tsd[k].items():
            v = sd[k][name]
            assert v.shape == tuple(tv.shape), name
            if tv.dim() == 0:
                assert not scalar_dtype or v.dtype == np.dtype(str(tv.dtype).replace("torch.", "")), name
                np.testing.assert_allclose(v.numpy(), tv.numpy(), rtol=1e-6 if loose else 1e-7, err_msg=name)
            else:
                np.testing.assert_allclose(v.detach().numpy(), tv.detach().numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name,idx", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_matches_torch(name, idx, path, dtype):
    cfg = CONFIGS[name][idx]
    p0, gs = _data(dtype, 10)
    ref, same_path = _torch_refs(name, [(p0, _kw(cfg, "torch"))], gs, path)
    ours = _run_ours(name, [(p0, _kw(cfg, "ours"))], gs, PATHS[path])
    _assert_same(ours, ref, dtype)
    if same_path is not None:
        _assert_same(ours, same_path, dtype, loose=True)


GROUPS = {
    "Adagrad": [{"lr": 0.1, "lr_decay": 0.3, "initial_accumulator_value": 0.5}, {"weight_decay": 0.2, "eps": 1e-3}],
    "Adadelta": [{"lr": 0.5, "rho": 0.8}, {"weight_decay": 0.3, "eps": 1e-4, "maximize": True}],
    "Adamax": [{"lr": 0.05, "betas": (0.5, 0.9)}, {"weight_decay": 0.2, "eps": 1e-3}],
    "ASGD": [{"lr": 0.05, "lambd": 0.2, "alpha": 0.5, "t0": 3}, {"weight_decay": 0.2, "t0": 1}],
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", NAMES)
def test_two_param_groups(name, path):
    p0, gs = _data("float64", 8, seed=1)
    groups = [(p0[:2], GROUPS[name][0]), (p0[2:], GROUPS[name][1])]
    # Adagrad fills every sum with the constructor's initial_accumulator_value (torch ignores the group's)
    flags = dict(PATHS[path], **({"initial_accumulator_value": 0.25} if name == "Adagrad" else {}))
    ref = _run_torch(name, groups, gs, dict(flags, foreach=False, differentiable=False))
    ours = _run_ours(name, groups, gs, flags)
    _assert_same(ours, ref, "float64")


@pytest.mark.parametrize("path", ["forloop", "foreach"])
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name, path):
    """Save after 4 steps, load into a fresh optimizer and go on: as an uninterrupted run, and as torch does."""
    cfg = {"ASGD": {"t0": 2}, "Adagrad": {"lr_decay": 0.1}}.get(name, {})
    p0, gs = _data("float64", 8, seed=2)
    full = _run_ours(name, [(p0, cfg)], gs, PATHS[path])
    opt, params = _run_ours(name, [(p0, cfg)], gs[:4], PATHS[path])
    sd = copy.deepcopy(opt.state_dict())
    new_params = [_ours(p.numpy(), requires_grad=True) for p in params]
    new_opt = getattr(optim, name)(new_params, **cfg, **PATHS[path])
    new_opt.load_state_dict(sd)
    resumed = _run_ours(name, None, gs[4:], PATHS[path], opt=new_opt, params=new_params)
    for p, q in zip(resumed[1], full[1]):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    topt, tparams = _run_torch(name, [(p0, cfg)], gs[:4], PATHS["forloop"])
    tsd = copy.deepcopy(topt.state_dict())
    tnew = [_t(p.detach().numpy(), requires_grad=True) for p in tparams]
    topt2 = getattr(torch.optim, name)(tnew, **cfg, **PATHS["forloop"])
    topt2.load_state_dict(tsd)
    for g in gs[4:]:
        for p, gi in zip(tnew, g):
            p.grad = _t(gi)
        topt2.step()
    # after a load torch keeps ASGD's eta/mu in the param dtype; our flat path keeps 0-d state in float32
    _assert_same(resumed, (topt2, tnew), "float64", scalar_dtype=path == "forloop")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("foreach", [False, True])
def test_adagrad_sparse(dtype, maximize, foreach):
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((6, 3)).astype(dtype)
    ours_p, torch_p = _ours(w0, True), _t(w0, True)
    opt = optim.Adagrad([ours_p], lr=0.1, lr_decay=0.05, maximize=maximize, foreach=foreach)
    topt = torch.optim.Adagrad([torch_p], lr=0.1, lr_decay=0.05, maximize=maximize, foreach=foreach)
    for step in range(6):
        ind = rng.integers(0, 6, size=(1, 4))    # repeated rows happen: coalescing must sum them
        if step == 0:
            ind[0, :2] = 5
        vals = rng.standard_normal((4, 3)).astype(dtype)
        ours_p.grad = A.sparse_coo_tensor(ind, vals, (6, 3))
        torch_p.grad = torch.sparse_coo_tensor(torch.tensor(ind), torch.tensor(vals), (6, 3))
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours_p.detach().numpy(), torch_p.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(opt.state[ours_p]["sum"].numpy(), topt.state[torch_p]["sum"].numpy(), **TOL[dtype])
    assert float(opt.state[ours_p]["step"]) == float(topt.state[torch_p]["step"]) == 6.0


def test_adagrad_sparse_rejects_weight_decay_like_torch():
    p, tp = _ours(np.ones((3, 2)), True), _t(np.ones((3, 2)), True)
    opt, topt = optim.Adagrad([p], weight_decay=0.1), torch.optim.Adagrad([tp], weight_decay=0.1)
    p.grad = A.sparse_coo_tensor([[0]], np.ones((1, 2)), (3, 2))
    tp.grad = torch.sparse_coo_tensor(torch.tensor([[0]]), torch.ones(1, 2, dtype=torch.float64), (3, 2))
    with pytest.raises(RuntimeError) as theirs:
        topt.step()
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        opt.step()


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "ASGD"])
def test_sparse_grads_rejected_like_torch(name):
    p, tp = _ours(np.ones((3, 2)), True), _t(np.ones((3, 2)), True)
    opt, topt = getattr(optim, name)([p]), getattr(torch.optim, name)([tp])
    p.grad = A.sparse_coo_tensor([[0]], np.ones((1, 2)), (3, 2))
    tp.grad = torch.sparse_coo_tensor(torch.tensor([[0]]), torch.ones(1, 2, dtype=torch.float64), (3, 2))
    with pytest.raises(RuntimeError) as theirs:
        topt.step()
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        opt.step()


def test_adagrad_state_exists_before_the_first_step():
    ps, tps = [_ours(np.ones(2), True), _ours(np.ones(3), True)], [_t(np.ones(2), True), _t(np.ones(3), True)]
    opt = optim.Adagrad(ps, initial_accumulator_value=0.3)
    topt = torch.optim.Adagrad(tps, initial_accumulator_value=0.3)
    _assert_same((opt, ps), (topt, tps), "float64")


# ---- constructor errors: same class and message as torch ------------------------------------------------
BAD = {
    "Adagrad": [dict(lr=-0.1), dict(lr=1e-2, lr_decay=-0.5), dict(weight_decay=-1.0),
                dict(initial_accumulator_value=-0.1), dict(eps=-1e-3), dict(fused=True, foreach=True),
                dict(fused=True, differentiable=True)],
    "Adadelta": [dict(lr=-0.1), dict(lr=1e-2, rho=1.1), dict(rho=-0.1), dict(eps=-1.0), dict(weight_decay=-0.5)],
    "Adamax": [dict(lr=-0.1), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(lr=1e-2, betas=(0.0, 1.0)),
               dict(weight_decay=-0.5)],
    "ASGD": [dict(lr=-0.1), dict(lr=1e-2, weight_decay=-0.5)],
}
ERR_CASES = [(n, i) for n in NAMES for i in range(len(BAD[n]) + 1)]


@pytest.mark.parametrize("name,idx", ERR_CASES, ids=[f"{n}-{i}" for n, i in ERR_CASES])
def test_constructor_errors_match_torch(name, idx):
    if idx == len(BAD[name]):
        kw_t, kw_o = {"lr": torch.tensor([1e-3, 1e-3])}, {"lr": A.tensor([1e-3, 1e-3])}
    else:
        kw_t = kw_o = BAD[name][idx]
    with pytest.raises(Exception) as theirs:
        getattr(torch.optim, name)([_t(np.ones(2), True)], **kw_t)
    with pytest.raises(type(theirs.value)) as mine:
        getattr(optim, name)([_ours(np.ones(2), True)], **kw_o)
    assert str(mine.value) == str(theirs.value)


@pytest.mark.parametrize("name", NAMES)
def test_common_param_errors(name):
    cls = getattr(optim, name)
    p, q = A.nn.Parameter(A.tensor(np.ones((1, 1)))), A.nn.Parameter(A.tensor(np.ones((1, 1))))
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable"):
        cls(p)
    with pytest.warns(UserWarning, match="a parameter group with duplicate parameters"):
        cls([p, p])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        cls([{"params": p}, {"params": p}])
    with pytest.raises(ValueError, match="all optimizer params should be with/without names"):
        cls([("weight", p), q])
    with pytest.raises(ValueError, match="cannot add param group with names to the optimizer"):
        cls([{"params": [p], "lr": 1e-2}, {"params": [("weight", q)]}])


# ---- differentiable=True: d(loss after a few steps)/d(initial params, grads, lr) vs finite differences ----------
FD_CASES = [
    ("Adagrad", {"lr_decay": 0.2, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"maximize": True}),
    ("Adadelta", {"weight_decay": 0.1, "rho": 0.8}),
    ("Adadelta", {"maximize": True, "eps": 1e-3}),
    ("Adamax", {"weight_decay": 0.1, "betas": (0.8, 0.9)}),
    ("Adamax", {"maximize": True}),
    ("ASGD", {"lambd": 0.3, "t0": 0, "weight_decay": 0.1}),
    ("ASGD", {"maximize": True, "t0": 0.5, "alpha": 0.5}),
]
FD_SHAPES = [(2, 3), (4,)]


def _fd_loss(name, cfg, p0, gs, lr):
    """The loss as a float, on the plain for-loop path: sum of params + 0.5 * sum of param-shaped state."""
    params = [_ours(a) for a in p0]
    opt = getattr(optim, name)(params, lr=lr, foreach=False, **cfg)
    for g in gs:
        for p, gi in zip(params, g):
            p.grad = _ours(gi)
        opt.step()
    total = sum(float(p.numpy().sum()) for p in params)
    return total + 0.5 * sum(float(v.numpy().sum()) for st in opt.state.values() for v in st.values() if v.ndim)


@pytest.mark.parametrize("name,cfg", FD_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FD_CASES)])
def test_differentiable_matches_finite_differences(name, cfg):
    lr0 = {"Adadelta": 0.5, "ASGD": 0.1}.get(name, 0.1)
    p0, gs = _data("float64", 3, seed=4, shapes=FD_SHAPES)
    leaves = [_ours(a, requires_grad=True) for a in p0]
    gleaves = [[_ours(a, requires_grad=True) for a in g] for g in gs]
    lr = A.tensor(np.float64(lr0), requires_grad=True)
    params = [leaf.clone() for leaf in leaves]          # non-leaf params: gradients flow back to the leaves
    opt = getattr(optim, name)(params, lr=lr, differentiable=True, **cfg)
    for g in gleaves:
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
    loss = sum(p.sum() for p in params)
    loss = loss + 0.5 * sum(v.sum() for st in opt.state.values() for v in st.values() if v.ndim)
    loss.backward()
    np.testing.assert_allclose(float(loss.detach().numpy()), _fd_loss(name, cfg, p0, gs, lr0), rtol=1e-12)

    h = 1e-6

    def central(arrays, i, idx):
        plus, minus = copy.deepcopy(arrays), copy.deepcopy(arrays)
        plus[i][idx] += h
        minus[i][idx] -= h
        return plus, minus

    for i, a in enumerate(p0):
        fd = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = central(p0, i, idx)
            fd[idx] = (_fd_loss(name, cfg, plus, gs, lr0) - _fd_loss(name, cfg, minus, gs, lr0)) / (2 * h)
        np.testing.assert_allclose(leaves[i].grad.numpy(), fd, rtol=1e-5, atol=1e-7, err_msg=f"param {i}")
    for k, g in enumerate(gs):
        for i, a in enumerate(g):
            fd = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                plus, minus = central(g, i, idx)
                gp, gm = list(gs), list(gs)
                gp[k], gm[k] = plus, minus
                fd[idx] = (_fd_loss(name, cfg, p0, gp, lr0) - _fd_loss(name, cfg, p0, gm, lr0)) / (2 * h)
            np.testing.assert_allclose(gleaves[k][i].grad.numpy(), fd, rtol=1e-5, atol=1e-7,
                                       err_msg=f"grad {i} of step {k}")
    # ASGD keeps eta in float32 (as torch): a wider step keeps that rounding out of the difference quotient
    h, rtol = (1e-3, 3e-5) if name == "ASGD" else (h, 1e-5)
    fd_lr = (_fd_loss(name, cfg, p0, gs, lr0 + h) - _fd_loss(name, cfg, p0, gs, lr0 - h)) / (2 * h)
    np.testing.assert_allclose(float(lr.grad.numpy()), fd_lr, rtol=rtol, atol=1e-7, err_msg="lr")
