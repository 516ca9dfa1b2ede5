"""``torch.cuda.amp`` / ``torch.cpu.amp``: the older spellings of ``torch.amp.autocast(device)`` and
``torch.amp.GradScaler(device)``, still common in training scripts. As torch: each is a subclass of the
``torch.amp`` class bound to its device, and constructing one gives torch's ``FutureWarning``."""
from __future__ import annotations

import warnings

from .. import dtypes
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _warn(what, device):
    warnings.warn(f"`torch.{device}.amp.{what}(args...)` is deprecated. Please use "
                  f"`torch.amp.{what}('{device}', args...)` instead.", FutureWarning, stacklevel=3)


def _autocast_for(device, default_dtype):
    class autocast(_autocast):  # noqa: N801  torch's name
        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            _warn("autocast", device)
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    autocast.__qualname__ = "autocast"
    autocast.__module__ = f"autograd.{device}.amp"
    return autocast


def _scaler_for(device):
    class GradScaler(_GradScaler):
        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            _warn("GradScaler", device)
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)

    GradScaler.__module__ = f"autograd.{device}.amp"
    return GradScaler


cuda_autocast, cuda_GradScaler = _autocast_for("cuda", dtypes.float16), _scaler_for("cuda")
cpu_autocast, cpu_GradScaler = _autocast_for("cpu", dtypes.bfloat16), _scaler_for("cpu")
