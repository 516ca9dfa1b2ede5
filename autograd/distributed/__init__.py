"""Process groups and collectives on Tensors, named as ``torch.distributed``: MPI (CPU, via mpi4py) and NCCL
(CUDA, via ``cupy.cuda.nccl``; its unique id is shared over MPI).

Launch with ``mpirun -np N python script.py``; every rank calls ``init_process_group(backend="mpi")``.
Transfers use the arrays' buffers (mpi4py's uppercase methods), never pickles. A rank that dies with an
exception makes the others raise :class:`DistBackendError` instead of hanging.
"""
from __future__ import annotations

import datetime
import sys

from ._mpi import DistBackendError
from ._ops import (ReduceOp, all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast,  # noqa: F401
                   reduce, reduce_scatter, reduce_scatter_tensor)
from . import _state


def is_available():
    """True when mpi4py can be imported (the MPI backend is usable)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized():
    return _state.backend is not None


def is_mpi_available():
    return is_available()


def is_nccl_available():
    try:
        from ._nccl import _nccl

        _nccl()
    except Exception:
        return False
    return True


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Join the default process group of all ranks started by ``mpirun`` (torch's signature; the rank and
    world size come from MPI, and a given ``world_size``/``rank`` must agree with them)."""
    if _state.backend is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if timeout is None:
        seconds = 600.0 if name == "nccl" else 1800.0
    elif isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    else:
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    if name == "mpi":
        from ._mpi import MPIBackend

        be = MPIBackend(seconds)
    elif name == "nccl":
        from ._nccl import NCCLBackend

        be = NCCLBackend(seconds)
    else:
        raise ValueError(f"Invalid backend: '{backend}' (autograd.distributed supports 'mpi' and 'nccl')")
    if world_size not in (-1, None) and int(world_size) != be.size:
        be.close()
        raise ValueError(f"world_size={world_size} but mpirun started {be.size} processes")
    if rank not in (-1, None) and int(rank) != be.rank:
        be.close()
        raise ValueError(f"rank={rank} but MPI gave this process rank {be.rank}")
    _state.backend = be
    _state.prev_hook = sys.excepthook
    if be.size > 1:
        sys.excepthook = _announce_and_abort


def _announce_and_abort(exc_type, exc, tb):
    prev = _state.prev_hook or sys.__excepthook__
    prev(exc_type, exc, tb)
    be = _state.backend
    if be is not None:
        be.announce_failure(exc_type, exc, tb)


def destroy_process_group(group=None):
    if _state.backend is None:
        raise AssertionError("Process group cannot be None")
    be, _state.backend = _state.backend, None
    if sys.excepthook is _announce_and_abort:
        sys.excepthook = _state.prev_hook or sys.__excepthook__
    be.close()


def get_rank(group=None):
    return _state.get().rank


def get_world_size(group=None):
    return _state.get().size


def get_backend(group=None):
    return _state.get().name


class _Group:
    WORLD = None


group = _Group()

__all__ = ["DistBackendError", "ReduceOp", "all_gather", "all_gather_into_tensor", "all_reduce", "barrier",
           "broadcast", "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_initialized", "is_mpi_available", "is_nccl_available", "reduce", "reduce_scatter",
           "reduce_scatter_tensor"]
