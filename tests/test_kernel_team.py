"""Kernel launches shared with pool threads that wait without the GIL (kernels/numba/team.py): whether a
pool thread joins on time, late, with an older launch's call, or not at all, every launch computes what
the foreach path computes, and calls handed to the pool still run while a pool thread polls the bell."""
from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from autograd.nn import Parameter
from minitorch_optim._core import flat as _flat
from minitorch_optim.kernels.numba import launch as _launch

pytestmark = pytest.mark.skipif(not _launch.available(), reason="needs Numba")
N = 3 << 17          # a multi-threaded launch with the threshold lowered below

if _launch.available():
    from minitorch_optim.kernels.numba import team as _team


@pytest.fixture(autouse=True)
def _threads_from_small_launches(monkeypatch):
    monkeypatch.setattr(_launch, "PARALLEL_MIN", 1 << 17)


def _params(seed):
    rng = np.random.default_rng(seed)
    return [Parameter(ag.tensor(rng.standard_normal(n).astype(np.float32))) for n in (N, 2 * N, 5)]


def _grads(ps, rng):
    for p in ps:
        p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32))


def _run(fused, steps=8, optimizers=("Adam", "RMSprop")):
    """Several optimizers stepped in turn, back to back (launches close enough for pool threads to linger)."""
    rng = np.random.default_rng(0)
    groups = [_params(k) for k in range(len(optimizers))]
    opts = [getattr(optim, n)(ps, lr=0.01, **({"fused": True} if fused else {"foreach": True}))
            for n, ps in zip(optimizers, groups)]
    for _ in range(steps):
        for ps, opt in zip(groups, opts):
            _grads(ps, rng)
            opt.step()
    return [p.numpy().copy() for ps in groups for p in ps]


def _assert_same(got, want):
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_back_to_back_launches_match_foreach():
    _flat._pool(1)
    _assert_same(_run(True), _run(False))


def test_launch_that_no_pool_thread_joins_is_done_by_the_caller(monkeypatch):
    monkeypatch.setattr(_team, "wake", lambda helpers: False)
    monkeypatch.setattr(_team, "post", lambda fn, more=False: next(_unjoined))
    _assert_same(_run(True, steps=3), _run(False, steps=3))


_unjoined = itertools.count(1 << 40)    # launch numbers no pool thread holds a call for


def test_late_call_of_a_finished_launch_changes_nothing(monkeypatch):
    calls = []
    post = _team.post

    def keep(fn, more=False):
        calls.append(fn)
        return post(fn, more)

    monkeypatch.setattr(_team, "post", keep)
    ps = _params(3)
    _grads(ps, np.random.default_rng(1))
    opt = optim.Adam(ps, lr=0.01, fused=True)
    opt.step()
    opt.step()
    assert calls, "the launches were not shared (raise N)"
    before = [p.numpy().copy() for p in ps] + [opt.state[p][k].numpy().copy() for p in ps for k in ("exp_avg", "exp_avg_sq")]
    for fn in calls:
        fn(0)            # a pool thread that got to these calls only now: no row is left to claim
    after = [p.numpy() for p in ps] + [opt.state[p][k].numpy() for p in ps for k in ("exp_avg", "exp_avg_sq")]
    _assert_same(after, before)


def test_pool_calls_run_while_a_pool_thread_polls_the_bell():
    _flat._pool(1)
    _run(True, steps=2)          # leaves a pool thread polling the bell for a while
    done = np.zeros(64, np.int64)

    def part(k):
        done[k] += 1

    _flat.parallel(part, [(k,) for k in range(64)])
    assert (done == 1).all()


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs fork hooks")
def test_forked_child_counts_no_awake_pool_thread():
    _team._awake[0] = 1       # as if a pool thread of the parent were polling the bell at fork time
    try:
        _team._reset_after_fork()
        assert _team._awake == [0, 0]
        assert _team._JOB[1] is None
    finally:
        _team._awake[0] = _team._awake[1] = 0


def test_step_of_several_groups_matches_foreach():
    def run(flag):
        rng = np.random.default_rng(5)
        ps = _params(7)
        opt = optim.Adam([{"params": ps[:1]}, {"params": ps[1:2], "lr": 0.003}, {"params": ps[2:]}],
                         lr=0.01, **flag)
        for _ in range(6):
            _grads(ps, rng)
            opt.step()
        return [p.numpy().copy() for p in ps]

    _assert_same(run({"fused": True}), run({"foreach": True}))


def test_failed_launch_leaves_no_call_behind_and_the_next_steps_run():
    ps = _params(9)
    flat_opt = optim.Adam(ps, lr=0.01, fused=True)
    _grads(ps, np.random.default_rng(2))
    flat_opt.step()
    flat = next(iter(flat_opt._flat_groups(flat_opt.param_groups[0]).values()))
    buffers = [flat.buffers[n] for n in ("exp_avg", "exp_avg_sq")]

    def broken(*args):
        raise TypeError("no such signature")

    with pytest.raises(TypeError, match="no such signature"):
        _launch.launch(flat, broken, [(0, len(ps))], [[0.0]], buffers)
    assert _team._JOB[1] is None
    want = _run(False, steps=2)
    _assert_same(_run(True, steps=2), want)
