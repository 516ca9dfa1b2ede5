"""The NCCL backend: collectives on CuPy arrays through ``cupy.cuda.nccl``; the unique id travels over MPI.

Each rank drives one GPU (``device = local rank % device count``). Collectives are enqueued on the current
CuPy stream; ``Work.wait()`` makes the caller wait on an event recorded after the collective.
"""
from __future__ import annotations

import numpy as np

from ._mpi import MPIBackend, _mpi


def _nccl():
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError("the 'nccl' backend needs CuPy with NCCL (pip install cupy-cuda13x nvidia-nccl-cu13)") from e
    if not getattr(nccl, "available", True):
        raise RuntimeError("the 'nccl' backend needs NCCL, which CuPy could not load (pip install nvidia-nccl-cu13)")
    return nccl


class NCCLWork:
    def __init__(self, event, finish=None):
        self._event, self._finish, self._done = event, finish, False

    def is_completed(self):
        if not self._done and self._event.done:
            self.wait()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            import cupy

            cupy.cuda.get_current_stream().wait_event(self._event)
            self._done = True
            if self._finish is not None:
                self._finish()
        return True


class NCCLBackend:
    name = "nccl"

    def __init__(self, timeout):
        import cupy

        nccl = _nccl()
        self.nccl, self.cupy = nccl, cupy
        self.mpi = MPIBackend(timeout)  # bootstrap, barrier and failure notices
        self.rank, self.size = self.mpi.rank, self.mpi.size
        ndev = cupy.cuda.runtime.getDeviceCount()
        if ndev == 0:
            raise RuntimeError("the 'nccl' backend needs a CUDA device, none is visible")
        local = self.mpi.comm.Split_type(_mpi().COMM_TYPE_SHARED)
        cupy.cuda.Device(local.Get_rank() % ndev).use()
        local.Free()
        uid = np.zeros(nccl.NCCL_UNIQUE_ID_BYTES if hasattr(nccl, "NCCL_UNIQUE_ID_BYTES") else 128, np.int8)
        if self.rank == 0:
            uid[:] = np.asarray(nccl.get_unique_id(), dtype=np.int64).astype(np.int8)
        self.mpi.comm.Bcast(uid, root=0)  # buffer transfer, not a pickle
        self.comm = nccl.NcclCommunicator(self.size, tuple(int(v) for v in uid), self.rank)
        self._types = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64,
                       np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.int32): nccl.NCCL_INT32,
                       np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.int8): nccl.NCCL_INT8,
                       np.dtype(np.uint8): nccl.NCCL_UINT8}
        self._ops = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_SUM, "product": nccl.NCCL_PROD,
                     "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    def _check(self, *arrays):
        for a in arrays:
            if isinstance(a, np.ndarray):
                raise RuntimeError("No backend type associated with device type cpu: the 'nccl' backend works on "
                                   "CUDA tensors; use backend='mpi' for CPU tensors")
        dt = arrays[0].dtype
        if dt not in self._types:
            raise TypeError(f"the 'nccl' backend does not support dtype {dt}")
        return self._types[dt]

    def _work(self, finish=None):
        stream = self.cupy.cuda.get_current_stream()
        ev = self.cupy.cuda.Event(disable_timing=True)
        ev.record(stream)
        return NCCLWork(ev, finish)

    def _avg(self, op, arr):
        if op == "avg":
            arr /= self.size

    def allreduce(self, arr, op, what="all_reduce"):
        t = self._check(arr)
        s = self.cupy.cuda.get_current_stream().ptr
        self.comm.allReduce(arr.data.ptr, arr.data.ptr, arr.size, t, self._ops[op], s)
        self._avg(op, arr)
        return self._work()

    def broadcast(self, arr, src):
        t = self._check(arr)
        s = self.cupy.cuda.get_current_stream().ptr
        self.comm.broadcast(arr.data.ptr, arr.data.ptr, arr.size, t, src, s)
        return self._work()

    def reduce(self, arr, dst, op):
        t = self._check(arr)
        s = self.cupy.cuda.get_current_stream().ptr
        self.comm.reduce(arr.data.ptr, arr.data.ptr, arr.size, t, self._ops[op], dst, s)
        if self.rank == dst:
            self._avg(op, arr)
        return self._work()

    def allgather(self, send, recv):
        t = self._check(send, recv)
        s = self.cupy.cuda.get_current_stream().ptr
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, t, s)
        return self._work()

    def reduce_scatter(self, send, recv, op):
        t = self._check(send, recv)
        s = self.cupy.cuda.get_current_stream().ptr
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, t, self._ops[op], s)
        self._avg(op, recv)
        return self._work()

    def barrier(self):
        self.cupy.cuda.get_current_stream().synchronize()
        return self.mpi.barrier()

    def wait(self, req, what="collective"):
        self.mpi.wait(req, what)

    def announce_failure(self, *exc_info):
        self.mpi.announce_failure(*exc_info)

    def close(self):
        self.comm.destroy()
        self.mpi.close()
