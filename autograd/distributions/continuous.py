"""``Uniform``, ``Exponential`` and ``Laplace``, with torch's formulas (so values and gradients match), shapes,
reparameterised samples, validation, and the KL divergence between two of a kind."""
from __future__ import annotations

import math

from .. import creation, dtypes
from ..ops.elementwise import where as _where
from .basic import KL_RULES, LocScale
from .distribution import Constraint, Distribution, _host, broadcast_all, nonnegative, positive


def _less_than(bound):
    return Constraint("less_than", lambda x: x < _host(bound), f"LessThan(upper_bound={bound})")


def _greater_than(bound):
    return Constraint("greater_than", lambda x: x > _host(bound), f"GreaterThan(lower_bound={bound})")


def _interval(lo, hi):
    return Constraint("interval", lambda x: (_host(lo) <= x) & (x < _host(hi)),
                      f"Interval(lower_bound={lo}, upper_bound={hi})")


class Uniform(Distribution):
    """``Uniform(low, high)`` on ``[low, high)``: ``rsample`` is ``low + u * (high - low)``."""
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": _less_than(self.high), "high": _greater_than(self.low)}

    @property
    def support(self):
        return _interval(self.low, self.high)

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, (), validate_args)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return float("nan") * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rand = creation.rand(*shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lb = self.low.le(value).type_as(self.low)
        ub = self.high.gt(value).type_as(self.low)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class Exponential(Distribution):
    """``Exponential(rate)``: ``rsample`` is ``E / rate`` with ``E`` a standard exponential draw."""
    arg_constraints = {"rate": positive}
    support = nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return creation.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return creation.empty(*shape, dtype=self.rate.dtype, device=self.rate.device).exponential_() / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(LocScale):
    """``Laplace(loc, scale)``: ``rsample`` inverts the CDF at ``u`` uniform on ``(eps - 1, 1)``."""

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = float(dtypes.finfo(self.loc.dtype).eps)
        u = creation.empty(*shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


def _kl_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    inf = creation.tensor(math.inf, dtype=result.dtype, device=result.device)
    return _where((q.low > p.low) | (q.high < p.high), inf, result)


def _kl_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


def _kl_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


KL_RULES.update({(Uniform, Uniform): _kl_uniform, (Exponential, Exponential): _kl_exponential,
                 (Laplace, Laplace): _kl_laplace})
