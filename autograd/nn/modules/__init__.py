"""``torch.nn.modules``: the namespace torch keeps its Module in; ``modules.module`` holds the global hooks."""
from . import module  # noqa: F401

__all__ = ["module"]
