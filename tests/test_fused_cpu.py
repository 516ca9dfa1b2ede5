"""The CPU fused path (Numba kernels): bitwise equal to the foreach and for-loop paths for every fused
optimizer and flag, grad_scale/found_inf as torch's fused CPU kernels treat them, and parity with
torch 2.13's own fused CPU Adam/AdamW/SGD/Adagrad.

Bitwise claim: each kernel redoes the NumPy update's operations in the same order and dtype, so params,
state buffers and scalar state must be *identical* (``np.array_equal``) to the other paths'. Against torch
the comparison is to a tolerance: torch's vectorised kernels group the arithmetic differently.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import minitorch_optim as optim

pytest.importorskip("numba")

SIZES = [(5,), (0,), (3, 7), (), (33,), (4099,)]   # empty, 0-d, odd and longer-than-a-vector tensors

FLAGS = {
    "Adam": dict(amsgrad=[False, True], maximize=[False, True], weight_decay=[0, 0.1],
                 decoupled_weight_decay=[False, True], betas=[(0.9, 0.999), (0.3, 0.6)]),
    "AdamW": dict(amsgrad=[False, True], maximize=[False, True], weight_decay=[0, 0.1]),
    "SGD": dict(momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True], weight_decay=[0, 0.1],
                maximize=[False, True]),
    "Adagrad": dict(lr_decay=[0, 0.1], weight_decay=[0, 0.1], maximize=[False, True],
                    initial_accumulator_value=[0, 0.5]),
    "RMSprop": dict(centered=[False, True], momentum=[0, 0.9], alpha=[0.99, 0.3], weight_decay=[0, 0.1],
                    maximize=[False, True]),
    "Adamax": dict(betas=[(0.9, 0.999), (0.3, 0.6)], weight_decay=[0, 0.1], maximize=[False, True]),
    "NAdam": dict(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True]),
    "RAdam": dict(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True],
                  betas=[(0.9, 0.999), (0.9, 0.5)]),
    "Adadelta": dict(rho=[0.9, 0.3], weight_decay=[0, 0.1], maximize=[False, True]),
    "ASGD": dict(t0=[1e6, 1], lambd=[1e-4, 0.5], weight_decay=[0, 0.1], maximize=[False, True]),
    "Rprop": dict(etas=[(0.5, 1.2), (0.3, 2.0)], step_sizes=[(1e-6, 50), (0.05, 0.2)], maximize=[False, True]),
}
LR = {"Adadelta": 0.5, "Rprop": 0.1}


def _config(name, draw_flags):
    kw = {k: v for k, v in draw_flags.items()}
    if name == "SGD" and kw.get("nesterov") and (kw["momentum"] == 0 or kw["dampening"] != 0):
        kw["nesterov"] = False
    kw["lr"] = LR.get(name, 0.05)
    return kw


def _grads(rng, dtype, steps, scale=1.0, holes=True):
    """Per step, one gradient per param (with ``holes``: param 2 has none on step 1, param 0 none on step 0)."""
    out = []
    for t in range(steps):
        out.append([None if holes and (i, t) in ((2, 1), (0, 0)) else
                    (rng.standard_normal(s) * scale).astype(dtype) for i, s in enumerate(SIZES)])
    return out


def _run(name, kw, dtype, path, steps=3, seed=0, grad_scale=None, lib=ag):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SIZES]
    grads = _grads(rng, dtype, steps)
    ps = [lib.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim if lib is ag else lib.optim, name)(ps, **kw, **path)
    for gs in grads:
        for p, g in zip(ps, gs):
            if g is None:
                p.grad = None
            elif grad_scale is None:
                p.grad = lib.tensor(g)
            else:
                p.grad = lib.tensor(g * dtype(grad_scale))
        if grad_scale is not None:
            opt.grad_scale = lib.tensor(grad_scale)
        opt.step()
    return ps, opt


def _flat(ps, opt):
    out = [np.array(p.detach().numpy()) for p in ps]          # copies: .numpy() may share memory
    for p in ps:
        for k, v in sorted(opt.state.get(p, {}).items()):
            out.append((k, np.array(v.numpy())))
    return out


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, tuple):
            assert x[0] == y[0]
            x, y = x[1], y[1]
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y, equal_nan=True), (x, y)


@pytest.mark.parametrize("name", sorted(FLAGS))
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_fused_is_bitwise_equal_to_foreach_and_forloop(name, data):
    flags = {k: data.draw(st.sampled_from(v), label=k) for k, v in FLAGS[name].items()}
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    kw = _config(name, flags)
    fused = _flat(*_run(name, kw, dtype, {"fused": True}))
    _assert_identical(fused, _flat(*_run(name, kw, dtype, {"foreach": True})))
    _assert_identical(fused, _flat(*_run(name, kw, dtype, {"foreach": False})))


@pytest.mark.parametrize("name", ["Adam", "SGD", "Adagrad", "RAdam", "ASGD"])
def test_default_path_is_fused_and_identical(name):
    ps, opt = _run(name, {"lr": 0.05} if name != "SGD" else {"lr": 0.05, "momentum": 0.9}, np.float32, {})
    assert opt._path(opt.param_groups[0]) == "auto"
    ref = _run(name, {"lr": 0.05} if name != "SGD" else {"lr": 0.05, "momentum": 0.9}, np.float32,
               {"foreach": True})
    _assert_identical(_flat(ps, opt), _flat(*ref))


def test_radam_switches_branch_inside_one_run():
    # betas[1]=0.5: rho_t > 5 from step 6 on; 8 steps cover both branches of the kernel
    kw = {"lr": 0.05, "betas": (0.9, 0.5)}
    _assert_identical(_flat(*_run("RAdam", kw, np.float32, {"fused": True}, steps=8)),
                      _flat(*_run("RAdam", kw, np.float32, {"foreach": True}, steps=8)))


@pytest.mark.parametrize("name", ["Adagrad", "Adamax", "ASGD", "Adam"])
def test_tensor_lr(name):
    kw = {"lr": ag.tensor(0.03)}       # (Adam refuses a Tensor lr with foreach=True: compare to the for-loop)
    _assert_identical(_flat(*_run(name, kw, np.float32, {"fused": True})),
                      _flat(*_run(name, kw, np.float32, {"foreach": False})))


@pytest.mark.parametrize("name", sorted(FLAGS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_scale_divides_in_the_kernel(name, dtype):
    """Fused with grads*s and grad_scale=s equals foreach with the grads divided by s in the param dtype."""
    s = 3.0                                         # not a power of two: the division rounds
    kw = _config(name, {k: v[-1] for k, v in FLAGS[name].items()})
    ps, opt = _run(name, kw, dtype, {"fused": True}, grad_scale=s)
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(sz).astype(dtype) for sz in SIZES]
    grads = _grads(rng, dtype, 3)
    ref = [ag.tensor(a, requires_grad=True) for a in init]
    ropt = getattr(optim, name)(ref, **kw, foreach=True)
    for gs in grads:
        for p, g in zip(ref, gs):
            p.grad = None if g is None else ag.tensor((g * dtype(s)) / dtype(s))
        ropt.step()
    _assert_identical(_flat(ps, opt), _flat(ref, ropt))
    for p, q in zip(ps, ref):                       # the unscaled gradient is written back (torch does too)
        if p.grad is not None:
            assert np.array_equal(p.grad.numpy(), q.grad.numpy())


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "NAdam"])
def test_found_inf_skips_everything(name):
    kw = _config(name, {k: v[-1] for k, v in FLAGS[name].items()})
    ps, opt = _run(name, kw, np.float32, {"fused": True}, steps=2)
    before = _flat(ps, opt)
    grads = [p.grad.numpy().copy() if p.grad is not None else None for p in ps]
    opt.grad_scale = ag.tensor(4.0)
    opt.found_inf = ag.tensor(1.0)
    opt.step()
    _assert_identical(_flat(ps, opt), before)       # params, buffers and ``step`` untouched
    for p, g in zip(ps, grads):
        if g is not None:
            assert np.array_equal(p.grad.numpy(), g)   # not even unscaled
    opt.found_inf = ag.tensor(0.0)
    opt.step()
    assert any(not np.array_equal(a, b) for a, b in zip(_flat(ps, opt)[:len(ps)], before[:len(ps)]))


TORCH_FUSED = {
    "Adam": [{}, {"amsgrad": True, "weight_decay": 0.1, "maximize": True}, {"decoupled_weight_decay": True,
                                                                            "weight_decay": 0.1}],
    "AdamW": [{}, {"amsgrad": True, "maximize": True}],
    "SGD": [{}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
            {"momentum": 0.9, "dampening": 0.3, "maximize": True}],
    "Adagrad": [{}, {"lr_decay": 0.1, "weight_decay": 0.1, "maximize": True, "initial_accumulator_value": 0.5}],
}


def _torch_case(torch, name, kw, dtype, grad_scale=None, found_inf_at=None, steps=3):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SIZES]
    grads = _grads(rng, dtype, steps, holes=False)   # torch's fused SGD fails on a late first gradient
    out = []
    for lib in (ag, torch):
        ps = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        opt = getattr(optim if lib is ag else torch.optim, name)(ps, lr=0.05, fused=True, **kw)
        for t, gs in enumerate(grads):
            for p, g in zip(ps, gs):
                p.grad = None if g is None else lib.tensor(g * dtype(grad_scale or 1.0))
            if grad_scale is not None:
                opt.grad_scale = lib.tensor(grad_scale)
            if found_inf_at is not None:
                opt.found_inf = lib.tensor(1.0 if t == found_inf_at else 0.0)
            opt.step()
        out.append((ps, opt))
    return out


def _assert_close_to_torch(ours, theirs, dtype):
    (ps, opt), (tps, topt) = ours, theirs
    rtol, atol = (2e-6, 2e-6) if dtype == np.float32 else (1e-13, 1e-14)   # ~1 ulp of values near 1
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=rtol, atol=atol)
        if tp.grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol)
        for k, v in topt.state.get(tp, {}).items():
            np.testing.assert_allclose(opt.state[p][k].numpy(), v.numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("name,kw", [(n, c) for n, cs in TORCH_FUSED.items() for c in cs])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_fused_cpu(name, kw, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_case(torch, name, kw, dtype)
    _assert_close_to_torch(ours, theirs, dtype)


@pytest.mark.parametrize("name", sorted(TORCH_FUSED))
def test_grad_scale_and_found_inf_like_torch_fused_cpu(name):
    torch = pytest.importorskip("torch")
    kw = TORCH_FUSED[name][-1]
    ours, theirs = _torch_case(torch, name, kw, np.float32, grad_scale=3.0, found_inf_at=1, steps=4)
    _assert_close_to_torch(ours, theirs, np.float32)
    (ps, opt), (tps, topt) = ours, theirs
    for p, tp in zip(ps, tps):
        if "step" in topt.state.get(tp, {}):
            assert float(opt.state[p]["step"].numpy()) == float(topt.state[tp]["step"]) == 3.0


def test_without_numba_fused_is_refused_and_default_falls_back(monkeypatch):
    from minitorch_optim.kernels.numba import launch as _cpu

    monkeypatch.setattr(_cpu, "_numba", None)
    monkeypatch.setattr(_cpu, "_why", "ModuleNotFoundError: No module named 'numba'")
    p = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="Numba, which cannot be imported here"):
        optim.Adam([p], fused=True)
    from minitorch_optim import elementwise

    monkeypatch.setattr(elementwise, "_WARNED", [])
    opt = optim.Adam([p])
    assert opt._path(opt.param_groups[0]) == "foreach"
    p.grad = ag.tensor(np.ones(3, np.float32))
    with pytest.warns(RuntimeWarning, match="Numba cannot be imported.*foreach path"):
        opt.step()
    assert opt.state[p]["step"].item() == 1.0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")              # one message per process, not one per step
        opt.step()
        optim.SGD([p], lr=0.1).step()


def test_default_falls_back_for_sparse_grads():
    emb = ag.tensor(np.ones((4, 2), np.float32), requires_grad=True)
    opt = optim.Adagrad([emb], lr=0.5)
    emb.grad = ag.sparse_coo_tensor(np.array([[1, 1]]), np.ones((2, 2), np.float32), (4, 2))
    opt.step()
    expect = 1 - 0.5 * 2 / (2 + 1e-10)            # both entries of row 1 summed: g = 2
    assert np.allclose(emb.numpy()[1], expect) and np.array_equal(emb.numpy()[0], np.ones(2, np.float32))


@pytest.mark.parametrize("path", [{"fused": True}, {"foreach": True}])
def test_hand_set_gradient_is_adopted_and_held_gradients_stay_intact(path):
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, **path)
    g = ag.tensor([3.0, 3.0])
    p.grad = g
    opt.step()                                     # copied into the flat buffer once, then lives there
    assert p.grad is g and g.tolist() == [3.0, 3.0]
    kept = p.grad
    opt.zero_grad()
    (p * 5).sum().backward()
    opt.step()
    assert kept.tolist() == [3.0, 3.0] and p.grad.tolist() == [5.0, 5.0]
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.8, 2.0 - 0.8])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [0.001, 1 / 3, 0.5, 0.9])
def test_swa_lerp_kernel_matches_numpy_chunks(monkeypatch, dtype, weight):
    from minitorch_optim import _swa_flat
    from minitorch_optim.kernels.numba import launch as _cpu

    rng = np.random.default_rng(1)
    a = rng.standard_normal(300_001).astype(dtype)
    b = rng.standard_normal(300_001).astype(dtype)
    fused = a.copy()
    _swa_flat.lerp(fused, b, weight)
    monkeypatch.setattr(_cpu, "available", lambda: False)     # the NumPy chunked path
    ref = a.copy()
    _swa_flat.lerp(ref, b, weight)
    assert not np.array_equal(ref, a) and np.array_equal(fused, ref)


def test_averaged_model_ema_uses_the_kernel_and_matches_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    from minitorch_optim.kernels.numba import launch as _cpu
    from minitorch_optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    used = []
    real = _cpu.lerp_flat
    monkeypatch.setattr(_cpu, "lerp_flat", lambda a, b, w: used.append(real(a, b, w)) or used[-1])

    rng = np.random.default_rng(2)
    w0, steps = rng.standard_normal((7, 5)).astype(np.float32), [rng.standard_normal((7, 5)).astype(np.float32)
                                                                  for _ in range(3)]
    ours = ag.nn.Linear(5, 7, bias=False)
    theirs = torch.nn.Linear(5, 7, bias=False)
    ours.weight._data[...] = w0
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w0))
    avg = AveragedModel(ours, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    tavg = torch.optim.swa_utils.AveragedModel(theirs, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    for s in steps:
        ours.weight._data[...] = s
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(s))
        avg.update_parameters(ours)
        tavg.update_parameters(theirs)
    np.testing.assert_allclose(avg.module.weight.numpy(), tavg.module.weight.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert used and all(used)
