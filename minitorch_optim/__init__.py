"""torch.optim without torch: ``import minitorch_optim as optim`` and use it as ``torch.optim``."""
import autograd as _autograd

if not getattr(_autograd, "__minitorch__", False):  # pragma: no cover - depends on the environment
    raise ImportError(
        f"minitorch_optim needs its own 'autograd' package, but 'import autograd' found "
        f"{getattr(_autograd, '__file__', _autograd)!r} (probably HIPS autograd from PyPI). Uninstall it "
        "(`pip uninstall autograd`) or reinstall this project (`pip install -e .`) so ours comes first."
    )

from ._core.hooks import register_optimizer_step_post_hook, register_optimizer_step_pre_hook  # noqa: E402
from .optimizer import Optimizer  # noqa: E402
from .sgd import SGD  # noqa: E402
from .adam import Adam, AdamW  # noqa: E402
from .adagrad import Adagrad  # noqa: E402
from .adadelta import Adadelta  # noqa: E402
from .adamax import Adamax  # noqa: E402
from .asgd import ASGD  # noqa: E402
from .rmsprop import RMSprop  # noqa: E402
from .rprop import Rprop  # noqa: E402
from .nadam import NAdam  # noqa: E402
from .radam import RAdam  # noqa: E402
from .lbfgs import LBFGS  # noqa: E402
from .sparse_adam import SparseAdam  # noqa: E402
from .adafactor import Adafactor  # noqa: E402
from .muon import Muon  # noqa: E402
from .multi import MultiOptimizer  # noqa: E402
from .state_loading import LoadReport, StateLoadError  # noqa: E402
from . import lr_scheduler  # noqa: E402
from . import swa_utils  # noqa: E402

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "ASGD",
           "RMSprop", "Rprop", "NAdam", "RAdam", "LBFGS", "SparseAdam", "Adafactor", "Muon",
           "MultiOptimizer", "LoadReport", "StateLoadError",
           "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook", "lr_scheduler", "swa_utils"]
