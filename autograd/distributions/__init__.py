"""``torch.distributions``: ``Normal``, ``Bernoulli``, ``Categorical``, ``Uniform``, ``Exponential``, ``Laplace``,
``Independent`` (sample, rsample, log_prob, entropy, cdf / icdf where torch has them, the moments) and
``kl_divergence`` between two of a kind. Other names fail by name."""
from .._unsupported import module_getattr
from .basic import Bernoulli, Categorical, Normal, kl_divergence  # noqa: F401
from .continuous import Exponential, Laplace, Uniform  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .independent import Independent  # noqa: F401
from . import kl  # noqa: F401  (torch.distributions.kl.kl_divergence)

__getattr__ = module_getattr(__name__, "torch.distributions")
