"""The continuous distributions of ``torch.distributions`` beyond Normal, Uniform, Exponential and Laplace:
``Gamma``, ``Chi2``, ``Beta``, ``Dirichlet`` (:mod:`.gamma_family`), ``StudentT``, ``Cauchy``, ``HalfCauchy``,
``FisherSnedecor`` (:mod:`.heavy_tails`), ``HalfNormal``, ``LogNormal``, ``Gumbel``, ``Weibull``, ``Pareto``
(:mod:`.transformed_family`: the ones torch builds as a ``TransformedDistribution``, written directly),
``MultivariateNormal`` and ``LowRankMultivariateNormal`` (:mod:`.multivariate`), ``VonMises``; importing them registers their
KL divergences. Their names become ``autograd.distributions.<name>`` through ``EXPORTS``."""
from __future__ import annotations

from .gamma_family import Beta, Chi2, Dirichlet, Gamma
from .heavy_tails import Cauchy, FisherSnedecor, HalfCauchy, StudentT
from .multivariate import LowRankMultivariateNormal, MultivariateNormal
from .transformed_family import Gumbel, HalfNormal, LogNormal, Pareto, Weibull
from .von_mises import VonMises

__all__ = ["Gamma", "Chi2", "Beta", "Dirichlet", "StudentT", "Cauchy", "HalfNormal", "HalfCauchy", "LogNormal",
           "Gumbel", "Weibull", "Pareto", "FisherSnedecor", "MultivariateNormal", "LowRankMultivariateNormal", "VonMises"]
EXPORTS = tuple(__all__)
