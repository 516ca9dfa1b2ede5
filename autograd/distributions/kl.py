"""``torch.distributions.kl``: where torch scripts import ``kl_divergence`` from."""
from .basic import kl_divergence  # noqa: F401
