"""What every linear-algebra module of :mod:`autograd.ops` shares: torch's error class
(:class:`LinAlgError`), its checks of a linalg input and its messages for a failed matrix of a batch, the
test for a cuSOLVER failure CuPy leaves unreported, and small helpers (int32 results, torch's
once-per-process deprecation warnings, batched transposes).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend, dtypes, grad_mode
from ..tensor import Tensor
from . import shape as _shape


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorisation failed (singular, not positive-definite)."""


def array_namespace(a):
    return backend.array_module(a)


def transpose_array(x):
    """The matrix transpose of each matrix of a batch (an array)."""
    return x.swapaxes(-1, -2)


def transpose(x):
    """The matrix transpose of each matrix of a batch (a recorded Tensor op)."""
    return _shape.transpose(x, -1, -2)


def raw(x):
    """The array of a Tensor; an array as it is."""
    return x._data if isinstance(x, Tensor) else x


_xp = array_namespace


def batch_prefix(shape, flat_index):
    """torch's ``(Batch element i): `` prefix of an error about one matrix of a batch."""
    return f"(Batch element {flat_index}): " if len(shape) > 2 else ""


def check_matrix(name, A, square=True):
    """torch's checks of a linalg input: at least 2-D, floating (not 16-bit), square when asked."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    dt = A.dtype
    if dt.kind not in "fc" and dt != dtypes.bfloat16:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {dtypes.torch_name(dt)}")
    if dt.itemsize == 2:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {dtypes.torch_name(dt)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if dt.kind == "c" and A.requires_grad and grad_mode.is_grad_enabled():
        # the rules are written with transposes: a complex input would get a wrong gradient, not none
        raise NotImplementedError(f"autograd: {name} of a complex tensor that requires grad is not supported "
                                  f"(complex inputs work without grad)")


def raise_first_failure(info, shape, name, message, error=None):
    """torch's error for the first failed matrix: ``name: (Batch element i): message(info)``, a
    :class:`LinAlgError` unless ``error`` names another class."""
    flat = info.reshape(-1)
    bad = int(np.flatnonzero(backend.to_device(flat, "cpu") if not isinstance(flat, np.ndarray) else flat)[0])
    raise (error or LinAlgError)(f"{name}: {batch_prefix(shape, bad)}{message(int(flat[bad]))}")


def device_failed(result):
    """On CuPy, whether a factorisation may have failed: cuSOLVER reports through ``info``, which CuPy does not
    check by default, so a failure shows as non-finite values (confirmed, or not, on the input)."""
    xp = _xp(result)
    return xp is not np and not bool(xp.isfinite(result).all())


def int32_tensor(x):
    """``x`` as an int32 Tensor (getrf's pivots, the ``info`` of the ``*_ex`` functions)."""
    return Tensor._wrap(backend.array_module(x).asarray(x, np.int32))


_warned = set()


def deprecated(key, message):
    """torch's deprecation ``UserWarning`` for ``key``, once per process."""
    if key not in _warned:   # torch warns once per process
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)
