"""Collectives on Tensors (torch's signatures). Results are written into the given tensors' storage, so
views and aliases see them; non-contiguous tensors go through a contiguous copy that is written back."""
from __future__ import annotations

import enum

from ..backend import array_module
from . import _state


class ReduceOp(enum.Enum):
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __repr__(self):
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


def _op(op):
    if isinstance(op, ReduceOp):
        return op.value
    raise ValueError(f"Unsupported ReduceOp {op!r}: use autograd.distributed.ReduceOp")


def _array(t, what):
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected an autograd.Tensor, got {type(t).__name__}")
    return t._data


def _contig(arr):
    """A C-contiguous array to hand to the backend and a function that writes it back into ``arr``."""
    if arr.flags.c_contiguous:
        return arr, None
    tmp = arr.copy(order="C")

    def back():
        arr[...] = tmp
    return tmp, back


def _c(arr):
    """``arr`` if C-contiguous, else a C-contiguous copy (0-d stays 0-d, unlike ``ascontiguousarray``)."""
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _chain(*fns):
    fns = [f for f in fns if f is not None]
    return (lambda: [f() for f in fns]) if fns else None


def _finish(be, work, async_op, after=None):
    if after is not None:
        prev = work._finish
        work._finish = _chain(prev, after)
        if work._done:  # completed at once (a zero-size request): run what was added
            after()
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks in place (``op``: SUM, AVG, PRODUCT, MIN, MAX)."""
    be = _state.get()
    arr, back = _contig(_array(tensor, "all_reduce"))
    return _finish(be, be.allreduce(arr, _op(op)), async_op, back)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks into ``tensor`` of rank ``dst`` (the others' stay as they were)."""
    be = _state.get()
    if not 0 <= int(dst) < be.size:
        raise ValueError(f"Invalid dst rank {dst} for a group of size {be.size}")
    arr, back = _contig(_array(tensor, "reduce"))
    return _finish(be, be.reduce(arr, int(dst), _op(op)), async_op, back if be.rank == int(dst) else None)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank."""
    be = _state.get()
    if not 0 <= int(src) < be.size:
        raise ValueError(f"Invalid src rank {src} for a group of size {be.size}")
    arr, back = _contig(_array(tensor, "broadcast"))
    return _finish(be, be.broadcast(arr, int(src)), async_op, back)


def _same(arrays, ref, what):
    for a in arrays:
        if a.shape != ref.shape or a.dtype != ref.dtype:
            raise ValueError(f"{what}: every tensor must have shape {tuple(ref.shape)} and dtype {ref.dtype}, "
                             f"got {tuple(a.shape)} {a.dtype}")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank r's ``tensor``."""
    be = _state.get()
    if len(tensor_list) != be.size:
        raise ValueError(f"all_gather: tensor_list must have {be.size} tensors (the world size), got "
                         f"{len(tensor_list)}")
    src = _array(tensor, "all_gather")
    outs = [_array(t, "all_gather") for t in tensor_list]
    _same(outs, src, "all_gather")
    xp = array_module(src)
    send = _c(src)
    recv = xp.empty((be.size,) + send.shape, send.dtype)

    def scatter():
        for r, o in enumerate(outs):
            o[...] = recv[r]
    return _finish(be, be.allgather(send, recv), async_op, scatter)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor``."""
    be = _state.get()
    src, out = _array(input_tensor, "all_gather_into_tensor"), _array(output_tensor, "all_gather_into_tensor")
    if out.size != src.size * be.size or out.dtype != src.dtype:
        raise ValueError("all_gather_into_tensor: output tensor size must be equal to world_size times the input "
                         "tensor size, with the same dtype")
    recv, back = _contig(out)
    return _finish(be, be.allgather(_c(src), recv), async_op, back)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[r]`` over all ranks into ``output`` of rank r."""
    be = _state.get()
    if len(input_list) != be.size:
        raise ValueError(f"reduce_scatter: input_list must have {be.size} tensors (the world size), got "
                         f"{len(input_list)}")
    out = _array(output, "reduce_scatter")
    ins = [_array(t, "reduce_scatter") for t in input_list]
    _same(ins, out, "reduce_scatter")
    xp = array_module(out)
    send = xp.stack(ins)
    recv, back = _contig(out)
    return _finish(be, be.reduce_scatter(send, recv, _op(op)), async_op, back)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` (world_size chunks along dim 0) and keep chunk ``rank`` in ``output``."""
    be = _state.get()
    out, src = _array(output, "reduce_scatter_tensor"), _array(input, "reduce_scatter_tensor")
    if src.size != out.size * be.size or out.dtype != src.dtype:
        raise ValueError("reduce_scatter_tensor: input tensor must be world_size times the output tensor size, "
                         "with the same dtype")
    recv, back = _contig(out)
    return _finish(be, be.reduce_scatter(_c(src), recv, _op(op)), async_op, back)


def barrier(group=None, async_op=False, device_ids=None):
    be = _state.get()
    return _finish(be, be.barrier(), async_op)
