"""Parity with torch 2.13 (skipped when torch is absent): whole models and every layer/loss, float64."""
import math

import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F

torch = pytest.importorskip("torch")
tF = torch.nn.functional

TOL = dict(rtol=1e-9, atol=1e-10)


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def both(a, requires_grad=True, dtype=np.float64):
    a = np.asarray(a, dtype=dtype)
    return (ag.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"),
            torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))


def close(ours, theirs, **kw):
    np.testing.assert_allclose(ours.numpy() if hasattr(ours, "numpy") else ours,
                               theirs.detach().numpy(), **(kw or TOL))


def copy_weights(ours, theirs):
    """torch -> ours through state_dict names (both sides must use the same keys)."""
    sd = theirs.state_dict()
    assert list(sd) == list(ours.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in sd.items()})


def check_training_parity(ours, theirs, x, y, loss_fn_ours, loss_fn_theirs, steps=3, lr=0.1):
    copy_weights(ours, theirs)
    xa, xt = both(x, requires_grad=False)
    ya, yt = (ag.tensor(y), torch.tensor(y))
    for _ in range(steps):
        ours.zero_grad()
        theirs.zero_grad()
        la, lt = loss_fn_ours(ours(xa), ya), loss_fn_theirs(theirs(xt), yt)
        la.backward()
        lt.backward()
        close(la, lt)
        tp = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            close(p.grad, tp[name].grad)
        with torch.no_grad():
            for p in theirs.parameters():
                p -= lr * p.grad
        with ag.no_grad():
            for p in ours.parameters():
                p._data -= lr * p.grad._data
    tb = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), tb[name].numpy(), **TOL)
    ours.eval()
    theirs.eval()
    close(ours(xa), theirs(xt))


def test_mlp_training_parity():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Dropout(0.0), torch.nn.Linear(8, 8), torch.nn.BatchNorm1d(8, momentum=None),
                                 torch.nn.GELU(), torch.nn.Linear(8, 3)).double()
    ours = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 8),
                         nn.BatchNorm1d(8, momentum=None), nn.GELU(), nn.Linear(8, 3)).double()
    y = np.array([0, 2, 1, 1, 0, 2, 2, 1, 0, 1])
    check_training_parity(ours, theirs, R(10, 6), y, lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1),
                          lambda o, t: tF.cross_entropy(o, t, label_smoothing=0.1), steps=4)


def test_cnn_training_parity():
    torch.manual_seed(1)
    tn = torch.nn
    theirs = tn.Sequential(tn.Conv2d(3, 4, 3, padding=1), tn.BatchNorm2d(4), tn.ReLU(), tn.MaxPool2d(2),
                           tn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False), tn.BatchNorm2d(6),
                           tn.LeakyReLU(0.1), tn.AvgPool2d(2, ceil_mode=True), tn.AdaptiveAvgPool2d(1),
                           tn.Flatten(), tn.Linear(6, 4)).double()
    ours = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False), nn.BatchNorm2d(6),
                         nn.LeakyReLU(0.1), nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(6, 4)).double()
    y = np.array([0, 3, 1, 2])
    check_training_parity(ours, theirs, R(4, 3, 10, 10, seed=2), y, F.cross_entropy, tF.cross_entropy)


def test_module_default_dtype_and_double_convert_in_place():
    m = nn.Linear(3, 2)
    w = m.weight
    assert m.weight.dtype == np.float32
    m.double()
    assert m.weight is w and w.dtype == np.float64
    bn = nn.BatchNorm1d(3).double()
    assert bn.num_batches_tracked.dtype == np.int64 and bn.running_mean.dtype == np.float64


# ---- layers -----------------------------------------------------------------------------------------------
def _grad_parity(fn_ours, fn_theirs, *arrays, seed=11):
    pairs = [both(a) for a in arrays]
    oa = fn_ours(*[p[0] for p in pairs])
    ot = fn_theirs(*[p[1] for p in pairs])
    close(oa, ot)
    v = R(*ot.shape, seed=seed)
    (oa * ag.tensor(v)).sum().backward()
    (ot * torch.tensor(v)).sum().backward()
    for a, t in pairs:
        if t.grad is not None:
            close(a.grad, t.grad)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding=(2, 1), dilation=(2, 1)),
                                dict(groups=3, stride=(1, 2)), dict(padding="same", dilation=2),
                                dict(padding="same"), dict(padding="valid")])
def test_conv2d_parity(kw):
    k = (2, 3) if kw.get("padding") == "same" and "dilation" not in kw else 3
    _grad_parity(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: tF.conv2d(x, w, b, **kw),
                 R(2, 6, 7, 8), R(6, 6 // kw.get("groups", 1), *(k if isinstance(k, tuple) else (k, k)), seed=1),
                 R(6, seed=2))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2)),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_max_pool2d_parity_with_indices(kw):
    x = R(2, 3, 9, 8, seed=3)
    _grad_parity(lambda x: F.max_pool2d(x, **kw), lambda x: tF.max_pool2d(x, **kw), x)
    _, ia = F.max_pool2d(ag.tensor(x), return_indices=True, **kw)
    _, it = tF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(ia.numpy(), it.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=(2, 3), divisor_override=5)])
def test_avg_pool2d_parity(kw):
    _grad_parity(lambda x: F.avg_pool2d(x, **kw), lambda x: tF.avg_pool2d(x, **kw), R(2, 3, 9, 8, seed=4))


@pytest.mark.parametrize("size", [1, 3, (2, 5), (4, None), (7, 3)])
def test_adaptive_avg_pool2d_parity(size):
    _grad_parity(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: tF.adaptive_avg_pool2d(x, size),
                 R(2, 3, 7, 9, seed=5))


@pytest.mark.parametrize("momentum,affine,track", [(0.1, True, True), (None, True, True), (0.3, False, True),
                                                   (0.1, True, False)])
def test_batchnorm2d_module_parity(momentum, affine, track):
    ours = nn.BatchNorm2d(3, momentum=momentum, affine=affine, track_running_stats=track, dtype=ag.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine, track_running_stats=track,
                                  dtype=torch.float64)
    for step in range(3):
        x = R(4, 3, 3, 2, seed=step) * (step + 1) + step
        _grad_parity(ours, theirs, x)
    for (na, a), (nt, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert na == nt
        np.testing.assert_allclose(a.numpy(), t.numpy(), **TOL)
    ours.eval()
    theirs.eval()
    _grad_parity(ours, theirs, R(2, 3, 2, 2, seed=9))


def test_batchnorm1d_3d_input_parity():
    ours, theirs = nn.BatchNorm1d(3).double(), torch.nn.BatchNorm1d(3).double()
    _grad_parity(ours, theirs, R(4, 3, 5))
    close(ours.running_var, theirs.running_var)


def test_layer_norm_parity():
    ours, theirs = nn.LayerNorm((3, 4)).double(), torch.nn.LayerNorm((3, 4)).double()
    copy_weights(ours, theirs)
    _grad_parity(ours, theirs, R(2, 3, 4))
    _grad_parity(lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=1e-3),
                 lambda x, w, b: tF.layer_norm(x, (4,), w, b, eps=1e-3), R(3, 4), R(4, seed=1), R(4, seed=2))
    close(ours.weight.grad, theirs.weight.grad)


def test_embedding_parity_dense_and_sparse():
    w0 = R(6, 3)
    idx = np.array([[0, 5, 5], [2, 3, 0]])
    for sparse in (False, True):
        ours = nn.Embedding(6, 3, padding_idx=-1, sparse=sparse, _weight=ag.tensor(w0))
        theirs = torch.nn.Embedding(6, 3, padding_idx=-1, sparse=sparse, _weight=torch.tensor(w0))
        assert ours.padding_idx == theirs.padding_idx == 5
        oa, ot = ours(ag.tensor(idx)), theirs(torch.tensor(idx))
        close(oa, ot)
        v = R(2, 3, 3, seed=3)
        (oa * ag.tensor(v)).sum().backward()
        (ot * torch.tensor(v)).sum().backward()
        ga = ours.weight.grad.to_dense() if sparse else ours.weight.grad
        gt = theirs.weight.grad.to_dense() if sparse else theirs.weight.grad
        close(ga, gt)
        if sparse:
            np.testing.assert_array_equal(ours.weight.grad.coalesce().indices().numpy(),
                                          theirs.weight.grad.coalesce().indices().numpy())


@pytest.mark.parametrize("name,kw", [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("relu", {}),
                                     ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}), ("silu", {}),
                                     ("tanh", {}), ("sigmoid", {}), ("softplus", {"beta": 2, "threshold": 1.5}),
                                     ("hardtanh", {"min_val": -0.3}), ("relu6", {}), ("mish", {}),
                                     ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}), ("softmin", {"dim": 1})])
def test_activation_parity(name, kw):
    _grad_parity(lambda x: getattr(F, name)(x, **kw), lambda x: getattr(tF, name)(x, **kw), R(4, 5) * 3)


def test_activation_module_reprs_match_torch():
    pairs = [(nn.ReLU(), torch.nn.ReLU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
             (nn.LeakyReLU(0.2, True), torch.nn.LeakyReLU(0.2, True)), (nn.Softmax(1), torch.nn.Softmax(1)),
             (nn.ELU(), torch.nn.ELU()), (nn.SiLU(), torch.nn.SiLU()), (nn.Dropout(0.2), torch.nn.Dropout(0.2)),
             (nn.Linear(3, 2), torch.nn.Linear(3, 2)), (nn.Conv2d(2, 4, 3, 2, 1, bias=False),
                                                       torch.nn.Conv2d(2, 4, 3, 2, 1, bias=False)),
             (nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)),
             (nn.BatchNorm1d(3, affine=False), torch.nn.BatchNorm1d(3, affine=False)), (nn.LayerNorm(4), torch.nn.LayerNorm(4)),
             (nn.Embedding(5, 2, padding_idx=0), torch.nn.Embedding(5, 2, padding_idx=0)),
             (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.AdaptiveAvgPool2d((1, 1)), torch.nn.AdaptiveAvgPool2d((1, 1))),
             (nn.Flatten(), torch.nn.Flatten())]
    for a, t in pairs:
        assert repr(a) == repr(t)
    assert repr(nn.Sequential(nn.Linear(2, 2), nn.ReLU())) == repr(torch.nn.Sequential(torch.nn.Linear(2, 2),
                                                                                       torch.nn.ReLU()))


# ---- losses -----------------------------------------------------------------------------------------------
W4 = np.array([0.5, 2.0, 1.0, 0.3])


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1),
                                dict(label_smoothing=0.2), dict(label_smoothing=0.3, ignore_index=2),
                                dict(label_smoothing=0.3, ignore_index=2, reduction="none"),
                                dict(weight=W4), dict(weight=W4, label_smoothing=0.15, ignore_index=0),
                                dict(weight=W4, label_smoothing=0.15, reduction="sum")])
def test_cross_entropy_indices_parity(kw):
    t = np.array([1, 0, 3, 2, 1, 2])
    kw_o = {k: (ag.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    _grad_parity(lambda x: F.cross_entropy(x, ag.tensor(t), **kw_o),
                 lambda x: tF.cross_entropy(x, torch.tensor(t), **kw_t), R(6, 4))
    _grad_parity(lambda x: F.cross_entropy(x, ag.tensor(t.reshape(2, 3)), **kw_o),  # (N, C, d) input
                 lambda x: tF.cross_entropy(x, torch.tensor(t.reshape(2, 3)), **kw_t), R(2, 4, 3))


@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.25), dict(reduction="none"), dict(reduction="sum"),
                                dict(weight=np.array([1.0, 0.5, 2.0]), label_smoothing=0.1)])
def test_cross_entropy_probabilities_parity(kw):
    p = np.random.default_rng(7).dirichlet(np.ones(3), size=5)
    kw_o = {k: (ag.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    _grad_parity(lambda x, p: F.cross_entropy(x, p, **kw_o), lambda x, p: tF.cross_entropy(x, p, **kw_t),
                 R(5, 3), p)


def test_cross_entropy_unbatched_and_module_parity():
    _grad_parity(lambda x: F.cross_entropy(x, ag.tensor(2), label_smoothing=0.1),
                 lambda x: tF.cross_entropy(x, torch.tensor(2), label_smoothing=0.1), R(4))
    ours = nn.CrossEntropyLoss(weight=ag.tensor(W4), ignore_index=3, label_smoothing=0.05)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(W4), ignore_index=3, label_smoothing=0.05)
    t = np.array([3, 0, 1, 3, 2])
    _grad_parity(lambda x: ours(x, ag.tensor(t)), lambda x: theirs(x, torch.tensor(t)), R(5, 4))


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(ignore_index=0, reduction="none"),
                                dict(weight=np.array([0.2, 1.0, 3.0]), ignore_index=1)])
def test_nll_loss_parity(kw):
    t = np.array([2, 0, 1, 0])
    kw_o = {k: (ag.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    _grad_parity(lambda x: F.nll_loss(x, ag.tensor(t), **kw_o), lambda x: tF.nll_loss(x, torch.tensor(t), **kw_t),
                 R(4, 3))


@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("mse_loss", {"reduction": "none"}), ("mse_loss", {"weight": "w"}),
                                     ("l1_loss", {"weight": "w", "reduction": "sum"}), ("huber_loss", {"weight": "w"}),
                                     ("l1_loss", {"reduction": "sum"}), ("smooth_l1_loss", {"beta": 0.5}),
                                     ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}),
                                     ("kl_div", {"reduction": "batchmean", "log_target": True})])
def test_regression_loss_parity(name, kw):
    w = np.random.default_rng(8).uniform(0.1, 2, (3, 4))
    kw_o = {k: (ag.tensor(w) if v == "w" else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(w) if v == "w" else v) for k, v in kw.items()}
    _grad_parity(lambda a, b: getattr(F, name)(a, b, **kw_o), lambda a, b: getattr(tF, name)(a, b, **kw_t),
                 R(3, 4), R(3, 4, seed=5) * 0.8)


@pytest.mark.parametrize("kw", [dict(), dict(reduction="none"), dict(weight=np.array([0.5, 1.0, 2.0]),
                                                                     reduction="sum")])
def test_bce_parity(kw):
    rng = np.random.default_rng(2)
    kw_o = {k: (ag.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    p, y = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    _grad_parity(lambda p, y: F.binary_cross_entropy(p, y, **kw_o),
                 lambda p, y: tF.binary_cross_entropy(p, y, **kw_t), p, y)
    edge = np.array([0.0, 1.0, 0.5])  # log clamped at -100 as torch
    close(F.binary_cross_entropy(ag.tensor(edge), ag.tensor([1.0, 0.0, 1.0], dtype=ag.float64)),
          tF.binary_cross_entropy(torch.tensor(edge), torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)))


@pytest.mark.parametrize("kw", [dict(), dict(pos_weight=np.array([0.5, 1.0, 3.0])),
                                dict(weight=np.array([2.0, 1.0, 0.5]), pos_weight=np.array([2.0, 1.0, 1.0]),
                                     reduction="none")])
def test_bce_with_logits_parity(kw):
    kw_o = {k: (ag.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    kw_t = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    y = np.random.default_rng(3).uniform(0, 1, (4, 3))
    _grad_parity(lambda x, y: F.binary_cross_entropy_with_logits(x, y, **kw_o),
                 lambda x, y: tF.binary_cross_entropy_with_logits(x, y, **kw_t), R(4, 3) * 30, y)


# ---- initialisation -----------------------------------------------------------------------------------
def test_calculate_gain_matches_torch():
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert nn.init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    with pytest.raises(ValueError):
        nn.init.calculate_gain("bogus")


@pytest.mark.parametrize("make", [lambda m: m.Linear(200, 50), lambda m: m.Conv2d(8, 30, 5, groups=2)])
def test_default_init_bounds_and_spread(make):
    ours, theirs = make(nn), make(torch.nn)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        a, b = p.numpy(), q.detach().numpy()
        bound = np.abs(b).max()  # torch's samples reach the bound 1/sqrt(fan_in) closely
        fan_in = int(np.prod(ours.weight.shape[1:]))
        assert np.abs(a).max() <= 1 / math.sqrt(fan_in) + 1e-7
        assert bound <= 1 / math.sqrt(fan_in) + 1e-7
        if a.size > 1000:  # uniform: std = bound / sqrt(3)
            assert a.std() == pytest.approx(b.std(), rel=0.1)
            assert a.std() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.1)


def test_init_functions_distributions():
    ag.manual_seed(0)
    w = ag.empty(400, 300)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 400), rel=0.03)
    nn.init.xavier_uniform_(w, gain=2.0)
    assert np.abs(w.numpy()).max() <= 2 * math.sqrt(6 / 700) + 1e-7
    assert w.numpy().std() == pytest.approx(2 * math.sqrt(6 / 700) / math.sqrt(3), rel=0.03)
    nn.init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 700), rel=0.03)
    nn.init.kaiming_uniform_(w, a=0.1)
    assert np.abs(w.numpy()).max() <= math.sqrt(3) * math.sqrt(2 / 1.01) / math.sqrt(300) + 1e-7
    nn.init.trunc_normal_(w, std=0.5, a=-0.4, b=0.6)
    assert w.numpy().min() >= -0.4 and w.numpy().max() <= 0.6
    e = ag.empty(3, 5)
    nn.init.eye_(e)
    close(e, torch.nn.init.eye_(torch.empty(3, 5)), rtol=0, atol=0)
    nn.init.orthogonal_(e)
    np.testing.assert_allclose(e.numpy() @ e.numpy().T, np.eye(3), atol=1e-5)
    emb = nn.Embedding(1000, 20, padding_idx=3)
    assert np.all(emb.weight.numpy()[3] == 0)
    assert emb.weight.numpy().std() == pytest.approx(1.0, rel=0.05)
