"""``autograd.set_num_threads`` / ``get_num_threads``: torch's default and errors, and one budget that the
BLAS library (through threadpoolctl), the kernel chunk pool and the foreach executor all follow."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim._core import flat as _flat
from minitorch_optim.kernels.numba import launch as _launch


@pytest.fixture
def restore_budget():
    n = ag.get_num_threads()
    yield
    ag.set_num_threads(n)


def test_default_and_errors_as_torch():
    torch = pytest.importorskip("torch")
    assert ag.get_num_threads() == torch.get_num_threads()
    for bad in (0, -1):
        with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
            ag.set_num_threads(bad)
    for bad in (1.5, "2"):
        with pytest.raises(RuntimeError, match="set_num_threads expects an int"):
            ag.set_num_threads(bad)


def test_blas_follows_the_budget(restore_budget):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ag.set_num_threads(1)
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas)
    assert ag.get_num_threads() == 1


def test_pool_and_foreach_follow_the_budget(restore_budget, monkeypatch):
    """At one thread no launch or foreach chunk goes to the pool; at two, a large step uses it; the
    numbers are the same either way."""
    used = []
    pool = _flat._pool(1)      # made up front: a first parallel call would start it in the background
    monkeypatch.setattr(pool, "submit", lambda *a: used.append(1) or type(pool).submit(pool, *a))
    monkeypatch.setattr(_launch, "PARALLEL_MIN", 1 << 17)

    def run(path):
        rng = np.random.default_rng(0)
        p = ag.tensor(rng.standard_normal(600_000).astype(np.float32), requires_grad=True)
        opt = optim.Adam([p], **path)
        for _ in range(2):
            p.grad = ag.tensor(rng.standard_normal(600_000).astype(np.float32))
            opt.step()
        return p.numpy().copy()

    ag.set_num_threads(1)
    one = [run({"foreach": True}), run({"fused": True})]
    assert used == []
    ag.set_num_threads(2)
    two = [run({"foreach": True}), run({"fused": True})]
    assert used          # parts claimed on the calling thread and on the pool
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
