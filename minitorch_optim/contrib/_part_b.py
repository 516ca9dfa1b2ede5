"""Issue 12 part B of ``minitorch_optim.contrib``: the optimizers that are not elementwise (trust ratios,
d-adaptation, factored or matrix preconditioners), the wrappers, schedule-free, schedulers and helpers."""
from ._common_b import (NegativeLRError, NegativeStepError, NoClosureError, NoComplexParameterError,
                        NoSparseGradientError)
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

__all__ = ["Lamb", "LARS", "NovoGrad", "AdamP", "SGDP", "Prodigy", "DAdaptAdam", "CAME", "SOAP", "Shampoo", "AdaHessian", "SophiaH",
           "Lookahead", "SAM", "AdamWScheduleFree", "SGDScheduleFree", "RAdamScheduleFree",
           "bn_update_schedule_free", "CosineScheduler", "LinearScheduler", "PolyScheduler",
           "CosineAnnealingWarmupRestarts", "WarmupStableDecayLR", "get_wsd_schedule", "get_wsd_scheduler_lambda",
           "get_optimizer_parameters", "layer_wise_lr_decay", "MultiSteps", "NoSparseGradientError",
           "NoComplexParameterError", "NoClosureError", "NegativeLRError", "NegativeStepError"]
