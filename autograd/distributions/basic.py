"""``Normal``, ``Bernoulli``, ``Categorical`` and ``kl_divergence`` between two of a kind, with torch's
formulas (so values and gradients match), shapes, parameterisations and validation."""
from __future__ import annotations

import math

import numpy as np

from .. import creation, dtypes
from ..grad_mode import no_grad
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops.elementwise import where as _where
from ..ops.nn_act import binary_cross_entropy_with_logits as _bce_logits, softplus as _softplus
from ..ops.sampling import bernoulli as _bernoulli
from .distribution import (LOG_SQRT_2PI, Distribution, boolean, broadcast_all, clamp_probs, integer_interval,
                           positive, real, real_vector, simplex, unit_interval)


class LocScale(Distribution):
    """A real distribution given by ``loc`` and a positive ``scale`` (its mean and mode are ``loc``)."""
    arg_constraints = {"loc": real, "scale": positive}
    support = real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class Normal(LocScale):
    """``Normal(loc, scale)``: ``rsample`` is ``loc + scale * eps`` (differentiable in both)."""

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        log_scale = self.scale.log()
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - LOG_SQRT_2PI

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())


class _ProbsOrLogits(Distribution):
    """Distributions given by exactly one of ``probs`` / ``logits``; the other is derived when first read."""

    def _one_of(self, probs, logits):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")

    @property
    def probs(self):
        if "probs" not in self.__dict__:
            self.__dict__["probs"] = self._probs_from_logits(self.__dict__["logits"])
        return self.__dict__["probs"]

    @property
    def logits(self):
        if "logits" not in self.__dict__:
            self.__dict__["logits"] = self._logits_from_probs(self.__dict__["probs"])
        return self.__dict__["logits"]

    @property
    def param_shape(self):
        return tuple((self.__dict__.get("probs") if "probs" in self.__dict__ else self.__dict__["logits"]).shape)


class Bernoulli(_ProbsOrLogits):
    arg_constraints = {"probs": unit_interval, "logits": real}
    support = boolean

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._one_of(probs, logits)
        if probs is not None:
            (self.__dict__["probs"],) = broadcast_all(probs)
        else:
            (self.__dict__["logits"],) = broadcast_all(logits)
        super().__init__(self.param_shape, (), validate_args)

    @staticmethod
    def _probs_from_logits(logits):
        return logits.sigmoid()

    @staticmethod
    def _logits_from_probs(probs):
        p = clamp_probs(probs)
        return p.log() - (-p).log1p()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        m = (self.probs >= 0.5).to(self.probs.dtype)
        return _where(self.probs == 0.5, creation.tensor(float("nan"), dtype=m.dtype), m)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _bernoulli(self.probs.expand(shape) if self.probs.shape != shape else self.probs)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -_bce_logits(logits, value, None, "none", None)

    def entropy(self):
        return _bce_logits(self.logits, self.probs, None, "none", None)


class Categorical(_ProbsOrLogits):
    """Categories ``0 .. K-1`` along the last dimension of ``probs`` (normalised) or ``logits``
    (normalised to log-probabilities)."""
    arg_constraints = {"probs": simplex, "logits": real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._one_of(probs, logits)
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.__dict__["probs"] = probs / _red.sum(probs, -1, keepdim=True)
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.__dict__["logits"] = logits - _red.logsumexp(logits, -1, keepdim=True)
        self._num_events = self.param_shape[-1]
        super().__init__(self.param_shape[:-1], (), validate_args)

    @staticmethod
    def _probs_from_logits(logits):
        return _red.softmax(logits, -1)

    @staticmethod
    def _logits_from_probs(probs):
        return clamp_probs(probs).log()

    @property
    def support(self):
        return integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        return creation.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return creation.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        n = int(np.prod(sample_shape)) if len(tuple(sample_shape)) else 1
        probs_2d = self.probs.detach().reshape(-1, self._num_events)
        draws = creation.multinomial(probs_2d, n, True)   # (batch, n)
        return _shape.reshape(_shape.t(draws), self._extended_shape(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = np.broadcast_shapes(value.shape, self.logits.shape)
        value = value.expand(shape[:-1] + (1,))
        log_pmf = self.logits.expand(shape) if self.logits.shape != shape else self.logits
        return _shape.gather(log_pmf, -1, value).squeeze(-1)

    def entropy(self):
        min_real = float(dtypes.finfo(self.logits.dtype).min)
        logits = self.logits.clamp(min=min_real)
        return -_red.sum(logits * self.probs, -1)

    def enumerate_support(self, expand=True):
        values = creation.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


# KL rules of the other modules' distributions, by (type(p), type(q)), registered where they are defined
KL_RULES = {}


def kl_divergence(p, q):
    """KL(p || q) for two ``Normal``s, ``Bernoulli``s, ``Categorical``s or ``Independent``s (torch's formulas),
    and the pairs of ``KL_RULES``."""
    rule = KL_RULES.get((type(p), type(q)))
    if rule is not None:
        return rule(p, q)
    if type(p) is Normal and type(q) is Normal:
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if type(p) is Bernoulli and type(q) is Bernoulli:
        inf = creation.tensor(float("inf"), dtype=p.probs.dtype)
        zero = creation.tensor(0.0, dtype=p.probs.dtype)
        t1 = p.probs * (_softplus(-q.logits) - _softplus(-p.logits))
        t1 = _where(p.probs == 0, zero, _where(q.probs == 0, inf, t1))
        t2 = (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
        t2 = _where(p.probs == 1, zero, _where(q.probs == 1, inf, t2))
        return t1 + t2
    if type(p) is Categorical and type(q) is Categorical:
        t = p.probs * (p.logits - q.logits)
        inf = creation.tensor(float("inf"), dtype=t.dtype)
        zero = creation.tensor(0.0, dtype=t.dtype)
        t = _where((p.probs == 0).expand(t.shape), zero, _where((q.probs == 0).expand(t.shape), inf, t))
        return _red.sum(t, -1)
    from .independent import Independent, _sum_rightmost

    if type(p) is Independent and type(q) is Independent:
        if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
            raise NotImplementedError
        return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)
    raise NotImplementedError(f"No KL(p || q) is implemented for p of type {type(p).__name__} and q of type "
                              f"{type(q).__name__}")

