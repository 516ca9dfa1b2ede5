"""Finite-difference gradient checks (float64) for every op added by autograd.nn."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
import autograd.nn.functional as F
from autograd.ops import nn_conv, nn_norm


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Compare backward() of <fn(*tensors), v> with central differences, for every input array."""
    rng = np.random.default_rng(seed)
    ts = [ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    v = rng.standard_normal(out.shape)
    (out * ag.tensor(v)).sum().backward()
    for t, a in zip(ts, arrays):
        num = np.zeros_like(a, dtype=np.float64)
        flat = a.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            fp = float((fn(*[ag.tensor(b, dtype=ag.float64) for b in arrays]).numpy() * v).sum())
            flat[i] = old - eps
            fm = float((fn(*[ag.tensor(b, dtype=ag.float64) for b in arrays]).numpy() * v).sum())
            flat[i] = old
            num.reshape(-1)[i] = (fp - fm) / (2 * eps)
        assert t.grad is not None
        np.testing.assert_allclose(t.grad.numpy(), num, atol=atol, rtol=rtol)


def R(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- convolution and pooling ----------------------------------------------------------------------------
@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), ((2, 1), (1, 0), (1, 2), 2), (1, "same", 1, 1), (1, "valid", 1, 2),
])
def test_conv2d_grad(stride, padding, dilation, groups):
    x, w, b = R(2, 4, 6, 5), R(4, 4 // groups, 3, 2, seed=2), R(4, seed=3)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


def test_conv2d_unbatched_no_bias_grad():
    gradcheck(lambda x, w: F.conv2d(x, w, None, 1, 1), R(2, 4, 4), R(3, 2, 3, 3, seed=4))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool2d_grad(kw):
    x = np.random.default_rng(5).permutation(2 * 3 * 7 * 7).reshape(2, 3, 7, 7) / 10.0  # distinct values
    gradcheck(lambda x: F.max_pool2d(x, **kw), x)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d_grad(kw):
    gradcheck(lambda x: F.avg_pool2d(x, **kw), R(2, 2, 6, 7))


@pytest.mark.parametrize("size", [1, (2, 3), (3, None), (4, 5)])
def test_adaptive_avg_pool2d_grad(size):
    gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), R(2, 2, 5, 7))


# ---- normalisation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (3, 3, 2, 2)])
def test_batch_norm_train_grad(shape):
    C = shape[1]
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5), R(*shape), R(C, seed=2),
              R(C, seed=3))


def test_batch_norm_train_with_running_stats_and_eval_grad():
    rm, rv = ag.zeros(3, dtype=ag.float64), ag.ones(3, dtype=ag.float64)
    gradcheck(lambda x, w: F.batch_norm(x, rm, rv, w, None, True, 0.0, 1e-5), R(4, 3, 2), R(3, seed=2))
    rm2, rv2 = ag.tensor([0.1, -0.2, 0.3], dtype=ag.float64), ag.tensor([1.5, 0.5, 2.0], dtype=ag.float64)
    gradcheck(lambda x, w, b: F.batch_norm(x, rm2, rv2, w, b, False), R(4, 3), R(3, seed=2), R(3, seed=3))


@pytest.mark.parametrize("ns", [(4,), (3, 4)])
def test_layer_norm_grad(ns):
    gradcheck(lambda x, w, b: F.layer_norm(x, ns, w, b), R(2, 3, 4), R(*ns, seed=2), R(*ns, seed=3))
    gradcheck(lambda x: F.layer_norm(x, ns), R(2, 3, 4))


# ---- embedding and dropout ------------------------------------------------------------------------------
def test_embedding_dense_grad_with_padding_and_freq():
    idx = ag.tensor([[0, 2, 2], [4, 1, 2]])
    gradcheck(lambda w: F.embedding(idx, w), R(5, 3))
    # padding_idx rows get no gradient; scale_grad_by_freq divides each row's gradient by its count
    w = ag.tensor(R(5, 3), requires_grad=True)
    v = R(2, 3, 3, seed=4)
    (F.embedding(idx, w, padding_idx=4, scale_grad_by_freq=True) * ag.tensor(v)).sum().backward()
    want = np.zeros((5, 3))
    counts = {0: 1, 1: 1, 2: 3, 4: 1}
    for (i, j), k in np.ndenumerate(idx.numpy()):
        want[k] += v[i, j] / counts[k]
    want[4] = 0
    np.testing.assert_allclose(w.grad.numpy(), want, atol=1e-12)


def test_embedding_sparse_grad_matches_dense():
    idx = ag.tensor([[0, 2, 2], [4, 1, 2]])
    w0 = R(5, 3)
    wd = ag.tensor(w0, requires_grad=True)
    ws = ag.tensor(w0, requires_grad=True)
    v = ag.tensor(R(2, 3, 3, seed=9))
    (F.embedding(idx, wd, padding_idx=1) * v).sum().backward()
    (F.embedding(idx, ws, padding_idx=1, sparse=True) * v).sum().backward()
    assert ws.grad.is_sparse
    assert ws.grad._nnz() == 5  # six lookups minus the padding one; duplicates stay uncoalesced
    np.testing.assert_allclose(ws.grad.to_dense().numpy(), wd.grad.numpy(), atol=1e-12)
    assert np.all(wd.grad.numpy()[1] == 0)


def test_dropout_grad_uses_the_same_mask():
    ag.manual_seed(3)
    x = ag.tensor(R(50, 4), requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    y.sum().backward()
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7)
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.7)
    assert 0.5 < kept.mean() < 0.9


# ---- activations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda x: F.gelu(x), lambda x: F.gelu(x, approximate="tanh"),
                                lambda x: F.leaky_relu(x, 0.2), lambda x: F.elu(x, 1.5), F.silu, F.mish,
                                lambda x: F.softplus(x, 2.0, 3.0), lambda x: F.hardtanh(x, -0.5, 0.7),
                                lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 0), lambda x: F.softmin(x, 1),
                                lambda x: F.normalize(x, dim=1), lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
                                lambda x: F.pad(x, (-1, 1))])
def test_activation_grad(fn):
    x = R(3, 5) + 0.013  # keep clear of kinks at 0
    gradcheck(fn, x)


# ---- losses -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1),
                                dict(label_smoothing=0.2), dict(label_smoothing=0.3, ignore_index=2, reduction="sum"),
                                dict(weight=ag.tensor([0.5, 2.0, 1.0, 0.3], dtype=ag.float64)),
                                dict(weight=ag.tensor([0.5, 2.0, 1.0, 0.3], dtype=ag.float64), label_smoothing=0.1,
                                     ignore_index=0)])
def test_cross_entropy_indices_grad(kw):
    t = ag.tensor([1, 0, 3, 2, 1])
    gradcheck(lambda x: F.cross_entropy(x, t, **kw), R(5, 4))


def test_cross_entropy_spatial_and_unbatched_grad():
    t = ag.tensor([[0, 2], [1, 1]])
    gradcheck(lambda x: F.cross_entropy(x, t, label_smoothing=0.1), R(2, 3, 2))
    gradcheck(lambda x: F.cross_entropy(x, ag.tensor(2)), R(4))


@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.25), dict(reduction="none"),
                                dict(weight=ag.tensor([1.0, 0.5, 2.0], dtype=ag.float64), reduction="sum")])
def test_cross_entropy_probabilities_grad(kw):
    p = np.random.default_rng(7).dirichlet(np.ones(3), size=4)
    gradcheck(lambda x, p: F.cross_entropy(x, p, **kw), R(4, 3), p)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(ignore_index=0, reduction="none"),
                                dict(weight=ag.tensor([0.2, 1.0, 3.0], dtype=ag.float64))])
def test_nll_loss_grad(kw):
    gradcheck(lambda x: F.nll_loss(x, ag.tensor([2, 0, 1, 0]), **kw), R(4, 3))


@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {"reduction": "sum"}),
                                     ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
                                     ("huber_loss", {"delta": 0.7, "reduction": "none"})])
def test_regression_losses_grad(name, kw):
    gradcheck(lambda a, b: getattr(F, name)(a, b, **kw), R(3, 4), R(3, 4, seed=5) * 0.8)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="none"),
                                dict(weight=ag.tensor([0.5, 1.0, 2.0], dtype=ag.float64), reduction="sum")])
def test_bce_grad(kw):
    rng = np.random.default_rng(2)
    gradcheck(lambda p, y: F.binary_cross_entropy(p, y, **kw), rng.uniform(0.05, 0.95, (4, 3)),
              rng.uniform(0, 1, (4, 3)))


@pytest.mark.parametrize("kw", [dict(), dict(pos_weight=ag.tensor([0.5, 1.0, 3.0], dtype=ag.float64)),
                                dict(weight=ag.tensor([2.0, 1.0, 0.5], dtype=ag.float64), reduction="sum")])
def test_bce_with_logits_grad(kw):
    gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, **kw), R(4, 3) * 3,
              np.random.default_rng(3).uniform(0, 1, (4, 3)))


def test_kl_div_grad():
    q = np.random.default_rng(4).dirichlet(np.ones(3), size=2)
    gradcheck(lambda x: F.kl_div(F.log_softmax(x, 1), ag.tensor(q), reduction="batchmean"), R(2, 3))


# ---- property-based shapes -------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6), k=st.integers(1, 3),
       s=st.integers(1, 2), p=st.integers(0, 1), d=st.integers(1, 2))
def test_conv2d_grad_random_shapes(n, c, h, w, k, s, p, d):
    if h + 2 * p < d * (k - 1) + 1 or w + 2 * p < d * (k - 1) + 1:
        return
    gradcheck(lambda x, wt: nn_conv.conv2d(x, wt, None, s, p, d), R(n, c, h, w), R(2, c, k, k, seed=3),
              atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 4), c=st.integers(1, 3), L=st.integers(1, 3))
def test_batch_norm_grad_random_shapes(n, c, L):
    gradcheck(lambda x, w: nn_norm.batch_norm(x, None, None, w, None, True), R(n, c, L), R(c, seed=2), atol=1e-5)
