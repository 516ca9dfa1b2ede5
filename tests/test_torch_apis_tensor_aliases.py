"""The small Tensor methods and torch functions of autograd.ops.tensor_aliases (and its aliases_* modules)
against torch 2.13: values, dtypes, which results are views, version counters, errors (class and message),
gradients against torch, finite differences (float64) and second order."""
import numpy as np
import pytest

import autograd as ag
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore")   # torch's beta / deprecation warnings (index_reduce, H on 0-D)
RNG = np.random.default_rng(0)
A23 = RNG.standard_normal((2, 3))
V3 = np.array([0.1, -0.5, 0.9])


def _same(ours, ref, atol=1e-6, rtol=1e-6):
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b, atol, rtol)
        return
    assert tuple(ours.shape) == tuple(ref.shape)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (ours.dtype, ref.dtype)
    np.testing.assert_allclose(*(np.asarray(t.detach().numpy()).astype(np.float64) for t in (ours, ref)), atol=atol,
                               rtol=rtol)


def _tensors(lib, arrays):
    return [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]


def _both(fn, *arrays):
    """``fn(lib, *tensors)`` for autograd and torch on the same data: (ours, torch's, our inputs, torch's)."""
    (a, ours), (t, ref) = ((ts, fn(lib, *ts)) for lib, ts in ((lib, _tensors(lib, arrays)) for lib in (ag, torch)))
    return ours, ref, a, t


def _check(fn, *arrays, atol=1e-6):
    ours, ref, _, _ = _both(fn, *arrays)
    _same(ours, ref, atol=atol)


def _check_inplace(fn, *arrays):
    """``fn`` returns its first input, written in place, with torch's values."""
    ours, ref, a, t = _both(fn, *arrays)
    assert ours is a[0] and ref is t[0]
    _same(ours, ref)


def _raises_like(fn, *arrays):
    caught = []
    for lib in (torch, ag):
        with pytest.raises(Exception) as info:
            fn(lib, *_tensors(lib, arrays))
        caught.append(info.value)
    assert isinstance(caught[1], type(caught[0])) and str(caught[1]) == str(caught[0]), caught


def _grads_match(fn, *arrays, atol=1e-10, second=True, numeric=True):
    """fn's gradients (float64) for one random upstream gradient, ours vs torch's; then (``numeric``)
    gradcheck and (``second``) gradgradcheck of ours."""
    res = []
    for lib in (ag, torch):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        ys = y if isinstance(y, (tuple, list)) else (y,)
        up = [lib.tensor(np.random.default_rng(k).standard_normal(tuple(t.shape))) for k, t in enumerate(ys)]
        gs = lib.autograd.grad(sum((t * u).sum() for t, u in zip(ys, up)), xs, allow_unused=True)
        res.append([g if g is not None else lib.zeros_like(x) for g, x in zip(gs, xs)])
    _same(res[0], res[1], atol=atol)
    xs = tuple(ag.tensor(a, dtype=ag.float64, requires_grad=True) for a in arrays)
    assert not numeric or gradcheck(lambda *t: fn(ag, *t), xs)
    assert not (numeric and second) or gradgradcheck(lambda *t: fn(ag, *t), xs)


# ---- elementwise ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, data", [("acosh", A23 ** 2 + 1.5), ("asinh", A23), ("atanh", V3),
                                        ("arccosh", A23 ** 2 + 1.5), ("arcsinh", A23), ("arctanh", V3),
                                        ("arccos", V3), ("arcsin", V3), ("arctan", A23)])
def test_inverse_functions_values_grads_inplace(name, data):
    for dt in (np.float32, np.float64):
        _check(lambda lib, x: getattr(lib, name)(x), data.astype(dt))
        _check(lambda lib, x: getattr(x, name)(), data.astype(dt))
        _check(lambda lib, x: getattr(x.clone(), name + "_")(), data.astype(dt))
        _check(lambda lib, x: getattr(lib, name + "_")(x.clone()), data.astype(dt))
    _check(lambda lib, x: getattr(lib, name)(x), np.array([1, 2, 0]) if "cosh" not in name else np.array([1, 2]))
    _raises_like(lambda lib, x: getattr(x, name + "_")(), np.array([1, 2]))
    _grads_match(lambda lib, x: getattr(lib, name)(x), data)


def test_arctan2_and_absolute_negative_inplace():
    _check(lambda lib, a, b: lib.arctan2(a, b), V3, V3[::-1].copy())
    _check(lambda lib, a, b: a.clone().arctan2_(b), V3, V3[::-1].copy())
    _check(lambda lib, a: a.clone().absolute_(), V3)
    _check(lambda lib, a: lib.negative_(a.clone()), V3)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                                  "less_equal", "not_equal"])
def test_comparison_aliases_and_inplace(name):
    a, b = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), np.array([2.0, 2.0, 2.0])
    if name in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
        _check(lambda lib, x, y: getattr(lib, name)(x, y), a, b)
        _check(lambda lib, x, y: getattr(x, name)(y), a, b)
    _check(lambda lib, x, y: getattr(x, name + "_")(y), a, b)
    _check(lambda lib, x: getattr(x, name + "_")(2), a.astype(np.int64))
    _check(lambda lib, x: getattr(x, name + "_")(1.5), np.array([True, False]))
    _raises_like(lambda lib, x, y: getattr(x, name + "_")(y), b, a)
    # recorded with a zero derivative (torch's EqBackward & co), refused on a leaf that requires grad
    for lib in (ag, torch):
        leaf = lib.tensor(a, requires_grad=True)
        y = leaf * 1
        assert getattr(y, name + "_")(2.0) is y and y._version == 1
        y.sum().backward()
        assert not leaf.grad.numpy().any()
    _raises_like(lambda lib, x: getattr(x.requires_grad_(), name + "_")(2.0), a)


def test_positive_frac_fmax_fmin():
    x = A23 * 3
    for lib in (ag, torch):
        t = lib.tensor(x)
        assert lib.positive(t) is t and t.positive() is t
    special = np.array([-1.5, 2.25, np.inf, -np.inf, np.nan, -0.0, 7.0])
    for dt in (np.float32, np.float64):
        _check(lambda lib, t: lib.frac(t), special.astype(dt))
        _check(lambda lib, t: t.clone().frac_(), special.astype(dt))
    _check(lambda lib, t: lib.frac(t), special.astype(np.float16), atol=0)
    _grads_match(lambda lib, t: lib.frac(t), x)
    a = np.array([1.0, np.nan, 3.0, np.nan, 2.0, -1.0])
    b = np.array([np.nan, 2.0, 1.0, np.nan, 2.0, 4.0])
    for name in ("fmax", "fmin"):
        _check(lambda lib, p, q: getattr(lib, name)(p, q), a, b)
        _check(lambda lib, p, q: getattr(p, name)(q), a.astype(np.float32), b)
        _check(lambda lib, p, q: getattr(lib, name)(p, q), np.array([1, 5, 3]), np.array([2.0, np.nan, 3.0]))
        _check(lambda lib, p, q: getattr(lib, name)(p, q), np.array([True, False]), np.array([False, False]))
        _grads_match(lambda lib, p, q: getattr(lib, name)(p, q), a, b, numeric=False)   # ties and NaNs
        _grads_match(lambda lib, p, q: getattr(lib, name)(p, q), A23, A23[:1] * 0.5)


def test_predicates_and_isin():
    x = np.array([1.0, -np.inf, np.inf, np.nan])
    for name in ("isneginf", "isposinf", "isreal"):
        for data in (x, x.astype(np.float32), np.array([1, 2]), np.array([True])):
            _check(lambda lib, t: getattr(lib, name)(t), data)
            _check(lambda lib, t: getattr(t, name)(), data)
    e, t = np.array([[1, 2], [3, 4]]), np.array([2.0, 3.5, 4.0])
    for kw in ({}, {"invert": True}, {"assume_unique": True}):
        _check(lambda lib, p, q: lib.isin(p, q, **kw), e, t)
        _check(lambda lib, p: lib.isin(p, 3, **kw), e)
        _check(lambda lib, q: lib.isin(4, q, **kw), t)
    _check(lambda lib, p, q: lib.isin(p, q), np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    with pytest.raises(TypeError):
        ag.isin(2, 3)


def test_torch_level_inplace_functions():
    from autograd.ops.aliases_elementwise import _INPLACE_FUNCTIONS

    for name in _INPLACE_FUNCTIONS:
        if name.startswith(("clamp", "clip", "fill")):
            continue
        _check_inplace(lambda lib, x: getattr(lib, name)(x), np.abs(V3) + 0.05)
    for fn in (lambda lib, x: lib.clamp_(x, -0.2, 0.2), lambda lib, x: lib.clip_(x, max=0.2),
               lambda lib, x: lib.clamp_min_(x, 0.0), lambda lib, x: lib.clamp_max_(x, 0.0),
               lambda lib, x: lib.fill_(x, 2.5)):
        _check(fn, V3)


# ---- in-place view ops ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [lambda t: t.t_(), lambda t: t.transpose_(0, 1), lambda t: t.swapaxes_(1, 0),
                                lambda t: t.swapdims_(0, 1), lambda t: t.unsqueeze_(1), lambda t: t.unsqueeze_(-1),
                                lambda t: t[:1].squeeze_(), lambda t: t[:1].squeeze_(0),
                                lambda t: t[:, :1].squeeze_((0, 1))])
def test_inplace_view_ops(op):
    ours, ref, (a,), (t,) = _both(lambda lib, x: op(x), A23)
    _same(ours, ref)
    assert ours._version == 1 == ref._version and (ours._base is None) == (ref._base is None)
    ours.mul_(2)      # still the same storage as the input (or its base)
    ref.mul_(2)
    _same(a, t)
    _grads_match(lambda lib, x: op(x * 1) * x.sum(), A23)
    _raises_like(lambda lib, x: op(x.requires_grad_()), A23)   # a leaf that requires grad, or a view of one


def test_inplace_view_op_on_a_view_keeps_the_view_and_its_base_gradient():
    for lib in (torch, ag):
        leaf = lib.tensor(A23, requires_grad=True)
        base = leaf * 1
        v = base[0]
        assert v.unsqueeze_(0) is v and tuple(v.shape) == (1, 3) and v._base is base
        v.mul_(lib.arange(3.0, dtype=lib.float64))
        assert "CopySlices" in base.grad_fn.name()
        (base ** 2).sum().backward()
        if lib is torch:
            expected = leaf.grad.numpy()
        else:
            np.testing.assert_allclose(leaf.grad.numpy(), expected)
    with ag.no_grad():   # outside grad mode a leaf may change its own shape, as torch
        leaf = ag.tensor(A23, requires_grad=True)
        assert tuple(leaf.t_().shape) == (3, 2)


@pytest.mark.parametrize("op", [lambda t: t.tril_(), lambda t: t.triu_(1), lambda t: t.cumsum_(1),
                                lambda t: t.cumprod_(0), lambda t: t.tril_(-1)])
def test_value_inplace_ops(op):
    _check(lambda lib, x: op(x), A23)
    _check(lambda lib, x: op(x), np.arange(6).reshape(2, 3))
    _grads_match(lambda lib, x: op(x * 1), A23)


# ---- views, reshapes, queries --------------------------------------------------------------------------------
def test_ravel_reshape_as_select():
    for make in (lambda lib, x: x, lambda lib, x: x.t(), lambda lib, x: x[:, ::2]):
        ours, ref, (a,), (t,) = _both(lambda lib, x: make(lib, x).ravel(), A23)
        _same(ours, ref)
        assert (ours._base is not None) == (ref._base is not None)
        _check(lambda lib, x: lib.ravel(make(lib, x)), A23)
    _check(lambda lib, x, y: x.reshape_as(y), A23, np.ones((3, 2)))
    for dim, index in ((0, 1), (1, -1), (-1, 0), (-2, -2)):
        ours, ref, (a,), (t,) = _both(lambda lib, x: lib.select(x, dim, index), A23)
        _same(ours, ref)
        assert ours._base is a and ref._base is t
        _grads_match(lambda lib, x: x.select(dim, index), A23)


def test_sum_to_size_argwhere_shapes_and_devices():
    for size in ((1, 3), (3,), (2, 1), (1, 1), ((1,),)):
        _check(lambda lib, x: x.sum_to_size(*size), A23)
        _grads_match(lambda lib, x: x.sum_to_size(*size), A23)
    a = ag.tensor(A23)
    assert a.sum_to_size(2, 3) is a and a.sum_to_size((2, 3)) is a
    for data in (np.array([[0, 1], [2, 0]]), np.array(3.0), np.array(0.0), np.zeros((2, 0))):
        _check(lambda lib, x: lib.argwhere(x), data)
        _check(lambda lib, x: x.argwhere(), data)
    for lib in (ag, torch):
        t = lib.tensor(A23)
        assert t.ndimension() == 2 and t.get_device() == -1
        assert t.is_same_size(lib.ones(2, 3)) and not t.is_same_size(lib.ones(3, 2))
        assert lib.tensor([0.5]).is_nonzero() and not lib.tensor([[0.0]]).is_nonzero()
        assert lib.tensor([float("nan")]).is_nonzero()
        assert t.short().dtype == lib.int16 and t.byte().dtype == lib.uint8 and t.char().dtype == lib.int8
    for lib in (ag, torch):
        e = lib.tensor(A23).new_empty_strided((2, 3), (1, 2))
        assert e.stride() == (1, 2) and not e.is_contiguous() and e.dtype == lib.float64
        e = lib.tensor(A23).new_empty_strided((2, 3), (3, 1), dtype=lib.int32, requires_grad=False)
        assert e.stride() == (3, 1) and e.dtype == lib.int32


def test_adjoints():
    for data in (A23, RNG.standard_normal((4, 2, 3))):
        for get in (lambda lib, x: x.mH, lambda lib, x: lib.adjoint(x), lambda lib, x: x.adjoint()):
            ours, ref, (a,), _ = _both(get, data)
            _same(ours, ref)
            assert ours._base is a
            _grads_match(get, data)
    _check(lambda lib, x: x.H, A23)
    _check(lambda lib, x: x.H, np.array(2.0))
    for get in (lambda lib, x: x.mH, lambda lib, x: x.H, lambda lib, x: x.adjoint()):
        _raises_like(get, V3)


def test_products_and_dist():
    _check(lambda lib, a, b: lib.inner(a, b), A23, RNG.standard_normal((4, 3)))
    _check(lambda lib, a, b: a.inner(b), V3, RNG.standard_normal((2, 2, 3)))
    _check(lambda lib, a: lib.inner(a, lib.tensor(2.0, dtype=lib.float64)), A23)
    _check(lambda lib, a, b: lib.inner(a, b), np.array([1, 2]), np.array([3, 4]))
    _grads_match(lambda lib, a, b: lib.inner(a, b), A23, RNG.standard_normal((2, 2, 3)))
    _check(lambda lib, a, b: lib.vdot(a, b), V3, V3[::-1].copy())
    _check(lambda lib, a, b: a.vdot(b), np.array([1, 2]), np.array([3, 4]))
    _grads_match(lambda lib, a, b: lib.vdot(a, b), V3, V3[::-1].copy())
    _check(lambda lib, a, b: lib.ger(a, b), V3, V3[:2].copy())
    _grads_match(lambda lib, a, b: a.ger(b), V3, V3[:2].copy())
    for p in (2, 1, 0, 3, -1, 0.5, float("inf"), float("-inf")):
        _check(lambda lib, a, b: lib.dist(a, b, p), A23, V3)
        _check(lambda lib, a, b: a.dist(b, p), A23.astype(np.float32), V3.astype(np.float32))
        if p != 0:
            _grads_match(lambda lib, a, b: lib.dist(a, b, p), A23, V3, second=p in (2, 3))


def test_unsafe_splits_share_storage_but_are_not_views():
    x = np.arange(5.0)
    for name, args, args23 in (("unsafe_split", (2,), (2, 1)), ("unsafe_chunk", (2,), (2, -1)),
                               ("unsafe_split_with_sizes", ([1, 4],), ([1, 2], 1))):
        _check(lambda lib, t: getattr(lib, name)(t, *args), x)
        _check(lambda lib, t: getattr(t, name)(*args23), A23)
        for lib in (ag, torch):
            base = lib.tensor(x)
            first = getattr(base, name)(*args)[0]
            assert first._base is None
            first.add_(1)            # allowed (not a multi-view output) and seen by the input's storage
            assert base[0].item() == 1.0 and base._version == 0 and first._version == 1
        _grads_match(lambda lib, t: getattr(lib, name)(t * 1, *args), x)


def test_unravel_index():
    for idx, shape in ((np.array([[4, 1], [-1, -7]]), (2, 3)), (np.array(4), (2, 3)), (np.array([5, 1]), 6),
                       (np.array([3], np.int32), (2, 1, 2)), (np.array([0]), ())):
        ours, ref, _, _ = _both(lambda lib, i: lib.unravel_index(i, shape), idx)
        _same(ours, ref)


# ---- scatters ---------------------------------------------------------------------------------------------
MASK = np.array([True, False, True])


def test_masked_scatter():
    src = np.arange(6.0) - 2
    _check(lambda lib, x, m, s: x.masked_scatter(m, s), A23, MASK, src)
    _check(lambda lib, x, m, s: lib.masked_scatter(x, m, s), V3, np.array([[True, False, True], [False, True, True]]),
           src)
    _check_inplace(lambda lib, x, m, s: x.masked_scatter_(m, s), A23, MASK, src)
    _grads_match(lambda lib, x, s: x.masked_scatter(lib.tensor(MASK), s), A23, src)
    _grads_match(lambda lib, x, s: (x * 1).masked_scatter_(lib.tensor(MASK), s), A23, src)


def test_put():
    idx = np.array([[0, -1], [3, 4]])
    src = np.array([[1.0, 2.0], [3.0, 4.0]])
    for acc in (False, True):
        _check(lambda lib, x, i, s: x.put(i, s, accumulate=acc), A23, idx, src)
        _check(lambda lib, x, i, s: lib.put(x, i, s, acc), A23, np.array([0, 0, -6]), np.array([1.0, 2, 3]))
        _check_inplace(lambda lib, x, i, s: x.put_(i, s, accumulate=acc), A23, idx, src)
        _grads_match(lambda lib, x, s: x.put(lib.tensor(idx), s, accumulate=acc), A23, src)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    idx = np.array([0, 2, 0, 0])
    src = np.array([[1.0, 2.0, 3.0, 2.0], [-1.0, 0.5, 4.0, 0.0]])
    fn = lambda lib, x, s: x.index_reduce(1, lib.tensor(idx), s, reduce, include_self=include_self)  # noqa: E731
    _check(fn, A23, src)
    _check(lambda lib, x, s: x.index_reduce(0, lib.tensor([1, 1], dtype=lib.int32), s, reduce,
                                            include_self=include_self), np.arange(6).reshape(2, 3) - 2,
           np.array([[5, -6, 7], [8, 9, -1]]))
    _check_inplace(lambda lib, x, s: x.index_reduce_(1, lib.tensor(idx), s, reduce, include_self=include_self),
                   A23, src)
    _grads_match(fn, A23, src, second=reduce in ("mean",))


SCATTERS = [
    (lambda lib, x, s: lib.diagonal_scatter(x, s), (2,)),
    (lambda lib, x, s: x.diagonal_scatter(s, 1), (2,)),
    (lambda lib, x, s: lib.diagonal_scatter(x, s, -1, 1, 0), (2,)),
    (lambda lib, x, s: lib.select_scatter(x, s, 1, -1), (2,)),
    (lambda lib, x, s: x.select_scatter(s, 0, 1), (3,)),
    (lambda lib, x, s: lib.slice_scatter(x, s, 1, 0, 3, 2), (2, 2)),
    (lambda lib, x, s: x.slice_scatter(s, start=-1), (1, 3)),
    (lambda lib, x, s: x.slice_scatter(s, dim=1, end=-1), (2, 2)),
]


@pytest.mark.parametrize("fn, src_shape", SCATTERS)
def test_view_scatters(fn, src_shape):
    src = RNG.standard_normal(src_shape)
    _check(fn, A23, src)
    _check(fn, A23, src.astype(np.int64))
    _grads_match(fn, A23, src)
    _raises_like(fn, A23, np.ones(tuple(n + 1 for n in src_shape)))


def test_diagflat():
    for data, offset in ((np.array([1.0, 2.0]), 0), (np.array([[1, 2], [3, 4]]), 1), (np.array(5.0), -1),
                         (np.zeros(0), 2)):
        _check(lambda lib, x: lib.diagflat(x, offset), data)
        _check(lambda lib, x: x.diagflat(offset), data)
    _grads_match(lambda lib, x: lib.diagflat(x, -2), A23)


# ---- torch.gradient ---------------------------------------------------------------------------------------
F5 = np.array([1.0, 4.0, 9.0, 16.0, 25.0])
X5 = np.array([0.0, 1.0, 3.0, 4.0, 7.0])
Y34 = np.arange(12.0).reshape(3, 4) ** 2


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("kwargs", [{}, {"spacing": 2.0}, {"spacing": [0.5]}, {"dim": 0}, {"spacing": 3, "dim": [0]}])
def test_gradient_uniform(edge_order, kwargs):
    _check(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), F5)
    _check(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), F5.astype(np.float32), atol=1e-5)
    _check(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), np.array([1, 4, 9, 16]))
    _grads_match(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), F5)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_multi_dim_and_coordinates(edge_order):
    for kwargs in ({}, {"spacing": [1.0, 2.0]}, {"dim": 1}, {"dim": (1, 0), "spacing": 2.0}, {"dim": -1}):
        _check(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), Y34)
        _grads_match(lambda lib, f: lib.gradient(f, edge_order=edge_order, **kwargs), Y34)
    _check(lambda lib, f, x: lib.gradient(f, spacing=(x,), edge_order=edge_order), F5, X5, atol=1e-9)
    _check(lambda lib, f, x: lib.gradient(f, spacing=[x], edge_order=edge_order), F5.astype(np.float32),
           X5.astype(np.float32), atol=1e-5)
    _check(lambda lib, f, x: lib.gradient(f, spacing=(x,), edge_order=edge_order), F5, X5.astype(np.int64), atol=1e-9)
    _check(lambda lib, f, a, b: lib.gradient(f, spacing=(a, b), edge_order=edge_order), Y34, np.array([0.0, 1, 3]),
           np.array([0.0, 0.5, 2, 2.5]), atol=1e-9)
    # differentiable in the values and in the coordinates
    _grads_match(lambda lib, f, x: lib.gradient(f, spacing=(x,), edge_order=edge_order), F5, X5)
    assert ag.gradient(ag.tensor(3.0)) == () == torch.gradient(torch.tensor(3.0))


# ---- errors: the same class and message as torch's ------------------------------------------------------
ERRORS = [
    (lambda lib, f: lib.gradient(f, edge_order=2), np.array([1.0, 2.0])),
    (lambda lib, f: lib.gradient(f, edge_order=3), F5),
    (lambda lib, t: lib.positive(t), np.array([True])), (lambda lib, t: lib.frac(t), np.array([1, 2])),
    (lambda lib, x: x.t_(), np.ones((2, 2, 2))), (lambda lib, x: x.unsqueeze_(3), A23),
    (lambda lib, x: x.select(0, 5), A23), (lambda lib, x: x.select(-2, -3), A23), (lambda lib, x: x.select(2, 0), A23),
    (lambda lib, x: x.select(0, 0), np.array(1.0)), (lambda lib, x: x.sum_to_size(1, 1, 3), A23),
    (lambda lib, x: x.sum_to_size(3, 3), A23), (lambda lib, x: x.is_nonzero(), np.zeros(0)),
    (lambda lib, x: x.is_nonzero(), np.zeros(2)), (lambda lib, x: x.H, np.ones((2, 2, 2))),
    (lambda lib, a, b: lib.inner(a, b), A23, np.ones((2, 4))),
    (lambda lib, a, b: lib.inner(a, b), A23, np.ones(3, np.float32)),
    (lambda lib, a, b: lib.vdot(a, b), V3, V3.astype(np.float32)), (lambda lib, a, b: lib.vdot(a, b), A23, V3),
    (lambda lib, a, b: lib.vdot(a, b), V3, np.ones(4)), (lambda lib, a, b: lib.ger(a, b), V3, A23),
    (lambda lib, a, b: lib.dist(a, b), np.array([1, 2]), np.array([3, 4])),
    (lambda lib, t: lib.unsafe_chunk(t, 0), np.arange(5.0)), (lambda lib, t: lib.unsafe_split(t, 0), np.arange(5.0)),
    (lambda lib, t: lib.unsafe_split_with_sizes(t, [1, 2]), np.arange(5.0)),
    (lambda lib, i: lib.unravel_index(i, (2, 3)), np.array([1.0])),
    (lambda lib, i: lib.unravel_index(i, (2, -3)), np.array([1])),
    (lambda lib, x, m, s: x.masked_scatter(m, s), A23, MASK, np.arange(3.0)),
    (lambda lib, x, m, s: x.masked_scatter(m, s), A23, MASK.astype(np.int32), np.arange(6.0)),
    (lambda lib, x, m, s: x.masked_scatter(m, s), A23, MASK, np.arange(6)),
    (lambda lib, x, i, s: x.put(i, s), A23, np.array([0, 6]), np.array([1.0, 2])),
    (lambda lib, x, i, s: x.put(i, s), A23, np.array([0, 1]), np.array([1.0, 2, 3])),
    (lambda lib, x, i, s: x.put(i, s), A23, np.array([0, 1], np.int32), np.array([1.0, 2])),
    (lambda lib, x, i, s: x.put(i, s), A23, np.array([0, 1]), np.array([1, 2])),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "sum"), A23, np.array([0, 0]), np.ones((2, 3))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([0, 0, 1]), np.ones((2, 3))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([0.0, 0.0]), np.ones((2, 3))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([[0, 1]]), np.ones((2, 3))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([0, 5]), np.ones((2, 3))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([0, 1]), np.ones((2, 4))),
    (lambda lib, x, i, s: x.index_reduce(0, i, s, "prod"), A23, np.array([0, 1]), np.ones((2, 3), np.float32)),
    (lambda lib, f: lib.gradient(f, spacing=[1.0, 2, 3]), Y34),
    (lambda lib, f: lib.gradient(f, spacing=[2.0], dim=[0, 1]), Y34),
    (lambda lib, f: lib.gradient(f), np.array([1.0])), (lambda lib, f: lib.gradient(f, dim=2), Y34),
    (lambda lib, f: lib.gradient(f, dim=(0, 0)), Y34),
    (lambda lib, f, x: lib.gradient(f, spacing=(x,)), F5, X5.reshape(1, 5)),
    (lambda lib, f, x: lib.gradient(f, spacing=[x, 2.0]), Y34, np.arange(3.0)),
]


@pytest.mark.parametrize("case", ERRORS)
def test_errors_like_torch(case):
    _raises_like(*case)
