"""An optimizer written outside the package through the public API (``minitorch_optim.elementwise``) gets
every path: for-loop, foreach, fused CPU (generated Numba kernel), fused CUDA (generated kernel, run in the
g++ emulation) and differentiable, bitwise equal, with no kernel code. Lion (Chen et al., 2023) is the
example of docs/src/extending.md; its closed form after one step from zero state is checked too."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from autograd.nn import Parameter
from minitorch_optim import kernels
from minitorch_optim.elementwise import ElementwiseOptimizer


class Lion(ElementwiseOptimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False,
                 foreach=None, fused=None, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, fused=fused, differentiable=differentiable))

    def state_buffers(self, group):
        return {"exp_avg": 0.0}

    def step_scalars(self, group, lr, state):
        return {"lr": lr}, {"step": state["step"] + 1}

    def update(self, o, p, g, state, group, s):
        beta1, beta2 = group["betas"]
        if group["maximize"]:
            g = o.neg(g)
        o.mul_(p, 1 - s["lr"] * group["weight_decay"])
        c = o.lerp_(o.clone(state["exp_avg"]), g, 1 - beta1)
        o.add_(p, o.sign(c), alpha=-s["lr"])
        o.lerp_(state["exp_avg"], g, 1 - beta2)


SHAPES = [(3, 4), (5,), (), (70000,)]


def _run(path, dtype=np.float32, steps=5, **kw):
    rng = np.random.default_rng(0)
    ps = [Parameter(Tensor._wrap(rng.standard_normal(s).astype(dtype))) for s in SHAPES]
    if path.get("differentiable"):      # as in torch, a leaf that requires grad cannot be updated in place
        ps = [p.clone() for p in ps]
    opt = Lion(ps, lr=0.01, weight_decay=0.1, **kw, **path)
    for _ in range(steps):
        for p in ps:
            p.grad = Tensor._wrap(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    return [p.numpy().copy() for p in ps] + [opt.state[p]["exp_avg"].numpy().copy() for p in ps], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("maximize", [False, True])
def test_every_path_is_bitwise_equal(dtype, maximize):
    want, opt = _run({"foreach": False}, dtype, maximize=maximize)
    assert opt._path(opt.param_groups[0]) == "forloop"
    for path in ({"foreach": True}, {"fused": True}, {}, {"differentiable": True}):
        got, _ = _run(path, dtype, maximize=maximize)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b, err_msg=str(path))
    _, opt = _run({}, dtype, steps=1)
    assert opt._path(opt.param_groups[0]) == "auto" and kernels.supported(Lion)


def test_fused_cuda_kernel_in_the_emulation(monkeypatch):
    _cuda_emu = pytest.importorskip("_cuda_emu")
    if _cuda_emu.compiler() is None:
        pytest.skip("no host C++ compiler for the kernel emulation")
    from minitorch_optim.kernels.cuda import launch as _cuda

    runner = _cuda_emu.EmuRunner(grid=2, block=16)
    monkeypatch.setattr(kernels, "backend", lambda flat: "cuda")
    monkeypatch.setattr(_cuda, "_RUNNER", runner)
    got, _ = _run({"fused": True})
    monkeypatch.undo()
    want, _ = _run({"foreach": False})
    assert runner.calls
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_closed_form_of_one_step():
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal(6), rng.standard_normal(6)
    p = Parameter(Tensor._wrap(x.copy()))
    opt = Lion([p], lr=0.1, betas=(0.8, 0.9), weight_decay=0.5)
    p.grad = Tensor._wrap(g.copy())
    opt.step()
    np.testing.assert_allclose(p.numpy(), x * (1 - 0.1 * 0.5) - 0.1 * np.sign(g), rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["exp_avg"].numpy(), 0.1 * g, rtol=1e-15)


def test_differentiable_hypergradient_matches_finite_differences():
    """d(loss after three steps)/d(lr) and /d(initial params) through the update, float64, against
    central differences (``sign`` has zero derivative, so the gradients flow through lr and the decay)."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal(4)
    gs = [rng.standard_normal(4) for _ in range(3)]

    def final(x_init, lr):
        leaf = ag.tensor(x_init, requires_grad=True)
        lr_t = ag.tensor(lr, dtype=np.float64, requires_grad=True)
        p = leaf.clone()
        opt = Lion([p], lr=lr_t, weight_decay=0.3, differentiable=True)
        for g in gs:
            p.grad = ag.tensor(g)
            opt.step()
        return (p * p).sum(), leaf, lr_t

    loss, leaf, lr_t = final(x0, 0.1)
    loss.backward()
    eps = 1e-6

    def f(x=x0, lr=0.1):
        with ag.no_grad():
            return float(final(x, lr)[0])

    assert np.isclose(lr_t.grad.item(), (f(lr=0.1 + eps) - f(lr=0.1 - eps)) / (2 * eps), rtol=1e-6)
    for i in range(4):
        d = np.zeros(4)
        d[i] = eps
        assert np.isclose(leaf.grad.numpy()[i], (f(x=x0 + d) - f(x=x0 - d)) / (2 * eps), rtol=1e-6)
