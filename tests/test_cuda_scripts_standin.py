"""Notebook 05's GPU cells, ``train --device cuda`` (with save/resume) and ``bench --device cuda`` run on
the CuPy stand-in, each in a fresh process (tests/fake_cupy/run.py installs it as ``cupy`` there)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import FAKE_CUPY

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUN = os.path.join(HERE, "fake_cupy", "run.py")
pytestmark = pytest.mark.skipif(not FAKE_CUPY, reason="these runs need the stand-in; the device check script "
                                                      "runs the real ones")


def _run(args, cwd, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, RUN, *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_notebook_05_gpu_cells(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    try:
        import nb2py
    finally:
        sys.path.pop(0)
    script = tmp_path / "nb05.py"
    script.write_text(nb2py.convert(os.path.join(ROOT, "notebooks", "05_gpu_with_cupy.ipynb")))
    out = _run([str(script)], tmp_path)
    assert "CUDA is available" in out and "skipped: no GPU" not in out
    assert "GPU fused" in out and "GPU-trained weights evaluated on the CPU" in out


def _final_table(out):
    return [ln for ln in out.splitlines() if ln.startswith(("plain", "EMA", "SWA"))]


def test_train_on_cuda_save_and_resume(tmp_path):
    base = ["-m", "minitorch_optim", "train", "--device", "cuda", "--epochs", "3", "--no-progress",
            "--samples", "100"]
    straight = _run(base, tmp_path)
    _run(base + ["--save", "ck.npz", "--stop-after", "2"], tmp_path)
    resumed = _run(base + ["--resume", "ck.npz", "--save", "ck.npz"], tmp_path)
    assert _final_table(straight) and _final_table(resumed) == _final_table(straight)


def test_bench_on_cuda(tmp_path):
    out = _run(["-m", "minitorch_optim", "bench", "--device", "cuda", "--sizes", "5000x3", "--optimizers", "adam",
                "--repeat", "1", "--no-startup"], tmp_path)
    assert "device cuda" in out and "fused" in out
