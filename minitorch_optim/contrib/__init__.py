"""Optimizers torch does not ship, under their reference implementations' names (pytorch_optimizer 4.1.0,
schedulefree 1.4.1). See docs/src/contrib.md."""
from ._part_b import *  # noqa: F401,F403  (issue 12 part B)
from ._part_b import __all__ as _all_b

__all__ = list(_all_b)
