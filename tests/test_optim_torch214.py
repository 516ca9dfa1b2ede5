"""Behaviour that follows torch 2.14.1: LBFGS ``maximize`` and an empty group, Muon's "spectral_unclamped",
Adafactor's ``step`` in the default dtype. Closed forms without torch; parity where the installed torch has
the feature (torch 2.13 lacks the first three)."""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim.muon import newton_schulz


def _torch_at_least_214():
    torch = pytest.importorskip("torch")
    if tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) < (2, 14):
        pytest.skip(f"torch {torch.__version__} predates the 2.14.1 behaviour")
    return torch


def _lbfgs_run(lib, opt_cls, sign, maximize, line_search):
    """LBFGS on sign * f for a quadratic f; returns the parameters and the losses step returned."""
    x = lib.tensor(np.array([2.0, -1.0, 0.5]), requires_grad=True)
    a = lib.tensor(np.array([1.0, 3.0, 5.0]))
    opt = opt_cls([x], max_iter=4, line_search_fn=line_search, maximize=maximize)

    def closure():
        opt.zero_grad()
        loss = sign * ((x - 1) ** 2 * a).sum()
        loss.backward()
        return loss
    losses = [float(opt.step(closure)) for _ in range(3)]
    return np.array(x.detach().numpy()), losses, opt


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_maximize_is_minimising_the_negated_loss(line_search):
    x_min, l_min, _ = _lbfgs_run(ag, optim.LBFGS, 1, False, line_search)
    x_max, l_max, opt = _lbfgs_run(ag, optim.LBFGS, -1, True, line_search)
    np.testing.assert_array_equal(x_max, x_min)       # the same iterates, bit for bit
    assert l_max == [-v for v in l_min]               # and the caller's own (negative) losses returned
    assert opt.param_groups[0]["maximize"] is True
    np.testing.assert_allclose(x_max, 1.0, atol=1e-4)  # (and it converges)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_maximize_matches_torch_214(line_search):
    torch = _torch_at_least_214()
    x_t, l_t, ot = _lbfgs_run(torch, torch.optim.LBFGS, -1, True, line_search)
    x_m, l_m, om = _lbfgs_run(ag, optim.LBFGS, -1, True, line_search)
    np.testing.assert_allclose(x_m, x_t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(l_m, l_t, rtol=1e-12, atol=1e-14)
    assert om.state[om.param_groups[0]["params"][0]]["func_evals"] == \
        ot.state[ot.param_groups[0]["params"][0]]["func_evals"]


def test_lbfgs_empty_group_returns_the_closure_loss():
    opt = optim.LBFGS([{"params": []}])
    calls = []

    def closure():
        calls.append(ag.is_grad_enabled())
        return ag.tensor(3.5)
    assert float(opt.step(closure)) == 3.5 and calls == [True]
    assert len(opt.state) == 0


def test_lbfgs_loads_a_state_dict_without_maximize():
    p = ag.tensor(np.ones(3), requires_grad=True)
    opt = optim.LBFGS([p])
    sd = opt.state_dict()
    del sd["param_groups"][0]["maximize"]  # as torch 2.13 saves it
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["maximize"] is False


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (5, 5)])
def test_muon_spectral_unclamped_scales_by_sqrt_rows_over_cols(shape):
    rng = np.random.default_rng(2)
    w0, g = rng.normal(size=shape), rng.normal(size=shape)
    p = ag.tensor(w0.copy(), requires_grad=True)
    opt = optim.Muon([p], lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0, adjust_lr_fn="spectral_unclamped")
    p.grad = ag.tensor(g)
    opt.step()
    ortho = newton_schulz(np, g, (3.4445, -4.7750, 2.0315), 5, 1e-7).astype(np.float64)
    np.testing.assert_allclose(p.numpy(), w0 - 0.1 * np.sqrt(shape[0] / shape[1]) * ortho, rtol=1e-14, atol=1e-15)


def test_muon_spectral_unclamped_matches_torch_214():
    torch = _torch_at_least_214()
    rng = np.random.default_rng(3)
    w0, grads = rng.normal(size=(3, 8)), [rng.normal(size=(3, 8)) for _ in range(4)]
    pt, pm = torch.tensor(w0, requires_grad=True), ag.tensor(w0, requires_grad=True)
    ot = torch.optim.Muon([pt], lr=0.02, adjust_lr_fn="spectral_unclamped")
    om = optim.Muon([pm], lr=0.02, adjust_lr_fn="spectral_unclamped")
    for g in grads:
        pt.grad, pm.grad = torch.tensor(g), ag.tensor(g)
        ot.step()
        om.step()
        np.testing.assert_allclose(pm.numpy(), pt.detach().numpy(), rtol=0, atol=0.02 * 2 ** -6)


def test_adafactor_step_follows_the_default_dtype():
    torch = pytest.importorskip("torch")
    old_t, old_m = torch.get_default_dtype(), ag.get_default_dtype()
    try:
        for t_dt, m_dt in [(torch.float64, np.float64), (torch.float32, np.float32)]:
            torch.set_default_dtype(t_dt)
            ag.set_default_dtype(m_dt)
            pt, pm = torch.ones(2, 3, requires_grad=True), ag.tensor(np.ones((2, 3), np.float32), requires_grad=True)
            pt.grad, pm.grad = torch.ones(2, 3), ag.tensor(np.ones((2, 3), np.float32))
            ot, om = torch.optim.Adafactor([pt]), optim.Adafactor([pm])
            ot.step()
            om.step()
            assert str(ot.state[pt]["step"].dtype) == f"torch.{np.dtype(m_dt).name}"
            assert om.state[pm]["step"].numpy().dtype == m_dt
            assert float(om.state[pm]["step"].numpy()) == 1.0
    finally:
        torch.set_default_dtype(old_t)
        ag.set_default_dtype(old_m)
