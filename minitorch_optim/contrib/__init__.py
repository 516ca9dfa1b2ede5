"""Optimizers torch does not ship, equal to their reference implementations under the same names,
constructor arguments, defaults and state layout (pytorch_optimizer 4.1.0, schedulefree 1.4.1).

See docs/src/contrib.md for the list, each class's reference and the paths it offers.
"""
from ._base import NegativeLRError, NoComplexParameterError, NoSparseGradientError
from .adabelief import AdaBelief, Yogi
from .adan import Adan
from .adopt import ADOPT, AdEMAMix
from .aggmo import AggMo
from .grad_utils import agc, centralize_gradient
from .lion import Lion, SignSGD, Tiger
from .madgrad import MADGRAD
from .mars import MARS
from .qh import QHM, QHAdam
from .stable_adamw import Grams, LaProp, StableAdamW

# the elementwise optimizers (one update function each, in the op vocabulary; see _base.py)
ELEMENTWISE = ["Lion", "Tiger", "SignSGD", "Adan", "AdaBelief", "Yogi", "QHAdam", "QHM", "AggMo", "MADGRAD",
               "ADOPT", "AdEMAMix", "StableAdamW", "LaProp", "Grams", "MARS"]

__all__ = ELEMENTWISE + ["agc", "centralize_gradient", "NoSparseGradientError", "NegativeLRError",
                         "NoComplexParameterError"]

# ---- i12b: the non-elementwise optimizers, wrappers, schedulers and helpers (imports and __all__ below) ----
from ._part_b import *  # noqa: E402,F401,F403
from ._part_b import __all__ as _all_b  # noqa: E402

__all__ = __all__ + [n for n in _all_b if n not in __all__]
