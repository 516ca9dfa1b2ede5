"""Multi-tensor storage of one param group + device + dtype (``FlatGroup``), torch's object semantics kept.

* Parameters stay where the user put them (no relocation), so every alias of a parameter (the tensor a
  ``Parameter`` wraps, ``p.detach()``, ``p.detach().numpy()``) follows the updates. The kernels walk a
  table of parameter addresses (``pptr``), cached by array identity: it is read once, and again only for a
  parameter whose array changed (reading an address from Python costs ~2 us).
* Gradients land in a per-group arena: autograd writes a fresh leaf gradient into the parameter's
  ``GradSlot`` (the gradient allocator ``autograd.engine.set_grad_allocator`` registers for the parameter) when nothing else references that slot; a gradient the user kept
  (``hist.append(p.grad.detach())``, a ``.numpy()`` handle, a view) pins its slot, and the next backward
  allocates a fresh gradient instead, as torch does. A view of the arena itself (which could alias any
  slot) retires the whole arena: the next step allocates a new one. The gradient address table
  (``gptr``) is refreshed per step only for gradients that are not in their slot.
* Optimizer-owned state is flat: one buffer per state name, ``optimizer.state[p][name]`` are views into it
  (a ``StateEntry`` dict), and assigning ``state[p][name] = t`` writes ``t``'s values through into the
  buffer (the next step uses them and ``state_dict()`` saves them). Per-parameter scalar state (``step``,
  ``mu_product``, ...) lives in one small array per name, in torch's default dtype.
"""
from __future__ import annotations

import _thread
import _queue
import itertools
import os
import sys
import threading
import weakref

import numpy as np

from autograd import Tensor
from autograd.backend import array_module, device_of
from autograd.dtypes import get_default_dtype
from autograd.engine import set_grad_allocator
from autograd.threads import get_num_threads
from autograd import dtypes as _dtypes

from .trace import TraceCache

# elements per chunk of the multi-tensor NumPy executor (foreach). Measured on the 2-core box (Adam, foreach,
# 10M params / 1M params in 1000 tensors): 32K -> 32 / 3.5 ms, 128K -> 23 / 2.3 ms. Values never depend on it.
CHUNK = 131072
_POOL = None
_POOL_SIZE = 0
# what pool threads waiting without the GIL poll (kernels/numba/team.py): [the number of the latest kernel
# launch, raised by that launch's kernel; the number of calls handed to the pool, counted under the GIL]
BELL = np.zeros(2, np.int64)
_POOL_LOCK = threading.Lock()


class _Crew:
    """Helper threads that call the functions handed to them, in the order given. A lighter
    ThreadPoolExecutor: a hand-off is one put on a C-level queue, with no future, work item or semaphore
    made per call (``parallel`` runs every few hundred microseconds in a training loop, where the
    executor's bookkeeping cost as much as a part of the launch)."""

    def __init__(self, n):
        self.queue = _queue.SimpleQueue()
        self.size = n
        for i in range(n):
            threading.Thread(target=self._serve, name=f"minitorch_optim_{i}", daemon=True).start()

    def _serve(self):
        get = self.queue.get
        while True:
            fn = get()
            if fn is None:
                return
            fn()

    def submit(self, fn):
        self.queue.put(fn)
        BELL[1] += 1        # a pool thread polling the bell (kernels/numba/team.py) comes to the queue

    def has_work(self):
        return not self.queue.empty()

    def shutdown(self):
        for _ in range(self.size):
            self.queue.put(None)


def _pool(n):
    """The chunk pool, with room for ``n`` threads (grown when the budget grew)."""
    global _POOL, _POOL_SIZE
    if _POOL is None or _POOL_SIZE < n:
        with _POOL_LOCK:
            if _POOL is None or _POOL_SIZE < n:
                old = _POOL
                _POOL, _POOL_SIZE = _Crew(n), n
                if old is not None:
                    old.shutdown()
    return _POOL


def start_pool():
    """Start the chunk pool for the current thread budget in the background, if it is not there yet.
    Optimizers call it when they are made: a first step that found no pool would run all of its chunks
    on one thread (``parallel`` does not wait for threads to start)."""
    helpers = get_num_threads() - 1
    if helpers > 0 and (_POOL is None or _POOL_SIZE < helpers):
        _thread.start_new_thread(_pool, (helpers,))


def _reset_after_fork():
    """A forked child has no pool threads (only the forking thread survives): start a new pool lazily."""
    global _POOL, _POOL_LOCK, _POOL_SIZE
    _POOL, _POOL_SIZE = None, 0
    _POOL_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def parallel(fn, parts):
    """Call ``fn(*part)`` for every part, on this thread and on the chunk pool (at most ``get_num_threads()``
    threads in all: the thread budget, ``autograd.set_num_threads``).

    The parts are claimed one by one from a shared counter (``run_together`` runs the claiming loop on each
    thread), and the caller returns once every part is done: a pool thread that gets no core in time
    (another process, or a library's worker spinning after its own parallel region) claims nothing and is
    not waited for, so a busy core costs its share of the work, not a whole time slice. The first exception
    a part raised is raised once all claimed parts are done."""
    n = len(parts)
    claim = itertools.count().__next__      # atomic under the GIL
    errors = []

    def work():
        while True:
            k = claim()
            if k >= n:
                return
            try:
                fn(*parts[k])
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                errors.append(e)

    run_together(work, min(get_num_threads(), n))
    if errors:
        raise errors[0]


def run_together(fn, nthreads):
    """Call ``fn()`` on this thread and on up to ``nthreads - 1`` pool threads at once, for a ``fn`` that
    shares its work out itself (``parallel``'s claiming loop), and return once every thread that called
    it has returned: a pool thread that starts after the caller's ``fn`` returned does not call it (the
    work is done), and none that called it is left running on return; the first exception raised is
    raised. Each thread goes through the GIL once per call. (Kernel launches do not wait for the pool
    threads like this: they count finished rows themselves, see ``offer``.)"""
    helpers = nthreads - 1
    pool = _started_pool(helpers) if helpers > 0 else None
    if pool is None:
        fn()
        return
    state = [False, 0]          # closed, helpers inside fn (under ``guard``)
    guard = _thread.allocate_lock()
    errors = []
    finished = _thread.allocate_lock()
    finished.acquire()

    def helper():
        with guard:
            if state[0]:
                return
            state[1] += 1
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            errors.append(e)
        with guard:
            state[1] -= 1
            last = state[0] and not state[1]
        if last:
            finished.release()

    for _ in range(helpers):
        pool.submit(helper)
    try:
        fn()
    finally:
        with guard:
            state[0] = True
            wait = state[1] > 0
        if wait:
            finished.acquire()
    if errors:
        raise errors[0]


def pool_has_work():
    """Whether calls wait in the chunk pool's queue."""
    pool = _POOL
    return pool is not None and pool.has_work()


def _started_pool(helpers):
    """The chunk pool when it has room for ``helpers`` threads; else None, and the pool is started in the
    background (starting threads waits until each one runs, a time slice on a busy machine: the caller
    does the work itself, and a later call finds the pool)."""
    if _POOL_SIZE >= helpers:
        return _POOL
    _thread.start_new_thread(_pool, (helpers,))
    return None


def offer(fn, helpers):
    """Hand ``fn`` to ``helpers`` pool threads and return at once: for work whose caller does not wait for
    the pool threads (kernel launches, whose rows the calling thread also claims and counts: see
    kernels/numba/team.py). An exception ``fn`` raises on a pool thread ends that call only. Returns
    False (and starts the pool in the background) when the pool has no room for ``helpers`` threads yet."""
    pool = _started_pool(helpers)
    if pool is None:
        return False

    def helper():
        try:
            fn()
        except BaseException:  # noqa: BLE001, S110 - nobody waits for it; the pool thread goes on
            pass

    for _ in range(helpers):
        pool.submit(helper)
    return True


def run_chunked(fn, lo, hi, on_cpu):
    """Call ``fn(a, b)`` over ``[lo, hi)`` in chunks; on the CPU the threads of the budget claim the chunks."""
    n = hi - lo
    if not on_cpu or n <= CHUNK:
        fn(lo, hi)
        return
    parts = [(a, min(a + CHUNK, hi)) for a in range(lo, hi, CHUNK)]
    if n <= 2 * CHUNK or get_num_threads() == 1:
        for a, b in parts:
            fn(a, b)
        return
    parallel(fn, parts)


def _fill(buf, a, b, value):
    buf[a:b] = value


class SparseGradientError(RuntimeError):
    """A sparse gradient met on a multi-tensor path (only the for-loop path takes them)."""


def address(a):
    """Device address of the first element of a C-contiguous array (NumPy or CuPy)."""
    return a.ctypes.data if isinstance(a, np.ndarray) else a.data.ptr


class _Arena:
    """One contiguous gradient buffer; ``clean()`` is False once anything outside holds a view of it."""

    __slots__ = ("buf", "base", "__weakref__")

    def __init__(self, xp, total, dtype):
        self.buf = xp.zeros(total, dtype)
        self.base = None

    def seal(self):
        self.base = sys.getrefcount(self.buf)

    def clean(self):
        return sys.getrefcount(self.buf) <= self.base


class GradSlot:
    """A parameter's place in its group's gradient arena (registered with ``autograd.engine.set_grad_allocator``).

    ``take(grad)`` is what autograd's leaf accumulation calls for a fresh gradient: it copies ``grad``
    into the slot and returns the slot's array, or returns None (the engine then allocates) when the
    slot is still referenced by anything (a gradient the user kept, an alias, a view) or the arena is.
    """

    __slots__ = ("arena", "view", "__weakref__")
    _FREE = None     # reference count of ``view`` when only the slot holds it (measured once)

    def __init__(self, arena, view):
        self.arena, self.view = arena, view

    def free(self):
        return sys.getrefcount(self.view) <= GradSlot._FREE and self.arena.clean()

    def take(self, grad):
        if not self.free():           # (checked before binding the view to a local: that is a reference too)
            return None
        v = self.view
        if v.shape != grad.shape or v.dtype != grad.dtype or device_of(v) != device_of(grad):
            return None               # (a model moved to another device since: a fresh gradient there)
        v[...] = grad
        return v


def _measure_free():
    a = _Arena(np, 2, np.float32)
    s = GradSlot(a, a.buf[0:1])
    GradSlot._FREE = sys.getrefcount(s.view)


_measure_free()


class StateEntry(dict):
    """``optimizer.state[p]`` of a parameter with flat state: assigning one of the flat names writes the
    values through into the flat buffer (the dict keeps the buffer's view); other edits (deleting a name,
    a value of another shape) make the group's storage be rebuilt from the dict at the next step."""

    __slots__ = ("_owner",)

    def __init__(self, items, owner):
        super().__init__(items)
        self._owner = owner

    def __reduce__(self):
        return dict, (dict(self),)

    def _flat(self):
        fg = self._owner() if self._owner is not None else None
        return fg if fg is not None and not fg.stale else None

    def __setitem__(self, key, value):
        fg = self._flat()
        cur = self.get(key)
        if fg is not None and isinstance(cur, Tensor) and key in fg.managed and value is not cur:
            arr = value._data if isinstance(value, Tensor) else value
            if type(arr).__module__.startswith("torch"):
                arr = arr.detach().cpu().numpy()
            try:
                arr = fg.xp.asarray(arr)
                if arr.shape == cur._data.shape or (key in fg.scalars and arr.size == 1):
                    cur._data[...] = arr.reshape(cur._data.shape)
                    return
            except (TypeError, ValueError):
                pass
        if fg is not None:
            fg.stale = True
        super().__setitem__(key, value)

    def _edit(name):  # noqa: N805
        def f(self, *a, **k):
            fg = self._flat()
            if fg is not None:
                fg.stale = True
            return getattr(dict, name)(self, *a, **k)

        f.__name__ = name
        return f

    __delitem__, pop, popitem, clear = _edit("__delitem__"), _edit("pop"), _edit("popitem"), _edit("clear")
    setdefault = _edit("setdefault")
    del _edit

    def update(self, *a, **k):
        for key, v in dict(*a, **k).items():
            self[key] = v


def _host_value(old):
    if getattr(old, "is_sparse", False):
        raise SparseGradientError("sparse optimizer state (from sparse gradients) is kept per tensor")
    arr = old._data if isinstance(old, Tensor) else old
    if type(arr).__module__.startswith("torch"):
        arr = arr.detach().cpu().numpy()
    return arr


class FlatGroup:
    """Storage and address tables for ``params`` (one device and dtype, in group order)."""

    def __init__(self, params, state, buffer_init, scalar_init, scalar_dtypes=None):
        self.params = list(params)
        first = self.params[0]._data
        self.xp = xp = array_module(first)
        self.on_cpu = xp is np
        self.dtype = dtype = first.dtype
        self.stale = False
        self.duplicates = len({id(p) for p in self.params}) != len(self.params)
        self.pviews = [p._data for p in self.params]
        self.sizes = [a.size for a in self.pviews]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64).tolist()
        self.offs = np.array(self.offsets, np.int64)
        self.contiguous = all(a.flags.c_contiguous for a in self.pviews)
        self.pptr = np.array([address(a) if a.flags.c_contiguous else 0 for a in self.pviews], np.int64)
        self.managed = set(buffer_init) | set(scalar_init)
        total = self.offsets[-1]
        self._new_arena()
        self.buffers = {}
        if self.on_cpu and total > 2 * CHUNK and not any(state.get(p) for p in self.params):
            # new state: its first write is page faults more than arithmetic (8 MB of Adam state: ~3 ms),
            # which the chunk pool's threads take in parallel
            for name in buffer_init:
                self.buffers[name] = np.empty(total, dtype)
            parallel(_fill, [(self.buffers[name], a, min(a + CHUNK, total), fill)
                             for name, fill in buffer_init.items() for a in range(0, total, CHUNK)])
            buffer_init = {}
        for name, fill in buffer_init.items():
            buf = xp.empty(total, dtype)
            for i, p in enumerate(self.params):
                lo, hi = self.offsets[i], self.offsets[i + 1]
                d = state.get(p)
                old = d.get(name) if d else None
                if old is not None:
                    arr = xp.asarray(_host_value(old))
                    if arr.size != hi - lo or (arr.shape != self.pviews[i].shape and arr.size != 1):
                        raise RuntimeError(f"state '{name}' of a parameter of shape {tuple(self.pviews[i].shape)} "
                                           f"has shape {tuple(arr.shape)}")
                    buf[lo:hi] = arr.reshape(-1)
                elif d:
                    raise KeyError(name)
                else:
                    buf[lo:hi] = fill
            self.buffers[name] = buf
        self.scalars = {}
        for name, init in scalar_init.items():
            vals, sdt = [], None
            for p in self.params:
                d = state.get(p)
                old = d.get(name) if d else None
                if old is None and d:
                    raise KeyError(name)
                if old is not None:
                    a = np.asarray(_host_value(old) if not hasattr(_host_value(old), "get") else _host_value(old).get())
                    sdt = sdt or (a.dtype if (a.dtype.kind == "f" or a.dtype == _dtypes.bfloat16) else None)
                    vals.append(float(a.reshape(-1)[0]))
                else:
                    vals.append(init)
            self.scalars[name] = np.array(vals, sdt or (scalar_dtypes or {}).get(name) or get_default_dtype())
        self.fresh = set()
        self.sdicts = [None] * len(self.params)
        for i, p in enumerate(self.params):
            if p in state and state[p]:
                self._register(i, state)
        self.gptr = np.zeros(len(self.params), np.int64)
        self.g_in_slot = [False] * len(self.params)
        self.hold = [None] * len(self.params)
        self._copies = {}
        self.kernel_cache = {}     # the kernel backends' per-layout tables (kernels/chunks.py, cuda/launch.py)
        self.trace_cache = TraceCache()   # the update's traces, reused across steps (_core/trace.py)

    def _new_arena(self):
        """A fresh gradient arena; slots of the old one stay with whoever still references them."""
        arena = _Arena(self.xp, self.offsets[-1], self.dtype)
        self.arena = arena
        self.slots = []
        self.slot_ptr = []
        for i, p in enumerate(self.params):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            v = arena.buf[lo:hi].reshape(self.pviews[i].shape)
            slot = GradSlot(arena, v)
            self.slots.append(slot)
            self.slot_ptr.append(address(v))
            set_grad_allocator(p, slot)
        arena.seal()
        self.g_in_slot = [False] * len(self.params)

    def _register(self, i, state):
        """Point ``state[p]`` at views of the flat buffers (keeping other entries as they are)."""
        p = self.params[i]
        lo, hi = self.offsets[i], self.offsets[i + 1]
        d = StateEntry(state[p], weakref.ref(self))
        for name, arr in self.scalars.items():
            dict.__setitem__(d, name, Tensor._wrap(arr[i:i + 1].reshape(())))
        for name, buf in self.buffers.items():
            dict.__setitem__(d, name, Tensor._wrap(buf[lo:hi].reshape(self.pviews[i].shape)))
        state[p] = d
        self.sdicts[i] = d

    def valid(self, params, state):
        if self.stale or len(params) != len(self.params):
            return False
        get = state.get
        for i, (p, q, a, d) in enumerate(zip(params, self.params, self.pviews, self.sdicts)):   # ~0.5 us per param
            if p is not q:
                return False
            if p._data is not a and not self._rebind(i, p._data):
                return False
            e = get(p)
            if e is not d and (e or d is not None):
                return False
        return True

    def _rebind(self, i, arr):
        """``p.data = t`` with the same shape and dtype: only the address table entry changes (the state
        buffers and their views stay); anything else rebuilds the group."""
        old = self.pviews[i]
        if (arr.shape != old.shape or arr.dtype != old.dtype or array_module(arr) is not self.xp
                or not arr.flags.c_contiguous or not self.contiguous):
            return False
        self.pviews[i] = arr
        self.pptr[i] = address(arr)
        return True

    def collect(self, state):
        """Indices of params with a gradient, with ``gptr`` pointing at each gradient's array.

        A gradient outside its arena slot (set by hand, or allocated because the slot was pinned) is held
        (``hold``) until the parameter's gradient changes, so its address is read once, not every step.
        """
        if not self.arena.clean():
            self._new_arena()
        idx = []
        self.fresh = fresh = set()
        stateful = bool(self.buffers or self.scalars)
        sdicts, slots, gptr, insl, hold = self.sdicts, self.slots, self.gptr, self.g_in_slot, self.hold
        for i, p in enumerate(self.params):   # hot loop: ~0.3 us per param
            g = p.grad
            if g is None:
                if hold[i] is not None:
                    hold[i] = None
                continue
            d = getattr(g, "_data", None)
            if d is None or getattr(g, "is_sparse", False):
                raise SparseGradientError("sparse gradients are not supported by this path")
            if d is slots[i].view:
                if not insl[i]:
                    gptr[i] = self.slot_ptr[i]
                    insl[i] = True
                    hold[i] = None
            elif d is not hold[i]:
                if d.dtype != self.dtype or d.shape != self.pviews[i].shape or not d.flags.c_contiguous:
                    c = self.xp.ascontiguousarray(self.xp.broadcast_to(d, self.pviews[i].shape), self.dtype)
                    gptr[i] = address(c)
                    hold[i] = None
                    self._copies[i] = c      # a private copy, for this step only
                else:
                    gptr[i] = address(d)
                    hold[i] = d
                insl[i] = False
            if stateful and sdicts[i] is None:
                state[p] = state.get(p) or {}
                self._register(i, state)
                fresh.add(i)
            idx.append(i)
        return idx

    def grad_array(self, i):
        """The (contiguous, right dtype) gradient array the tables point at for param ``i``."""
        if self.g_in_slot[i]:
            return self.slots[i].view
        return self.hold[i] if self.hold[i] is not None else self._copies[i]

    def release(self):
        """Drop this step's private gradient copies (made for non-contiguous or mistyped gradients)."""
        if self._copies:
            self._copies.clear()

    def runs(self, idx):
        """Split ``idx`` into runs of consecutive params with equal scalar state: (i0, i1, lo, hi)."""
        out = []
        if not idx:
            return out
        if idx[-1] - idx[0] == len(idx) - 1 and not self.fresh and (len(idx) == 1 or all(
                (a[idx[0]:idx[-1] + 1] == a[idx[0]]).all() for a in self.scalars.values())):
            i0, i1 = idx[0], idx[-1] + 1           # the usual case: one run over everything
            return [(i0, i1, self.offsets[i0], self.offsets[i1])]
        keys = [tuple(float(a[i]) for a in self.scalars.values()) + (i in self.fresh,) for i in idx]
        start = 0
        for j in range(1, len(idx) + 1):
            if j == len(idx) or idx[j] != idx[j - 1] + 1 or keys[j] != keys[start]:
                i0, i1 = idx[start], idx[j - 1] + 1
                out.append((i0, i1, self.offsets[i0], self.offsets[i1]))
                start = j
        return out

    # ---- the multi-tensor NumPy executor's staging --------------------------------------------------------
    def gather(self, i0, i1, lo, hi):
        """(P, G): the run's parameters and gradients as flat arrays (G is the arena when it can be)."""
        xp = self.xp
        P = xp.empty(hi - lo, self.dtype)
        for i in range(i0, i1):
            a, b = self.offsets[i] - lo, self.offsets[i + 1] - lo
            P[a:b] = self.pviews[i].reshape(-1)
        if all(self.g_in_slot[i0:i1]):
            G = self.arena.buf[lo:hi]
        else:
            G = xp.empty(hi - lo, self.dtype)
            for i in range(i0, i1):
                a, b = self.offsets[i] - lo, self.offsets[i + 1] - lo
                G[a:b] = self.grad_array(i).reshape(-1)
        return P, G

    def scatter(self, P, i0, i1, lo):
        for i in range(i0, i1):
            a, b = self.offsets[i] - lo, self.offsets[i + 1] - lo
            self.pviews[i][...] = P[a:b].reshape(self.pviews[i].shape)
