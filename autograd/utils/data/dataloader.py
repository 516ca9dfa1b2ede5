"""``torch.utils.data.dataloader``."""
from ...data import DataLoader, default_collate, default_convert, get_worker_info  # noqa: F401
