"""The fused CPU executor under threads and fork: optimizers stepped from several threads at once give the
sequential results (no Numba threading layer is involved, so none can abort), and a forked child steps with
a fresh chunk pool (the parent's pool threads do not exist in the child)."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from autograd.nn import Parameter
from minitorch_optim.kernels.numba import launch as _launch

pytestmark = pytest.mark.skipif(not _launch.available(), reason="needs Numba")
N = 3 << 17          # large enough for a multi-threaded launch with the threshold lowered below


@pytest.fixture(autouse=True)
def _threads_from_small_launches(monkeypatch):
    monkeypatch.setattr(_launch, "PARALLEL_MIN", 1 << 17)


def _train(seed, steps=6, name="Adam"):
    rng = np.random.default_rng(seed)
    ps = [Parameter(ag.tensor(rng.standard_normal(n).astype(np.float32))) for n in (N, 1000, 3)]
    opt = getattr(optim, name)(ps, lr=0.01)
    for _ in range(steps):
        for p in ps:
            p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
    return [p.numpy().copy() for p in ps]


def test_stepping_from_several_threads_matches_sequential():
    names = ["Adam", "SGD", "RMSprop", "NAdam"]
    want = {k: _train(k, name=n) for k, n in enumerate(names)}
    got, errors = {}, []

    def work(k, n):
        try:
            got[k] = _train(k, name=n)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k, n)) for k, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in want:
        for a, b in zip(got[k], want[k]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_steps_with_a_fresh_pool():
    want = _train(1)               # the parent's chunk pool is started by this multi-threaded launch
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                     # the child: step, report, and leave without running pytest's teardown
        import signal

        signal.alarm(120)            # a deadlocked pool would kill the child, not hang the test
        ok = 0
        try:
            ok = int(all(np.array_equal(a, b) for a, b in zip(_train(1), want)))
        finally:
            os.write(w, bytes([ok]))
            os._exit(0)
    os.close(w)
    try:
        got = os.read(r, 1)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0 and got == b"\x01"
