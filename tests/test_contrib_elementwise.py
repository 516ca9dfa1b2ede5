"""minitorch_optim.contrib's elementwise optimizers against pytorch_optimizer 4.1.0, and their paths.

Each case runs 12 steps on two parameter groups (three tensors: a matrix, a vector, a 4-D tensor, so the
per-tensor options see every shape rule) with gradients that depend on the parameters, in float32 and
float64. Our for-loop, foreach, default and differentiable paths are compared with each other bitwise and
with the reference (its default path) to rounding; a state_dict saved half-way and loaded into a fresh
optimizer continues exactly.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import autograd as ag
from minitorch_optim import contrib

torch = pytest.importorskip("torch")
po = pytest.importorskip("pytorch_optimizer")

STEPS = 12
SHAPES = [(3, 4), (5,), (2, 3, 2, 2)]

# (class, kwargs): the default configuration and the flag combinations each constructor offers
CASES = [
    ("Lion", {}),
    ("Lion", dict(weight_decay=0.1, weight_decouple=False, maximize=True)),
    ("Lion", dict(weight_decay=0.1, fixed_decay=True, use_gc=True)),
    ("Lion", dict(adanorm=True, adanorm_r=0.9, cautious=True)),
    ("Tiger", {}),
    ("Tiger", dict(weight_decouple=False, maximize=True)),
    ("Tiger", dict(fixed_decay=True)),
    ("SignSGD", {}),
    ("SignSGD", dict(momentum=0.0, weight_decay=0.1, weight_decouple=False, maximize=True)),
    ("SignSGD", dict(weight_decay=0.1)),
    ("Adan", {}),
    ("Adan", dict(weight_decay=0.1, max_grad_norm=1.0)),
    ("Adan", dict(weight_decay=0.1, weight_decouple=True, maximize=True, use_gc=True)),
    ("Adan", dict(adanorm=True)),
    ("AdaBelief", {}),
    ("AdaBelief", dict(rectify=True, ams_bound=True, weight_decay=0.1, weight_decouple=False)),
    ("AdaBelief", dict(rectify=True, degenerated_to_sgd=False, n_sma_threshold=4, fixed_decay=True,
                       weight_decay=0.1, maximize=True)),
    ("AdaBelief", dict(adanorm=True, adam_debias=True)),
    ("Yogi", {}),
    ("Yogi", dict(weight_decay=0.1, weight_decouple=False, initial_accumulator=0.1, maximize=True)),
    ("Yogi", dict(weight_decay=0.1, fixed_decay=True, adam_debias=True)),
    ("QHAdam", {}),
    ("QHAdam", dict(nus=(0.7, 0.8), weight_decay=0.1, maximize=True)),
    ("QHAdam", dict(nus=(0.5, 1.0), weight_decay=0.1, weight_decouple=True, fixed_decay=True)),
    ("QHM", {}),
    ("QHM", dict(momentum=0.9, nu=0.7, weight_decay=0.1, maximize=True)),
    ("QHM", dict(momentum=0.5, weight_decay=0.1, weight_decouple=True, foreach=None)),
    ("AggMo", {}),
    ("AggMo", dict(betas=(0.5, 0.95), weight_decay=0.1, maximize=True)),
    ("AggMo", dict(weight_decay=0.1, weight_decouple=True, fixed_decay=True)),
    ("MADGRAD", {}),
    ("MADGRAD", dict(momentum=0.0, weight_decay=0.1, weight_decouple=True, maximize=True)),
    ("MADGRAD", dict(weight_decay=0.1, eps=0.0)),
    ("ADOPT", {}),
    ("ADOPT", dict(weight_decay=0.1, weight_decouple=True, clip_lambda=None, maximize=True)),
    ("ADOPT", dict(weight_decay=0.1, cautious=True, stable_adamw=True)),
    ("AdEMAMix", {}),
    ("AdEMAMix", dict(t_alpha_beta3=8, weight_decay=0.1, maximize=True)),
    ("AdEMAMix", dict(weight_decay=0.1, weight_decouple=True, fixed_decay=True, cautious=True)),
    ("AdEMAMix", dict(stable_adamw=True)),
    ("StableAdamW", {}),
    ("StableAdamW", dict(weight_decouple=False, maximize=True, kahan_sum=False)),
    ("LaProp", {}),
    ("LaProp", dict(centered=True, steps_before_using_centered=4, ams_bound=True, weight_decay=0.1,
                    maximize=True)),
    ("LaProp", dict(weight_decay=0.1, fixed_decay=True, cautious=True)),
    ("Grams", {}),
    ("Grams", dict(weight_decay=0.1, maximize=True, foreach=None)),
    ("Grams", dict(weight_decay=0.1, weight_decouple=False)),
    ("MARS", {}),
    ("MARS", dict(mars_type="lion", ams_bound=True, cautious=True, weight_decay=0.1, weight_decouple=False)),
    ("MARS", dict(optimize_1d=True, ams_bound=True, weight_decay=0.1, maximize=True)),
    ("MARS", dict(weight_decay=0.1, fixed_decay=True, gamma=0.1)),
    ("MARS", dict(mars_type="shampoo")),
    ("MARS", dict(mars_type="shampoo", optimize_1d=True, cautious=True, weight_decay=0.1)),
]
NO_DIFF = {i for i, (n, k) in enumerate(CASES) if k.get("mars_type") == "shampoo"}
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
LR = {"Lion": 1e-3, "Tiger": 1e-3, "SignSGD": 1e-3, "MADGRAD": 1e-2, "QHM": 1e-2, "AggMo": 1e-2, "Yogi": 1e-2}
# the global clipping factor goes through torch's float32 sqrt, which is not always correctly rounded
LOOSE = {i for i, (n, k) in enumerate(CASES) if n == "Adan" and k.get("max_grad_norm")}


def _init(dtype):
    rng = np.random.default_rng(3)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grad(a, i):
    return (2.0 * a + np.sin(3.0 * a) + 0.05 * i).astype(a.dtype)


def _groups(ps, lr):
    return [{"params": ps[:2]}, {"params": ps[2:], "lr": lr * 0.5}]


def _run_ours(name, kw, dtype, path, steps=STEPS, x0=None):
    x0 = _init(dtype) if x0 is None else x0
    diff = path.get("differentiable", False)
    ps = [ag.tensor(a.copy(), requires_grad=not diff) for a in x0]
    if diff:
        ps = [p.clone() for p in ps]       # differentiable steps update non-leaf params, as in torch
    kw = dict(kw)
    lr = kw.pop("lr", LR.get(name, 1e-2))
    kw.update(path)
    opt = getattr(contrib, name)(_groups(ps, lr), lr=lr, **kw)
    for i in range(steps):
        for p in ps:
            p.grad = ag.tensor(_grad(p.detach().numpy(), i))
        opt.step()
    return [p.detach().numpy().copy() for p in ps], opt, ps


def _run_ref(name, kw, dtype):
    ps = [torch.tensor(a.copy(), requires_grad=True) for a in _init(dtype)]
    kw = dict(kw)
    lr = kw.pop("lr", LR.get(name, 1e-2))
    opt = getattr(po, name)(_groups(ps, lr), lr=lr, **kw)
    for i in range(STEPS):
        for p in ps:
            p.grad = torch.tensor(_grad(p.detach().numpy(), i))
        opt.step()
    return [p.detach().numpy() for p in ps], opt


def _close(a, b, dtype, loose=False):
    if dtype == np.float64:
        rtol, atol = (1e-7, 1e-9) if loose else (1e-10, 1e-12)
    else:
        rtol, atol = 1e-4, 1e-5
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _flat_state(v):
    if isinstance(v, dict):
        return {k: _flat_state(x) for k, x in v.items()}
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    if isinstance(v, ag.Tensor):
        return v.numpy()
    return v


def _compare_state(ref_sd, our_sd, dtype, loose):
    assert ref_sd["state"].keys() == our_sd["state"].keys()
    for k, rs in ref_sd["state"].items():
        rs, os_ = _flat_state(rs), _flat_state(our_sd["state"][k])
        if not isinstance(rs, dict):        # an optimizer-wide entry (MADGRAD's k)
            np.testing.assert_array_equal(np.reshape(rs, -1), np.reshape(os_, -1))
            continue
        assert list(rs) == list(os_), (list(rs), list(os_))
        for name, rv in rs.items():
            ov = os_[name]
            if isinstance(rv, dict):
                assert list(rv) == list(ov)
                for b in rv:
                    _close(rv[b], ov[b], dtype, loose)
            elif rv is None or isinstance(rv, float):
                assert ov == rv if rv is None else np.isclose(ov, rv, rtol=1e-12)
            else:
                _close(np.reshape(rv, np.shape(ov)) if np.size(rv) == 1 else rv, ov, dtype, loose)
    for rg, og in zip(ref_sd["param_groups"], our_sd["param_groups"]):
        assert sorted(rg) == sorted(og)
        assert rg["step"] == og["step"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_matches_reference_on_every_path(case, dtype):
    name, kw = CASES[case]
    ref, ref_opt = _run_ref(name, kw, dtype)
    loop, loop_opt, _ = _run_ours(name, kw, dtype, {"foreach": False})
    flat, _, _ = _run_ours(name, kw, dtype, {"foreach": True})
    auto, _, _ = _run_ours(name, kw, dtype, {"foreach": None})
    if case in NO_DIFF:
        with pytest.raises(RuntimeError, match="no differentiable path"):
            _run_ours(name, kw, dtype, {"differentiable": True})
        diff = loop
    else:
        diff, _, _ = _run_ours(name, kw, dtype, {"differentiable": True})
    loose = case in LOOSE
    for r, a, b, c, d in zip(ref, loop, flat, auto, diff):
        np.testing.assert_array_equal(a, b)        # foreach == for-loop, bitwise
        np.testing.assert_array_equal(a, c)        # default path == for-loop
        np.testing.assert_array_equal(a, d)        # differentiable == for-loop
        _close(r, a, dtype, loose)
    _compare_state(ref_opt.state_dict(), loop_opt.state_dict(), dtype, loose)


@pytest.mark.parametrize("path", [{"foreach": False}, {"foreach": True}], ids=["forloop", "foreach"])
@pytest.mark.parametrize("case", range(0, len(CASES), 1), ids=IDS)
def test_state_dict_halfway_continues_exactly(case, path):
    name, kw = CASES[case]
    full, _, _ = _run_ours(name, kw, np.float32, path)
    half, opt, ps = _run_ours(name, kw, np.float32, path, steps=STEPS // 2)
    sd = copy.deepcopy(opt.state_dict())
    ps2 = [ag.tensor(a.copy(), requires_grad=True) for a in half]
    kw2 = dict(kw)
    lr = kw2.pop("lr", LR.get(name, 1e-2))
    kw2.update(path)
    opt2 = getattr(contrib, name)(_groups(ps2, lr), lr=lr, **kw2)
    opt2.load_state_dict(sd)
    for i in range(STEPS // 2, STEPS):
        for p in ps2:
            p.grad = ag.tensor(_grad(p.detach().numpy(), i))
        opt2.step()
    for a, p in zip(full, ps2):
        np.testing.assert_array_equal(a, p.detach().numpy())


def test_reference_state_dict_loads_and_continues():
    """A state dict saved by pytorch_optimizer (torch tensors) loads into ours and continues as the reference."""
    for name, kw in [("Adan", {}), ("QHAdam", dict(nus=(0.7, 0.8))), ("AggMo", {}), ("LaProp", {}),
                     ("MADGRAD", {})]:
        ps = [torch.tensor(a.copy(), requires_grad=True) for a in _init(np.float64)]
        ref = getattr(po, name)(_groups(ps, 1e-2), lr=1e-2, **kw)
        ours_ps = None
        for i in range(STEPS):
            if i == STEPS // 2:
                ours_ps = [ag.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
                ours = getattr(contrib, name)(_groups(ours_ps, 1e-2), lr=1e-2, **kw)
                ours.load_state_dict(copy.deepcopy(ref.state_dict()))
            for p in ps:
                p.grad = torch.tensor(_grad(p.detach().numpy(), i))
            ref.step()
            if ours_ps is not None:
                for p in ours_ps:
                    p.grad = ag.tensor(_grad(p.detach().numpy(), i))
                ours.step()
        for p, q in zip(ps, ours_ps):
            _close(p.detach().numpy(), q.detach().numpy(), np.float64)


BAD = [
    ("Lion", dict(lr=-1.0)), ("Lion", dict(betas=(1.0, 0.9))), ("Lion", dict(betas=(0.9, -0.1))),
    ("Lion", dict(weight_decay=-1.0)), ("Tiger", dict(beta=1.0)), ("Tiger", dict(lr=-0.1)),
    ("SignSGD", dict(momentum=1.5)), ("SignSGD", dict(weight_decay=-0.1)),
    ("Adan", dict(betas=(0.9, 0.9, 1.5))), ("Adan", dict(max_grad_norm=-1.0)), ("Adan", dict(eps=-1.0)),
    ("AdaBelief", dict(eps=-1.0)), ("AdaBelief", dict(lr=-1.0)), ("Yogi", dict(betas=(0.9, 1.0))),
    ("QHAdam", dict(nus=(1.5, 1.0))), ("QHAdam", dict(nus=(1.0, -0.5))), ("QHM", dict(nu=2.0)),
    ("QHM", dict(momentum=1.0)), ("AggMo", dict(betas=(0.0, 1.0, 0.5))), ("MADGRAD", dict(momentum=1.0)),
    ("MADGRAD", dict(weight_decay=-1.0)), ("ADOPT", dict(eps=-1e-3)), ("AdEMAMix", dict(alpha=-1.0)),
    ("AdEMAMix", dict(t_alpha_beta3=-1.0)), ("AdEMAMix", dict(betas=(0.9, 0.999, 1.5))),
    ("StableAdamW", dict(weight_decay=-0.1)), ("LaProp", dict(betas=(-0.1, 0.9))), ("Grams", dict(eps=-1.0)),
    ("MARS", dict(mars_type="sgd")), ("MARS", dict(lr_1d=-1.0)), ("MARS", dict(betas_1d=(0.9, 1.0))),
    ("MARS", dict(gamma=-1.0)), ("MARS", dict(weight_decay_1d=-0.1)),
]


@pytest.mark.parametrize("name,kw", BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_constructor_errors_as_reference(name, kw):
    with pytest.raises(Exception) as ref:
        getattr(po, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(Exception) as ours:
        getattr(contrib, name)([ag.zeros(2, requires_grad=True)], **kw)
    assert type(ours.value).__name__ == type(ref.value).__name__
    assert str(ours.value) == str(ref.value)


def test_sparse_gradient_refused_before_anything_changes():
    p = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = contrib.Lion([{"params": [q]}, {"params": [p]}], lr=0.1)
    q.grad = ag.tensor([1.0, 1.0])
    p.grad = ag.sparse_coo_tensor([[0]], [1.0], (3,))
    with pytest.raises(contrib.NoSparseGradientError, match="Lion does not support sparse gradient"):
        opt.step()
    np.testing.assert_array_equal(q.numpy(), [1.0, 2.0])
    assert not opt.state and "step" not in opt.param_groups[0]


def test_mars_shampoo_refuses_differentiable_before_anything_changes():
    p = ag.tensor(np.ones((2, 2)), requires_grad=True)
    opt = contrib.MARS([p], mars_type="adamw", differentiable=True)
    opt.param_groups[0]["mars_type"] = "shampoo"
    p.grad = ag.tensor(np.ones((2, 2)))
    with pytest.raises(RuntimeError, match="no differentiable path"):
        opt.step()
    assert not opt.state and "step" not in opt.param_groups[0]


@pytest.mark.parametrize("gc_conv_only", [False, True])
def test_centralize_gradient_as_reference(gc_conv_only):
    rng = np.random.default_rng(5)
    for shape in [(3,), (3, 4), (2, 3, 4), (2, 3, 2, 2), ()]:
        a = rng.standard_normal(shape)
        t, o = torch.tensor(a), ag.tensor(a)
        po.centralize_gradient(t, gc_conv_only=gc_conv_only)
        contrib.centralize_gradient(o, gc_conv_only=gc_conv_only)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-15)
    ts = [torch.tensor(rng.standard_normal((2, 3))) for _ in range(2)]
    os_ = [ag.tensor(t.numpy().copy()) for t in ts]
    po.centralize_gradient(ts, gc_conv_only=False)
    contrib.centralize_gradient(os_, gc_conv_only=False)
    for t, o in zip(ts, os_):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-15)


def test_agc_as_reference():
    rng = np.random.default_rng(6)
    for shape in [(4,), (3, 4), (2, 3, 4), (2, 3, 2, 2), (2, 2, 2, 2, 2)]:
        p = rng.standard_normal(shape)
        for scale in (1e-3, 1.0, 1e3):       # clipped, partly clipped, untouched
            g = rng.standard_normal(shape) * scale
            ref = po.agc(torch.tensor(p), torch.tensor(g), agc_eps=1e-3, agc_clip_val=1e-2)
            g_t = ag.tensor(g)
            ours = contrib.agc(ag.tensor(p), g_t, agc_eps=1e-3, agc_clip_val=1e-2)
            np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12, atol=1e-15)
            np.testing.assert_array_equal(g_t.numpy(), g)      # the gradient given is not changed


def test_complex_parameter_refused():
    p = ag.tensor(np.array([1 + 1j, 2 - 1j]), requires_grad=True)
    opt = contrib.Adan([p])
    p.grad = ag.tensor(np.array([1 + 0j, 1j]))
    with pytest.raises(contrib.NoComplexParameterError, match="Adan does not support complex parameter"):
        opt.step()
    assert not opt.state


FUSABLE = [i for i, (n, kw) in enumerate(CASES)
           if getattr(contrib, n)._fused_supported and not getattr(contrib, n)._always_per_tensor
           and not any(kw.get(k) for k in getattr(contrib, n)._per_tensor_options)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", FUSABLE, ids=[IDS[i] for i in FUSABLE])
def test_fused_equals_foreach_bitwise(case, dtype):
    """fused=True runs the kernel generated from the update function (where the machinery has one)."""
    name, kw = CASES[case]
    kw = {k: v for k, v in kw.items() if k != "foreach"}
    try:
        getattr(contrib, name)([ag.zeros(2, requires_grad=True)], fused=True, **kw)
    except RuntimeError as e:
        pytest.skip(f"no fused kernel here: {e}")
    fused, _, _ = _run_ours(name, kw, dtype, {"fused": True})
    flat, _, _ = _run_ours(name, kw, dtype, {"foreach": True})
    for a, b in zip(fused, flat):
        np.testing.assert_array_equal(a, b)


def test_fused_refused_for_per_tensor_options():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    q = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = contrib.Lion([{"params": [p]}], lr=0.1, fused=False)
    opt.add_param_group({"params": [q], "cautious": True, "fused": True})
    p.grad, q.grad = ag.tensor([1.0, 1.0]), ag.tensor([1.0, 1.0])
    with pytest.raises(RuntimeError, match="`fused=True` is not available for Lion with cautious"):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])     # refused before any group was stepped
    assert not opt.state


def test_load_state_dict_checks_the_extra_state():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = contrib.LaProp([p])
    p.grad = ag.tensor([1.0, 1.0])
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    del sd["state"][0]["exp_avg_lr_1"]
    q = ag.tensor([1.0, 2.0], requires_grad=True)
    opt2 = contrib.LaProp([q])
    with pytest.raises(KeyError, match="exp_avg_lr_1"):
        opt2.load_state_dict(sd)
    assert not opt2.state
