"""``torch.autograd.function``."""
from ..function import Function, FunctionCtx, once_differentiable  # noqa: F401


