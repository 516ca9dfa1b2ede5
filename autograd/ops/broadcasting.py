"""torch's broadcasting functions: ``broadcast_shapes`` (the common shape of several shapes, as a ``Size``),
``broadcast_to`` (one tensor expanded to a shape, a view as ``expand``) and ``broadcast_tensors`` (several
tensors expanded to their common shape, views), with torch's error messages. Gathered into ``torch.<name>``
by :mod:`.shape_extra`."""
from __future__ import annotations

import numpy as np

from ..tensor import Size
from . import shape
from .basic import register


def broadcast_shapes(*shapes):
    """The shape all of ``shapes`` (sequences of sizes, or single ints) broadcast to, as a ``Size``."""
    as_tuples = [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes]
    ndim = max((len(s) for s in as_tuples), default=0)
    result = [1] * ndim
    for s in as_tuples:
        for i, n in enumerate(s):
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(s)}")
            k = ndim - len(s) + i
            if result[k] == 1:
                result[k] = n
    for arg, s in enumerate(as_tuples):
        for i, n in enumerate(s):
            k = ndim - len(s) + i
            if n not in (1, result[k]):
                raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {i - len(s)}! Mismatching "
                                   f"argument at index {arg} had {tuple(s)}; but expected shape should be "
                                   f"broadcastable to {result}")
    return Size(result)


@register("broadcast_to")
def broadcast_to(input, *sizes, size=None):  # noqa: A002
    """``input`` expanded to ``size`` (a view, as ``expand``); the sizes may also be given one by one."""
    size = shape._shape_arg(sizes) if size is None else tuple(int(n) for n in size)
    lead = len(size) - input.ndim
    for i in reversed(range(max(lead, 0), len(size))):   # torch reports the last mismatching dimension first
        have = input.shape[i - lead]
        if size[i] != -1 and have not in (1, size[i]):
            raise RuntimeError(f"The expanded size of the tensor ({size[i]}) must match the existing size ({have}) "
                               f"at non-singleton dimension {i}.  Target sizes: {list(size)}.  Tensor sizes: "
                               f"{list(input.shape)}")
    return shape.expand(input, size)


def broadcast_tensors(*tensors):
    """Every tensor expanded (as a view) to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ndim = max((t.ndim for t in tensors), default=0)
    common = [1] * ndim
    for t in tensors:
        for i, n in enumerate(t.shape):
            k = ndim - t.ndim + i
            if n != 1 and common[k] not in (1, n):
                raise RuntimeError(f"The size of tensor a ({common[k]}) must match the size of tensor b ({n}) at "
                                   f"non-singleton dimension {k}")
            if common[k] == 1:
                common[k] = n
    return tuple(shape.expand(t, tuple(common)) for t in tensors)


EXPORTS = ("broadcast_shapes", "broadcast_to", "broadcast_tensors")
