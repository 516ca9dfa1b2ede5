"""``torch.cuda`` as far as CuPy can answer it; every query works without CuPy (no GPU: 0 devices, 0 bytes).

Seeding: ``manual_seed``/``manual_seed_all`` re-seed the GPU streams of the default generator (ours, not
torch's numbers). Memory figures are those of CuPy's default memory pool, which is where our tensors live.
"""
from __future__ import annotations

from .. import backend
from .._unsupported import module_getattr
from . import amp  # noqa: F401  torch.cuda.amp: the deprecated spellings of torch.amp

__getattr__ = module_getattr(__name__, "torch.cuda")


def is_available():
    return backend.cuda_is_available()


def is_initialized():
    return backend._cupy is not None


def init():
    is_available()


def device_count():
    if not backend.cuda_is_available():
        return 0
    return backend.cupy().cuda.runtime.getDeviceCount()


def _need_cuda():
    if not backend.cuda_is_available():
        raise RuntimeError(f"CUDA is not available here: {backend.cuda_unavailable_reason()}")
    return backend.cupy()


def _index(device):
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = backend.as_device(device)
    return d.index or 0


def current_device():
    return _need_cuda().cuda.runtime.getDevice()


def set_device(device):
    idx = _index(device)
    if idx >= 0:
        _need_cuda().cuda.runtime.setDevice(idx)


class device:
    """``with autograd.cuda.device(i):`` makes GPU ``i`` current for the block."""

    def __init__(self, device):
        self.idx = _index(device) if device is not None else -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev = current_device()
            set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.idx >= 0:
            set_device(self.prev)
        return False


def synchronize(device=None):
    cp = _need_cuda()
    with cp.cuda.Device(_index(device)):
        cp.cuda.runtime.deviceSynchronize()


def manual_seed(seed):
    """Seed the current GPU's stream (no GPU: nothing to do, as torch)."""
    from ..creation import default_generator

    default_generator.manual_seed_device(seed, current_device() if backend.cuda_is_available() else None)


def manual_seed_all(seed):
    from ..creation import default_generator

    default_generator.manual_seed_device(seed)


def seed_all():
    import random

    manual_seed_all(random.getrandbits(63))


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    p = get_device_properties(device)
    return p.major, p.minor


class _Properties:
    def __init__(self, raw):
        self.name = raw["name"].decode() if isinstance(raw["name"], bytes) else raw["name"]
        self.total_memory = int(raw["totalGlobalMem"])
        self.major, self.minor = int(raw["major"]), int(raw["minor"])
        self.multi_processor_count = int(raw["multiProcessorCount"])

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2 ** 20}MB, multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    return _Properties(_need_cuda().cuda.runtime.getDeviceProperties(_index(device)))


def _pool(device):
    if not backend.cuda_is_available():
        return None
    cp = backend.cupy()
    return cp.get_default_memory_pool(), cp.cuda.Device(_index(device))


def memory_allocated(device=None):
    """Bytes held by tensors (CuPy's pool: used bytes); 0 without a GPU."""
    p = _pool(device)
    if p is None:
        return 0
    with p[1]:
        return int(p[0].used_bytes())


def memory_reserved(device=None):
    """Bytes the pool holds from the driver (used + cached); 0 without a GPU."""
    p = _pool(device)
    if p is None:
        return 0
    with p[1]:
        return int(p[0].total_bytes())


def empty_cache():
    p = _pool(None)
    if p is not None:
        p[0].free_all_blocks()


def mem_get_info(device=None):
    """``(free, total)`` bytes of the GPU, from the driver."""
    cp = _need_cuda()
    with cp.cuda.Device(_index(device)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


def is_bf16_supported(including_emulation=True):
    return is_available()
