"""load_state_dict validation, constructor betas, Rprop with NaN gradients, ASGD's Tensor-lr hypergradient.

Each case is compared with torch 2.13 where torch is installed: a state dict torch accepts at load time but
fails on at ``step()`` is refused by us at load time, with the error class torch's step raises, and the
optimizer is left unchanged.
"""
import copy
import math

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from autograd.nn import Parameter

PATHS = [dict(foreach=False), dict(foreach=True), {}]


def _torch():
    return pytest.importorskip("torch")


def _stepped(name="Adam", shapes=((3, 4), (2,)), **kw):
    ps = [Parameter(ag.tensor(np.linspace(-1, 1, int(np.prod(s))).reshape(s))) for s in shapes]
    opt = getattr(optim, name)(ps, **kw)
    for p in ps:
        p.grad = ag.ones_like(p)
    opt.step()
    return opt, ps


def _snapshot(opt):
    return (copy.deepcopy(opt.param_groups[0]["lr"]),
            {id(p): {k: np.array(v.numpy() if hasattr(v, "numpy") else v) for k, v in st.items()}
             for p, st in opt.state.items()})


def _assert_unchanged(opt, snap):
    lr, state = snap
    assert opt.param_groups[0]["lr"] == lr
    for p, st in opt.state.items():
        for k, v in st.items():
            np.testing.assert_array_equal(np.array(v.numpy() if hasattr(v, "numpy") else v), state[id(p)][k])


def _torch_step_error(edit, name="Adam", **kw):
    """The exception class torch raises at load or at the first step after loading an edited state dict."""
    torch = _torch()
    ps = [torch.nn.Parameter(torch.linspace(-1, 1, 12).reshape(3, 4)), torch.nn.Parameter(torch.zeros(2))]
    opt = getattr(torch.optim, name)(ps, **kw)
    for p in ps:
        p.grad = torch.ones_like(p)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    edit(sd, torch)
    try:
        opt.load_state_dict(sd)
        for p in ps:
            p.grad = torch.ones_like(p)
        opt.step()
    except Exception as e:  # noqa: BLE001 - we want the class torch raises
        return type(e)
    return None


CASES = {
    # a one-element state tensor would broadcast over the (3, 4) parameter in a NumPy update
    "broadcastable_shape": lambda sd, lib: sd["state"][0].__setitem__("exp_avg", lib.zeros(1)),
    # same number of elements, other shape: reinterpreted by a flat buffer
    "same_size_other_shape": lambda sd, lib: sd["state"][0].__setitem__("exp_avg", lib.zeros(12)),
    "missing_step": lambda sd, lib: sd["state"][0].pop("step"),
    "missing_exp_avg_sq": lambda sd, lib: sd["state"][1].pop("exp_avg_sq"),
    "missing_group_lr": lambda sd, lib: sd["param_groups"][0].pop("lr"),
    "missing_group_betas": lambda sd, lib: sd["param_groups"][0].pop("betas"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("path", PATHS, ids=str)
def test_bad_state_dict_refused_with_torchs_error_class_and_nothing_changed(case, path):
    opt, ps = _stepped(**path)
    sd = copy.deepcopy(opt.state_dict())
    CASES[case](sd, ag)
    snap = _snapshot(opt)
    expected = {"broadcastable_shape": RuntimeError, "same_size_other_shape": RuntimeError}.get(case, KeyError)
    try:
        want = _torch_step_error(CASES[case])
    except pytest.skip.Exception:
        want = expected
    assert want is expected, f"torch raises {want} here"
    with pytest.raises(expected):
        opt.load_state_dict(sd)
    _assert_unchanged(opt, snap)
    for p in ps:  # and the optimizer still steps as before
        p.grad = ag.ones_like(p)
    opt.step()
    assert float(opt.state[ps[0]]["step"]) == 2


def test_sgd_state_dict_into_adam_is_refused():
    sgd, _ = _stepped("SGD", lr=0.1, momentum=0.9)
    adam, ps = _stepped("Adam")
    snap = _snapshot(adam)
    with pytest.raises(KeyError, match="betas"):
        adam.load_state_dict(sgd.state_dict())
    _assert_unchanged(adam, snap)


def test_group_from_older_release_gets_torchs_flag_values_not_live_defaults():
    """torch's __setstate__ fills a missing ``amsgrad`` with False, whatever the optimizer was built with."""
    opt, ps = _stepped("Adam", amsgrad=True)
    sd = copy.deepcopy(opt.state_dict())
    del sd["param_groups"][0]["amsgrad"]
    del sd["param_groups"][0]["maximize"]
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["amsgrad"] is False and opt.param_groups[0]["maximize"] is False
    torch = pytest.importorskip("torch")
    tp = torch.nn.Parameter(torch.zeros(2))
    topt = torch.optim.Adam([tp], amsgrad=True)
    tsd = topt.state_dict()
    del tsd["param_groups"][0]["amsgrad"]
    topt.load_state_dict(tsd)
    assert topt.param_groups[0]["amsgrad"] is False


def test_amsgrad_state_without_max_exp_avg_sq_is_refused():
    plain, _ = _stepped("Adam")
    sd = copy.deepcopy(plain.state_dict())
    sd["param_groups"][0]["amsgrad"] = True
    opt, _ = _stepped("Adam")
    with pytest.raises(KeyError, match="max_exp_avg_sq"):
        opt.load_state_dict(sd)


@pytest.mark.parametrize("name", ["SparseAdam", "Adafactor", "Muon"])
def test_groupwise_optimizers_check_their_state_shapes(name):
    shapes = ((3, 4),)
    if name == "SparseAdam":
        p = Parameter(ag.zeros(3, 4))
        opt = optim.SparseAdam([p])
        p.grad = ag.sparse_coo_tensor([[0, 2]], ag.ones(2, 4), (3, 4))
        opt.step()
    else:
        opt, (p,) = _stepped(name, shapes=shapes)
    sd = copy.deepcopy(opt.state_dict())
    key = next(k for k, v in sd["state"][0].items() if k != "step")
    sd["state"][0][key] = ag.zeros(5)
    with pytest.raises(RuntimeError, match=key):
        opt.load_state_dict(sd)
    good = copy.deepcopy(opt.state_dict())
    opt.load_state_dict(good)  # its own state dict still loads


def test_empty_state_and_unknown_entries_are_accepted():
    opt, ps = _stepped("Adam")
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["note"] = "kept"  # torch keeps entries it does not read
    del sd["state"][1]               # a parameter not stepped yet
    opt.load_state_dict(sd)
    assert opt.state[ps[0]]["note"] == "kept" and not opt.state.get(ps[1])


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SparseAdam"])
def test_one_beta_fails_in_the_constructor_like_torch(name):
    with pytest.raises(IndexError):
        getattr(optim, name)([Parameter(ag.zeros(2))], betas=(0.9,))
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], betas=(0.9,))


@pytest.mark.parametrize("path", PATHS + [dict(fused=True)], ids=str)
def test_rprop_nan_gradient_leaves_the_parameter_like_torch(path):
    seq = [[1.0, math.nan, -1.0], [1.0, 1.0, 1.0], [math.nan] * 3, [-1.0, 2.0, 0.5]]
    p = Parameter(ag.tensor([1.0, 2.0, 3.0]))
    opt = optim.Rprop([p], **path)
    got = []
    for g in seq:
        p.grad = ag.tensor(g)
        opt.step()
        got.append((p.numpy().copy(), opt.state[p]["step_size"].numpy().copy()))
    # closed form of the first two steps (sign(NaN) = 0: no move; the step size stays at lr)
    np.testing.assert_array_equal(got[0][0], np.float32([0.99, 2.0, 3.01]))
    assert np.isfinite(np.stack([q for q, _ in got])).all()
    torch = pytest.importorskip("torch")
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
    topt = torch.optim.Rprop([tp], foreach=False)
    for g, (q, size) in zip(seq, got):
        tp.grad = torch.tensor(g)
        topt.step()
        np.testing.assert_array_equal(q, tp.detach().numpy())
        np.testing.assert_array_equal(size, topt.state[tp]["step_size"].numpy())


def test_sign_of_nan_and_negative_zero_is_torchs():
    x = ag.tensor([math.nan, -0.0, 0.0, -2.0, 3.0])
    s = x.sign().numpy()
    np.testing.assert_array_equal(s, [0.0, 0.0, 0.0, -1.0, 1.0])
    assert not np.signbit(s[:3]).any()


@pytest.fixture
def float64_default():
    old = ag.get_default_dtype()
    ag.set_default_dtype(np.float64)
    yield
    ag.set_default_dtype(old)


def _asgd_final(kw, x0, grads, lr, w):
    leaf = ag.tensor(x0, requires_grad=True)
    lr_t = ag.tensor(lr, dtype=np.float64, requires_grad=True)
    p = leaf.clone()
    opt = optim.ASGD([p], lr=lr_t, differentiable=True, **kw)
    for g in grads:
        p.grad = ag.tensor(g)
        opt.step()
    return (p * ag.tensor(w)).sum(), lr_t, opt


@pytest.mark.parametrize("kw", [dict(lambd=0.1, t0=1), dict(lambd=0.5, alpha=0.5, t0=2, weight_decay=0.1)],
                         ids=str)
def test_asgd_tensor_lr_hypergradient_matches_finite_differences(float64_default, kw):
    """eta_t = lr / (1 + lambd lr t)^alpha carries the gradient to lr; its state is float64 here (torch's
    default dtype), so the function finite differences see is the one autograd differentiates."""
    rng = np.random.default_rng(11)
    x0, w = rng.standard_normal(4), rng.standard_normal(4)
    gs = [rng.uniform(0.5, 1.5, 4) for _ in range(4)]
    loss, lr_t, opt = _asgd_final(kw, x0, gs, 0.05, w)
    assert opt.state[opt.param_groups[0]["params"][0]]["eta"].dtype == np.float64
    loss.backward()
    eps = 1e-6

    def f(lr):
        with ag.no_grad():
            return float(_asgd_final(kw, x0, gs, lr, w)[0])

    assert lr_t.grad.item() == pytest.approx((f(0.05 + eps) - f(0.05 - eps)) / (2 * eps), rel=1e-7)


@pytest.mark.parametrize("path", PATHS, ids=str)
def test_asgd_eta_and_mu_in_the_default_dtype_match_torch(float64_default, path):
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        rng = np.random.default_rng(3)
        x0 = rng.standard_normal(5)
        p = Parameter(ag.tensor(x0))
        tp = torch.nn.Parameter(torch.tensor(x0))
        kw = dict(lr=0.05, lambd=0.3, alpha=0.6, t0=3)
        opt, topt = optim.ASGD([p], **kw, **path), torch.optim.ASGD([tp], **kw, foreach=False)
        for _ in range(40):
            g = rng.standard_normal(5)
            p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
            opt.step()
            topt.step()
        for k in ("eta", "mu", "step"):
            assert opt.state[p][k].dtype == np.float64
            assert float(opt.state[p][k]) == float(topt.state[tp][k]), k
        # (torch's add_ with alpha is a fused multiply-add on FMA machines: last-bit differences)
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(opt.state[p]["ax"].numpy(), topt.state[tp]["ax"].detach().numpy(),
                                   rtol=1e-13, atol=1e-15)
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Rprop", "Adafactor", "Muon"])
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copied_optimizer_steps_like_the_original_and_starts_without_hooks(name, how):
    import pickle

    kw = dict(lr=0.1, momentum=0.9) if name == "SGD" else {}
    p = Parameter(ag.tensor(np.linspace(-1, 1, 6).reshape(3, 2)))
    opt = getattr(optim, name)([p], **kw)
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    p.grad = ag.ones_like(p)
    opt.step()
    c = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    cp = c.param_groups[0]["params"][0]
    for q in (p, cp):
        q.grad = ag.ones_like(q)
    opt.step()
    c.step()
    np.testing.assert_array_equal(cp.numpy(), p.numpy())
    assert len(calls) == 2  # torch's __getstate__ leaves the hooks behind
    assert c._optimizer_step_post_hooks == {}
