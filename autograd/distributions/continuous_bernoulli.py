"""``ContinuousBernoulli`` (Loaiza-Ganem & Cunningham, 2019): the density ``C(p) p^x (1-p)^(1-x)`` on [0, 1].
Near ``p = 1/2`` the closed forms divide by ``2p - 1``; there (``lims``) torch switches to Taylor expansions, and
so do we, with the same cut so that values and gradients agree."""
from __future__ import annotations

import math

from .. import creation
from ..nn import functional as F
from ..ops.elementwise import where as _where
from . import constraints
from .basic import KL_RULES, _ProbsOrLogits
from .distribution import broadcast_all, clamp_probs
from .transformed_distribution import broadcast_params


class ContinuousBernoulli(_ProbsOrLogits):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        self._one_of(probs, logits)
        if probs is not None:
            (p,) = broadcast_all(probs)
            # torch checks the raw probabilities only when validate_args is given, then clamps them
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(p).all()):
                raise ValueError("The parameter probs has invalid values")
            self.__dict__["probs"] = clamp_probs(p)
        else:
            (self.__dict__["logits"],) = broadcast_all(logits)
        self._lims = lims
        super().__init__(self.param_shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        return broadcast_params(self, batch_shape, _instance)

    @staticmethod
    def _probs_from_logits(logits):
        return clamp_probs(logits.sigmoid())

    @staticmethod
    def _logits_from_probs(probs):
        p = clamp_probs(probs)
        return p.log() - (-p).log1p()

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        # inside the unstable region the closed forms are evaluated at a safe point (their result is discarded)
        return _where(self._outside_unstable_region(), self.probs, self._lims[0] * creation.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """log C(p): log|log(1-p) - log p| - log|1 - 2p|, or its Taylor series around p = 1/2."""
        cut = self._cut_probs()
        below = _where(cut <= 0.5, cut, creation.zeros_like(cut))
        above = _where(cut >= 0.5, cut, creation.ones_like(cut))
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - _where(cut <= 0.5, (-2.0 * below).log1p(),
                                                                      (2.0 * above - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return _where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut = self._cut_probs()
        variances = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _where(self._outside_unstable_region(), variances, taylor)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = creation.rand(*shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = _where(self._outside_unstable_region(), cdfs, value)
        return _where(value <= 0.0, creation.zeros_like(value),
                      _where(value >= 1.0, creation.ones_like(value), unbounded))

    def icdf(self, value):
        cut = self._cut_probs()
        inverse = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return _where(self._outside_unstable_region(), inverse, value)

    def entropy(self):
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0


def _kl_continuous_bernoulli(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


KL_RULES[(ContinuousBernoulli, ContinuousBernoulli)] = _kl_continuous_bernoulli
