"""torch.normal / bernoulli / exponential_ / multinomial (moments with fixed seeds, torch's errors) and the
matrix helpers (addmm family, diag, diag_embed, meshgrid, unique, tril/triu_indices) against torch 2.13,
with gradients by finite differences in float64 (first and second order)."""
import numpy as np
import pytest

import autograd as A
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _err(fn_ours, fn_torch):
    """Both raise the same error class; returns (ours, torch's) messages."""
    with pytest.raises(Exception) as theirs:
        fn_torch()
    with pytest.raises(theirs.type) as mine:
        fn_ours()
    return str(mine.value), str(theirs.value)


# ---- sampling ---------------------------------------------------------------------------------------------
def test_normal_forms_shapes_dtypes_and_moments():
    A.manual_seed(0)
    x = A.normal(A.full((2000, 50), 1.5), A.full((50,), 2.0))
    assert x.shape == (2000, 50) and x.dtype == A.float32
    assert abs(x.mean().item() - 1.5) < 0.05 and abs(x.std().item() - 2.0) < 0.05
    y = A.normal(A.zeros(20000, dtype=A.float64), 0.5)
    assert y.dtype == A.float64 and abs(y.std().item() - 0.5) < 0.01
    z = A.normal(-1.0, A.full((20000,), 3.0))
    assert abs(z.mean().item() + 1.0) < 0.1 and abs(z.std().item() - 3.0) < 0.06
    w = A.normal(2.0, 1.0, (100, 200), dtype=A.float64)
    assert w.shape == (100, 200) and w.dtype == A.float64 and abs(w.mean().item() - 2.0) < 0.03
    # same shapes and dtypes as torch
    for args in [(torch.zeros(3), torch.ones(2, 3)), (torch.zeros(3, dtype=torch.float64), 1.0),
                 (torch.zeros(3), torch.ones(3, dtype=torch.float64)),
                 (0.0, torch.ones(4))]:
        t = torch.normal(*args)
        o = A.normal(*[A.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args])
        assert o.shape == tuple(t.shape) and str(o.dtype) == str(t.dtype).replace("torch.", "")
    lo = A.normal(A.zeros(1000, dtype=A.bfloat16), 1.0)
    assert lo.dtype == A.bfloat16


def test_normal_gradients_are_zeros_as_torch():
    m = A.zeros(3, requires_grad=True)
    s = A.ones(3, requires_grad=True)
    A.normal(m, s).sum().backward()
    tm, ts = torch.zeros(3, requires_grad=True), torch.ones(3, requires_grad=True)
    torch.normal(tm, ts).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), tm.grad.numpy())
    np.testing.assert_array_equal(s.grad.numpy(), ts.grad.numpy())


@pytest.mark.parametrize("case", ["float_float_no_size", "neg_std", "neg_std_tensor_mean", "neg_std_tensor",
                                  "nan_std_tensor", "long_mean", "mismatch"])
def test_normal_errors_as_torch(case):
    calls = {
        "float_float_no_size": lambda T: T.normal(0.0, 1.0),
        "neg_std": lambda T: T.normal(0.0, -1.0, (2,)),
        "neg_std_tensor_mean": lambda T: T.normal(T.zeros(3), -1.0),
        "neg_std_tensor": lambda T: T.normal(T.zeros(3), -T.ones(3)),
        "nan_std_tensor": lambda T: T.normal(T.zeros(3), T.full((3,), float("nan"))),
        "long_mean": lambda T: T.normal(T.zeros(3, dtype=T.long), 1.0),
        "mismatch": lambda T: T.normal(T.zeros(3), T.ones(4)),
    }[case]
    mine, theirs = _err(lambda: calls(A), lambda: calls(torch))
    if case != "float_float_no_size":
        assert mine == theirs.split("  (Could")[0]


def test_bernoulli_and_bernoulli_inplace_moments_and_dtypes():
    A.manual_seed(1)
    p = A.rand(200, 100)
    b = A.bernoulli(p)
    assert b.dtype == A.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs((b - p).mean().item()) < 0.01
    assert abs(A.bernoulli(A.zeros(20000), 0.25).mean().item() - 0.25) < 0.01
    x = A.zeros(20000, dtype=A.int64).bernoulli_(0.7)
    assert x.dtype == A.int64 and abs(x.double().mean().item() - 0.7) < 0.01
    y = A.empty(4000, 3).bernoulli_(A.tensor([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(y.mean(0).numpy(), [0.0, 0.5, 1.0], atol=0.03)
    q = A.full((3,), 0.5, requires_grad=True)
    A.bernoulli(q).sum().backward()
    np.testing.assert_array_equal(q.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize("case", ["p_high", "p_tensor_high", "bernoulli_high", "long_input"])
def test_bernoulli_errors_as_torch(case):
    calls = {
        "p_high": lambda T: T.zeros(3).bernoulli_(2.0),
        "p_tensor_high": lambda T: T.zeros(3).bernoulli_(T.full((3,), 2.0)),
        "bernoulli_high": lambda T: T.bernoulli(T.full((3,), -0.5)),
        "long_input": lambda T: T.bernoulli(T.zeros(3, dtype=T.long)),
    }[case]
    mine, theirs = _err(lambda: calls(A), lambda: calls(torch))
    assert mine == theirs.split("  (Could")[0]


def test_exponential_uniform_normal_inplace_moments_and_errors():
    A.manual_seed(2)
    e = A.empty(50000, dtype=A.float64).exponential_(4.0)
    assert e.min().item() >= 0 and abs(e.mean().item() - 0.25) < 0.005 and abs(e.std().item() - 0.25) < 0.005
    for call in (lambda T: T.zeros(3).exponential_(0), lambda T: T.zeros(3).exponential_(-1),
                 lambda T: T.zeros(3, dtype=T.long).exponential_(), lambda T: T.zeros(3).uniform_(2, 1),
                 lambda T: T.zeros(3).normal_(0, -1)):
        mine, theirs = _err(lambda: call(A), lambda: call(torch))
        assert mine == theirs


def test_multinomial_method_is_bound():
    A.manual_seed(3)
    w = A.tensor([0.0, 1.0, 3.0])
    idx = w.multinomial(40000, replacement=True)
    counts = np.bincount(idx.numpy(), minlength=3) / 40000
    np.testing.assert_allclose(counts, [0.0, 0.25, 0.75], atol=0.01)
    assert sorted(w.multinomial(2).tolist()) == [1, 2]


# ---- addmm family -----------------------------------------------------------------------------------------
def _to_torch(*xs):
    return [torch.tensor(x.numpy(), requires_grad=x.requires_grad) for x in xs]


@pytest.mark.parametrize("name,shapes", [("addmm", [(3, 4), (3, 5), (5, 4)]), ("addmm", [(4,), (3, 5), (5, 4)]),
                                         ("baddbmm", [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("baddbmm", [(3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("addbmm", [(3, 4), (2, 3, 5), (2, 5, 4)]),
                                         ("addmv", [(3,), (3, 5), (5,)])])
def test_add_products_values_and_gradients_match_torch(name, shapes):
    rng = np.random.default_rng(0)
    xs = [A.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    out = getattr(A, name)(*xs, beta=0.5, alpha=-2.0)
    ts = _to_torch(*xs)
    ref = getattr(torch, name)(*ts, beta=0.5, alpha=-2.0)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert gradcheck(lambda *a: getattr(A, name)(*a, beta=0.5, alpha=-2.0), xs)
    assert gradgradcheck(lambda *a: getattr(A, name)(*a, beta=0.5, alpha=-2.0), xs)
    method = getattr(xs[0], name)(*xs[1:])
    np.testing.assert_allclose(method.detach().numpy(), getattr(ts[0], name)(*ts[1:]).detach().numpy(), rtol=1e-12)


def test_addmm_beta_zero_ignores_nan_input_and_float32_values():
    rng = np.random.default_rng(1)
    m1, m2 = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32)
    c = np.full((3, 2), np.nan, np.float32)
    out = A.addmm(A.tensor(c), A.tensor(m1), A.tensor(m2), beta=0)
    ref = torch.addmm(torch.tensor(c), torch.tensor(m1), torch.tensor(m2), beta=0)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", ["shapes", "mat1_1d", "dtype", "dtype_mats", "bmm_batch", "bmm_dtype",
                                  "addmv_size", "addmv_dtype", "expand"])
def test_add_products_errors_as_torch(case):
    calls = {
        "shapes": lambda T: T.addmm(T.zeros(2, 2), T.zeros(2, 3), T.zeros(4, 2)),
        "mat1_1d": lambda T: T.addmm(T.zeros(2, 2), T.zeros(3), T.zeros(3, 2)),
        "dtype": lambda T: T.addmm(T.zeros(2, 2, dtype=T.float64), T.zeros(2, 3), T.zeros(3, 2)),
        "dtype_mats": lambda T: T.addmm(T.zeros(2, 2), T.zeros(2, 3, dtype=T.float64), T.zeros(3, 2)),
        "bmm_dtype": lambda T: T.baddbmm(T.zeros(2, 2), T.zeros(1, 2, 3, dtype=T.float64), T.zeros(1, 3, 2)),
        "addmv_dtype": lambda T: T.addmv(T.zeros(2), T.zeros(2, 3), T.zeros(3, dtype=T.float64)),
        "bmm_batch": lambda T: T.baddbmm(T.zeros(2, 2), T.zeros(3, 2, 3), T.zeros(4, 3, 2)),
        "addmv_size": lambda T: T.addmv(T.zeros(2), T.zeros(2, 3), T.zeros(4)),
        "expand": lambda T: T.addmm(T.zeros(3), T.zeros(2, 3), T.zeros(3, 2)),
    }[case]
    mine, theirs = _err(lambda: calls(A), lambda: calls(torch))
    assert mine == theirs


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_add_products_under_autocast_use_torch_dtypes_and_values(dtype):
    rng = np.random.default_rng(2)
    c, a, b = (rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (4, 8), (8, 3)])
    with A.autocast("cpu", dtype=getattr(A, dtype)):
        out = A.addmm(A.tensor(c), A.tensor(a), A.tensor(b))
        bout = A.baddbmm(A.tensor(c), A.tensor(a)[None], A.tensor(b)[None])
        mv = A.addmv(A.tensor(c[:, 0]), A.tensor(a), A.tensor(b[:, 0]))
    with torch.autocast("cpu", dtype=getattr(torch, dtype)):
        ref = torch.addmm(torch.tensor(c), torch.tensor(a), torch.tensor(b))
        bref = torch.baddbmm(torch.tensor(c), torch.tensor(a)[None], torch.tensor(b)[None])
        mref = torch.addmv(torch.tensor(c[:, 0]), torch.tensor(a), torch.tensor(b[:, 0]))
    assert str(out.dtype) == dtype and str(bout.dtype) == dtype and mv.dtype == A.float32
    assert mref.dtype == torch.float32
    np.testing.assert_array_equal(out.float().numpy(), ref.float().numpy())
    np.testing.assert_array_equal(bout.float().numpy(), bref.float().numpy())


# ---- diagonals, grids, unique, triangle indices -------------------------------------------------------------
@pytest.mark.parametrize("args", [((4,), 0), ((4,), 2), ((4,), -1), ((3, 5), 0), ((3, 5), 1), ((3, 5), -2)])
def test_diag_matches_torch_with_gradients(args):
    shp, k = args
    x = A.tensor(np.random.default_rng(0).standard_normal(shp), requires_grad=True)
    np.testing.assert_array_equal(A.diag(x, k).detach().numpy(), torch.diag(torch.tensor(x.numpy()), k).numpy())
    assert gradcheck(lambda t: A.diag(t, k), [x]) and gradgradcheck(lambda t: A.diag(t, k), [x])


@pytest.mark.parametrize("args", [(0, -2, -1), (1, 0, 2), (-1, 2, 0), (2, -1, 1)])
def test_diag_embed_matches_torch_with_gradients(args):
    x = A.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    np.testing.assert_array_equal(A.diag_embed(x, *args).detach().numpy(),
                                  torch.diag_embed(torch.tensor(x.numpy()), *args).numpy())
    assert gradcheck(lambda t: A.diag_embed(t, *args), [x]) and gradgradcheck(lambda t: A.diag_embed(t, *args), [x])
    assert _err(lambda: A.diag_embed(A.zeros(2, 3), 0, 1, 1), lambda: torch.diag_embed(torch.zeros(2, 3), 0, 1, 1))
    assert _err(lambda: A.diag(A.zeros(2, 2, 2)), lambda: torch.diag(torch.zeros(2, 2, 2)))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch_with_gradients(indexing):
    rng = np.random.default_rng(2)
    xs = [A.tensor(rng.standard_normal(n), requires_grad=True) for n in (2, 3, 4)]
    for k in (1, 2, 3):
        ours = A.meshgrid(*xs[:k], indexing=indexing)
        ref = torch.meshgrid(*[torch.tensor(x.numpy()) for x in xs[:k]], indexing=indexing)
        for o, r in zip(ours, ref):
            np.testing.assert_array_equal(o.detach().numpy(), r.numpy())
    assert gradcheck(lambda *t: sum((g * (i + 1)).sum() for i, g in enumerate(A.meshgrid(*t, indexing=indexing))),
                     xs)
    w = [A.meshgrid(xs[0], xs[1], indexing="ij")]
    assert w[0][0].shape == (2, 3)


def test_meshgrid_default_warning_and_errors_as_torch():
    with pytest.warns(UserWarning, match="indexing argument"):
        grids = A.meshgrid([A.arange(2), A.arange(3)])
    assert grids[0].shape == (2, 3)
    mine, theirs = _err(lambda: A.meshgrid(A.arange(2), indexing="foo"),
                        lambda: torch.meshgrid(torch.arange(2), indexing="foo"))
    assert mine == theirs
    _err(lambda: A.meshgrid(A.zeros(2, 2), indexing="ij"), lambda: torch.meshgrid(torch.zeros(2, 2), indexing="ij"))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_matches_torch(dim):
    x = np.array([[3, 1, 3], [3, 1, 3], [0, 2, 0]])
    for inv in (False, True):
        for cnt in (False, True):
            for sort in (True, False):
                ours = A.unique(A.tensor(x), sorted=sort, return_inverse=inv, return_counts=cnt, dim=dim)
                ref = torch.unique(torch.tensor(x), sorted=sort, return_inverse=inv, return_counts=cnt, dim=dim)
                ours, ref = (ours, ref) if isinstance(ref, tuple) else ((ours,), (ref,))
                assert len(ours) == len(ref)
                for o, r in zip(ours, ref):
                    np.testing.assert_array_equal(o.numpy(), r.numpy())
                    assert str(o.dtype) == str(r.dtype).replace("torch.", "")
    f = A.tensor([2.5, -1.0, 2.5])
    np.testing.assert_array_equal(f.unique().numpy(), [-1.0, 2.5])


@pytest.mark.parametrize("which", ["tril_indices", "triu_indices"])
def test_triangle_indices_match_torch(which):
    for row, col, off in [(3, 4, 0), (3, 4, 1), (4, 3, -1), (0, 3, 0), (5, 5, -7), (2, 6, 9)]:
        o, r = getattr(A, which)(row, col, off), getattr(torch, which)(row, col, off)
        np.testing.assert_array_equal(o.numpy(), r.numpy())
        assert o.dtype == A.int64
    assert getattr(A, which)(3, 3, dtype=A.int32).dtype == A.int32
    for call in (lambda T: getattr(T, which)(-1, 3), lambda T: getattr(T, which)(3, -1),
                 lambda T: getattr(T, which)(3, 3, dtype=T.float32)):
        mine, theirs = _err(lambda: call(A), lambda: call(torch))
        assert mine == theirs


def test_add_products_inplace_forms_match_torch_with_gradients():
    rng = np.random.default_rng(5)
    c, a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    w = A.tensor(c, requires_grad=True)
    wt = torch.tensor(c, requires_grad=True)
    ma, mb = A.tensor(a, requires_grad=True), A.tensor(b)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b)
    o = w * 1.0
    t = wt * 1.0
    assert o.addmm_(ma, mb, beta=0.5, alpha=2.0) is o
    t.addmm_(ta, tb, beta=0.5, alpha=2.0)
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    (o ** 2).sum().backward()
    (t ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ma.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    v = A.tensor(c[:, 0].copy())
    v.addmv_(A.tensor(a), A.tensor(b[:, 0]))
    np.testing.assert_allclose(v.numpy(), torch.tensor(c[:, 0]).addmv_(torch.tensor(a), torch.tensor(b[:, 0])).numpy(),
                               rtol=1e-12)
