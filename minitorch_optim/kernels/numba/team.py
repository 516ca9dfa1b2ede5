"""Pool threads kept awake around kernel launches, so that a launch does not wait for one to wake up.

A pool thread asleep on the chunk pool's queue takes 30-40 us on the 2-core VM to join a launch: the
queue's futex wake, then a second wait for the GIL, which the launching thread holds until its own
kernel call releases it. That is a sixth of a 1M-parameter Adam step. So the threads that share kernel
launches are woken early (``wake``: at the start of an optimizer step whose last step shared a launch,
while the step is planned) and wait for launches without the GIL, polling the *bell*
(``_core.flat.BELL``): its first word is raised to a launch's number by that launch's kernel, as its
first act (``helpers._ring``), when the launching thread no longer holds the GIL, so a waiting thread
that sees it takes the GIL uncontended, picks up the launch's call (``_JOB``) and runs it. The second
word counts the calls handed to the pool's queue, which a waiting thread leaves the bell for.

After its rows a pool thread keeps polling inside the kernel (``helpers._linger``) for as long as the
last pause between launches suggests the next one comes (twice that pause, at most ``LINGER_S``): steps
of several groups, or of several optimizers, launch back to back; a training loop that launches once
per step gets no lingering (and its step's early wake instead).

Nothing here decides a result: the launching thread claims rows until none are left and waits only for
rows a pool thread claimed, so a pool thread that comes late, runs an older launch's call (it finds no
row left) or never comes changes how long a launch takes, not what it computes.
"""
from __future__ import annotations

import itertools
import os
import threading
import time

from ..._core.flat import BELL, offer, pool_has_work

BELL_ADDRESS = BELL.ctypes.data
WAKE_S = 300e-6      # how long a pool thread woken ahead of a launch polls the bell for it
LINGER_S = 300e-6    # the longest a pool thread polls the bell after a launch
_SEQ = itertools.count(1).__next__     # launch numbers (atomic under the GIL)
_JOB = (0, None, 0)                    # newest launch: (number, the call pool threads run, linger polls)
_LOCK = threading.Lock()
_awake = [0, 0]                        # pool threads polling the bell; woken and not started yet
_polls_per_s = [0.0]                   # measured by ``calibrate``
DEFAULT_POLLS_PER_S = 1e9              # until then
_last_end = [float("-inf")]           # when the last launch returned


def post(fn):
    """Make ``fn(linger)`` the call pool threads run for the next launch (``linger``: polls of the bell
    after the rows ran out, see ``helpers._linger``); returns the launch's number, which that launch's
    kernel rings. Call ``retire`` with it when the launch is done."""
    global _JOB
    seq = _SEQ()
    pause = time.perf_counter() - _last_end[0]
    linger = 2 * pause if pause < LINGER_S else 0.0
    _JOB = (seq, fn, int(min(linger, LINGER_S) * (_polls_per_s[0] or DEFAULT_POLLS_PER_S)))
    return seq


def retire(seq):
    """Drop the call of launch ``seq`` (the team no longer keeps its arrays alive)."""
    global _JOB
    _last_end[0] = time.perf_counter()
    if _JOB[0] == seq:
        _JOB = (seq, None, _JOB[2])


def wake(helpers):
    """Have ``helpers`` pool threads awake and polling the bell; False when the pool is not started yet."""
    with _LOCK:
        missing = helpers - _awake[0] - _awake[1]
        if missing <= 0:
            return True
        _awake[1] += missing
    if offer(_serve, missing):
        return True
    with _LOCK:
        _awake[1] -= missing
    return False


def _serve():
    """A pool thread's turn on the team: run each new launch's call, poll the bell between launches
    (``WAKE_S`` before the first, after a launch as long as it lingered), and go back to the queue when
    the bell stays still or calls wait there."""
    from .helpers import wait_bell  # noqa: PLC0415 - compiled with the kernels, not at import

    with _LOCK:
        _awake[1] -= 1
        _awake[0] += 1
    try:
        last = -1
        polls = int(WAKE_S * (_polls_per_s[0] or DEFAULT_POLLS_PER_S))
        while True:
            rung, submitted = int(BELL[0]), int(BELL[1])   # read before the job: a later launch moves them
            if pool_has_work():
                return
            seq, fn, linger = _JOB
            if fn is not None and seq != last:
                last, polls = seq, linger
                try:
                    fn(linger)          # its rows, then polls the bell for the next launch
                except BaseException:  # noqa: BLE001, S110 - the launching thread's own call raises it
                    pass
            elif not wait_bell(BELL, rung, submitted, polls):
                return
    finally:
        with _LOCK:
            _awake[0] -= 1


def calibrate():
    """Measure how many polls of the bell take a second (once; the background compiler calls it)."""
    if _polls_per_s[0]:
        return
    from .helpers import wait_bell  # noqa: PLC0415

    n = 1 << 16
    t = time.perf_counter()
    moved = wait_bell(BELL, int(BELL[0]), int(BELL[1]), n)
    dt = time.perf_counter() - t
    if not moved and dt > 0:     # (a launch or hand-off meanwhile cut the measurement short: try later)
        _polls_per_s[0] = n / dt


def _reset_after_fork():
    """A forked child has none of the parent's pool threads: none is awake, and no lock is held."""
    global _LOCK, _JOB
    _LOCK = threading.Lock()
    _awake[0] = _awake[1] = 0
    _JOB = (_JOB[0], None, 0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
