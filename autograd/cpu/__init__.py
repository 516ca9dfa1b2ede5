"""``torch.cpu``: the device queries a script asks of the CPU, and ``torch.cpu.amp``."""
from .._unsupported import module_getattr
from . import amp  # noqa: F401

__getattr__ = module_getattr(__name__, "torch.cpu")


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Nothing to wait for: CPU work here is synchronous."""
