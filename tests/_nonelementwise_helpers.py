"""Shared helpers of the parity tests for the optimizers that are not elementwise (LBFGS, SparseAdam,
Adafactor, Muon): paired params, torch-vs-ours state comparison, a stepping loop on identical gradients."""
import numpy as np
import pytest

import autograd as ag

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _np(v):
    if isinstance(v, np.ndarray):
        return v.astype(np.float64)
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    if hasattr(v, "numpy"):
        return np.asarray(v.numpy(), dtype=np.float64)
    return np.asarray(float(v))


class _Lr(float):
    """Marks an lr that the config gives as a Tensor (built as a torch or an autograd Tensor per side)."""


def _pair(torch, arrays):
    pt = [torch.tensor(a, requires_grad=True) for a in arrays]
    pm = [ag.tensor(a, requires_grad=True) for a in arrays]
    return pt, pm


def _close(actual, desired, tol, msg=""):
    """allclose with the relative part scaled by the largest |desired| (state vectors may cancel)."""
    desired = _np(desired)
    scale = float(np.abs(desired).max()) if desired.size else 0.0
    np.testing.assert_allclose(_np(actual), desired, rtol=0, atol=tol["atol"] + tol["rtol"] * scale, err_msg=msg)


def _assert_state_equal(st_t, st_m, tol):
    assert set(st_t) == set(st_m)
    for k, vt in st_t.items():
        vm = st_m[k]
        if isinstance(vt, list):
            assert len(vt) == len(vm), k
            assert [a is None for a in vt] == [b is None for b in vm], k
            vt, vm = [a for a in vt if a is not None], [b for b in vm if b is not None]
            if vt and _np(vt[0]).ndim == 0:  # lists of scalars (ro, al): compared as one vector
                _close(np.array([_np(b) for b in vm]), np.array([_np(a) for a in vt]), tol, k)
            else:
                for a, b in zip(vt, vm):
                    _close(b, a, tol, k)
        elif vt is None:
            assert vm is None, k
        else:
            _close(vm, vt, tol, k)


def _run_parity(torch, cls_t, cls_m, kw, arrays, grads_fn, steps, tol, param_tol=None):
    pt, pm = _pair(torch, arrays)
    ot = cls_t(pt, **{k: (torch.tensor(float(v)) if isinstance(v, _Lr) else v) for k, v in kw.items()})
    om = cls_m(pm, **{k: (ag.tensor(float(v)) if isinstance(v, _Lr) else v) for k, v in kw.items()})
    for i in range(steps):
        for a, b, g in zip(pt, pm, grads_fn(i)):
            if g is None:
                a.grad = b.grad = None
            elif isinstance(g, tuple):       # sparse: (indices, values, shape)
                a.grad = torch.sparse_coo_tensor(torch.tensor(g[0]), torch.tensor(g[1]), g[2])
                b.grad = ag.sparse_coo_tensor(g[0], g[1], g[2])
            else:
                a.grad, b.grad = torch.tensor(g), ag.tensor(g)
        ot.step()
        om.step()
        for a, b in zip(pt, pm):
            np.testing.assert_allclose(b.numpy(), a.detach().numpy(), **(param_tol or tol))
            if param_tol is None:
                _assert_state_equal(ot.state[a], om.state[b], tol)
    return ot, om, pt, pm


def _dense_grads(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return lambda i: [rng.normal(size=s).astype(dtype) for s in shapes]
