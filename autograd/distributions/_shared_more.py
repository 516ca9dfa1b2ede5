"""Helpers of the distributions in :mod:`.continuous_more`, :mod:`.gamma_family` and :mod:`.multivariate`:
the objects of :mod:`.constraints` they name, ``expand`` by re-building from expanded parameters, the
``repr`` of the ones torch builds as a ``TransformedDistribution``, and the dtype limits."""
from __future__ import annotations

import math

from .. import creation, dtypes
from ..ops.elementwise import where as _where
from .constraints import (greater_than_eq, independent, lower_cholesky, nonnegative, positive,
                          positive_definite, real, real_vector, simplex, unit_interval)
from .distribution import Distribution, broadcast_all

__all__ = ["Folded", "NamedRepr", "nan_where", "std_normal", "uniform", "Rebuilt", "eps", "full_like", "greater_than_eq", "lower_cholesky", "nonnegative", "positive",
           "positive_definite", "positive_vector", "real", "real_matrix", "real_vector", "simplex", "tiny",
           "unit_interval"]


positive_vector = independent(positive, 1)
real_matrix = independent(real, 2)


def tiny(dtype):
    return float(dtypes.finfo(dtype).tiny)


def eps(dtype):
    return float(dtypes.finfo(dtype).eps)


def full_like(t, value, shape=None):
    return creation.full(t.shape if shape is None else tuple(shape), value, dtype=t.dtype, device=t.device)


class Rebuilt(Distribution):
    """A distribution whose ``expand`` re-runs its constructor on its parameters (``_params``, in order)
    expanded to the new batch shape (each keeps its own event dimensions), without validating again."""
    _params: tuple = ()

    # torch's Distribution base answers these with NotImplementedError where a subclass has none
    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def _param_values(self):
        return [self.__dict__[n] for n in self._params]

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        nb = len(self.batch_shape)
        args = [v.expand(shape + tuple(v.shape[nb:])) for v in self._param_values()]
        new = type(self)(*args, validate_args=False)
        new._validate_args = self._validate_args
        return new


class NamedRepr:
    """torch builds these as a ``TransformedDistribution``: its parameters are properties there, so its
    ``repr`` (and so its validation messages) shows none: ``HalfNormal()``."""

    def __repr__(self):
        return f"{type(self).__name__}()"


def std_normal(shape, like):
    return creation.randn(*shape, dtype=like.dtype, device=like.device)


def uniform(shape, like, low=0.0, high=1.0):
    return creation.empty(*shape, dtype=like.dtype, device=like.device).uniform_(low, high)


def nan_where(cond, x):
    return _where(cond, full_like(x, float("nan")), x)


class Folded(NamedRepr, Rebuilt):
    """|X| for X symmetric about 0 with scale ``scale`` (torch: the base under ``AbsTransform``)."""
    arg_constraints = {"scale": positive}
    support = nonnegative
    has_rsample = True
    _params = ("scale",)

    def __init__(self, scale, validate_args=None):
        (self.scale,) = broadcast_all(scale)
        zero = full_like(self.scale, 0.0)
        self.base_dist = self._base(zero, self.scale)
        super().__init__(self.scale.shape, (), validate_args)

    @property
    def mode(self):
        return full_like(self.scale, 0.0)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = self._base_log_prob(value) + math.log(2)
        return _where(value >= 0, lp, full_like(lp, -math.inf))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self._base_cdf(value) - 1

    def icdf(self, prob):
        return self._base_icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
