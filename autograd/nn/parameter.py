"""``Parameter``: a leaf Tensor that a Module registers as one of its parameters."""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and is picked up by ``Module.parameters()``.

    ``Parameter(tensor_or_array)`` shares the storage of a Tensor (as torch) and wraps arrays as they are;
    ``Parameter()`` is an empty float tensor.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        elif isinstance(data, np.ndarray) or backend.array_module(data) is not np:
            arr = data
        else:
            arr = np.asarray(data)
            if (arr.dtype.kind == "f" or arr.dtype == dtypes.bfloat16) and not isinstance(data, np.generic):
                arr = arr.astype(dtypes.get_default_dtype())
        super().__init__(arr, False)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.numpy(), self.requires_grad, str(self.device)))


def _rebuild_parameter(data, requires_grad, device="cpu"):
    if device != "cpu":       # a CUDA Parameter unpickles on its device (torch), not on the CPU
        data = backend.to_device(data, device)
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a Tensor to be registered as a buffer when assigned to a Module attribute (torch 2.5+)."""

    def __init__(self, data, persistent=True):
        super().__init__(data._data if isinstance(data, Tensor) else np.asarray(data), False)
        self.persistent = persistent


__all__ = ["Parameter", "Buffer"]
