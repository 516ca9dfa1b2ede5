"""``torch.optim`` for ``import autograd as torch``: ``minitorch_optim`` itself under torch's names.

``autograd`` sits below ``minitorch_optim`` (which imports it), so ``autograd`` reaches this module only on
first use (``autograd.optim`` through the package ``__getattr__``, or ``import autograd.optim``), never while
``autograd`` itself is being imported.
"""
import sys as _sys

import minitorch_optim as _optim
from minitorch_optim import *  # noqa: F401,F403
from minitorch_optim import lr_scheduler, optimizer, swa_utils  # noqa: F401

for _name in ("lr_scheduler", "swa_utils", "optimizer"):   # ``import autograd.optim.lr_scheduler`` too
    _sys.modules[f"{__name__}.{_name}"] = getattr(_optim, _name)

__all__ = list(_optim.__all__)


def __getattr__(name):
    try:
        return getattr(_optim, name)
    except AttributeError:
        raise AttributeError(f"module '{__name__}' has no attribute '{name}': autograd does not support "
                             f"torch.optim.{name} (see the 'Porting a torch script' page of the docs)") from None
