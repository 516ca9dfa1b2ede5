"""No step waits on the kernel compiler: a default-path step whose Numba kernel is not compiled yet runs
on foreach (the same operations in the same order: the same bits), the kernel compiles on a background
thread, and later steps launch it. ``fused=True`` does the same on float32/float64; on float16/bfloat16,
where torch's fused arithmetic is not its foreach arithmetic, it waits for its kernel."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch_optim as optim
from autograd import Tensor
from autograd.nn import Parameter
from minitorch_optim import kernels
from minitorch_optim.kernels.numba import launch as _launch

pytestmark = pytest.mark.skipif(not _launch.available(), reason="needs Numba")


def _steps(opt_kw, launched, steps=3, wait_between=False, dtype=np.float32):
    rng = np.random.default_rng(3)
    ps = [Parameter(Tensor._wrap(rng.standard_normal(s).astype(dtype))) for s in [(5, 3), (7,), (300,)]]
    opt = optim.Adam(ps, lr=0.01, weight_decay=0.1, **opt_kw)
    per_step = []
    for _ in range(steps):
        for p in ps:
            p.grad = Tensor._wrap(rng.standard_normal(p.shape).astype(dtype))
        n = len(launched)
        opt.step()
        per_step.append(launched[n:])
        if wait_between:
            kernels.wait_compiled(timeout=120)
    return [p.numpy().copy() for p in ps] + [opt.state[p][k].numpy().copy() for p in ps for k in opt.state[p]], per_step


@pytest.fixture
def cold(monkeypatch):
    """An empty in-process kernel table (as in a fresh process); execute() calls are recorded."""
    monkeypatch.setattr(kernels, "_KERNELS", {})
    launched = []
    real = kernels.execute
    monkeypatch.setattr(kernels, "execute", lambda backend, *a: launched.append(backend) or real(backend, *a))
    return launched


def test_cold_default_step_runs_foreach_then_switches_to_the_kernel(cold):
    got, per_step = _steps({}, cold, wait_between=True)
    assert per_step[0] == [] and per_step[1] == ["numba"] and per_step[2] == ["numba"]
    want, _ = _steps({"foreach": True}, [])
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_cold_fused_true_step_on_float32_runs_foreach_then_switches(cold):
    got, per_step = _steps({"fused": True}, cold, wait_between=True)
    assert per_step[0] == [] and per_step[1] == ["numba"] and per_step[2] == ["numba"]
    want, _ = _steps({"foreach": False}, [])
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_fused_true_on_float16_waits_for_its_kernel(cold):
    got, per_step = _steps({"fused": True}, cold, steps=1, dtype=np.float16)
    assert per_step[0] == ["numba"]
    want, again = _steps({"fused": True}, cold, steps=1, dtype=np.float16)      # the kernel is compiled now
    assert again[0] == ["numba"]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_a_failed_background_compile_leaves_the_steps_on_foreach(cold, monkeypatch):
    def broken(tr, n):
        raise OSError("read-only cache folder")

    monkeypatch.setattr(kernels, "_compile_numba", broken)
    monkeypatch.setattr(kernels, "_FAILED", {})
    with pytest.warns(RuntimeWarning, match="failed to compile.*foreach"):
        got, per_step = _steps({}, cold, wait_between=True)
    assert per_step == [[], [], []]
    want, _ = _steps({"foreach": True}, [])
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
