"""Helpers of the distributions in :mod:`.continuous_more`, :mod:`.gamma_family`, :mod:`.multivariate` and
their neighbours: the objects of :mod:`.constraints` they name, ``expand`` by re-building from expanded
parameters, the shared constructor of scalar-event ones, the ``repr`` of the ones torch builds as a
``TransformedDistribution``, parameters read through an inner distribution, and the dtype limits."""
from __future__ import annotations

import copy
import math

from .. import creation, dtypes
from ..ops.elementwise import where as _where
from .constraints import (greater_than_eq, independent, lower_cholesky, nonnegative, positive,
                          positive_definite, real, real_vector, simplex, unit_interval)
from .distribution import Distribution, broadcast_all

__all__ = ["Folded", "LocIsMeanAndMode", "RealLocScale", "NamedRepr", "ParamsHeldBy", "nan_where",
           "std_normal", "uniform", "Rebuilt", "eps", "full_like", "greater_than_eq", "lower_cholesky",
           "nonnegative", "positive", "positive_definite", "positive_vector", "real", "real_matrix",
           "real_vector", "simplex", "tiny", "unit_interval"]


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

    def _init_scalar_event(self, values, validate_args):
        """The common constructor body: broadcasts ``values`` (one per name in ``_params``, in order) together,
        stores each under its name, and takes their shape as the batch shape with a scalar event."""
        values = broadcast_all(*values)
        for name, value in zip(self._params, values):
            setattr(self, name, value)
        super(Rebuilt, self).__init__(values[0].shape, (), validate_args)   # Distribution's, past any mixin

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


class LocIsMeanAndMode:
    """Mixin for a distribution symmetric and unimodal about ``loc``: both its mean and its mode are ``loc``."""

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class RealLocScale(Rebuilt):
    """The declarations and constructor shared by the real-valued location-scale families (Cauchy, Gumbel)."""
    arg_constraints = {"loc": real, "scale": positive}
    support = real
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self._init_scalar_event((loc, scale), validate_args)


class NamedRepr:
    """torch builds these as a ``TransformedDistribution``: its parameters are properties there, so its
    ``repr`` (and so its validation messages) shows none: ``HalfNormal()``."""

    def __repr__(self):
        return f"{type(self).__name__}()"


class ParamsHeldBy:
    """Mixin for a distribution that keeps its probs/logits parameterisation in an inner distribution
    (the attribute named by ``_param_holder``, e.g. a ``Categorical``), which did the probs-xor-logits
    checks once: the parameters are read through it rather than stored twice."""
    _param_holder: str = ""

    @property
    def probs(self):
        return getattr(self, self._param_holder).probs

    @property
    def logits(self):
        return getattr(self, self._param_holder).logits

    @property
    def param_shape(self):
        return getattr(self, self._param_holder).param_shape

    def _expand_holder(self, batch_shape, _instance, expand_inner):
        """A copy (or ``_instance``) whose inner distribution is ``expand_inner(inner, batch_shape)``."""
        new = copy.copy(self) if _instance is None else _instance
        setattr(new, self._param_holder, expand_inner(getattr(self, self._param_holder), batch_shape))
        new._batch_shape = tuple(batch_shape)
        return new


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
