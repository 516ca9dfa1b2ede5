"""nn.utils.prune, nn.utils.fusion, skip_init, get_total_norm and clip_grads_with_norm_, compared with torch
2.13: the same calls on copies of the same modules give the same masks, state_dict keys, values, gradients and
errors. Random pruning is compared by what it guarantees (how much is pruned, where), our generator not being
torch's."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as tprune  # noqa: E402

import autograd as ag  # noqa: E402
import autograd.nn as nn  # noqa: E402
import autograd.nn.utils.prune as aprune  # noqa: E402

RNG = np.random.default_rng(7)


def copy_into(t_module, a_module):
    a_module.load_state_dict({k: v.detach().numpy() for k, v in t_module.state_dict().items()})
    return a_module


def pair(make_torch, make_ours):
    t = make_torch()
    return t, copy_into(t, make_ours())


def linear_pair(i=5, o=4):
    return pair(lambda: torch.nn.Linear(i, o), lambda: nn.Linear(i, o))


def conv_pair():
    return pair(lambda: torch.nn.Conv2d(3, 4, 2), lambda: nn.Conv2d(3, 4, 2))


def np_of(x):
    return x.detach().numpy()


def same_state(t, a):
    ts, as_ = t.state_dict(), a.state_dict()
    assert list(as_) == list(ts)
    for k in ts:
        np.testing.assert_array_equal(np_of(as_[k]), np_of(ts[k]), err_msg=k)
        assert np_of(as_[k]).dtype == np_of(ts[k]).dtype, k


@pytest.mark.parametrize("steps", [
    [("l1_unstructured", dict(amount=0.3))],
    [("l1_unstructured", dict(amount=7))],
    [("ln_structured", dict(amount=2, n=2, dim=0))],
    [("ln_structured", dict(amount=0.5, n=1, dim=1))],
    [("ln_structured", dict(amount=1, n=float("inf"), dim=-1))],
    [("ln_structured", dict(amount=1, n=float("-inf"), dim=0))],
    [("identity", {})],
    [("l1_unstructured", dict(amount=0.25)), ("ln_structured", dict(amount=1, n=2, dim=0)),
     ("l1_unstructured", dict(amount=3))],
    [("ln_structured", dict(amount=1, n=2, dim=0)), ("ln_structured", dict(amount=1, n=1, dim=1)),
     ("l1_unstructured", dict(amount=0.5))],
])
@pytest.mark.parametrize("make", [linear_pair, conv_pair])
def test_deterministic_pruning_matches_torch(steps, make):
    t, a = make()
    for fn, kw in steps:
        getattr(tprune, fn)(t, "weight", **kw)
        assert getattr(aprune, fn)(a, "weight", **kw) is a
    same_state(t, a)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()]
    np.testing.assert_array_equal(np_of(a.weight), np_of(t.weight))
    assert type(a._forward_pre_hooks[next(iter(a._forward_pre_hooks))]).__name__ == \
        type(next(iter(t._forward_pre_hooks.values()))).__name__
    # the hook recomputes the masked weight from weight_orig before each call, and gradients reach weight_orig
    x = RNG.standard_normal((2, 5) if isinstance(t, torch.nn.Linear) else (2, 3, 4, 4)).astype(np.float32)
    with torch.no_grad():
        t.weight_orig.add_(1.0)
    a.weight_orig._data += 1.0
    (t(torch.tensor(x)) ** 2).sum().backward()
    (a(ag.tensor(x)) ** 2).sum().backward()
    scale = np.abs(t.weight_orig.grad.numpy()).max()    # sums of products cancel: compare at their scale
    np.testing.assert_allclose(a.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_array_equal(np_of(a.weight), np_of(t.weight))
    assert aprune.is_pruned(a) and tprune.is_pruned(t)
    tprune.remove(t, "weight")
    aprune.remove(a, "weight")
    same_state(t, a)
    assert isinstance(a.weight, nn.Parameter) and not aprune.is_pruned(a)


def test_importance_scores_and_the_bias():
    t, a = linear_pair()
    scores = RNG.standard_normal((4, 5)).astype(np.float32)
    tprune.l1_unstructured(t, "weight", amount=6, importance_scores=torch.tensor(scores))
    aprune.l1_unstructured(a, "weight", amount=6, importance_scores=ag.tensor(scores))
    tprune.ln_structured(t, "weight", amount=1, n=2, dim=0, importance_scores=torch.tensor(scores))
    aprune.ln_structured(a, "weight", amount=1, n=2, dim=0, importance_scores=ag.tensor(scores))
    tprune.l1_unstructured(t, "bias", amount=2)
    aprune.l1_unstructured(a, "bias", amount=2)
    same_state(t, a)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        aprune.l1_unstructured(a, "bias", amount=1, importance_scores=ag.zeros(3))


def test_custom_mask_and_global_pruning():
    mask = (RNG.random((4, 5)) > 0.5).astype(np.float32)
    t, a = linear_pair()
    tprune.custom_from_mask(t, "weight", torch.tensor(mask))
    aprune.custom_from_mask(a, "weight", ag.tensor(mask))
    same_state(t, a)

    def two(lib):
        return lib.nn.Sequential(lib.nn.Linear(5, 4), lib.nn.Linear(4, 3))

    t, a = pair(lambda: two(torch), lambda: two(ag))
    tprune.l1_unstructured(t[0], "weight", amount=5)
    aprune.l1_unstructured(a[0], "weight", amount=5)
    for prune, m, method in ((tprune, t, tprune.L1Unstructured), (aprune, a, aprune.L1Unstructured)):
        prune.global_unstructured([(m[0], "weight"), (m[1], "weight"), (m[1], "bias")], method, amount=0.4)
    same_state(t, a)
    assert type(a[1]._forward_pre_hooks[next(iter(a[1]._forward_pre_hooks))]).__name__ == "CustomFromMask"
    fresh = nn.Linear(2, 3)
    scores = {(fresh, "bias"): ag.tensor([3.0, 1.0, 2.0])}   # the scores decide, not the values
    aprune.global_unstructured([(fresh, "bias")], aprune.L1Unstructured, importance_scores=scores, amount=2)
    assert np_of(fresh.bias_mask).tolist() == [1.0, 0.0, 0.0]


def errors(lib_prune, lib, calls):
    out = []
    for call in calls:
        with pytest.raises(Exception) as ei:
            call(lib_prune, lib)
        out.append((type(ei.value).__name__, str(ei.value).replace("torch.nn.utils.prune", "P")
                    .replace("autograd.nn.utils.prune", "P").split(" at 0x")[0]))
    return out


def test_errors_match_torch():
    def linear(lib, i=5, o=4):
        return lib.nn.Linear(i, o)

    def removed_twice(P, lib):
        m = linear(lib)
        P.l1_unstructured(m, "weight", amount=1)
        P.remove(m, "weight")
        P.remove(m, "weight")

    calls = [
        lambda P, lib: P.l1_unstructured(linear(lib), "weight", amount=-1),
        lambda P, lib: P.l1_unstructured(linear(lib), "weight", amount=1.5),
        lambda P, lib: P.l1_unstructured(linear(lib), "weight", amount="a"),
        lambda P, lib: P.l1_unstructured(linear(lib), "weight", amount=21),
        lambda P, lib: P.random_unstructured(linear(lib), "weight", amount=-0.1),
        lambda P, lib: P.ln_structured(linear(lib), "bias", amount=1, n=2, dim=0),
        lambda P, lib: P.ln_structured(linear(lib), "weight", amount=1, n=2, dim=2),
        lambda P, lib: P.ln_structured(linear(lib), "weight", amount=5, n=2, dim=0),
        lambda P, lib: P.random_structured(linear(lib), "weight", amount=6, dim=1),
        lambda P, lib: P.remove(linear(lib), "weight"),
        removed_twice,
        lambda P, lib: P.global_unstructured(5, P.L1Unstructured, amount=1),
        lambda P, lib: P.global_unstructured([(linear(lib), "weight")], P.L1Unstructured, importance_scores=[1],
                                             amount=1),
        lambda P, lib: P.global_unstructured([(linear(lib), "weight")], P.LnStructured, amount=1, n=2),
        lambda P, lib: P.PruningContainer(P.L1Unstructured(1)).add_pruning_method(3),
    ]
    t, a = errors(tprune, torch, calls), errors(aprune, ag, calls)
    assert a == t       # classes and messages (module and Size reprs included; only the package name differs)


def test_failed_pruning_leaves_the_module_unpruned():
    t, a = linear_pair()
    for P, m in ((tprune, t), (aprune, a)):
        with pytest.raises(ValueError):
            P.ln_structured(m, "bias", amount=1, n=2, dim=0)
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in t.named_parameters()] == ["weight", "bias"]
    assert not aprune.is_pruned(a) and "bias_mask" not in a.state_dict()
    same_state(t, a)


def test_random_pruning_prunes_the_asked_amount():
    m = nn.Conv2d(4, 6, 3)
    aprune.random_unstructured(m, "weight", amount=0.3)
    mask = np_of(m.weight_mask)
    assert mask.size - mask.sum() == round(0.3 * mask.size)
    aprune.random_structured(m, "weight", amount=2, dim=0)
    mask2 = np_of(m.weight_mask)
    channels_zero = (mask2.reshape(6, -1).sum(axis=1) == 0)
    assert channels_zero.sum() >= 2 and np.all(mask2 <= mask)
    aprune.random_unstructured(m, "weight", amount=5)    # only among what is still there
    assert np_of(m.weight_mask).sum() == mask2.sum() - 5
    ag.manual_seed(3)
    a = aprune.RandomUnstructured(0.5).compute_mask(ag.ones(10), ag.ones(10))
    ag.manual_seed(3)
    b = aprune.RandomUnstructured(0.5).compute_mask(ag.ones(10), ag.ones(10))
    np.testing.assert_array_equal(np_of(a), np_of(b))


def test_custom_pruning_method_and_prune_method():
    for P, lib in ((tprune, torch), (aprune, ag)):
        class EveryOther(P.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        m = lib.nn.Linear(3, 2)
        EveryOther.apply(m, "bias")
        EveryOther.apply(m, "bias")     # a container: the second pass sees the one entry left
        assert np_of(m.bias_mask).tolist() == [0.0, 0.0]
        pruned = P.L1Unstructured(2).prune(lib.tensor([3.0, -1.0, 2.0, 0.5]))
        assert np_of(pruned).tolist() == [3.0, 0.0, 2.0, 0.0]


def test_pruned_state_dict_loads_into_a_pruned_module():
    t, a = linear_pair()
    tprune.l1_unstructured(t, "weight", amount=5)
    b = nn.Linear(5, 4)
    aprune.identity(b, "weight")
    b.load_state_dict({k: np_of(v) for k, v in t.state_dict().items()})
    b(ag.ones(1, 5))        # the pre-hook rebuilds weight from the loaded weight_orig and weight_mask
    np.testing.assert_array_equal(np_of(b.weight), np_of(t.weight))


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_matches_torch(transpose):
    cls_t = torch.nn.ConvTranspose2d if transpose else torch.nn.Conv2d
    cls_a = nn.ConvTranspose2d if transpose else nn.Conv2d
    tc, ac = pair(lambda: cls_t(3, 4, 2), lambda: cls_a(3, 4, 2))
    tb, ab = pair(lambda: torch.nn.BatchNorm2d(4), lambda: nn.BatchNorm2d(4))
    stats = {"running_mean": RNG.standard_normal(4), "running_var": RNG.uniform(0.3, 3, 4),
             "weight": RNG.standard_normal(4), "bias": RNG.standard_normal(4)}
    with torch.no_grad():
        for k, v in stats.items():
            getattr(tb, k).copy_(torch.tensor(v.astype(np.float32)))
    copy_into(tb, ab)
    for m in (tc, tb, ac, ab):
        m.eval()
    ft = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    fa = nn.utils.fuse_conv_bn_eval(ac, ab, transpose=transpose)
    assert fa is not ac and isinstance(fa.weight, nn.Parameter) and fa.weight.requires_grad
    np.testing.assert_array_equal(np_of(fa.weight), np_of(ft.weight))
    np.testing.assert_array_equal(np_of(fa.bias), np_of(ft.bias))
    x = RNG.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(np_of(fa(ag.tensor(x))), np_of(ab(ac(ag.tensor(x)))), rtol=1e-4, atol=1e-5)
    w, b = nn.utils.fuse_conv_bn_weights(ac.weight, None, ab.running_mean, ab.running_var, 1e-5, None, None,
                                         transpose)
    wt, bt = torch.nn.utils.fuse_conv_bn_weights(tc.weight, None, tb.running_mean, tb.running_var, 1e-5, None, None,
                                                 transpose)
    np.testing.assert_array_equal(np_of(w), np_of(wt))
    np.testing.assert_array_equal(np_of(b), np_of(bt))
    assert b.requires_grad == bt.requires_grad
    ab.train()
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(ac, ab)


def test_fuse_linear_bn_matches_torch():
    tl, al = linear_pair(5, 4)
    tb, ab = pair(lambda: torch.nn.BatchNorm1d(4), lambda: nn.BatchNorm1d(4))
    with torch.no_grad():
        tb.running_var.copy_(torch.tensor(RNG.uniform(0.3, 3, 4).astype(np.float32)))
        tb.running_mean.copy_(torch.tensor(RNG.standard_normal(4).astype(np.float32)))
        tb.weight.mul_(1.7)
    copy_into(tb, ab)
    for m in (tl, tb, al, ab):
        m.eval()
    ft, fa = torch.nn.utils.fuse_linear_bn_eval(tl, tb), nn.utils.fuse_linear_bn_eval(al, ab)
    np.testing.assert_array_equal(np_of(fa.weight), np_of(ft.weight))
    np.testing.assert_array_equal(np_of(fa.bias), np_of(ft.bias))
    msgs = []
    for lib, lin in ((torch, tl), (ag, al)):
        bn3 = lib.nn.BatchNorm1d(3).eval()
        with pytest.raises(AssertionError) as ei:
            lib.nn.utils.fuse_linear_bn_eval(lin, bn3)
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1]


def test_skip_init():
    m = nn.utils.skip_init(nn.Linear, 6, 3, bias=False)
    assert m.weight.shape == (3, 6) and m.bias is None and m.weight.requires_grad
    ag.manual_seed(0)
    first = ag.rand(4).numpy()
    ag.manual_seed(0)
    nn.utils.skip_init(nn.Linear, in_features=6, out_features=1)
    np.testing.assert_array_equal(ag.rand(4).numpy(), first)   # the skipped initialisation drew nothing
    msgs = []
    for lib in (torch, ag):
        for cls in (lib.nn.ReLU, int):
            with pytest.raises(RuntimeError) as ei:
                lib.nn.utils.skip_init(cls)
            msgs.append(str(ei.value).split("got")[0])
    assert msgs[:2] == msgs[2:]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf"), float("-inf"), 0])
def test_get_total_norm_and_clip_grads_with_norm(norm_type):
    arrays = [(RNG.standard_normal(s) * RNG.uniform(0.1, 4)).astype(np.float32) for s in [(3, 4), (5,), (2, 2)]]
    t_norm = torch.nn.utils.get_total_norm([torch.tensor(x) for x in arrays], norm_type)
    a_norm = nn.utils.get_total_norm([ag.tensor(x) for x in arrays], norm_type)
    assert a_norm.dtype == ag.float32 and a_norm.shape == ()
    np.testing.assert_allclose(a_norm.item(), t_norm.item(), rtol=2e-6)
    tp = [torch.nn.Parameter(torch.tensor(x)) for x in arrays]
    ap = [nn.Parameter(ag.tensor(x)) for x in arrays]
    for p in tp + ap:
        p.grad = p.detach().clone()
    torch.nn.utils.clip_grads_with_norm_(tp, 0.7, t_norm)
    nn.utils.clip_grads_with_norm_(ap, 0.7, ag.tensor(t_norm.numpy()))   # the same norm: bit-equal grads
    for a, t in zip(ap, tp):
        np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())


def test_total_norm_edge_cases():
    assert nn.utils.get_total_norm([]).item() == torch.nn.utils.get_total_norm([]).item() == 0.0
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.get_total_norm([ag.tensor([1.0, float("nan")])], error_if_nonfinite=True)
    p = nn.Parameter(ag.ones(2))
    nn.utils.clip_grads_with_norm_([p], 1.0, ag.tensor(5.0))   # no gradient: nothing to do
    p.grad = ag.ones(2) * 4
    nn.utils.clip_grads_with_norm_(p, 100.0, nn.utils.get_total_norm(p.grad))   # coefficient clamped at 1
    assert p.grad.numpy().tolist() == [4.0, 4.0]


def test_deepcopy_of_a_pruned_module_refuses_as_torch():
    # the pruned ``weight`` is a computed (non-leaf) tensor, which neither library deep-copies
    import copy

    msgs = []
    for P, lib in ((tprune, torch), (aprune, ag)):
        m = lib.nn.Linear(5, 4)
        P.l1_unstructured(m, "weight", amount=10)
        with pytest.raises(RuntimeError) as ei:
            copy.deepcopy(m)
        msgs.append(str(ei.value)[:90])
    assert msgs[0] == msgs[1]
