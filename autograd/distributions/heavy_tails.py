"""``StudentT``, ``Cauchy``, ``HalfCauchy`` and ``FisherSnedecor``: heavy-tailed distributions, with torch's
formulas (so values and gradients match), shapes, reparameterised samples and validation; KL(Cauchy || Cauchy).
torch builds HalfCauchy as ``|Cauchy(0, scale)|`` through a transform; written directly here."""
from __future__ import annotations

import math

from ..ops import special_ops as _sp
from ..ops.elementwise import where as _where
from .basic import KL_RULES
from .distribution import broadcast_all
from ._shared_more import Folded, RealLocScale, Rebuilt, full_like, nan_where, positive, real, std_normal, tiny, uniform
from .gamma_family import Chi2, standard_gamma


class StudentT(Rebuilt):
    """``StudentT(df, loc=0, scale=1)``; ``rsample`` is ``loc + scale * N / sqrt(Chi2(df) / df)``."""
    arg_constraints = {"df": positive, "loc": real, "scale": positive}
    support = real
    has_rsample = True
    _params = ("df", "loc", "scale")

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=validate_args)   # validated first, as torch
        super().__init__(self.df.shape, (), validate_args)

    @property
    def mean(self):
        return nan_where(self.df <= 1, self.loc.clone())

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale.pow(2) * df / _where(df > 2, df - 2, full_like(df, 1.0))
        v = _where(df > 2, finite, _where(df > 1, full_like(df, math.inf), full_like(df, math.nan)))
        return v

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = std_normal(shape, self.df)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (x * (z / self.df).rsqrt())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + _sp.lgamma(0.5 * self.df)
             - _sp.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * (y.pow(2) / self.df).log1p() - z

    def entropy(self):
        df = self.df
        lbeta = _sp.lgamma(0.5 * df) + math.lgamma(0.5) - _sp.lgamma(0.5 * (df + 1))
        return (self.scale.log() + 0.5 * (df + 1) * (_sp.digamma(0.5 * (df + 1)) - _sp.digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)


class Cauchy(RealLocScale):
    @property
    def mean(self):
        return full_like(self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return full_like(self.loc, math.inf)

    def rsample(self, sample_shape=()):
        u = uniform(self._extended_shape(sample_shape), self.loc)
        return self.loc + (math.pi * (u - 0.5)).tan() * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - ((value - self.loc) / self.scale).pow(2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(Folded):
    @staticmethod
    def _base(loc, scale):
        return Cauchy(loc, scale, validate_args=False)

    def _base_log_prob(self, value):
        return self.base_dist.log_prob(value)

    def _base_cdf(self, value):
        return self.base_dist.cdf(value)

    def _base_icdf(self, p):
        return self.base_dist.icdf(p)

    @property
    def mean(self):
        return full_like(self.scale, math.inf)

    @property
    def variance(self):
        return full_like(self.scale, math.inf)


class FisherSnedecor(Rebuilt):
    """``(X1 / df1) / (X2 / df2)`` for X1, X2 chi-squared with df1, df2 degrees of freedom."""
    arg_constraints = {"df1": positive, "df2": positive}
    support = positive
    has_rsample = True
    _params = ("df1", "df2")

    def __init__(self, df1, df2, validate_args=None):
        self._init_scalar_event((df1, df2), validate_args)

    @property
    def mean(self):
        df2 = self.df2
        return nan_where(df2 <= 2, df2 / (df2 - 2))

    @property
    def mode(self):
        df1, df2 = self.df1, self.df2
        return nan_where(df1 <= 2, (df1 - 2) / df1 * df2 / (df2 + 2))

    @property
    def variance(self):
        df1, df2 = self.df1, self.df2
        v = 2 * df2.pow(2) * (df1 + df2 - 2) / (df1 * (df2 - 2).pow(2) * (df2 - 4))
        return nan_where(df2 <= 4, v)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x1 = standard_gamma((0.5 * self.df1).expand(shape)) / (0.5 * self.df1)
        x2 = (standard_gamma((0.5 * self.df2).expand(shape)) / (0.5 * self.df2)).clamp(min=tiny(self.df1.dtype))
        return (x1 / x2).clamp(min=tiny(self.df1.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        t1 = _sp.lgamma(ct1 + ct2) - _sp.lgamma(ct1) - _sp.lgamma(ct2)
        t2 = ct1 * self.df1.log() + ct2 * self.df2.log()
        t3 = (ct1 - 1) * value.log()
        t4 = (ct1 + ct2) * (self.df2 + self.df1 * value).log()
        return t1 + t2 + t3 - t4


def _kl_cauchy(p, q):
    num = ((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log()
    return num - (4 * p.scale * q.scale).log()


KL_RULES.update({(Cauchy, Cauchy): _kl_cauchy})

EXPORTS = ("StudentT", "Cauchy", "HalfCauchy", "FisherSnedecor")
