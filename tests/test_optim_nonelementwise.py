"""SparseAdam, Adafactor and Muon (and what all four non-elementwise optimizers share): parity with torch 2.13
(when installed) and closed-form checks. LBFGS has its own file, test_optim_lbfgs.py.

Configurations mirror torch's ``common_optimizers.py`` (``optim_inputs_func_*`` on CPU); constructor errors
mirror its ``optim_error_inputs_func_*``.
"""
import copy
import warnings

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from _nonelementwise_helpers import (  # noqa: F401  (torch: the fixture)
    DTYPES, TOL, _assert_state_equal, _dense_grads, _Lr, _run_parity, torch)
from minitorch_optim.muon import newton_schulz, round_bf16


# ---------------------------------------------------------------------------------------------------
# shared constructor errors (get_error_inputs_for_all_optims) and state_dict round trips
# ---------------------------------------------------------------------------------------------------
ALL = [optim.LBFGS, optim.SparseAdam, optim.Adafactor, optim.Muon]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_common_constructor_errors(cls):
    p, q = ag.tensor(np.ones((1, 1)), requires_grad=True), ag.tensor(np.ones((1, 1)), requires_grad=True)
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable"):
        cls(p)
    with pytest.warns(UserWarning, match="a parameter group with duplicate parameters"):
        cls([p, p])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        cls([{"params": p}, {"params": p}])
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        cls([p], lr=ag.tensor([0.001, 0.001]))
    with pytest.raises(ValueError, match="Some param names are missing"):
        cls([("weight", p), q])
    if cls is not optim.LBFGS:  # (LBFGS rejects two groups first, as torch)
        with pytest.raises(ValueError, match="cannot add param group with names to the optimizer"):
            cls([{"params": [p], "lr": 1e-2}, {"params": [("weight", q)]}])


def _sparse_grad(rng, dtype, rows=6, cols=3, nnz=4):
    idx = rng.integers(0, rows, size=(1, nnz))
    return (idx, rng.normal(size=(nnz, cols)).astype(dtype), (rows, cols))


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_state_dict_round_trip_continues_identically(cls):
    rng = np.random.default_rng(4)
    init = [rng.normal(size=(4, 3)), rng.normal(size=(3, 5))]
    target = [rng.normal(size=a.shape) for a in init]

    def make(arrays):
        ps = [ag.tensor(a.copy(), requires_grad=True) for a in arrays]
        kw = {"line_search_fn": "strong_wolfe", "max_iter": 3} if cls is optim.LBFGS else {}
        return ps, cls(ps, **kw)

    def step(opt, ps, i):
        grng = np.random.default_rng(100 + i)
        if cls is optim.LBFGS:
            def closure():
                opt.zero_grad()
                loss = sum((((p - ag.tensor(t)) ** 2) * (1 + (p * p))).sum() for p, t in zip(ps, target))
                loss.backward()
                return loss
            opt.step(closure)
            return
        for p in ps:
            if cls is optim.SparseAdam:
                ind, val, shape = _sparse_grad(grng, np.float64, *p.shape)
                p.grad = ag.sparse_coo_tensor(ind, val, shape)
            else:
                p.grad = ag.tensor(grng.normal(size=p.shape))
        opt.step()

    ps, opt = make(init)
    for i in range(3):
        step(opt, ps, i)
    sd = copy.deepcopy(opt.state_dict())
    ps2, opt2 = make([p.numpy() for p in ps])
    opt2.load_state_dict(sd)
    for i in range(3, 6):
        step(opt, ps, i)
        step(opt2, ps2, i)
        for a, b in zip(ps, ps2):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert list(opt2.state_dict()["state"]) == list(opt.state_dict()["state"])


# ---------------------------------------------------------------------------------------------------
# SparseAdam
# ---------------------------------------------------------------------------------------------------
SPARSEADAM_CONFIGS = [{}, {"lr": 0.01}, {"lr": _Lr(0.001)}, {"maximize": True}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", SPARSEADAM_CONFIGS, ids=lambda k: ",".join(k) or "default")
def test_sparse_adam_matches_torch_configs(torch, kw, dtype):
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=(5, 2)).astype(dtype)]

    def grads(i):
        if i == 4:  # an empty gradient: step counts, nothing moves
            return [(np.zeros((1, 0), np.int64), np.zeros((0, 3), dtype), (6, 3)), None]
        return [_sparse_grad(rng, dtype, 6, 3, 5), _sparse_grad(rng, dtype, 5, 2, 3)]  # duplicates coalesce
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run_parity(torch, torch.optim.SparseAdam, optim.SparseAdam, kw, arrays, grads, 10, TOL[dtype])


def test_sparse_adam_embedding_gradient_vs_torch(torch):
    rng = np.random.default_rng(6)
    w0 = rng.normal(size=(10, 4))
    et = torch.nn.Embedding(10, 4, sparse=True, _weight=torch.tensor(w0))
    em = ag.nn.Embedding(10, 4, sparse=True, _weight=ag.tensor(w0))
    ot, om = torch.optim.SparseAdam(et.parameters(), lr=0.05), optim.SparseAdam(list(em.parameters()), lr=0.05)
    for i in range(10):
        idx = rng.integers(0, 10, size=7)
        tgt = rng.normal(size=(7, 4))
        for e, o, lib in ((et, ot, torch), (em, om, ag)):
            o.zero_grad()
            out = e(lib.tensor(idx))
            ((out - lib.tensor(tgt)) ** 2).sum().backward()
            assert e.weight.grad.is_sparse
            o.step()
        np.testing.assert_allclose(em.weight.numpy(), et.weight.detach().numpy(), rtol=1e-12, atol=1e-14)
    _assert_state_equal(ot.state[et.weight], om.state[em.weight], TOL[np.float64])


def test_sparse_adam_errors():
    p = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0: 1.0"):
        optim.SparseAdam([p], lr=1e-2, betas=(1.0, 0.0))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.5"):
        optim.SparseAdam([p], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="Invalid learning rate: 0.0"):
        optim.SparseAdam([p], lr=0.0)
    with pytest.raises(ValueError, match="Invalid epsilon value: 0.0"):
        optim.SparseAdam([p], eps=0.0)
    sp = ag.sparse_coo_tensor(np.zeros((1, 0), np.int64), np.zeros(0), (3,))
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]: SparseAdam requires dense"):
        optim.SparseAdam([sp])
    with pytest.raises(ValueError, match=r"indices \[\[0, 1\]\]: SparseAdam requires dense parameter tensors"):
        optim.SparseAdam([{"params": [p, sp]}])
    c = ag.tensor(np.ones(3, dtype=np.complex64))
    with pytest.raises(ValueError, match="SparseAdam does not support complex parameters"):
        optim.SparseAdam([c])
    opt = optim.SparseAdam([p])
    p.grad = ag.tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        opt.step()


def test_sparse_adam_touches_only_given_rows_closed_form():
    p = ag.tensor(np.zeros((4, 2)), requires_grad=True)
    opt = optim.SparseAdam([p], lr=0.1)
    p.grad = ag.sparse_coo_tensor(np.array([[1, 1, 3]]), np.array([[1.0, -2.0], [1.0, 0.0], [3.0, 3.0]]), (4, 2))
    opt.step()
    # first Adam step moves each touched entry by -lr * sign(g) (up to eps); duplicates were summed
    expect = np.array([[0, 0], [-0.1, 0.1], [0, 0], [-0.1, -0.1]])
    np.testing.assert_allclose(p.numpy(), expect, atol=1e-8)
    assert opt.state[p]["step"] == 1 and isinstance(opt.state[p]["step"], int)


# ---------------------------------------------------------------------------------------------------
# Adafactor
# ---------------------------------------------------------------------------------------------------
ADAFACTOR_CONFIGS = [{}, {"weight_decay": 0.1, "lr": 0.01}, {"weight_decay": 0.1, "maximize": True},
                     {"beta2_decay": -1.0}, {"d": 1.5}, {"eps": (1e-30, 1e-3), "lr": _Lr(0.001)}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", ADAFACTOR_CONFIGS, ids=lambda k: ",".join(k) or "default")
def test_adafactor_matches_torch_configs(torch, kw, dtype):
    shapes = [(5,), (4, 3), (2, 3, 4)]
    rng = np.random.default_rng(7)
    arrays = [rng.normal(size=s).astype(dtype) for s in shapes]
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=2e-6, atol=1e-7)
    ot, om, _, pm = _run_parity(torch, torch.optim.Adafactor, optim.Adafactor, kw, arrays,
                                _dense_grads(shapes, dtype), 12, tol)
    assert sorted(om.state[pm[1]]) == ["col_var", "row_var", "step"]
    assert om.state[pm[2]]["row_var"].shape == (2, 3, 1) and om.state[pm[2]]["col_var"].shape == (2, 1, 4)
    assert sorted(om.state[pm[0]]) == ["step", "variance"] and om.state[pm[0]]["step"].dtype == np.float32


def test_adafactor_errors_and_defaults():
    p = ag.tensor(np.ones((2, 3)), requires_grad=True)
    for kw, msg in [(dict(eps=(-1e-30, 1e-3)), "epsilon1 should be >= 0"), (dict(eps=(None, -1.0)),
                    "epsilon2 should be >= 0"), (dict(d=0.0), "Clipping threshold d should be >= 1"),
                    (dict(beta2_decay=0.8), "beta2_decay should be <= 0"), (dict(lr=-1.0),
                    "Learning rate should be >= 0"), (dict(weight_decay=-1.0), "weight_decay should be >= 0")]:
        with pytest.raises(ValueError, match=msg):
            optim.Adafactor([p], **kw)
    opt = optim.Adafactor([p])
    assert opt.defaults == dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
                                foreach=None, maximize=False)
    p.grad = ag.sparse_coo_tensor(np.array([[0]]), np.ones((1, 3)), (2, 3))
    with pytest.raises(RuntimeError, match="Adafactor does not support sparse gradients"):
        opt.step()
    c = ag.tensor(np.ones((2, 3), dtype=np.complex64), requires_grad=True)
    c.grad = ag.tensor(np.ones((2, 3), dtype=np.complex64))
    with pytest.raises(RuntimeError, match="Adafactor does not support complex parameters"):
        optim.Adafactor([c]).step()


def test_adafactor_first_step_closed_form():
    # step 1: V = G^2 exactly (weight 1), update = sign(G), clipped to RMS 1, scaled by max(eps2, RMS(p)) lr
    p0 = np.array([3.0, -4.0])
    p = ag.tensor(p0.copy(), requires_grad=True)
    p.grad = ag.tensor(np.array([0.5, 2.0]))
    optim.Adafactor([p], lr=0.01).step()
    np.testing.assert_allclose(p.numpy(), p0 - 0.01 * np.sqrt(12.5) * np.array([1.0, 1.0]), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Muon
# ---------------------------------------------------------------------------------------------------
MUON_CONFIGS = [{}, {"lr": 0.01}, {"lr": _Lr(0.001)}, {"weight_decay": 0.2}, {"momentum": 0.8},
                {"ns_steps": 6}, {"ns_coefficients": (3.4, -4.7, 2.0)},
                {"nesterov": False, "adjust_lr_fn": "match_rms_adamw"}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MUON_CONFIGS, ids=lambda k: ",".join(k) or "default")
def test_muon_matches_torch_configs(torch, kw, dtype):
    shapes = [(4, 3), (3, 5), (6, 6)]
    rng = np.random.default_rng(8)
    arrays = [rng.normal(size=s).astype(dtype) for s in shapes]
    lr = float(kw.get("lr", 1e-3))
    # the orthogonalisation runs in bfloat16 (as torch); float64 params can (rarely) land on the other side
    # of a bf16 rounding tie (torch's BLAS sums the float32 products in another order, and its momentum
    # uses a fused multiply-add): allow two bf16 steps of the unit-scale update
    param_tol = dict(rtol=0, atol=lr * 2 ** -6)
    ot, om, pt, pm = _run_parity(torch, torch.optim.Muon, optim.Muon, kw, arrays, _dense_grads(shapes, dtype),
                                 12, TOL[dtype], param_tol=param_tol)
    for a, b in zip(pt, pm):
        np.testing.assert_allclose(om.state[b]["momentum_buffer"].numpy(), ot.state[a]["momentum_buffer"].numpy(),
                                   **TOL[dtype])
        assert list(om.state[b]) == ["momentum_buffer"]


def test_newton_schulz_matches_torch_bf16(torch):
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns
    rng = np.random.default_rng(9)
    for shape in [(4, 3), (3, 7), (16, 16)]:
        g = rng.normal(size=shape)
        expect = torch_ns(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7).float().numpy()
        np.testing.assert_array_equal(newton_schulz(np, g, (3.4445, -4.775, 2.0315), 5, 1e-7), expect)


def test_bf16_rounding_and_orthogonalisation_without_torch():
    u = 2.0 ** -8
    x = np.array([1 + u, 1 + 3 * u, 1 + 1.01 * u, -2.5, np.inf, 0.0], np.float32)
    np.testing.assert_array_equal(round_bf16(np, x), [1.0, 1 + 4 * u, 1 + 2 * u, -2.5, np.inf, 0.0])
    g = np.random.default_rng(10).normal(size=(12, 5))
    s = np.linalg.svd(newton_schulz(np, g, (3.4445, -4.7750, 2.0315), 5, 1e-7).astype(np.float64),
                      compute_uv=False)
    assert np.all((s > 0.6) & (s < 1.25))  # singular values pushed towards 1 (the quintic's known band)


def test_muon_errors():
    p = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        optim.Muon([ag.tensor(np.ones((2, 3, 4)), requires_grad=True)])
    with pytest.raises(ValueError, match="Adjust learning rate function arbitrary is not supported"):
        optim.Muon([p], adjust_lr_fn="arbitrary")
    for kw, msg in [(dict(lr=-1.0), "Learning rate should be >= 0"), (dict(momentum=-0.1),
                    "momentum should be >= 0"), (dict(weight_decay=-0.1), "weight decay should be >= 0")]:
        with pytest.raises(ValueError, match=msg):
            optim.Muon([p], **kw)
    c = ag.tensor(np.ones((2, 3), dtype=np.complex64), requires_grad=True)
    c.grad = ag.tensor(np.ones((2, 3), dtype=np.complex64))
    with pytest.raises(RuntimeError, match="Muon does not support complex parameters"):
        optim.Muon([c]).step()


# ---------------------------------------------------------------------------------------------------
# CUDA (CuPy): the same numbers as on the CPU; skipped without a GPU
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_cuda_matches_cpu(cls):
    pytest.importorskip("cupy")
    if not ag.cuda.is_available():
        pytest.skip("no usable GPU")
    rng = np.random.default_rng(11)
    init = [rng.normal(size=(4, 3)), rng.normal(size=(3, 5))]
    results = []
    for dev in ("cpu", "cuda"):
        ps = [ag.tensor(a, device=dev, requires_grad=True) for a in init]
        opt = cls(ps, **({"line_search_fn": "strong_wolfe", "max_iter": 5} if cls is optim.LBFGS else {}))
        grng = np.random.default_rng(12)
        for _ in range(4):
            if cls is optim.LBFGS:
                def closure(ps=ps, opt=opt, dev=dev):
                    opt.zero_grad()
                    loss = sum(((p - 1.0) ** 2 * (1 + p * p)).sum() for p in ps)
                    loss.backward()
                    return loss
                opt.step(closure)
                continue
            for p in ps:
                if cls is optim.SparseAdam:
                    ind, val, shape = _sparse_grad(grng, np.float64, *p.shape)
                    p.grad = ag.sparse_coo_tensor(ind, val, shape, device=dev)
                else:
                    p.grad = ag.tensor(grng.normal(size=p.shape), device=dev)
            opt.step()
        assert all(p.device == dev or str(p.device).startswith(dev) for p in ps)
        results.append([p.numpy() for p in ps])
    atol = 1e-3 * 2 ** -6 if cls is optim.Muon else 1e-10  # Muon: bf16 ties may round apart (cuBLAS order)
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=0 if cls is optim.Muon else 1e-9, atol=atol)
