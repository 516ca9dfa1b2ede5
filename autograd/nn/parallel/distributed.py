"""``DistributedDataParallel``: one model replica per rank, gradients averaged in buckets during backward.

At wrap time rank 0's parameters and buffers are broadcast. Gradient buckets (parameters in reverse order,
the first capped at 1 MiB, the others at ``bucket_cap_mb``, one dtype each) are filled from post-accumulate
gradient hooks; a full bucket is all-reduced at once with a non-blocking collective, so communication runs
while backward computes the remaining gradients; a final callback of the backward waits for them and
writes the averages into ``.grad``. As torch, gradients are scaled by ``1/world_size`` before the sum.
"""
from __future__ import annotations

import contextlib
import threading
import time

import numpy as np

from ... import distributed as dist
from ... import engine, grad_mode
from ...backend import array_module
from ..module import Module

_MB = 1024 * 1024
_FIRST_BUCKET_BYTES = 1024 * 1024


class _Bucket:
    __slots__ = ("params", "offsets", "buffer", "pending", "work", "index")

    def __init__(self, index, params):
        self.index, self.params = index, params
        xp = array_module(params[0]._data)
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p._data.size
        self.buffer = xp.zeros(n, dtype=params[0]._data.dtype)
        self.pending, self.work = len(params), None


class _Progress(threading.Thread):
    """Polls the outstanding reductions while the main thread computes the rest of backward (NumPy releases
    the GIL in its kernels), so MPI moves them along in the meantime: MPI progresses a non-blocking
    collective only inside MPI calls."""

    def __init__(self, ddp):
        super().__init__(daemon=True, name="ddp-progress")
        self.ddp, self.halt = ddp, threading.Event()

    def run(self):
        while not self.halt.is_set():
            with self.ddp._lock:
                if self.ddp._poll():
                    return
            self.halt.wait(0.0002)


def _threaded_progress_ok():
    try:
        be = dist._state.get()
        return be.name == "mpi" and be.size > 1 and be.MPI.Query_thread() == be.MPI.THREAD_MULTIPLE
    except Exception:
        return False


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the default process group (torch's arguments)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params=False):
        super().__init__()
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()  # ValueError before init, as torch
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        first_cap = _FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
        self._params = params
        self._buckets = self._build_buckets(params, first_cap)
        self._slot = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._slot[id(p)] = (b, i)
        if init_sync:
            with grad_mode.no_grad():
                self._broadcast_tensors(list(module.parameters()) + list(module.buffers()))
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self._armed = False  # a syncing forward ran: the next backward reduces
        self._callback_queued = False
        self._next_launch = 0
        self._used = set()
        self._timeline = None  # a list: (event, time, bucket) records for bench --distributed
        self._lock = threading.Lock()
        self._thread = None
        self._threaded = _threaded_progress_ok()

    # ---- construction ---------------------------------------------------------------------------------
    def _build_buckets(self, params, first_cap):
        buckets, current, size, cap = [], {}, {}, first_cap
        for p in reversed(params):  # gradients arrive roughly in reverse order of registration
            key = (str(p._data.dtype), type(p._data).__module__)
            current.setdefault(key, []).append(p)
            size[key] = size.get(key, 0) + p._data.nbytes
            if size[key] >= cap:
                buckets.append(current.pop(key))
                size.pop(key)
                cap = self.bucket_bytes_cap
        buckets.extend(current.values())
        return [_Bucket(i, ps) for i, ps in enumerate(buckets)]

    def _broadcast_tensors(self, tensors, src=0):
        if self.world_size == 1:
            return
        works = [dist.broadcast(t, src, async_op=True) for t in tensors]
        for w in works:
            w.wait()

    # ---- forward --------------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        sync = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if self.require_forward_param_sync and self.broadcast_buffers:
            bufs = list(self.module.buffers())
            if bufs:
                with grad_mode.no_grad():
                    self._broadcast_tensors(bufs)
        out = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync
        if sync:
            self._arm()
        return out

    def _arm(self):
        self._stop_thread()
        for b in self._buckets:
            b.pending, b.work = len(b.params), None
        self._next_launch = 0
        self._used = set()
        self._armed = True
        self._callback_queued = False

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside only accumulate local gradients; the first synced one averages the sums."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ---- backward -------------------------------------------------------------------------------------
    def _grad_ready(self, p):
        if not self._armed or id(p) in self._used:
            return
        if not self._callback_queued:
            engine.queue_callback(self._finalize)
            self._callback_queued = True
        if getattr(p.grad, "is_sparse", False):
            raise RuntimeError("DistributedDataParallel: sparse gradients (Embedding(sparse=True)) are not "
                               "supported; use dense gradients")
        self._used.add(id(p))
        b, i = self._slot[id(p)]
        self._copy_in(b, i, p.grad._data if p.grad is not None else None)
        b.pending -= 1
        self._launch_ready()
        self._progress()

    def _copy_in(self, b, i, g):
        n = b.params[i]._data.size
        view = b.buffer[b.offsets[i]:b.offsets[i] + n]
        if g is None:
            view[...] = 0
        else:
            np.multiply(g.reshape(-1), 1.0 / self.world_size, out=view) if isinstance(view, np.ndarray) \
                else array_module(view).multiply(g.reshape(-1), 1.0 / self.world_size, out=view)

    def _launch_ready(self):
        while self._next_launch < len(self._buckets) and self._buckets[self._next_launch].pending == 0:
            b = self._buckets[self._next_launch]
            b.work = self._allreduce(b.buffer)
            self._next_launch += 1
            if self._timeline is not None:
                self._timeline.append(("launch", time.perf_counter(), b.index))
            if self._threaded and self._thread is None and b.work is not None:
                self._thread = _Progress(self)
                self._thread.start()

    def _allreduce(self, buf):
        if self.world_size == 1:
            return None
        be = dist._state.get()
        return be.allreduce(buf, "sum", f"DistributedDataParallel gradient bucket of {buf.size} elements")

    def _progress(self):
        with self._lock:
            self._poll()

    def _poll(self):
        """Test the launched reductions (lets MPI move them along); True when all buckets are done."""
        for b in self._buckets[:self._next_launch]:
            if b.work is not None and not b.work._done:
                if b.work.is_completed() and self._timeline is not None:
                    self._timeline.append(("done", time.perf_counter(), b.index))
        return self._next_launch == len(self._buckets) and all(
            b.work is None or b.work._done for b in self._buckets)

    def _stop_thread(self):
        if self._thread is not None:
            self._thread.halt.set()
            self._thread.join()
            self._thread = None

    def _finalize(self):
        self._callback_queued = False
        if self._timeline is not None:
            self._timeline.append(("finalize", time.perf_counter(), None))
        self._stop_thread()
        if not self._armed:
            return
        self._armed = False
        missing = [p for p in self._params if id(p) not in self._used]
        if missing and not self.find_unused_parameters:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This error "
                "indicates that your module has parameters that were not used in producing loss. You can enable "
                "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
                f"`autograd.nn.parallel.DistributedDataParallel` ({len(missing)} parameter(s) got no gradient).")
        used_anywhere = None
        if missing or self.find_unused_parameters:
            used_anywhere = self._globally_used()
            for p in missing:
                b, i = self._slot[id(p)]
                self._copy_in(b, i, p.grad._data if p.grad is not None else None)
                b.pending -= 1
            self._launch_ready()
        for b in self._buckets:
            if b.work is not None and not b.work._done:
                b.work.wait()
                if self._timeline is not None:
                    self._timeline.append(("done", time.perf_counter(), b.index))
            for p, off in zip(b.params, b.offsets):
                if used_anywhere is not None and not used_anywhere[self._index(p)]:
                    continue  # unused on every rank: the gradient stays as it was (torch)
                avg = b.buffer[off:off + p._data.size].reshape(p._data.shape)
                if p.grad is None:
                    from ...tensor import Tensor

                    p.grad = Tensor._wrap(avg.copy())
                else:
                    p.grad._data[...] = avg

    def _index(self, p):
        if not hasattr(self, "_pindex"):
            self._pindex = {id(q): k for k, q in enumerate(self._params)}
        return self._pindex[id(p)]

    def _globally_used(self):
        flags = np.array([id(p) in self._used for p in self._params], dtype=np.int32)
        if self.world_size > 1:
            dist._state.get().allreduce(flags, "max", "DistributedDataParallel unused-parameter map").wait()
        return flags.astype(bool)
