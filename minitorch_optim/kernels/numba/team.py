"""Pool threads that wait for the next kernel launch without the GIL, so that back-to-back launches do not
wait for one to wake up.

A pool thread asleep on the chunk pool's queue takes 30-40 us on the 2-core VM to join a launch: the
queue's futex wake, then a second wait, for the GIL, which the launching thread holds until its own
kernel call releases it. That is a sixth of a 1M-parameter Adam step. So after its rows a pool thread
keeps polling the *bell* (``_core.flat.BELL``) inside the kernel (``helpers._linger``) while another
launch is expected soon: for ``LINGER_S`` when the step has more groups to launch, else for twice the
last pause between launches (several optimizers, or steps, back to back), at most ``LINGER_S``. The
bell's first word is raised to a launch's number by that launch's kernel as its first act
(``helpers._ring``), when the launching thread no longer holds the GIL, so the polling thread returns,
takes the GIL uncontended, picks up the launch's call (``_JOB``) and runs it. The second word counts
the calls handed to the pool's queue, for which a polling thread goes back to the queue. A training
loop that launches once per step gets no lingering: its pool thread sleeps on the queue in between
(waking it ahead of the launch does not help: from the queue it still needs the GIL).

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
LINGER_S = 300e-6    # the longest a pool thread polls the bell after a launch
_SEQ = itertools.count(1).__next__     # launch numbers (atomic under the GIL)
_JOB = (0, None, 0)                    # newest launch: (number, the call pool threads run, linger polls)
_LOCK = threading.Lock()
_awake = [0, 0]                        # pool threads polling the bell; woken and not started yet
_polls_per_s = [0.0]                   # measured by ``calibrate``
DEFAULT_POLLS_PER_S = 1e9              # until then
_last_end = [float("-inf")]           # when the last launch returned


def post(fn, more=False):
    """Make ``fn(linger)`` the call pool threads run for the next launch (``linger``: polls of the bell
    after the rows ran out, see ``helpers._linger``); returns the launch's number, which that launch's
    kernel rings. ``more``: the caller launches again soon (the next group of its step), so pool threads
    linger up to ``LINGER_S`` whatever the last pause was. Call ``retire`` with it when the launch is done."""
    global _JOB
    seq = _SEQ()
    pause = time.perf_counter() - _last_end[0]
    linger = LINGER_S if more else (2 * pause if pause < LINGER_S else 0.0)
    _JOB = (seq, fn, int(min(linger, LINGER_S) * (_polls_per_s[0] or DEFAULT_POLLS_PER_S)))
    return seq


def retire(seq):
    """Drop the call of launch ``seq`` (the team no longer keeps its arrays alive)."""
    global _JOB
    _last_end[0] = time.perf_counter()
    if _JOB[0] == seq:
        _JOB = (seq, None, _JOB[2])


def wake(helpers):
    """Have ``helpers`` pool threads on the team (running launch calls or polling the bell), waking
    sleeping ones through the pool's queue; False when the pool is not started yet."""
    if _awake[0] + _awake[1] >= helpers:
        return True         # (the usual case between back-to-back launches: no lock taken)
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
    """A pool thread's turn on the team: run the newest launch's call, and the next while the bell rings
    during its linger; back to the queue when it does not, or when calls wait there."""
    with _LOCK:
        _awake[1] -= 1
        _awake[0] += 1
    try:
        last = -1
        while not pool_has_work():
            seq, fn, linger = _JOB
            if fn is None or seq == last:
                return
            last = seq
            try:
                fn(linger)          # its rows, then polls the bell for the next launch
            except BaseException:  # noqa: BLE001, S110 - the launching thread's own call raises it
                pass
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
