"""``torch.utils.data.distributed``."""
from ...data import DistributedSampler  # noqa: F401
