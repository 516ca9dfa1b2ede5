"""The chunk pool's ``run_together``: every thread runs one shared-work function at once; on return all the
work is done and no thread is still inside it; an exception raised on any thread reaches the caller."""
from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from minitorch_optim._core import flat as _flat


def _wait_for_pool(n):
    _flat._pool(n)
    assert _flat._POOL_SIZE >= n


def test_all_items_done_once_and_nothing_running_on_return():
    _wait_for_pool(3)
    for _ in range(50):
        n = 2000
        done = np.zeros(n, np.int64)
        claim = itertools.count().__next__
        inside = [0]
        lock = threading.Lock()
        threads = set()

        def fn():
            with lock:
                inside[0] += 1
            threads.add(threading.get_ident())
            while True:
                k = claim()
                if k >= n:
                    break
                done[k] += 1
                if k % 97 == 0:
                    time.sleep(0)      # let the other threads take items
            with lock:
                inside[0] -= 1

        _flat.run_together(fn, 4)
        assert inside[0] == 0
        assert (done == 1).all()


def test_an_exception_on_a_pool_thread_reaches_the_caller():
    _wait_for_pool(1)
    caller = threading.get_ident()
    started = threading.Event()

    def fn():
        if threading.get_ident() != caller:
            started.set()
            raise ValueError("from the pool")
        started.wait(5)       # the caller stays inside until the pool thread has run

    with pytest.raises(ValueError, match="from the pool"):
        _flat.run_together(fn, 2)


def test_an_exception_on_the_caller_is_raised():
    _wait_for_pool(1)

    def fn():
        raise KeyError("caller")

    with pytest.raises(KeyError):
        _flat.run_together(fn, 2)
