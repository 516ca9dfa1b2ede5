"""Ops composed from recorded ones (diff, trace, cross / linalg.cross, kron, block_diag, cartesian_prod),
queries without a gradient (nonzero, count_nonzero, isclose, allclose, equal), hardswish and gumbel_softmax:
values, dtypes, gradients (first and second order) and errors against torch 2.13."""
import warnings

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
R = np.random.default_rng(1)
A = R.standard_normal((3, 4))
B = R.standard_normal((2, 3))
V, W = R.standard_normal((5, 3)), R.standard_normal((5, 3))
P = R.standard_normal((2, 4))


def _run(lib, fn, arrays, grad):
    ts = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ts, fn(lib, *ts)


def _same(fn, *arrays, grad=True):
    """Values and dtypes equal to torch's; with ``grad``, first and second derivatives too (float64)."""
    (ta, rt), (aa, ra) = _run(torch, fn, arrays, grad), _run(ag, fn, arrays, grad)
    if not isinstance(rt, torch.Tensor):
        if isinstance(rt, tuple):
            assert len(rt) == len(ra)
            for x, y in zip(rt, ra):
                np.testing.assert_array_equal(y.numpy(), x.numpy())
        else:
            assert rt == ra
        return
    np.testing.assert_allclose(ra.detach().numpy(), rt.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert ra.detach().numpy().dtype == rt.detach().numpy().dtype and tuple(ra.shape) == tuple(rt.shape)
    if not (grad and rt.requires_grad):
        return
    w = R.standard_normal(tuple(rt.shape))
    gt = torch.autograd.grad((rt * torch.tensor(w)).sum(), ta, create_graph=True)
    ga = ag.autograd.grad((ra * ag.tensor(w)).sum(), aa, create_graph=True)
    for x, y in zip(gt, ga):
        np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy(), rtol=1e-12, atol=1e-12)
    second = [(x, y) for x, y in zip(gt, ga) if x.requires_grad]
    if second:
        g2t = torch.autograd.grad(sum((x ** 2).sum() for x, _ in second), ta, allow_unused=True)
        g2a = ag.autograd.grad(sum((y ** 2).sum() for _, y in second), aa, allow_unused=True)
        for x, y in zip(g2t, g2a):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)


CASES = {
    "diff": (lambda L, x: L.diff(x), (A,)),
    "diff_n2_dim0": (lambda L, x: L.diff(x, n=2, dim=0), (A,)),
    "diff_prepend": (lambda L, x, p: L.diff(x, dim=0, prepend=p), (A, P)),
    "diff_append_method": (lambda L, x: x.diff(n=3, append=x), (A,)),
    "trace": (lambda L, x: L.trace(x), (A,)),
    "cross_dim": (lambda L, a, b: L.cross(a, b, dim=1), (V, W)),
    "cross_default_dim": (lambda L, a, b: L.cross(a, b), (V.T.copy(), W.T.copy())),
    "linalg_cross": (lambda L, a, b: L.linalg.cross(a, b), (V, W)),
    "kron": (lambda L, a, b: L.kron(a, b), (A, B)),
    "kron_ranks": (lambda L, a, b: L.kron(a, b), (A[0], B)),
    "block_diag": (lambda L, a, b, c: L.block_diag(a, b, c), (A, B, A[0])),
    "cartesian_prod": (lambda L, a, b: L.cartesian_prod(a, b), (A[0], B[0])),
    "cartesian_prod_one": (lambda L, a: L.cartesian_prod(a), (A[0],)),
    "hardswish": (lambda L, x: L.nn.functional.hardswish(x),
                  (np.array([-5, -3, -2.9, -1, 0, 0.5, 2.9, 3, 3.1, 7, np.nan]),)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_differentiable_composites_equal_torch(name):
    fn, arrays = CASES[name]
    _same(fn, *arrays)


def test_hardswish_16bit_and_float32_bitwise_and_module():
    x = torch.linspace(-4, 4, 101)
    for dt, adt in ((torch.float32, ag.float32), (torch.bfloat16, ag.bfloat16), (torch.float16, ag.float16)):
        a = ag.tensor(x.numpy()).to(adt)
        assert np.array_equal(ag.nn.functional.hardswish(a).float().numpy(),
                              torch.nn.functional.hardswish(x.to(dt)).float().numpy())
    assert repr(ag.nn.Hardswish(inplace=True)) == repr(torch.nn.Hardswish(inplace=True))
    t, want = ag.tensor([-4.0, 1.0, 5.0]), torch.nn.Hardswish(inplace=True)(torch.tensor([-4.0, 1.0, 5.0]))
    assert ag.nn.Hardswish(inplace=True)(t) is t
    np.testing.assert_array_equal(t.numpy(), want.numpy())


Z = np.array([[1.0, 0, 2], [0, 3, 0]])
X1 = np.array([1.0, np.nan, np.inf, -np.inf, 1.0, 0.0], np.float32)
X2 = np.array([1 + 1e-6, np.nan, np.inf, np.inf, 1.1, 1e-9], np.float32)
QUERIES = {
    "nonzero": (lambda L, x: L.nonzero(x), (Z,)),
    "nonzero_tuple": (lambda L, x: L.nonzero(x, as_tuple=True), (Z,)),
    "nonzero_method_0d": (lambda L, x: x[0, 0].nonzero(), (Z,)),
    "count_nonzero": (lambda L, x: L.count_nonzero(x), (Z,)),
    "count_nonzero_dim": (lambda L, x: L.count_nonzero(x, dim=0), (Z,)),
    "count_nonzero_dims": (lambda L, x: x.count_nonzero(dim=(0, 1)), (Z,)),
    "isclose": (lambda L, a, b: L.isclose(a, b), (X1, X2)),
    "isclose_equal_nan": (lambda L, a, b: L.isclose(a, b, equal_nan=True), (X1, X2)),
    "isclose_tolerances": (lambda L, a, b: a.isclose(b, rtol=0.2, atol=0.0), (X1, X2)),
    "allclose": (lambda L, a, b: L.allclose(a, b), (X1, X1)),
    "allclose_equal_nan": (lambda L, a, b: L.allclose(a, b, equal_nan=True), (X1, X1)),
    "equal": (lambda L, a, b: L.equal(a, b), (A, A.copy())),
    "not_equal": (lambda L, a, b: L.equal(a, b), (A, A + 1)),
    "equal_shapes": (lambda L, a, b: L.equal(a, b), (A, A[:2])),
    "isclose_int": (lambda L, a, b: L.isclose(a, b), (np.array([1, 5, 9]), np.array([1, 6, 9]))),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_queries_equal_torch(name):
    fn, arrays = QUERIES[name]
    _same(fn, *arrays, grad=False)


ERRORS = [
    lambda L: L.trace(L.ones(2, 2, 2)),
    lambda L: L.cross(L.ones(2, 2), L.ones(2, 2)),
    lambda L: L.linalg.cross(L.ones(2, 2), L.ones(2, 2)),
    lambda L: L.linalg.cross(L.ones(2, 3), L.ones(3)),
    lambda L: L.isclose(L.tensor([1]), L.tensor([1.0])),
    lambda L: L.isclose(L.ones(2), L.ones(2), rtol=-1.0),
    lambda L: L.diff(L.tensor(1.0)),
    lambda L: L.diff(L.ones(3), n=-1),
    lambda L: L.block_diag(L.ones(1, 1, 1)),
    lambda L: L.cartesian_prod(L.ones(2, 2)),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_equal_torch(k):
    with pytest.raises(Exception) as theirs:
        ERRORS[k](torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(type(theirs.value)) as ours:
            ERRORS[k](ag)
    assert str(ours.value) == str(theirs.value)


def test_cross_without_dim_warns_as_torch():
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        ag.cross(ag.ones(3, 2), ag.ones(3, 2))


def test_gumbel_softmax_samples_and_straight_through_gradient():
    logits = ag.tensor(np.log([[0.7, 0.2, 0.1]] * 4000), requires_grad=True)
    ag.manual_seed(0)
    hard = ag.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    ag.manual_seed(0)
    soft = ag.nn.functional.gumbel_softmax(logits, tau=0.5)       # the same noise
    np.testing.assert_allclose(soft.sum(1).detach().numpy(), 1.0, rtol=1e-12)
    h = hard.detach().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(1) == 1).all()
    np.testing.assert_array_equal(h.argmax(1), soft.detach().numpy().argmax(1))
    np.testing.assert_allclose(h.mean(0), [0.7, 0.2, 0.1], atol=0.03)   # argmax(logits + Gumbel): categorical
    w = ag.tensor(R.standard_normal((4000, 3)))
    (g_hard,) = ag.autograd.grad((hard * w).sum(), logits)
    (g_soft,) = ag.autograd.grad((soft * w).sum(), logits)
    np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-12, atol=1e-15)   # straight-through
    assert np.abs(g_soft.numpy()).sum() > 0
