"""``torch.distributions.constraints``: the constraint objects distributions name as ``support`` and in
``arg_constraints``, with ``check(value)`` (a bool tensor of the batch shape: the event dimensions reduced),
``is_discrete`` and ``event_dim`` as torch's. ``check`` also takes a NumPy array (and then answers one), which is
how ``Distribution``'s argument validation calls it."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ("Constraint", "boolean", "cat", "corr_cholesky", "dependent", "dependent_property", "greater_than",
           "greater_than_eq", "independent", "integer_interval", "interval", "half_open_interval", "is_dependent",
           "less_than", "lower_cholesky", "lower_triangular", "multinomial", "nonnegative", "nonnegative_integer",
           "one_hot", "positive", "positive_semidefinite", "positive_definite", "positive_integer", "real",
           "real_vector", "simplex", "square", "stack", "symmetric", "unit_interval")


def _as_host(x):
    return np.asarray(x.detach().cpu().numpy()) if isinstance(x, Tensor) else np.asarray(x)


class Constraint:
    """A region of values; subclasses answer ``_check`` on host arrays, ``check`` returns a tensor for a tensor."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        ok = np.asarray(self._check(_as_host(value)))
        if isinstance(value, Tensor):
            from .. import creation
            return creation.tensor(ok, device=value.device)
        return ok

    def _check(self, x):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """A placeholder whose support depends on other variables; it has no ``check``."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete, self._event_dim = is_discrete, event_dim

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        return _Dependent(is_discrete=self._is_discrete if is_discrete is NotImplemented else is_discrete,
                          event_dim=self._event_dim if event_dim is NotImplemented else event_dim)

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is also a dependent constraint (``support`` computed from the parameters)."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """``base_constraint`` on each element, with ``reinterpreted_batch_ndims`` more event dimensions."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        if not isinstance(base_constraint, Constraint):
            raise AssertionError
        if not (isinstance(reinterpreted_batch_ndims, int) and reinterpreted_batch_ndims >= 0):
            raise AssertionError
        self.base_constraint, self.reinterpreted_batch_ndims = base_constraint, reinterpreted_batch_ndims

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def _check(self, x):
        ok = np.asarray(self.base_constraint._check(x))
        n = self.reinterpreted_batch_ndims
        if n:
            if ok.ndim < n:
                raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {x.ndim}")
            ok = ok.reshape(ok.shape[:ok.ndim - n] + (-1,)).all(-1)
        return ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, x):
        return (x == 0) | (x == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def _check(self, x):
        return ((x == 0) | (x == 1)).all(-1) & (x.sum(-1) == 1)


class _Bounded(Constraint):
    """Shared repr of the bounded constraints: the bounds by keyword, as torch's."""
    _fields = ()

    def __repr__(self):
        args = ", ".join(f"{f}={getattr(self, f)}" for f in self._fields)
        return f"{type(self).__name__[1:]}({args})"


def _b(v):
    return _as_host(v) if isinstance(v, Tensor) else v


class _IntegerInterval(_Bounded):
    is_discrete = True
    _fields = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, x):
        return (x % 1 == 0) & (_b(self.lower_bound) <= x) & (x <= _b(self.upper_bound))


class _IntegerLessThan(_Bounded):
    is_discrete = True
    _fields = ("upper_bound",)

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, x):
        return (x % 1 == 0) & (x <= _b(self.upper_bound))


class _IntegerGreaterThan(_Bounded):
    is_discrete = True
    _fields = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, x):
        return (x % 1 == 0) & (x >= _b(self.lower_bound))


class _Real(Constraint):
    def _check(self, x):
        return x == x   # False only for NaN


class _GreaterThan(_Bounded):
    _fields = ("lower_bound",)

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, x):
        return _b(self.lower_bound) < x


class _GreaterThanEq(_GreaterThan):
    def _check(self, x):
        return _b(self.lower_bound) <= x


class _LessThan(_Bounded):
    _fields = ("upper_bound",)

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, x):
        return x < _b(self.upper_bound)


class _Interval(_Bounded):
    _fields = ("lower_bound", "upper_bound")

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, x):
        return (_b(self.lower_bound) <= x) & (x <= _b(self.upper_bound))


class _HalfOpenInterval(_Interval):
    def _check(self, x):
        return (_b(self.lower_bound) <= x) & (x < _b(self.upper_bound))


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, x):
        return (x >= 0).all(-1) & (np.abs(x.sum(-1) - 1) < 1e-6)


class _Multinomial(Constraint):
    """Non-negative counts along the last dimension summing to at most ``upper_bound``."""
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, x):
        return (x >= 0).all(-1) & (x.sum(-1) <= self.upper_bound)


class _LowerTriangular(Constraint):
    event_dim = 2

    def _check(self, x):
        return (np.tril(x) == x).reshape(x.shape[:-2] + (-1,)).min(-1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def _check(self, x):
        lower = (np.tril(x) == x).reshape(x.shape[:-2] + (-1,)).min(-1)
        return lower & (np.diagonal(x, axis1=-2, axis2=-1) > 0).min(-1)


class _CorrCholesky(Constraint):
    event_dim = 2

    def _check(self, x):
        tol = np.finfo(x.dtype).eps * x.shape[-1] * 10
        row_norm = np.linalg.norm(x, axis=-1)
        unit_rows = (np.abs(row_norm - 1) <= tol).all(-1)
        return _LowerCholesky()._check(x) & unit_rows


class _Square(Constraint):
    event_dim = 2

    def _check(self, x):
        return np.full(x.shape[:-2], x.shape[-2] == x.shape[-1], dtype=bool)


class _Symmetric(_Square):
    def _check(self, x):
        square = super()._check(x)
        if not square.all():
            return square
        return np.isclose(x, np.swapaxes(x, -1, -2), atol=1e-6).all(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    def _check(self, x):
        sym = super()._check(x)
        if not sym.all():
            return sym
        return (np.linalg.eigvalsh(x) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    def _check(self, x):
        sym = super()._check(x)
        if not sym.all():
            return sym
        return (np.linalg.eigvalsh(x) > 0).all(-1)


class _Cat(Constraint):
    """Constraints applied to consecutive pieces of ``dim`` of sizes ``lengths``."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq, self.dim = list(cseq), dim
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def _check(self, x):
        pieces, start = [], 0
        for c, n in zip(self.cseq, self.lengths):
            pieces.append(np.asarray(c._check(np.take(x, range(start, start + n), axis=self.dim))))
            start += n
        return np.concatenate(pieces, self.dim)


class _Stack(Constraint):
    """Constraints applied to the slices of ``dim``, one each."""

    def __init__(self, cseq, dim=0):
        self.cseq, self.dim = list(cseq), dim

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def _check(self, x):
        slices = [np.take(x, i, axis=self.dim) for i in range(x.shape[self.dim])]
        return np.stack([np.asarray(c._check(v)) for c, v in zip(self.cseq, slices)], self.dim)


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
