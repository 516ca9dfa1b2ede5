"""``torch.cpu.amp``: ``autocast`` and ``GradScaler`` bound to the CPU (deprecated in torch, with its warning)."""
from ..amp.deprecated import cpu_GradScaler as GradScaler, cpu_autocast as autocast

__all__ = ["GradScaler", "autocast"]
