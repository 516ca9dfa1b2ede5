"""``torch.utils.data.sampler``."""
from ...data import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,  # noqa: F401
                     WeightedRandomSampler)
