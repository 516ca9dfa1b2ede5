"""The activations, dropouts and layers of ``autograd.nn.activations_more`` against torch 2.13: values, dtypes,
gradients (and second order), errors, module reprs and state_dict keys; the random ops by their structure
and statistics."""
import math
import warnings

import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
tF = torch.nn.functional


def _data(shape=(3, 4, 5), seed=0, scale=3.0):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    x.flat[:6] = [0.5, -0.5, 3.0, -3.0, 0.0, 0.1]   # the kinks and boundaries of the piecewise activations
    return x


ELEMENTWISE = [("hardshrink", (), {}), ("hardshrink", (1.2,), {}), ("softshrink", (), {}), ("softshrink", (0.1,), {}),
               ("tanhshrink", (), {}), ("threshold", (0.1, 2.0), {}), ("threshold", (-1.0, -7.0), {}),
               ("softsign", (), {}), ("celu", (), {}), ("celu", (0.5,), {}), ("hardsigmoid", (), {}),
               ("rrelu", (), {}), ("rrelu", (0.2, 0.4), {})]


@pytest.mark.parametrize("name,args,kw", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_elementwise_values_and_gradients_match_torch(name, args, kw, dtype):
    x = _data().astype(dtype)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    a, b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = getattr(F, name)(a, *args, **kw), getattr(tF, name)(b, *args, **kw)
    assert ya.dtype == a.dtype and tuple(ya.shape) == tuple(yb.shape)
    ya.backward(ag.tensor(g))
    yb.backward(torch.tensor(g))
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,args", [("hardshrink", ()), ("softshrink", ()), ("threshold", (0.0, 5.0)),
                                       ("hardsigmoid", ())])
def test_nan_propagates_as_in_torch(name, args):
    x = np.array([np.nan, -4.0, 4.0], np.float32)
    np.testing.assert_array_equal(getattr(F, name)(ag.tensor(x), *args).numpy(),
                                  getattr(tF, name)(torch.tensor(x), *args).numpy())


def test_float16_is_computed_in_float32_and_rounded_once():
    x = _data((50,)).astype(np.float16)
    for name, args in (("hardshrink", ()), ("softshrink", (0.3,)), ("hardsigmoid", ()), ("celu", (0.7,))):
        ya = getattr(F, name)(ag.tensor(x), *args)
        yb = getattr(tF, name)(torch.tensor(x), *args)
        assert ya.dtype == ag.float16
        np.testing.assert_allclose(ya.numpy().astype(np.float32), yb.numpy().astype(np.float32), rtol=1e-3,
                                   atol=1e-3)


@pytest.mark.parametrize("fn", [lambda x: F.hardshrink(x, 0.3), lambda x: F.softshrink(x, 0.3), F.tanhshrink,
                                lambda x: F.threshold(x, 0.2, -1.0), F.softsign, lambda x: F.celu(x, 0.7),
                                F.hardsigmoid, lambda x: F.rrelu(x, training=False),
                                lambda x: F.local_response_norm(x, 3, alpha=0.3, beta=0.7, k=2.0),
                                lambda x: F.channel_shuffle(x, 2)])
def test_gradcheck_and_gradgradcheck_float64(fn):
    x = ag.tensor(np.random.default_rng(2).uniform(-4, 4, (2, 4, 3)), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_second_order_matches_torch():
    x = _data((2, 5), seed=3)
    # celu: torch's double backward is off by up to ~1e-6 relative, growing with |x| (ours is the exact
    # exp(x / alpha) / alpha, which gradgradcheck confirms)
    for name, args, tol in (("celu", (0.6,), 1e-6), ("softsign", (), 1e-12), ("tanhshrink", (), 1e-12),
                            ("hardshrink", (), 1e-12), ("threshold", (0.1, 3.0), 1e-12)):
        a, b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (ga,) = ag.autograd.grad(getattr(F, name)(a, *args).sum(), a, create_graph=True)
        (gb,) = torch.autograd.grad(getattr(tF, name)(b, *args).sum(), b, create_graph=True)
        (gga,) = ag.autograd.grad((ga * ga).sum(), a, allow_unused=True)
        (ggb,) = torch.autograd.grad((gb * gb).sum(), b, allow_unused=True)
        np.testing.assert_allclose(gga.numpy(), ggb.numpy(), rtol=tol, atol=1e-12)


def test_hardsigmoid_double_backward_is_zero_where_torch_has_none():
    # torch 2.13: "derivative for aten::hardsigmoid_backward is not implemented"; the exact answer is 0
    x = ag.tensor(_data((2, 5)), requires_grad=True)
    (g,) = ag.autograd.grad(F.hardsigmoid(x).sum(), x, create_graph=True)
    (gg,) = ag.autograd.grad((g * g).sum(), x, allow_unused=True)
    assert gg is None or not gg.numpy().any()


@pytest.mark.parametrize("fn,inplace", [("threshold_", None), ("celu_", None), ("rrelu_", None),
                                        ("threshold", True), ("celu", True), ("hardsigmoid", True)])
def test_inplace_variants_write_into_the_input_and_differentiate(fn, inplace):
    x = _data((3, 4))
    args = {"threshold_": (0.2, 1.0), "threshold": (0.2, 1.0)}.get(fn, ())
    kw = {"inplace": True} if inplace else {}
    leaf_a, leaf_b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = leaf_a * 1, leaf_b * 1
    ra, rb = getattr(F, fn)(a, *args, **kw), getattr(tF, fn)(b, *args, **kw)
    assert ra is a and rb is b
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    (a * a).sum().backward()
    (b * b).sum().backward()
    np.testing.assert_allclose(leaf_a.grad.numpy(), leaf_b.grad.numpy(), rtol=1e-12)


def test_rrelu_training_draws_one_slope_per_negative_element():
    x = ag.tensor(-np.ones((200, 50)), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and len(np.unique(slopes)) > 1000
    assert abs(slopes.mean() - 0.2) < 0.005
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), slopes)   # the gradient is the drawn slope
    pos = ag.tensor(np.arange(1.0, 6.0))
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), pos.numpy())


def test_rrelu_module_uses_training_flag_and_eval_mean_slope():
    m = nn.RReLU(0.1, 0.3)
    x = ag.tensor(-np.ones(1000))
    assert len(np.unique(m(x).numpy())) > 10
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-15)


def test_prelu_matches_torch_for_shared_and_per_channel_weights():
    x = _data((3, 4, 5))
    for w in (np.array([0.25]), np.array([0.1, -0.2, 0.3, 0.5]), np.array(0.3)):
        a, wa = ag.tensor(x, requires_grad=True), ag.tensor(w, requires_grad=True)
        b, wb = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        ya, yb = F.prelu(a, wa), tF.prelu(b, wb)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-15)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-15)
        np.testing.assert_allclose(wa.grad.numpy(), wb.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda x, w: F.prelu(x, w), (ag.tensor(x[:2, :, :2], requires_grad=True),
                                                 ag.tensor(np.array([0.1, -0.2, 0.3, 0.5]), requires_grad=True)))


def test_bilinear_matches_torch_values_and_gradients():
    rng = np.random.default_rng(4)
    x1, x2, w, bias = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5)), rng.standard_normal((6, 4, 5)), \
        rng.standard_normal(6)
    A = [ag.tensor(v, requires_grad=True) for v in (x1, x2, w, bias)]
    B = [torch.tensor(v, requires_grad=True) for v in (x1, x2, w, bias)]
    ya, yb = F.bilinear(*A), tF.bilinear(*B)
    assert tuple(ya.shape) == (2, 3, 6)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-12)
    ya.sum().backward()
    yb.sum().backward()
    for p, q in zip(A, B):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-12)
    one = F.bilinear(ag.tensor(x1[0, 0]), ag.tensor(x2[0, 0]), ag.tensor(w))
    np.testing.assert_allclose(one.numpy(), tF.bilinear(torch.tensor(x1[0, 0]), torch.tensor(x2[0, 0]),
                                                        torch.tensor(w)).numpy(), rtol=1e-12)
    small = [ag.tensor(v, requires_grad=True) for v in (x1[0, :2, :2], x2[0, :2, :3], w[:2, :2, :3], bias[:2])]
    assert gradcheck(F.bilinear, small) and gradgradcheck(F.bilinear, small)


def _both_raise(fa, fb, cls):
    with pytest.raises(cls) as ea:
        fa()
    with pytest.raises(cls) as eb:
        fb()
    assert str(ea.value).split(":")[0][:40] == str(eb.value).split(":")[0][:40]


@pytest.mark.parametrize("call", [
    lambda F_, T: F_.rrelu(T(np.ones(3)), 0.5, 0.1),
    lambda F_, T: F_.softshrink(T(np.ones(3, np.float32)), -1.0),
    lambda F_, T: F_.celu(T(np.ones(3)), 0.0),
    lambda F_, T: F_.prelu(T(np.ones((3, 4))), T(np.ones((1, 4)))),
    lambda F_, T: F_.prelu(T(np.ones((3, 4))), T(np.ones(3))),
    lambda F_, T: F_.channel_shuffle(T(np.ones((4, 2))), 2),
    lambda F_, T: F_.channel_shuffle(T(np.ones((1, 4, 2))), 0),
    lambda F_, T: F_.channel_shuffle(T(np.ones((1, 5, 2))), 2),
    lambda F_, T: F_.bilinear(T(np.ones((3, 4))), T(np.ones(3)), T(np.ones((5, 4, 3)))),
    lambda F_, T: F_.bilinear(T(np.ones((3, 4))), T(np.ones((2, 3))), T(np.ones((5, 4, 3)))),
    lambda F_, T: F_.bilinear(T(np.ones((3, 4))), T(np.ones((3, 3))), T(np.ones((5, 5, 3)))),
    lambda F_, T: F_.bilinear(T(np.ones((3, 4))), T(np.ones((3, 3))), T(np.ones((5, 4, 2)))),
    lambda F_, T: F_.bilinear(T(np.ones((3, 4))), T(np.ones((3, 3))), T(np.ones((5, 4, 3))), T(np.ones(4))),
    lambda F_, T: F_.dropout1d(T(np.ones((2, 3, 4, 5))), 0.5),
    lambda F_, T: F_.feature_alpha_dropout(T(np.ones(4)), 0.5, True),
])
def test_runtime_errors_as_torch(call):
    _both_raise(lambda: call(F, ag.tensor), lambda: call(tF, torch.tensor), RuntimeError)


@pytest.mark.parametrize("call", [
    lambda F_, T: F_.local_response_norm(T(np.ones((3, 4))), 2),
    lambda F_, T: F_.alpha_dropout(T(np.ones(3)), 1.5, True),
    lambda F_, T: F_.dropout3d(T(np.ones((1, 2, 3, 4))), -0.1),
])
def test_value_errors_as_torch(call):
    _both_raise(lambda: call(F, ag.tensor), lambda: call(tF, torch.tensor), ValueError)


def test_softmax2d_matches_torch_and_checks_dims():
    x = _data((2, 3, 4, 5))
    np.testing.assert_allclose(nn.Softmax2d()(ag.tensor(x)).numpy(), torch.nn.Softmax2d()(torch.tensor(x)).numpy(),
                               rtol=1e-13)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(ag.tensor(np.ones((2, 3))))


# ---- dropouts: structure and statistics (torch's random numbers cannot be reproduced) -----------------------
@pytest.mark.parametrize("fn,feature,dims", [(F.dropout1d, True, 3), (F.dropout3d, True, 5),
                                             (F.feature_alpha_dropout, True, 4), (F.alpha_dropout, False, 2)])
def test_dropouts_eval_and_p0_are_identity_and_p1_zero(fn, feature, dims):
    x = ag.tensor(np.random.default_rng(5).standard_normal((2, 3, 4, 5, 6)[:dims]))
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0, training=True) is x
    np.testing.assert_array_equal(fn(x, 1.0, training=True).numpy(), np.zeros(x.shape))


def test_channel_dropouts_zero_whole_channels_and_scale_the_rest():
    x = ag.tensor(np.ones((40, 30, 7)), requires_grad=True)
    y = F.dropout1d(x, 0.3, training=True)
    Y = y.detach().numpy()
    assert set(np.unique(Y)) <= {0.0, 1 / 0.7}
    assert (Y == Y[:, :, :1]).all()                               # one draw per (sample, channel)
    assert abs((Y[:, :, 0] == 0).mean() - 0.3) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), Y)              # gradient: the mask times 1 / (1 - p)
    z = F.dropout3d(ag.tensor(np.ones((30, 20, 2, 3, 4))), 0.5).numpy()
    assert (z.reshape(30, 20, -1) == z.reshape(30, 20, -1)[:, :, :1]).all()
    unbatched = F.dropout1d(ag.tensor(np.ones((500, 3))), 0.5).numpy()   # (C, L): channels are dim 0
    assert (unbatched == unbatched[:, :1]).all() and 0.3 < (unbatched[:, 0] == 0).mean() < 0.7


def test_dropout3d_warns_for_other_dims_as_torch():
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d"):
        F.dropout3d(ag.tensor(np.ones((2, 3, 4))), 0.5)


def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal_input():
    x = ag.tensor(np.random.default_rng(6).standard_normal((400, 500)))
    for p in (0.2, 0.5):
        y = F.alpha_dropout(x, p, training=True).numpy()
        assert abs(y.mean()) < 0.02 and abs(y.var() - 1) < 0.03
        a = 1 / math.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
        dropped_value = -1.7580993408473766 * a * (1 - p)
        share = np.isclose(y, dropped_value, rtol=0, atol=1e-12).mean()
        assert abs(share - p) < 0.01


def test_alpha_dropout_gradient_is_the_scaled_mask_and_feature_version_per_channel():
    x = ag.tensor(np.zeros((60, 40, 3)), requires_grad=True)
    y = F.feature_alpha_dropout(x, 0.4, training=True)
    Y = y.detach().numpy()
    assert (Y == Y[:, :, :1]).all() and len(np.unique(Y)) == 2
    y.sum().backward()
    a = 1 / math.sqrt((1.7580993408473766 ** 2 * 0.4 + 1) * 0.6)
    G = x.grad.numpy()
    assert set(np.round(np.unique(G), 12)) == {0.0, round(a, 12)}
    np.testing.assert_array_equal(G == 0, np.isclose(Y, -1.7580993408473766 * a * 0.6))


def test_dropout_modules_follow_training_mode():
    x = ag.tensor(np.ones((8, 16, 10)))
    for m in (nn.AlphaDropout(0.5), nn.FeatureAlphaDropout(0.5), nn.Dropout1d(0.5)):
        assert not np.array_equal(m(x).numpy(), x.numpy())
        m.eval()
        np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.AlphaDropout(1.5)


# ---- modules ----------------------------------------------------------------------------------------------------
MODULE_CASES = [("RReLU", ()), ("RReLU", (0.1, 0.3, True)), ("Hardshrink", ()), ("Softshrink", (0.2,)),
                ("Tanhshrink", ()), ("Threshold", (0.1, 2)), ("Threshold", (1, 2, True)), ("Softsign", ()),
                ("CELU", ()), ("CELU", (2.0, True)), ("PReLU", (3,)), ("Hardsigmoid", ()), ("Hardsigmoid", (True,)),
                ("AlphaDropout", ()), ("FeatureAlphaDropout", (0.2,)), ("Dropout1d", ()), ("Dropout3d", (0.1, True)),
                ("ChannelShuffle", (2,)), ("LocalResponseNorm", (3,)), ("LocalResponseNorm", (2, 0.1, 0.5, 2.0)),
                ("Softmax2d", ()), ("Bilinear", (2, 3, 4)), ("Bilinear", (2, 3, 4, False))]


@pytest.mark.parametrize("name,args", MODULE_CASES)
def test_module_repr_and_state_dict_keys_match_torch(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_prelu_and_bilinear_parameters_as_torch():
    m = nn.PReLU(3, init=0.1)
    np.testing.assert_allclose(m.weight.detach().numpy(), [0.1] * 3, rtol=1e-7)
    assert tuple(nn.PReLU().weight.shape) == (1,) and isinstance(m.weight, nn.Parameter)
    b = nn.Bilinear(16, 3, 5)
    assert tuple(b.weight.shape) == (5, 16, 3) and tuple(b.bias.shape) == (5,)
    bound = 1 / math.sqrt(16)
    assert np.abs(b.weight.detach().numpy()).max() <= bound and np.abs(b.bias.detach().numpy()).max() <= bound
    assert np.abs(b.weight.detach().numpy()).max() > 0.8 * bound       # uniform over the whole range
    x = _data((4, 3, 2))
    ours, theirs = nn.PReLU(3), torch.nn.PReLU(3)
    np.testing.assert_allclose(ours(ag.tensor(x, dtype=ag.float32)).detach().numpy(),
                               theirs(torch.tensor(x).float()).detach().numpy(), rtol=1e-6)


def test_local_response_norm_4d_and_5d_match_torch():
    for shape, size in (((2, 7, 3, 4), 5), ((2, 6, 2, 3, 2), 2), ((3, 4, 5), 4)):
        x = _data(shape, seed=7)
        a, b = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = F.local_response_norm(a, size, 0.2, 0.6, 1.5), tF.local_response_norm(b, size, 0.2, 0.6, 1.5)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)
    empty = ag.tensor(np.ones((0, 3, 4)))
    assert F.local_response_norm(empty, 2) is empty


def test_no_warnings_from_ordinary_calls():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.celu(ag.tensor(np.array([1000.0, -1000.0])), 1.0).sum()
        F.softshrink(ag.tensor(np.array([1.0, -1.0])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.2, 0.77])
def test_dropout_output_values_are_torchs_bit_for_bit(dtype, p):
    # the masks are random, but the set of values a given input can produce must be torch's exactly
    x = np.zeros((1, 200, 50), dtype)
    x[:, :, 0] = 1.5
    for fn in ("alpha_dropout", "feature_alpha_dropout", "dropout1d"):
        ours = getattr(F, fn)(ag.tensor(x), p, True).numpy()
        theirs = getattr(tF, fn)(torch.tensor(x), p, True).numpy()
        assert set(ours.ravel().tolist()) == set(theirs.ravel().tolist())
        assert set(ours[..., 0].ravel().tolist()) == set(theirs[..., 0].ravel().tolist())
