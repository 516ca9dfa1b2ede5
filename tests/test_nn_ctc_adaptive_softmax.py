"""F.ctc_loss / nn.CTCLoss and nn.AdaptiveLogSoftmaxWithLoss against torch: values, gradients (torch's CTC
gradient, NaN where torch has NaN), gradcheck, double backward, shapes and errors."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd  # noqa: E402
import autograd.nn as ann  # noqa: E402
import autograd.nn.functional as AF  # noqa: E402
from autograd.autograd import gradcheck  # noqa: E402

TF = torch.nn.functional


def _both(values, dtype=np.float64):
    """The same log-softmax values as a torch leaf and an autograd leaf."""
    t = torch.tensor(np.asarray(values, dtype=dtype)).log_softmax(-1).detach().requires_grad_()
    return t, autograd.tensor(t.detach().numpy(), requires_grad=True)


def _lengths_for(lib, lengths):
    return lib.tensor(np.asarray(lengths)) if isinstance(lengths, np.ndarray) else lengths


def _ctc_pair(x, targets, il, tl, rng, **kw):
    """Loss and gradient (of a random weighting of the loss) from torch and from us."""
    lt, la = _both(x, x.dtype)
    loss_t = TF.ctc_loss(lt, torch.tensor(targets), _lengths_for(torch, il), _lengths_for(torch, tl), **kw)
    loss_a = AF.ctc_loss(la, autograd.tensor(np.asarray(targets)), _lengths_for(autograd, il),
                         _lengths_for(autograd, tl), **kw)
    w = rng.standard_normal(tuple(loss_t.shape)).astype(x.dtype)
    grad_t, = torch.autograd.grad((loss_t * torch.tensor(w)).sum(), lt)
    (loss_a * autograd.tensor(w)).sum().backward()
    return loss_t.detach().numpy(), loss_a.numpy(), grad_t.numpy(), la.grad.numpy()


def _close(ours, ref, tol):
    assert ours.shape == ref.shape
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    assert np.array_equal(np.isposinf(ours), np.isposinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=tol, atol=tol)


SMALL_TARGETS = np.array([[1, 1, 2, 0], [1, 2, 3, 3], [2, 0, 0, 0]])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("il,tl", [
    ([5, 5, 4], [3, 4, 0]),      # all feasible, one empty target
    ([5, 3, 4], [3, 4, 0]),      # target longer than the input: infinite loss, NaN gradient
    ([2, 3, 4], [2, 2, 0]),      # a repeated label needs a blank between: infeasible in 2 frames
    ([0, 5, 4], [1, 4, 0]),      # no frames with a target: infinite, no gradient at all
    ([0, 5, 4], [0, 4, 0]),      # no frames, empty target: loss -0.0
])
def test_ctc_matches_torch_float64(reduction, zero_infinity, il, tl):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 4))
    ref, ours, gref, gours = _ctc_pair(x, SMALL_TARGETS, il, tl, rng, reduction=reduction,
                                       zero_infinity=zero_infinity)
    _close(np.asarray(ours), np.asarray(ref), 1e-12)
    _close(gours, gref, 1e-12)


@pytest.mark.parametrize("blank", [0, 3])
@pytest.mark.parametrize("concatenated", [False, True])
@pytest.mark.parametrize("as_tensors", [False, True])
def test_ctc_larger_batch_layouts(blank, concatenated, as_tensors):
    rng = np.random.default_rng(1)
    T, N, C, S = 40, 6, 7, 10
    targets = rng.integers(0, C - 1, (N, S))
    targets[targets >= blank] += 1                       # no blank inside the targets
    targets[:, 1::3] = targets[:, ::3][:, :targets[:, 1::3].shape[1]]   # repeated labels
    il = rng.integers(15, T + 1, N)
    tl = rng.integers(0, S + 1, N)
    il[0], tl[0] = T, S
    if concatenated:
        targets = np.concatenate([targets[n, :tl[n]] for n in range(N)])
    if as_tensors:
        il, tl = il.astype(np.int32), tl
    else:
        il, tl = tuple(int(v) for v in il), [int(v) for v in tl]
    x = rng.standard_normal((T, N, C))
    ref, ours, gref, gours = _ctc_pair(x, targets, il, tl, rng, blank=blank, reduction="none")
    _close(ours, ref, 1e-10)
    _close(gours, gref, 1e-10)


def test_ctc_float32_close_and_dtype():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((30, 4, 6)).astype(np.float32)
    targets = rng.integers(1, 6, (4, 8))
    ref, ours, gref, gours = _ctc_pair(x, targets, [30, 25, 20, 30], [8, 5, 3, 0], rng)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert gours.dtype == np.float32
    np.testing.assert_allclose(gours, gref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_unbatched(reduction):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 5))
    for targets, il, tl in [(np.array([1, 2, 2]), [6], [3]), (np.array([[1, 3]]), (6,), (2,))]:
        ref, ours, gref, gours = _ctc_pair(x, targets, il, tl, rng, reduction=reduction)
        assert np.shape(ours) == np.shape(ref) == ()
        _close(np.asarray(ours), np.asarray(ref), 1e-12)
        _close(gours, gref, 1e-12)
    lt, la = _both(x)
    ours = AF.ctc_loss(la, autograd.tensor(np.array([1, 2])), autograd.tensor(6), autograd.tensor(2), reduction="none")
    ref = TF.ctc_loss(lt, torch.tensor([1, 2]), torch.tensor(6), torch.tensor(2), reduction="none")
    assert ours.shape == () and abs(ours.item() - ref.item()) < 1e-12


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_gradcheck_through_log_softmax(reduction, zero_infinity):
    # torch's CTC gradient adds softmax(log_probs), which a log_softmax in front removes: the composition is
    # the function whose finite differences the gradient must match (sample 1 is infeasible)
    rng = np.random.default_rng(4)
    x = autograd.tensor(rng.standard_normal((6, 3, 5)), requires_grad=True)
    targets = autograd.tensor(np.array([[1, 2, 2], [3, 4, 0], [1, 0, 0]]))
    il, tl = [6, 5, 4], [3, 2, 1]
    if zero_infinity:
        il[1] = 1
    assert gradcheck(lambda v: AF.ctc_loss(AF.log_softmax(v, 2), targets, il, tl, reduction=reduction,
                                           zero_infinity=zero_infinity), (x,))


def test_ctc_gradient_adds_softmax_as_torch():
    # on raw log-probabilities torch's gradient is not the finite-difference one: we follow torch
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 1, 3))
    ref, ours, gref, gours = _ctc_pair(x, np.array([[1, 2]]), [4], [2], rng, reduction="sum")
    _close(gours, gref, 1e-12)
    lt, _ = _both(x)
    assert not torch.autograd.gradcheck(lambda v: TF.ctc_loss(v, torch.tensor([[1, 2]]), [4], [2]), (lt,),
                                        raise_exception=False)


def test_ctc_double_backward_raises_as_torch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 2, 4))
    xt = torch.tensor(x, requires_grad=True)
    xa = autograd.tensor(x, requires_grad=True)
    targets = np.array([[1, 2], [3, 0]])
    gt, = torch.autograd.grad(TF.ctc_loss(xt.log_softmax(2), torch.tensor(targets), [5, 4], [2, 1]), xt,
                              create_graph=True)
    ga, = autograd.autograd.grad(AF.ctc_loss(AF.log_softmax(xa, 2), autograd.tensor(targets), [5, 4], [2, 1]),
                                 xa, create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert ga.requires_grad and gt.requires_grad
    with pytest.raises(RuntimeError) as ref:
        gt.sum().backward()
    with pytest.raises(RuntimeError) as ours:
        ga.sum().backward()
    assert str(ours.value) == str(ref.value)


def test_ctc_loss_module_and_graph():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 2, 5))
    lt, la = _both(x)
    targets = np.array([[1, 2, 3], [4, 4, 0]])
    for kw in ({}, {"blank": 4, "reduction": "sum"}, {"zero_infinity": True}):
        ref = torch.nn.CTCLoss(**kw)(lt, torch.tensor(targets % 4 if kw.get("blank") else targets), [8, 3], [3, 2])
        ours = ann.CTCLoss(**kw)(la, autograd.tensor(targets % 4 if kw.get("blank") else targets), [8, 3], [3, 2])
        _close(np.asarray(ours.numpy()), ref.detach().numpy(), 1e-12)
    none = AF.ctc_loss(la, autograd.tensor(targets), [8, 6], [3, 2], reduction="none")
    assert none.grad_fn.name() == "CtcLossBackward0"
    assert isinstance(ann.CTCLoss(), ann.Module) and ann.CTCLoss().blank == 0


def _error(fn):
    try:
        fn()
    except Exception as exc:   # noqa: BLE001  (the error class is what is compared)
        return type(exc), str(exc)
    return None


def _ctc_call(lib, F, lp, targets, il, tl, **kw):
    return lambda: F.ctc_loss(lp, lib.tensor(targets), il, tl, **kw)


@pytest.mark.parametrize("case", [
    dict(il=[6, 5, 4], tl=[3, 4, 0]),
    dict(il=[5, 5, 4], tl=[3, 5, 0]),
    dict(il=[-1, 5, 4], tl=[3, 4, 0]),
    dict(il=[5, 5, 4], tl=[-1, 4, 0]),
    dict(il=[5, 5], tl=[3, 4, 0]),
    dict(il=[5, 5, 4], tl=[3, 4]),
    dict(targets=SMALL_TARGETS[:2]),
    dict(targets=SMALL_TARGETS[None]),
    dict(targets=np.array([1, 1, 2, 1, 2, 3])),
    dict(targets=np.array([1, 1, 2, 1, 2, 3, 3, 1])),
    dict(shape=(1, 5, 3, 4)),
    dict(shape=(5,)),
    dict(blank=4),
    dict(blank=-1),
    dict(reduction="average"),
    dict(batch=0),
])
def test_ctc_errors_as_torch(case):
    shape = case.get("shape", (5, 3, 4))
    x = np.random.default_rng(8).standard_normal(shape)
    if case.get("batch") == 0:
        x = x[:, :0]
    targets = case.get("targets", SMALL_TARGETS if case.get("batch") != 0 else SMALL_TARGETS[:0])
    il = case.get("il", [5, 5, 4] if case.get("batch") != 0 else [])
    tl = case.get("tl", [3, 4, 0] if case.get("batch") != 0 else [])
    kw = {k: case[k] for k in ("blank", "reduction") if k in case}
    ref = _error(_ctc_call(torch, TF, torch.tensor(x), targets, il, tl, **kw))
    ours = _error(_ctc_call(autograd, AF, autograd.tensor(x), targets, il, tl, **kw))
    assert ref is not None and ours == ref


def test_ctc_argument_types():
    lp = autograd.tensor(np.log(np.full((4, 1, 3), 1 / 3)))
    with pytest.raises(RuntimeError, match="input_lengths must be integral"):
        AF.ctc_loss(lp, autograd.tensor(np.array([[1]])), autograd.tensor(np.array([4.0])), [1])
    with pytest.raises(TypeError):
        AF.ctc_loss(lp, autograd.tensor(np.array([[1]])), [4.0], [1])
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        AF.ctc_loss(lp.half(), autograd.tensor(np.array([[1]])), [4], [1])
    with pytest.raises(RuntimeError, match="out of bounds"):   # torch reads out of bounds here
        AF.ctc_loss(lp, autograd.tensor(np.array([[3]])), [4], [1])
    # all paths of a uniform distribution: the count of alignments of "1" in 4 frames over 3 classes
    value = AF.ctc_loss(lp, autograd.tensor(np.array([[1]])), [4], [1], reduction="sum").item()
    assert value == pytest.approx(-np.log(10 / 81), rel=1e-12)


# ---- adaptive softmax -------------------------------------------------------------------------------------
def _asm_pair(in_features, n_classes, cutoffs, dtype=torch.float64, **kw):
    """torch's module and ours holding torch's initial weights."""
    torch.manual_seed(0)
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, **kw).to(dtype)
    ours = ann.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, **kw)
    ours = ours.double() if dtype == torch.float64 else ours.float()
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ref, ours


@pytest.mark.parametrize("cutoffs,div_value,head_bias", [([3, 7, 12], 2.0, False), ((5,), 4.0, True),
                                                          ([2, 4, 6, 8, 10], 1.5, False)])
def test_asm_structure_as_torch(cutoffs, div_value, head_bias):
    ref, ours = _asm_pair(16, 20, cutoffs, div_value=div_value, head_bias=head_bias)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert ours.cutoffs == ref.cutoffs and ours.shortlist_size == ref.shortlist_size
    assert ours.n_clusters == ref.n_clusters and ours.head_size == ref.head_size
    assert repr(ours) == repr(ref)


def _sharpen_clusters(ref, ours, scale=6.0):
    # large cluster rows in the head make some rows' best head entry a cluster, so predict visits the tails
    w = ref.head.weight.detach().numpy().copy()
    w[ref.shortlist_size:] *= scale
    with torch.no_grad():
        ref.head.weight.copy_(torch.tensor(w))
    state = ours.state_dict()
    state["head.weight"] = w
    ours.load_state_dict({k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in state.items()})


@pytest.mark.parametrize("head_bias", [False, True])
def test_asm_forward_backward_log_prob_predict_float64(head_bias):
    ref, ours = _asm_pair(8, 20, [3, 7, 12], div_value=2.0, head_bias=head_bias)
    _sharpen_clusters(ref, ours)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((32, 8))
    target = rng.integers(0, 20, 32)
    target[:4] = [0, 19, 7, 12]
    xt = torch.tensor(x, requires_grad=True)
    xa = autograd.tensor(x, requires_grad=True)
    out_t = ref(xt, torch.tensor(target))
    out_a = ours(xa, autograd.tensor(target))
    assert type(out_a).__name__ == "_ASMoutput" and out_a._fields == ("output", "loss")
    np.testing.assert_allclose(out_a.output.numpy(), out_t.output.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert abs(out_a.loss.item() - out_t.loss.item()) < 1e-12
    (out_t.loss + 0.5 * out_t.output[3]).backward()
    (out_a.loss + 0.5 * out_a.output[3]).backward()
    np.testing.assert_allclose(xa.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    for (name, p_a), (_, p_t) in zip(ours.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p_a.grad.numpy(), p_t.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)
    lp_t = ref.log_prob(torch.tensor(x)).detach().numpy()
    lp_a = ours.log_prob(autograd.tensor(x)).numpy()
    np.testing.assert_allclose(lp_a, lp_t, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(np.exp(lp_a).sum(1), 1.0, rtol=1e-12)
    pred_t = ref.predict(torch.tensor(x)).numpy()
    pred_a = ours.predict(autograd.tensor(x)).numpy()
    assert (pred_t >= 3).any() and (pred_t < 3).any()       # both branches of predict
    np.testing.assert_array_equal(pred_a, pred_t)
    np.testing.assert_array_equal(pred_a, lp_a.argmax(1))
    for rows in (pred_t < 3, pred_t >= 3):                   # all rows in the shortlist / all in a tail
        np.testing.assert_array_equal(ours.predict(autograd.tensor(x[rows])).numpy(),
                                      ref.predict(torch.tensor(x[rows])).numpy())


def test_asm_float32_and_unbatched():
    ref, ours = _asm_pair(6, 10, [4], dtype=torch.float32)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    target = np.array([0, 9, 4, 3, 7])
    out_t, out_a = ref(torch.tensor(x), torch.tensor(target)), ours(autograd.tensor(x), autograd.tensor(target))
    assert out_a.output.dtype == autograd.float32
    np.testing.assert_allclose(out_a.output.numpy(), out_t.output.detach().numpy(), rtol=1e-5, atol=1e-6)
    one_t = ref(torch.tensor(x[1]), torch.tensor(target[1]))
    one_a = ours(autograd.tensor(x[1]), autograd.tensor(target[1]))
    assert one_a.output.shape == tuple(one_t.output.shape) == ()
    assert one_a.output.item() == pytest.approx(one_t.output.item(), rel=1e-5)
    assert one_a.loss.item() == pytest.approx(one_t.loss.item(), rel=1e-5)


@pytest.mark.parametrize("cutoffs", [[], [3, 3], [0, 3], [3, 10], [6, 3], [3.5], [3.0]])
def test_asm_bad_cutoffs_as_torch(cutoffs):
    ref = _error(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs))
    ours = _error(lambda: ann.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs))
    assert ref is not None and ours == ref


@pytest.mark.parametrize("x_shape,target", [((4, 8), [0, 9, 10, 1]), ((4, 8), [-1, 2, 3, 4]), ((4, 8), [[1]]),
                                            ((4, 8), 3), ((8,), [3]), ((3, 8), [3, 1]), ((1, 4, 8), [3, 1])])
def test_asm_bad_targets_as_torch(x_shape, target):
    ref_m, ours_m = _asm_pair(8, 10, [3, 6], div_value=2.0)
    x = np.random.default_rng(11).standard_normal(x_shape)
    ref = _error(lambda: ref_m(torch.tensor(x), torch.tensor(target)))
    ours = _error(lambda: ours_m(autograd.tensor(x), autograd.tensor(np.array(target))))
    assert ref is not None and ours is not None and ours[0] is ref[0]
    if "found inputs with size" not in ref[1]:   # torch's message there embeds a torch.Size
        assert ours[1] == ref[1]


def test_asm_log_prob_predict_need_rows_as_torch():
    ref_m, ours_m = _asm_pair(8, 10, [3, 6], div_value=2.0)
    for name in ("log_prob", "predict"):
        ref = _error(lambda: getattr(ref_m, name)(torch.zeros(8, dtype=torch.float64)))
        ours = _error(lambda: getattr(ours_m, name)(autograd.zeros(8, dtype=autograd.float64)))
        assert ref is not None and ours == ref
