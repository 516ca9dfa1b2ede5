"""Module API: registration, traversal, state_dict round trips and failures, modes, hooks, dtype moves."""
import copy
import pickle

import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = mlp()
        self.head = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Identity()})
        self.scale = nn.Parameter(ag.ones(1))
        self.register_buffer("steps", ag.zeros((), dtype=ag.int64))
        self.register_buffer("scratch", ag.zeros(2), persistent=False)

    def forward(self, x):
        return self.head["a"](self.body(x)) * self.scale


def test_names_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.3.weight", "body.3.bias",
        "head.a.weight", "head.a.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "scratch", "body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked"]
    assert list(net.state_dict()) == [
        "scale", "steps", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.1.running_mean",
        "body.1.running_var", "body.1.num_batches_tracked", "body.3.weight", "body.3.bias", "head.a.weight",
        "head.a.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "body.2", "body.3", "head",
                                                   "head.a", "head.b"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert net.get_submodule("body.3") is net.body[3]
    assert net.get_parameter("head.a.bias") is net.head["a"].bias
    assert isinstance(net.scale, nn.Parameter) and net.scale.requires_grad


def test_shared_parameters_counted_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError):
        m.weight = ag.ones(2, 2)  # a plain Tensor where a Parameter is registered
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    with pytest.raises(KeyError):
        m.register_buffer("a.b", ag.zeros(1))
    with pytest.raises(TypeError):
        m.add_module("x", 3)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = m.nope
    del m.weight
    assert "weight" not in dict(m.named_parameters())


def test_state_dict_round_trip_with_tensors_and_numpy():
    a, b = mlp(), mlp()
    a(ag.randn(6, 4))  # move the running stats
    sd = a.state_dict()
    assert sd["1.num_batches_tracked"].item() == 1 and sd["1.num_batches_tracked"].dtype == np.int64
    res = b.load_state_dict({k: v.numpy() for k, v in sd.items()})
    assert res.missing_keys == [] and res.unexpected_keys == [] and repr(res) == "<All keys matched successfully>"
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(v.numpy(), w.numpy())
    w_obj = b[0].weight
    b.load_state_dict(sd)
    assert b[0].weight is w_obj  # copied in place: optimizers keep their references
    sd["0.weight"]._data[0, 0] = 123.0  # state_dict shares storage with the parameter, as torch
    assert a[0].weight.numpy()[0, 0] == 123.0


def _snapshot(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("mutate,message", [
    (lambda sd: sd.pop("3.bias"), 'Missing key(s) in state_dict: "3.bias"'),
    (lambda sd: sd.__setitem__("9.weight", np.zeros(2)), 'Unexpected key(s) in state_dict: "9.weight"'),
    (lambda sd: sd.__setitem__("3.weight", np.zeros((2, 6))),
     "size mismatch for 3.weight: copying a param with shape torch.Size([2, 6]) from checkpoint, the shape in "
     "current model is torch.Size([2, 5])"),
])
def test_load_state_dict_strict_failures_leave_module_unchanged(mutate, message):
    src, dst = mlp(), mlp()
    before = _snapshot(dst)
    sd = {k: v.numpy() + 1.0 for k, v in src.state_dict().items()}
    mutate(sd)
    with pytest.raises(RuntimeError) as ei:
        dst.load_state_dict(sd)
    assert "Error(s) in loading state_dict for Sequential" in str(ei.value)
    assert message in str(ei.value)
    after = _snapshot(dst)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_load_state_dict_non_strict_reports_keys():
    m = mlp()
    sd = m.state_dict()
    del sd["0.bias"]
    sd["extra"] = ag.zeros(1)
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["0.bias"] and res.unexpected_keys == ["extra"]
    bad = dict(sd, **{"0.weight": np.zeros((1, 1))})
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict(bad, strict=False)  # shape errors raise even when not strict (as torch)
    with pytest.raises(TypeError):
        m.load_state_dict([1, 2])


def test_load_state_dict_tolerates_old_batchnorm_without_num_batches_tracked():
    m = mlp()
    sd = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert m.load_state_dict(sd).missing_keys == []


def test_load_state_dict_casts_dtype_and_accepts_torch_tensors():
    m = nn.Linear(2, 2).double()
    m.load_state_dict({"weight": np.ones((2, 2), dtype=np.float32), "bias": np.array([1, 2])})
    assert m.weight.dtype == np.float64 and m.bias.tolist() == [1.0, 2.0]
    torch = pytest.importorskip("torch")
    t = torch.nn.Linear(2, 2)
    m.load_state_dict(t.state_dict())
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy())


def test_train_eval_and_dropout():
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    assert m.training and m[1].training
    m.eval()
    assert not m.training and not m[1].training
    x = ag.randn(4, 3)
    np.testing.assert_array_equal(m(x).numpy(), m(x).numpy())
    m.train()
    assert m[1].training
    with pytest.raises(ValueError):
        m.train("yes")
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.5)


def test_zero_grad_and_requires_grad():
    m = nn.Linear(3, 2)
    m(ag.randn(4, 3)).sum().backward()
    g = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and np.all(g.numpy() == 0)
    m.zero_grad()
    assert m.weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_float_keep_parameter_objects():
    m = mlp()
    ids = [id(p) for p in m.parameters()]
    m(ag.randn(3, 4)).sum().backward()
    m.to(ag.float64)
    assert [id(p) for p in m.parameters()] == ids
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m[1].num_batches_tracked.dtype == np.int64
    m.float()
    assert m[0].weight.dtype == np.float32
    m.to("cpu", dtype=ag.float64)
    assert m[0].weight.dtype == np.float64
    with pytest.raises(TypeError):
        m.to(ag.int64)
    lin = nn.Linear(2, 3, dtype=ag.float64, device="cpu")
    assert lin.weight.dtype == np.float64 and lin.weight.device == "cpu"


def test_apply_hooks_and_repr():
    m = mlp()
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sequential"]
    calls = []
    h1 = m[0].register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m[0].register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    out = m[0](ag.ones(2, 4))
    np.testing.assert_allclose(out.numpy(), m[0].bias.numpy() + 1 + np.zeros((2, 5)), rtol=1e-6)
    assert calls == [(2, 5)]
    h1.remove()
    h2.remove()
    m[0](ag.ones(2, 4))
    assert calls == [(2, 5)]
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"


def test_deepcopy_and_pickle_keep_types_and_values():
    m = mlp()
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight is not m[0].weight
    np.testing.assert_array_equal(c[0].weight.numpy(), m[0].weight.numpy())
    p = pickle.loads(pickle.dumps(m))
    assert isinstance(p[0].weight, nn.Parameter) and p[0].weight.requires_grad
    np.testing.assert_array_equal(p[3].bias.numpy(), m[3].bias.numpy())


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[:2], nn.Sequential)
    assert list(seq[1:].state_dict()) == ["2.weight", "2.bias"]  # slices keep their keys, as torch
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"]
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Tanh())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    with pytest.raises(IndexError):
        ml[10]
    md = nn.ModuleDict({"x": nn.ReLU()})
    md["y"] = nn.Linear(2, 2)
    assert list(md.keys()) == ["x", "y"] and "y" in md
    pl = nn.ParameterList([ag.zeros(2), nn.Parameter(ag.ones(1))])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and pl[0].requires_grad


def test_parameter_construction():
    p = nn.Parameter(ag.ones(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, ag.Tensor)
    q = nn.Parameter(np.zeros(3), requires_grad=False)
    assert not q.requires_grad and q.shape == (3,)
    assert repr(p).startswith("Parameter containing:")
    t = ag.ones(2)
    assert nn.Parameter(t)._data is t._data  # shares storage


# ---- bad inputs -----------------------------------------------------------------------------------------
def test_linear_wrong_input_shape():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x3\)"):
        nn.Linear(4, 3)(ag.randn(2, 5))


def test_conv2d_wrong_input():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        conv(ag.randn(2, 3))
    with pytest.raises(RuntimeError, match="expected input.*to have 3 channels, but got 4 channels"):
        conv(ag.randn(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        conv(ag.randn(1, 3, 2, 2))
    with pytest.raises(ValueError):
        nn.Conv2d(3, 8, 3, groups=2)
    assert conv(ag.randn(3, 6, 6)).shape == (8, 4, 4)  # unbatched


def test_norm_and_other_bad_inputs():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(ag.randn(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(ag.randn(1, 3))
    nn.BatchNorm1d(3).eval()(ag.randn(1, 3))  # fine in eval mode
    with pytest.raises(RuntimeError, match="Given normalized_shape="):
        nn.LayerNorm(4)(ag.randn(2, 3))
    with pytest.raises(IndexError):
        nn.Embedding(3, 2)(ag.tensor([3]))
    with pytest.raises(RuntimeError, match="Long, Int"):
        nn.Embedding(3, 2)(ag.tensor([1.0]))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(ag.ones(2), ag.ones(2), reduction="avg")
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(ag.randn(2, 3), ag.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ag.tensor([1.5]), ag.tensor([1.0]))


def test_batchnorm_cumulative_average_and_reset():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [np.random.default_rng(i).standard_normal((5, 2)) + i for i in range(3)]
    for x in xs:
        bn(ag.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in xs], axis=0), atol=1e-12)
    assert bn.num_batches_tracked.item() == 3
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and np.all(bn.running_var.numpy() == 1)
    nt = nn.BatchNorm2d(2, track_running_stats=False)
    assert nt.running_mean is None and list(nt.state_dict()) == ["weight", "bias"]


def test_embedding_sparse_gradient_and_from_pretrained():
    emb = nn.Embedding(10, 3, sparse=True)
    emb(ag.tensor([[1, 2], [2, 9]])).sum().backward()
    g = emb.weight.grad
    assert g.is_sparse and g.shape == (10, 3)
    dense = g.to_dense().numpy()
    np.testing.assert_allclose(dense[2], 2.0) and np.testing.assert_allclose(dense[0], 0.0)
    pre = nn.Embedding.from_pretrained(ag.tensor(np.arange(6.0).reshape(3, 2)))
    assert not pre.weight.requires_grad and pre(ag.tensor([2])).tolist() == [[4.0, 5.0]]


def test_clip_grad_norm():
    m = nn.Linear(3, 3)
    (m(ag.ones(1, 3)) * 100).sum().backward()
    total = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in m.parameters()))
    ret = nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    assert ret.item() == pytest.approx(total, rel=1e-5)
    new = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in m.parameters()))
    assert new == pytest.approx(1.0, rel=1e-4)
