"""The ``Distribution`` base of ``torch.distributions``: batch / event shapes, argument validation against
constraints (on by default, ``ValueError`` with torch's wording), ``sample`` as ``rsample`` without gradient."""
from __future__ import annotations

import math

import numpy as np

from .. import creation, dtypes
from ..grad_mode import no_grad
from ..tensor import Tensor


class Constraint:
    """A named predicate on values (torch's ``constraints`` objects, the ones these distributions use)."""

    def __init__(self, name, check, text):
        self.name, self.check, self._text = name, check, text

    def __repr__(self):
        return self._text


real = Constraint("real", lambda x: x == x, "Real()")
positive = Constraint("positive", lambda x: x > 0, "GreaterThan(lower_bound=0.0)")
unit_interval = Constraint("unit_interval", lambda x: (x >= 0) & (x <= 1),
                           "Interval(lower_bound=0.0, upper_bound=1.0)")
nonnegative = Constraint("nonnegative", lambda x: x >= 0, "GreaterThanEq(lower_bound=0.0)")
boolean = Constraint("boolean", lambda x: (x == 0) | (x == 1), "Boolean()")
simplex = Constraint("simplex", lambda x: np.all(x >= 0, axis=-1) & (np.abs(x.sum(-1) - 1) < 1e-6), "Simplex()")
real_vector = Constraint("real_vector", lambda x: np.all(x == x, axis=-1), "IndependentConstraint(Real(), 1)")


def integer_interval(lo, hi):
    return Constraint("integer_interval", lambda x: (x % 1 == 0) & (x >= lo) & (x <= hi),
                      f"IntegerInterval(lower_bound={lo}, upper_bound={hi})")


def size_text(shape):
    return f"torch.Size({list(shape)})"


def broadcast_all(*values):
    """Numbers become tensors of the default dtype (or of the tensors' dtype), all broadcast to one shape."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dt = like.dtype if like is not None else dtypes.get_default_dtype()
    ts = [v if isinstance(v, Tensor) else creation.tensor(float(v), dtype=dt,
                                                          device=None if like is None else like.device)
          for v in values]
    shape = np.broadcast_shapes(*[t.shape for t in ts])
    return [t if t.shape == shape else t.expand(shape) for t in ts]


def _host(x):
    return x.detach().cpu().numpy()


class Distribution:
    has_rsample = False
    arg_constraints: dict = {}
    support = None
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        self._validate_args = Distribution._validate_default if validate_args is None else validate_args
        if self._validate_args:
            for name, c in self.arg_constraints.items():
                if name not in self.__dict__ and isinstance(getattr(type(self), name, None), property):
                    continue   # the parameterisation not given (probs vs logits)
                value = getattr(self, name)
                ok = c.check(_host(value))
                if not np.all(ok):
                    raise ValueError(f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                                     f"distribution {self!r} to satisfy the constraint {c!r}, but found invalid "
                                     f"values:\n{value.detach()}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        if not np.all(self.support.check(_host(value))):
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within the "
                             f"support ({self.support!r}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value.detach()}")

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError

    def sample_n(self, n):
        return self.sample((n,))

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return self.entropy().exp()

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        parts = []
        for k in names:
            v = self.__dict__[k]
            parts.append(f"{k}: {v if v.numel() == 1 else size_text(v.shape)}")   # torch's: a 0-d one by value
        return f"{type(self).__name__}({', '.join(parts)})"


def clamp_probs(probs):
    eps = float(dtypes.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
