"""The real CUDA kernels (CuPy RawModule) against the CPU build of the same sources and the foreach path.

Runs only where CuPy and a GPU are present; skips elsewhere (CI has no GPU: test_cuda_kernels.py covers
compilation and arithmetic there)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import autograd
import minitorch_optim as optim
from minitorch_optim.kernels import Entry
from minitorch_optim.kernels.cuda import launch as _cuda

if not autograd.cuda.is_available():
    pytest.skip("needs CuPy and a CUDA GPU", allow_module_level=True)
cp = pytest.importorskip("cupy")
_cuda_emu = pytest.importorskip("_cuda_emu")
from test_cuda_kernels import CONFIGS, FakeFlat, make_opt, random_state  # noqa: E402
from test_cuda_kernels_dispatch import CASES as KW  # noqa: E402


def _to_gpu(flat):
    g = copy.copy(flat)
    g.param, g.grad = cp.asarray(flat.param), cp.asarray(flat.grad)
    g.buffers = {k: cp.asarray(v) for k, v in flat.buffers.items()}
    g.scalars = {k: v.copy() for k, v in flat.scalars.items()}
    g.sdicts = [{} for _ in flat.sdicts]
    g.__dict__.pop("_mt_cuda", None)
    return g


@pytest.mark.parametrize("found_inf", [None, 0.0, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_gpu_kernel_matches_cpu_build(name, dtype, found_inf):
    rng = np.random.default_rng(0)
    opt = make_opt(name, KW[name])
    group = opt.param_groups[0]
    sizes = [3, 0, 1000, 65, 40000, 7]
    cpu = FakeFlat(rng, opt, group, sizes, dtype)
    for k, v in random_state(rng, name, group, len(sizes)).items():
        if k in cpu.scalars:
            cpu.scalars[k][:] = v
    gpu = _to_gpu(cpu)
    s = {k: float(v[0]) for k, v in cpu.scalars.items()}
    sc, new = opt._scalars(group, float(group["lr"]), s)
    entries = [Entry(0, 3, 0, cpu.offsets[3], dict(sc, first=True), new),
               Entry(4, 6, cpu.offsets[4], cpu.offsets[6], dict(sc, first=False), new)]
    fi_np = None if found_inf is None else np.array([found_inf], np.float32)
    gs = np.array([4.0], np.float32)
    _cuda.launch(name, cpu, entries, group, gs, fi_np, _cuda_emu.EmuRunner())
    _cuda.launch(name, gpu, entries, group, cp.asarray(gs), None if fi_np is None else cp.asarray(fi_np))
    cp.cuda.Device().synchronize()
    # host-side scalars: bit-identical; device-computed scalars: CUDA's pow may differ by an ulp
    tol = dict(rtol=0, atol=0) if found_inf is None else dict(rtol=1e-5 if dtype != np.float64 else 1e-12, atol=1e-7)
    for a, b in zip(cpu.arrays(), [gpu.param, gpu.grad, *gpu.buffers.values()]):
        np.testing.assert_allclose(cp.asnumpy(b).astype(np.float64), a.astype(np.float64), **tol)
    if getattr(cpu, "_mt_cuda", None) is not None and cpu._mt_cuda.dstate is not None:
        np.testing.assert_allclose(cp.asnumpy(gpu._mt_cuda.dstate), cpu._mt_cuda.dstate, rtol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "SGD", "Adagrad", "NAdam"])
def test_gpu_fused_optimizer_matches_foreach(name):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(np.float32) for s in [(30, 7), (5,), (), (1000,)]]
    runs = []
    for fused in (True, False):
        ps = [autograd.nn.Parameter(autograd.tensor(a, device="cuda")) for a in init]
        o = getattr(optim, name)(ps, lr=0.01)
        o.param_groups[0]["fused"] = fused
        o.param_groups[0]["foreach"] = None if fused else True
        grng = np.random.default_rng(2)
        for _ in range(3):
            for p in ps:
                p.grad = autograd.tensor(grng.standard_normal(p.shape).astype(np.float32), device="cuda")
            o.step()
        runs.append([p.numpy() for p in ps])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_gpu_avg_update(dtype):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(5000).astype(dtype), rng.standard_normal(5000).astype(dtype)
    for mode, value in [("lerp", 0.01), ("lerp", 0.9), ("blend", 0.99), ("divide", 3.0)]:
        da, db = cp.asarray(a), cp.asarray(b)
        _cuda.avg_update(da, db, mode, value)
        _cuda.avg_update(a, b, mode, value, _cuda_emu.EmuRunner())
        np.testing.assert_array_equal(cp.asnumpy(da), a)
