"""``nn.utils.skip_init``: a module with its parameters and buffers left uninitialised.

torch builds the module on its meta device (no storage, no initialisation) and then gives it empty storage.
There is no meta device here, so the module is built on the target device and then given fresh empty
storage; the generator's state is put back afterwards, so the random numbers the initialisation drew are not
missed by what comes next (as with torch, where the meta initialisation draws none).
"""
from __future__ import annotations

import inspect

from ...creation import default_generator
from ..module import Module


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with uninitialised parameters; the class must take ``device``."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    state = default_generator.get_state()
    try:
        module = module_cls(*args, device=final_device, **kwargs)
    finally:
        default_generator.set_state(state)
    return module.to_empty(device=final_device)


__all__ = ["skip_init"]
