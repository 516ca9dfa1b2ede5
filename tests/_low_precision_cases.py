"""Ops of the layer on float16/bfloat16 inputs, run the same way on ``autograd`` and on torch: the cases that
tests/test_low_precision_ops_vs_torch.py checks and scripts/audit_low_precision.py lists.

A case is ``fn(L, F, *tensors)`` (``L`` the library, ``F`` its ``nn.functional``) with its inputs: float32
arrays (rounded to the 16-bit dtype and differentiated) or integer arrays (targets, indices). Backward runs
``.backward()`` on a scalar output, else with a random upstream gradient in the output's dtype."""
import numpy as np

_rng = np.random.default_rng(0)


def _n(*shape, scale=1.0):
    return (_rng.standard_normal(shape) * scale).astype(np.float32)


def _pos(*shape):
    return (np.abs(_rng.standard_normal(shape)) + 0.25).astype(np.float32)


X = _n(8, 40)
Y = _n(8, 40)
XT = _n(40, 8)       # transposed in the case: an (8, 40) non-contiguous view
X3 = _n(4, 7, 70, scale=2.0)
IMG = _n(2, 3, 9, 9)
W_CONV = _n(4, 3, 3, 3, scale=0.3)
W_LIN = _n(24, 40, scale=0.2)
B24 = _n(24)
TGT = _rng.integers(0, 40, 8)
IDX = _rng.integers(0, 10, (4, 6))
EMB = _n(10, 16)
P01 = (_rng.uniform(0.05, 0.95, (8, 40))).astype(np.float32)


def _T(t):
    """The transposed (non-contiguous) view of a case input."""
    return t.t()


CASES = {
    # elementwise
    "exp": (lambda L, F, a: a.exp(), [X]),
    "log": (lambda L, F, a: a.log(), [_pos(8, 40)]),
    "tanh": (lambda L, F, a: a.tanh(), [X]),
    "sigmoid": (lambda L, F, a: a.sigmoid(), [X]),
    "relu": (lambda L, F, a: a.relu(), [X]),
    "sqrt": (lambda L, F, a: a.sqrt(), [_pos(8, 40)]),
    "rsqrt": (lambda L, F, a: a.rsqrt(), [_pos(8, 40)]),
    "sin": (lambda L, F, a: a.sin(), [X]),
    "cos": (lambda L, F, a: a.cos(), [X]),
    "abs": (lambda L, F, a: a.abs(), [X]),
    "erf": (lambda L, F, a: a.erf(), [X]),
    "expm1": (lambda L, F, a: a.expm1(), [X]),
    "log1p": (lambda L, F, a: a.log1p(), [_pos(8, 40)]),
    "reciprocal": (lambda L, F, a: a.reciprocal(), [_pos(8, 40)]),
    "pow_2": (lambda L, F, a: a ** 2, [X]),
    "pow_half": (lambda L, F, a: a ** 0.5, [_pos(8, 40)]),
    "pow_3": (lambda L, F, a: a ** 3, [X]),
    "pow_tensor": (lambda L, F, a, b: a ** b, [_pos(8, 40), Y]),
    "add": (lambda L, F, a, b: a + b, [X, Y]),
    "add_bias": (lambda L, F, a, b: a + b, [X, _n(40)]),
    "sub": (lambda L, F, a, b: a - b, [X, Y]),
    "mul": (lambda L, F, a, b: a * b, [X, Y]),
    "mul_noncontig": (lambda L, F, a, b: _T(a) * b, [XT, Y]),
    "div": (lambda L, F, a, b: a / b, [X, _pos(8, 40)]),
    "div_number": (lambda L, F, a: a / 3.7, [X]),
    "maximum": (lambda L, F, a, b: a.maximum(b), [X, Y]),
    "where": (lambda L, F, a, b: L.where(a > b, a, b), [X, Y]),
    "clamp": (lambda L, F, a: a.clamp(-0.5, 0.7), [X]),
    "lerp": (lambda L, F, a, b: a.lerp(b, 0.3), [X, Y]),
    # activations
    "gelu": (lambda L, F, a: F.gelu(a), [X]),
    "gelu_tanh": (lambda L, F, a: F.gelu(a, approximate="tanh"), [X]),
    "silu": (lambda L, F, a: F.silu(a), [X]),
    "mish": (lambda L, F, a: F.mish(a), [X]),
    "softplus": (lambda L, F, a: F.softplus(a), [X]),
    "elu": (lambda L, F, a: F.elu(a), [X]),
    "leaky_relu": (lambda L, F, a: F.leaky_relu(a, 0.1), [X]),
    "hardtanh": (lambda L, F, a: F.hardtanh(a), [X]),
    "relu6": (lambda L, F, a: F.relu6(a * 4), [X]),
    "softmax_last": (lambda L, F, a: F.softmax(a, dim=-1), [X]),
    "softmax_dim0": (lambda L, F, a: F.softmax(a, dim=0), [X]),
    "softmax_dim1_3d": (lambda L, F, a: F.softmax(a, dim=1), [X3]),
    "softmax_noncontig": (lambda L, F, a: F.softmax(_T(a), dim=-1), [XT]),
    "log_softmax_last": (lambda L, F, a: F.log_softmax(a, dim=-1), [X]),
    "log_softmax_dim0": (lambda L, F, a: F.log_softmax(a, dim=0), [X]),
    "log_softmax_dim1_3d": (lambda L, F, a: F.log_softmax(a, dim=1), [X3]),
    # reductions
    "sum": (lambda L, F, a: a.sum(), [X]),
    "sum_big": (lambda L, F, a: a.sum(), [X3]),
    "sum_dim0": (lambda L, F, a: a.sum(0), [X]),
    "sum_dim1": (lambda L, F, a: a.sum(1), [X]),
    "sum_dim1_3d": (lambda L, F, a: a.sum(1), [X3]),
    "sum_noncontig": (lambda L, F, a: _T(a).sum(1), [XT]),
    "mean": (lambda L, F, a: a.mean(), [X]),
    "mean_big": (lambda L, F, a: a.mean(), [X3]),
    "mean_dim0": (lambda L, F, a: a.mean(0), [X]),
    "mean_dim1": (lambda L, F, a: a.mean(1), [X]),
    "mean_dims_4d": (lambda L, F, a: a.mean((2, 3)), [IMG]),
    "var_dim1": (lambda L, F, a: a.var(1), [X]),
    "var_dim0": (lambda L, F, a: a.var(0), [X]),
    "var_all": (lambda L, F, a: a.var(), [X]),
    "std_dim1": (lambda L, F, a: a.std(1), [X]),
    "std_dim0": (lambda L, F, a: a.std(0), [X]),
    "logsumexp_dim1": (lambda L, F, a: a.logsumexp(1), [X]),
    "logsumexp_dim0": (lambda L, F, a: a.logsumexp(0), [X]),
    "norm": (lambda L, F, a: a.norm(), [X]),
    "norm_dim1": (lambda L, F, a: a.norm(dim=1), [X]),
    "amax_dim1": (lambda L, F, a: a.amax(1), [X]),
    "prod_dim1": (lambda L, F, a: (a * 0.2 + 1).prod(1), [X]),
    "cumsum_dim1": (lambda L, F, a: a.cumsum(1), [X]),
    # linear algebra
    "matmul": (lambda L, F, a, b: a @ b, [X, _n(40, 24)]),
    "matmul_noncontig": (lambda L, F, a, b: _T(a) @ b, [XT, _n(40, 24)]),
    "bmm": (lambda L, F, a, b: a @ b, [_n(3, 8, 40), _n(3, 40, 5)]),
    "linear": (lambda L, F, a, w, b: F.linear(a, w, b), [X, W_LIN, B24]),
    "linear_3d": (lambda L, F, a, w, b: F.linear(a, w, b), [_n(2, 5, 40), W_LIN, B24]),
    # nn
    "layer_norm": (lambda L, F, a, w, b: F.layer_norm(a, (40,), w, b), [X, _n(40), _n(40)]),
    "layer_norm_nowb": (lambda L, F, a: F.layer_norm(a, (40,)), [X]),
    "rms_norm": (lambda L, F, a, w: F.rms_norm(a, (40,), w), [X, _n(40)]),
    "batch_norm_train": (lambda L, F, a, w, b: F.batch_norm(a, None, None, w, b, training=True), [IMG, _n(3), _n(3)]),
    "batch_norm_eval": (lambda L, F, a, m, v, w, b: F.batch_norm(a, m.detach(), v.detach(), w, b, training=False),
                        [IMG, _n(3), _pos(3), _n(3), _n(3)]),
    "group_norm": (lambda L, F, a, w, b: F.group_norm(a, 3, w, b), [IMG, _n(3), _n(3)]),
    "conv2d": (lambda L, F, a, w, b: F.conv2d(a, w, b, padding=1), [IMG, W_CONV, _n(4)]),
    "conv2d_stride": (lambda L, F, a, w: F.conv2d(a, w, stride=2), [IMG, W_CONV]),
    "conv1d": (lambda L, F, a, w: F.conv1d(a, w, padding=1), [_n(2, 3, 20), _n(4, 3, 3, scale=0.3)]),
    "conv_transpose2d": (lambda L, F, a, w: F.conv_transpose2d(a, w, stride=2), [IMG, _n(3, 2, 3, 3, scale=0.3)]),
    "max_pool2d": (lambda L, F, a: F.max_pool2d(a, 2), [IMG]),
    "avg_pool2d": (lambda L, F, a: F.avg_pool2d(a, 3, stride=2), [IMG]),
    "adaptive_avg_pool2d": (lambda L, F, a: F.adaptive_avg_pool2d(a, (2, 2)), [IMG]),
    "adaptive_avg_pool2d_1": (lambda L, F, a: F.adaptive_avg_pool2d(a, 1), [IMG]),
    "interpolate_nearest": (lambda L, F, a: F.interpolate(a, scale_factor=2, mode="nearest"), [IMG]),
    "interpolate_bilinear": (lambda L, F, a: F.interpolate(a, size=(13, 13), mode="bilinear", align_corners=False),
                             [IMG]),
    "embedding": (lambda L, F, i, w: F.embedding(i, w), [IDX, EMB]),
    "embedding_repeats": (lambda L, F, i, w: F.embedding(i, w), [_rng.integers(0, 3, (40, 8)), EMB]),
    "normalize": (lambda L, F, a: F.normalize(a, dim=1), [X]),
    "sdpa": (lambda L, F, q, k, v: F.scaled_dot_product_attention(q, k, v),
             [_n(2, 2, 6, 8), _n(2, 2, 6, 8), _n(2, 2, 6, 8)]),
    "pad": (lambda L, F, a: F.pad(a, (1, 2, 0, 1)), [IMG]),
    # losses
    "cross_entropy": (lambda L, F, a, t: F.cross_entropy(a, t), [X, TGT]),
    "cross_entropy_sum": (lambda L, F, a, t: F.cross_entropy(a, t, reduction="sum"), [X, TGT]),
    "cross_entropy_none": (lambda L, F, a, t: F.cross_entropy(a, t, reduction="none"), [X, TGT]),
    "cross_entropy_smooth": (lambda L, F, a, t: F.cross_entropy(a, t, label_smoothing=0.1), [X, TGT]),
    "nll_loss": (lambda L, F, a, t: F.nll_loss(a, t), [X, TGT]),
    "mse_loss": (lambda L, F, a, b: F.mse_loss(a, b), [X, Y]),
    "mse_loss_big": (lambda L, F, a, b: F.mse_loss(a, b), [_n(16, 33), _n(16, 33)]),
    "mse_loss_sum": (lambda L, F, a, b: F.mse_loss(a, b, reduction="sum"), [X, Y]),
    "l1_loss": (lambda L, F, a, b: F.l1_loss(a, b), [X, Y]),
    "smooth_l1_loss": (lambda L, F, a, b: F.smooth_l1_loss(a, b), [X, Y]),
    "huber_loss": (lambda L, F, a, b: F.huber_loss(a, b), [X, Y]),
    "bce": (lambda L, F, a, b: F.binary_cross_entropy(a, b), [P01, (Y > 0).astype(np.float32)]),
    "bce_with_logits": (lambda L, F, a, b: F.binary_cross_entropy_with_logits(a, b), [X, (Y > 0).astype(np.float32)]),
    "kl_div": (lambda L, F, a, b: F.kl_div(a, b, reduction="batchmean"), [X, P01]),
    # larger shapes: several threads' ranges, vectors and their remainders, cascades past one level
    "softmax_dim0_big": (lambda L, F, a: F.softmax(a, dim=0), [_n(3, 2000, scale=3.0)]),
    "log_softmax_dim1_big": (lambda L, F, a: F.log_softmax(a, dim=1), [_n(8, 50, 30, scale=3.0)]),
    "cross_entropy_big": (lambda L, F, a, t: F.cross_entropy(a, t, ignore_index=3), [_n(300, 7), _rng.integers(0, 7, 300)]),
    "layer_norm_768": (lambda L, F, a, w, b: F.layer_norm(a, (768,), w, b), [_n(2, 8, 768), _n(768), _n(768)]),
    "batch_norm_big": (lambda L, F, a, w, b: F.batch_norm(a, None, None, w, b, training=True),
                       [_n(8, 16, 12, 12), _n(16), _n(16)]),
    "conv2d_big": (lambda L, F, a, w: F.conv2d(a, w, padding=1), [_n(4, 16, 10, 10), _n(16, 16, 3, 3, scale=0.2)]),
    "gelu_big": (lambda L, F, a: F.gelu(a), [_n(3, 1000, scale=3.0)]),
    "linear_768": (lambda L, F, a, w, b: F.linear(a, w, b), [_n(16, 768), _n(128, 768, scale=0.05), _n(128)]),
    "avg_pool2d_overlap": (lambda L, F, a: F.avg_pool2d(a, 3, stride=1, padding=1), [_n(2, 4, 15, 17)]),
    "max_pool2d_overlap": (lambda L, F, a: F.max_pool2d(a, 3, stride=2, padding=1), [_n(2, 4, 15, 17)]),
}


def run(lib, F, dt, name, seed=1):
    """``(output, [gradient of each float input])`` as float32 arrays (NaN where absent)."""
    fn, inputs = CASES[name]
    ts = []
    for a in inputs:
        if a.dtype.kind == "f":
            ts.append(lib.tensor(a).to(dt).requires_grad_())
        else:
            ts.append(lib.tensor(a))
    out = fn(lib, F, *ts)
    if out.requires_grad:
        if out.ndim == 0:
            out.backward()
        else:
            g = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(np.float32)
            out.backward(lib.tensor(g).to(out.dtype))
    res = [out.detach().to(lib.float32).numpy()]
    for t in ts:
        if t.is_floating_point():
            res.append(None if t.grad is None else t.grad.to(lib.float32).numpy())
    return res


def ulps(a, b, dt_name):
    """Per-element distance in units of the 16-bit type's last place (0 where equal, NaNs equal)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if dt_name == "float16":
        ia, ib = a.astype(np.float16).view(np.int16).astype(np.int64), b.astype(np.float16).view(np.int16).astype(np.int64)
    else:
        ia, ib = a.view(np.int32).astype(np.int64) >> 16, b.view(np.int32).astype(np.int64) >> 16
    ia = np.where(ia < 0, -(ia & 0x7FFF), ia)     # sign-magnitude to a monotone integer line
    ib = np.where(ib < 0, -(ib & 0x7FFF), ib)
    return np.where(same, 0, np.abs(ia - ib))


def compare(name, dt_name):
    """``[(what, differing elements, elements, max ulps)]`` for the output and each gradient."""
    import torch

    import autograd as ag
    import autograd.nn.functional as AF

    ours_dt, theirs_dt = {"float16": (ag.float16, torch.float16), "bfloat16": (ag.bfloat16, torch.bfloat16)}[dt_name]
    ours = run(ag, AF, ours_dt, name)
    theirs = run(torch, torch.nn.functional, theirs_dt, name)
    rows = []
    for i, (a, b) in enumerate(zip(ours, theirs)):
        what = "forward" if i == 0 else f"grad{i - 1}"
        if a is None or b is None:
            rows.append((what, 0 if a is None and b is None else -1, 0, 0))
            continue
        if a.shape != b.shape:
            rows.append((what, -1, b.size, 0))
            continue
        u = ulps(a, b, dt_name)
        rows.append((what, int((u != 0).sum()), int(u.size), int(u.max()) if u.size else 0))
    return rows
