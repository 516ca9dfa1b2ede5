"""Conv1d, ConvTranspose1d/2d, GroupNorm, RMSNorm, interpolate/Upsample and einsum against torch 2.13: values,
every gradient, state_dict layout with strict loading; finite differences; torch's errors."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd as ag
from autograd import nn
import autograd.nn.functional as F

from _layer_parity import assert_matches_torch
from test_nn_gradcheck import gradcheck

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(name, *args, **kw):
    return getattr(nn, name)(*args, **kw).double(), getattr(tnn, name)(*args, **kw).double()


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, dilation=2, groups=2), dict(padding="same"),
                                dict(bias=False, padding="valid")])
def test_conv1d_matches_torch(kw):
    assert_matches_torch(*_pair("Conv1d", 4, 6, 3, **kw), [R(2, 4, 9)])
    assert_matches_torch(*_pair("Conv1d", 4, 6, 3, **kw), [R(4, 9)])


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=2, output_padding=(1, 2)),
                                dict(bias=False, dilation=2, output_padding=1)])
def test_conv_transpose2d_matches_torch(kw):
    assert_matches_torch(*_pair("ConvTranspose2d", 4, 6, (3, 2), **kw), [R(2, 4, 5, 6)])


def test_conv_transpose2d_output_size_and_unbatched_match_torch():
    ours, theirs = _pair("ConvTranspose2d", 2, 3, 3, stride=2)
    assert_matches_torch(ours, theirs, [R(1, 2, 4, 4)], lambda m, x: m(x, output_size=(10, 10)),
                         lambda m, x: m(x, output_size=(10, 10)))
    assert_matches_torch(ours, theirs, [R(2, 4, 4)])
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(ag.zeros(1, 2, 4, 4, dtype=ag.float64), output_size=(12, 12))


@pytest.mark.parametrize("kw", [dict(), dict(stride=3, padding=2, output_padding=1, groups=2), dict(dilation=3)])
def test_conv_transpose1d_matches_torch(kw):
    assert_matches_torch(*_pair("ConvTranspose1d", 4, 6, 3, **kw), [R(2, 4, 7)])


def test_conv_transpose_gradients_match_finite_differences():
    w, b = R(2, 3, 3, 2, seed=1), R(3, seed=2)
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), R(1, 2, 3, 3), w, b)
    gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=2, dilation=2), R(1, 2, 4), R(2, 3, 2, seed=3))


def test_conv_transpose_second_derivative_matches_torch():
    x, w = R(1, 2, 3, 3), R(2, 3, 2, 2, seed=1)
    xo, wo = ag.tensor(x, requires_grad=True), ag.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    go = ag.autograd.grad(F.conv_transpose2d(xo, wo, stride=2).pow(2).sum(), [xo, wo], create_graph=True)
    gt = torch.autograd.grad(TF.conv_transpose2d(xt, wt, stride=2).pow(2).sum(), [xt, wt], create_graph=True)
    (go[0].sum() + go[1].pow(2).sum()).backward()
    (gt[0].sum() + gt[1].pow(2).sum()).backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_conv_transpose_layout_and_initialisation_match_torch():
    m, t = nn.ConvTranspose2d(64, 32, 3, groups=2), tnn.ConvTranspose2d(64, 32, 3, groups=2)
    assert tuple(m.weight.shape) == tuple(t.weight.shape) == (64, 16, 3, 3)
    bound = 1 / np.sqrt(16 * 9)   # fan_in of a transposed weight: out_channels // groups * kernel
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.weight.numpy()).max() > 0.9 * bound
    assert repr(m) == repr(t) and repr(nn.Conv1d(2, 3, 3, padding=1)) == repr(tnn.Conv1d(2, 3, 3, padding=1))


@pytest.mark.parametrize("shape,groups,kw", [((2, 6, 5), 3, {}), ((2, 4, 3, 3), 2, dict(affine=False)),
                                             ((3, 4), 4, dict(eps=1e-3)), ((2, 4, 3), 2, dict(bias=False))])
def test_group_norm_matches_torch(shape, groups, kw):
    assert_matches_torch(*_pair("GroupNorm", groups, shape[1], **kw), [R(*shape)])


@pytest.mark.parametrize("ns,kw", [(5, {}), ((3, 5), dict(eps=1e-3)), (5, dict(elementwise_affine=False))])
def test_rms_norm_matches_torch(ns, kw):
    ours, theirs = _pair("RMSNorm", ns, **kw)
    if kw.get("elementwise_affine", True):
        theirs.weight.data.normal_()
    assert_matches_torch(ours, theirs, [R(2, 3, 5)])


def test_norm_gradients_match_finite_differences():
    gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), R(2, 4, 3), R(4, seed=1), R(4, seed=2))
    gradcheck(lambda x, w: F.rms_norm(x, (3,), w, 1e-6), R(2, 4, 3), R(3, seed=1))


def test_norm_bad_input_raises_torch_errors():
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(3, 4)
    for fo, ft in [(lambda: F.group_norm(ag.zeros(2, 6, 3), 4), lambda: TF.group_norm(torch.zeros(2, 6, 3), 4)),
                   (lambda: F.rms_norm(ag.zeros(2, 3), (4,)), lambda: TF.rms_norm(torch.zeros(2, 3), (4,)))]:
        with pytest.raises(RuntimeError) as eo:
            fo()
        with pytest.raises(RuntimeError) as et:
            ft()
        assert str(eo.value) == str(et.value)


_INTERP = [("nearest", None, dict(size=(7, 9))), ("nearest", None, dict(scale_factor=1.7)),
           ("nearest-exact", None, dict(scale_factor=2)), ("bilinear", False, dict(size=(3, 4))),
           ("bilinear", False, dict(scale_factor=1.7)), ("bilinear", True, dict(size=(7, 9))),
           ("bilinear", True, dict(scale_factor=(2, 0.5)))]


@pytest.mark.parametrize("mode,align,kw", _INTERP)
def test_interpolate_and_upsample_match_torch(mode, align, kw):
    assert_matches_torch(nn.Upsample(mode=mode, align_corners=align, **kw),
                         tnn.Upsample(mode=mode, align_corners=align, **kw), [R(2, 3, 5, 6)])


@pytest.mark.parametrize("mode,shape", [("linear", (2, 3, 5)), ("nearest", (2, 3, 5)), ("trilinear", (1, 2, 3, 4, 2))])
def test_interpolate_other_ranks_match_torch(mode, shape):
    assert_matches_torch(nn.Upsample(scale_factor=2, mode=mode), tnn.Upsample(scale_factor=2, mode=mode),
                         [R(*shape)])


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(h=st.integers(1, 5), w=st.integers(1, 5), oh=st.integers(1, 8), ow=st.integers(1, 8),
       mode=st.sampled_from(["nearest", "bilinear"]), align=st.booleans())
def test_interpolate_over_sizes_matches_torch(h, w, oh, ow, mode, align):
    a = align if mode == "bilinear" else None
    assert_matches_torch(nn.Upsample((oh, ow), mode=mode, align_corners=a), tnn.Upsample((oh, ow), mode=mode,
                                                                                        align_corners=a),
                         [R(1, 2, h, w)])


def test_interpolate_gradient_matches_finite_differences():
    gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"), R(1, 1, 3, 4))


def test_interpolate_bad_arguments_raise_torch_errors():
    x, xt = ag.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    for kw, err in [(dict(), ValueError), (dict(size=2, scale_factor=2), ValueError),
                    (dict(size=2, align_corners=True), ValueError)]:
        with pytest.raises(err) as eo:
            F.interpolate(x, **kw)
        with pytest.raises(err) as et:
            TF.interpolate(xt, **kw)
        assert str(eo.value) == str(et.value)
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D input"):
        F.interpolate(ag.zeros(1, 1, 4), size=3, mode="bilinear")


_EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("ij->j", [(3, 4)]),
           ("i,j", [(3,), (4,)]), ("...ij,...jk", [(5, 2, 3), (3, 4)]), ("ijk,k->", [(2, 3, 4), (4,)]),
           ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("ij,kj->ik", [(1, 3), (4, 3)]),
           ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)])]


@pytest.mark.parametrize("eq,shapes", _EINSUM)
def test_einsum_matches_torch(eq, shapes):
    arrays = [R(*s, seed=i) for i, s in enumerate(shapes)]
    fo = type("E", (), {"__call__": lambda self, *a: ag.einsum(eq, *a), "state_dict": lambda self: {},
                        "load_state_dict": lambda self, sd, strict=True: None,
                        "named_parameters": lambda self: iter(())})()
    ft = type("E", (), {"__call__": lambda self, *a: torch.einsum(eq, *a), "state_dict": lambda self: {},
                        "load_state_dict": lambda self, sd, strict=True: None,
                        "named_parameters": lambda self: iter(())})()
    assert_matches_torch(fo, ft, arrays)


def test_einsum_gradients_and_second_derivative():
    gradcheck(lambda a, b: ag.einsum("bij,bkj->bik", a, b), R(2, 3, 2), R(2, 4, 2, seed=1))
    x, y = ag.tensor(R(3, 3), requires_grad=True), ag.tensor(R(3, 3, seed=1), requires_grad=True)
    g, = ag.autograd.grad(ag.einsum("ij,jk->", x, y) ** 2, x, create_graph=True)
    g.sum().backward()
    # f = s^2 with s = sum_j a_j b_j (a: column sums of x, b: row sums of y): sum(df/dx) = 6 s sum(b), whose
    # derivative in y_jk is 6 (a_j sum(b) + s)
    a, b = x.numpy().sum(0), y.numpy().sum(1)
    s = float(a @ b)
    np.testing.assert_allclose(y.grad.numpy(), np.broadcast_to((6 * (a * b.sum() + s))[:, None], (3, 3)), rtol=1e-10)
