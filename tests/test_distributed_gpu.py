"""GPU runs of the distributed code (skipped without CuPy, a CUDA device, mpi4py and mpirun): recipe 2 of
docs/src/distributed.md over NCCL with one rank per GPU, and the MPI backend on CuPy tensors (stream
synchronised, staged through host memory) matching the same run on NumPy."""
import os
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")
cupy = pytest.importorskip("cupy")
MPIRUN = shutil.which("mpirun")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _gpus():
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


pytestmark = [pytest.mark.skipif(MPIRUN is None or _gpus() == 0, reason="needs mpirun and a CUDA device"),
              # the in-process CuPy stand-in (tests/conftest.py) does not reach mpirun's ranks, nor model NCCL
              pytest.mark.skipif(getattr(cupy, "_fake", False), reason="mpirun ranks do not see the stand-in")]


def _run(script, np_, tmp_path, timeout=300):
    path = tmp_path / "script.py"
    path.write_text(script)
    cmd = [MPIRUN, "--oversubscribe", "-np", str(np_), sys.executable, str(path)]
    if os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, cwd=ROOT)
    return proc, proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


def test_nccl_recipe_runs(tmp_path):
    import autograd.distributed as dist

    if not dist.is_nccl_available():
        pytest.skip("CuPy cannot load NCCL (pip install nvidia-nccl-cu13)")
    text = open(os.path.join(ROOT, "docs", "src", "distributed.md")).read()
    recipe = re.findall(r"```python\n(.*?)```", text, re.S)[2]
    assert 'backend="nccl"' in recipe
    proc, out = _run(recipe, min(_gpus(), 8), tmp_path)
    assert proc.returncode == 0, out[-4000:]
    assert out.count("epoch 2: loss") == 1


MPI_CUPY = r'''
import numpy as np
import autograd as ag, autograd.distributed as dist, autograd.nn as nn, minitorch_optim as optim
from autograd.nn.parallel import DistributedDataParallel as DDP
dist.init_process_group("mpi")
r, w = dist.get_rank(), dist.get_world_size()
t = ag.tensor(np.arange(4.0) + r, device="cuda")
dist.all_reduce(t)
assert t.is_cuda and t.numpy().tolist() == [1.0, 3.0, 5.0, 7.0]
rng = np.random.default_rng(0)
X, Y = rng.standard_normal((5, 8, 3)), rng.standard_normal((5, 8, 2))
out = []
for dev in ("cpu", "cuda"):
    ag.manual_seed(0)
    m = DDP(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double().to(dev))
    o = optim.SGD(m.parameters(), lr=0.1, momentum=0.9, foreach=False)
    for s in range(5):
        x, y = ag.tensor(X[s][r * 4:(r + 1) * 4], device=dev), ag.tensor(Y[s][r * 4:(r + 1) * 4], device=dev)
        o.zero_grad(); ((m(x) - y) ** 2).mean().backward(); o.step()
    out.append(np.concatenate([p.numpy().ravel() for p in m.parameters()]))
assert np.abs(out[0] - out[1]).max() < 1e-10, np.abs(out[0] - out[1]).max()
if r == 0:
    print("mpi-cupy ok")
'''


def test_mpi_backend_on_cupy_tensors(tmp_path):
    proc, out = _run(MPI_CUPY, 2, tmp_path)
    assert proc.returncode == 0, out[-4000:]
    assert "mpi-cupy ok" in out
