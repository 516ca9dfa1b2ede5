"""``biject_to`` and ``transform_to`` (torch's ``constraint_registry``): from a constraint to a transform whose
codomain it is, looked up by the constraint's type. ``biject_to`` gives bijections (``StickBreakingTransform``
onto the simplex), ``transform_to`` possibly non-injective maps (``SoftmaxTransform``)."""
from __future__ import annotations

import numbers

from . import constraints, distribution as _legacy
from . import transforms as T

__all__ = ("ConstraintRegistry", "biject_to", "transform_to")

# the constraint objects of ``distribution.py`` (used by the first distributions) by name, as the ones here
_LEGACY = {"real": constraints.real, "positive": constraints.positive, "nonnegative": constraints.nonnegative,
           "unit_interval": constraints.unit_interval, "simplex": constraints.simplex,
           "real_vector": constraints.real_vector, "boolean": constraints.boolean}


class ConstraintRegistry:
    """Factories by constraint type; ``register`` takes a constraint type or instance, as a decorator too."""

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint, constraints.Constraint):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or instance, but got "
                            f"{constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        if isinstance(constraint, _legacy.Constraint) and constraint.name in _LEGACY:
            constraint = _LEGACY[constraint.name]
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _to_real(constraint):
    return T.identity_transform


def _independent(registry):
    def factory(constraint):
        return T.IndependentTransform(registry(constraint.base_constraint), constraint.reinterpreted_batch_ndims)
    return factory


def _to_greater_than(constraint):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(constraint.lower_bound, 1)])


def _to_less_than(constraint):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(constraint.upper_bound, -1)])


def _to_interval(constraint):
    lo, hi = constraint.lower_bound, constraint.upper_bound
    if isinstance(lo, numbers.Number) and lo == 0 and isinstance(hi, numbers.Number) and hi == 1:
        return T.SigmoidTransform()
    return T.ComposeTransform([T.SigmoidTransform(), T.AffineTransform(lo, hi - lo)])


for _registry in (biject_to, transform_to):
    _registry.register(constraints.real, _to_real)
    _registry.register(constraints.independent, _independent(_registry))
    for _c in (constraints.greater_than, constraints.greater_than_eq):   # positive and nonnegative among them
        _registry.register(_c, _to_greater_than)
    _registry.register(constraints.less_than, _to_less_than)
    for _c in (constraints.interval, constraints.half_open_interval):
        _registry.register(_c, _to_interval)
for _registry in (biject_to, transform_to):
    _registry.register(constraints.cat, lambda c, _r=_registry: T.CatTransform([_r(p) for p in c.cseq], c.dim,
                                                                               c.lengths))
    _registry.register(constraints.stack, lambda c, _r=_registry: T.StackTransform([_r(p) for p in c.cseq], c.dim))
biject_to.register(constraints.simplex, lambda c: T.StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: T.SoftmaxTransform())
