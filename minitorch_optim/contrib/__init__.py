"""Optimizers torch does not ship, equal to their reference implementations under the same names,
constructor arguments, defaults and state layout (pytorch_optimizer 4.1.0, schedulefree 1.4.1).

See docs/src/contrib.md for the list, each class's reference and the paths it offers.
"""
from ._base import (NegativeLRError, NegativeStepError, NoClosureError, NoComplexParameterError,
                    NoSparseGradientError)
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
# the optimizers that are not elementwise, the wrappers, schedulers and helpers
from .adamp import SGDP, AdamP
from .came import CAME
from .dadapt import DAdaptAdam, Prodigy
from .hessian import AdaHessian, SophiaH
from .helpers import MultiSteps, get_optimizer_parameters, layer_wise_lr_decay
from .schedule_free import AdamWScheduleFree, RAdamScheduleFree, SGDScheduleFree, bn_update_schedule_free
from .schedulers import (CosineAnnealingWarmupRestarts, CosineScheduler, LinearScheduler, PolyScheduler,
                         WarmupStableDecayLR, get_wsd_schedule, get_wsd_scheduler_lambda)
from .shampoo import Shampoo
from .soap import SOAP
from .trust_ratio import LARS, Lamb, NovoGrad
from .wrappers import SAM, Lookahead


# the elementwise optimizers (one update function each, in the op vocabulary; see _base.py)
ELEMENTWISE = ["Lion", "Tiger", "SignSGD", "Adan", "AdaBelief", "Yogi", "QHAdam", "QHM", "AggMo", "MADGRAD",
               "ADOPT", "AdEMAMix", "StableAdamW", "LaProp", "Grams", "MARS"]

__all__ = ELEMENTWISE + ["agc", "centralize_gradient", "NoSparseGradientError", "NegativeLRError",
                         "NoComplexParameterError"]

# the others: trust ratios, d-adaptation, factored or matrix preconditioners, wrappers, schedule-free,
# schedulers and helpers
_OTHERS = ["Lamb", "LARS", "NovoGrad", "AdamP", "SGDP", "Prodigy", "DAdaptAdam", "CAME", "SOAP", "Shampoo", "AdaHessian", "SophiaH",
           "Lookahead", "SAM", "AdamWScheduleFree", "SGDScheduleFree", "RAdamScheduleFree",
           "bn_update_schedule_free", "CosineScheduler", "LinearScheduler", "PolyScheduler",
           "CosineAnnealingWarmupRestarts", "WarmupStableDecayLR", "get_wsd_schedule", "get_wsd_scheduler_lambda",
           "get_optimizer_parameters", "layer_wise_lr_decay", "MultiSteps", "NoSparseGradientError",
           "NoComplexParameterError", "NoClosureError", "NegativeLRError", "NegativeStepError"]

__all__ = __all__ + [n for n in _OTHERS if n not in __all__]
