"""Distributed optimizers (``torch.distributed.optim``): :class:`ZeroRedundancyOptimizer`."""
from .zero import ZeroRedundancyOptimizer  # noqa: F401

__all__ = ["ZeroRedundancyOptimizer"]
