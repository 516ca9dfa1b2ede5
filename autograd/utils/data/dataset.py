"""``torch.utils.data.dataset``."""
from ...data import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,  # noqa: F401
                     random_split)
