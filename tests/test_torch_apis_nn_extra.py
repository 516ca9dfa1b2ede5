"""The nn additions (instance norm, reflect/replicate/circular padding, pixel (un)shuffle, GLU / logsigmoid /
SELU, 1-D poolings, unfold/fold, margin and embedding losses, EmbeddingBag, autograd.Variable) against torch
2.13: values and gradients in float64, torch's errors, and finite differences to second order."""
import numpy as np
import pytest

import autograd as A
import autograd.nn as nn
import autograd.nn.functional as F
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(arrays, requires_grad=True):
    ours = [A.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]
    return ours, theirs


def _compare(fn_ours, fn_torch, arrays, second=True, rtol=1e-10):
    """Values and first gradients equal torch's (float64); our gradients equal finite differences (first,
    and second order when ``second``)."""
    ours, theirs = _pair(arrays)
    o, t = fn_ours(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=1e-12)
    w = np.random.default_rng(9).standard_normal(tuple(t.shape))
    (o * A.tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    diff = [x for x in ours if x.requires_grad]
    others = {i: x for i, x in enumerate(ours) if not x.requires_grad}

    def f(*d):
        it = iter(d)
        return fn_ours(*[others[i] if i in others else next(it) for i in range(len(ours))])

    fresh = [A.tensor(x.detach().numpy(), requires_grad=True) for x in diff]
    assert gradcheck(f, fresh)
    if second:
        assert gradgradcheck(f, fresh)


def _errors_match(fn_ours, fn_torch):
    with pytest.raises(Exception) as theirs:
        fn_torch()
    with pytest.raises(theirs.type) as mine:
        fn_ours()
    assert str(mine.value) == str(theirs.value).split("  (Could")[0]


RNG = np.random.default_rng(0)


def _r(*shape):
    return RNG.standard_normal(shape)


# ---- instance norm ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 3, 4)])
def test_instance_norm_matches_torch(shape):
    C = shape[1]
    _compare(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), [_r(*shape), _r(C), _r(C)])


def test_instance_norm_modules_running_stats_and_errors():
    x = _r(4, 3, 6)
    ours, theirs = nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double(), \
        torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    for _ in range(2):
        np.testing.assert_allclose(ours(A.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(A.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x2 = _r(3, 4, 5)   # unbatched 2-D instance norm
    np.testing.assert_allclose(nn.InstanceNorm2d(3)(A.tensor(x2)).numpy(),
                               torch.nn.InstanceNorm2d(3)(torch.tensor(x2)).numpy(), rtol=1e-10)
    _errors_match(lambda: nn.InstanceNorm1d(3)(A.zeros(2, 3, 4, 5)), lambda: torch.nn.InstanceNorm1d(3)(torch.zeros(2, 3, 4, 5)))
    _errors_match(lambda: F.instance_norm(A.zeros(2, 3, 1)), lambda: TF.instance_norm(torch.zeros(2, 3, 1)))


# ---- padding ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((3, 5), (0, 3)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                       ((2, 4, 5), (3, 3, 1, 2)), ((2, 3, 5), (-1, 2))])
def test_pad_modes_match_torch(mode, shape, pad):
    _compare(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode), [_r(*shape)])


@pytest.mark.parametrize("case", ["reflect_too_big", "circular_wrap", "bad_mode", "odd", "1d_input", "4d_pad2",
                                  "value"])
def test_pad_mode_errors_match_torch(case):
    call = {"reflect_too_big": lambda T: T.nn.functional.pad(T.zeros(1, 2, 3), (3, 3), mode="reflect"),
            "circular_wrap": lambda T: T.nn.functional.pad(T.zeros(1, 2, 3), (4, 4), mode="circular"),
            "bad_mode": lambda T: T.nn.functional.pad(T.zeros(1, 2, 3), (1, 1), mode="foo"),
            "odd": lambda T: T.nn.functional.pad(T.zeros(1, 2, 3), (1,), mode="reflect"),
            "1d_input": lambda T: T.nn.functional.pad(T.zeros(3), (1, 1), mode="replicate"),
            "4d_pad2": lambda T: T.nn.functional.pad(T.zeros(1, 1, 3, 3), (1, 1), mode="reflect"),
            "value": lambda T: T.nn.functional.pad(T.zeros(1, 2, 3), (1, 1), mode="reflect", value=1.0)}[case]
    _errors_match(lambda: call(A), lambda: call(torch))


def test_padding_modules_match_torch():
    x = _r(2, 3, 4, 5)
    for name, arg in [("ReflectionPad2d", 2), ("ReplicationPad2d", (1, 2, 0, 3)), ("CircularPad2d", 1),
                      ("ZeroPad2d", (1, 0, 2, 1))]:
        o, t = getattr(nn, name)(arg), getattr(torch.nn, name)(arg)
        np.testing.assert_array_equal(o(A.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
        assert repr(o) == repr(t)
    for name in ("ReflectionPad1d", "ReplicationPad1d", "CircularPad1d"):
        o, t = getattr(nn, name)((1, 3)), getattr(torch.nn, name)((1, 3))
        np.testing.assert_array_equal(o(A.tensor(x[0])).numpy(), t(torch.tensor(x[0])).numpy())
    for o, t in [(nn.ConstantPad1d(2, 3.5), torch.nn.ConstantPad1d(2, 3.5)), (nn.ZeroPad1d((1, 2)), torch.nn.ZeroPad1d((1, 2))),
                 (nn.ConstantPad2d((1, 0, 2, 0), 1), torch.nn.ConstantPad2d((1, 0, 2, 0), 1))]:
        np.testing.assert_array_equal(o(A.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
        assert repr(o) == repr(t)


# ---- shuffles and activations -----------------------------------------------------------------------------
def test_pixel_shuffle_roundtrip_matches_torch():
    _compare(lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2), [_r(2, 8, 3, 2)])
    _compare(lambda x: F.pixel_unshuffle(x, 3), lambda x: TF.pixel_unshuffle(x, 3), [_r(2, 6, 3)])
    x = A.tensor(_r(1, 2, 9, 9, 4, 4))
    np.testing.assert_array_equal(nn.PixelShuffle(2)(nn.PixelUnshuffle(2)(x)).numpy(), x.numpy())
    _errors_match(lambda: F.pixel_shuffle(A.zeros(1, 3, 2, 2), 2), lambda: TF.pixel_shuffle(torch.zeros(1, 3, 2, 2), 2))
    _errors_match(lambda: F.pixel_unshuffle(A.zeros(1, 1, 3, 3), 2),
                  lambda: TF.pixel_unshuffle(torch.zeros(1, 1, 3, 3), 2))
    _errors_match(lambda: F.pixel_shuffle(A.zeros(3, 2), 2), lambda: TF.pixel_shuffle(torch.zeros(3, 2), 2))


@pytest.mark.parametrize("name", ["glu", "logsigmoid", "selu"])
def test_activations_match_torch(name):
    x = _r(3, 4) * 3
    x[0, :2] = [-40.0, 40.0]
    kw = {"glu": {"dim": 0}}.get(name, {})
    x = x[:, :] if name != "glu" else _r(4, 3)
    _compare(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), [x])
    mod = {"glu": nn.GLU(0), "logsigmoid": nn.LogSigmoid(), "selu": nn.SELU()}[name]
    ref = {"glu": torch.nn.GLU(0), "logsigmoid": torch.nn.LogSigmoid(), "selu": torch.nn.SELU()}[name]
    np.testing.assert_allclose(mod(A.tensor(x)).numpy(), ref(torch.tensor(x)).numpy(), rtol=1e-12)
    assert repr(mod) == repr(ref)


@pytest.mark.parametrize("name", ["logsigmoid", "selu"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_activations_low_precision_match_torch(name, dtype):
    x = (_r(64) * 4).astype(np.float32)
    o = A.tensor(x).to(getattr(A, dtype)).requires_grad_()
    t = torch.tensor(x).to(getattr(torch, dtype)).requires_grad_()
    yo, yt = getattr(F, name)(o), getattr(TF, name)(t)
    assert str(yo.dtype) == dtype
    np.testing.assert_allclose(yo.float().detach().numpy(), yt.float().detach().numpy(), rtol=1e-6, atol=1e-7)
    yo.float().sum().backward(), yt.float().sum().backward()
    np.testing.assert_allclose(o.grad.float().numpy(), t.grad.float().numpy(), rtol=1e-2 if dtype != "float32" else 1e-6,
                               atol=1e-6)


def test_selu_inplace_and_glu_errors():
    x = A.tensor([-1.0, 2.0])
    assert F.selu(x, inplace=True) is x
    np.testing.assert_allclose(x.numpy(), TF.selu(torch.tensor([-1.0, 2.0])).numpy(), rtol=1e-7)
    _errors_match(lambda: F.glu(A.zeros(2, 3), 1), lambda: TF.glu(torch.zeros(2, 3), 1))
    _errors_match(lambda: F.glu(A.zeros(())), lambda: TF.glu(torch.zeros(())))


# ---- 1-D pooling ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw", [("max_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1}),
                                     ("max_pool1d", {"kernel_size": 2, "dilation": 2, "ceil_mode": True}),
                                     ("avg_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1}),
                                     ("avg_pool1d", {"kernel_size": 3, "padding": 1, "count_include_pad": False,
                                                     "ceil_mode": True}),
                                     ("adaptive_avg_pool1d", {"output_size": 3}),
                                     ("adaptive_max_pool1d", {"output_size": 3}),
                                     ("adaptive_max_pool1d", {"output_size": 7})])
@pytest.mark.parametrize("shape", [(2, 3, 7), (3, 7)])
def test_1d_pools_match_torch(name, kw, shape):
    _compare(lambda x: getattr(F, name)(x, **kw), lambda x: getattr(TF, name)(x, **kw), [_r(*shape)])


def test_1d_pool_indices_modules_and_errors():
    x = _r(2, 3, 9)
    o, oi = F.max_pool1d(A.tensor(x), 3, 2, return_indices=True)
    t, ti = TF.max_pool1d(torch.tensor(x), 3, 2, return_indices=True)
    np.testing.assert_array_equal(oi.numpy(), ti.numpy())
    o, oi = F.adaptive_max_pool1d(A.tensor(x), 4, return_indices=True)
    t, ti = TF.adaptive_max_pool1d(torch.tensor(x), 4, return_indices=True)
    np.testing.assert_array_equal(oi.numpy(), ti.numpy())
    for mine, ref in [(nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1)), (nn.AvgPool1d(3), torch.nn.AvgPool1d(3)),
                      (nn.AdaptiveAvgPool1d(2), torch.nn.AdaptiveAvgPool1d(2)),
                      (nn.AdaptiveMaxPool1d(2), torch.nn.AdaptiveMaxPool1d(2))]:
        np.testing.assert_allclose(mine(A.tensor(x)).numpy(), ref(torch.tensor(x)).numpy(), rtol=1e-12)
        assert repr(mine) == repr(ref)
    _errors_match(lambda: F.max_pool1d(A.zeros(1, 1, 1, 3), 2), lambda: TF.max_pool1d(torch.zeros(1, 1, 1, 3), 2))
    _errors_match(lambda: F.avg_pool1d(A.zeros(3), 2), lambda: TF.avg_pool1d(torch.zeros(3), 2))
    _errors_match(lambda: F.adaptive_avg_pool1d(A.zeros(1, 1, 1, 3), 2),
                  lambda: TF.adaptive_avg_pool1d(torch.zeros(1, 1, 1, 3), 2))


# ---- unfold / fold ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": (2, 1), "padding": 1},
                                {"kernel_size": 2, "dilation": 2, "padding": (0, 1)}])
def test_unfold_fold_match_torch(kw):
    x = _r(2, 3, 5, 6)
    _compare(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), [x])
    blocks = TF.unfold(torch.tensor(x), **kw)
    _compare(lambda t: F.fold(t, (5, 6), **kw), lambda t: TF.fold(t, (5, 6), **kw), [_r(*blocks.shape)])
    np.testing.assert_allclose(nn.Unfold(**kw)(A.tensor(x[0])).numpy(), torch.nn.Unfold(**kw)(torch.tensor(x[0])).numpy())
    assert repr(nn.Fold((5, 6), **kw)) == repr(torch.nn.Fold((5, 6), **kw))


def test_unfold_fold_errors_match_torch():
    _errors_match(lambda: F.fold(A.zeros(1, 7, 4), (3, 3), 2), lambda: TF.fold(torch.zeros(1, 7, 4), (3, 3), 2))
    _errors_match(lambda: F.fold(A.zeros(1, 8, 5), (3, 3), 2), lambda: TF.fold(torch.zeros(1, 8, 5), (3, 3), 2))
    _errors_match(lambda: F.unfold(A.zeros(1, 2, 3, 3), 4), lambda: TF.unfold(torch.zeros(1, 2, 3, 3), 4))


# ---- losses -----------------------------------------------------------------------------------------------
def _signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_and_embedding_losses_match_torch(reduction):
    a, b, y = _r(6), _r(6), _signs(6)
    y_ = A.tensor(y)
    yt = torch.tensor(y)
    _compare(lambda p, q: F.margin_ranking_loss(p, q, y_, 0.3, reduction=reduction),
             lambda p, q: TF.margin_ranking_loss(p, q, yt, 0.3, reduction=reduction), [a, b])
    _compare(lambda p: F.hinge_embedding_loss(p, y_, 0.5, reduction=reduction),
             lambda p: TF.hinge_embedding_loss(p, yt, 0.5, reduction=reduction), [a])
    x1, x2, y2 = _r(5, 4), _r(5, 4), _signs(5)
    _compare(lambda p, q: F.cosine_embedding_loss(p, q, A.tensor(y2), -0.2, reduction=reduction),
             lambda p, q: TF.cosine_embedding_loss(p, q, torch.tensor(y2), -0.2, reduction=reduction), [x1, x2])
    for swap in (False, True):
        _compare(lambda p, q, r: F.triplet_margin_loss(p, q, r, 0.7, swap=swap, reduction=reduction),
                 lambda p, q, r: TF.triplet_margin_loss(p, q, r, 0.7, swap=swap, reduction=reduction),
                 [_r(5, 4), _r(5, 4), _r(5, 4)])


def test_loss_modules_and_errors_match_torch():
    a, b, y = _r(6), _r(6), _signs(6)
    pairs = [(nn.MarginRankingLoss(0.1), torch.nn.MarginRankingLoss(0.1), (a, b, y)),
             (nn.HingeEmbeddingLoss(), torch.nn.HingeEmbeddingLoss(), (a, y)),
             (nn.CosineEmbeddingLoss(reduction="sum"), torch.nn.CosineEmbeddingLoss(reduction="sum"),
              (_r(6, 3), _r(6, 3), y)),
             (nn.TripletMarginLoss(p=1.0), torch.nn.TripletMarginLoss(p=1.0), (_r(6, 3), _r(6, 3), _r(6, 3)))]
    for mine, ref, args in pairs:
        np.testing.assert_allclose(mine(*map(A.tensor, args)).numpy(), ref(*map(torch.tensor, args)).numpy(),
                                   rtol=1e-12)
    _errors_match(lambda: F.margin_ranking_loss(A.zeros(3), A.zeros(3), A.zeros(4)),
                  lambda: TF.margin_ranking_loss(torch.zeros(3), torch.zeros(3), torch.zeros(4)))
    _errors_match(lambda: F.hinge_embedding_loss(A.zeros(3), A.zeros(4)),
                  lambda: TF.hinge_embedding_loss(torch.zeros(3), torch.zeros(4)))
    _errors_match(lambda: F.triplet_margin_loss(A.zeros(3, 2), A.zeros(3, 2), A.zeros(3)),
                  lambda: TF.triplet_margin_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3)))
    _errors_match(lambda: F.cosine_embedding_loss(A.zeros(3, 2), A.zeros(3, 3), A.zeros(3)),
                  lambda: TF.cosine_embedding_loss(torch.zeros(3, 2), torch.zeros(3, 3), torch.zeros(3)))


# ---- EmbeddingBag -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["offsets", "2d", "last_offset", "padding"])
def test_embedding_bag_matches_torch(mode, layout):
    W = _r(7, 3)
    idx = np.array([1, 2, 4, 4, 3, 6, 0, 2], dtype=np.int64)
    kw = {"mode": mode}
    if layout == "2d":
        args = [idx.reshape(2, 4)]
    elif layout == "last_offset":
        args, kw["include_last_offset"] = [idx, np.array([0, 3, 3, 8])], True
    else:
        args = [idx, np.array([0, 0, 3, 5])]
        if layout == "padding":
            kw["padding_idx"] = 4
    extra_o = [A.tensor(a) for a in args[1:]]
    extra_t = [torch.tensor(a) for a in args[1:]]
    _compare(lambda w: F.embedding_bag(A.tensor(args[0]), w, *extra_o, **kw),
             lambda w: TF.embedding_bag(torch.tensor(args[0]), w, *extra_t, **kw), [W], second=mode != "max")


def test_embedding_bag_per_sample_weights_module_and_errors():
    W, idx, off, psw = _r(5, 2), np.array([0, 2, 2, 4]), np.array([0, 1]), _r(4)
    _compare(lambda w, s: F.embedding_bag(A.tensor(idx), w, A.tensor(off), mode="sum", per_sample_weights=s),
             lambda w, s: TF.embedding_bag(torch.tensor(idx), w, torch.tensor(off), mode="sum", per_sample_weights=s),
             [W, psw])
    mine = nn.EmbeddingBag(5, 2, mode="sum", padding_idx=1)
    ref = torch.nn.EmbeddingBag(5, 2, mode="sum", padding_idx=1)
    assert repr(mine) == repr(ref) and sorted(mine.state_dict()) == sorted(ref.state_dict())
    assert float(mine.weight[1].abs().sum()) == 0.0
    mine.load_state_dict({"weight": A.tensor(ref.weight.detach().numpy())})
    np.testing.assert_allclose(mine(A.tensor(idx), A.tensor(off)).detach().numpy(),
                               ref(torch.tensor(idx), torch.tensor(off)).detach().numpy(), rtol=1e-6)
    pre = nn.EmbeddingBag.from_pretrained(A.tensor(W))
    assert not pre.weight.requires_grad and pre.mode == "mean"
    for call in (lambda T: T.nn.functional.embedding_bag(T.tensor([1, 2, 3]), T.zeros(5, 2)),
                 lambda T: T.nn.functional.embedding_bag(T.tensor([1, 2, 3]), T.zeros(5, 2), T.tensor([0, 2]), mode="x"),
                 lambda T: T.nn.functional.embedding_bag(T.tensor([1, 2, 3]), T.zeros(5, 2), T.tensor([0, 2]),
                                                         mode="mean", per_sample_weights=T.ones(3)),
                 lambda T: T.nn.functional.embedding_bag(T.tensor([[1, 2, 3]]), T.zeros(5, 2), T.tensor([0, 2]))):
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(theirs.type):
            call(A)


def test_variable_is_torchs_deprecated_alias():
    from autograd.autograd import Variable

    base = A.ones(2)
    v = Variable(base, requires_grad=True)
    assert type(v) is A.Tensor and v.requires_grad and v.is_leaf and isinstance(base, Variable)
    v.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 1.0])
    assert Variable().shape == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        Variable(3)


@pytest.mark.parametrize("name", ["margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
                                  "triplet_margin_loss"])
def test_margin_losses_run_in_float32_under_cpu_autocast_as_torch(name):
    args = {"margin_ranking_loss": [(4,), (4,), "y"], "hinge_embedding_loss": [(4,), "y"],
            "cosine_embedding_loss": [(4, 3), (4, 3), "y"], "triplet_margin_loss": [(4, 3), (4, 3), (4, 3)]}[name]
    arrays = [_signs(4) if a == "y" else _r(*a) for a in args]
    with A.autocast("cpu"):
        mine = getattr(F, name)(*[A.tensor(a).to(A.bfloat16) for a in arrays])
    with torch.autocast("cpu"):
        ref = getattr(TF, name)(*[torch.tensor(a).bfloat16() for a in arrays])
    assert mine.dtype == A.float32 and ref.dtype == torch.float32
    np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-6)


def test_embedding_bag_refuses_scale_grad_by_freq():
    # torch 2.13's CPU gradient for it scales index 4 (seen once) by 1/3, the count of index 2
    W = torch.ones(5, 1, requires_grad=True)
    TF.embedding_bag(torch.tensor([2, 2, 2, 4]), W, torch.tensor([0]), mode="sum", scale_grad_by_freq=True).sum().backward()
    assert W.grad[4].item() == pytest.approx(1 / 3)
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq"):
        F.embedding_bag(A.tensor([2, 2, 2, 4]), A.ones(5, 1), A.tensor([0]), mode="sum", scale_grad_by_freq=True)
