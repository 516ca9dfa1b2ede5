"""``Poisson``, ``Binomial``, ``Multinomial``, ``Geometric``, ``NegativeBinomial``, ``OneHotCategorical`` (and its
straight-through variant) with torch's formulas (so log-probabilities, moments and their gradients agree), shapes,
``expand``, ``enumerate_support``, validation, and torch's KL divergences among them. Draws come from our generator
(NumPy's), not torch's stream. Also gathers the names of the relaxed distributions, ``TransformedDistribution``,
``constraints``, ``biject_to`` / ``transform_to`` and ``register_kl`` for ``autograd.distributions``."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, creation, dtypes
from ..grad_mode import no_grad
from ..nn import functional as F
from ..ops import reduction as _red
from ..ops.elementwise import where as _where
from . import constraints
from ._shared_more import ParamsHeldBy
from .basic import KL_RULES, Bernoulli, Categorical, _ProbsOrLogits, kl_divergence
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .distribution import Distribution, broadcast_all, clamp_probs
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution, broadcast_params, expand_distribution

__all__ = ("Poisson", "Binomial", "Multinomial", "Geometric", "NegativeBinomial", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "ContinuousBernoulli", "RelaxedBernoulli", "RelaxedOneHotCategorical", "TransformedDistribution", "constraints", "biject_to", "transform_to",
           "register_kl")
EXPORTS = __all__


def register_kl(type_p, type_q):
    """torch's decorator: ``fn(p, q)`` becomes ``kl_divergence`` for that exact pair of types."""
    def decorator(fn):
        KL_RULES[(type_p, type_q)] = fn
        return fn
    return decorator


def _host_draw(draw, like, *params):
    """Draws made by ``draw(rng, *host_arrays)`` with our CPU generator, as a tensor like ``like``."""
    rng = creation.default_generator.device_rng(backend.as_device("cpu"))
    host = [np.asarray(p.detach().cpu().numpy(), dtype=np.float64) for p in params]
    out = np.asarray(draw(rng, *host), dtype=np.dtype(like.dtype))
    return creation.tensor(out, dtype=like.dtype, device=like.device)


def _full_shape(t, shape):
    return t if tuple(t.shape) == tuple(shape) else t.expand(shape)


class _Expandable:
    """``expand(batch_shape)``: the parameters broadcast to a new batch shape (memory shared); ``entropy`` a
    ``NotImplementedError`` where the distribution has none, as torch's base."""

    def expand(self, batch_shape, _instance=None):
        return broadcast_params(self, batch_shape, _instance)

    def entropy(self):
        raise NotImplementedError


class Poisson(_Expandable, Distribution):
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _host_draw(lambda rng, lam: rng.poisson(lam), self.rate, _full_shape(self.rate, shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()


class _BinaryProbs(_Expandable, _ProbsOrLogits):
    """Given by ``probs`` in [0, 1] or ``logits`` (their log-odds)."""

    @staticmethod
    def _probs_from_logits(logits):
        return logits.sigmoid()

    @staticmethod
    def _logits_from_probs(probs):
        p = clamp_probs(probs)
        return p.log() - (-p).log1p()

    def _set_param(self, probs, logits, *others):
        self._one_of(probs, logits)
        name, param = ("probs", probs) if probs is not None else ("logits", logits)
        values = broadcast_all(*others, param)
        self.__dict__[name] = values[-1]
        return [v.type_as(values[-1]) for v in values[:-1]]


class Binomial(_BinaryProbs):
    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_param(probs, logits, total_count)
        super().__init__(self.param_shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _host_draw(lambda rng, n, p: rng.binomial(n.astype(np.int64), p), self.probs,
                              _full_shape(self.total_count, shape), _full_shape(self.probs, shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # k log p + (n - k) log(1 - p) = k logit - n max(logit, 0) - n log1p(exp(-|logit|)), stable for all logits;
        # max(logit, 0) written symmetrically so that its gradient at logit == 0 is 1/2, as torch's
        positive_part = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * positive_part + n * (-logits.abs()).exp().log1p() - (n + 1).lgamma()
        return value * logits - (value + 1).lgamma() - (n - value + 1).lgamma() - normalize

    def _homogeneous_count(self, what):
        top = int(self.total_count.max())
        if not self.total_count.min() == top:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def entropy(self):
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -_red.sum(log_prob.exp() * log_prob, 0)

    def enumerate_support(self, expand=True):
        top = self._homogeneous_count("enumerate_support")
        values = creation.arange(1 + top, dtype=self.param_dtype, device=self.total_count.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values

    @property
    def param_dtype(self):
        return (self.__dict__.get("probs") if "probs" in self.__dict__ else self.__dict__["logits"]).dtype


class Geometric(_BinaryProbs):
    """Failures before the first success, success probability ``probs`` in (0, 1]."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._set_param(probs, logits)
        super().__init__(self.param_shape, (), validate_args)
        if self._validate_args and probs is not None:
            value = self.probs
            bad = ~(value > 0)
            if bool(bad.any()):
                raise ValueError(f"Expected parameter probs ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to be positive but found invalid values:\n"
                                 f"{value.detach()[bad]}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return creation.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = float(dtypes.finfo(self.probs.dtype).tiny)
        with no_grad():
            u = creation.empty(*shape, dtype=self.probs.dtype, device=self.probs.device).uniform_(tiny, 1)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p == 1 puts all mass at 0: the failure term 0 * log(0) is taken as 0 there
        probs = _where((probs == 1) & (value == 0), creation.zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class NegativeBinomial(_BinaryProbs):
    """Successes before ``total_count`` failures, success probability ``probs`` (torch's convention)."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        (self.total_count,) = self._set_param(probs, logits, total_count)
        super().__init__(self.param_shape, (), validate_args)

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape=()):
        # a Gamma(total_count, exp(-logits)) mixture of Poissons, as torch draws it
        shape = self._extended_shape(sample_shape)
        with no_grad():
            def draw(rng, k, logits):
                rate = rng.gamma(k, np.exp(logits)) if k.size else k
                return rng.poisson(rate)
            return _host_draw(draw, self.logits, _full_shape(self.total_count, shape), _full_shape(self.logits, shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k, logits = self.total_count, self.logits
        log_unnormalized = k * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        log_normalization = -(k + value).lgamma() + (1.0 + value).lgamma() + k.lgamma()
        # total_count == 0 and value == 0 has probability 1, where lgamma(0) is infinite
        log_normalization = log_normalization.masked_fill(k + value == 0.0, 0.0)
        return log_unnormalized - log_normalization


class Multinomial(ParamsHeldBy, Distribution):
    """Counts of ``total_count`` draws from ``Categorical(probs | logits)``, the counts along the last dimension."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    _param_holder = "_categorical"

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        param_shape = self._categorical.param_shape
        super().__init__(self._categorical.batch_shape, param_shape[-1:], validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_holder(batch_shape, _instance, expand_distribution)
        new._binomial = expand_distribution(self._binomial, tuple(batch_shape) + self.event_shape)
        return new

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            def draw(rng, p):
                p = p / p.sum(-1, keepdims=True)
                return rng.multinomial(self.total_count, p.reshape(-1, p.shape[-1])).reshape(shape)
            probs = _full_shape(self.probs, shape)
            return _host_draw(draw, self.probs, probs)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = (_red.sum(value, -1) + 1).lgamma()
        log_factorial_xs = _red.sum((value + 1).lgamma(), -1)
        # a category of probability 0 drawn 0 times contributes 0, not 0 * -inf
        logits = logits.masked_fill((value == 0) & (logits == -math.inf), 0.0)
        return log_factorial_n - log_factorial_xs + _red.sum(logits * value, -1)

    def entropy(self):
        n = creation.tensor(self.total_count)
        term1 = n * self._categorical.entropy() - (n + 1).lgamma()
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = (support + 1).lgamma()
        return term1 + _red.sum(binomial_probs * weights, (0, -1))


class OneHotCategorical(ParamsHeldBy, Distribution):
    """``Categorical`` with one-hot vectors as values (the last dimension is the event)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True
    _param_holder = "_categorical"

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_holder(batch_shape, _instance, expand_distribution)

    @property
    def _num_events(self):
        return self._categorical._num_events

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return F.one_hot(self.probs.argmax(-1), self._num_events).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        indices = self._categorical.sample(sample_shape)
        return F.one_hot(indices, self._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = creation.eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + self.batch_shape + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """One-hot samples whose gradient flows to ``probs`` as if the sample were ``probs`` (straight-through)."""
    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


def _infinite_like(t):
    return creation.full_like(t, math.inf)


def _kl_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return _where(p.total_count > q.total_count, _infinite_like(kl), kl)


def _kl_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


_OneHots = (OneHotCategorical, OneHotCategoricalStraightThrough)
KL_RULES.update({
    (Poisson, Poisson): lambda p, q: p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate),
    (Binomial, Binomial): _kl_binomial,
    (Geometric, Geometric): lambda p, q: -p.entropy() - (-q.probs).log1p() / p.probs - q.logits,
    (Bernoulli, Poisson): lambda p, q: -p.entropy() - (p.probs * q.rate.log() - q.rate),
    (Poisson, Bernoulli): lambda p, q: _infinite_like(p.rate),
    (Poisson, Binomial): lambda p, q: _infinite_like(p.rate),
    (TransformedDistribution, TransformedDistribution): _kl_transformed,
    **{(a, b): (lambda p, q: kl_divergence(p._categorical, q._categorical)) for a in _OneHots for b in _OneHots},
})
