"""Where Numba can write no cache (a read-only install and an unwritable home), importing the library and
running its compiled kernels still works: they compile per process instead of dying in Numba's cache
locator. Simulated by giving Numba no cache locators at all (root can write anywhere, so file modes cannot
simulate it here)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import numba.core.caching as caching
impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
impl._locator_classes = []        # every cache folder unwritable
import numpy as np
import autograd as ag
import autograd.nn.functional as F
import minitorch_optim as optim
from autograd.ops import _numba_kernels as nk
assert nk.ENABLED
x = ag.tensor(np.linspace(-3, 3, 64, dtype=np.float32), requires_grad=True)
F.gelu(x).sum().backward()
p = ag.nn.Parameter(ag.ones(1000))
p.grad = ag.ones(1000)
opt = optim.Adam([p], lr=0.1, fused=True)
opt.step()
assert abs(float(p.detach().numpy()[0]) - 0.9) < 1e-6
print("ok")
"""


def test_kernels_work_without_a_writable_cache(tmp_path):
    pytest.importorskip("numba")
    env = {**os.environ, "PYTHONPATH": ROOT, "MINITORCH_OPTIM_KERNEL_CACHE": str(tmp_path / "k")}
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
    assert "Traceback" not in r.stderr
