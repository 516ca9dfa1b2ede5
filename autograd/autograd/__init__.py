"""``torch.autograd`` for ``import autograd as torch``: ``grad``, ``backward``, ``Function``, ``functional``,
``graph``, ``gradcheck``/``gradgradcheck``, the grad-mode switches, and anomaly detection (accepted; it adds no checks here)."""
from .. import functional  # noqa: F401
from ..function import Function, FunctionCtx, once_differentiable  # noqa: F401
from ..grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,  # noqa: F401
                          no_grad, set_grad_enabled)
from ..ops.differentiate import backward, grad  # noqa: F401
from .._unsupported import module_getattr
from . import anomaly_mode, function, gradcheck as _gradcheck_module, graph  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .variable import Variable  # noqa: F401
from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly  # noqa: F401

__getattr__ = module_getattr(__name__, "torch.autograd")
