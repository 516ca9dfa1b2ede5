"""Creating tensors: ``tensor`` (copying lists, scalars, arrays, Tensors), ``as_tensor``, ``from_numpy``."""
from __future__ import annotations

import builtins

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


# ---- creation -----------------------------------------------------------------------------------------
def _infer_dtype(data):
    if isinstance(data, builtins.bool) or (isinstance(data, (list, tuple)) and _has_leaf(data)
                                           and _all_kind(data, builtins.bool)):
        return dtypes.bool
    arr = np.asarray(data)
    if arr.dtype.kind == "f" and not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
        return dtypes.get_default_dtype()
    if arr.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        return dtypes.int64
    return arr.dtype


def _has_leaf(seq):
    """Whether a nested list holds any scalar (``[]`` and ``[[]]`` hold none: default float, as torch)."""
    return builtins.any(not isinstance(x, (list, tuple)) or _has_leaf(x) for x in seq)


def _all_kind(seq, kind):
    for x in seq:
        if isinstance(x, (list, tuple)):
            if not _all_kind(x, kind):
                return False
        elif not isinstance(x, kind):
            return False
    return True


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf Tensor copying ``data`` (lists, scalars, NumPy/CuPy arrays or Tensors)."""
    if isinstance(data, Tensor):
        data = data._data
    dev = backend.as_device(device) if device is not None else None
    if dev is None:
        dev = backend.device_of(data) if not isinstance(data, (list, tuple, builtins.float, builtins.int)) \
            else backend.CPU
    xp = backend.xp_for(dev)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x.numpy() if isinstance(x, Tensor) else x for x in data]
    dt = dtypes.as_dtype(dtype) or _infer_dtype(data if backend.device_of(data) == backend.CPU
                                                  or isinstance(data, (list, tuple))
                                                  else np.empty((0,), data.dtype))   # GPU data: its dtype only
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple, builtins.float, builtins.int, np.generic)):
        arr = np.array(data, dtype=dt)
        if xp is not np:
            arr = backend.to_device(arr, dev)
    else:
        arr = backend.to_device(data, dev, copy=True).astype(dt, copy=False)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device is None and dtype is None:
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    return Tensor._wrap(arr)


def is_tensor(x):
    return isinstance(x, Tensor)
