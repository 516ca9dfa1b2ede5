"""``TransformedDistribution``: a base distribution pushed through transforms (its log-density corrected by
the log-determinants, its cdf made monotone by the transforms' signs), and ``expand_distribution``, the batch
broadcast (torch's ``Distribution.expand``) for distributions whose parameters are their ``arg_constraints``."""
from __future__ import annotations

import copy

from ..grad_mode import no_grad
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transform_base import ComposeTransform, Transform, _sum_rightmost


def expand_distribution(dist, batch_shape):
    """``dist.expand(batch_shape)`` where the distribution has one, else ``broadcast_params``."""
    if hasattr(dist, "expand"):
        return dist.expand(tuple(batch_shape))
    return broadcast_params(dist, batch_shape)


def broadcast_params(dist, batch_shape, instance=None):
    """A copy of ``dist`` with batch shape ``batch_shape``: each tensor attribute of the batch shape broadcast to
    it (a parameter's own trailing dimensions, such as a vector of probabilities, kept). Parameters keep sharing
    memory and gradients with the original's, as torch's ``expand``."""
    batch_shape = tuple(batch_shape)
    new = copy.copy(dist) if instance is None else instance
    new.__dict__.update(dist.__dict__)
    old_nd = len(dist.batch_shape)
    if isinstance(dist, Independent):
        n = dist.reinterpreted_batch_ndims
        base_batch = batch_shape + tuple(dist.base_dist.batch_shape[len(dist.base_dist.batch_shape) - n:])
        new.base_dist = expand_distribution(dist.base_dist, base_batch)
    else:
        for name, value in list(dist.__dict__.items()):
            if isinstance(value, Tensor) and value.dim() >= old_nd and tuple(value.shape[:old_nd]) == \
                    tuple(dist.batch_shape) and not name.startswith("__"):
                new.__dict__[name] = value.expand(batch_shape + tuple(value.shape[old_nd:]))
    new._batch_shape = batch_shape
    return new


class TransformedDistribution(Distribution):
    """``Y = f_n(...f_1(X))`` for ``X ~ base_distribution`` and ``transforms = [f_1, ..., f_n]``."""
    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {len(base_shape)}.")
        forward_shape = tuple(transform.forward_shape(base_shape))
        expanded_base_shape = tuple(transform.inverse_shape(forward_shape))
        if base_shape != expanded_base_shape:   # the transforms' parameters broadcast the batch
            base_batch = expanded_base_shape[:len(expanded_base_shape) - base_event_dim]
            base_distribution = expand_distribution(base_distribution, base_batch)
        reinterpreted = transform.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        event_dim = transform.codomain.event_dim + max(base_event_dim - transform.domain.event_dim, 0)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = copy.copy(self) if _instance is None else _instance
        batch_shape = tuple(batch_shape)
        shape = batch_shape + tuple(self.event_shape)
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        base_batch = shape[:len(shape) - len(self.base_dist.event_shape)]
        new.base_dist = expand_distribution(self.base_dist, base_batch)
        new.transforms = self.transforms
        new._batch_shape = batch_shape
        return new

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        """The base log-density at the pre-image, minus each transform's log-det (event dimensions summed)."""
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            log_prob = log_prob - _sum_rightmost(t.log_abs_det_jacobian(x, y), event_dim - t.domain.event_dim)
            y = x
        return log_prob + _sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        # a decreasing composition turns the base cdf F into 1 - F
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        for t in self.transforms[::-1]:
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for t in self.transforms:
            value = t(value)
        return value

    def __repr__(self):
        return f"{type(self).__name__}()"
