"""LBFGS: parity with torch 2.13 (when installed) at every step, Rosenbrock, a quadratic solved without torch.

Configurations mirror torch's ``optim_inputs_func_lbfgs`` (CPU).
"""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from _nonelementwise_helpers import (  # noqa: F401  (torch: the fixture)
    DTYPES, TOL, _assert_state_equal, _Lr, _pair, torch)


# ---------------------------------------------------------------------------------------------------
# LBFGS
# ---------------------------------------------------------------------------------------------------
LBFGS_CONFIGS = [{}, {"lr": 0.01}, {"lr": _Lr(0.001)}, {"tolerance_grad": 1e-6}, {"line_search_fn": "strong_wolfe"}]


def _quartic(x):
    """A mildly conditioned quartic in NumPy (in x's dtype): loss and gradient, identical for both libraries."""
    w = np.linspace(1, 4, x.size).astype(x.dtype)
    r = x - np.linspace(-1, 1, x.size).astype(x.dtype)
    return (w * r * r + 0.25 * r ** 4).sum(), 2 * w * r + r ** 3


def _numpy_closure(opt, ps, lib):
    """A closure whose gradient comes from NumPy: same params in, bit-identical gradient out."""
    def closure():
        opt.zero_grad()
        x = np.concatenate([np.array(p.detach().numpy()).reshape(-1) for p in ps])
        loss, g = _quartic(x)
        off = 0
        for p in ps:
            n = int(np.prod(p.shape))
            p.grad = lib.tensor(g[off:off + n].reshape(p.shape))
            off += n
        return lib.tensor(loss)
    return closure


def _lbfgs_pair(torch, kw, arrays, loss_fn, max_iter=20):
    pt, pm = _pair(torch, arrays)
    fix = {k: (float(v) if isinstance(v, _Lr) else v) for k, v in kw.items()}
    ot = torch.optim.LBFGS(pt, max_iter=max_iter, **{k: (torch.tensor(v) if isinstance(kw[k], _Lr) else v)
                                                     for k, v in fix.items()})
    om = optim.LBFGS(pm, max_iter=max_iter, **{k: (ag.tensor(v) if isinstance(kw[k], _Lr) else v)
                                               for k, v in fix.items()})

    def closure(opt, ps, lib):
        def c():
            opt.zero_grad()
            loss = loss_fn(ps, lib)
            loss.backward()
            return loss
        return c
    return ot, om, pt, pm, closure(ot, pt, torch), closure(om, pm, ag)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", LBFGS_CONFIGS, ids=lambda k: ",".join(k) or "default")
def test_lbfgs_matches_torch_configs(torch, kw, dtype):
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(-1.5, 1.5, size=(3, 2)).astype(dtype), rng.uniform(-1.5, 1.5, size=2).astype(dtype)]
    ot, om, pt, pm, _, _ = _lbfgs_pair(torch, kw, arrays, None, max_iter=2)
    ct, cm = _numpy_closure(ot, pt, torch), _numpy_closure(om, pm, ag)
    tol = TOL[dtype]
    # float32: torch's BLAS dot sums in another order; the L-BFGS memory near the optimum feels it most
    state_tol = tol if dtype == np.float64 else dict(rtol=2e-3, atol=1e-6)
    for _ in range(10):
        lt, lm = ot.step(ct), om.step(cm)
        assert float(lm) == pytest.approx(float(lt), rel=tol["rtol"], abs=tol["atol"])
        for a, b in zip(pt, pm):
            np.testing.assert_allclose(b.numpy(), a.detach().numpy(), **tol)
        _assert_state_equal(ot.state[pt[0]], om.state[pm[0]], state_tol)
    assert list(om.state[pm[0]]) == list(ot.state[pt[0]])  # same keys, same order


def _rosenbrock(ps, lib):
    x = ps[0]
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("line_search,dtype,start", [
    ("strong_wolfe", np.float64, (-1.5, 2.0)), ("strong_wolfe", np.float32, (-1.5, 2.0)),
    (None, np.float32, (-1.5, 2.0)), (None, np.float64, (1.2, 1.2))])
def test_lbfgs_rosenbrock_every_step_and_converges(torch, line_search, dtype, start):
    # (float64 without line search from far away amplifies torch's fused-multiply-add last bits: chaos)
    ot, om, pt, pm, ct, cm = _lbfgs_pair(torch, {"line_search_fn": line_search},
                                         [np.array(start, dtype)], _rosenbrock)
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    for _ in range(10):
        ot.step(ct)
        om.step(cm)
        np.testing.assert_allclose(pm[0].numpy(), pt[0].detach().numpy(), **tol)
        if dtype == np.float64:
            assert om.state[pm[0]]["func_evals"] == ot.state[pt[0]]["func_evals"]
        else:  # float32 autograd gradients differ from torch's in the last bits by CPU ISA (AVX2 vs AVX-512
            # vectorised pow/FMA), so after the first step the iterates differ by ~1e3 ulp and the line search
            # near the optimum may take one evaluation more or less; the iterates themselves are checked above
            assert abs(om.state[pm[0]]["func_evals"] - ot.state[pt[0]]["func_evals"]) <= 1
    np.testing.assert_allclose(pm[0].numpy(), [1.0, 1.0], atol=1e-3)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_solves_a_quadratic_without_torch(line_search):
    rng = np.random.default_rng(3)
    M = rng.normal(size=(6, 6))
    A, b = M @ M.T + 6 * np.eye(6), rng.normal(size=6)
    x = ag.tensor(np.zeros(6), requires_grad=True)
    At, bt = ag.tensor(A), ag.tensor(b)
    # tolerance_change=0: stop on the gradient only (loss changes near the optimum are ~1e-16)
    opt = optim.LBFGS([x], max_iter=50, line_search_fn=line_search, tolerance_grad=1e-10, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (At @ x)).sum() - (bt * x).sum()
        loss.backward()
        return loss
    opt.step(closure)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(A, b), rtol=1e-9, atol=1e-10)
    st = opt.state[x]
    assert st["n_iter"] <= 20 and len(st["old_dirs"]) == len(st["old_stps"]) == len(st["ro"]) <= st["n_iter"]
    evals = st["func_evals"]
    opt.step(closure)  # already optimal: one evaluation, nothing moves
    assert st["func_evals"] == evals + 1


def test_lbfgs_constructor_errors():
    p, q = ag.tensor(np.ones((1, 1)), requires_grad=True), ag.tensor(np.ones((1, 1)), requires_grad=True)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.LBFGS([p], lr=-1)
    opt = optim.LBFGS([p], max_iter=8)
    assert opt.defaults["max_eval"] == 10 and opt.defaults["history_size"] == 100
    with pytest.raises(TypeError):
        opt.step()  # the closure is required
    opt2 = optim.LBFGS([p], line_search_fn="armijo")
    p.grad = None

    def closure():
        opt2.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt2.step(closure)
