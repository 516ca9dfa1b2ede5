"""``torch.distributions.kl``: where torch scripts import ``kl_divergence`` and ``register_kl`` from."""
from .basic import kl_divergence  # noqa: F401
from .discrete_more import register_kl  # noqa: F401
