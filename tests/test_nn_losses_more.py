"""The losses of ``autograd.nn.losses_more`` and ``F.pdist`` against torch 2.13: values, output shapes and dtypes,
gradients (gradcheck and second order in float64), argument errors, module reprs and state_dict keys."""
import math

import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
tF = torch.nn.functional

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 4))
Y = RNG.integers(0, 4, 5)
MULTI = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0], [2, 2, -1, 0], [0, -1, 2, 3]])
COUNTS = RNG.poisson(3, (5, 4)).astype(float)
VAR = RNG.random((5, 4)) + 0.05
SIGNS = np.sign(RNG.standard_normal((5, 4)))
LABELS = (RNG.random((5, 4)) > 0.5).astype(float)
A3, P3, N3 = (RNG.standard_normal((5, 3)) for _ in range(3))


def _compare(name, arrays, grads, dtype=np.float64, **kw):
    A = [ag.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=i in grads)
         for i, a in enumerate(arrays)]
    B = [torch.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=i in grads)
         for i, a in enumerate(arrays)]
    kw_a = {k: ag.tensor(v.astype(dtype)) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kw_b = {k: torch.tensor(v.astype(dtype)) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    ya, yb = getattr(F, name)(*A, **kw_a), getattr(tF, name)(*B, **kw_b)
    assert tuple(ya.shape) == tuple(yb.shape)
    assert ya.numpy().dtype == yb.detach().numpy().dtype
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=tol, atol=tol)
    if grads:
        w = np.random.default_rng(9).standard_normal(tuple(ya.shape)).astype(dtype)
        (ya * ag.tensor(w)).sum().backward()
        (yb * torch.tensor(w)).sum().backward()
        for i in grads:
            np.testing.assert_allclose(A[i].grad.numpy(), B[i].grad.numpy(), rtol=tol, atol=tol)


CASES = [
    ("multi_margin_loss", [X, Y], (0,), {}),
    ("multi_margin_loss", [X, Y], (0,), {"p": 2, "margin": 0.7}),
    ("multi_margin_loss", [X, Y], (0,), {"p": 2, "weight": RNG.random(4)}),
    ("multi_margin_loss", [X[0], np.array(2)], (0,), {}),
    ("multi_margin_loss", [X[0], np.array([2])], (0,), {}),
    ("multilabel_margin_loss", [X, MULTI], (0,), {}),
    ("multilabel_margin_loss", [X[0], MULTI[0]], (0,), {}),
    ("triplet_margin_with_distance_loss", [A3, P3, N3], (0, 1, 2), {}),
    ("triplet_margin_with_distance_loss", [A3, P3, N3], (0, 1, 2), {"swap": True, "margin": 2.0}),
    ("poisson_nll_loss", [X, COUNTS], (0, 1), {}),
    ("poisson_nll_loss", [X, COUNTS], (0, 1), {"full": True}),
    ("poisson_nll_loss", [np.abs(X), COUNTS], (0, 1), {"log_input": False, "full": True, "eps": 1e-3}),
    ("gaussian_nll_loss", [X, COUNTS, VAR], (0, 1, 2), {}),
    ("gaussian_nll_loss", [X, COUNTS, VAR], (0, 1, 2), {"full": True}),
    ("gaussian_nll_loss", [X, COUNTS, VAR[:, 0]], (0, 1, 2), {}),          # one dim short: unsqueezed
    ("gaussian_nll_loss", [X, COUNTS, VAR[:, :1] * 1e-9], (0, 1, 2), {}),  # size-1 dim; clamped to eps
    ("soft_margin_loss", [X, SIGNS], (0,), {}),   # torch: not differentiable in target
    ("multilabel_soft_margin_loss", [X, LABELS], (0, 1), {}),
    ("multilabel_soft_margin_loss", [X, LABELS, RNG.random(4)], (0, 1), {}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,arrays,grads,kw", CASES)
def test_values_shapes_and_gradients_match_torch_float64(name, arrays, grads, kw, reduction):
    _compare(name, arrays, grads, reduction=reduction, **kw)


@pytest.mark.parametrize("name,arrays,grads,kw", CASES[::3])
def test_float32_close_to_torch(name, arrays, grads, kw):
    _compare(name, arrays, grads, dtype=np.float32, **kw)


def test_legacy_size_average_and_reduce_map_as_torch():
    for sa, rd in ((False, None), (None, False), (True, True)):
        with pytest.warns(UserWarning):
            ours = F.multi_margin_loss(ag.tensor(X), ag.tensor(Y), size_average=sa, reduce=rd)
        with pytest.warns(UserWarning):
            theirs = tF.multi_margin_loss(torch.tensor(X), torch.tensor(Y), size_average=sa, reduce=rd)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_hinge_exactly_at_zero_gets_no_gradient_as_torch():
    x = np.array([[1.0, 0.0, 0.5]])          # margin - x[y] + x[i] == 0 exactly for class 1
    a, b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.multi_margin_loss(a, ag.tensor([0])).backward()
    tF.multi_margin_loss(b, torch.tensor([0])).backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


PDIST = [(2, {}), (1, {}), (3.5, {}), (0.5, {}), (float("inf"), {}), (0, {})]


@pytest.mark.parametrize("p,_", PDIST)
def test_pdist_matches_torch_including_repeated_rows(p, _):
    x = RNG.standard_normal((6, 3))
    x[2] = x[0]           # a zero distance: torch's gradient there is 0
    x[3, 1] = x[1, 1]     # one zero coordinate difference
    a, b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = F.pdist(a, p), tF.pdist(b, p)
    assert tuple(ya.shape) == (15,)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_pdist_edge_shapes():
    assert tuple(F.pdist(ag.tensor(np.ones((1, 4)))).shape) == (0,)
    assert tuple(F.pdist(ag.tensor(np.ones((0, 4)))).shape) == (0,)
    np.testing.assert_array_equal(F.pdist(ag.tensor(np.ones((3, 0)))).numpy(), np.zeros(3))


GRADCHECK = [
    lambda x: F.multi_margin_loss(x, ag.tensor(Y[:3]), p=2, margin=0.5),
    lambda x: F.multi_margin_loss(x, ag.tensor(Y[:3]), weight=ag.tensor(np.array([0.5, 1.0, 2.0, 1.5]))),
    lambda x: F.multilabel_margin_loss(x, ag.tensor(MULTI[:3])),
    lambda x: F.triplet_margin_with_distance_loss(x, x.flip(0), x * 0.5, margin=3.0),
    lambda x: F.triplet_margin_with_distance_loss(x, x.flip(0), x * 0.5, swap=True, margin=3.0,
                                                  distance_function=lambda u, v: 1 - F.cosine_similarity(u, v)),
    lambda x: F.poisson_nll_loss(x, ag.tensor(COUNTS[:3]), full=True),
    lambda x: F.poisson_nll_loss(x.abs() + 0.5, ag.tensor(COUNTS[:3]), log_input=False),
    lambda x: F.gaussian_nll_loss(x, ag.tensor(COUNTS[:3]), x * x + 0.5, full=True),
    lambda x: F.soft_margin_loss(x, ag.tensor(SIGNS[:3])),
    lambda x: F.multilabel_soft_margin_loss(x, ag.tensor(LABELS[:3]), weight=ag.tensor(np.arange(1.0, 5.0))),
    lambda x: F.pdist(x),
    lambda x: F.pdist(x, 3.0),
]


@pytest.mark.parametrize("fn", GRADCHECK)
def test_gradcheck_and_gradgradcheck_float64(fn):
    x = ag.tensor(X[:3].copy(), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_second_order_matches_torch_for_gaussian_and_poisson():
    for name, extra, kw in (("gaussian_nll_loss", [COUNTS, VAR], {"full": True}),
                            ("poisson_nll_loss", [COUNTS], {"full": True}),
                            ("multilabel_soft_margin_loss", [LABELS], {}), ("soft_margin_loss", [SIGNS], {})):
        a, b = ag.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
        (ga,) = ag.autograd.grad(getattr(F, name)(a, *map(ag.tensor, extra), **kw), a, create_graph=True)
        (gb,) = torch.autograd.grad(getattr(tF, name)(b, *map(torch.tensor, extra), **kw), b, create_graph=True)
        (gga,) = ag.autograd.grad((ga * ga).sum(), a)
        (ggb,) = torch.autograd.grad((gb * gb).sum(), b)
        np.testing.assert_allclose(gga.numpy(), ggb.numpy(), rtol=1e-11, atol=1e-14)


def test_gaussian_var_gradient_ignores_the_clamp_as_torch():
    var = np.array([1e-9, 0.5, 2.0])
    a, b = ag.tensor(var, requires_grad=True), torch.tensor(var, requires_grad=True)
    F.gaussian_nll_loss(ag.tensor(np.zeros(3)), ag.tensor(np.ones(3)), a).backward()
    tF.gaussian_nll_loss(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), b).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.gaussian_nll_loss(ag.tensor(X), ag.tensor(COUNTS), 2.0).numpy(),
                               tF.gaussian_nll_loss(torch.tensor(X), torch.tensor(COUNTS), 2.0).numpy(), rtol=1e-12)


def _same_error(call, cls):
    with pytest.raises(cls) as ours:
        call(F, ag.tensor)
    with pytest.raises(cls) as theirs:
        call(tF, torch.tensor)
    assert str(ours.value)[:45] == str(theirs.value)[:45]


@pytest.mark.parametrize("call,cls", [
    (lambda f, T: f.multi_margin_loss(T(X), T(Y), p=3), ValueError),
    (lambda f, T: f.multi_margin_loss(T(X), T(Y), weight=T(np.ones((1, 4)))), ValueError),
    (lambda f, T: f.multi_margin_loss(T(X), T(Y), weight=T(np.ones(3))), RuntimeError),
    (lambda f, T: f.multi_margin_loss(T(X), T(np.array([0, 1, 4, 0, 0]))), RuntimeError),
    (lambda f, T: f.multi_margin_loss(T(X), T(Y[:2])), RuntimeError),
    (lambda f, T: f.multi_margin_loss(T(np.ones((2, 3, 4))), T(Y[:2])), RuntimeError),
    (lambda f, T: f.multi_margin_loss(T(X), T(Y.astype(np.float32))), RuntimeError),
    (lambda f, T: f.multi_margin_loss(T(X), T(Y), reduction="bad"), ValueError),
    (lambda f, T: f.multilabel_margin_loss(T(X), T(np.full((5, 4), 4))), RuntimeError),
    (lambda f, T: f.multilabel_margin_loss(T(X), T(np.full((5, 4), -2))), RuntimeError),
    (lambda f, T: f.multilabel_margin_loss(T(X), T(MULTI[:, :3])), RuntimeError),
    (lambda f, T: f.multilabel_margin_loss(T(X), T(np.zeros((5, 4)))), RuntimeError),
    (lambda f, T: f.poisson_nll_loss(T(X), T(X), reduction="bad"), ValueError),
    (lambda f, T: f.gaussian_nll_loss(T(X), T(X), T(VAR), reduction="bad"), ValueError),
    (lambda f, T: f.gaussian_nll_loss(T(X), T(X), T(VAR[:2])), ValueError),
    (lambda f, T: f.gaussian_nll_loss(T(X), T(X), T(-VAR)), ValueError),
    (lambda f, T: f.gaussian_nll_loss(T(X), T(X), -1.0), ValueError),
    (lambda f, T: f.soft_margin_loss(T(X), T(X), reduction="bad"), ValueError),
    (lambda f, T: f.multilabel_soft_margin_loss(T(X), T(X), reduction="bad"), ValueError),
    (lambda f, T: f.triplet_margin_with_distance_loss(T(A3), T(P3), T(N3), margin=0), ValueError),
    (lambda f, T: f.triplet_margin_with_distance_loss(T(A3), T(P3), T(N3), reduction="bad"), ValueError),
    (lambda f, T: f.triplet_margin_with_distance_loss(T(A3), T(P3), T(N3[0])), RuntimeError),
    (lambda f, T: f.pdist(T(np.ones((2, 3, 4)))), RuntimeError),
    (lambda f, T: f.pdist(T(X), -1), RuntimeError),
    (lambda f, T: f.pdist(T(np.ones((3, 4), np.int64))), RuntimeError),
])
def test_errors_as_torch(call, cls):
    _same_error(call, cls)


MODULES = [("MultiMarginLoss", (), {}), ("MultiMarginLoss", (2, 0.5), {"weight": np.ones(4)}),
           ("MultiLabelMarginLoss", (), {}), ("TripletMarginWithDistanceLoss", (), {}),
           ("TripletMarginWithDistanceLoss", (), {"swap": True, "margin": 0.5, "reduction": "sum"}),
           ("PoissonNLLLoss", (), {}), ("PoissonNLLLoss", (False, True), {"eps": 1e-4}),
           ("GaussianNLLLoss", (), {}), ("GaussianNLLLoss", (), {"full": True, "eps": 1e-3}),
           ("SoftMarginLoss", (), {"reduction": "none"}), ("MultiLabelSoftMarginLoss", (), {"weight": np.ones(4)})]


@pytest.mark.parametrize("name,args,kw", MODULES)
def test_modules_repr_state_dict_and_forward_match_torch(name, args, kw):
    ours = getattr(nn, name)(*args, **{k: ag.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    theirs = getattr(torch.nn, name)(*args, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                              for k, v in kw.items()})
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    inputs = {"MultiMarginLoss": [X, Y], "MultiLabelMarginLoss": [X, MULTI],
              "TripletMarginWithDistanceLoss": [A3, P3, N3], "PoissonNLLLoss": [np.abs(X) + 0.1, COUNTS],
              "GaussianNLLLoss": [X, COUNTS, VAR], "SoftMarginLoss": [X, SIGNS],
              "MultiLabelSoftMarginLoss": [X, LABELS]}[name]
    np.testing.assert_allclose(ours(*map(ag.tensor, inputs)).numpy(), theirs(*map(torch.tensor, inputs)).numpy(),
                               rtol=1e-12)


def test_module_argument_checks_as_torch():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin to be greater than 0, "
                                         "got -1 instead"):
        nn.TripletMarginWithDistanceLoss(margin=-1)
    m = nn.TripletMarginWithDistanceLoss()
    assert isinstance(m.distance_function, nn.PairwiseDistance) and m.margin == 1.0 and not m.swap
    p = nn.PoissonNLLLoss()
    assert (p.log_input, p.full, p.eps, p.reduction) == (True, False, 1e-8, "mean")
    g = nn.GaussianNLLLoss()
    assert (g.full, g.eps) == (False, 1e-6)
    assert math.isclose(nn.MultiMarginLoss().margin, 1.0) and nn.MultiMarginLoss().weight is None
