"""The relaxed (Concrete / Gumbel-softmax) distributions: ``LogitRelaxedBernoulli`` and ``ExpRelaxedCategorical``
on the log scale, and ``RelaxedBernoulli`` / ``RelaxedOneHotCategorical`` as those pushed through a sigmoid / exp
(``TransformedDistribution``), reparameterised, with torch's densities."""
from __future__ import annotations

from .. import creation
from ..ops import reduction as _red
from . import constraints
from ._shared_more import ParamsHeldBy
from .basic import Bernoulli, Categorical
from .distribution import Distribution, broadcast_all, clamp_probs
from .transformed_distribution import TransformedDistribution, broadcast_params
from .transforms import ExpTransform, SigmoidTransform


class LogitRelaxedBernoulli(ParamsHeldBy, Distribution):
    """The logit of a relaxed Bernoulli draw at ``temperature``."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True
    _param_holder = "_bernoulli"

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        # Bernoulli holds the parameterisation and validates it (probs xor logits)
        self._bernoulli = Bernoulli(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._bernoulli.batch_shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_holder(batch_shape, _instance, broadcast_params)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape) if tuple(self.probs.shape) != shape else self.probs)
        uniforms = clamp_probs(creation.rand(*shape, dtype=probs.dtype, device=probs.device))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return _as_tensor(self.temperature, diff).log() + diff - 2 * diff.exp().log1p()

    def __repr__(self):
        return f"{type(self).__name__}({self._bernoulli!r})"


def _as_tensor(x, like):
    return x if hasattr(x, "log") else creation.tensor(float(x), dtype=like.dtype, device=like.device)


class _ParamsOfBase:
    """The relaxed distributions on (0, 1) / the simplex are their log-scale one pushed through a transform:
    that base holds ``temperature`` and the probs/logits, so these read them from it."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class RelaxedBernoulli(_ParamsOfBase, TransformedDistribution):
    """Values in (0, 1) concentrating on {0, 1} as ``temperature`` goes to 0."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class ExpRelaxedCategorical(ParamsHeldBy, Distribution):
    """The log of a relaxed one-hot categorical draw (Gumbel-softmax scores normalised in log space)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector   # the true support is a submanifold of it
    has_rsample = True
    _param_holder = "_categorical"

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_holder(batch_shape, _instance, broadcast_params)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        uniforms = clamp_probs(creation.rand(*shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - _red.logsumexp(scores, -1, keepdim=True)

    def log_prob(self, value):
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        temperature = _as_tensor(self.temperature, logits)
        log_scale = creation.full_like(temperature, float(k)).lgamma() - temperature.log() * -(k - 1)
        score = logits - value * temperature
        score = _red.sum(score - _red.logsumexp(score, -1, keepdim=True), -1)
        return score + log_scale


class RelaxedOneHotCategorical(_ParamsOfBase, TransformedDistribution):
    """Points of the simplex concentrating on its vertices as ``temperature`` goes to 0."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)
