"""The strict CuPy stand-in itself, and the CUDA-path behaviours checked on it (no GPU needed).

Each ``test_f<N>_*`` failed before its fix. They need the stand-in (its simulated second device, its
counters); where the real CuPy is in use they skip (the GPU tests cover the real thing there)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import autograd as A
import autograd.nn as nn
import autograd.nn.functional as F
import minitorch_optim as optim
from autograd import backend


from conftest import need_devices


@pytest.fixture
def fc(cuda_env):
    """The findings run on the stand-in, or on a real GPU where there is one."""
    return cuda_env


# ---- the stand-in refuses what CuPy refuses ---------------------------------------------------------------
def test_standin_refuses_host_conversion_and_numpy_operands(fake_cupy):
    fc = fake_cupy
    cp = fc.cupy
    a = cp.arange(6, dtype=cp.float32).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.maximum(a, np.ones(3))
    with pytest.raises(TypeError, match="unexpected keyword argument 'sparse'"):
        cp.indices((2, 3), sparse=True)
    with pytest.raises(AttributeError):
        cp.not_a_cupy_function  # noqa: B018
    assert isinstance(a.sum(), cp.ndarray) and a.sum().ndim == 0          # 0-d arrays, not scalars
    assert fc.counters["syncs"] == 0
    assert float(a.sum()) == 15.0 and fc.counters["syncs"] == 1
    b = cp.broadcast_to(cp.zeros(1), (3,))                                # writable, as in CuPy
    b[0] = 5.0
    np.testing.assert_array_equal(b.get(), [5, 5, 5])
    np.testing.assert_array_equal(cp.arange(3)[cp.asarray([1, 3])].get(), [1, 0])   # out of bounds wraps


def test_standin_devices(fake_cupy):
    cp = fake_cupy.cupy
    x = cp.ones(3)
    with cp.cuda.Device(1):
        y = cp.ones(3)
        assert cp.cuda.Device().id == 1
    assert x.device.id == 0 and y.device.id == 1 and cp.cuda.Device().id == 0
    with pytest.raises(ValueError, match="Peer access is unavailable"):
        x + y
    with pytest.raises(ValueError, match="different from the current device"):
        y * 2
    with cp.cuda.Device(1):
        np.testing.assert_array_equal((y * 2).get(), [2, 2, 2])
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError):
        cp.cuda.Device(7)


def test_standin_raw_kernel_checks_arguments(fake_cupy):
    fc = fake_cupy
    cp = fc.cupy
    src = r'''extern "C" __global__ void axpy(float* y, const float* x, float a, long long n) {
        for (long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
            y[i] += a * x[i];
    }'''
    k = cp.RawKernel(src, "axpy", options=("--fmad=false",))
    y, x = cp.zeros(5, dtype=cp.float32), cp.arange(5, dtype=cp.float32)
    k((2,), (2,), (y, x, np.float32(2.0), np.int64(5)))
    np.testing.assert_array_equal(y.get(), [0, 2, 4, 6, 8])
    assert fc.launches[-1][:3] == ("axpy", (2, 1, 1), (2, 1, 1))
    with pytest.raises(TypeError, match="dtype float64"):
        k((1,), (1,), (cp.zeros(5), x, np.float32(2.0), np.int64(5)))
    with pytest.raises(TypeError, match="float64 .8 bytes. passed for a float"):
        k((1,), (1,), (y, x, np.float64(2.0), np.int64(5)))
    with pytest.raises(TypeError, match="int32"):
        k((1,), (1,), (y, x, np.float32(2.0), np.int32(5)))
    with pytest.raises(TypeError, match="NumPy"):
        k((1,), (1,), (y, np.ones(5, np.float32), np.float32(2.0), np.int64(5)))
    with cp.cuda.Device(1):
        with pytest.raises(RuntimeError, match="ILLEGAL_ADDRESS"):
            k((1,), (1,), (y, x, np.float32(2.0), np.int64(5)))


# ---- finding 0: a CUDA error on a GPU machine is not "no GPU" ---------------------------------------------
class _BrokenCupy:
    class cuda:
        class runtime:
            @staticmethod
            def getDeviceCount():
                raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")


def test_f0_cuda_error_with_gpu_present_is_reported(monkeypatch):
    import sys

    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_probe", None, raising=False)
    monkeypatch.setitem(sys.modules, "cupy", _BrokenCupy)
    monkeypatch.setattr(backend, "gpu_present", lambda: True)
    with pytest.raises(RuntimeError, match="GPU is present but CUDA failed.*InsufficientDriver"):
        backend.cupy()
    with pytest.warns(UserWarning, match="CUDA failed"):
        assert backend.cuda_is_available() is False
    assert "InsufficientDriver" in backend.cuda_unavailable_reason()
    monkeypatch.setattr(backend, "gpu_present", lambda: False)
    monkeypatch.setattr(backend, "_probe", None, raising=False)
    with pytest.raises(RuntimeError, match="no usable GPU"):
        backend.cupy()
    assert A.cuda.is_available() is False and A.cuda.device_count() == 0
    for make in (lambda: A.ones(2, device="cuda"), lambda: A.tensor([1.0], device="cuda:1"),
                 lambda: A.ones(2).cuda(), lambda: A.randn(2, device="cuda")):
        with pytest.raises(RuntimeError, match="CUDA device requested but no usable GPU"):
            make()


def test_f0_require_gpu_turns_gpu_skips_into_failures(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_gpu():\n    pytest.skip('needs CuPy and a CUDA GPU')\n"
        "def test_other():\n    pytest.skip('no scipy')\n")
    here = os.path.dirname(os.path.abspath(__file__))
    (tmp_path / "conftest.py").write_text(open(os.path.join(here, "conftest.py")).read())
    env = dict(os.environ, REQUIRE_GPU="1", MINITORCH_FAKE_CUPY="0", PYTHONPATH=os.pathsep.join(
        [os.path.dirname(here), here, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "1 failed" in r.stdout and "1 skipped" in r.stdout, r.stdout
    assert "REQUIRE_GPU=1 but a GPU test was skipped" in r.stdout


# ---- finding 1 (i9's rewrite): gather backward --------------------------------------------------------------
def test_f1_gather_backward_on_cuda(fc):
    rng = np.random.default_rng(0)
    x0, idx = rng.standard_normal((3, 4)), np.array([[0, 3], [1, 1], [2, 0]])
    grads = []
    for dev in ("cpu", "cuda"):
        x = A.tensor(x0, device=dev, requires_grad=True)
        x.gather(1, A.tensor(idx, device=dev)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


# ---- finding 2: the first backward after moving a model to another device --------------------------------
@pytest.mark.parametrize("kw", [dict(foreach=True), dict(fused=True), dict(foreach=False)])
def test_f2_backward_after_moving_the_model(fc, kw):
    need_devices(2)
    A.manual_seed(0)
    model = nn.Linear(3, 2)
    x = A.ones(4, 3)
    for dev in ("cpu", "cuda", "cpu", "cuda:1"):
        model.to(dev)
        opt = optim.Adam(model.parameters(), lr=0.1, **kw)   # state follows the model (torch: same)
        for _ in range(2):
            opt.zero_grad()
            model(x.to(dev)).pow(2).sum().backward()       # the old device's gradient buffer is not reused
            assert model.weight.grad.device == dev and model.bias.grad.device == dev
            opt.step()


# ---- finding 3: cuda:1 ---------------------------------------------------------------------------------------
def test_f3_ops_on_second_device(fc):
    need_devices(2)
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    want = None
    for dev in ("cpu", "cuda:1"):
        a = A.tensor(a0, device=dev, requires_grad=True)
        b = A.tensor(b0, device=dev, requires_grad=True)
        loss = ((a @ b).tanh() * 2).sum() + a.exp().mean() + a[[0, 2]].sum() + F.relu(a).sum()
        loss.backward()
        got = (loss.item(), a.grad.numpy(), b.grad.numpy())
        assert a.grad.device == dev
        if want is None:
            want = got
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)
    with pytest.raises(RuntimeError, match="same device"):
        A.ones(2, 2, device="cuda:1") @ A.ones(2, 2, device="cuda:0")


@pytest.mark.parametrize("kw", [dict(foreach=False), dict(foreach=True), dict(fused=True)])
def test_f3_optimizer_on_second_device(fc, kw):
    need_devices(2)
    init = [np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32), np.ones(5, np.float32)]
    res = []
    for dev in ("cpu", "cuda:1"):
        ps = [nn.Parameter(A.tensor(a, device=dev)) for a in init]
        opt = optim.Adam(ps, lr=0.1, **(kw if dev != "cpu" else dict(foreach=False)))
        for _ in range(2):
            for p in ps:
                p.grad = (p.detach() * 0.5 + 0.1)
            opt.step()
        assert all(p.device == dev for p in ps)
        assert all(v.device == dev for s in opt.state.values() for v in s.values() if isinstance(v, A.Tensor)
                   and v.dim() > 0)
        res.append([p.numpy() for p in ps])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kw", [dict(foreach=False), dict(foreach=True), dict(fused=True)])
def test_f3_two_devices_interleaved(fc, kw):
    """Steps on cuda:1 then cuda:0 then cuda:1: nothing may depend on which device was current last."""
    need_devices(2)
    runs = {}
    for dev in ("cuda:1", "cuda:0", "cpu"):
        A.manual_seed(0)
        runs[dev] = (nn.Linear(3, 2).to(dev), A.ones(4, 3, device=dev))
    opts = {dev: optim.Adam(m.parameters(), lr=0.1, **(kw if dev != "cpu" else {})) for dev, (m, _) in runs.items()}
    for _ in range(2):
        for dev in ("cuda:1", "cuda:0", "cpu"):
            m, x = runs[dev]
            for p in m.parameters():          # gradients made directly: no op of ours runs before the step
                p.grad = A.full(p.shape, 0.5, device=dev)
            opts[dev].step()
    for dev in ("cuda:1", "cuda:0"):
        np.testing.assert_allclose(runs[dev][0].weight.numpy(), runs["cpu"][0].weight.numpy(), rtol=1e-6)


# ---- finding 4: float16 GELU / erf on CUDA keep their dtype -------------------------------------------------
def test_f4_float16_gelu_and_erf_keep_dtype(fc):
    x = A.tensor([-1.0, 0.5, 2.0], dtype=A.float16, device="cuda")
    assert F.gelu(x).dtype == A.float16
    assert x.erf().dtype == A.float16
    np.testing.assert_allclose(F.gelu(x).numpy(), F.gelu(x.cpu()).numpy(), rtol=2e-3)


# ---- finding 5: fused steps with found_inf, then foreach / for-loop ------------------------------------------
@pytest.mark.parametrize("then", [dict(foreach=True, fused=False), dict(foreach=False, fused=False)])
def test_f5_switch_from_fused_found_inf(fc, then):
    init = np.linspace(-1, 1, 7).astype(np.float32)
    res = []
    for path in ("ref", "mixed"):
        p = nn.Parameter(A.tensor(init, device="cuda"))
        opt = optim.Adam([p], lr=0.1, foreach=False) if path == "ref" else optim.Adam([p], lr=0.1, fused=True)
        for i in range(4):
            p.grad = p.detach() * 0.5 + 0.1
            if path == "mixed" and i == 3:
                opt.param_groups[0].update(then)
            if path == "mixed" and i < 3:
                opt.grad_scale, opt.found_inf = None, A.zeros(1, device="cuda")
            opt.step()
            if hasattr(opt, "found_inf"):
                del opt.found_inf
        res.append((p.numpy(), float(opt.state[p]["step"])))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-6)
    assert res[1][1] == res[0][1] == 4.0


# ---- finding 6 (i9's rewrite): out= into a broadcast view ---------------------------------------------------
def test_f6_out_broadcast_view(fc):
    """An ``out=`` that receives a broadcast result must own its elements on CUDA as on the CPU (CuPy has no
    ``flags.writeable``, so a zero-stride view would survive there and a later write would hit them all)."""
    def run(dev, requires_grad):
        out = A.zeros(3, device=dev)
        x = A.ones(1, device=dev, requires_grad=requires_grad)
        try:
            A.mul(x, 2.0, out=out)
        except RuntimeError as e:          # torch: out= does not support autograd
            return type(e), str(e)
        with A.no_grad():
            out[0] = 5.0
        return out.detach().numpy().tolist()

    for rg in (True, False):
        want = run("cpu", rg)
        assert run("cuda", rg) == want
        if isinstance(want, list):
            assert want[1:] != [5.0, 5.0]


# ---- finding 8: pickling CUDA tensors -------------------------------------------------------------------------
@pytest.mark.parametrize("dev", ["cuda", "cuda:1"])
def test_f8_pickle_keeps_device(fc, dev):
    need_devices(2 if dev == "cuda:1" else 1)
    t = A.tensor([1.0, 2.0], device=dev, requires_grad=True)
    p = nn.Parameter(A.tensor([3.0], device=dev))
    t2, p2 = pickle.loads(pickle.dumps((t, p)))
    assert t2.device == dev and p2.device == dev and isinstance(p2, nn.Parameter)
    assert t2.requires_grad and p2.requires_grad
    np.testing.assert_array_equal(t2.numpy(), [1, 2])


# ---- finding 9: sparse COO indices out of range raise ---------------------------------------------------------
@pytest.mark.parametrize("dev", ["cpu", "cuda"])
def test_f9_sparse_indices_out_of_range(fc, dev):
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        A.sparse_coo_tensor([[0, 3]], [1.0, 2.0], (3,), device=dev)
    with pytest.raises(RuntimeError, match="negative"):
        A.sparse_coo_tensor([[0, -1]], [1.0, 2.0], (3,), device=dev)


def test_f9_cuda_extra_pins_cupy_14():
    import os
    import re

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(here, "pyproject.toml")).read()
    assert re.search(r'cuda\s*=\s*\[\s*"cupy-cuda13x>=14', text)


# ---- finding 7: subnormal float32 values round as in NumPy (CuPy appends -ftz=true to RawModule options) ----
def test_f7_standin_models_flush_to_zero(fake_cupy):
    cp = fake_cupy.cupy
    src = r'''extern "C" __global__ void half_of(float* y, const float* x) { y[threadIdx.x] = x[threadIdx.x] * 0.5f; }'''
    x = cp.asarray(np.array([3e-39, 1e-30], np.float32))
    y = cp.zeros(2, dtype=cp.float32)
    cp.RawKernel(src, "half_of")((1,), (2,), (y, x))             # CuPy's option set: -ftz=true
    assert y.get()[0] == 0.0 and y.get()[1] == np.float32(5e-31)
    image, mapping = cp.cuda.compiler.compile_using_nvrtc(src, ("--fmad=false",), name_expressions=None)
    assert mapping == {}


@pytest.mark.parametrize("name,kw", [("SGD", dict(momentum=0.9)), ("Adam", {}), ("Adagrad", {})])
def test_f7_fused_cuda_keeps_float32_subnormals(fc, name, kw):
    init = np.array([3e-39, -2e-39, 1e-38, 0.5, 1e-44], np.float32)      # subnormal params and gradients
    grads = np.array([2e-39, 5e-39, -1e-39, 1e-3, 3e-42], np.float32)
    res = []
    for fused in (False, True):
        p = nn.Parameter(A.tensor(init, device="cuda"))
        opt = getattr(optim, name)([p], lr=0.25, fused=fused, foreach=False if not fused else None, **kw)
        for _ in range(3):
            p.grad = A.tensor(grads, device="cuda")
            opt.step()
        res.append(p.numpy())
    np.testing.assert_array_equal(res[1], res[0])


def test_standin_table_covers_every_cupy_name_the_library_uses():
    """Each ``xp.<name>`` / ``cupy.<name>`` the library calls exists in the recorded CuPy 14.2 table (so a
    name CuPy lacks is caught here even on a path no test reaches)."""
    import json
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "tests", "fake_cupy", "table.json")) as fh:
        table = json.load(fh)
    known = set()
    for sec in ("functions", "ufuncs", "classes", "constants"):
        known |= set(table[sec])
    known |= {f"cupy.ndarray.{m}" for m in table["methods"]["cupy.ndarray"]}
    known |= set(table["modules"]) | {"cupy.cuda.nccl"}     # NCCL: not installed where the table is recorded
    names = set()
    pat = re.compile(r"\b(xp|cp|cupy|_cupy)\.([a-z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)")
    for pkg in ("autograd", "minitorch_optim"):
        for dirpath, _, files in os.walk(os.path.join(root, pkg)):
            for f in files:
                if f.endswith(".py"):
                    with open(os.path.join(dirpath, f)) as fh:
                        names |= {m.group(2) for m in pat.finditer(fh.read())}
    missing = []
    for n in sorted(names):
        parts = n.split(".")
        if parts[0].startswith("_") or n in ("cuda", "random", "linalg", "ndarray"):
            continue
        if not any("cupy." + ".".join(parts[:k]) in known for k in range(1, len(parts) + 1)):
            missing.append(n)
    assert not missing, f"not in CuPy {table['cupy_version']}: {missing}"


def test_f7_kernels_compiled_without_ftz_keep_subnormals(fc, tmp_path, monkeypatch):
    from minitorch_optim.kernels.cuda import nvrtc

    monkeypatch.setenv("MINITORCH_OPTIM_CACHE", str(tmp_path))
    cp = backend.cupy()
    src = r'''template <typename T> __global__ void half_of(T* y, const T* x) { y[threadIdx.x] = x[threadIdx.x] * (T)0.5; }'''
    x = cp.asarray(np.array([3e-39, -1e-44, 1e-30], np.float32))
    for _ in range(2):                                   # the second build comes from the disk cache
        m = nvrtc.Module(src, ("--fmad=false",), ["half_of<float>"])
        y = cp.zeros(3, dtype=cp.float32)
        m.get_function("half_of<float>")((1,), (3,), (y, x))
        np.testing.assert_array_equal(y.get(), np.array([3e-39, -1e-44, 1e-30], np.float32) * np.float32(0.5))
    assert m.get_function("half_of<float>") is m.get_function("half_of<float>")
