"""Distributed training over MPI: the checks in tests/_dist_worker.py run under ``mpirun -np 2`` in one launch
(cheaper than a launch per check); here each check's outcome on each rank is one test. Skipped without
mpi4py or mpirun."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIRUN = shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="mpirun not found")
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_dist_worker.py")
ROOT = os.path.dirname(HERE)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def mpirun(mode, outdir, timeout, np_=2):
    cmd = [MPIRUN, "--oversubscribe", "-np", str(np_), sys.executable, WORKER, mode, str(outdir)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.insert(1, "--allow-run-as-root")
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=_env(), cwd=ROOT)


@pytest.fixture(scope="module")
def launch(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = mpirun("main", out, timeout=300)
    results = {}
    for r in (0, 1):
        path = out / f"rank{r}.json"
        if not path.exists():
            pytest.fail(f"rank {r} wrote no results (rc {proc.returncode}):\n"
                        + proc.stdout.decode(errors="replace")[-3000:] + proc.stderr.decode(errors="replace")[-3000:])
        results[r] = json.loads(path.read_text())
    return out, results, proc


CHECKS = ["c_collectives", "c_ddp_sgd", "c_ddp_sgd_no_sync", "c_ddp_adamw", "c_ddp_adamw_no_sync", "c_ddp_unused",
          "c_ddp_batchnorm_vs_torch", "c_zero_adam", "c_zero_reduce_gradients", "c_zero_groups", "c_zero_contrib",
          "c_sampler"]


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize("name", CHECKS)
def test_two_ranks(launch, name, rank):
    res = launch[1][rank][name]
    if res == "skip":
        pytest.skip("its reference (torch, or minitorch_optim.contrib) is not available")
    assert res == "ok", f"rank {rank}:\n{res}"


def test_docs_mpi_recipe_runs_as_written(launch):
    proc = launch[2]
    text = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:] + proc.stderr.decode(errors="replace")[-3000:]
    assert text.count("epoch 2: loss") == 1  # one table, from rank 0
    assert "['0.bias', '0.weight'] 6 parameter states" in text


def test_cli_train_distributed_zero_prints_one_table(launch):
    text = launch[2].stdout.decode(errors="replace").split("---- cli ----", 1)[-1]
    assert text.count("model   val loss") == 1 and text.count("epoch   2  train loss") == 1, text[-2000:]
    assert "2 ranks, ZeRO-1 shards of AdamW" in text


def test_zero_state_saved_on_two_ranks_reloads_on_one(launch):
    """The state consolidated on 2 ranks loads into a plain Adam and into a world-size-1 ZeRO in one process,
    and both continue as the 2-rank run did (float64, 1e-12)."""
    out = launch[0]
    proc = subprocess.run([sys.executable, WORKER, "single", str(out)], capture_output=True, timeout=120, env=_env(),
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    assert json.loads((out / "single.json").read_text()) == {"plain": "ok", "zero1": "ok", "zero1_state_dict": "ok"}


def test_a_failing_rank_fails_the_others(tmp_path):
    """Rank 1 raises before its third backward; rank 0, waiting in DDP's all-reduce, raises a clear error
    instead of hanging, and the job ends quickly with a non-zero status."""
    proc = mpirun("fail", tmp_path, timeout=60)
    text = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert proc.returncode != 0
    assert "boom on rank 1 in step 2" in text
    assert "DistBackendError: autograd.distributed: rank 1 failed while rank 0 was waiting in " \
           "DistributedDataParallel gradient bucket" in text


def test_a_missing_peer_times_out(tmp_path):
    proc = mpirun("timeout", tmp_path, timeout=60)
    text = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert proc.returncode != 0
    assert "rank 0 timed out after 1 s in all_reduce" in text
