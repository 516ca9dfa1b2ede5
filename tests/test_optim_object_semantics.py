"""Torch's object semantics for parameters, gradients and optimizer state, on every optimizer path (default,
foreach, for-loop, fused), against torch 2.13: kept gradients are not overwritten, aliases of a parameter
follow its updates, edits of ``optimizer.state`` are used and saved, a parameter listed twice is stepped
twice, ``found_inf``/``grad_scale`` act the same on every path, and scalar state has torch's default dtype."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from autograd.nn import Parameter

torch = pytest.importorskip("torch")

PATHS = {"default": {}, "foreach": {"foreach": True}, "forloop": {"foreach": False}, "fused": {"fused": True}}
TPATH = {"default": {}, "foreach": {"foreach": True}, "forloop": {"foreach": False}, "fused": {"foreach": False}}


@pytest.fixture(params=list(PATHS))
def path(request):
    return request.param


def _pair(x):
    return Parameter(ag.tensor(np.array(x, np.float32))), torch.nn.Parameter(torch.tensor(np.array(x, np.float32)))


def test_kept_gradients_are_not_overwritten(path):
    for keep in ("detach", "numpy", "tensor"):
        p, tp = _pair([1.0, 1.0])
        opt, topt = optim.Adam([p], lr=0.1, **PATHS[path]), torch.optim.Adam([tp], lr=0.1, **TPATH[path])
        hist, thist = [], []
        for k in (1, 2, 3):
            opt.zero_grad()
            topt.zero_grad()
            (p * k).sum().backward()
            (tp * k).sum().backward()
            hist.append({"detach": p.grad.detach(), "numpy": p.grad.numpy(), "tensor": p.grad}[keep])
            thist.append(tp.grad.detach().numpy())
            opt.step()
            topt.step()
        got = [np.asarray(h.numpy() if hasattr(h, "numpy") else h).tolist() for h in hist]
        assert got == [t.tolist() for t in thist] == [[1, 1], [2, 2], [3, 3]], keep
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)


def test_aliases_of_a_parameter_follow_its_updates(path):
    t, tt = ag.ones(3), torch.ones(3)
    p, tp = Parameter(t), torch.nn.Parameter(tt)
    v, tv = p.detach(), tp.detach()
    a, ta = p.detach().numpy(), tp.detach().numpy()
    opt, topt = optim.Adam([p], lr=0.1, **PATHS[path]), torch.optim.Adam([tp], lr=0.1, **TPATH[path])
    for _ in range(2):
        for o, q in ((opt, p), (topt, tp)):
            o.zero_grad()
            (q * q).sum().backward()
            o.step()
    for ours, theirs in ((t, tt), (v, tv), (a, ta), (p, tp)):
        ours = ours.numpy() if hasattr(ours, "numpy") else ours
        theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        assert not np.allclose(ours, 1.0)


def test_state_assignment_is_used_by_the_next_step_and_saved(path):
    p, tp = _pair([[0.5, -1.0], [2.0, 3.0]])
    opt, topt = optim.Adam([p], lr=0.1, **PATHS[path]), torch.optim.Adam([tp], lr=0.1, **TPATH[path])
    g = np.array([[0.1, 0.2], [-0.3, 0.4]], np.float32)
    for step in range(3):
        p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        if step == 0:
            new = np.full((2, 2), 0.25, np.float32)
            opt.state[p]["exp_avg"] = ag.tensor(new)
            topt.state[tp]["exp_avg"] = torch.tensor(new)
            opt.state[p]["step"] = ag.tensor(5.0)
            topt.state[tp]["step"] = torch.tensor(5.0)
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)
    ours, theirs = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert float(ours["step"].numpy()) == float(theirs["step"]) == 7.0
    for k in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-6)


def test_a_parameter_listed_twice_is_stepped_twice(path):
    p, tp = _pair([1.0, -2.0, 3.0])
    opt = optim.Adam([p, p], lr=0.1, **PATHS[path])
    with pytest.warns(UserWarning):
        topt = torch.optim.Adam([tp, tp], lr=0.1, foreach=False)
    for _ in range(3):
        for o, q in ((opt, p), (topt, tp)):
            o.zero_grad()
            (q * q).sum().backward()
            o.step()
    assert float(opt.state[p]["step"].numpy()) == float(topt.state[tp]["step"]) == 6.0
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("found_inf", [0.0, 1.0])
def test_found_inf_and_grad_scale_act_on_every_path(path, found_inf):
    """Every path acts as torch's fused Adam: a set ``found_inf`` skips the step (params, state, gradients
    untouched), ``grad_scale`` divides the gradients in place before the update (torch's for-loop and
    foreach paths assert that both are None; ours treat them as its fused path does)."""
    p, tp = _pair([1.0, -2.0, 3.0])
    opt = optim.Adam([p], lr=0.1, **PATHS[path])
    topt = torch.optim.Adam([tp], lr=0.1, fused=True)
    g = np.array([3.0, -6.0, 1.5], np.float32)
    for _ in range(2):
        p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
        opt.grad_scale, opt.found_inf = ag.tensor(3.0), ag.tensor(found_inf)
        topt.grad_scale, topt.found_inf = torch.tensor(3.0), torch.tensor(found_inf)
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-7)
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)
    # (a step skipped before the first one creates no state here; torch's fused path creates it at step 0)
    ours = float(opt.state[p]["step"].numpy()) if p in opt.state else 0.0
    assert ours == float(topt.state[tp]["step"]) == (0.0 if found_inf else 2.0)


@pytest.mark.parametrize("name", ["Adam", "NAdam", "ASGD", "SGD"])
def test_scalar_state_has_torchs_dtype(path, name):
    prev = ag.get_default_dtype()
    ag.set_default_dtype(np.float64)
    torch.set_default_dtype(torch.float64)
    try:
        kw = {"SGD": {"momentum": 0.9}}.get(name, {})
        p = Parameter(ag.tensor(np.array([1.0, -2.0])))
        tp = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        opt = getattr(optim, name)([p], lr=0.01, **kw, **PATHS[path])
        # torch fuses Adam too, and its fused path counts ``step`` in float32: compare with that path there
        tpath = {"fused": True} if path == "fused" and name == "Adam" else TPATH[path]
        topt = getattr(torch.optim, name)([tp], lr=0.01, **kw, **tpath)
        for _ in range(50):
            for o, q in ((opt, p), (topt, tp)):
                o.zero_grad()
                (q * q).sum().backward()
                o.step()
        for k, tv in topt.state[tp].items():
            if tv.ndim == 0:
                # a fused group counts step in float32, as torch's fused path and as torch's load_state_dict
                # casts it for any fused group (also where torch has no fused kernel to compare with)
                want = np.float32 if path == "fused" and k == "step" else tv.numpy().dtype
                assert opt.state[p][k].dtype == want, k
                assert float(opt.state[p][k].numpy()) == float(tv), k
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-12)
    finally:
        ag.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_rebinding_data_keeps_state_views_live(path):
    """``p.data = t`` (same shape): the optimizer steps the new array, and state entries the user holds stay
    the live state (torch's state tensors are unaffected by rebinding the parameter)."""
    p, tp = _pair([1.0, -2.0, 3.0])
    opt, topt = optim.Adam([p], lr=0.1, **PATHS[path]), torch.optim.Adam([tp], lr=0.1, **TPATH[path])
    g = np.array([0.5, -1.0, 2.0], np.float32)
    p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
    opt.step()
    topt.step()
    held, theld = opt.state[p]["exp_avg"], topt.state[tp]["exp_avg"]
    new = np.array([10.0, 20.0, 30.0], np.float32)
    p.data, tp.data = ag.tensor(new), torch.tensor(new)
    for _ in range(2):
        p.grad, tp.grad = ag.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(held.numpy(), theld.numpy(), rtol=1e-6)
    assert held is opt.state[p]["exp_avg"] or np.array_equal(held.numpy(), opt.state[p]["exp_avg"].numpy())
