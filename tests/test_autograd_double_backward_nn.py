"""Second derivatives of the nn ops (activations, linear, normalisation, dropout, embedding, losses): the
backward rules run on Tensors under ``create_graph=True``, so Hessian-vector products match torch's in
float64, and the first derivatives taken that way match the first-order ones."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
from autograd.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = dict(max_examples=12, deadline=None)
SHAPES = st.sampled_from([(5,), (3, 4), (2, 3, 4)])


def _t(a, grad=True):
    return ag.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def _tt(a, grad=True):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def _hvp(lib_grad, f, xs, w, vs):
    """(first derivatives of sum(f(*xs) * w), their Hessian-vector products with ``vs``)."""
    out = f(*xs)
    gs = lib_grad((out * w).sum(), xs, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gs, vs))
    if not dot.requires_grad:   # a piecewise-linear op: the gradient does not depend on x (torch: zeros)
        return gs, [None] * len(xs)
    hs = lib_grad(dot, xs, allow_unused=True)
    return gs, hs


def _ours(f, arrays, w, vs):
    xs = [_t(a) for a in arrays]
    return _hvp(ag.grad, f, xs, _t(w, False), [_t(v, False) for v in vs])


def _torch(f, arrays, w, vs):
    xs = [_tt(a) for a in arrays]
    return _hvp(torch.autograd.grad, f, xs, _tt(w, False), [_tt(v, False) for v in vs])


def check(f_ours, f_torch, arrays, seed=0, w_shape=None, rtol=1e-9, atol=1e-10):
    """First derivatives and Hessian-vector products of ``sum(f(*arrays) * w)`` against torch."""
    rng = np.random.default_rng(seed)
    out_shape = tuple(f_torch(*[_tt(a, False) for a in arrays]).shape) if w_shape is None else w_shape
    w = rng.standard_normal(out_shape)
    vs = [rng.standard_normal(np.shape(a)) for a in arrays]
    g1, h1 = _ours(f_ours, arrays, w, vs)
    g2, h2 = _torch(f_torch, arrays, w, vs)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)
    for a, b in zip(h1, h2):
        if b is None:
            assert a is None or np.allclose(_np(a), 0)
        else:
            np.testing.assert_allclose(np.zeros(b.shape) if a is None else _np(a), _np(b), rtol=rtol, atol=atol)


def _np(t):
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.numpy()


def _reductions_twice_differentiable():
    x = _t([[0.1, 0.5, -0.3]])
    g, = ag.grad((F.log_softmax(x, 1) ** 2).sum() + (x.sum(1) ** 2).sum(), [x], create_graph=True)
    try:
        ag.grad(g.sum(), [x])
    except RuntimeError:
        return False
    return True


# cross_entropy differentiates log_softmax's and sum's backward rules, which belong to the reductions
needs_reductions = pytest.mark.skipif(not _reductions_twice_differentiable(),
                                      reason="log_softmax / sum are first-order only here")


def _data(shape, seed, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


# ---- activations ----------------------------------------------------------------------------------------
ACTS = {
    "gelu": (lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x, 1.3), lambda x: TF.elu(x, 1.3)),
    "silu": (F.silu, TF.silu),
    "softplus": (lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.0), lambda x: TF.hardtanh(x, -0.5, 1.0)),
    "relu": (F.relu, TF.relu),
    "relu6": (lambda x: F.relu6(x * 4), lambda x: TF.relu6(x * 4)),
    "mish": (F.mish, TF.mish),
    "tanh": (F.tanh, torch.tanh),
    "sigmoid": (F.sigmoid, torch.sigmoid),
}


@pytest.mark.parametrize("name", sorted(ACTS))
@settings(**SETTINGS)
@given(shape=SHAPES, seed=st.integers(0, 2 ** 16))
def test_activation_hvp(name, shape, seed):
    ours, theirs = ACTS[name]
    check(ours, theirs, [_data(shape, seed)], seed)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "hardtanh", "relu6"])
def test_piecewise_linear_derivative_is_differentiable_to_zeros(name):
    """With a constant upstream gradient the first derivative of a piecewise-linear activation is constant in
    x, yet torch keeps x as its input: differentiating it again gives zeros, not an error."""
    ours, theirs = ACTS[name]
    xs = [-2.0, -0.5, -0.0, 0.3, 1.0, 1.5]
    results = []
    for f, lib, make in ((ours, ag, _t), (theirs, torch, _tt)):
        x = make(xs)
        gx, = lib.autograd.grad(f(x).sum(), x, create_graph=True)
        assert gx.requires_grad
        g2, = lib.autograd.grad((gx * x).sum(), x)
        results.append((gx.detach().numpy(), g2.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_numba_path_hvp(approximate):
    """The compiled first-order kernel is the array side of ``gelu_backward``; create_graph uses Tensor ops."""
    X = _data((4, 8, 16), 3).astype(np.float32)
    x, xt = ag.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    g, = ag.grad(F.gelu(x, approximate=approximate).sum(), [x], create_graph=True)
    h, = ag.grad((g * g).sum(), [x])
    gt, = torch.autograd.grad(TF.gelu(xt, approximate=approximate).sum(), [xt], create_graph=True)
    ht, = torch.autograd.grad((gt * gt).sum(), [xt])
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=2e-4, atol=2e-5)


# ---- linear ---------------------------------------------------------------------------------------------
@settings(**SETTINGS)
@given(lead=st.sampled_from([(3,), (2, 3), (2, 1, 3)]), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_linear_hvp(lead, bias, seed):
    arrays = [_data(lead + (4,), seed), _data((5, 4), seed + 1)] + ([_data((5,), seed + 2)] if bias else [])
    # tanh makes the second derivatives in x and weight non-trivial (linear alone is bilinear)
    check(lambda *a: F.tanh(F.linear(*a)), lambda *a: torch.tanh(TF.linear(*a)), arrays, seed)


def test_wgan_gp_gradient_penalty():
    """A WGAN-GP critic (Linear, LeakyReLU, Linear): the penalty (|d critic / d x| - 1)^2 is differentiated
    w.r.t. the critic's parameters, through the backward of Linear and LeakyReLU."""
    rng = np.random.default_rng(7)
    X, W1, B1, W2, B2 = (rng.standard_normal(s) for s in [(6, 4), (8, 4), (8,), (1, 8), (1,)])

    def run(lib, grad, Fm, mk):
        x = mk(X)
        ps = [mk(a) for a in (W1, B1, W2, B2)]
        out = Fm.linear(Fm.leaky_relu(Fm.linear(x, ps[0], ps[1]), 0.2), ps[2], ps[3])
        gx, = grad(out.sum(), [x], create_graph=True)
        pen = ((((gx * gx).sum(1)) ** 0.5 - 1) ** 2).mean()
        return [0.0 if g is None else _np(g) for g in grad(pen, ps, allow_unused=True)]

    ours = run(ag, ag.grad, F, _t)
    theirs = run(torch, torch.autograd.grad, TF, _tt)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ---- normalisation --------------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
@settings(**SETTINGS)
@given(shape=st.sampled_from([(6, 3), (4, 3, 5), (2, 3, 2, 2)]), affine=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_batch_norm_hvp(training, shape, affine, seed):
    C = shape[1]
    rng = np.random.default_rng(seed)
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2.0, C)
    arrays = [_data(shape, seed)] + ([_data((C,), seed + 1), _data((C,), seed + 2)] if affine else [])

    def ours(x, *wb):
        return F.batch_norm(x, ag.tensor(rm.copy()), ag.tensor(rv.copy()), *wb, training=training)

    def theirs(x, *wb):
        return TF.batch_norm(x, torch.tensor(rm.copy()), torch.tensor(rv.copy()), *wb, training=training)

    check(lambda *a: F.tanh(ours(*a)), lambda *a: torch.tanh(theirs(*a)), arrays, seed, rtol=1e-8, atol=1e-9)


@settings(**SETTINGS)
@given(shape=st.sampled_from([(3, 4), (2, 3, 4)]), k=st.sampled_from([1, 2]), affine=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_layer_norm_hvp(shape, k, affine, seed):
    ns = shape[-k:]
    arrays = [_data(shape, seed)] + ([_data(ns, seed + 1), _data(ns, seed + 2)] if affine else [])
    check(lambda x, *wb: F.tanh(F.layer_norm(x, ns, *wb)), lambda x, *wb: torch.tanh(TF.layer_norm(x, ns, *wb)),
          arrays, seed, rtol=1e-8, atol=1e-9)


def test_dropout_mask_is_kept_in_double_backward():
    x = _t(_data((50,), 0))
    y = F.dropout(x, 0.5, training=True)
    g, = ag.grad((y * y).sum(), [x], create_graph=True)
    h, = ag.grad(g.sum(), [x])
    mask = (y.detach().numpy() != 0) * 2.0
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy() * mask ** 2)
    np.testing.assert_allclose(h.numpy(), 2 * mask ** 2)


@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("freq", [False, True])
def test_embedding_hvp(padding_idx, freq):
    idx = np.array([[0, 1, 3], [3, 3, 2]])
    W = _data((5, 3), 4)
    check(lambda w: F.tanh(F.embedding(ag.tensor(idx), w, padding_idx, scale_grad_by_freq=freq)),
          lambda w: torch.tanh(TF.embedding(torch.tensor(idx), w, padding_idx, scale_grad_by_freq=freq)), [W])


def test_pad_hvp():
    check(lambda x: F.tanh(F.pad(x, (1, 2, 0, 1))), lambda x: torch.tanh(TF.pad(x, (1, 2, 0, 1))),
          [_data((2, 3, 4), 5)])


# ---- losses ---------------------------------------------------------------------------------------------
REDUCTIONS = ["mean", "sum", "none"]


@needs_reductions
@pytest.mark.parametrize("reduction", REDUCTIONS)
@settings(**SETTINGS)
@given(weighted=st.booleans(), ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.2]),
       spatial=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_cross_entropy_hvp(reduction, weighted, ignore, smoothing, spatial, seed):
    rng = np.random.default_rng(seed)
    shape = (4, 3, 2) if spatial else (4, 3)
    T = rng.integers(0, 3, (4, 2) if spatial else (4,))
    if ignore:
        T.reshape(-1)[0] = 1
    Wc = rng.uniform(0.5, 2.0, 3) if weighted else None
    kw = dict(reduction=reduction, ignore_index=1 if ignore else -100, label_smoothing=smoothing)

    def ours(x):
        return F.cross_entropy(x, ag.tensor(T), None if Wc is None else ag.tensor(Wc), **kw)

    def theirs(x):
        return TF.cross_entropy(x, torch.tensor(T), None if Wc is None else torch.tensor(Wc), **kw)

    check(ours, theirs, [_data(shape, seed)], seed, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_hvp(reduction, weighted):
    """nll is linear in its input; the incoming gradient is made to depend on x too (the factor), so the
    rule is differentiated in g as well."""
    T = np.array([0, 2, 1, 1])
    Wc = np.array([1.0, 0.5, 2.0]) if weighted else None

    def f(F_, mk, tanh):
        def run(x):
            loss = F_.nll_loss(tanh(x), mk(T), None if Wc is None else mk(Wc), ignore_index=1, reduction=reduction)
            return loss * tanh(x[:, 0] if reduction == "none" else x[0, 0])
        return run

    check(f(F, ag.tensor, F.tanh), f(TF, torch.tensor, torch.tanh), [_data((4, 3), 1)])


@needs_reductions
def test_cross_entropy_probability_targets_hvp():
    P = np.random.default_rng(2).dirichlet(np.ones(3), 4)
    check(lambda x: F.cross_entropy(x, _t(P, False), label_smoothing=0.1),
          lambda x: TF.cross_entropy(x, _tt(P, False), label_smoothing=0.1), [_data((4, 3), 2)])


LOSSES = {
    "mse": (F.mse_loss, TF.mse_loss),
    "l1": (F.l1_loss, TF.l1_loss),
    "smooth_l1": (lambda a, b, **k: F.smooth_l1_loss(a, b, beta=0.7, **k),
                  lambda a, b, **k: TF.smooth_l1_loss(a, b, beta=0.7, **k)),
    "huber": (lambda a, b, **k: F.huber_loss(a, b, delta=0.8, **k),
              lambda a, b, **k: TF.huber_loss(a, b, delta=0.8, **k)),
    "bce_logits": (F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits),
    "kl_div_log_target": (lambda a, b, **k: F.kl_div(a, b, log_target=True, **k),
                          lambda a, b, **k: TF.kl_div(a, b, log_target=True, **k)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_loss_hvp(name, reduction):
    ours, theirs = LOSSES[name]
    arrays = [_data((3, 4), 1), _data((3, 4), 2, 0.0, 1.0)]
    check(lambda a, b: ours(a, b, reduction=reduction), lambda a, b: theirs(a, b, reduction=reduction), arrays)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_hvp(reduction, weighted):
    Wb = _data((3, 4), 5, 0.5, 1.5) if weighted else None
    arrays = [_data((3, 4), 1, 0.1, 0.9), _data((3, 4), 2, 0.0, 1.0)]
    check(lambda a, b: F.binary_cross_entropy(a, b, None if Wb is None else _t(Wb, False), reduction=reduction),
          lambda a, b: TF.binary_cross_entropy(a, b, None if Wb is None else _tt(Wb, False), reduction=reduction),
          arrays, rtol=1e-7, atol=1e-9)


def test_bce_with_logits_pos_weight_hvp():
    PW = _data((4,), 3, 0.5, 2.0)
    Wb = _data((3, 4), 4, 0.5, 1.5)
    check(lambda a, b: F.binary_cross_entropy_with_logits(a, b, _t(Wb, False), pos_weight=_t(PW, False)),
          lambda a, b: TF.binary_cross_entropy_with_logits(a, b, _tt(Wb, False), pos_weight=_tt(PW, False)),
          [_data((3, 4), 1), _data((3, 4), 2, 0.0, 1.0)])


def test_kl_div_hvp():
    logq = np.log(np.random.default_rng(1).dirichlet(np.ones(4), 3))
    P = np.random.default_rng(2).dirichlet(np.ones(4), 3)
    check(lambda a, b: F.kl_div(a, b, reduction="batchmean"), lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
          [logq, P])


@needs_reductions
def test_loss_double_backward_through_a_network():
    """A loss's gradient w.r.t. a parameter, penalised and differentiated again (cross_entropy over Linear)."""
    rng = np.random.default_rng(3)
    X, W, T = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.integers(0, 3, 5)

    def run(grad, Fm, mk, idx):
        w = mk(W)
        loss = Fm.cross_entropy(Fm.linear(mk(X, False), w), idx(T), label_smoothing=0.1)
        gw, = grad(loss, [w], create_graph=True)
        return grad((gw * gw).sum(), [w])[0]

    ours = run(ag.grad, F, _t, ag.tensor)
    theirs = run(torch.autograd.grad, TF, _tt, torch.tensor)
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-9, atol=1e-12)


# ---- second derivatives against finite differences of the first (no torch involved) -----------------------
FD_OPS = {
    "gelu": lambda x: F.gelu(x),
    "softplus": lambda x: F.softplus(x),
    "silu": F.silu,
    "elu": F.elu,
    "layer_norm": lambda x: F.layer_norm(x, (4,)) ** 2,
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True) ** 3,
    # the frequency scale is applied once, as torch's double backward does
    "embedding_freq": lambda w: F.tanh(F.embedding(ag.tensor(np.array([[0, 1, 2], [2, 2, 1]])), w, 1,
                                                   scale_grad_by_freq=True)),
    "bce_logits": lambda x: F.binary_cross_entropy_with_logits(x, ag.tensor(np.full((3, 4), 0.3)), reduction="none"),
}


@pytest.mark.parametrize("name", sorted(FD_OPS))
def test_second_derivative_matches_finite_differences(name):
    f = FD_OPS[name]
    rng = np.random.default_rng(11)
    X, V = rng.uniform(-1.5, 1.5, (3, 4)), rng.standard_normal((3, 4))

    def first(a):
        x = _t(a)
        return ag.grad(f(x).sum(), [x])[0].numpy()

    x = _t(X)
    g, = ag.grad(f(x).sum(), [x], create_graph=True)
    hv, = ag.grad((g * _t(V, False)).sum(), [x])
    eps = 1e-6
    fd = (first(X + eps * V) - first(X - eps * V)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.numpy(), first(X), rtol=1e-13, atol=1e-15)   # create_graph: same derivative
