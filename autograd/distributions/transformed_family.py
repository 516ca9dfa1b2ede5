"""``HalfNormal``, ``LogNormal``, ``Gumbel``, ``Weibull`` and ``Pareto``. torch builds these as a
``TransformedDistribution`` of a base (Normal, Uniform, Exponential) under its transforms; here each is
written directly, with the same values (where torch's result depends on the route through its transforms,
as Gumbel's cdf / icdf through the clipped Uniform base, the same steps), API (``loc`` / ``scale``
attributes, ``log_prob``, ``cdf``, ``icdf``, ``entropy``, the moments, ``support``) and ``repr``
(``LogNormal()``); KL divergences between two of a kind."""
from __future__ import annotations

import math

from .. import creation
from ..ops import special_ops as _sp
from ..ops.elementwise import where as _where
from .basic import KL_RULES, Normal
from .distribution import LOG_SQRT_2PI, broadcast_all
from ._shared_more import (Folded, NamedRepr, RealLocScale, Rebuilt, eps, full_like, greater_than_eq, positive, real,
                           tiny, uniform)

_EULER = 0.57721566490153286060


class HalfNormal(Folded):
    @staticmethod
    def _base(loc, scale):
        return Normal(loc, scale, validate_args=False)

    def _base_log_prob(self, value):
        return -(value ** 2) / (2 * self.scale ** 2) - self.scale.log() - LOG_SQRT_2PI

    def _base_cdf(self, value):
        return 0.5 * (1 + (value * self.scale.reciprocal() / math.sqrt(2)).erf())

    def _base_icdf(self, p):
        return self.scale * _sp.erfinv(2 * p - 1) * math.sqrt(2)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)


class LogNormal(NamedRepr, Rebuilt):
    """``exp(Normal(loc, scale))``."""
    arg_constraints = {"loc": real, "scale": positive}
    support = positive
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        self.base_dist = Normal(self.loc, self.scale, validate_args=validate_args)   # validated first, as torch
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return s2.expm1() * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value.log()
        return self.base_dist.log_prob(x) - x

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value.log())

    def icdf(self, value):
        return (self.loc + self.scale * _sp.erfinv(2 * value - 1) * math.sqrt(2)).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class Gumbel(RealLocScale):
    """``loc - scale * log(-log U)``, U uniform on ``[tiny, 1 - eps)`` as torch's base."""

    def _bounds(self):
        return tiny(self.loc.dtype), 1 - eps(self.loc.dtype)

    def rsample(self, sample_shape=()):
        low, high = self._bounds()
        u = uniform(self._extended_shape(sample_shape), self.loc, low, high)
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        low, high = self._bounds()
        u = (-(-(value - self.loc) / self.scale).exp()).exp()
        return ((u - low) / (high - low)).clamp(min=0, max=1)

    def icdf(self, value):
        low, high = self._bounds()
        u = value * (high - low) + low
        return self.loc - self.scale * (-u.log()).log()

    @property
    def mean(self):
        return self.loc + self.scale * _EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class Weibull(Rebuilt):
    """``scale * E^(1 / concentration)`` for E standard exponential."""
    arg_constraints = {"scale": positive, "concentration": positive}
    support = positive
    has_rsample = True
    _params = ("scale", "concentration")

    def __init__(self, scale, concentration, validate_args=None):
        self._init_scalar_event((scale, concentration), validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        e = creation.empty(*shape, dtype=self.scale.dtype, device=self.scale.device).exponential_()
        return self.scale * e.pow(self.concentration.reciprocal())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        z = value / self.scale
        return (k / self.scale).log() + (k - 1) * z.log() - z.pow(k)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-(value / self.scale).pow(self.concentration)).exp()

    def icdf(self, value):
        return self.scale * (-(-value).log1p()).pow(self.concentration.reciprocal())

    @property
    def mean(self):
        return self.scale * _sp.lgamma(1 + self.concentration.reciprocal()).exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self):
        k = self.concentration
        return self.scale.pow(2) * (_sp.lgamma(1 + 2 / k).exp() - (2 * _sp.lgamma(1 + k.reciprocal())).exp())

    def entropy(self):
        k = self.concentration
        return _EULER * (1 - k.reciprocal()) + (self.scale / k).log() + 1


class Pareto(Rebuilt):
    """``scale * exp(E / alpha)`` for E standard exponential, on ``[scale, inf)``."""
    arg_constraints = {"alpha": positive, "scale": positive}
    has_rsample = True
    _params = ("scale", "alpha")

    def __init__(self, scale, alpha, validate_args=None):
        self._init_scalar_event((scale, alpha), validate_args)

    @property
    def support(self):
        return greater_than_eq(self.scale)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        e = creation.empty(*shape, dtype=self.scale.dtype, device=self.scale.device).exponential_()
        return self.scale * (e / self.alpha).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        e = (value / self.scale).log()
        return self.alpha.log() - self.alpha * e - e - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.alpha * (value / self.scale).log()).exp()

    def icdf(self, value):
        return self.scale * (-(-value).log1p() / self.alpha).exp()

    @property
    def mean(self):
        a = self.alpha.clamp(min=1)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = self.alpha.clamp(min=2)
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _kl_normal_base(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


def _kl_half_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (var_ratio - 1 - var_ratio.log())


def _kl_gumbel(p, q):
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * _EULER
    t3 = (ct2 + _sp.lgamma(1 + ct1) - ct3).exp()
    return t1 + t2 + t3 - (1 + _EULER)


def _kl_pareto(p, q):
    scale_ratio = p.scale / q.scale
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return _where(p.scale < q.scale, full_like(result, math.inf), result)


KL_RULES.update({(LogNormal, LogNormal): _kl_normal_base, (HalfNormal, HalfNormal): _kl_half_normal,
                 (Gumbel, Gumbel): _kl_gumbel, (Pareto, Pareto): _kl_pareto})

EXPORTS = ("HalfNormal", "LogNormal", "Gumbel", "Weibull", "Pareto")
