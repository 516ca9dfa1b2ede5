"""Second derivatives through the ops whose float16/bfloat16 backward is torch's exact 16-bit kernel
(binary cross entropy with and without logits, RMS and group norm, smooth L1 and Huber losses): under
``create_graph`` the first derivative keeps the kernel's value and is differentiated through the same
formula in float32, so it matches torch 2.13's second derivative (computed op by op in the 16-bit type) and
the float64 one within 16-bit rounding."""
import ml_dtypes
import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as AF
from autograd.autograd import gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name: (loss of F's op on (x, y, w, b, u), the inputs differentiated (indices into (x, y, w, b)))
CASES = {
    "binary_cross_entropy": (lambda F, x, y, w, b, u: F.binary_cross_entropy(x, y), (0, 1)),
    "binary_cross_entropy_with_logits": (lambda F, x, y, w, b, u: F.binary_cross_entropy_with_logits(x, y), (0, 1)),
    "rms_norm": (lambda F, x, y, w, b, u: (F.rms_norm(x, (5,), w) * u).sum(), (0, 2)),
    "group_norm": (lambda F, x, y, w, b, u: (F.group_norm(x, 2, w[:4], b[:4]) * u).sum(), (0, 2, 3)),
    "smooth_l1_loss": (lambda F, x, y, w, b, u: F.smooth_l1_loss(x, y, beta=0.5), (0,)),
    "smooth_l1_loss_sum": (lambda F, x, y, w, b, u: F.smooth_l1_loss(x, y, reduction="sum", beta=0.5), (0, 1)),
    "huber_loss": (lambda F, x, y, w, b, u: F.huber_loss(x, y, delta=0.5), (0, 1)),
}
DTYPES = {"float16": (torch.float16, np.float16), "bfloat16": (torch.bfloat16, ml_dtypes.bfloat16)}


def _values(seed=0):
    """x in (0.1, 0.9) (a probability for BCE, and differences from y on both sides of beta), y in [0, 1),
    weights around 1, the direction ``u`` the norms' outputs are summed along, and the directions ``v`` the
    first gradients are summed along."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 0.9, (3, 4, 5))
    y = rng.uniform(0.0, 1.0, (3, 4, 5))
    w = rng.uniform(0.5, 1.5, 5)
    b = rng.uniform(-0.5, 0.5, 5)
    u = rng.standard_normal((3, 4, 5))
    v = [rng.standard_normal(s) for s in ((3, 4, 5), (3, 4, 5), (5,), (5,))]
    return (x, y, w, b), u, v


def _second(F, grad, as_t, loss, which, vals, u, v):
    """The first gradients of ``loss`` under create_graph, and the gradient of ``sum(g_i v_i)`` (a scalar
    function of them) with respect to the same inputs."""
    ts = [as_t(a, i in which) for i, a in enumerate(vals)]
    ut = as_t(u, False)
    srcs = [ts[i] for i in which]
    g1 = grad(loss(F, *ts, ut), srcs, create_graph=True)
    s = sum((g * as_t(v[i], False)).sum() for g, i in zip(g1, which))
    return g1, grad(s, srcs, allow_unused=True)


def _ours(np_dt):
    return lambda a, rg: ag.tensor(np.asarray(a).astype(np_dt), requires_grad=rg)


def _torch(t_dt):
    return lambda a, rg: torch.tensor(np.asarray(a), dtype=t_dt).requires_grad_(rg)


def _np(t):
    if t is None:
        return None
    return t.detach().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t._data, np.float64)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_second_derivative_on_16_bit_inputs_matches_torch_and_float64(name, dt):
    t_dt, np_dt = DTYPES[dt]
    loss, which = CASES[name]
    vals, u, v = _values()
    # the 16-bit inputs' exact values, so that float64 differentiates the same point
    vals = [np.asarray(a).astype(np_dt).astype(np.float64) for a in vals]
    u = u.astype(np_dt).astype(np.float64)
    v = [a.astype(np_dt).astype(np.float64) for a in v]
    g1, ours = _second(AF, ag.autograd.grad, _ours(np_dt), loss, which, vals, u, v)
    _, theirs = _second(TF, torch.autograd.grad, _torch(t_dt), loss, which, vals, u, v)
    _, exact = _second(TF, torch.autograd.grad, _torch(torch.float64), loss, which, vals, u, v)
    eps = float(ml_dtypes.finfo(np_dt).eps)
    for o, t, e in zip(ours, theirs, exact):
        assert (o is None) == (t is None)
        if o is None:
            continue
        assert o.dtype == np_dt and t.dtype == t_dt
        o, t, e = _np(o), _np(t), _np(e)
        assert o.shape == t.shape
        scale = np.abs(e).max()
        # ours: the float32 formula rounded once to the dtype, so within an ulp (of the values' scale) of the
        # float64 value; torch's: each of its 16-bit ops rounds, a few ulps of the scale
        np.testing.assert_allclose(o, e, rtol=0, atol=1.0 * eps * scale)
        np.testing.assert_allclose(o, t, rtol=0, atol=4.0 * eps * scale)
    # the first derivative under create_graph is the 16-bit kernel's, as without it
    vals16 = [_ours(np_dt)(a, i in which) for i, a in enumerate(vals)]
    plain = ag.autograd.grad(loss(AF, *vals16, _ours(np_dt)(u, False)), [vals16[i] for i in which])
    for a, b in zip(g1, plain):
        assert a.dtype == np_dt and np.array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name", CASES)
def test_second_derivative_in_float64_passes_gradgradcheck(name):
    loss, which = CASES[name]
    vals, u, _ = _values(1)
    ts = [ag.tensor(a, requires_grad=i in which) for i, a in enumerate(vals)]
    ut = ag.tensor(u)

    def f(*diff):
        full = list(ts)
        for i, d in zip(which, diff):
            full[i] = d
        return loss(AF, *full, ut)

    assert gradgradcheck(f, [ts[i] for i in which], eps=1e-6, atol=1e-5, rtol=1e-3)
