"""Learning-rate schedulers, as ``torch.optim.lr_scheduler`` (torch 2.13).

``from minitorch_optim.lr_scheduler import StepLR`` or ``minitorch_optim.lr_scheduler.StepLR``.
"""
from .base import EPOCH_DEPRECATION_WARNING, LRScheduler, _LRScheduler
from .simple import (ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR,
                     MultiStepLR, PolynomialLR, StepLR)
from .plateau import ReduceLROnPlateau
from .combine import ChainedScheduler, SequentialLR
from .fixes import fixes, fixes_enabled, set_fixes  # noqa: F401
from .hyper import HyperParameter  # noqa: F401
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler"]
# (``__all__`` is torch's list; the opt-in fixes switch and HyperParameter are ours, imported by name)
