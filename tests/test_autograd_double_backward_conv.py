"""Second derivatives through convolution and pooling: Hessian-vector products against torch (float64) and
against finite differences of the first derivative."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
import autograd.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _ours(a):
    return ag.tensor(a, dtype=ag.float64, requires_grad=True)


def _theirs(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _hvp(lib, loss_fn, arrays, vs):
    """First derivative of ``loss_fn(*inputs)`` and its Hessian-vector product with ``vs``, for every input."""
    make, grad, const = ((_ours, ag.grad, lambda a: ag.tensor(a, dtype=ag.float64)) if lib == "ours" else
                         (_theirs, torch.autograd.grad, lambda a: torch.tensor(a, dtype=torch.float64)))
    xs = [make(a) for a in arrays]
    gs = grad(loss_fn(*xs), xs, create_graph=True)
    dot = sum((g * const(v)).sum() for g, v in zip(gs, vs))
    hs = grad(dot, xs, allow_unused=True)
    hs = [np.zeros_like(a) if h is None else h.detach().numpy() for h, a in zip(hs, arrays)]
    return [g.detach().numpy() for g in gs], hs


def _check(ours_fn, torch_fn, arrays, seed=0, atol=1e-10):
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    g1, h1 = _hvp("ours", ours_fn, arrays, vs)
    g2, h2 = _hvp("torch", torch_fn, arrays, vs)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=atol)
    for a, b in zip(h1, h2):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=atol)


def R(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _cubic(const, out, c):
    """A loss whose Hessian involves every rule: the output enters cubed, weighted by fixed ``c``."""
    return (out * out * out * const(c)).sum()


def _c_ours(c):
    return ag.tensor(c, dtype=ag.float64)


def _c_torch(c):
    return torch.tensor(c, dtype=torch.float64)


# ---- convolution ------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("stride,padding,dilation,groups,bias,unbatched", [
    (1, 0, 1, 1, True, False), (2, 1, 1, 1, True, False), (1, 2, 2, 1, False, False),
    ((2, 1), (1, 0), (1, 2), 2, True, False), (1, "same", 2, 1, True, False), (1, "valid", 1, 2, False, False),
    (2, 1, 1, 4, True, False), (1, 1, 1, 1, True, True), (1, "same", 1, 2, False, True),
])
def test_conv2d_hvp(stride, padding, dilation, groups, bias, unbatched):
    x = R(4, 7, 8, seed=1) if unbatched else R(2, 4, 7, 8, seed=1)
    arrays = [x, R(4, 4 // groups, 3, 2, seed=2) * 0.5] + ([R(4, seed=3)] if bias else [])
    oshape = F.conv2d(ag.tensor(x), ag.tensor(arrays[1]), None, stride, padding, dilation, groups).shape
    c = R(*oshape, seed=4)

    def ours(x, w, b=None):
        return _cubic(_c_ours, F.conv2d(x, w, b, stride, padding, dilation, groups), c)

    def theirs(x, w, b=None):
        return _cubic(_c_torch, TF.conv2d(x, w, b, stride, padding, dilation, groups), c)

    _check(ours, theirs, arrays)


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 2), cg=st.integers(1, 2), og=st.integers(1, 2), groups=st.integers(1, 2),
       h=st.integers(4, 7), w=st.integers(4, 7), k=st.integers(1, 3), s=st.integers(1, 2), p=st.integers(0, 2),
       d=st.integers(1, 2), bias=st.booleans())
def test_conv2d_hvp_random(n, cg, og, groups, h, w, k, s, p, d, bias):
    if d * (k - 1) + 1 > min(h, w) + 2 * p:
        return
    arrays = [R(n, cg * groups, h, w, seed=5), R(og * groups, cg, k, k, seed=6)] + \
        ([R(og * groups, seed=7)] if bias else [])
    kw = dict(stride=s, padding=p, dilation=d, groups=groups)
    _check(lambda x, wt, b=None: (F.conv2d(x, wt, b, **kw) ** 2).sum(),
           lambda x, wt, b=None: (TF.conv2d(x, wt, b, **kw) ** 2).sum(), arrays)


def test_conv2d_third_derivative():
    """The gradient ops are themselves recorded ops with differentiable rules, so differentiation nests."""
    x, w = R(1, 2, 5, 5, seed=8), R(3, 2, 3, 3, seed=9)
    res = []
    for make, grad, conv in ((_ours, ag.grad, F.conv2d), (_theirs, torch.autograd.grad, TF.conv2d)):
        xt, wt = make(x), make(w)
        gx, = grad((conv(xt, wt, None, 1, 1) ** 3).sum(), [xt], create_graph=True)
        hw, = grad((gx * gx).sum(), [wt], create_graph=True)
        t, = grad((hw * hw).sum(), [xt])
        res.append(t.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-9, atol=1e-9)


# ---- pooling ----------------------------------------------------------------------------------------------
MAX_POOLS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=1),
             dict(kernel_size=3, stride=1, padding=1, dilation=2), dict(kernel_size=3, stride=2, ceil_mode=True)]
AVG_POOLS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
             dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
             dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=(2, 3), stride=1, divisor_override=4)]


def _pool_case(ours_op, torch_op, unbatched, seed=10):
    x = R(3, 7, 9, seed=seed) if unbatched else R(2, 3, 7, 9, seed=seed)
    c = R(*ours_op(ag.tensor(x)).shape, seed=seed + 1)
    _check(lambda t: _cubic(_c_ours, ours_op(t), c), lambda t: _cubic(_c_torch, torch_op(t), c), [x])


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("kw", MAX_POOLS)
def test_max_pool2d_hvp(kw, unbatched):
    _pool_case(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), unbatched)


def test_max_pool2d_with_indices_hvp():
    _pool_case(lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True)[0],
               lambda t: TF.max_pool2d(t, 3, 2, 1, return_indices=True)[0], False)


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("kw", AVG_POOLS)
def test_avg_pool2d_hvp(kw, unbatched):
    _pool_case(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), unbatched)


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("size", [(3, 4), 2, (None, 5), 1])
def test_adaptive_avg_pool2d_hvp(size, unbatched):
    _pool_case(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size), unbatched)


def test_pool_hvp_without_numba(monkeypatch):
    """The array-module pooling path (CuPy's, or NumPy without Numba) has the same second derivatives."""
    from autograd.ops import _numba_kernels as nk

    monkeypatch.setattr(nk, "ENABLED", False)
    for kw in MAX_POOLS[1:3]:
        _pool_case(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), False)
    for kw in AVG_POOLS[1:3]:
        _pool_case(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), True)


# ---- a tiny CNN: Hessian-vector product with respect to its weights ------------------------------------------
def _cnn(lib, x, w1, b1, w2, b2, w3):
    conv, pool, avg, act = ((F.conv2d, F.max_pool2d, F.adaptive_avg_pool2d, ag.tanh) if lib == "ours" else
                            (TF.conv2d, TF.max_pool2d, TF.adaptive_avg_pool2d, torch.tanh))
    h = pool(act(conv(x, w1, b1, padding=1)), 2)
    h = avg(act(conv(h, w2, b2, stride=1, groups=2)), 2)
    return ((h * w3) ** 2 + h * h * h).sum()


def test_tiny_cnn_weight_hvp():
    x = R(3, 1, 10, 10, seed=20)
    weights = [R(4, 1, 3, 3, seed=21) * 0.5, R(4, seed=22) * 0.1, R(6, 2, 3, 3, seed=23) * 0.3,
               R(6, seed=24) * 0.1, R(3, 6, 2, 2, seed=25)]
    xo, xt = ag.tensor(x, dtype=ag.float64), torch.tensor(x, dtype=torch.float64)
    _check(lambda *w: _cnn("ours", xo, *w), lambda *w: _cnn("torch", xt, *w), weights)


# ---- finite differences of the first derivative (no torch in the loop) ------------------------------------
def _fd_hvp(fn, arrays, vs, eps=1e-5):
    """Central difference of the gradient along the direction ``vs``."""
    def grads(shift):
        xs = [ag.tensor(a + shift * v, dtype=ag.float64, requires_grad=True) for a, v in zip(arrays, vs)]
        return [g.numpy() for g in ag.grad(fn(*xs), xs)]
    return [(p - m) / (2 * eps) for p, m in zip(grads(eps), grads(-eps))]


@pytest.mark.parametrize("case", ["conv", "conv_groups", "max_pool", "avg_pool", "adaptive"])
def test_hvp_against_finite_differences(case):
    fns = {
        "conv": (lambda x, w, b: (F.conv2d(x, w, b, 2, 1, 1) ** 3).sum(),
                 [R(2, 3, 6, 7, seed=30), R(4, 3, 3, 3, seed=31), R(4, seed=32)]),
        "conv_groups": (lambda x, w: (ag.tanh(F.conv2d(x, w, None, 1, "same", 2, 2)) ** 2).sum(),
                        [R(1, 4, 6, 6, seed=33), R(2, 2, 2, 3, seed=34)]),
        "max_pool": (lambda x: (F.max_pool2d(x, 3, 2, 1) ** 3).sum(), [R(2, 2, 7, 7, seed=35)]),
        "avg_pool": (lambda x: (F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) ** 3).sum(),
                     [R(2, 2, 7, 7, seed=36)]),
        "adaptive": (lambda x: (F.adaptive_avg_pool2d(x, (3, 2)) ** 3).sum(), [R(2, 2, 7, 5, seed=37)]),
    }
    fn, arrays = fns[case]
    vs = [R(*a.shape, seed=40 + i) for i, a in enumerate(arrays)]
    xs = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    gs = ag.grad(fn(*xs), xs, create_graph=True)
    hs = ag.grad(sum((g * ag.tensor(v)).sum() for g, v in zip(gs, vs)), xs)
    for h, n in zip(hs, _fd_hvp(fn, arrays, vs)):
        np.testing.assert_allclose(h.numpy(), n, rtol=1e-6, atol=1e-6)


def test_first_order_under_create_graph_matches_plain_backward():
    """create_graph gives the same first derivative as the fast array backward (to rounding)."""
    x, w, b = R(2, 3, 8, 8, seed=50), R(5, 3, 3, 3, seed=51), R(5, seed=52)

    def loss(x, w, b):
        h = F.max_pool2d(ag.tanh(F.conv2d(x, w, b, padding=1)), 2)
        return (F.avg_pool2d(h, 2) ** 2).sum()

    xs = [_ours(a) for a in (x, w, b)]
    plain = ag.grad(loss(*xs), xs)
    graph = ag.grad(loss(*xs), xs, create_graph=True)
    for p, g in zip(plain, graph):
        assert g.requires_grad
        np.testing.assert_allclose(g.detach().numpy(), p.numpy(), rtol=1e-13, atol=1e-13)
