"""The factories, predicates and samplers of ``autograd.creation_more`` and the ``torch.<nn function>`` aliases of
``autograd.nn_toplevel``, against torch 2.13: values, dtypes, shapes, shared memory, warnings and errors; the
random ones by their distributions (our generator is not torch's stream)."""
import warnings

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)


def _same(ours, theirs, atol=1e-6):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64),
                               theirs.detach().numpy().astype(np.float64), atol=atol, rtol=1e-5)


def _raises_like(fn_ours, fn_theirs):
    with pytest.raises(Exception) as theirs:
        fn_theirs()
    with pytest.raises(type(theirs.value)) as ours:
        fn_ours()
    return str(ours.value), str(theirs.value)


# ---- windows ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,extra", [("hann_window", ()), ("hamming_window", ()), ("hamming_window", (0.5, 0.3)),
                                        ("blackman_window", ()), ("bartlett_window", ()), ("kaiser_window", ()),
                                        ("kaiser_window", (5.0,))])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 31])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_torch(name, extra, n, periodic):
    _same(getattr(ag, name)(n, periodic, *extra), getattr(torch, name)(n, periodic, *extra), atol=2e-6)


def test_window_defaults_dtype_and_errors_match_torch():
    _same(ag.hann_window(6), torch.hann_window(6))
    _same(ag.blackman_window(7, dtype=ag.float64), torch.blackman_window(7, dtype=torch.float64), atol=1e-12)
    ours, theirs = _raises_like(lambda: ag.hann_window(5, dtype=ag.int64), lambda: torch.hann_window(5, dtype=torch.int64))
    assert ours == theirs
    ours, theirs = _raises_like(lambda: ag.bartlett_window(-1), lambda: torch.bartlett_window(-1))
    assert ours == theirs
    assert ag.kaiser_window(4, requires_grad=True).requires_grad


# ---- ranges and simple factories -----------------------------------------------------------------------------
def test_logspace_matches_torch():
    _same(ag.logspace(0, 2, 5), torch.logspace(0, 2, 5))
    _same(ag.logspace(-1, 3, 4, base=2), torch.logspace(-1, 3, 4, base=2))
    _same(ag.logspace(0, 2, 3, dtype=ag.int64), torch.logspace(0, 2, 3, dtype=torch.int64))
    _same(ag.logspace(1, 0, 1, dtype=ag.float64), torch.logspace(1, 0, 1, dtype=torch.float64))


def test_range_includes_end_and_warns_as_torch():
    for args, kw in [((1, 4), {}), ((0, 1, 0.3), {}), ((1, 4), {"dtype": ag.int64}),
                     ((3, -1, -0.5), {})]:
        tkw = {"dtype": torch.int64} if kw else {}
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            ours = ag.range(*args, **kw)
        with warnings.catch_warnings(record=True) as expected:
            warnings.simplefilter("always")
            theirs = torch.range(*args, **tkw)
        _same(ours, theirs)
        assert [(w.category, str(w.message)) for w in got] == [(w.category, str(w.message)) for w in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in [(1, 4, 0), (4, 1)]:
            ours, theirs = _raises_like(lambda: ag.range(*args), lambda: torch.range(*args))
            assert ours == theirs
        _raises_like(lambda: ag.range(5), lambda: torch.range(5))   # no end: a TypeError in both


def test_scalar_tensor_and_empty_strided_match_torch():
    for s in (3, 2.5, True):
        _same(ag.scalar_tensor(s), torch.scalar_tensor(s))
    _same(ag.scalar_tensor(7, dtype=ag.int32), torch.scalar_tensor(7, dtype=torch.int32))
    for size, stride in [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)), ((0, 3), (3, 1))]:
        ours, theirs = ag.empty_strided(size, stride), torch.empty_strided(size, stride)
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.stride() == theirs.stride()
        assert ours.dtype == ag.float32
    assert ag.empty_strided((2, 2), (2, 1), dtype=ag.float64).dtype == ag.float64


def test_randint_like_shapes_dtypes_ranges_and_errors():
    base = ag.zeros(3, 500, dtype=ag.int32)
    a = ag.randint_like(base, 5)
    assert tuple(a.shape) == (3, 500) and a.dtype == ag.int32
    assert a.numpy().min() == 0 and a.numpy().max() == 4
    b = ag.randint_like(ag.zeros(2000), -3, 3)
    assert b.dtype == ag.float32 and set(np.unique(b.numpy())) == {-3, -2, -1, 0, 1, 2}
    ours, theirs = _raises_like(lambda: ag.randint_like(ag.zeros(2), 3, 1), lambda: torch.randint_like(torch.zeros(2), 3, 1))
    assert ours == theirs


# ---- sharing memory --------------------------------------------------------------------------------------------
def test_asarray_shares_numpy_memory_like_torch():
    arr = np.zeros(3)
    ours, theirs = ag.asarray(arr), torch.asarray(arr)
    arr[0] = 5.0
    _same(ours, theirs)
    assert ours.dtype == ag.float64
    copied = ag.asarray(arr, copy=True)
    arr[1] = 7.0
    assert copied.numpy()[1] == 0.0
    cast = ag.asarray(arr, dtype=ag.float32)
    assert cast.dtype == ag.float32 and not np.shares_memory(cast.numpy(), arr)
    ours, theirs = _raises_like(lambda: ag.asarray(arr, dtype=ag.float32, copy=False),
                                lambda: torch.asarray(arr, dtype=torch.float32, copy=False))
    assert ours == theirs


def test_asarray_tensors_sequences_and_scalars_as_torch():
    t = ag.zeros(3)
    assert ag.asarray(t) is t
    assert ag.asarray(t, dtype=ag.float64).dtype == ag.float64
    for obj in ([1, 2.5], 3, [[1, 2], [3, 4]], [True, False]):
        _same(ag.asarray(obj), torch.asarray(obj))
    _same(ag.asarray(np.float64(2.0)), torch.asarray(np.float64(2.0)))
    g = ag.asarray([1.0, 2.0], requires_grad=True)
    assert g.requires_grad and g.is_leaf


def test_frombuffer_shares_and_checks_as_torch():
    buf = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
    ours, theirs = ag.frombuffer(buf, dtype=ag.int32), torch.frombuffer(buf, dtype=torch.int32)
    _same(ours, theirs)
    buf[0] = 9
    assert ours.numpy()[0] == 9
    _same(ag.frombuffer(buf, dtype=ag.uint8, count=3, offset=2), torch.frombuffer(buf, dtype=torch.uint8, count=3, offset=2))
    for kw in ({"offset": 8}, {"count": 3}, {"offset": 1}):
        ours, theirs = _raises_like(lambda: ag.frombuffer(buf, dtype=ag.int32, **kw),
                                    lambda: torch.frombuffer(buf, dtype=torch.int32, **kw))
        assert ours == theirs


def test_dlpack_round_trips_share_memory_with_torch():
    ours = ag.arange(4.0)
    theirs = torch.from_dlpack(ours)
    theirs[0] = 10.0
    assert ours.numpy()[0] == 10.0
    back = ag.from_dlpack(theirs)
    back.numpy()[1] = 20.0
    assert theirs[1].item() == 20.0
    arr = np.ones(3)
    assert np.shares_memory(ag.from_dlpack(arr).numpy(), arr)
    with pytest.raises(RuntimeError, match="require gradient"):
        torch.from_dlpack(ag.ones(2, requires_grad=True))


# ---- predicates and dtype facts -------------------------------------------------------------------------------
def test_predicates_match_torch():
    for v in ([1.0], [0.0], [3], [True]):
        assert ag.is_nonzero(ag.tensor(v)) == torch.is_nonzero(torch.tensor(v))
    for v in ([1, 2], []):
        ours, theirs = _raises_like(lambda: ag.is_nonzero(ag.tensor(v)), lambda: torch.is_nonzero(torch.tensor(v)))
        assert ours == theirs
    assert ag.is_complex(ag.zeros(2, dtype=ag.complex64 if hasattr(ag, "complex64") else np.complex64))
    assert not ag.is_complex(ag.zeros(2))
    assert ag.is_same_size(ag.zeros(2, 3), ag.ones(2, 3)) and not ag.is_same_size(ag.zeros(2, 3), ag.zeros(3, 2))
    assert ag.is_inference(ag.zeros(2)) is False


def test_can_cast_matches_torch():
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
    for a in names:
        for b in names:
            assert ag.can_cast(getattr(ag, a), getattr(ag, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_typename_matches_torch():
    assert ag.typename(ag.zeros(2)) == torch.typename(torch.zeros(2))
    assert ag.typename(ag.zeros(2, dtype=ag.int64)) == torch.typename(torch.zeros(2, dtype=torch.int64))
    for obj in (3, int, np.zeros(2), len, "s", warnings.warn):
        assert ag.typename(obj) == torch.typename(obj)
    assert ag.typename(ag.nn.Linear(1, 1)) == "autograd.nn.linear.Linear"


def test_interop_threads_and_flush_denormal():
    before = ag.get_num_interop_threads()
    assert isinstance(before, int) and before >= 1
    try:
        ag.set_num_interop_threads(3)
        assert ag.get_num_interop_threads() == 3
        ours, theirs = _raises_like(lambda: ag.set_num_interop_threads(0), lambda: torch.set_num_interop_threads(0))
        assert ours == theirs
    finally:
        ag.set_num_interop_threads(before)
    assert ag.set_flush_denormal(True) is False and ag.set_flush_denormal(False) is False


# ---- sampling -------------------------------------------------------------------------------------------------
def test_poisson_distribution_dtype_gradient_and_errors():
    ag.manual_seed(1)
    rates = ag.full((20000,), 3.5, requires_grad=True)
    draws = ag.poisson(rates)
    v = draws.numpy()
    assert draws.dtype == ag.float32 and np.all(v == np.floor(v)) and v.min() >= 0
    assert abs(v.mean() - 3.5) < 0.06 and abs(v.var() - 3.5) < 0.15
    assert draws.grad_fn._torch_name() == torch.poisson(torch.ones(1, requires_grad=True)).grad_fn.name()
    draws.sum().backward()
    assert np.all(rates.grad.numpy() == 0)
    assert ag.poisson(ag.zeros(3, dtype=ag.float64)).dtype == ag.float64
    for bad, tbad in ((ag.tensor([-1.0]), torch.tensor([-1.0])), (ag.tensor([1]), torch.tensor([1]))):
        ours, theirs = _raises_like(lambda: ag.poisson(bad), lambda: torch.poisson(tbad))
        assert ours == theirs
    g1, g2 = ag.Generator().manual_seed(7), ag.Generator().manual_seed(7)
    assert np.array_equal(ag.poisson(ag.ones(50), g1).numpy(), ag.poisson(ag.ones(50), g2).numpy())


def test_binomial_distribution_and_errors():
    ag.manual_seed(2)
    count, prob = ag.full((20000,), 10.0), ag.full((20000,), 0.3)
    v = ag.binomial(count, prob).numpy()
    assert v.min() >= 0 and v.max() <= 10 and np.all(v == np.floor(v))
    assert abs(v.mean() - 3.0) < 0.05 and abs(v.var() - 2.1) < 0.12
    _same(ag.binomial(ag.tensor([4.0, 5.0]), ag.tensor([0.0, 1.0])), torch.binomial(torch.tensor([4.0, 5.0]), torch.tensor([0.0, 1.0])))
    _same(ag.binomial(ag.tensor([5.0, 5.5]), ag.tensor([float("nan"), 1.0])),
          torch.binomial(torch.tensor([5.0, 5.5]), torch.tensor([float("nan"), 1.0])))
    assert tuple(ag.binomial(ag.ones(4, 3), ag.full((3,), 0.5)).shape) == (4, 3)   # broadcast, as torch
    c, tc = ag.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    ours, theirs = _raises_like(lambda: ag.binomial(c, ag.full((3,), 0.5)).sum().backward(),
                                lambda: torch.binomial(tc, torch.full((3,), 0.5)).sum().backward())
    assert ours == theirs
    for c, p, tc, tp in ((ag.tensor([3.0]), ag.tensor([0.5], dtype=ag.float64), torch.tensor([3.0]), torch.tensor([0.5], dtype=torch.float64)),
                         (ag.tensor([3]), ag.tensor([0.5]), torch.tensor([3]), torch.tensor([0.5]))):
        ours, theirs = _raises_like(lambda: ag.binomial(c, p), lambda: torch.binomial(tc, tp))
        assert ours == theirs


def test_inplace_random_fills_follow_their_distributions():
    ag.manual_seed(3)
    n = 40000
    r = ag.zeros(n).random_(3, 7).numpy()
    assert set(np.unique(r)) == {3, 4, 5, 6}
    r = ag.zeros(n, dtype=ag.int64).random_(5).numpy()
    assert set(np.unique(r)) == {0, 1, 2, 3, 4}
    u8 = ag.zeros(n, dtype=ag.uint8).random_()
    assert u8.dtype == ag.uint8 and u8.numpy().max() > 250
    f = ag.zeros(n).random_().numpy()
    assert f.max() <= 2 ** 24 and f.max() > 2 ** 23 and np.all(f == np.floor(f))
    c = ag.zeros(n).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1.0) < 0.1 and abs(np.quantile(c, 0.75) - 3.0) < 0.15   # quartiles: median +- sigma
    gm = ag.zeros(n).geometric_(0.25).numpy()
    assert gm.min() == 1 and abs(gm.mean() - 4.0) < 0.1
    assert ag.zeros(5, dtype=ag.int64).geometric_(0.5).dtype == ag.int64
    ln = ag.zeros(n, dtype=ag.float64).log_normal_(0.5, 0.25).numpy()
    assert abs(np.log(ln).mean() - 0.5) < 0.01 and abs(np.log(ln).std() - 0.25) < 0.01
    g1, g2 = ag.Generator().manual_seed(5), ag.Generator().manual_seed(5)
    assert np.array_equal(ag.zeros(9).cauchy_(generator=g1).numpy(), ag.zeros(9).cauchy_(generator=g2).numpy())


def test_inplace_random_fill_errors_match_torch():
    cases = [(lambda t: t.random_(5, 2), "float32"), (lambda t: t.geometric_(0), "float32"),
             (lambda t: t.cauchy_(0, -1), "float32"), (lambda t: t.log_normal_(1, 0), "float32"),
             (lambda t: t.cauchy_(), "int64"), (lambda t: t.log_normal_(), "int64")]
    for fn, dt in cases:
        ours, theirs = _raises_like(lambda: fn(ag.zeros(3, dtype=getattr(ag, dt))),
                                    lambda: fn(torch.zeros(3, dtype=getattr(torch, dt))))
        assert ours == theirs


# ---- torch.<nn function>: ATen's signatures ----------------------------------------------------------------
def _pair(*shapes, positive=False):
    arrays = [R.standard_normal(s).astype(np.float32) for s in shapes]
    if positive:
        arrays = [np.abs(a) + 0.1 for a in arrays]
    return [ag.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _call_both(name, ours_args, theirs_args, *rest, **kw):
    return getattr(ag, name)(*ours_args, *rest, **kw), getattr(torch, name)(*theirs_args, *rest, **kw)


CONVS = [("conv1d", (2, 3, 9), (4, 3, 3), (1, 1, 1, 1)), ("conv2d", (2, 3, 7, 6), (4, 3, 3, 2), (2, 1, 1, 1)),
         ("conv3d", (1, 2, 5, 5, 4), (3, 2, 2, 2, 2), (1, 0, 1, 1)),
         ("conv_transpose1d", (2, 4, 6), (4, 3, 3), (2, 1, 1, 1)),
         ("conv_transpose2d", (1, 4, 5, 5), (4, 2, 3, 3), (2, 1, 0, 1)),
         ("conv_transpose3d", (1, 2, 3, 3, 3), (2, 2, 2, 2, 2), (1, 0, 0, 1))]


@pytest.mark.parametrize("name,xs,ws,args", CONVS)
def test_convolutions_match_torch(name, xs, ws, args):
    (x, w), (tx, tw) = _pair(xs, ws)
    bias_len = ws[1] if "transpose" in name else ws[0]
    (b,), (tb,) = _pair((bias_len,))
    ours, theirs = _call_both(name, (x, w, b), (tx, tw, tb), *args)
    _same(ours, theirs, atol=1e-4)


def test_normalisations_take_atens_positional_order():
    (x, w, b, rm, rv), (tx, tw, tb, trm, trv) = _pair((4, 3, 5), (3,), (3,), (3,), (3,))
    rv.abs_(), trv.abs_()
    for training in (True, False):
        ours = ag.batch_norm(x, w, b, rm, rv, training, 0.2, 1e-5, False)
        theirs = torch.batch_norm(tx, tw, tb, trm, trv, training, 0.2, 1e-5, False)
        _same(ours, theirs, atol=1e-5)
        _same(rm, trm), _same(rv, trv)
    ours, theirs = _raises_like(lambda: ag.batch_norm(x, None, None, None, None, False, 0.1, 1e-5, False),
                                lambda: torch.batch_norm(tx, None, None, None, None, False, 0.1, 1e-5, False))
    assert ours == theirs
    _same(ag.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
          torch.instance_norm(tx, tw, tb, None, None, True, 0.1, 1e-5, False), atol=1e-5)
    (lw, lb), (tlw, tlb) = _pair((5,), (5,))
    _same(ag.layer_norm(x, (5,), lw, lb, 1e-3, True), torch.layer_norm(tx, (5,), tlw, tlb, 1e-3, True), atol=1e-5)
    _same(ag.layer_norm(x, [3, 5]), torch.layer_norm(tx, [3, 5]), atol=1e-5)
    (g,), (tg,) = _pair((6, 4, 5))
    (gw, gb), (tgw, tgb) = _pair((4,), (4,))
    _same(ag.group_norm(g, 2, gw, gb, 1e-5, True), torch.group_norm(tg, 2, tgw, tgb, 1e-5, True), atol=1e-5)
    _same(ag.rms_norm(x, (5,), lw), torch.rms_norm(tx, (5,), tlw), atol=1e-5)


def test_embedding_takes_the_weight_first():
    (w,), (tw,) = _pair((6, 3))
    w.requires_grad_(True), tw.requires_grad_(True)
    idx = np.array([[0, 5], [3, 5]])
    for padding_idx in (-1, 5):
        w.grad, tw.grad = None, None
        ours = ag.embedding(w, ag.tensor(idx), padding_idx)
        theirs = torch.embedding(tw, torch.tensor(idx), padding_idx)
        _same(ours, theirs)
        ours.sum().backward(), theirs.sum().backward()
        _same(w.grad, tw.grad)


def test_pools_and_shuffles_match_torch():
    (x,), (tx,) = _pair((2, 3, 10))
    _same(ag.max_pool1d(x, 3), torch.max_pool1d(tx, 3))
    _same(ag.max_pool1d(x, 3, 2, 1, 1, True), torch.max_pool1d(tx, 3, 2, 1, 1, True))
    _same(ag.avg_pool1d(x, 4, 3, 2, False, False), torch.avg_pool1d(tx, 4, 3, 2, False, False))
    _same(ag.adaptive_avg_pool1d(x, 4), torch.adaptive_avg_pool1d(tx, 4))
    (v, i), (tv, ti) = ag.adaptive_max_pool1d(x, 4), torch.adaptive_max_pool1d(tx, 4)
    _same(v, tv), _same(i, ti)
    (y,), (ty,) = _pair((2, 3, 6, 8))
    _same(ag.max_pool2d(y, (2, 3)), torch.max_pool2d(ty, (2, 3)))
    (z,), (tz,) = _pair((1, 2, 4, 6, 6))
    _same(ag.max_pool3d(z, 2, 2, 1), torch.max_pool3d(tz, 2, 2, 1))
    (s,), (ts,) = _pair((2, 8, 3, 3))
    _same(ag.pixel_shuffle(s, 2), torch.pixel_shuffle(ts, 2))
    _same(ag.pixel_unshuffle(y, 2), torch.pixel_unshuffle(ty, 2))


@pytest.mark.parametrize("reduction", [0, 1, 2, 7])
def test_losses_take_the_integer_reduction(reduction):
    (a, b, c), (ta, tb, tc) = _pair((4, 5), (4, 5), (4, 5))
    sign = np.sign(R.standard_normal(4)).astype(np.float32)
    y, ty = ag.tensor(sign), torch.tensor(sign)
    logp, tlogp = a.log_softmax(1), ta.log_softmax(1)
    prob, tprob = b.softmax(1), tb.softmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # torch.kl_div does not warn about 'mean' (F.kl_div does)
        _same(ag.kl_div(logp, prob, reduction), torch.kl_div(tlogp, tprob, reduction), atol=1e-5)
        _same(ag.kl_div(logp, logp, reduction, log_target=True), torch.kl_div(tlogp, tlogp, reduction, log_target=True))
    _same(ag.margin_ranking_loss(a[:, 0], b[:, 0], y, 0.3, reduction),
          torch.margin_ranking_loss(ta[:, 0], tb[:, 0], ty, 0.3, reduction), atol=1e-5)
    ys, tys = ag.tensor(np.sign(R.standard_normal((4, 5))).astype(np.float32)), None
    tys = torch.tensor(ys.numpy())
    _same(ag.hinge_embedding_loss(a, ys, 0.5, reduction), torch.hinge_embedding_loss(ta, tys, 0.5, reduction), atol=1e-5)
    _same(ag.cosine_embedding_loss(a, b, y, 0.1, reduction), torch.cosine_embedding_loss(ta, tb, ty, 0.1, reduction), atol=1e-5)
    _same(ag.triplet_margin_loss(a, b, c, 1.0, 2, 1e-6, True, reduction),
          torch.triplet_margin_loss(ta, tb, tc, 1.0, 2, 1e-6, True, reduction), atol=1e-5)
    counts = np.abs(R.standard_normal((4, 5))).astype(np.float32)
    _same(ag.poisson_nll_loss(a, ag.tensor(counts), True, True, 1e-8, reduction),
          torch.poisson_nll_loss(ta, torch.tensor(counts), True, True, 1e-8, reduction), atol=1e-5)
    target = (R.random((4, 5)) > 0.5).astype(np.float32)
    pw = np.abs(R.standard_normal(5)).astype(np.float32)
    _same(ag.binary_cross_entropy_with_logits(a, ag.tensor(target), None, ag.tensor(pw), reduction),
          torch.binary_cross_entropy_with_logits(ta, torch.tensor(target), None, torch.tensor(pw), reduction), atol=1e-5)
    lp = R.standard_normal((6, 2, 4)).astype(np.float32)
    lp = ag.tensor(lp).log_softmax(2)
    tgt = np.array([[1, 2, 1], [3, 3, 0]])
    _same(ag.ctc_loss(lp, ag.tensor(tgt), [6, 5], [3, 2], 0, reduction),
          torch.ctc_loss(torch.tensor(lp.numpy()), torch.tensor(tgt), [6, 5], [3, 2], 0, reduction), atol=1e-5)


def test_losses_refuse_a_string_reduction_as_torch():
    (a, b), (ta, tb) = _pair((3, 4), (3, 4))
    _raises_like(lambda: ag.kl_div(a, b, "mean"), lambda: torch.kl_div(ta, tb, "mean"))


def test_distances_and_activations_match_torch():
    (a, b), (ta, tb) = _pair((4, 5), (4, 5))
    _same(ag.cosine_similarity(a, b), torch.cosine_similarity(ta, tb), atol=1e-6)
    _same(ag.cosine_similarity(a, b, 0, 1e-3), torch.cosine_similarity(ta, tb, 0, 1e-3), atol=1e-6)
    _same(ag.pairwise_distance(a, b, 1.0, 1e-6, True), torch.pairwise_distance(ta, tb, 1.0, 1e-6, True), atol=1e-5)
    _same(ag.selu(a), torch.selu(ta))
    a2, ta2 = a.clone(), ta.clone()
    assert ag.selu_(a2) is a2 and torch.selu_(ta2) is ta2
    _same(a2, ta2)
    a3, ta3 = a.clone(), ta.clone()
    ag.relu_(a3), torch.relu_(ta3)
    _same(a3, ta3)


def test_dropouts_take_a_required_train_flag():
    x = ag.ones(200, 30)
    ag.manual_seed(4)
    for name in ("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout"):
        assert getattr(ag, name)(x, 0.3, False) is x
        assert getattr(torch, name)(torch.ones(2), 0.3, False) is not None
    out = ag.dropout(x, 0.25, True).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)} and abs((out == 0).mean() - 0.25) < 0.02
    rows = ag.feature_dropout(ag.ones(300, 4, 6), 0.5, True).numpy()
    assert np.all(rows.min(axis=2) == rows.max(axis=2))   # whole (sample, channel) slices kept or dropped
    assert abs((rows[:, :, 0] == 0).mean() - 0.5) < 0.05
    y = ag.ones(50, 4)
    assert ag.dropout_(y, 0.5, True) is y and (y.numpy() == 0).any()
    for name in ("dropout", "feature_dropout"):
        ours, theirs = _raises_like(lambda: getattr(ag, name)(x, 1.5, True),
                                    lambda: getattr(torch, name)(torch.ones(2, 2), 1.5, True))
        assert ours == theirs
    ours, theirs = _raises_like(lambda: ag.feature_dropout(ag.ones(4), 0.5, True),
                                lambda: torch.feature_dropout(torch.ones(4), 0.5, True))
    assert ours == theirs
