"""torch's statistics, reduction and search functions (autograd.ops.statistics and its modules) against torch
2.13: values, dtypes, shapes, the indices torch picks among ties, NaN handling, errors and gradients (torch's,
finite differences in float64, second order)."""
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.ops import statistics

torch = pytest.importorskip("torch")

DTYPES = {torch.float32: ag.float32, torch.float64: ag.float64, torch.float16: ag.float16,
          torch.bfloat16: ag.bfloat16, torch.int64: ag.int64, torch.int32: ag.int32, torch.uint8: ag.uint8,
          torch.bool: ag.bool}


def fn(name):
    """``autograd.<name>``, or the module function while statistics is not wired into the namespace yet."""
    try:
        return getattr(ag, name)
    except AttributeError:
        return getattr(statistics, name)


def ours(t, requires_grad=False):
    """The autograd tensor holding torch tensor ``t``'s values and dtype."""
    t = t.detach()
    x = ag.tensor(t.float().numpy()).to(DTYPES[t.dtype]) if t.dtype == torch.bfloat16 else ag.tensor(t.numpy())
    return x.requires_grad_() if requires_grad else x


def values(x):
    x = x.detach()
    if isinstance(x, torch.Tensor):
        return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()
    return x.float().numpy() if x.dtype == ag.bfloat16 else x.numpy()


def same(a, t, rtol=0.0, atol=0.0):
    """``a`` (ours) equals torch's ``t``: shape, dtype and values (bitwise unless tolerances are given)."""
    assert tuple(a.shape) == tuple(t.shape), (a.shape, t.shape)
    assert str(a.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (a.dtype, t.dtype)
    if rtol or atol:
        np.testing.assert_allclose(values(a), values(t), rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(values(a), values(t))


def same_pair(r, t, rtol=0.0, atol=0.0):
    assert type(r).__name__ == type(t).__name__
    same(r.values, t.values, rtol, atol)
    same(r.indices, t.indices)


def randn(*shape, dtype=torch.float64, seed=0, nan=0.0):
    g = np.random.default_rng(seed)
    a = g.standard_normal(shape)
    if nan:
        a[g.random(shape) < nan] = np.nan
    return torch.tensor(a).to(dtype)


def ties(*shape, high=3, seed=0, nan=0.0, dtype=torch.float64):
    g = np.random.default_rng(seed)
    a = g.integers(0, high, shape).astype(float)
    if nan:
        a[g.random(shape) < nan] = np.nan
    return torch.tensor(a).to(dtype)


def grads_match(f_ours, f_torch, *ts, rtol=1e-10, atol=1e-12):
    """The gradients of ``sum(sin(f(*inputs)))`` (a non-trivial incoming gradient) equal torch's."""
    a_in = [ours(t, True) for t in ts]
    t_in = [t.detach().clone().requires_grad_() for t in ts]
    (f_ours(*a_in).sin().sum()).backward()
    (f_torch(*t_in).sin().sum()).backward()
    for a, t in zip(a_in, t_in):
        np.testing.assert_allclose(values(a.grad), values(t.grad), rtol=rtol, atol=atol)


def gradchecks(f, *ts, second=True):
    inputs = tuple(ours(t, True) for t in ts)
    assert ag.autograd.gradcheck(f, inputs)
    if second:
        assert ag.autograd.gradgradcheck(f, inputs)


def raises_like(f_ours, f_torch):
    """Both raise the same error class, with the same message."""
    with pytest.raises(Exception) as ref:
        f_torch()
    with pytest.raises(type(ref.value)) as got:
        f_ours()
    assert str(got.value).replace("-nan", "nan") == str(ref.value).replace("-nan", "nan")


SUM_TOL = {torch.float64: 1e-13, torch.float32: 1e-6, torch.float16: 0.0, torch.bfloat16: 0.0}


# ---- nansum / nanmean --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 2), False), (-1, True)])
def test_nansum_nanmean_match_torch(dtype, dim, keepdim):
    t = randn(3, 4, 5, dtype=dtype, nan=0.3)
    t[0, 0, :] = float("nan")     # an all-NaN row: nanmean NaN, nansum 0
    args = () if dim is None else (dim, keepdim)
    tol = SUM_TOL[dtype]          # 16-bit sums are torch's order of additions; wider ones NumPy's
    same(ag.nansum(ours(t), *args), torch.nansum(t, *args), tol, tol)
    same(ag.nanmean(ours(t), *args), torch.nanmean(t, *args), tol, tol)
    same(ours(t).nanmean(*args), t.nanmean(*args), tol, tol)


def test_nanmean_gradient_and_errors():
    t = randn(4, 5, nan=0.3)
    grads_match(lambda x: ag.nanmean(x, 1), lambda x: torch.nanmean(x, 1), t)
    grads_match(lambda x: x.nansum(), lambda x: x.nansum(), t)
    gradchecks(lambda x: ag.nanmean(x, 0), randn(4, 5))
    same(ag.nansum(ours(torch.tensor([1, 2, 3]))), torch.nansum(torch.tensor([1, 2, 3])))
    raises_like(lambda: ag.nanmean(ours(torch.tensor([1, 2]))), lambda: torch.nanmean(torch.tensor([1, 2])))
    same(ag.nanmean(ours(torch.tensor([1.0, 2.0])), dtype=ag.float64), torch.nanmean(torch.tensor([1.0, 2.0]),
                                                                                      dtype=torch.float64))


# ---- var_mean / std_mean -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("args,kwargs", [((), {}), ((1,), {}), ((1, False, True), {}), ((True,), {}),
                                         ((False,), {}), (((0, 1),), {"correction": 0}),
                                         ((0,), {"correction": 2, "keepdim": True})])
def test_var_mean_std_mean_match_torch(name, args, kwargs):
    t = randn(4, 6)
    r, e = getattr(ag, name)(ours(t), *args, **kwargs), getattr(torch, name)(t, *args, **kwargs)
    assert isinstance(r, tuple) and len(r) == 2
    same(r[0], e[0], rtol=1e-12, atol=1e-14)
    same(r[1], e[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_var_mean_gradients_and_errors(name):
    def pick(lib):
        return lambda x: (lambda s, m: s * 2 + m)(*getattr(lib, name)(x, 1))
    grads_match(pick(ag), pick(torch), randn(3, 5))
    gradchecks(pick(ag), randn(3, 5))
    raises_like(lambda: getattr(ag, name)(ours(torch.tensor([1, 2]))),
                lambda: getattr(torch, name)(torch.tensor([1, 2])))
    for t, kw in ((torch.tensor([1.0]), {}), (torch.tensor([1.0, 2.0]), {"correction": 2}), (torch.zeros(0), {})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = getattr(torch, name)(t, **kw)
        with pytest.warns(UserWarning, match=rf"{name}\(\): degrees of freedom is <= 0"):
            got = getattr(ag, name)(ours(t), **kw)
        same(got[0], expected[0])
        same(got[1], expected[1])
    r, e = getattr(ag, name)(ours(randn(3, 5, dtype=torch.float32)), 0), getattr(torch, name)(
        randn(3, 5, dtype=torch.float32), 0)
    same(r[0], e[0], rtol=1e-6)
    same(r[1], e[1], rtol=1e-6)


# ---- cov / corrcoef ----------------------------------------------------------------------------------------
FW = torch.tensor([1, 2, 0, 3, 1, 1])
AW = torch.tensor([0.5, 1.0, 2.0, 0.1, 0.0, 1.5], dtype=torch.float64)


@pytest.mark.parametrize("kwargs", [{}, {"correction": 0}, {"correction": 2}, {"fweights": FW},
                                    {"aweights": AW}, {"fweights": FW, "aweights": AW},
                                    {"fweights": FW, "aweights": AW, "correction": 0}])
@pytest.mark.parametrize("shape", [(3, 6), (6,), (1, 6)])
def test_cov_matches_torch(kwargs, shape):
    t = randn(*shape)
    ka = {k: ours(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    same(ag.cov(ours(t), **ka), torch.cov(t, **kwargs), rtol=1e-12, atol=1e-14)
    same(ours(t).cov(**ka), t.cov(**kwargs), rtol=1e-12, atol=1e-14)
    grads_match(lambda x: ag.cov(x, **ka), lambda x: torch.cov(x, **kwargs), t)


def test_cov_gradcheck_with_aweights_and_integer_input():
    gradchecks(lambda x, w: ag.cov(x, aweights=w), randn(2, 5), torch.rand(5, dtype=torch.float64) + 0.1)
    t = torch.tensor([[1, 2, 3, 7], [3, 1, 0, 2]])
    same(ag.cov(ours(t)), torch.cov(t), rtol=1e-6)
    same(ag.cov(ours(t.float())), torch.cov(t.float()), rtol=1e-6)


def test_cov_degrees_of_freedom_warning():
    for t, kw in ((randn(2, 3), {"correction": 3}), (torch.tensor(3.0, dtype=torch.float64), {})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.cov(t, **kw)
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
            got = ag.cov(ours(t), **kw)
        same(got, expected)


@pytest.mark.parametrize("kwargs", [
    {"fweights": torch.tensor([1.0, 2, 3])}, {"fweights": torch.tensor([1, 2])},
    {"fweights": torch.tensor([1, -2, 3])}, {"fweights": torch.tensor([[1, 2, 3]])},
    {"aweights": torch.tensor([1, 2, 3])}, {"aweights": torch.tensor([1.0, -2, 3])}])
def test_cov_weight_errors(kwargs):
    t = torch.tensor([[1.0, 2, 3], [4, 5, 7]])
    ka = {k: ours(v) for k, v in kwargs.items()}
    raises_like(lambda: ag.cov(ours(t), **ka), lambda: torch.cov(t, **kwargs))
    raises_like(lambda: ag.cov(ours(torch.zeros(2, 2, 2))), lambda: torch.cov(torch.zeros(2, 2, 2)))


@pytest.mark.parametrize("t", [randn(3, 7), randn(7), torch.tensor([1, 2, 4]), torch.tensor([[1.0, 2.0, 3.0]]),
                               torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])])
def test_corrcoef_matches_torch(t):
    same(ag.corrcoef(ours(t)), torch.corrcoef(t), rtol=1e-6, atol=1e-7)
    same(ours(t).corrcoef(), t.corrcoef(), rtol=1e-6, atol=1e-7)


def test_corrcoef_gradients():
    grads_match(ag.corrcoef, torch.corrcoef, randn(3, 6))
    gradchecks(ag.corrcoef, randn(3, 6))


# ---- quantile / nanquantile --------------------------------------------------------------------------------
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("q", [0.0, 0.3, 0.5, 1.0, "tensor", "0-d"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (0, True), (-1, True)])
def test_quantile_matches_torch(name, interpolation, q, dim, keepdim):
    t = ties(4, 6, high=5, nan=0.15, dtype=torch.float32) + randn(4, 6, dtype=torch.float32) * 0.01
    t[1] = float("nan")     # an all-NaN row
    t[2, :3] = torch.tensor([0.5, 0.5, 0.5])
    qt = {"tensor": torch.tensor([0.0, 0.25, 0.5, 0.625, 1.0]), "0-d": torch.tensor(0.4)}.get(q, q)
    qa = ours(qt) if isinstance(qt, torch.Tensor) else qt
    expected = getattr(torch, name)(t, qt, dim, keepdim, interpolation=interpolation)
    same(fn(name)(ours(t), qa, dim, keepdim, interpolation=interpolation), expected)
    same(getattr(ours(t), name)(qa, dim, keepdim, interpolation=interpolation), expected)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_float64_and_half_ranks(interpolation):
    # q * (n - 1) landing exactly on .5: "nearest" rounds half to even as torch
    t = randn(3, 9)
    q = torch.tensor([0.0625, 0.1875, 0.3125, 0.5, 0.9], dtype=torch.float64)
    same(fn("quantile")(ours(t), ours(q), 1, interpolation=interpolation),
         torch.quantile(t, q, 1, interpolation=interpolation))


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "midpoint", "lower"])
def test_quantile_gradients(name, interpolation):
    t = randn(4, 7, seed=2)
    q = torch.tensor([0.1, 0.5, 0.8], dtype=torch.float64)
    f_ours = lambda x: fn(name)(x, ours(q), 1, interpolation=interpolation)  # noqa: E731
    f_torch = lambda x: getattr(torch, name)(x, q, 1, interpolation=interpolation)  # noqa: E731
    grads_match(f_ours, f_torch, t)
    gradchecks(f_ours, t)
    # with NaN: nanquantile's gradient skips them (quantile's NaN result goes to whichever NaN torch's unstable
    # sort puts last, see the report)
    tn = randn(4, 7, seed=2, nan=0.2)
    grads_match(lambda x: fn("nanquantile")(x, 0.3), lambda x: torch.nanquantile(x, 0.3), tn)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("q", [torch.tensor([0.13, 0.61, 1.0]), torch.tensor(0.35)])
@pytest.mark.parametrize("dim", [None, 1])
def test_quantile_gradient_for_q_first_and_second_order(name, q, dim):
    q = q.to(torch.float64)
    x = randn(3, 6, seed=5, nan=0.15 if name == "nanquantile" else 0.0)
    grads_match(lambda a, b: fn(name)(a, b, dim), lambda a, b: getattr(torch, name)(a, b, dim), x, q)
    xt, qt = x.clone().requires_grad_(), q.clone().requires_grad_()
    gx, gq = torch.autograd.grad(getattr(torch, name)(xt, qt, dim).sin().sum(), (xt, qt), create_graph=True)
    (gx.nansum() * 2 + gq.sum()).backward()
    xa, qa = ours(x, True), ours(q, True)
    ax, aq = ag.autograd.grad(fn(name)(xa, qa, dim).sin().sum(), (xa, qa), create_graph=True)
    (ax.nansum() * 2 + aq.sum()).backward()
    np.testing.assert_allclose(values(qa.grad), values(qt.grad), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(values(xa.grad), values(xt.grad), rtol=1e-9, atol=1e-12)
    gradchecks(lambda a, b: fn(name)(a, b, dim), randn(3, 6, seed=6), q.clamp(0.05, 0.95))   # q stays in [0, 1]


@pytest.mark.parametrize("args", [
    (torch.tensor([[1.0, 2.0]]), 1.5), (torch.tensor([[1.0, 2.0]]), -0.1),
    (torch.tensor([[1.0, 2.0]]), torch.tensor([0.5, 1.5])),
    (torch.tensor([[1.0, 2.0]]), torch.tensor([0.5], dtype=torch.float64)),
    (torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5]])), (torch.tensor([1, 2]), 0.5),
    (torch.tensor([1.0, 2.0], dtype=torch.float16), 0.5), (torch.tensor([]), 0.5)])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_errors(args, name):
    t, q = args
    qa = ours(q) if isinstance(q, torch.Tensor) else q
    raises_like(lambda: fn(name)(ours(t), qa), lambda: getattr(torch, name)(t, q))
    raises_like(lambda: fn(name)(ours(torch.ones(3)), 0.5, interpolation="foo"),
                lambda: getattr(torch, name)(torch.ones(3), 0.5, interpolation="foo"))


# ---- nanmedian ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 2, 5, 8, 17, 40])
def test_nanmedian_values_and_indices_match_torch(seed, n):
    t = ties(5, n, high=4, seed=seed, nan=0.35)
    t[0] = float("nan")      # torch's index on an all-NaN row comes from std::nth_element
    same_pair(ag.nanmedian(ours(t), 1), torch.nanmedian(t, 1))
    same_pair(ours(t).nanmedian(0, True), t.nanmedian(0, True))
    same(ag.nanmedian(ours(t)), torch.nanmedian(t))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
                                   torch.uint8])
def test_nanmedian_dtypes(dtype):
    t = ties(3, 7, high=4, seed=1).to(dtype)
    same_pair(ag.nanmedian(ours(t), 1), torch.nanmedian(t, 1))
    same(ag.nanmedian(ours(t)), torch.nanmedian(t))


def test_nanmedian_edge_cases_and_gradients():
    same(ag.nanmedian(ours(torch.tensor([]))), torch.nanmedian(torch.tensor([])))
    same_pair(ag.nanmedian(ours(torch.tensor(3.0)), 0), torch.nanmedian(torch.tensor(3.0), 0))
    same_pair(ag.nanmedian(ours(torch.zeros(0, 2)), 1), torch.nanmedian(torch.zeros(0, 2), 1))
    raises_like(lambda: ag.nanmedian(ours(torch.zeros(2, 0)), 1), lambda: torch.nanmedian(torch.zeros(2, 0), 1))
    t = ties(4, 6, high=3, nan=0.3)
    grads_match(lambda x: ag.nanmedian(x, 1).values, lambda x: torch.nanmedian(x, 1).values, t)
    grads_match(ag.nanmedian, torch.nanmedian, t)               # shared by the entries equal to the median
    all_nan = torch.full((2, 3), float("nan"), dtype=torch.float64)
    grads_match(ag.nanmedian, torch.nanmedian, all_nan)         # NaN result: shared by the NaNs
    gradchecks(lambda x: ag.nanmedian(x, 1).values, randn(3, 5))


# ---- kthvalue ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n", [1, 2, 3, 6, 13, 33])
def test_kthvalue_tie_indices_match_torch(seed, n):
    t = ties(4, n, high=3, seed=seed, nan=0.2 if seed % 2 else 0.0)
    for k in sorted({1, (n + 1) // 2, n}):
        same_pair(ag.kthvalue(ours(t), k, 1), torch.kthvalue(t, k, 1))
        same_pair(ours(t).kthvalue(k, 0 if n == 1 else -1, True), t.kthvalue(k, 0 if n == 1 else -1, True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.uint8])
def test_kthvalue_dtypes_and_dims(dtype):
    t = ties(3, 9, 4, high=4, seed=3).to(dtype)
    for k, dim in ((2, 1), (9, 1), (1, 0), (3, -1)):
        same_pair(ag.kthvalue(ours(t), k, dim), torch.kthvalue(t, k, dim))


def test_kthvalue_errors_edge_cases_and_gradients():
    x = torch.tensor([[1.0, 2, 3], [4, 5, 7]])
    for k in (0, 4):
        raises_like(lambda: ag.kthvalue(ours(x), k, 1), lambda: torch.kthvalue(x, k, 1))
    raises_like(lambda: ag.kthvalue(ours(torch.zeros(2, 0)), 1), lambda: torch.kthvalue(torch.zeros(2, 0), 1))
    same_pair(ag.kthvalue(ours(torch.tensor(3.0)), 1), torch.kthvalue(torch.tensor(3.0), 1))
    t = ties(3, 8, high=3, seed=4)
    grads_match(lambda a: ag.kthvalue(a, 3, 1).values, lambda a: torch.kthvalue(a, 3, 1).values, t)
    gradchecks(lambda a: ag.kthvalue(a, 2, 0).values, randn(4, 3))


# ---- mode --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 4, 16, 17, 50, 300])
def test_mode_values_and_indices_match_torch(seed, n):
    # above 16 entries torch's std::sort is an introsort: the index among equal values is replayed
    t = ties(3, n, high=[1, 2, 4, 9, 40, 3][seed], seed=seed, nan=0.25 if seed in (2, 5) else 0.0)
    same_pair(ag.mode(ours(t), 1), torch.mode(t, 1))
    same_pair(ours(t).mode(0, True), t.mode(0, True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
                                   torch.uint8, torch.bool])
def test_mode_dtypes(dtype):
    t = ties(4, 30, high=3, seed=7).to(dtype)
    same_pair(ag.mode(ours(t)), torch.mode(t))
    same_pair(ag.mode(ours(t), 0), torch.mode(t, 0))


def test_mode_edge_cases_and_gradients():
    same_pair(ag.mode(ours(torch.tensor(3.0))), torch.mode(torch.tensor(3.0)))
    for shape, dim in (((2, 0), 1), ((0, 2), 0)):
        raises_like(lambda: ag.mode(ours(torch.zeros(*shape)), dim), lambda: torch.mode(torch.zeros(*shape), dim))
    t = ties(3, 20, high=4, seed=5)
    grads_match(lambda a: ag.mode(a, 1).values, lambda a: torch.mode(a, 1).values, t)
    gradchecks(lambda a: ag.mode(a, 1).values, randn(3, 4))


# ---- cummax / cummin ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64,
                                   torch.uint8, torch.bool])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cummax_cummin_match_torch(name, dtype, dim):
    t = ties(5, 9, high=4, seed=1, nan=0.15 if dtype.is_floating_point else 0.0).to(dtype)
    same_pair(fn(name)(ours(t), dim), getattr(torch, name)(t, dim))
    same_pair(getattr(ours(t), name)(dim), getattr(t, name)(dim))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_edge_cases_and_gradients(name):
    same_pair(fn(name)(ours(torch.tensor(2.0)), 0), getattr(torch, name)(torch.tensor(2.0), 0))
    same_pair(fn(name)(ours(torch.zeros(3, 0)), 1), getattr(torch, name)(torch.zeros(3, 0), 1))
    t = ties(4, 7, high=3, seed=2)   # ties: the gradient goes to the index torch keeps
    grads_match(lambda a: fn(name)(a, 1).values, lambda a: getattr(torch, name)(a, 1).values, t)
    gradchecks(lambda a: fn(name)(a, 0).values, randn(5, 3))


# ---- logcumsumexp ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 0), (torch.float32, 0), (torch.float16, 1e-3),
                                       (torch.bfloat16, 1e-2)])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_matches_torch(dtype, tol, dim):
    t = (randn(6, 40, dtype=torch.float64) * 30).to(dtype)
    same(fn("logcumsumexp")(ours(t), dim), torch.logcumsumexp(t, dim), rtol=tol, atol=tol)
    same(ours(t).logcumsumexp(dim), t.logcumsumexp(dim), rtol=tol, atol=tol)


def test_logcumsumexp_special_values_gradients_and_errors():
    inf, nan = float("inf"), float("nan")
    for row in ([nan, 1.0, inf, -inf], [-inf, -inf, 1.0], [1.0, inf, 2.0], [-1000.0, 0.0, -1000.0]):
        t = torch.tensor(row, dtype=torch.float64)
        same(fn("logcumsumexp")(ours(t), 0), torch.logcumsumexp(t, 0))
    same(fn("logcumsumexp")(ours(torch.tensor(2.0)), 0), torch.logcumsumexp(torch.tensor(2.0), 0))
    t = randn(3, 8) * 5
    grads_match(lambda a: fn("logcumsumexp")(a, 1), lambda a: torch.logcumsumexp(a, 1), t)
    gradchecks(lambda a: fn("logcumsumexp")(a, 1), randn(3, 5))
    raises_like(lambda: fn("logcumsumexp")(ours(torch.tensor([1, 2])), 0),
                lambda: torch.logcumsumexp(torch.tensor([1, 2]), 0))


# ---- trapezoid / trapz / cumulative_trapezoid --------------------------------------------------------------
@pytest.mark.parametrize("name", ["trapezoid", "trapz", "cumulative_trapezoid"])
@pytest.mark.parametrize("case", ["plain", "dx", "x1d", "xfull", "xlow", "int", "intx"])
@pytest.mark.parametrize("dim", [-1, 0])
def test_trapezoid_family_matches_torch(name, case, dim):
    y = torch.tensor([[1, 2, 4, 7], [0, -1, 3, 2], [5, 5, 1, 0]]) if case.startswith("int") else randn(3, 4)
    if case == "xlow":     # x of fewer dimensions is padded in front
        y, dim = randn(2, 3, 4), dim % 2 + 1
    n = y.shape[dim]
    xs = {"x1d": torch.sort(randn(n, seed=3)).values, "xfull": randn(3, 4, seed=4), "xlow": randn(3, 4, seed=5),
          "intx": torch.arange(n) * 2}
    if case in xs:
        x = xs[case]
        got, expected = fn(name)(ours(y), ours(x), dim=dim), getattr(torch, name)(y, x, dim=dim)
    elif case == "dx":
        got, expected = fn(name)(ours(y), dx=0.3, dim=dim), getattr(torch, name)(y, dx=0.3, dim=dim)
    else:
        got, expected = fn(name)(ours(y), dim=dim), getattr(torch, name)(y, dim=dim)
    same(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_edge_cases_errors_and_gradients(name):
    for shape in ((3, 0), (0,), (2, 1)):
        same(fn(name)(ours(torch.zeros(shape))), getattr(torch, name)(torch.zeros(shape)))
    raises_like(lambda: fn(name)(ours(torch.tensor(1.0))), lambda: getattr(torch, name)(torch.tensor(1.0)))
    raises_like(lambda: fn(name)(ours(torch.ones(3)), ours(torch.ones(2))),
                lambda: getattr(torch, name)(torch.ones(3), torch.ones(2)))
    y, x = randn(3, 5), torch.sort(randn(5, seed=1)).values
    grads_match(lambda a, b: fn(name)(a, b), lambda a, b: getattr(torch, name)(a, b), y, x)
    grads_match(lambda a: fn(name)(a, dx=0.5, dim=0), lambda a: getattr(torch, name)(a, dx=0.5, dim=0), y)
    gradchecks(lambda a, b: fn(name)(a, b), y, x)


# ---- histc -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("bins,lo,hi", [(100, 0, 0), (7, 0, 0), (5, -1, 1), (4, -0.3, 2.5), (3, 0.5, 0.5)])
def test_histc_matches_torch(dtype, bins, lo, hi):
    t = torch.cat([randn(200, dtype=torch.float64, seed=6), torch.tensor([-1.0, 1.0, 0.5, 2.5])]).to(dtype)
    same(fn("histc")(ours(t), bins, lo, hi), torch.histc(t, bins, lo, hi))
    same(ours(t).histc(bins, lo, hi), t.histc(bins, lo, hi))


def test_histc_edge_cases_and_errors():
    nan = float("nan")
    for t, args in ((torch.tensor([]), (3,)), (torch.tensor([2.0, 2.0]), (4,)),
                    (torch.tensor([1.0, nan]), (3, 0, 3))):
        same(fn("histc")(ours(t), *args), torch.histc(t, *args))
    for t, args in ((torch.tensor([1, 2]), (3,)), (torch.tensor([1.0, 2]), (-3,)), (torch.tensor([1.0, 2]), (3, 2, 1)),
                    (torch.tensor([1.0, nan]), (3,)), (torch.tensor([1.0, float("inf")]), (3,))):
        raises_like(lambda: fn("histc")(ours(t), *args), lambda: torch.histc(t, *args))
    x = ours(torch.tensor([1.0, 2.0]), True)
    h = fn("histc")(x, 3)
    assert h.requires_grad
    with pytest.raises(RuntimeError, match="derivative for 'histc' is not implemented"):
        h.sum().backward()


# ---- bincount ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wdtype", [None, torch.float32, torch.float64, torch.float16, torch.int64])
@pytest.mark.parametrize("minlength", [0, 3, 20])
@pytest.mark.parametrize("idtype", [torch.int64, torch.int32, torch.uint8])
def test_bincount_matches_torch(wdtype, minlength, idtype):
    g = np.random.default_rng(8)
    i = torch.tensor(g.integers(0, 9, 300)).to(idtype)
    w = None if wdtype is None else torch.tensor(g.standard_normal(300) * 10).to(wdtype)
    expected = torch.bincount(i, w, minlength)
    same(fn("bincount")(ours(i), None if w is None else ours(w), minlength), expected)
    same(ours(i).bincount(None if w is None else ours(w), minlength=minlength), expected)


def test_bincount_edge_cases_and_errors():
    empty = torch.tensor([], dtype=torch.long)
    same(fn("bincount")(ours(empty)), torch.bincount(empty))
    same(fn("bincount")(ours(empty), minlength=3), torch.bincount(empty, minlength=3))
    same(fn("bincount")(ours(empty), ours(torch.tensor([])), 2), torch.bincount(empty, torch.tensor([]), 2))
    i = torch.tensor([1, 2])
    for args, kw in (((torch.tensor([1, -2]),), {}), ((torch.tensor([[1, 2]]),), {}), ((torch.tensor([1.0, 2]),), {}),
                     ((torch.tensor([True, False]),), {}), ((i,), {"minlength": -1}),
                     ((i, torch.tensor([1.0, 2, 3])), {})):
        raises_like(lambda: fn("bincount")(*map(ours, args), **kw), lambda: torch.bincount(*args, **kw))


# ---- bucketize / searchsorted ------------------------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
@pytest.mark.parametrize("vdtype", [torch.float64, torch.float32, torch.int64])
def test_bucketize_matches_torch(right, out_int32, vdtype):
    boundaries = torch.tensor([-1.0, 0.0, 0.0, 0.5, 2.0, float("inf")])
    v = torch.cat([randn(3, 5, seed=9).reshape(-1) * 2, torch.tensor([0.0, -1.0, 2.0, float("nan"),
                                                                     float("inf"), -float("inf")])])
    v = v.to(vdtype) if vdtype.is_floating_point else torch.tensor([-3, -1, 0, 1, 2, 5])
    expected = torch.bucketize(v, boundaries, out_int32=out_int32, right=right)
    same(fn("bucketize")(ours(v), ours(boundaries), out_int32=out_int32, right=right), expected)
    same(fn("bucketize")(0.0, ours(boundaries), right=right), torch.bucketize(0.0, boundaries, right=right))


@pytest.mark.parametrize("right,side", [(False, None), (True, None), (False, "left"), (False, "right"),
                                        (True, "right")])
@pytest.mark.parametrize("case", ["1d", "nd", "sorter", "nd_sorter", "scalar", "empty", "nan_seq"])
def test_searchsorted_matches_torch(right, side, case):
    g = np.random.default_rng(10)
    seq = torch.sort(torch.tensor(g.integers(0, 5, (3, 7)).astype(float)), -1).values
    vals = torch.tensor(g.integers(-1, 6, (3, 4)).astype(float) + 0.5 * g.integers(0, 2, (3, 4)))
    sorter = None
    if case == "1d":
        seq = seq[0]
    elif case in ("sorter", "nd_sorter"):
        perm = torch.tensor(np.stack([g.permutation(7) for _ in range(3)]))
        sorter = torch.argsort(perm, -1)
        seq = torch.take_along_dim(seq, perm, -1)
        if case == "sorter":
            seq, sorter = seq[0], sorter[0]
    elif case == "scalar":
        seq, vals = seq[0], 2.0
    elif case == "empty":
        seq = torch.zeros(0, dtype=torch.float64)
    elif case == "nan_seq":
        seq = torch.tensor([0.0, 1.0, 2.0, float("nan"), float("nan")])
        vals = torch.tensor([-1.0, 1.0, 2.5, float("nan")])
    kw = {"right": right, "side": side, "sorter": sorter}
    expected = torch.searchsorted(seq, vals, **kw)
    ka = {k: ours(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    got = fn("searchsorted")(ours(seq), ours(vals) if isinstance(vals, torch.Tensor) else vals, **ka)
    same(got, expected)


def test_searchsorted_bucketize_errors():
    s = torch.tensor([1.0, 2, 4])
    cases = [((s, torch.tensor([2.0])), {"side": "left", "right": True}),
             ((s, torch.tensor([2.0])), {"side": "lft"}),
             ((torch.tensor([[1.0, 2, 4]]), torch.tensor([[2.0], [3]])), {}),
             ((torch.tensor([[1.0, 2, 4]]), 2.0), {}),
             ((s, torch.tensor([3.0])), {"sorter": torch.tensor([0, 2])}),
             ((s, torch.tensor([3.0])), {"sorter": torch.tensor([0, 2, 5])}),
             ((torch.tensor(1.0), torch.tensor([3.0])), {})]
    for args, kw in cases:
        a_args = tuple(ours(a) if isinstance(a, torch.Tensor) else a for a in args)
        a_kw = {k: ours(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
        raises_like(lambda: fn("searchsorted")(*a_args, **a_kw), lambda: torch.searchsorted(*args, **kw))
    raises_like(lambda: fn("bucketize")(ours(s), ours(torch.tensor([[1.0, 2]]))),
                lambda: torch.bucketize(s, torch.tensor([[1.0, 2]])))


# ---- renorm ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 2, 3.5, float("inf")])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("maxnorm", [0.0, 1.5, 100.0])
def test_renorm_matches_torch(p, dim, maxnorm):
    t = randn(3, 4, 2)
    same(fn("renorm")(ours(t), p, dim, maxnorm), torch.renorm(t, p, dim, maxnorm), rtol=1e-12)
    same(ours(t).renorm(p, dim, maxnorm), t.renorm(p, dim, maxnorm), rtol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float16, 1e-3), (torch.bfloat16, 1e-2)])
def test_renorm_low_precision(dtype, tol):
    t = randn(4, 5, dtype=dtype, seed=3)
    same(fn("renorm")(ours(t), 2, 0, 1.0), torch.renorm(t, 2, 0, 1.0), rtol=tol, atol=tol)


def test_renorm_gradients_inplace_and_errors():
    t = randn(4, 5, seed=4)
    for p in (1, 2, 3):
        grads_match(lambda a: fn("renorm")(a, p, 0, 1.2), lambda a: torch.renorm(a, p, 0, 1.2), t)
    gradchecks(lambda a: fn("renorm")(a, 2, 1, 0.8), t)
    a, b = ours(t), t.clone()
    assert a.renorm_(2, 0, 1.0) is a
    b.renorm_(2, 0, 1.0)
    same(a, b, rtol=1e-12)
    x = torch.tensor([[1.0, 2, 3], [4, 5, 7]])
    for args in ((torch.tensor([1.0, 2]), 2, 0, 1), (x, -2, 0, 1), (x, 2, 0, -1), (x, 2, 3, 1),
                 (torch.tensor([[1, 2]]), 2, 0, 1)):
        raises_like(lambda: fn("renorm")(ours(args[0]), *args[1:]), lambda: torch.renorm(*args))
