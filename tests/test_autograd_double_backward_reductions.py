"""Second derivatives (``create_graph=True``) of the reduction, selection, scatter, matrix-product and
non-view shape ops, against torch in float64 and against finite differences of the first derivative.

Each check differentiates ``sum(w * f(x) ** 2)``: squaring makes the gradient that reaches ``f``'s backward
depend on ``x``, so a Hessian-vector product runs through the derivative of ``f``'s backward rule both with
respect to its incoming gradient and with respect to what the rule saved.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-10)


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t._data)


def _close(a, b, what):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_allclose(a, b, err_msg=what, **TOL)


def check(f, *arrays, f_torch=None, seed=0):
    """f(lib, *inputs) with lib the autograd or the torch module; compares values, first derivatives and
    Hessian-vector products."""
    f_torch = f_torch or f
    rng = np.random.default_rng(seed)
    A = [ag.tensor(a.copy(), requires_grad=True) for a in arrays]
    T = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    ya, yt = f(ag, *A), f_torch(torch, *T)
    _close(ya, yt, "value")
    w = rng.standard_normal(tuple(yt.shape))
    ga = ag.grad((ag.tensor(w) * ya * ya).sum(), A, create_graph=True)
    gt = torch.autograd.grad((torch.tensor(w) * yt * yt).sum(), T, create_graph=True)
    for i, (a, t) in enumerate(zip(ga, gt)):
        _close(a, t, f"first derivative {i}")
    vs = [rng.standard_normal(a.shape) for a in arrays]
    sa = sum((g * ag.tensor(v)).sum() for g, v in zip(ga, vs))
    st_ = sum((g * torch.tensor(v)).sum() for g, v in zip(gt, vs))
    ha = ag.grad(sa, A, allow_unused=True)
    ht = torch.autograd.grad(st_, T, allow_unused=True)
    for i, (a, t, x) in enumerate(zip(ha, ht, arrays)):
        a = np.zeros(x.shape) if a is None else _np(a)
        t = np.zeros(x.shape) if t is None else _np(t)
        np.testing.assert_allclose(a, t, err_msg=f"second derivative {i}", **TOL)


def rand(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


SHAPES_DIMS = [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1)]


# ---- reductions -------------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(sd=st.sampled_from(SHAPES_DIMS), keepdim=st.booleans(), seed=st.integers(0, 100),
       op=st.sampled_from(["sum", "mean", "var", "std", "logsumexp", "amax", "amin", "prod"]))
def test_reductions_over_dim(sd, keepdim, seed, op):
    shape, dim = sd
    x = rand(*shape, seed=seed)
    check(lambda lib, t: getattr(t, op)(dim, keepdim=keepdim), x)


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "prod", "amax", "amin", "max", "min", "median"])
def test_reductions_over_everything(op):
    check(lambda lib, t: getattr(t, op)(), rand(3, 4))


def test_sum_mean_tuple_dims():
    x = rand(2, 3, 4)
    check(lambda lib, t: t.sum((0, 2)), x)
    check(lambda lib, t: t.mean((0, 2), keepdim=True), x)
    check(lambda lib, t: t.var((1, 2)), x)


def test_prod_with_a_zero():
    x = rand(3, 4)
    x[1, 2] = 0.0
    check(lambda lib, t: t.prod(1), x)
    check(lambda lib, t: t.prod(0, keepdim=True), x)


@pytest.mark.parametrize("p", [2, 3, 1.5, 1, float("inf")])
def test_norm(p):
    x = rand(3, 4)
    check(lambda lib, t: t.norm(p, 1), x)
    check(lambda lib, t: t.norm(p), x)


@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim(keepdim):
    x = rand(3, 4)
    check(lambda lib, t: t.max(1, keepdim=keepdim).values, x)
    check(lambda lib, t: t.min(0, keepdim=keepdim).values, x)


def test_amax_ties_share_the_gradient():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])
    check(lambda lib, t: t.amax(1), x)
    check(lambda lib, t: t.amax(), x)


@pytest.mark.parametrize("sd", SHAPES_DIMS)
def test_softmax_log_softmax(sd):
    shape, dim = sd
    x = rand(*shape)
    check(lambda lib, t: t.softmax(dim), x)
    check(lambda lib, t: t.log_softmax(dim), x)
    check(lambda lib, t: t.softmax(dim) * t, x)   # the second derivative also meets the input's


@pytest.mark.parametrize("sd", SHAPES_DIMS)
def test_cumsum_cumprod(sd):
    shape, dim = sd
    x = rand(*shape)
    check(lambda lib, t: t.cumsum(dim), x)
    check(lambda lib, t: t.cumprod(dim), x)
    x.reshape(-1)[1] = 0.0
    check(lambda lib, t: t.cumprod(dim), x)


# ---- ordering and selection -------------------------------------------------------------------------------------
def test_sort_topk_median_aminmax():
    x = rand(3, 5)
    check(lambda lib, t: t.sort(1).values * t, x)
    check(lambda lib, t: t.sort(0, descending=True).values, x)
    check(lambda lib, t: t.topk(2, 1).values, x)
    check(lambda lib, t: t.median(1).values, x)
    check(lambda lib, t: t.median(0, keepdim=True).values, x)
    check(lambda lib, t: t.aminmax(dim=1).max + t.aminmax(dim=1).min,
          x, f_torch=lambda lib, t: torch.aminmax(t, dim=1).max + torch.aminmax(t, dim=1).min)


# ---- matrix products --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((2, 3, 4), (4,)),
                                   ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5))])
def test_matmul(sa, sb):
    check(lambda lib, a, b: a @ b, rand(*sa, seed=2), rand(*sb, seed=3))


def test_mm_bmm_mv_dot_outer():
    check(lambda lib, a, b: a.mm(b), rand(3, 4), rand(4, 2, seed=2))
    check(lambda lib, a, b: a.bmm(b), rand(2, 3, 4), rand(2, 4, 2, seed=2))
    check(lambda lib, a, b: a.mv(b), rand(3, 4), rand(4, seed=2))
    check(lambda lib, a, b: a.dot(b), rand(4), rand(4, seed=2))
    check(lambda lib, a, b: a.outer(b), rand(3), rand(4, seed=2))
    check(lambda lib, a: a @ a.T, rand(3, 4))   # both operands the same tensor


# ---- scatter-style writes and masks -----------------------------------------------------------------------------
def _lib_tensor(lib, a):
    return ag.tensor(a) if lib is ag else torch.tensor(a)


def test_scatter_scatter_add():
    x, src = rand(3, 5), rand(2, 5, seed=2)
    idx = np.array([[0, 1, 2, 0, 1], [2, 0, 1, 1, 0]])
    check(lambda lib, t, s: t.scatter(0, _lib_tensor(lib, idx), s), x, src)
    check(lambda lib, t, s: t.scatter_add(0, _lib_tensor(lib, idx), s), x, src)
    idx2 = np.array([[0, 0], [1, 3], [4, 2]])
    check(lambda lib, t, s: t.scatter_add(1, _lib_tensor(lib, idx2), s), x, rand(3, 2, seed=4))
    check(lambda lib, t: t.scatter(1, _lib_tensor(lib, idx2), 2.5), x)


def test_index_add_index_put():
    x, src = rand(4, 3), rand(3, 3, seed=2)
    idx = np.array([0, 2, 0])
    check(lambda lib, t, s: t.index_add(0, _lib_tensor(lib, idx), s, alpha=2.0), x, src)
    check(lambda lib, t, s: t.index_put((_lib_tensor(lib, np.array([1, 3])),), s), x, rand(3, seed=5))
    check(lambda lib, t, s: t.index_put((_lib_tensor(lib, idx),), s, accumulate=True), x, src)


def test_masked_fill_select_where():
    x = rand(3, 4)
    mask = rand(3, 4, seed=7) > 0
    row = rand(4, seed=8) > 0
    check(lambda lib, t, v: t.masked_fill(_lib_tensor(lib, mask), v), x, np.array(1.5))
    check(lambda lib, t: t.masked_select(_lib_tensor(lib, mask)), x)
    check(lambda lib, t: t.masked_select(_lib_tensor(lib, row)), x)
    check(lambda lib, t: t.masked_select(_lib_tensor(lib, mask)), rand(4))   # x broadcast by the mask
    check(lambda lib, t, y: t.where(_lib_tensor(lib, mask), y), x, rand(4, seed=9))


# ---- non-view shape ops -----------------------------------------------------------------------------------------
def test_shape_ops():
    x = rand(3, 4)
    check(lambda lib, t: t.narrow(1, 1, 2), x)
    check(lambda lib, t: t.movedim(0, 1) * t.T, x)
    check(lambda lib, t: t.unflatten(1, (2, 2)), x)
    check(lambda lib, t: t.flip(0, 1) * t, x)
    check(lambda lib, t: t.roll(1, 1) * t, x)
    check(lambda lib, t: t.roll(5) * t, x)
    check(lambda lib, t: t.tril(), x)
    check(lambda lib, t: t.triu(1), x)
    check(lambda lib, t: t.tile((2, 1)), x)
    check(lambda lib, t: t.repeat_interleave(2, dim=1), x)
    check(lambda lib, t: t.repeat_interleave(_lib_tensor(lib, np.array([1, 0, 3])), dim=0), x)
    check(lambda lib, t: t.repeat_interleave(3), rand(2, 2))


def test_nan_to_num_fmod():
    x = rand(3, 4)
    x[0, 1] = np.nan
    x[2, 2] = np.inf
    check(lambda lib, t: t.nan_to_num(posinf=3.0), x)
    check(lambda lib, a, b: a.fmod(b), 3 * rand(3, 4), rand(4, seed=2) + 2.0)


def test_floor_divide_has_no_derivative():
    x = ag.tensor(rand(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide"):
        ag.grad((x // 0.7).sum(), x)


def test_copy_():
    def f(lib, s):
        z = lib.zeros((3, 4), dtype=lib.float64)
        z.copy_(s)
        return z * 2

    check(f, rand(4))
    check(f, rand(3, 4))


def test_second_derivatives_are_differentiable_again():
    """A third derivative runs through the rules' Tensor forms too (softmax, cumprod, matmul)."""
    x = rand(3, 4)
    for f in (lambda t: t.softmax(1), lambda t: t.cumprod(1), lambda t: t @ t.T, lambda t: t.prod(1)):
        xa = ag.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        ga, = ag.grad((f(xa) ** 2).sum(), xa, create_graph=True)
        gt, = torch.autograd.grad((f(xt) ** 2).sum(), xt, create_graph=True)
        ha, = ag.grad((ga * ga).sum(), xa, create_graph=True)
        ht, = torch.autograd.grad((gt * gt).sum(), xt, create_graph=True)
        ka, = ag.grad(ha.sum(), xa)
        kt, = torch.autograd.grad(ht.sum(), xt)
        _close(ka, kt, "third derivative")


# ---- finite differences of the first derivative (no torch) ------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "std", "norm3", "prod", "cumprod",
                                  "matmul"])
def test_hessian_vector_products_match_finite_differences(name):
    f = {"softmax": lambda t: t.softmax(1), "log_softmax": lambda t: t.log_softmax(0),
         "logsumexp": lambda t: t.logsumexp(1), "std": lambda t: t.std(0), "norm3": lambda t: t.norm(3, 1),
         "prod": lambda t: t.prod(1), "cumprod": lambda t: t.cumprod(1), "matmul": lambda t: t @ t.T}[name]
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w = rng.standard_normal(f(ag.tensor(x)).shape)

    def grad_at(a, create_graph=False):
        t = ag.tensor(a, requires_grad=True)
        y = f(t)
        g, = ag.grad((ag.tensor(w) * y * y).sum(), t, create_graph=create_graph)
        return t, g

    t, g = grad_at(x, create_graph=True)
    hv, = ag.grad((g * ag.tensor(v)).sum(), t)
    eps = 1e-6
    fd = (_np(grad_at(x + eps * v)[1]) - _np(grad_at(x - eps * v)[1])) / (2 * eps)
    np.testing.assert_allclose(_np(hv), fd, rtol=1e-5, atol=1e-6)
