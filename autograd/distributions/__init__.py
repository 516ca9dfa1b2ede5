"""``torch.distributions``: the continuous (Normal, Uniform, Exponential, Laplace, Gamma, Beta, Dirichlet, Chi2,
StudentT, Cauchy, HalfNormal, HalfCauchy, LogNormal, Gumbel, Weibull, Pareto, FisherSnedecor, VonMises,
MultivariateNormal, LowRankMultivariateNormal) and discrete ones (Bernoulli, Categorical, Poisson, Binomial,
Multinomial, Geometric, NegativeBinomial, OneHotCategorical, ContinuousBernoulli, the relaxed ones),
``Independent``, ``TransformedDistribution`` with ``transforms`` and ``constraints``, and ``kl_divergence`` /
``register_kl``. Other names fail by name."""
from .._unsupported import module_getattr
from .basic import Bernoulli, Categorical, Normal, kl_divergence  # noqa: F401
from .continuous import Exponential, Laplace, Uniform  # noqa: F401
from .distribution import Distribution  # noqa: F401
from .independent import Independent  # noqa: F401
from . import kl  # noqa: F401  (torch.distributions.kl.kl_divergence)
from . import continuous_more as _continuous_more, discrete_more as _discrete_more  # noqa: E402
from . import transforms  # noqa: E402,F401  (torch.distributions.transforms)
for _m in (_continuous_more, _discrete_more, transforms):   # each lists its torch.distributions names
    globals().update({_n: getattr(_m, _n) for _n in _m.EXPORTS})

__getattr__ = module_getattr(__name__, "torch.distributions")
