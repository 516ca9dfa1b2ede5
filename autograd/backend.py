"""Devices and array modules: ``"cpu"`` runs on NumPy, ``"cuda[:n]"`` on CuPy (imported lazily)."""
from __future__ import annotations

import glob
import os
import warnings

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


_probe = None   # (cupy module or None, reason it is unusable, whether a GPU is present but CUDA failed)


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU (the driver's device nodes), whether or not CUDA works on it."""
    try:
        gpus = os.listdir("/proc/driver/nvidia/gpus")
    except OSError:
        gpus = []
    return bool(gpus) or bool(glob.glob("/dev/nvidia[0-9]*"))


def _load():
    try:
        import cupy as cp  # noqa: PLC0415
    except ImportError as e:
        return None, ("CuPy is not installed; install it with `pip install minitorch_optim[cuda]` "
                      f"(cupy-cuda13x) or a CuPy wheel matching your CUDA ({e})"), False
    try:
        n = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CUDARuntimeError and whatever a broken install raises
        err = f"{type(e).__name__}: {e}"
        if gpu_present():     # a GPU is there: this is a broken CUDA/CuPy install, not "no GPU"
            return None, (f"an NVIDIA GPU is present but CUDA failed to initialise ({err}); check that the "
                          f"driver supports the CUDA version of the installed CuPy wheel"), True
        return None, f"no usable GPU was found ({err})", False
    if n == 0:
        return None, "no GPU is available (CUDA reports 0 devices)", gpu_present()
    return cp, None, False


def cupy():
    """Import CuPy on first use, with a clear error when it or a GPU is missing (or CUDA is broken)."""
    global _cupy, _probe
    if _cupy is None:
        if _probe is None:
            _probe = _load()
        cp, reason, _ = _probe
        if cp is None:
            raise RuntimeError(f"CUDA device requested but {reason}")
        _cupy = cp
    return _cupy


def cuda_unavailable_reason():
    """Why CUDA cannot be used here (None when it can)."""
    try:
        cupy()
        return None
    except RuntimeError as e:
        return str(e)


def cuda_is_available() -> bool:
    try:
        cupy()
        return True
    except RuntimeError as e:
        if _probe is not None and _probe[2]:
            warnings.warn(f"CUDA initialization: {e}", UserWarning, stacklevel=2)
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
        use_device_of(arr)
        return _cupy
    mod = type(arr).__module__
    if mod.startswith("cupy"):
        cp = cupy()
        use_device_of(arr)
        return cp
    return np


def use_device_of(arr):
    """Make ``arr``'s GPU the current CUDA device (CuPy runs kernels and allocates on the current device,
    so an op on ``cuda:1`` data must run with device 1 current). Called by :func:`array_module`, so every op
    that picks its array module from its data runs on that data's device."""
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        i = arr.device.id
        if _cupy.cuda.runtime.getDevice() != i:
            _cupy.cuda.runtime.setDevice(i)


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
        if isinstance(arr, cp.ndarray):      # another GPU: ndarray.copy() copies onto the current device
            return arr.copy()
        return cp.asarray(arr)
