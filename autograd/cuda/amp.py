"""``torch.cuda.amp``: ``autocast`` and ``GradScaler`` bound to CUDA (deprecated in torch, with its warning)."""
from ..amp.deprecated import cuda_GradScaler as GradScaler, cuda_autocast as autocast

__all__ = ["GradScaler", "autocast"]
