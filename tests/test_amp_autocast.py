"""autocast against torch 2.13 on the CPU: the dtype each op of this layer runs in (output dtypes op by
op, fp32 and low-precision inputs, mixed inputs for the promote ops), regions (nested, disabled,
decorator, per-thread), cached parameter casts, gradients in the parameters' dtype, and an MLP's loss
and gradients within low-precision rounding of torch's."""
import threading
import warnings

import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as AF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

LOW = {"fp16": (ag.float16, torch.float16), "bf16": (getattr(ag, "bfloat16", None), torch.bfloat16)}


def _pos(T, a):
    return T.sigmoid(a)


# name -> f(T, F, a): the same call in torch and here; ``a`` is a 4x4 floating tensor
CASES = {
    "matmul": lambda T, F, a: a @ a, "matmul_fn": lambda T, F, a: T.matmul(a, a),
    "mm": lambda T, F, a: T.mm(a, a), "mm_method": lambda T, F, a: a.mm(a),
    "bmm": lambda T, F, a: T.bmm(T.stack([a, a]), T.stack([a, a])),
    "mv": lambda T, F, a: T.mv(a, a[0]), "dot": lambda T, F, a: T.dot(a[0], a[1]),
    "linear": lambda T, F, a: F.linear(a, a, a[0]), "einsum": lambda T, F, a: T.einsum("ij,jk->ik", a, a),
    "conv1d": lambda T, F, a: F.conv1d(a.reshape(1, 1, 16), a[0, :3].reshape(1, 1, 3)),
    "conv2d": lambda T, F, a: F.conv2d(a.reshape(1, 1, 4, 4), a[:3, :3].reshape(1, 1, 3, 3)),
    "conv_transpose2d": lambda T, F, a: F.conv_transpose2d(a.reshape(1, 1, 4, 4), a[:3, :3].reshape(1, 1, 3, 3)),
    "sdpa": lambda T, F, a: F.scaled_dot_product_attention(a[None], a[None], a[None]),
    "exp": lambda T, F, a: T.exp(a), "exp_method": lambda T, F, a: a.exp(), "log": lambda T, F, a: T.log(a.abs()),
    "pow": lambda T, F, a: a ** 2, "rsqrt": lambda T, F, a: a.abs().rsqrt(), "tanh": lambda T, F, a: T.tanh(a),
    "softmax": lambda T, F, a: F.softmax(a, 1), "log_softmax": lambda T, F, a: F.log_softmax(a, 1),
    "softmax_method": lambda T, F, a: a.softmax(1), "softmin": lambda T, F, a: F.softmin(a, 1),
    "sum": lambda T, F, a: T.sum(a), "sum_method": lambda T, F, a: a.sum(1), "mean": lambda T, F, a: a.mean(),
    "prod": lambda T, F, a: T.prod(a), "prod_method": lambda T, F, a: a.prod(1),
    "cumsum": lambda T, F, a: T.cumsum(a, 0), "logsumexp": lambda T, F, a: T.logsumexp(a, 1),
    "norm": lambda T, F, a: a.norm(), "var": lambda T, F, a: a.var(),
    "layer_norm": lambda T, F, a: F.layer_norm(a, (4,)), "group_norm": lambda T, F, a: F.group_norm(a.reshape(1, 4, 4), 2),
    "batch_norm": lambda T, F, a: F.batch_norm(a, None, None, training=True),
    "softplus": lambda T, F, a: F.softplus(a), "gelu": lambda T, F, a: F.gelu(a), "relu": lambda T, F, a: F.relu(a),
    "mse_loss": lambda T, F, a: F.mse_loss(a, a * 2), "l1_loss": lambda T, F, a: F.l1_loss(a, a * 2),
    "smooth_l1_loss": lambda T, F, a: F.smooth_l1_loss(a, a * 2), "huber_loss": lambda T, F, a: F.huber_loss(a, a * 2),
    "cross_entropy": lambda T, F, a: F.cross_entropy(a, T.tensor([0, 1, 2, 3])),
    "nll_loss": lambda T, F, a: F.nll_loss(a, T.tensor([0, 1, 2, 3])), "kl_div": lambda T, F, a: F.kl_div(a, a, reduction="batchmean"),
    "binary_cross_entropy": lambda T, F, a: F.binary_cross_entropy(_pos(T, a), _pos(T, a)),
    "bce_with_logits": lambda T, F, a: F.binary_cross_entropy_with_logits(a, _pos(T, a)),
    "max_pool2d": lambda T, F, a: F.max_pool2d(a[None], 2), "avg_pool2d": lambda T, F, a: F.avg_pool2d(a[None], 2),
    "pad_constant": lambda T, F, a: F.pad(a[None], (1, 1)), "pad_reflect": lambda T, F, a: F.pad(a[None], (1, 1), mode="reflect"),
    "pad_replicate": lambda T, F, a: F.pad(a[None], (1, 1), mode="replicate"),
    "add": lambda T, F, a: a + a, "mul_scalar": lambda T, F, a: a * 3.0, "addcmul": lambda T, F, a: T.addcmul(a, a, a),
    "atan2": lambda T, F, a: T.atan2(a, a), "cat": lambda T, F, a: T.cat([a, a]), "stack": lambda T, F, a: T.stack([a, a]),
    "concat": lambda T, F, a: T.concat([a, a]), "where": lambda T, F, a: T.where(a > 0, a, a),
    "embedding": lambda T, F, a: F.embedding(T.tensor([0, 2]), a), "normalize": lambda T, F, a: F.normalize(a),
}
MIXED = {  # ops with two floating inputs of different dtypes: (our f, torch f) given (a32, alow)
    "cat": lambda T, F, a, b: T.cat([a, b]), "stack": lambda T, F, a, b: T.stack([a, b]),
    "matmul": lambda T, F, a, b: a @ b, "add": lambda T, F, a, b: a + b, "mse_loss": lambda T, F, a, b: F.mse_loss(a, b),
}


def _inputs(seed=0):
    x = np.random.default_rng(seed).standard_normal((4, 4)).astype(np.float32)
    return ag.tensor(x), torch.tensor(x)


def _low(key):
    ours, theirs = LOW[key]
    if ours is None:
        pytest.skip("no bfloat16 in this layer")
    return ours, theirs


def _name(dt):
    return str(dt).replace("torch.", "")


def _plain_dtype_agrees(f, ours_low, torch_low, a, ta):
    """The op itself (outside autocast) on low-precision inputs: the dtype torch gives, or the case is
    about the op, not about autocast."""
    try:
        got = f(ag, AF, a.to(ours_low)).dtype
    except (TypeError, RuntimeError, ValueError):
        return False
    return _name(got) == _name(f(torch, TF, ta.to(torch_low)).dtype)


@pytest.mark.parametrize("key", ["fp16", "bf16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_autocast_cpu_op_dtypes_match_torch(case, key):
    ours_low, torch_low = _low(key)
    f = CASES[case]
    a, ta = _inputs()
    if not _plain_dtype_agrees(f, ours_low, torch_low, a, ta):
        pytest.xfail(f"{case} on {key} inputs gives another dtype than torch outside autocast (the op, not autocast)")
    for src, tsrc in ((a, ta), (a.to(ours_low), ta.to(torch_low))):
        with ag.autocast("cpu", dtype=ours_low):
            got = f(ag, AF, src).dtype
        with torch.autocast("cpu", dtype=torch_low):
            want = f(torch, TF, tsrc).dtype
        assert _name(got) == _name(want), (case, key, str(src.dtype))


@pytest.mark.parametrize("key", ["fp16", "bf16"])
@pytest.mark.parametrize("case", sorted(MIXED))
def test_autocast_cpu_mixed_input_dtypes_match_torch(case, key):
    ours_low, torch_low = _low(key)
    a, ta = _inputs()
    f = MIXED[case]
    if not _plain_dtype_agrees(lambda T, F, x: f(T, F, x, x), ours_low, torch_low, a, ta):
        pytest.xfail(f"{case} on {key} inputs gives another dtype than torch outside autocast (the op, not autocast)")
    with ag.autocast("cpu", dtype=ours_low):
        got = f(ag, AF, a, a.to(ours_low)).dtype
    with torch.autocast("cpu", dtype=torch_low):
        want = f(torch, TF, ta, ta.to(torch_low)).dtype
    assert _name(got) == _name(want)


def test_autocast_regions_nest_disable_and_restore():
    a, _ = _inputs()
    assert not ag.is_autocast_enabled("cpu")
    with ag.autocast("cpu", dtype=ag.float16):
        assert ag.is_autocast_enabled("cpu") and ag.get_autocast_dtype("cpu") == ag.float16
        with ag.amp.autocast("cpu", enabled=False):
            assert not ag.is_autocast_enabled("cpu")
            assert (a @ a).dtype == ag.float32
        assert (a @ a).dtype == ag.float16
        if hasattr(ag, "bfloat16"):
            with ag.autocast("cpu", dtype=ag.bfloat16):
                assert ag.get_autocast_dtype("cpu") == ag.bfloat16
                assert ag.nn.functional.mse_loss(a, a).dtype == ag.float32
            assert ag.get_autocast_dtype("cpu") == ag.float16
    assert not ag.is_autocast_enabled("cpu")
    assert (a @ a).dtype == ag.float32

    @ag.autocast("cpu", dtype=ag.float16)
    def f(x):
        return x @ x
    assert f(a).dtype == ag.float16 and not ag.is_autocast_enabled("cpu")


def test_autocast_state_is_per_thread_and_cuda_without_gpu_disables_with_warning():
    seen = []
    with ag.autocast("cpu", dtype=ag.float16):
        t = threading.Thread(target=lambda: seen.append(ag.is_autocast_enabled("cpu")))
        t.start()
        t.join()
    assert seen == [False]
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        ag.autocast(ag.device("cpu"))
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ag.autocast("tpu")
    with pytest.warns(UserWarning, match="CPU Autocast only supports"):
        c = ag.autocast("cpu", dtype=ag.float64)
    with c:
        assert not ag.is_autocast_enabled("cpu")
    if not ag.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            ag.autocast("cuda")


def test_autocast_explicit_dtype_and_float64_are_left_alone():
    a, _ = _inputs()
    d = a.double()
    with ag.autocast("cpu", dtype=ag.float16):
        assert (d @ d).dtype == ag.float64        # float64 is never cast (torch's eligibility rule)
        assert ag.cat([d, a]).dtype == ag.float64


def test_autocast_gradients_reach_float32_parameters_in_their_dtype_and_casts_are_cached():
    w = ag.nn.Parameter(ag.randn(4, 4))
    x = ag.randn(3, 4)
    with ag.autocast("cpu", dtype=ag.float16):
        y1, y2 = x @ w, x @ w
        from autograd.amp import autocast_mode
        assert len(autocast_mode._tls.cache) == 1      # the parameter is cast once per region
        loss = (y1.float() + y2.float()).sum()
    assert not autocast_mode._tls.cache
    loss.backward()
    assert w.grad.dtype == ag.float32
    want = 2 * x.numpy().astype(np.float16).astype(np.float32).T @ np.ones((3, 4), np.float32)
    np.testing.assert_allclose(w.grad.numpy(), want, rtol=2e-3, atol=2e-3)


def _mlp_pair(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(32, 16), (32,), (5, 32), (5,)]
    vals = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in shapes]
    ours = [ag.tensor(v, requires_grad=True) for v in vals]
    theirs = [torch.tensor(v, requires_grad=True) for v in vals]
    x = rng.standard_normal((8, 16)).astype(np.float32)
    y = rng.integers(0, 5, 8)
    return ours, theirs, x, y


@pytest.mark.parametrize("key", ["fp16", "bf16"])
def test_autocast_cpu_mlp_loss_and_gradients_match_torch(key):
    ours_low, torch_low = _low(key)
    a, ta = _inputs()
    if not _plain_dtype_agrees(CASES["linear"], ours_low, torch_low, a, ta):
        pytest.xfail(f"linear on {key} inputs gives another dtype than torch outside autocast (the op, not autocast)")
    ours, theirs, x, y = _mlp_pair()

    def run(T, F, p, ac):
        with ac:
            h = F.relu(F.linear(T.tensor(x), p[0], p[1]))
            out = F.linear(h, p[2], p[3])
            loss = F.cross_entropy(out, T.tensor(y))
        loss.backward()
        return out, loss

    out, loss = run(ag, AF, ours, ag.autocast("cpu", dtype=ours_low))
    tout, tloss = run(torch, TF, theirs, torch.autocast("cpu", dtype=torch_low))
    assert _name(out.dtype) == _name(tout.dtype) and _name(loss.dtype) == _name(tloss.dtype) == "float32"
    tol = 1e-2 if key == "bf16" else 2e-3        # one low-precision rounding of the GEMM inputs/outputs
    np.testing.assert_allclose(out.float().numpy(), tout.float().detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=tol)
    for p, tp in zip(ours, theirs):
        assert _name(p.grad.dtype) == _name(tp.grad.dtype) == "float32"
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=4 * tol, atol=tol)
