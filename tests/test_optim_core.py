"""SGD, Adam and AdamW against torch 2.13 on every path, plus the Optimizer base: state_dict, hooks, errors."""
import copy
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim

SHAPES = [(3, 4), (5,), (2, 1, 3), ()]

SGD_CONFIGS = [{}, {"lr": 1e-2}, {"lr": "tensor"}, {"weight_decay": 0.5}, {"momentum": 0.9},
               {"weight_decay": 0.1, "maximize": True}, {"momentum": 0.9, "dampening": 0.5},
               {"momentum": 0.9, "weight_decay": 0.1}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}]
ADAM_CONFIGS = [{}, {"lr": 0.01}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "maximize": True},
                {"weight_decay": 0.1, "amsgrad": True}, {"lr": "tensor", "amsgrad": True, "capturable": True},
                {"lr": "tensor", "betas": "tensor", "capturable": True}]
CASES = [("SGD", c) for c in SGD_CONFIGS] + [("Adam", c) for c in ADAM_CONFIGS] + \
    [("AdamW", c) for c in ADAM_CONFIGS]
PATHS = [{"foreach": False}, {"foreach": True}, {}, {"differentiable": True}]


def _kwargs(cfg, lib, path):
    kw = dict(cfg)
    tensor = (lambda v: lib.tensor(v)) if lib is not ag else (lambda v: ag.tensor(v))
    if kw.get("lr") == "tensor":
        kw["lr"] = tensor(0.01)
    if kw.get("betas") == "tensor":
        kw["betas"] = (tensor(0.9), tensor(0.99))
    tensor_hp = any(not isinstance(v, (int, float, bool)) for v in kw.values())
    kw.update(path)
    if lib is not ag:  # torch: its CPU for-loop path is the reference
        kw.pop("foreach", None)
        kw.pop("differentiable", None)
        kw["foreach"] = False
        kw.pop("capturable", None)
    elif tensor_hp and kw.get("foreach") and not kw.get("capturable"):
        return None
    return kw


def _data(dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run_ours(name, kw, init, grads, differentiable=False):
    ps = [ag.tensor(a, requires_grad=True) for a in init]
    if differentiable:
        ps = [p.clone() for p in ps]  # torch's differentiable optimizers step non-leaf params
    opt = getattr(optim, name)(ps, **kw)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = ag.tensor(g)
        opt.step()
    return ps, opt


def _run_torch(torch, name, kw, init, grads):
    ps = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)(ps, **kw)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g)
        opt.step()
    return ps, opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", PATHS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
@pytest.mark.parametrize("name,cfg", CASES, ids=lambda c: str(c))
def test_parity_with_torch(name, cfg, path, dtype):
    torch = pytest.importorskip("torch")
    ours_kw = _kwargs(cfg, ag, path)
    if ours_kw is None:
        pytest.skip("torch rejects Tensor hyper-parameters with foreach=True (tested in test_errors)")
    init, grads = _data(dtype, 12)
    ps, opt = _run_ours(name, ours_kw, init, grads, "differentiable" in path)
    tps, topt = _run_torch(torch, name, _kwargs(cfg, torch, path), init, grads)
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-14)
    if "tensor" in cfg.values() and dtype == np.float64:
        rtol = 2e-6  # torch does scalar math on float32 Tensor lr/betas in float32; we use doubles
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=atol)
    for i, tp in enumerate(tps):
        ts, st = topt.state[tp], opt.state[ps[i]]
        assert list(st) == list(ts)
        for k, v in ts.items():
            np.testing.assert_allclose(np.asarray(st[k].numpy(), dtype=np.float64),
                                       v.detach().double().numpy(), rtol=rtol, atol=atol, err_msg=k)
            if k != "step":
                assert st[k].dtype == np.dtype(dtype)


@pytest.mark.parametrize("name,kw", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1, "amsgrad": True}),
                                     ("AdamW", {"lr": 0.05})])
def test_paths_agree_bitwise(name, kw):
    """The for-loop and the flat foreach paths run the same arithmetic: equal to the last bit."""
    init, grads = _data(np.float32, 6, seed=3)
    a, _ = _run_ours(name, dict(kw, foreach=False), init, grads)
    b, _ = _run_ours(name, dict(kw, foreach=True), init, grads)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_two_groups_with_different_hyperparameters():
    torch = pytest.importorskip("torch")
    init, grads = _data(np.float64, 10, seed=1)
    ps = [ag.tensor(a, requires_grad=True) for a in init]
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    opt = optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1, "amsgrad": True}], lr=0.01)
    topt = torch.optim.Adam([{"params": tps[:2]}, {"params": tps[2:], "lr": 0.1, "amsgrad": True}], lr=0.01)
    for gs in grads:
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12)


def test_none_grads_are_skipped_and_state_not_created():
    p1, p2 = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0], requires_grad=True)
    opt = optim.Adam([p1, p2], lr=0.1)
    p1.grad = ag.tensor([1.0, -1.0])
    opt.step()
    assert p2.tolist() == [3.0] and p2 not in opt.state
    assert float(opt.state[p1]["step"]) == 1.0
    p2.grad = ag.tensor([1.0])
    opt.step()  # p2 starts at step 1 while p1 is at step 2: per-parameter bias corrections
    assert float(opt.state[p1]["step"]) == 2.0 and float(opt.state[p2]["step"]) == 1.0
    np.testing.assert_allclose(p2.numpy(), [3.0 - 0.1], rtol=1e-6)


# ---- state_dict -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("foreach", [False, True])
def test_state_dict_round_trip_continues_identically(foreach):
    init, grads = _data(np.float64, 10, seed=2)
    full, _ = _run_ours("Adam", {"lr": 0.05, "amsgrad": True, "foreach": foreach}, init, grads)
    half, opt = _run_ours("Adam", {"lr": 0.05, "amsgrad": True, "foreach": foreach}, init, grads[:5])
    sd = copy.deepcopy(opt.state_dict())
    ps = [ag.tensor(p.numpy(), requires_grad=True) for p in half]
    opt2 = optim.Adam(ps, lr=0.5, foreach=not foreach)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.05 and opt2.param_groups[0]["params"] == ps
    for gs in grads[5:]:
        for p, g in zip(ps, gs):
            p.grad = ag.tensor(g)
        opt2.step()
    for a, b in zip(full, ps):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    init, grads = _data(np.float64, 2)
    ps, opt = _run_ours("SGD", {"lr": 0.1, "momentum": 0.9}, init, grads)
    tps, topt = _run_torch(torch, "SGD", {"lr": 0.1, "momentum": 0.9}, init, grads)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sorted(sd["state"]) == sorted(tsd["state"])
    assert list(sd["state"][0]) == list(tsd["state"][0])


def test_load_torch_state_dict_and_continue():
    torch = pytest.importorskip("torch")
    init, grads = _data(np.float32, 10, seed=4)
    tps, topt = _run_torch(torch, "AdamW", {"lr": 0.01, "amsgrad": True}, init, grads[:5])
    tsd = topt.state_dict()
    conv = {"state": {k: {n: v.numpy().copy() for n, v in st.items()} for k, st in tsd["state"].items()},
            "param_groups": copy.deepcopy(tsd["param_groups"])}
    ps = [ag.tensor(p.detach().numpy(), requires_grad=True) for p in tps]
    opt = optim.AdamW(ps)
    opt.load_state_dict(conv)
    for gs in grads[5:]:
        for p, tp, g in zip(ps, tps, gs):
            p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_load_casts_state_to_param_dtype_but_keeps_step():
    init, grads = _data(np.float64, 3)
    _, opt = _run_ours("Adam", {"lr": 0.1}, init, grads)
    ps = [ag.tensor(a.astype(np.float32), requires_grad=True) for a in init]
    opt32 = optim.Adam(ps)
    opt32.load_state_dict(opt.state_dict())
    st = opt32.state[ps[0]]
    assert st["exp_avg"].dtype == np.float32 and st["step"].dtype == np.float32
    assert float(st["step"]) == 3.0


@pytest.mark.parametrize("mutate,err", [
    (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "different number of parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].pop(), "doesn't match the size"),
])
def test_failed_load_leaves_optimizer_unchanged(mutate, err):
    init, grads = _data(np.float64, 3)
    ps, opt = _run_ours("Adam", {"lr": 0.1}, init, grads)
    before = copy.deepcopy(opt.state_dict())
    bad = copy.deepcopy(before)
    bad["param_groups"][0]["lr"] = 123.0
    mutate(bad)
    with pytest.raises(ValueError, match=err):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k in before["state"]:
        for n in before["state"][k]:
            np.testing.assert_array_equal(after["state"][k][n].numpy(), before["state"][k][n].numpy())


# ---- hooks -----------------------------------------------------------------------------------------------
def test_step_hooks_order_prepend_removal_and_arg_rewrite():
    p = ag.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre1"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    g1 = optim.register_optimizer_step_pre_hook(lambda o, a, k: calls.append("gpre"))
    g2 = optim.register_optimizer_step_post_hook(lambda o, a, k: calls.append("gpost"))
    try:
        p.grad = ag.tensor([1.0])
        opt.step()
        assert calls == ["gpre", "pre1", "post", "gpost"]
        h1.remove()
        calls.clear()
        opt.step()
        assert calls == ["gpre", "post", "gpost"]
    finally:
        g1.remove()
        g2.remove()
    # a pre-hook that rewrites the arguments: swap in a closure
    opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": lambda: 42.0}))
    assert opt.step() == 42.0
    bad = optim.SGD([ag.tensor([1.0], requires_grad=True)])
    bad.register_step_pre_hook(lambda o, a, k: "nonsense")
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        bad.step()


def test_state_dict_hooks_with_prepend():
    p = ag.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    order = []
    opt.register_state_dict_pre_hook(lambda o: order.append("a"))
    opt.register_state_dict_pre_hook(lambda o: order.append("b"), prepend=True)

    def post(o, sd):
        sd["extra"] = 1
        return sd

    opt.register_state_dict_post_hook(post)
    sd = opt.state_dict()
    assert order == ["b", "a"] and sd["extra"] == 1
    seen = []

    def lpre(o, sd):
        sd = dict(sd)
        sd["param_groups"] = copy.deepcopy(sd["param_groups"])
        sd["param_groups"][0]["lr"] = 0.7
        return sd

    opt.register_load_state_dict_pre_hook(lpre)
    h = opt.register_load_state_dict_post_hook(lambda o: seen.append(o.param_groups[0]["lr"]))
    opt.load_state_dict(sd)
    assert seen == [0.7]
    h.remove()
    opt.load_state_dict(sd)
    assert seen == [0.7]


# ---- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw,exc,msg", [
    ("SGD", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("SGD", dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    ("SGD", dict(nesterov=True, momentum=0), ValueError, "Nesterov momentum requires"),
    ("Adam", dict(lr=1e-2, betas=(1.0, 0.0)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(lr=1e-2, betas=(0.0, 1.0)), ValueError, "Invalid beta parameter at index 1: 1.0"),
    ("Adam", dict(lr=1e-2, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    ("Adam", dict(eps=-1), ValueError, "Invalid epsilon value: -1"),
    ("Adam", dict(lr="t", foreach=True), ValueError, "lr as a Tensor is not supported"),
    ("Adam", dict(lr=1e-2, betas=(0.9, "t")), ValueError, "betas must be either both floats or both Tensors"),
    ("AdamW", dict(foreach=True, fused=True), RuntimeError, "`fused` and `foreach` cannot be `True` together"),
    ("Adam", dict(fused=True, differentiable=True), RuntimeError, "`fused` does not support `differentiable`"),
])
def test_constructor_errors(cls, kw, exc, msg):
    kw = {k: (ag.tensor(0.01) if v == "t" else v) for k, v in kw.items()}
    if "betas" in kw:
        kw["betas"] = tuple(ag.tensor(0.99) if b == "t" else b for b in kw["betas"])
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace("[", r"\[")):
        getattr(optim, cls)([ag.tensor([1.0], requires_grad=True)], **kw)


def test_param_argument_errors():
    p = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        optim.SGD([p, p])
    assert any("duplicate parameters" in str(x.message) for x in w)


def test_named_parameters_and_param_names():
    a, b = ag.tensor([1.0], requires_grad=True), ag.tensor([2.0], requires_grad=True)
    opt = optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [ag.tensor([3.0], requires_grad=True)]})


def test_zero_grad_and_closure():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(p.numpy(), [0.0, 0.0])
    p.grad = ag.tensor([1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_flat_buffers_keep_user_gradients_intact():
    """The flat path reuses gradient storage only when nobody holds the previous gradient."""
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, foreach=True)
    (p * 3).sum().backward()
    opt.step()
    kept = p.grad
    opt.zero_grad()
    (p * 5).sum().backward()
    assert kept.tolist() == [3.0, 3.0] and p.grad.tolist() == [5.0, 5.0]
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.8, 2.0 - 0.8])


def test_param_rebinding_is_seen_by_flat_path():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=1.0, momentum=0.5)
    p.grad = ag.tensor([1.0, 1.0])
    opt.step()
    p.data = ag.tensor([10.0, 10.0])  # rebinding storage, as torch users do with .data
    opt.step()
    np.testing.assert_allclose(p.numpy(), [10.0 - 1.5, 10.0 - 1.5])


# ---- differentiable --------------------------------------------------------------------------------------
@pytest.mark.parametrize("grads_need_grad", [True, False])
@pytest.mark.parametrize("name,kw", [("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
                                     ("SGD", dict(momentum=0.5, dampening=0.2, maximize=True)),
                                     ("SGD", dict(momentum=0.9)),
                                     ("Adam", dict(amsgrad=True, weight_decay=0.1)),
                                     ("AdamW", dict(maximize=True))])
def test_differentiable_matches_finite_differences(name, kw, grads_need_grad):
    """Also with plain (non-differentiable) gradients: state updated in place after an earlier step saved it
    must not corrupt the backward pass (copy-on-write inside differentiable steps)."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(4)
    gs = [rng.standard_normal(4) for _ in range(3)]

    def final(x_init, grads, lr):
        leaf = ag.tensor(x_init, requires_grad=True)
        lr_t = ag.tensor(lr, dtype=np.float64, requires_grad=True)
        g_ts = [ag.tensor(g, requires_grad=grads_need_grad) for g in grads]
        p = leaf.clone()
        opt = getattr(optim, name)([p], lr=lr_t, differentiable=True, **kw)
        for g in g_ts:
            p.grad = g
            opt.step()
        loss = (p * p).sum()
        return loss, leaf, g_ts, lr_t

    loss, leaf, g_ts, lr_t = final(x0, gs, 0.1)
    loss.backward()
    eps = 1e-6

    def f(x=x0, grads=gs, lr=0.1):
        with ag.no_grad():
            return float(final(x, grads, lr)[0])

    num_lr = (f(lr=0.1 + eps) - f(lr=0.1 - eps)) / (2 * eps)
    assert math.isclose(lr_t.grad.item(), num_lr, rel_tol=1e-5, abs_tol=1e-8)
    for i in range(4):
        d = np.zeros(4)
        d[i] = eps
        num = (f(x=x0 + d) - f(x=x0 - d)) / (2 * eps)
        assert math.isclose(leaf.grad.numpy()[i], num, rel_tol=1e-5, abs_tol=1e-8)
        if not grads_need_grad:
            continue
        num_g = (f(grads=[gs[0] + d] + gs[1:]) - f(grads=[gs[0] - d] + gs[1:])) / (2 * eps)
        assert math.isclose(g_ts[0].grad.numpy()[i], num_g, rel_tol=1e-5, abs_tol=1e-7)
