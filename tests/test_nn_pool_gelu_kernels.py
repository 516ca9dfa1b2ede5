"""Pooling and GELU kernels against torch on float32 and float64: values, indices, gradients, NaN and ties,
on the threaded and serial compiled kernels, the NumPy fallback and the CUDA stand-in; GELU's float32
kernels over the whole float32 range (the bound documented in ``autograd/ops/_numba_kernels.py``)."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as F
from autograd.ops import _numba_kernels as nk

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=["threaded", "serial", "numpy"])
def kernel(request, monkeypatch):
    """The threaded twin (work above the launch threshold), the serial one (budget of one thread), the
    NumPy fallback."""
    if request.param != "numpy" and not nk.ENABLED:
        pytest.skip("Numba not available")
    monkeypatch.setattr(nk, "ENABLED", request.param != "numpy")
    if request.param == "threaded":   # whatever the machine's load: idle cores, no size threshold
        monkeypatch.setattr(nk, "_MIN_PARALLEL", 0)
        monkeypatch.setattr(nk, "_runnable", lambda: 1)
    before = ag.get_num_threads()
    ag.set_num_threads(1 if request.param == "serial" else 2)
    yield request.param
    ag.set_num_threads(before)


def _activations(shape, dtype, seed=0):
    """ReLU-like data with exact ties (zeros, repeated values), NaN, +-inf."""
    rng = np.random.default_rng(seed)
    x = np.maximum(np.round(rng.standard_normal(shape) * 4) / 4, 0).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 6, replace=False)] = np.nan
    flat[rng.choice(flat.size, 3, replace=False)] = np.inf
    flat[rng.choice(flat.size, 3, replace=False)] = -np.inf
    x[0, 0, :2, :4] = np.nan            # a window with two NaNs: torch reports the last
    x[0, 1, :3, :3] = -np.inf           # windows of -inf only: torch reports the first tap inside the input
    return x


def _grad_in(x, dtype, fn, gout):
    a = ag.tensor(x, requires_grad=True)
    out = fn(a)
    y = out[0] if isinstance(out, tuple) else out
    y.backward(ag.tensor(gout))
    return out, a.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
# kernel_size=2: the 2x2 fast path; with ceil_mode its last row/column of windows is cut off: the general loop
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=1, padding=1, dilation=2, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=(1, 2), ceil_mode=True)])
def test_max_pool2d_values_indices_gradients_nan_ties(kernel, dtype, kw):
    x = _activations((4, 5, 17, 18), dtype)
    (o, i), gx = _grad_in(x, dtype, lambda a: F.max_pool2d(a, return_indices=True, **kw),
                          np.ones(TF.max_pool2d(torch.tensor(x), **kw).shape, dtype))
    t = torch.tensor(x, requires_grad=True)
    to, ti = TF.max_pool2d(t, return_indices=True, **kw)
    to.backward(torch.ones_like(to))
    assert o.dtype == ag.float32 if dtype == np.float32 else o.dtype == ag.float64
    np.testing.assert_array_equal(o.numpy(), to.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(gx, t.grad.numpy())        # sums of ones: exact in any order


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d_threaded_and_serial_give_the_same_bits(dtype, monkeypatch):
    if not nk.ENABLED:
        pytest.skip("Numba not available")
    x = np.random.default_rng(1).standard_normal((8, 6, 20, 20)).astype(dtype)
    g = np.random.default_rng(2).standard_normal((8, 6, 10, 10)).astype(dtype)
    res = []
    monkeypatch.setattr(nk, "_runnable", lambda: 1)
    for n in (1, 2):
        monkeypatch.setattr(nk, "_MIN_PARALLEL", 0)
        before = ag.get_num_threads()
        ag.set_num_threads(n)
        try:
            (o, i), gx = _grad_in(x, dtype, lambda a: F.max_pool2d(a, 3, 2, 1, return_indices=True), g)
            _, ga = _grad_in(x, dtype, lambda a: F.avg_pool2d(a, 3, 2, 1), g)
        finally:
            ag.set_num_threads(before)
        res.append((o.numpy(), i.numpy(), gx, ga))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4)])
def test_avg_pool2d_values_gradients(kernel, dtype, kw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 17, 18)).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    shape = TF.avg_pool2d(torch.tensor(x), **kw).shape
    g = rng.standard_normal(shape).astype(dtype)
    o, gx = _grad_in(x, dtype, lambda a: F.avg_pool2d(a, **kw), g)
    t = torch.tensor(x, requires_grad=True)
    to = TF.avg_pool2d(t, **kw)
    to.backward(torch.tensor(g))
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(o.numpy(), to.detach().numpy(), **tol)        # NaN where torch has NaN
    np.testing.assert_allclose(gx, t.grad.numpy(), **tol)


def test_max_pool2d_cuda_standin_matches_torch(cuda_env):
    for dtype in DTYPES:
        x = _activations((2, 3, 9, 10), dtype, seed=5)
        kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
        a = ag.tensor(x).cuda().requires_grad_()
        o, i = F.max_pool2d(a, return_indices=True, **kw)
        o.backward(ag.ones(*o.shape).cuda())
        t = torch.tensor(x, requires_grad=True)
        to, ti = TF.max_pool2d(t, return_indices=True, **kw)
        to.backward(torch.ones_like(to))
        np.testing.assert_array_equal(o.cpu().numpy(), to.detach().numpy())
        np.testing.assert_array_equal(i.cpu().numpy(), ti.numpy())
        np.testing.assert_array_equal(a.grad.cpu().numpy(), t.grad.numpy())
        g = np.random.default_rng(6).standard_normal(to.shape).astype(dtype)
        b = ag.tensor(np.nan_to_num(x, posinf=1, neginf=-1)).cuda().requires_grad_()
        ob = F.avg_pool2d(b, **kw)
        ob.backward(ag.tensor(g).cuda())
        tb = torch.tensor(np.nan_to_num(x, posinf=1, neginf=-1), requires_grad=True)
        TF.avg_pool2d(tb, **kw).backward(torch.tensor(g))
        tol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(b.grad.cpu().numpy(), tb.grad.numpy(), rtol=tol, atol=tol)


# ---- GELU over the float32 range ------------------------------------------------------------------------
def _float32_range(step=9973):
    """Every ``step``-th float32 bit pattern of each sign (all exponents, subnormals, zero), and +-inf, NaN."""
    pos = np.arange(0, 0x7F800000, step, dtype=np.int64).astype(np.uint32).view(np.float32)
    return np.concatenate([pos, -pos, [np.inf, -np.inf, np.nan]]).astype(np.float32)


def _exact(x, approximate):
    """GELU and its derivative in float64 without cancellation (SciPy's ndtr and expit)."""
    special = pytest.importorskip("scipy.special")
    v = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if approximate == "none":
            cdf = special.ndtr(v)
            return v * cdf, cdf + v * np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)
        k = np.sqrt(2 / np.pi)
        s = special.expit(2 * k * (v + 0.044715 * v ** 3))
        s1 = special.expit(-2 * k * (v + 0.044715 * v ** 3))
        return v * s, s + 2 * v * s * s1 * k * (1 + 3 * 0.044715 * v * v)


def _ulps(a, b):
    a, b = a.astype(np.float32), b.astype(np.float32)
    ia, ib = (np.where(t.view(np.int32) < 0, -(t.view(np.int32).astype(np.int64) & 0x7FFFFFFF),
                       t.view(np.int32).astype(np.int64)) for t in (a, b))
    return np.where(a == b, 0, np.abs(ia - ib))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float32_over_the_whole_range(kernel, approximate):
    """The compiled float32 kernel: forward within 2 ulp of the exact value, the derivative within 2 ulp
    plus 2^-23 max(1, |x|) (it cancels near x = -0.75); against torch (float32 arithmetic, whose 1 + erf
    and 1 + tanh cancel for x < -2), within 4 ulp plus 2^-20 max(1, |x|). Where torch's tanh-form
    derivative overflows to NaN (|x| > 1.8e19, x^3 beyond float32) ours is the limit, 1 or 0."""
    if kernel == "numpy":
        pytest.skip("the bound is the compiled kernel's; the fallback is SciPy's erf in float32")
    x = _float32_range()
    a = ag.tensor(x, requires_grad=True)
    y = F.gelu(a, approximate=approximate)
    y.backward(ag.ones(*y.shape))
    t = torch.tensor(x, requires_grad=True)
    ty = TF.gelu(t, approximate=approximate)
    ty.backward(torch.ones_like(ty))
    yo, go = y.numpy(), a.grad.numpy()
    yt, gt = ty.detach().numpy(), t.grad.numpy()
    ref, dref = _exact(x, approximate)
    fin = np.isfinite(x)
    assert (_ulps(yo, ref)[fin] <= 2).all()
    scale = np.maximum(np.abs(x.astype(np.float64)), 1.0)
    err = np.abs(go.astype(np.float64) - dref)
    assert (err[fin] <= (2 * np.spacing(np.abs(dref.astype(np.float32))) + scale * 2.0 ** -23)[fin]).all()
    for ours, theirs in ((yo, yt), (go, gt)):
        m = fin & np.isfinite(theirs)
        with np.errstate(invalid="ignore"):   # inf - inf where both are infinite (masked out)
            diff = np.abs(ours.astype(np.float64) - theirs)
        assert (diff[m] <= (4 * np.spacing(np.abs(theirs)) + scale * 2.0 ** -20)[m]).all()
    torch_nan = fin & ~np.isfinite(gt)
    assert approximate == "tanh" or not torch_nan.any()
    np.testing.assert_array_equal(go[torch_nan], (x[torch_nan] > 0).astype(np.float32))
    # the non-finite inputs: NaN in, NaN out; gradients at +-inf NaN as torch; gelu(-inf) NaN, gelu(inf) inf
    np.testing.assert_array_equal(yo[-3:], [np.inf, np.nan, np.nan])
    np.testing.assert_array_equal(go[-3:], gt[-3:])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_threaded_and_serial_give_the_same_bits(approximate, monkeypatch):
    if not nk.ENABLED:
        pytest.skip("Numba not available")
    monkeypatch.setattr(nk, "_MIN_PARALLEL", 0)
    monkeypatch.setattr(nk, "_runnable", lambda: 1)
    for dtype in DTYPES:
        x = (np.random.default_rng(4).standard_normal(100003) * 5).astype(dtype)
        res = []
        for n in (1, 2):
            before = ag.get_num_threads()
            ag.set_num_threads(n)
            try:
                a = ag.tensor(x, requires_grad=True)
                y = F.gelu(a, approximate=approximate)
                y.backward(ag.tensor(x))
            finally:
                ag.set_num_threads(before)
            res.append((y.numpy(), a.grad.numpy()))
        for u, v in zip(*res):
            np.testing.assert_array_equal(u, v)


def test_thread_choice_follows_budget_load_size_and_fork(monkeypatch):
    if not nk.ENABLED:
        pytest.skip("Numba not available")
    before = ag.get_num_threads()
    monkeypatch.setattr(nk, "_CPUS", 2)
    monkeypatch.setattr(nk, "_runnable", lambda: 1)
    try:
        ag.set_num_threads(2)
        assert nk._threads(10 ** 9) == min(2, nk._numba.config.NUMBA_NUM_THREADS)
        assert nk._threads(100) == 1                          # too small to pay for a launch
        monkeypatch.setattr(nk, "_runnable", lambda: 3)        # both cores busy besides this task
        assert nk._threads(10 ** 9) == 1
        monkeypatch.setattr(nk, "_runnable", lambda: 1)
        ag.set_num_threads(1)
        assert nk._threads(10 ** 9) == 1
        ag.set_num_threads(2)
        monkeypatch.setattr(nk, "_FORKED", [True])             # OpenMP would abort a forked child
        assert nk._threads(10 ** 9) == 1
    finally:
        ag.set_num_threads(before)


def test_convolution_gemms_run_blas_on_the_idle_cores_and_restore_its_setting(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not nk._blas():
        pytest.skip("no BLAS threadpoolctl can steer")
    before = ag.get_num_threads()
    seen = []
    real = np.matmul

    def blas_threads():
        return [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"][0]["num_threads"]

    def spy(a, b, **k):   # the GEMM of a grouped convolution goes through np.matmul
        seen.append(blas_threads())
        return real(a, b, **k)

    monkeypatch.setattr(nk, "_CPUS", 2)
    try:
        ag.set_num_threads(2)
        x = ag.tensor(np.ones((2, 4, 6, 6), np.float32))
        w = ag.tensor(np.ones((4, 2, 3, 3), np.float32))
        with monkeypatch.context() as m:
            m.setattr(np, "matmul", spy)
            m.setattr(nk, "_runnable", lambda: 3)       # both cores busy besides this task
            y = F.conv2d(x, w, groups=2)
            m.setattr(nk, "_runnable", lambda: 1)
            F.conv2d(x, w, groups=2)
        assert seen == [1, 2]
        assert blas_threads() == 2       # the budget's setting is back
        np.testing.assert_array_equal(y.numpy(), np.full((2, 4, 4, 4), 18, np.float32))
    finally:
        ag.set_num_threads(before)
