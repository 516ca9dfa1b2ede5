"""The non-elementwise contrib optimizers against pytorch_optimizer 4.1.0 / schedulefree 1.4.1: 12 steps on a deterministic problem,
two param groups, float32 and float64, the flag combinations of each constructor; state_dict resume;
constructor errors; schedule-free for-loop vs foreach bitwise; wrappers; schedulers; helpers."""
import copy

import numpy as np
import pytest

import autograd as ag
from minitorch_optim import contrib as C
from _contrib_reference import DTYPES, TOL, Pair, as_np, grad_of, init_arrays, targets, torch  # noqa: F401

LOOSE = {np.float64: dict(rtol=2e-6, atol=1e-8), np.float32: TOL[np.float32]}

CASES = [
    ("Lamb", {}), ("Lamb", dict(foreach=False)), ("Lamb", dict(rectify=True)),
    ("Lamb", dict(rectify=True, degenerated_to_sgd=True)), ("Lamb", dict(pre_norm=True, weight_decay=0.1)),
    ("Lamb", dict(weight_decouple=False, weight_decay=0.1, maximize=True)),
    ("Lamb", dict(adam=True, grad_averaging=False, fixed_decay=True, weight_decay=0.1, adam_debias=True)),
    ("LARS", {}), ("LARS", dict(foreach=False, weight_decay=0.1, nesterov=True, dampening=0.1)),
    ("LARS", dict(momentum=0.0, maximize=True)), ("LARS", dict(lr=0.1, trust_coefficient=0.1)),
    ("NovoGrad", {}), ("NovoGrad", dict(foreach=False, weight_decay=0.1)),
    ("NovoGrad", dict(weight_decay=0.1, weight_decouple=True, grad_averaging=True)),
    ("NovoGrad", dict(maximize=True, adam_debias=True, fixed_decay=True, weight_decay=0.01, weight_decouple=True)),
    ("AdamP", {}), ("AdamP", dict(nesterov=True, weight_decay=0.1)),
    ("AdamP", dict(weight_decouple=False, weight_decay=0.1, maximize=True)),
    ("AdamP", dict(cautious=True, use_gc=True, nesterov=True, delta=0.9)),
    ("AdamP", dict(delta=2.0, wd_ratio=0.5, weight_decay=0.1, fixed_decay=True, foreach=True)),
    ("AdamP", dict(delta=2.0, nesterov=True, cautious=True, weight_decay=0.1)),  # delta=2: projections happen
    ("SGDP", {}), ("SGDP", dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGDP", dict(momentum=0.5, dampening=0.2, delta=2.0, weight_decay=0.1, maximize=True)),
    ("Prodigy", {}), ("Prodigy", dict(bias_correction=True, safeguard_warmup=True, weight_decay=0.1)),
    ("Prodigy", dict(eps=None, d_coef=0.5, growth_rate=1.02, beta3=0.9, maximize=True)),
    ("Prodigy", dict(weight_decouple=False, weight_decay=0.1, fixed_decay=True, foreach=False)),
    ("DAdaptAdam", {}), ("DAdaptAdam", dict(bias_correction=True, weight_decay=0.1)),
    ("DAdaptAdam", dict(weight_decouple=True, weight_decay=0.1, growth_rate=1.05, maximize=True)),
    ("DAdaptAdam", dict(fixed_decay=True, weight_decay=0.1, weight_decouple=True, d0=1e-3)),
    ("CAME", {}), ("CAME", dict(ams_bound=True, weight_decay=0.1, lr=1e-2)),
    ("CAME", dict(weight_decouple=False, weight_decay=0.1, clip_threshold=0.5, maximize=True, lr=1e-2)),
    ("CAME", dict(fixed_decay=True, weight_decay=0.1, betas=(0.8, 0.99, 0.999))),
    # matrix_eps well above float32 resolution: with 1e-6 the inverse roots of the rank-deficient statistics of
    # vectors amplify rounding noise (the reference's numbers there depend on the LAPACK build)
    ("Shampoo", dict(matrix_eps=1e-2)), ("Shampoo", dict(momentum=0.5, weight_decay=0.1, lr=1e-2, matrix_eps=1e-2)),
    ("Shampoo", dict(weight_decouple=True, weight_decay=0.1, preconditioning_compute_steps=3, maximize=True,
                     lr=0.05, matrix_eps=1e-2)),
    ("SOAP", {}), ("SOAP", dict(precondition_frequency=3, normalize_gradient=True)),
    ("SOAP", dict(merge_dims=True, max_precondition_dim=3, shampoo_beta=0.9, correct_bias=False, maximize=True)),
    ("SOAP", dict(weight_decay=0.0, betas=(0.9, 0.99), lr=1e-2, precondition_frequency=2)),
]
# float64 runs whose float32 internals (accumulators, float32 QR) limit agreement to float32 rounding
_F32_INSIDE = {"SOAP", "Prodigy", "DAdaptAdam"}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_pytorch_optimizer(torch, name, kw, dtype):
    po = pytest.importorskip("pytorch_optimizer")
    pr = Pair(torch, getattr(C, name), getattr(po, name), dtype, kw)
    tol = LOOSE[dtype] if name in _F32_INSIDE or kw.get("pre_norm") else TOL[dtype]
    if name == "SOAP":          # the reference's QR refresh runs in float32 for every dtype
        tol = TOL[np.float32]
    if name == "Shampoo" and dtype == np.float32:   # float32 SVDs of statistics with condition ~1e4
        tol = dict(rtol=1e-2, atol=1e-3)
    for s in range(12):
        pr.step()
        for i, (tp, op) in enumerate(zip(pr.tp, pr.op)):
            np.testing.assert_allclose(as_np(op), as_np(tp), **tol, err_msg=f"{name} step {s} param {i}")
    ref_st, our_st = pr.ref.state[pr.tp[0]], pr.ours.state[pr.op[0]]
    for k, v in ref_st.items():
        if hasattr(v, "shape") and k not in ("p0",):
            assert k in our_st, k
            np.testing.assert_allclose(as_np(our_st[k]), as_np(v), **(tol if name in ("SOAP", "Shampoo") else
                                                                         LOOSE[dtype]), err_msg=k)
    assert pr.ref.param_groups[0]["step"] == pr.ours.param_groups[0]["step"]


SF_CASES = [("AdamWScheduleFree", {}), ("AdamWScheduleFree", dict(weight_decay=0.1, warmup_steps=3, r=0.5)),
            ("RAdamScheduleFree", {}), ("RAdamScheduleFree", dict(weight_decay=0.1, silent_sgd_phase=False, r=0.5)),
            ("SGDScheduleFree", dict(lr=0.1)), ("SGDScheduleFree", dict(lr=0.1, weight_decay=0.1, warmup_steps=3,
                                                                        weight_lr_power=1.0))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name,kw", SF_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SF_CASES)])
def test_schedule_free_matches_reference(torch, name, kw, dtype, foreach):
    sf = pytest.importorskip("schedulefree")
    pr = Pair(torch, getattr(C, name), getattr(sf, name), dtype, dict(kw, foreach=foreach))
    pr.ref.train()
    pr.ours.train()
    for s in range(12):
        pr.step()
        if s in (4, 9):     # eval point x, then back to y
            pr.ref.eval()
            pr.ours.eval()
            pr.assert_close(f"eval {s}")
            pr.ref.train()
            pr.ours.train()
        pr.assert_close(f"step {s}")
    for key in ("k", "weight_sum", "lr_max", "scheduled_lr"):
        assert pr.ours.param_groups[1][key] == pytest.approx(pr.ref.param_groups[1][key], rel=1e-12)


BITWISE = SF_CASES + [("Prodigy", {}), ("Prodigy", dict(weight_decay=0.1, safeguard_warmup=True)),
                      ("DAdaptAdam", dict(weight_decay=0.1)),
                      ("DAdaptAdam", dict(weight_decay=0.1, weight_decouple=True))]


@pytest.mark.parametrize("name,kw", BITWISE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BITWISE)])
def test_foreach_equals_forloop_bitwise(name, kw):
    runs = []
    for foreach in (True, False):
        ps = [ag.nn.Parameter(ag.tensor(a)) for a in init_arrays(np.float32)]
        t = targets()
        opt = getattr(C, name)([{"params": ps[:2]}, {"params": ps[2:]}], **kw, foreach=foreach)
        if hasattr(opt, "train"):
            opt.train()
        for s in range(12):
            for i, p in enumerate(ps):
                p.grad = ag.tensor(grad_of(p.numpy(), t[i], i, s))
            opt.step()
        if hasattr(opt, "eval"):
            opt.eval()
        runs.append([p.numpy().copy() for p in ps])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_schedule_free_needs_train_mode():
    opt = C.AdamWScheduleFree([ag.nn.Parameter(ag.ones(2))])
    with pytest.raises(Exception, match="not in train mode"):
        opt.step()


# ---- state_dict resume ------------------------------------------------------------------------------------------
RESUME = [("Lamb", {}), ("LARS", {}), ("NovoGrad", {}), ("AdamP", dict(nesterov=True)), ("SGDP", dict(momentum=0.9)),
          ("Prodigy", {}), ("DAdaptAdam", {}), ("CAME", {}), ("Shampoo", dict(momentum=0.5)),
          ("SOAP", dict(precondition_frequency=3)), ("AdamWScheduleFree", {}), ("SGDScheduleFree", dict(lr=0.1)),
          ("RAdamScheduleFree", dict(foreach=False))]


@pytest.mark.parametrize("name,kw", RESUME, ids=[n for n, _ in RESUME])
def test_state_dict_resume_continues_exactly(name, kw):
    init, t = init_arrays(np.float64), targets()

    def run(n_steps, start=None, sd=None):
        ps = [ag.nn.Parameter(ag.tensor((start or init)[i].copy())) for i in range(len(init))]
        opt = getattr(C, name)([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5 * kw.get("lr", 1e-3)
                                                     if name not in ("Prodigy", "DAdaptAdam") else 1.0}], **kw)
        if hasattr(opt, "train"):
            opt.train()
        if sd is not None:
            opt.load_state_dict(sd)
        k0 = 0 if sd is None else 6
        for s in range(n_steps):
            for i, p in enumerate(ps):
                p.grad = ag.tensor(grad_of(p.numpy(), t[i], i, k0 + s))
            opt.step()
        return ps, opt

    full, _ = run(12)
    half, opt = run(6)
    sd = copy.deepcopy(opt.state_dict())
    rest, _ = run(6, start=[p.numpy() for p in half], sd=sd)
    for a, b in zip(full, rest):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---- constructor errors -------------------------------------------------------------------------------------------
ERRORS = [("Lamb", dict(lr=-1.0), C.NegativeLRError), ("Lamb", dict(betas=(1.0, 0.9)), ValueError),
          ("Lamb", dict(eps=-1.0), ValueError), ("LARS", dict(momentum=1.0), ValueError),
          ("LARS", dict(dampening=-0.1), ValueError), ("NovoGrad", dict(weight_decay=-1), ValueError),
          ("AdamP", dict(wd_ratio=1.0), ValueError), ("SGDP", dict(eps=-1e-8), ValueError),
          ("Prodigy", dict(beta3=1.5), ValueError), ("DAdaptAdam", dict(lr=-0.1), C.NegativeLRError),
          ("CAME", dict(eps1=-1.0), ValueError), ("Shampoo", dict(preconditioning_compute_steps=0),
                                                   C.NegativeStepError),
          ("SOAP", dict(precondition_frequency=0), ValueError), ("SGDScheduleFree", dict(momentum=0.0), ValueError),
          ("SGDScheduleFree", dict(lr=-1.0), ValueError), ("Lamb", dict(adanorm=True), NotImplementedError)]


@pytest.mark.parametrize("name,kw,err", ERRORS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ERRORS)])
def test_constructor_errors(name, kw, err):
    with pytest.raises(err):
        getattr(C, name)([ag.nn.Parameter(ag.ones(2))], **kw)


def test_sparse_gradient_refused():
    p = ag.nn.Parameter(ag.ones(3))
    p.grad = ag.sparse_coo_tensor(np.array([[0]]), np.array([1.0], np.float32), (3,))
    with pytest.raises(C.NoSparseGradientError, match="does not support sparse gradient"):
        C.Lamb([p]).step()


def test_gradients_are_not_modified():
    p = ag.nn.Parameter(ag.tensor(np.arange(6.0).reshape(2, 3)))
    g = np.ones((2, 3))
    for name in ("Lamb", "LARS", "NovoGrad", "AdamP", "Prodigy", "CAME", "Shampoo"):
        p.grad = ag.tensor(g.copy())
        getattr(C, name)([p], maximize=True).step()
        np.testing.assert_array_equal(p.grad.numpy(), g)


# ---- differentiable (schedule-free's extension) ----------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("AdamWScheduleFree", dict(lr=0.1, weight_decay=0.1, warmup_steps=2)),
                                     ("RAdamScheduleFree", dict(lr=0.1, silent_sgd_phase=False)),
                                     ("SGDScheduleFree", dict(lr=0.1, weight_decay=0.05))])
def test_schedule_free_hypergradients_match_finite_differences(name, kw):
    import math

    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(4)
    gs = [rng.standard_normal(4) for _ in range(3)]

    def final(x_init, grads):
        leaf = ag.tensor(x_init, requires_grad=True)
        g_ts = [ag.tensor(g, requires_grad=True) for g in grads]
        p = leaf.clone()
        opt = getattr(C, name)([p], differentiable=True, **kw)
        opt.train()
        for g in g_ts:
            p.grad = g
            opt.step()
        opt.eval()
        return (p * p * p).sum(), leaf, g_ts

    loss, leaf, g_ts = final(x0, gs)
    loss.backward()
    eps = 1e-6

    def f(x=x0, grads=gs):
        with ag.no_grad():
            return float(final(x, grads)[0])

    for i in range(4):
        d = np.zeros(4)
        d[i] = eps
        num = (f(x=x0 + d) - f(x=x0 - d)) / (2 * eps)
        assert math.isclose(leaf.grad.numpy()[i], num, rel_tol=1e-5, abs_tol=1e-8)
        num_g = (f(grads=[gs[0] + d] + gs[1:]) - f(grads=[gs[0] - d] + gs[1:])) / (2 * eps)
        assert math.isclose(g_ts[0].grad.numpy()[i], num_g, rel_tol=1e-5, abs_tol=1e-7)


def test_schedule_free_differentiable_equals_forloop():
    init = init_arrays(np.float64)
    t = targets()
    out = []
    for diff in (False, True):
        ps = [ag.tensor(a.copy(), requires_grad=diff) for a in init]
        ps = [p.clone() if diff else ag.nn.Parameter(p) for p in ps]
        opt = C.AdamWScheduleFree(ps, lr=0.05, foreach=False, differentiable=diff)
        opt.train()
        for s in range(6):
            for i, p in enumerate(ps):
                p.grad = ag.tensor(grad_of(p.detach().numpy(), t[i], i, s))
            opt.step()
        opt.eval()
        out.append([p.detach().numpy().copy() for p in ps])
    # not bitwise: autograd's Tensor.addcmul_ rounds value * (a * b), the array ops (value * a) * b as torch
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("name", ["Lamb", "LARS", "NovoGrad", "AdamP", "SGDP", "Prodigy", "DAdaptAdam", "CAME",
                                  "Shampoo", "SOAP"])
def test_params_without_gradient_are_skipped_as_reference(torch, name):
    po = pytest.importorskip("pytorch_optimizer")
    kw = dict(matrix_eps=1e-2) if name == "Shampoo" else {}
    pr = Pair(torch, getattr(C, name), getattr(po, name), np.float64, kw)
    tol = TOL[np.float32] if name == "SOAP" else LOOSE[np.float64]
    for s in range(10):
        pr.set_grads(skip=1 if 2 <= s < 5 else (0 if s == 0 else None))
        pr.ref.step()
        pr.ours.step()
        for i, (tp, op) in enumerate(zip(pr.tp, pr.op)):
            np.testing.assert_allclose(as_np(op), as_np(tp), **tol, err_msg=f"{name} step {s} param {i}")


CASES_4D = [("SOAP", dict(merge_dims=True, data_format="channels_last", max_precondition_dim=4)),
            ("SOAP", dict(merge_dims=True, max_precondition_dim=4)), ("SOAP", dict(max_precondition_dim=3)),
            ("CAME", dict(ams_bound=True)), ("Shampoo", dict(matrix_eps=1e-2)), ("AdamP", dict(delta=2.0)),
            ("Lamb", dict(pre_norm=True, max_grad_norm=0.0)), ("Lamb", dict(rectify=True, n_sma_threshold=4))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,kw", CASES_4D, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES_4D)])
def test_conv_shaped_params_match_reference(torch, name, kw, dtype):
    """A 4-d (conv-like) parameter: SOAP's merged / channels_last dims, factored CAME, 4-way Shampoo."""
    po = pytest.importorskip("pytorch_optimizer")
    pr = Pair(torch, getattr(C, name), getattr(po, name), dtype, kw, shapes=[(3, 2, 2, 4), (2, 3), (5,)])
    tol = TOL[np.float32] if name == "SOAP" else TOL[dtype]
    if name == "Shampoo" and dtype == np.float32:
        tol = dict(rtol=1e-2, atol=1e-3)
    for s in range(12):
        pr.step()
        for i, (tp, op) in enumerate(zip(pr.tp, pr.op)):
            np.testing.assert_allclose(as_np(op), as_np(tp), **tol, err_msg=f"{name} step {s} param {i}")


LOAD = [("Lamb", {}), ("Prodigy", {}), ("DAdaptAdam", {}), ("CAME", {}), ("SOAP", dict(precondition_frequency=3)),
        ("Shampoo", dict(matrix_eps=1e-2)), ("NovoGrad", {}), ("AdamP", {}), ("LARS", {}), ("SGDP", dict(momentum=0.9)),
        ("AdamWScheduleFree", {}), ("RAdamScheduleFree", {}), ("SGDScheduleFree", dict(lr=0.1))]


@pytest.mark.parametrize("name,kw", LOAD, ids=[n for n, _ in LOAD])
def test_reference_state_dict_loads_and_continues(torch, name, kw):
    """A checkpoint of the reference (torch tensors inside) loads into ours and both continue alike."""
    lib = pytest.importorskip("schedulefree" if "ScheduleFree" in name else "pytorch_optimizer")
    pr = Pair(torch, getattr(C, name), getattr(lib, name), np.float64, kw)
    if hasattr(pr.ref, "train"):
        pr.ref.train()
        pr.ours.train()
    pr.step(6)
    sd = copy.deepcopy(pr.ref.state_dict())
    fresh = getattr(C, name)([{"params": pr.op[:2]}, {"params": pr.op[2:]}], **kw)
    for p, tp in zip(pr.op, pr.tp):
        p._data[...] = tp.detach().numpy()
    fresh.load_state_dict(sd)
    pr.ours = fresh
    tol = TOL[np.float32] if name == "SOAP" else LOOSE[np.float64]
    for s in range(6):
        pr.step()
        for i, (tp, op) in enumerate(zip(pr.tp, pr.op)):
            np.testing.assert_allclose(as_np(op), as_np(tp), **tol, err_msg=f"{name} step {s} param {i}")


@pytest.mark.parametrize("name", ["Lamb", "LARS", "NovoGrad", "AdamP", "SGDP", "Prodigy", "DAdaptAdam", "CAME",
                                  "Shampoo", "SOAP", "AdamWScheduleFree", "SGDScheduleFree", "RAdamScheduleFree"])
def test_tensor_lr_reads_as_its_value(name):
    res = []
    for lr in (float(np.float32(0.01)), ag.tensor(0.01, dtype=np.float32)):
        p = ag.nn.Parameter(ag.tensor(np.arange(6.0).reshape(2, 3)))
        opt = getattr(C, name)([p], lr=lr)
        if hasattr(opt, "train"):
            opt.train()
        for s in range(4):
            p.grad = ag.tensor(np.sin(np.arange(6.0) + s).reshape(2, 3))
            opt.step()
        res.append(p.numpy().copy())
    np.testing.assert_array_equal(*res)


def test_schedule_free_sparse_gradient_refused_before_anything_moves():
    p, q = ag.nn.Parameter(ag.ones(3)), ag.nn.Parameter(ag.ones(3))
    opt = C.AdamWScheduleFree([{"params": [p]}, {"params": [q]}])
    opt.train()
    p.grad = ag.tensor(np.ones(3, np.float32))
    q.grad = ag.sparse_coo_tensor(np.array([[0]]), np.array([1.0], np.float32), (3,))
    before = copy.deepcopy([{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups])
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == before
    np.testing.assert_array_equal(p.numpy(), np.ones(3))
    assert not opt.state
