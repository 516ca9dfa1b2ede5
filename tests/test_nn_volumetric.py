"""3-D convolution / pooling, adaptive max, LP, unpooling and fractional pools, affine_grid and grid_sample:
values, indices, shapes, gradients (input, weight, bias, grid), errors and modules against torch 2.13, and
finite differences (first and second order) in float64."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as A  # noqa: E402
import autograd.nn as nn  # noqa: E402
import autograd.nn.functional as F  # noqa: E402
from autograd.autograd import gradcheck, gradgradcheck  # noqa: E402

TF = torch.nn.functional


def _rng(seed=0):
    return np.random.default_rng(seed)


def _compare(ours, theirs, arrays, grad=(0,), atol=1e-10, indices=False, seed=1):
    """Run both on the same arrays; compare outputs (and indices), then gradients of a random projection
    w.r.t. the arrays whose positions are in ``grad``."""
    ta = [torch.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    oa = [A.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    to, oo = theirs(*ta), ours(*oa)
    if indices:
        np.testing.assert_array_equal(oo[1].numpy(), to[1].numpy())
        assert oo[1].dtype == A.int64
        to, oo = to[0], oo[0]
    assert tuple(oo.shape) == tuple(to.shape)
    np.testing.assert_allclose(oo.detach().numpy(), to.detach().numpy(), rtol=atol, atol=atol)
    g = _rng(seed).standard_normal(tuple(to.shape)).astype(arrays[0].dtype)
    to.backward(torch.tensor(g))
    oo.backward(A.tensor(g))
    for i in grad:
        np.testing.assert_allclose(oa[i].grad.numpy(), ta[i].grad.numpy(), rtol=atol, atol=atol)


def _randn(*shape, seed=0, dtype=np.float64):
    return _rng(seed).standard_normal(shape).astype(dtype)


# ---- conv3d / conv_transpose3d ------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,kw", [
    (((2, 4, 5, 6, 7), (6, 2, 3, 2, 3), (6,)), dict(stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1), groups=2)),
    (((2, 3, 5, 6, 7), (4, 3, 2, 3, 2), (4,)), dict(padding="same", dilation=(1, 2, 1))),
    (((3, 5, 6, 7), (4, 3, 2, 3, 2), (4,)), dict(padding="valid", stride=2)),
    (((1, 2, 3, 3, 3), (2, 2, 3, 3, 3), (2,)), dict(padding=1)),
])
def test_conv3d_matches_torch(shapes, kw):
    arrays = [_randn(*s, seed=i) for i, s in enumerate(shapes)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's note on 'same' with even kernels
        _compare(lambda x, w, b: F.conv3d(x, w, b, **kw), lambda x, w, b: TF.conv3d(x, w, b, **kw), arrays,
                 grad=(0, 1, 2))


def test_conv3d_float32_close():
    arrays = [_randn(2, 4, 6, 6, 6, dtype=np.float32), _randn(8, 4, 3, 3, 3, seed=1, dtype=np.float32)]
    _compare(lambda x, w: F.conv3d(x, w, padding=1), lambda x, w: TF.conv3d(x, w, padding=1), arrays, grad=(0, 1),
             atol=1e-4)


@pytest.mark.parametrize("shapes,kw", [
    (((2, 4, 3, 4, 5), (4, 3, 2, 3, 2), (6,)), dict(stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2),
                                                    groups=2, dilation=(1, 2, 1))),
    (((4, 3, 4, 5), (4, 3, 3, 3, 2), (3,)), dict(stride=2, padding=1)),
    (((1, 2, 2, 2, 2), (2, 1, 1, 1, 1), (1,)), dict()),
])
def test_conv_transpose3d_matches_torch(shapes, kw):
    arrays = [_randn(*s, seed=i) for i, s in enumerate(shapes)]
    _compare(lambda x, w, b: F.conv_transpose3d(x, w, b, **kw), lambda x, w, b: TF.conv_transpose3d(x, w, b, **kw),
             arrays, grad=(0, 1, 2))


def test_conv3d_errors_as_torch():
    x, w = A.randn(1, 2, 3, 3, 3), A.randn(2, 2, 2, 2, 2)
    cases = [
        lambda f, x, w: f.conv3d(x, w, stride=2, padding="same"),
        lambda f, x, w: f.conv3d(x, w, padding="full"),
        lambda f, x, w: f.conv3d(x[0, 0], w),
        lambda f, x, w: f.conv3d(x, w[:, :1]),
        lambda f, x, w: f.conv3d(x, w, groups=2),
        lambda f, x, w: f.conv3d(x[:, :, :1], w),
        lambda f, x, w: f.conv_transpose3d(x, w, stride=2, output_padding=2),
        lambda f, x, w: f.conv_transpose3d(x, w[:1]),
    ]
    tx, tw = torch.randn(1, 2, 3, 3, 3), torch.randn(2, 2, 2, 2, 2)
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(TF, tx, tw)
        with pytest.raises(theirs.type):
            case(F, x, w)


def test_conv3d_gradcheck_first_and_second_order():
    r = _rng(3)
    x = A.tensor(r.standard_normal((1, 2, 4, 5, 4)), requires_grad=True)
    w = A.tensor(r.standard_normal((4, 1, 2, 3, 2)), requires_grad=True)
    b = A.tensor(r.standard_normal(4), requires_grad=True)

    def conv(x, w, b):
        return F.conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)

    assert gradcheck(conv, (x, w, b)) and gradgradcheck(conv, (x, w, b))
    xt = A.tensor(r.standard_normal((1, 4, 3, 2, 3)), requires_grad=True)
    wt = A.tensor(r.standard_normal((4, 1, 2, 2, 3)), requires_grad=True)

    def convt(x, w):
        return F.conv_transpose3d(x, w, None, stride=(2, 1, 2), padding=(1, 0, 0), output_padding=(1, 0, 1), groups=2)

    assert gradcheck(convt, (xt, wt)) and gradgradcheck(convt, (xt, wt))


# ---- 3-D pools ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ints", [False, True])   # integer-valued data: many ties, torch keeps the first
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 7, 8, 9), dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 0), dilation=(1, 2, 1),
                           ceil_mode=True)),
    ((3, 6, 5, 7), dict(kernel_size=2)),
    ((1, 2, 5, 5, 5), dict(kernel_size=3, stride=2, padding=1)),
])
def test_max_pool3d_values_indices_grads(shape, kw, ints):
    x = _randn(*shape)
    if ints:
        x = np.round(2 * x)
    _compare(lambda t: F.max_pool3d(t, return_indices=True, **kw),
             lambda t: TF.max_pool3d(t, return_indices=True, **kw),
             [x], indices=True)


def test_max_pool3d_nan_keeps_the_last_nan_as_torch():
    x = _randn(1, 1, 4, 3, 3)
    x[0, 0, 1] = np.nan
    x[0, 0, 2, 0] = np.nan
    ours = F.max_pool3d(A.tensor(x), (3, 2, 2), stride=1, return_indices=True)[1]
    theirs = TF.max_pool3d(torch.tensor(x), (3, 2, 2), stride=1, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("kw", [
    dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 0), ceil_mode=True),
    dict(kernel_size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, divisor_override=3),
])
def test_avg_pool3d_matches_torch(kw):
    _compare(lambda t: F.avg_pool3d(t, **kw), lambda t: TF.avg_pool3d(t, **kw), [_randn(2, 3, 7, 8, 9)])


@pytest.mark.parametrize("shape,size", [((2, 3, 7, 5, 9), (3, 2, 4)), ((3, 7, 5, 9), (3, None, 4)),
                                        ((1, 2, 3, 4, 5), 1)])
def test_adaptive_avg_pool3d_matches_torch(shape, size):
    _compare(lambda t: F.adaptive_avg_pool3d(t, size), lambda t: TF.adaptive_avg_pool3d(t, size), [_randn(*shape)])


@pytest.mark.parametrize("ints", [False, True])
@pytest.mark.parametrize("fn,shape,size", [
    ("adaptive_max_pool2d", (2, 3, 7, 9), (3, 4)), ("adaptive_max_pool2d", (3, 5, 5), 7),
    ("adaptive_max_pool3d", (3, 7, 5, 9), (3, None, 4)), ("adaptive_max_pool3d", (1, 2, 4, 6, 5), 2),
])
def test_adaptive_max_pools_match_torch(fn, shape, size, ints):
    x = _randn(*shape)
    if ints:
        x = np.round(2 * x)
    _compare(lambda t: getattr(F, fn)(t, size, return_indices=True), lambda t: getattr(TF, fn)(t, size, True), [x],
             indices=True)


def test_pool3d_errors_as_torch():
    cases = [
        lambda f, x: f.max_pool3d(x, 2, padding=2),
        lambda f, x: f.max_pool3d(x[0, 0, 0], 2),
        lambda f, x: f.avg_pool3d(x, 5),
        lambda f, x: f.avg_pool3d(x, 2, divisor_override=0),
        lambda f, x: f.adaptive_max_pool2d(x[0, 0], (1, 2, 3)),
        lambda f, x: f.adaptive_avg_pool3d(x[0, 0, 0], 2),
    ]
    a = _randn(1, 2, 3, 4, 4)
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(TF, torch.tensor(a))
        with pytest.raises(theirs.type):
            case(F, A.tensor(a))


# ---- LP pools, unpooling, fractional max pooling ------------------------------------------------------------
@pytest.mark.parametrize("fn,shape,args", [
    ("lp_pool2d", (2, 3, 9, 10), (2, (2, 3))), ("lp_pool2d", (2, 3, 9, 10), (3, 3, 2, True)),
    ("lp_pool1d", (3, 9, 10), (1.5, 3, 2, True)), ("lp_pool3d", (2, 3, 5, 6, 4), (2, 2, 1)),
])
def test_lp_pools_match_torch(fn, shape, args):
    x = np.abs(_randn(*shape)) if args[0] != 3 else _randn(*shape)
    x[..., 0, :2] = 0.0          # a window of zeros: torch's gradient there is 0, not NaN
    with np.errstate(all="ignore"):
        _compare(lambda t: getattr(F, fn)(t, *args), lambda t: getattr(TF, fn)(t, *args), [x], atol=1e-10)


def test_lp_pool_zero_window_gradient_is_zero():
    x = A.zeros(1, 1, 2, 4, requires_grad=True)
    with np.errstate(all="ignore"):   # the power's own gradient at 0 is infinite; the select discards it
        F.lp_pool2d(x, 2, 2).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((1, 1, 2, 4)))


@pytest.mark.parametrize("nsp,shape,kw", [
    (1, (3, 9, 10), dict(kernel_size=3, stride=2)),
    (2, (2, 3, 8, 10), dict(kernel_size=2)),
    (2, (3, 8, 10), dict(kernel_size=2, stride=2, output_size=(2, 3, 9, 11))),
    (3, (2, 3, 6, 6, 8), dict(kernel_size=2)),
])
def test_max_unpool_matches_torch(nsp, shape, kw):
    pool = getattr(TF, f"max_pool{nsp}d")
    out_size = kw.pop("output_size", None)
    o, i = pool(torch.tensor(_randn(*shape)), kw["kernel_size"], kw.get("stride"), return_indices=True)
    name = f"max_unpool{nsp}d"
    _compare(lambda v, idx: getattr(F, name)(v, idx, output_size=out_size, **kw),
             lambda v, idx: getattr(TF, name)(v, idx, output_size=out_size, **kw), [o.numpy(), i.numpy()])


def test_max_unpool_errors_as_torch():
    cases = [
        lambda m, x, i: m.max_unpool2d(x, i + 100, 2),
        lambda m, x, i: m.max_unpool2d(x, i[:, :, :1], 2),
        lambda m, x, i: m.max_unpool2d(x, i.int() if hasattr(i, "int") else i, 2),
        lambda m, x, i: m.max_unpool2d(x, i, 2, output_size=(3, 3)),
        lambda m, x, i: m.max_unpool2d(x[0, 0], i[0, 0], 2),
    ]
    x = _randn(1, 1, 4, 4)
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(TF, torch.tensor(x), torch.zeros(1, 1, 4, 4, dtype=torch.long))
        with pytest.raises(theirs.type):
            case(F, A.tensor(x), A.zeros(1, 1, 4, 4, dtype=A.int64))


@pytest.mark.parametrize("fn,shape,kernel,kw,dtype", [
    ("fractional_max_pool2d", (2, 3, 9, 10), (2, 3), dict(output_size=(4, 5)), np.float64),
    ("fractional_max_pool2d", (2, 3, 9, 10), 2, dict(output_ratio=(0.5, 0.7)), np.float64),
    ("fractional_max_pool2d", (2, 3, 9, 10), 3, dict(output_size=(7, 8)), np.float32),
    ("fractional_max_pool2d", (3, 9, 10), 2, dict(output_size=(3, 4)), np.float64),
    ("fractional_max_pool3d", (2, 3, 6, 6, 8), 2, dict(output_size=(3, 4, 5)), np.float64),
])
def test_fractional_max_pool_matches_torch_given_samples(fn, shape, kernel, kw, dtype):
    nsp = 2 if fn.endswith("2d") else 3
    n = 1 if len(shape) == nsp + 1 else shape[0]
    samples = _rng(5).random((n, shape[-nsp - 1], nsp)).astype(dtype)
    _compare(lambda x, s: getattr(F, fn)(x, kernel, return_indices=True, _random_samples=s, **kw),
             lambda x, s: getattr(TF, fn)(x, kernel, return_indices=True, _random_samples=s, **kw),
             [_randn(*shape, dtype=dtype), samples], indices=True)


def test_fractional_max_pool_errors_and_random_samples():
    x = A.randn(2, 3, 8, 8)
    out = F.fractional_max_pool2d(x, 2, output_size=4)
    assert tuple(out.shape) == (2, 3, 4, 4)
    with pytest.raises(ValueError):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError):
        F.fractional_max_pool2d(x, 5, output_size=5)
    with pytest.raises(RuntimeError):
        F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=A.rand(2, 2, 2))
    with pytest.raises(RuntimeError):
        F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=A.rand(2, 3, 2, dtype=A.float64))


# ---- affine_grid / grid_sample ------------------------------------------------------------------------------
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 4, 5, 3), (2, 1, 1, 3)])
def test_affine_grid_matches_torch(size, align):
    theta = _randn(size[0], 2, 3) if len(size) == 4 else _randn(size[0], 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # both warn on unit-size grids with align_corners
        _compare(lambda t: F.affine_grid(t, size, align), lambda t: TF.affine_grid(t, size, align), [theta])


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode,nd", [("bilinear", 4), ("nearest", 4), ("bicubic", 4), ("bilinear", 5),
                                     ("nearest", 5)])
def test_grid_sample_matches_torch(mode, nd, padding_mode, align):
    if nd == 4:
        x, grid = _randn(2, 3, 5, 6), _rng(1).uniform(-1.3, 1.3, (2, 4, 7, 2))
    else:
        x, grid = _randn(2, 3, 4, 5, 6), _rng(1).uniform(-1.3, 1.3, (2, 3, 4, 2, 3))
    _compare(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align),
             lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align), [x, grid], grad=(0, 1))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_grid_sample_reflection_far_outside_and_float32(mode):
    x, grid = _randn(2, 3, 5, 6), _rng(2).uniform(-5, 5, (2, 4, 7, 2))
    _compare(lambda a, g: F.grid_sample(a, g, mode, "reflection", False),
             lambda a, g: TF.grid_sample(a, g, mode, "reflection", False), [x, grid], grad=(0, 1))
    _compare(lambda a, g: F.grid_sample(a, g, mode, "border", True),
             lambda a, g: TF.grid_sample(a, g, mode, "border", True),
             [x.astype(np.float32), grid.astype(np.float32)], grad=(0, 1), atol=1e-4)


def test_grid_sample_grid_on_the_border_has_torch_gradient():
    # coordinates exactly on the borders: torch's clip passes no gradient there
    x = _randn(1, 1, 3, 4)
    grid = np.array([[[[-1.0, -1.0], [1.0, 1.0], [0.0, 1.0]]]])
    _compare(lambda a, g: F.grid_sample(a, g, "bilinear", "border", True),
             lambda a, g: TF.grid_sample(a, g, "bilinear", "border", True), [x, grid], grad=(0, 1))


def test_grid_sample_and_affine_grid_errors_and_warning():
    cases = [
        lambda f, x, g: f.grid_sample(x, g, mode="cubic", align_corners=False),
        lambda f, x, g: f.grid_sample(x, g, padding_mode="wrap", align_corners=False),
        lambda f, x, g: f.grid_sample(x, g[..., :1], align_corners=False),
        lambda f, x, g: f.grid_sample(x, g[:1], align_corners=False),
        lambda f, x, g: f.grid_sample(x[:, :, :0], g, align_corners=False),
        lambda f, x, g: f.affine_grid(g[:, 0, :2], (2, 3, 4), align_corners=False),
        lambda f, x, g: f.affine_grid(g[:, 0, :2], (2, 3, 4, 5, 6), align_corners=False),
        lambda f, x, g: f.affine_grid(g[:, 0, :2, :], (2, 3, 0, 5), align_corners=False),
    ]
    x, g = _randn(2, 3, 4, 5), _randn(2, 3, 3, 2)
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(TF, torch.tensor(x), torch.tensor(g))
        with pytest.raises(theirs.type):
            case(F, A.tensor(x), A.tensor(g))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(A.tensor(x), A.tensor(g))


# ---- finite differences, first and second order ------------------------------------------------------------
def _t(r, *shape):
    return A.tensor(r.standard_normal(shape), requires_grad=True)


def test_pools_and_grid_sample_gradcheck_second_order():
    r = _rng(7)
    samples = A.tensor(r.random((1, 2, 2)))
    idx = A.tensor(np.array([[[[0, 3], [9, 14]]]]))
    cases = [
        (lambda x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True), (_t(r, 1, 2, 4, 4, 5),)),
        (lambda x: F.avg_pool3d(x, (2, 3, 2), (2, 1, 2), (1, 1, 0), ceil_mode=True, count_include_pad=False),
         (_t(r, 1, 2, 4, 4, 5),)),
        (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), (_t(r, 1, 2, 4, 5, 5),)),
        (lambda x: F.adaptive_max_pool2d(x, (2, 3)), (_t(r, 1, 2, 5, 5),)),
        (lambda x: F.adaptive_max_pool3d(x, (2, 3, 2)), (_t(r, 1, 2, 4, 5, 5),)),
        (lambda x: F.lp_pool2d(x, 2, 2), (_t(r, 1, 2, 4, 4),)),
        (lambda x: F.max_unpool2d(x, idx, 2), (_t(r, 1, 1, 2, 2),)),
        (lambda x: F.fractional_max_pool2d(x, 2, (3, 3), _random_samples=samples), (_t(r, 1, 2, 5, 6),)),
        (lambda t: F.affine_grid(t, (1, 1, 3, 4), align_corners=False), (_t(r, 1, 2, 3),)),
    ]
    for mode, pm in (("bilinear", "zeros"), ("bilinear", "reflection"), ("bicubic", "border")):
        grid = A.tensor(r.uniform(-1.2, 1.2, (1, 3, 2, 2)), requires_grad=True)
        cases.append((lambda x, g, mode=mode, pm=pm: F.grid_sample(x, g, mode, pm, align_corners=False),
                      (_t(r, 1, 2, 4, 5), grid)))
    grid5 = A.tensor(r.uniform(-1.2, 1.2, (1, 2, 2, 2, 3)), requires_grad=True)
    cases.append((lambda x, g: F.grid_sample(x, g, "bilinear", "border", align_corners=True), (_t(r, 1, 2, 3, 4, 5),
                                                                                              grid5)))
    for fn, args in cases:
        assert gradcheck(fn, args)
        assert gradgradcheck(fn, args)


# ---- modules ------------------------------------------------------------------------------------------------
def test_conv3d_modules_parameters_init_repr_and_state_dict():
    A.manual_seed(0)
    ours = nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2)
    theirs = torch.nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=1, groups=2).double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)
    bound = 1 / np.sqrt(2 * 3 * 2 * 3)          # kaiming_uniform(a=sqrt(5)) and the bias: 1 / sqrt(fan_in)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    assert np.abs(ours.bias.detach().numpy()).max() <= bound
    ours.double()
    ours.load_state_dict({k: A.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = _randn(2, 4, 5, 6, 5)
    np.testing.assert_allclose(ours(A.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-10)
    ct_ours = nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)
    ct_theirs = torch.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, groups=2, bias=False).double()
    assert repr(ct_ours) == repr(ct_theirs)
    assert list(ct_ours.state_dict()) == list(ct_theirs.state_dict())
    ct_ours.double().load_state_dict({k: A.tensor(v.detach().numpy()) for k, v in ct_theirs.state_dict().items()})
    y = _randn(1, 4, 3, 3, 3)
    np.testing.assert_allclose(ct_ours(A.tensor(y), output_size=(6, 6, 5)).detach().numpy(),
                               ct_theirs(torch.tensor(y), output_size=(6, 6, 5)).detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("MaxPool3d", (2,), dict(), (2, 3, 4, 4, 4)), ("MaxPool3d", ((2, 1, 2),), dict(stride=1, ceil_mode=True),
                                                   (3, 4, 5, 5)),
    ("AvgPool3d", (3, 2, 1), dict(count_include_pad=False), (2, 3, 5, 5, 5)),
    ("AdaptiveAvgPool3d", ((2, 3, None),), dict(), (2, 3, 5, 5, 5)),
    ("AdaptiveMaxPool2d", (3,), dict(), (2, 3, 7, 7)), ("AdaptiveMaxPool3d", (2,), dict(), (2, 3, 5, 4, 5)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9)), ("LPPool2d", (1.5, 2), dict(ceil_mode=True), (2, 3, 5, 5)),
    ("UpsamplingNearest2d", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", (), dict(size=(7, 9)), (2, 3, 4, 5)),
])
def test_pool_modules_match_torch(name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = np.abs(_randn(*shape))
    _compare(ours, theirs, [x])


def test_unpool_and_fractional_modules_match_torch():
    for n in (1, 2, 3):
        ours, theirs = getattr(nn, f"MaxUnpool{n}d")(2), getattr(torch.nn, f"MaxUnpool{n}d")(2)
        assert repr(ours) == repr(theirs)
    pool_o, pool_t = nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    x = _randn(2, 3, 6, 8)
    vo, io = pool_o(A.tensor(x))
    vt, it = pool_t(torch.tensor(x))
    np.testing.assert_allclose(nn.MaxUnpool2d(2)(vo, io).numpy(), torch.nn.MaxUnpool2d(2)(vt, it).numpy())
    samples = _rng(4).random((2, 3, 2))
    fo = nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True, _random_samples=A.tensor(samples))
    ft = torch.nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True,
                                      _random_samples=torch.tensor(samples))
    assert list(fo.state_dict()) == list(ft.state_dict())
    _compare(fo, ft, [x], indices=True)
    for kwargs in (dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5)):
        with pytest.raises(ValueError):
            nn.FractionalMaxPool2d(2, **kwargs)


# ---- the CuPy path (the strict stand-in without a GPU) ------------------------------------------------------
def test_family_on_cuda_matches_cpu(cuda_env):
    r = _rng(11)
    x5, x4 = r.standard_normal((2, 4, 5, 6, 5)), r.standard_normal((2, 4, 7, 6))
    w, wt = r.standard_normal((6, 2, 2, 3, 2)), r.standard_normal((4, 3, 2, 2, 2))
    theta, grid, samples = r.standard_normal((2, 2, 3)), r.uniform(-1.2, 1.2, (2, 3, 4, 2)), r.random((2, 4, 2))
    five = [
        lambda a, w, wt: F.conv3d(a, w, padding=1, groups=2),
        lambda a, w, wt: F.conv_transpose3d(a, wt, stride=2, padding=1, output_padding=1),
        lambda a, w, wt: F.max_pool3d(a, 2, 1, 1, ceil_mode=True), lambda a, w, wt: F.avg_pool3d(a, 3, 2, 1),
        lambda a, w, wt: F.adaptive_avg_pool3d(a, (2, 3, 2)), lambda a, w, wt: F.adaptive_max_pool3d(a, (2, 3, 2)),
    ]
    four = [
        lambda a, g, t, s: F.adaptive_max_pool2d(a, (3, 4)), lambda a, g, t, s: F.lp_pool2d(a, 2, 2),
        lambda a, g, t, s: F.fractional_max_pool2d(a, 2, (3, 3), _random_samples=s),
        lambda a, g, t, s: F.grid_sample(a, g, "bilinear", "reflection", False),
        lambda a, g, t, s: F.grid_sample(a, g, "bicubic", "border", True),
        lambda a, g, t, s: F.affine_grid(t, (2, 4, 3, 5), align_corners=False),
    ]

    def run(case, arrays, extra, dev):
        ts = [A.tensor(v, device=dev, requires_grad=True) for v in arrays]
        y = case(*ts, *[A.tensor(v, device=dev) for v in extra])
        y.sum().backward()
        return [y.cpu().detach().numpy()] + [t.grad.cpu().numpy() for t in ts if t.grad is not None]

    runs = [(c, (x5, w, wt), ()) for c in five] + [(c, (x4, grid, theta), (samples,)) for c in four]
    for case, arrays, extra in runs:
        for on_cpu, on_cuda in zip(run(case, arrays, extra, "cpu"), run(case, arrays, extra, "cuda")):
            np.testing.assert_allclose(on_cuda, on_cpu, atol=1e-10)
