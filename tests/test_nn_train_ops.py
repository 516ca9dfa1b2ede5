"""The training fast paths: conv2d (strided im2col, 2-D GEMMs, compiled col2im), max/avg pooling
kernels, GELU kernels, linear as one GEMM, embedding scatter/coalesce, chunked random factories.

Each op against torch (float64, hypothesis over shapes, strides, padding, dilation, groups, ceil_mode,
batch 1 and odd), against finite differences, and the compiled (Numba) path against the NumPy fallback;
then the five benchmark models' loss, gradients and parameters after one step against torch.
"""
import numpy as np
import pytest
import warnings
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import autograd as ag
import autograd.nn as nn
import autograd.nn.functional as F
from autograd.ops import _numba_kernels as nk

torch = pytest.importorskip("torch")
TF = torch.nn.functional
SET = settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def parity(fn_ours, fn_torch, *arrays, atol=1e-10, rtol=1e-9, seed=3, strided=False):
    """Forward values and the gradient of every input, ours vs torch, in float64. ``strided``: our inputs are
    non-contiguous views (every other element of a larger leaf) and their gradients are read off the leaf.
    Returns our gradients."""
    leaves, ours = [], []
    for a in arrays:
        if strided:
            big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
            big[..., ::2] = a
            leaf = ag.tensor(big, requires_grad=True)
            leaves.append(leaf)
            ours.append(leaf[..., ::2])
        else:
            leaf = ag.tensor(a, requires_grad=True)
            leaves.append(leaf)
            ours.append(leaf)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    o = fn_ours(*ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note about padding='same' copies
        t = fn_torch(*theirs)
    if isinstance(o, tuple):
        np.testing.assert_array_equal(o[1].numpy(), t[1].numpy())
        o, t = o[0], t[0]
    np.testing.assert_allclose(o.numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
    v = np.random.default_rng(seed).standard_normal(o.shape)
    (o * ag.tensor(v)).sum().backward()
    (t * torch.tensor(v)).sum().backward()
    grads = []
    for leaf, b in zip(leaves, theirs):
        g = leaf.grad.numpy()[..., ::2] if strided else leaf.grad.numpy()
        np.testing.assert_allclose(g, b.grad.numpy(), atol=atol, rtol=rtol)
        grads.append(leaf.grad)
    return grads


def fd_check(fn, *arrays, eps=1e-6, tol=1e-6):
    """Directional finite difference of <fn(*x), v> along a random direction, vs backward()."""
    rng = np.random.default_rng(7)
    ts = [ag.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    v = rng.standard_normal(out.shape)
    (out * ag.tensor(v)).sum().backward()
    dirs = [rng.standard_normal(a.shape) for a in arrays]
    f = lambda s: float((fn(*[ag.tensor(a + s * d) for a, d in zip(arrays, dirs)]).numpy() * v).sum())  # noqa: E731
    num = (f(eps) - f(-eps)) / (2 * eps)
    ana = sum(float((t.grad.numpy() * d).sum()) for t, d in zip(ts, dirs))
    assert abs(num - ana) <= tol * max(1.0, abs(ana))


@pytest.fixture(params=["numba", "numpy"])
def path(request, monkeypatch):
    """Run a test on the compiled kernels and on the NumPy fallback."""
    if request.param == "numba" and not nk.ENABLED:
        pytest.skip("Numba not available")
    monkeypatch.setattr(nk, "ENABLED", request.param == "numba")
    return request.param


# ---- convolution ---------------------------------------------------------------------------------------------
@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = draw(st.sampled_from([0, 1, 2, (0, 1), (2, 0), "same", "valid"]))
    if pad == "same":
        stride = (1, 1)
    n = draw(st.sampled_from([None, 1, 3]))
    H = draw(st.integers(dil[0] * (kh - 1) + 1, 8))
    W = draw(st.integers(dil[1] * (kw - 1) + 1, 8))
    bias = draw(st.booleans())
    return dict(groups=groups, stride=stride, padding=pad, dilation=dil), (n, cg * groups, H, W), \
        (og * groups, cg, kh, kw), bias, draw(st.booleans())


@SET
@given(conv_case())
def test_conv2d_torch_parity_hypothesis(case):
    kw, xs, ws, bias, strided = case
    xs = xs[1:] if xs[0] is None else xs
    arrays = [R(*xs, seed=1), R(*ws, seed=2)] + ([R(ws[0], seed=3)] if bias else [])
    parity(lambda *t: F.conv2d(*t[:2], t[2] if bias else None, **kw),
           lambda *t: TF.conv2d(*t[:2], t[2] if bias else None, **kw), *arrays, strided=strided)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(dilation=2, groups=2), dict(padding="same")])
def test_conv2d_paths_agree_and_finite_differences(path, kw):
    x, w, b = R(3, 4, 7, 6, seed=4), R(6, 2 if kw.get("groups") else 4, 3, 2, seed=5), R(6, seed=6)
    parity(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), x, w, b)
    fd_check(lambda *t: F.conv2d(*t, **kw), x, w, b)


def test_conv2d_weight_grad_is_contiguous_in_weight_layout():
    conv = nn.Conv2d(3, 5, 3, padding=1).double()
    conv(ag.tensor(R(2, 3, 6, 6))).sum().backward()
    assert conv.weight.grad._data.flags.c_contiguous and conv.weight.grad.shape == conv.weight.shape


# ---- pooling -------------------------------------------------------------------------------------------------
@st.composite
def pool_case(draw, dilation=True):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    n = draw(st.sampled_from([None, 1, 3]))
    H = draw(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 9))
    W = draw(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 9))
    shape = (2, H, W) if n is None else (n, 2, H, W)
    return (kh, kw), stride, pad, dil, draw(st.booleans()), shape, draw(st.booleans())


@SET
@given(pool_case())
def test_max_pool2d_torch_parity_hypothesis(case):
    k, s, p, d, ceil, shape, strided = case
    x = np.random.default_rng(1).permutation(int(np.prod(shape))).reshape(shape) / 7.0  # distinct values
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil, return_indices=True)
    # a dilated window can miss the input entirely (output -inf); torch's backward then writes outside the
    # input plane (memory corruption), so such geometries have no reference gradient to compare with
    assume(not torch.isinf(TF.max_pool2d(torch.tensor(x), **kw)[0]).any())
    parity(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x, strided=strided)


@SET
@given(pool_case(dilation=False), st.booleans(), st.sampled_from([None, 2, 5]))
def test_avg_pool2d_torch_parity_hypothesis(case, include_pad, divisor):
    k, s, p, _, ceil, shape, strided = case
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=include_pad,
              divisor_override=divisor)
    parity(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), R(*shape, seed=2), strided=strided)


def test_max_pool2d_ties_nan_and_inf_match_torch(path):
    x = np.array([[[[1.0, 1.0, 0.0, -np.inf], [1.0, np.nan, 2.0, -np.inf], [3.0, np.nan, 3.0, -np.inf],
                    [-np.inf, -np.inf, -np.inf, -np.inf]]]])
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, ceil_mode=True,
                                                                                   stride=3)):
        o, i = F.max_pool2d(ag.tensor(x), return_indices=True, **kw)
        to, ti = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(o.numpy(), to.numpy())
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_max_pool2d_window_missing_the_input(path):
    """kernel 2, dilation 2, padding 1 on a 1x1 plane: both taps fall in the padding. Forward as torch (-inf
    and torch's index); the backward drops that output's gradient (torch writes outside the plane)."""
    x = R(2, 3, 1, 1, seed=4)
    a = ag.tensor(x, requires_grad=True)
    o, i = F.max_pool2d(a, 2, 1, 1, 2, return_indices=True)
    to, ti = TF.max_pool2d(torch.tensor(x), 2, 1, 1, 2, return_indices=True)
    np.testing.assert_array_equal(o.numpy(), to.numpy())
    if path == "numba":
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert np.isneginf(o.numpy()).all()
    o.sum().backward()
    assert np.isfinite(a.grad.numpy()).all() and (a.grad.numpy() == 0).all()


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1, dilation=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)])
def test_pooling_paths_agree_and_finite_differences(path, kw):
    kw = dict(kw)
    x = np.random.default_rng(3).permutation(3 * 2 * 7 * 6).reshape(3, 2, 7, 6) / 5.0
    parity(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x)
    fd_check(lambda t: F.max_pool2d(t, **kw), x)
    kw.pop("dilation")
    parity(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), x)
    fd_check(lambda t: F.avg_pool2d(t, **kw), x)


# ---- GELU ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float64_parity_and_finite_differences(path, approximate):
    x = np.concatenate([R(500, seed=8) * 4, [0.0, -0.0, 1e-300, -40.0, 40.0, 7.5, -7.5]])
    parity(lambda t: F.gelu(t, approximate=approximate), lambda t: TF.gelu(t, approximate=approximate), x,
           atol=1e-14, rtol=1e-13)
    fd_check(lambda t: F.gelu(t, approximate=approximate), x[:500])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_within_torch_tolerance(path, approximate):
    x = np.concatenate([R(20000, seed=9) * 5, [0.0, -0.0, 1e-30, -40.0, 40.0, 6.0, -6.0, 3.9, -4.1]])
    x = x.astype(np.float32)
    g = R(x.size, seed=10).astype(np.float32)
    a = ag.tensor(x, requires_grad=True)
    y = F.gelu(a, approximate=approximate)
    y.backward(ag.tensor(g))
    t = torch.tensor(x, requires_grad=True)
    ty = TF.gelu(t, approximate=approximate)
    ty.backward(torch.tensor(g))
    assert y.dtype == ag.float32 and a.grad.dtype == ag.float32
    torch.testing.assert_close(torch.from_numpy(y.numpy()), ty.detach())
    torch.testing.assert_close(torch.from_numpy(a.grad.numpy()), t.grad)


def test_gelu_bad_approximate():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(ag.ones(2), approximate="fast")


# ---- linear --------------------------------------------------------------------------------------------------
@SET
@given(st.sampled_from([(), (1,), (3,), (2, 5), (1, 3, 2)]), st.booleans(), st.booleans())
def test_linear_nd_torch_parity_hypothesis(lead, bias, strided):
    arrays = [R(*lead, 4, seed=1), R(3, 4, seed=2)] + ([R(3, seed=3)] if bias else [])
    grads = parity(lambda *t: F.linear(*t[:2], t[2] if bias else None),
                   lambda *t: TF.linear(*t[:2], t[2] if bias else None), *arrays, strided=strided)
    if not strided:  # the weight gradient in the weight's own layout
        assert grads[1]._data.flags.c_contiguous


def test_linear_errors_match_torch():
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        F.linear(ag.ones(2, 3), ag.ones(4, 3, dtype=ag.float64))
    with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype, but got Double and Float"):
        F.linear(ag.ones(2, 3), ag.ones(4, 3), ag.ones(4, dtype=ag.float64))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(6x5 and 4x3\)"):
        F.linear(ag.ones(2, 3, 5), ag.ones(3, 4))


def test_matmul_nd_by_matrix_gradient_is_one_gemm():
    a, b = R(2, 3, 4, seed=1), R(4, 5, seed=2)
    grads = parity(lambda x, w: x @ w, lambda x, w: x @ w, a, b)
    assert grads[1]._data.flags.c_contiguous


# ---- embedding -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=2), dict(scale_grad_by_freq=True)])
def test_embedding_dense_grad_parity(path, kw):
    idx = np.array([[1, 2, 4, 2], [4, 4, 0, 9]])
    parity(lambda w: F.embedding(ag.tensor(idx), w, **kw), lambda w: TF.embedding(torch.tensor(idx), w, **kw),
           R(10, 3, seed=4))


def test_sparse_embedding_coalesce_matches_torch(path):
    idx = np.random.default_rng(0).integers(0, 30, (17, 5))
    w = R(30, 4, seed=5)
    a = ag.tensor(w, requires_grad=True)
    t = torch.tensor(w, requires_grad=True)
    v = R(17, 5, 4, seed=6)
    (F.embedding(ag.tensor(idx), a, sparse=True) * ag.tensor(v)).sum().backward()
    (TF.embedding(torch.tensor(idx), t, sparse=True) * torch.tensor(v)).sum().backward()
    assert not a.grad.is_coalesced()
    c, tc = a.grad.coalesce(), t.grad.coalesce()
    np.testing.assert_array_equal(c.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(c.values().numpy(), tc.values().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.grad.to_dense().numpy(), t.grad.to_dense().numpy(), rtol=1e-12, atol=1e-12)


def test_coalesce_rows_edge_cases():
    uniq, vals = nk.coalesce_rows(np.array([3, 1, 3, 3]), np.arange(8.0).reshape(4, 2))
    np.testing.assert_array_equal(uniq, [1, 3])
    np.testing.assert_array_equal(vals, [[2.0, 3.0], [0 + 4 + 6, 1 + 5 + 7]])
    uniq, vals = nk.coalesce_rows(np.array([2, 2]), np.array([1, 2]))  # integer values, 1-D
    np.testing.assert_array_equal(uniq, [2])
    np.testing.assert_array_equal(vals, [3])


# ---- factories -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (5,), (0, 3), (300, 500)])
def test_random_factories_keep_the_seeded_streams(shape):
    for fn, draw in ((ag.randn, "standard_normal"), (ag.rand, "random")):
        for dt, npdt in ((ag.float32, np.float32), (ag.float64, np.float64)):
            ag.manual_seed(11)
            got = fn(*shape, dtype=dt).numpy()
            want = getattr(np.random.default_rng(11), draw)(shape).astype(npdt)
            assert got.dtype == npdt
            np.testing.assert_array_equal(got, want)


def test_init_uniform_normal_keep_the_seeded_streams():
    ag.manual_seed(4)
    lin = nn.Linear(300, 400)
    rng = np.random.default_rng(4)
    bound = 1 / np.sqrt(300)
    np.testing.assert_array_equal(lin.weight.numpy(), rng.uniform(-bound, bound, (400, 300)).astype(np.float32))
    np.testing.assert_array_equal(lin.bias.numpy(), rng.uniform(-bound, bound, 400).astype(np.float32))
    w = ag.empty(200, 400)
    nn.init.normal_(w, 1.0, 2.0, generator=ag.Generator().manual_seed(9))
    np.testing.assert_array_equal(w.numpy(), np.random.default_rng(9).normal(1.0, 2.0, (200, 400)).astype(np.float32))
    strided = ag.zeros(6, 4)[:, ::2]
    strided._data = ag.zeros(6, 4)._data[:, ::2]  # a non-contiguous target takes the copying path
    nn.init.uniform_(strided, generator=ag.Generator().manual_seed(2))
    np.testing.assert_array_equal(strided.numpy(), np.random.default_rng(2).uniform(0, 1, (6, 2)).astype(np.float32))


# ---- the five benchmark models: one step equals torch's --------------------------------------------------------
@pytest.mark.parametrize("name", ["readme_mlp", "mlp", "cnn", "embedding", "transformer"])
def test_bench_models_one_step_match_torch(name):
    from minitorch_optim.app.bench_train import make_step, pair

    (om, oo, ol), (tm, to, tl) = pair(name, "float64")
    lo, lt = make_step(om, oo, ol)(), make_step(tm, to, tl)()
    assert abs(lo.item() - lt.item()) <= 1e-9 * max(1.0, abs(lt.item()))
    for (k, p), (k2, q) in zip(om.named_parameters(), tm.named_parameters()):
        assert k == k2
        g = p.grad.to_dense() if getattr(p.grad, "is_sparse", False) else p.grad
        tg = q.grad.to_dense() if q.grad.is_sparse else q.grad
        np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=1e-9, rtol=1e-7, err_msg=k)
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), atol=1e-9, rtol=1e-7, err_msg=k)


# ---- saved tensors: what torch's linear/conv backward checks ----------------------------------------------------
@pytest.mark.parametrize("op", ["linear", "conv2d"])
def test_inplace_change_after_forward_matches_torch(op):
    def run(lib, F_, which):
        x = lib.tensor(R(2, 3, 5, 5) if op == "conv2d" else R(2, 5, 3), requires_grad=True)
        w = lib.tensor(R(4, 3, 3, 3) if op == "conv2d" else R(4, 3), requires_grad=True)
        b = lib.tensor(R(4), requires_grad=True)
        xx, ww, bb = x * 1, w * 1, b * 1
        y = getattr(F_, op)(xx, ww, bb)
        with (lib.no_grad()):
            {"x": xx, "w": ww, "b": bb}[which].add_(1.0)
        try:
            y.sum().backward()
            return "ok"
        except RuntimeError:
            return "error"

    for which in "xwb":
        assert run(ag, F, which) == run(torch, TF, which), which
