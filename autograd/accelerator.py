"""``torch.accelerator``: the one accelerator we drive is CUDA through CuPy."""
from __future__ import annotations

from . import backend, cuda
from ._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.accelerator")


def is_available():
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` where CUDA works, else None (as torch with no accelerator)."""
    return backend.device("cuda") if cuda.is_available() else None


def device_count():
    return cuda.device_count()


def current_device_index():
    return cuda.current_device() if cuda.is_available() else -1


current_device_idx = current_device_index


def set_device_index(device):
    cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None):
    if cuda.is_available():
        cuda.synchronize(device)
