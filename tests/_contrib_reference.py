"""Helpers of the parity tests of the non-elementwise contrib optimizers: identical params on both sides (ours on autograd, the
reference on torch), a deterministic smooth problem with analytic gradients, stepping both, comparing
params and state, and a state_dict save/load half-way that must continue exactly."""
import copy

import numpy as np
import pytest

import autograd as ag

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-6)}
SHAPES = [(4, 3), (5,), (2, 3, 2), (3, 4)]


def as_np(v):
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy().astype(np.float64)
    if isinstance(v, ag.Tensor):
        return np.asarray(v.numpy(), dtype=np.float64)
    return np.asarray(v, dtype=np.float64)


def init_arrays(dtype, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def targets(shapes=SHAPES, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def grad_of(x, t, i, k=0):
    """Gradient of a smooth, non-quadratic loss sum((i+1)(x-t)^2 + 0.1 x^4 + 0.3 sin(3x)) plus a
    step-dependent linear term (a different gradient at every step, also where the params did not move)."""
    x64 = np.asarray(x, dtype=np.float64)
    drift = 0.5 * np.sin(k + np.arange(x64.size).reshape(x64.shape))
    return (2 * (i + 1) * (x64 - t) + 0.4 * x64 ** 3 + 0.9 * np.cos(3 * x64) + drift).astype(x.dtype)


def groups_of(ps, two_groups, group_kw=None):
    if not two_groups:
        return list(ps)
    return [{"params": ps[:2]}, {"params": ps[2:], **(group_kw or {})}]


class Pair:
    """Our optimizer and the reference on the same start, fed the same analytic gradients."""

    def __init__(self, torch, ours_cls, ref_cls, dtype, kw=None, two_groups=True, group_kw=None,
                 shapes=SHAPES, ref_kw=None):
        self.torch = torch
        self.dtype = dtype
        init = init_arrays(dtype, shapes)
        self.t = targets(shapes)
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        self.tp = [torch.tensor(a.copy(), dtype=tdt, requires_grad=True) for a in init]
        self.op = [ag.nn.Parameter(ag.tensor(a.copy())) for a in init]
        kw = kw or {}
        self.k = 0
        self.ref = ref_cls(groups_of(self.tp, two_groups, group_kw), **{**kw, **(ref_kw or {})})
        self.ours = ours_cls(groups_of(self.op, two_groups, group_kw), **kw)

    def set_grads(self, skip=None):
        self.k += 1
        for i, (tp, op) in enumerate(zip(self.tp, self.op)):
            if skip is not None and i == skip:
                tp.grad, op.grad = None, None
                continue
            g = grad_of(op.numpy(), self.t[i], i, self.k)
            tg = grad_of(tp.detach().numpy(), self.t[i], i, self.k)
            tp.grad = self.torch.tensor(tg)
            op.grad = ag.tensor(g)

    def step(self, n=1):
        for _ in range(n):
            self.set_grads()
            self.ref.step()
            self.ours.step()

    def assert_close(self, what=""):
        tol = TOL[self.dtype]
        for i, (tp, op) in enumerate(zip(self.tp, self.op)):
            np.testing.assert_allclose(as_np(op), as_np(tp), **tol, err_msg=f"param {i} {what}")


def compare_state(ref_state, our_state, dtype, keys=None):
    tol = TOL[dtype]
    for k, v in ref_state.items():
        if keys is not None and k not in keys:
            continue
        assert k in our_state, f"state {k!r} missing"
        if hasattr(v, "shape") or isinstance(v, (int, float)):
            np.testing.assert_allclose(as_np(our_state[k]), as_np(v), **tol, err_msg=f"state {k}")


def check_resume(make, steps=12, half=6):
    """``make()`` -> (optimizer, params, step_fn(opt, params)). Run ``steps``; and run ``half``, save
    (deep-copied state_dict), build a fresh optimizer on copies of the params, load, continue: equal."""
    opt, ps, step = make()
    for _ in range(steps):
        step(opt, ps)
    full = [p.numpy().copy() for p in ps]
    opt2, ps2, step2 = make()
    for _ in range(half):
        step2(opt2, ps2)
    sd = copy.deepcopy(opt2.state_dict())
    saved = [p.numpy().copy() for p in ps2]
    opt3, ps3, step3 = make()
    for p, a in zip(ps3, saved):
        p._data[...] = a
    opt3.load_state_dict(sd)
    for _ in range(steps - half):
        step3(opt3, ps3)
    for a, p in zip(full, ps3):
        np.testing.assert_array_equal(p.numpy(), a)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")
