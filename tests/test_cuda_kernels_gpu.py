"""The generated CUDA kernels on a real GPU (CuPy RawModule): the fused path against the GPU foreach path
and the CPU paths, for every elementwise optimizer × flag combination. Runs only where CuPy and a GPU are
present; skips elsewhere (test_cuda_kernels.py covers compilation and arithmetic without a GPU)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import autograd
from minitorch_optim.kernels import variants

if not autograd.cuda.is_available():
    pytest.skip("needs CuPy and a CUDA GPU", allow_module_level=True)
cp = pytest.importorskip("cupy")

CASES = [(cls, kw) for cls in variants.elementwise_classes() for kw in variants.configs(cls)]
# On the CuPy stand-in (tests/fake_cupy: NumPy storage, kernels built with g++) cupy.power is NumPy's power,
# SVML on AVX-512 CPUs, while the emulated kernels call libm's pow; on a GPU both are CUDA's pow. Only
# there are kernels that use the pow primitive held to bitwise equality with the foreach path.
STANDIN = "fake_cupy" in sys.modules
USES_POW = {cls for cls in variants.elementwise_classes()
            if any(op == "pow" for _, _, tr, _ in variants.traces(cls, ("float32",)) for _, op, _ in tr.stmts)}
SHAPES = [(30, 7), (5,), (), (0,), (70000,)]


def _run(cls, kw, dtype, device, path):
    rng = np.random.default_rng(0)
    ps = [autograd.nn.Parameter(autograd.tensor(rng.standard_normal(s).astype(dtype), device=device))
          for s in SHAPES]
    opt = cls(ps, **kw, **path)
    for step in range(3):
        for i, p in enumerate(ps):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad = None if (step == 1 and i == 1) else autograd.tensor(g, device=device)
        opt.step()
    return [p.numpy() for p in ps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpu_fused_matches_gpu_foreach_and_cpu(dtype):
    for cls, kw in CASES:
        fused = _run(cls, kw, dtype, "cuda", {"fused": True})
        foreach = _run(cls, kw, dtype, "cuda", {"foreach": True})
        cpu = _run(cls, kw, dtype, "cpu", {"foreach": True})
        for a, b, c in zip(fused, foreach, cpu):
            # same IEEE operations; CuPy compiles with -ftz=true, so only float32 subnormals could differ
            if STANDIN and cls in USES_POW:
                np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-30,
                                           err_msg=f"{cls.__name__} {kw}")
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{cls.__name__} {kw}")
            np.testing.assert_allclose(a, c, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_gpu_avg_update(dtype):
    _cuda_emu = pytest.importorskip("_cuda_emu")
    from minitorch_optim.kernels.cuda import launch as _cuda

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(5000).astype(dtype), rng.standard_normal(5000).astype(dtype)
    for mode, value in [("lerp", 0.01), ("lerp", 0.9), ("blend", 0.99), ("divide", 3.0)]:
        da, db = cp.asarray(a), cp.asarray(b)
        _cuda.avg_update(da, db, mode, value)
        _cuda.avg_update(a, b, mode, value, _cuda_emu.EmuRunner())
        np.testing.assert_array_equal(cp.asnumpy(da), a)
