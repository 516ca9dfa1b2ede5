"""Devices and array modules: ``"cpu"`` runs on NumPy, ``"cuda[:n]"`` on CuPy (imported lazily)."""
from __future__ import annotations

import numpy as np

_cupy = None


class device:
    """A device, comparable with strings: ``device("cuda:0") == "cuda:0"``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string or device, got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {spec}")
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(idx)
        if kind == "cuda" and index is None:
            index = 0
        self.type = kind
        self.index = None if kind == "cpu" else index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


def cupy():
    """Import CuPy on first use, with a clear error when it or a GPU is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp  # noqa: PLC0415
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "CUDA device requested but CuPy is not installed; install it with "
                "`pip install minitorch_optim[cuda]` (cupy-cuda13x) or a CuPy wheel matching your CUDA"
            ) from e
        try:
            n = cp.cuda.runtime.getDeviceCount()
        except Exception as e:  # pragma: no cover
            raise RuntimeError(f"CUDA device requested but no usable GPU was found: {e}") from e
        if n == 0:  # pragma: no cover
            raise RuntimeError("CUDA device requested but no GPU is available")
        _cupy = cp
    return _cupy


def cuda_is_available() -> bool:
    try:
        cupy()
        return True
    except RuntimeError:
        return False


def as_device(dev) -> device:
    if dev is None:
        return CPU
    if isinstance(dev, int):
        return device("cuda", dev)
    return device(dev)


def device_ctx(dev):
    """Context manager making ``dev`` current while arrays are created (CuPy allocates on the current GPU)."""
    import contextlib

    dev = as_device(dev)
    if dev.type == "cpu":
        return contextlib.nullcontext()
    return cupy().cuda.Device(dev.index)


def xp_for(dev) -> object:
    """Array module for a device."""
    dev = as_device(dev)
    return np if dev.type == "cpu" else cupy()


def array_module(arr):
    """NumPy or CuPy, whichever owns ``arr``."""
    if isinstance(arr, np.ndarray) or np.isscalar(arr):
        return np
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _cupy
    mod = type(arr).__module__
    if mod.startswith("cupy"):
        return cupy()
    return np


def device_of(arr) -> device:
    if isinstance(arr, np.ndarray) or _cupy is None:
        return CPU
    if isinstance(arr, _cupy.ndarray):
        return device("cuda", arr.device.id)
    return CPU


def to_device(arr, dev, copy=False):
    """Move an array to ``dev`` (NumPy <-> CuPy); copies only when needed unless ``copy``."""
    dev = as_device(dev)
    src = device_of(arr)
    if dev == src:
        return arr.copy() if copy else arr
    if dev.type == "cpu":
        return arr.get()
    cp = cupy()
    with cp.cuda.Device(dev.index):
        return cp.asarray(arr)
