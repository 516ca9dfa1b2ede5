"""``VonMises(loc, concentration)``: the circular normal distribution on ``[-pi, pi)``, density
``exp(k cos(x - loc)) / (2 pi I0(k))``; samples by Best and Fisher's (1979) rejection from a wrapped Cauchy
envelope (not reparameterised, as torch's). ``log I0`` and ``I1 / I0`` are computed with the exactly rounded
scaled Bessel functions ``i0e`` / ``i1e``; torch uses polynomial approximations there, so log-densities and
variances agree with torch's to about 1e-7, not to the last digits."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, creation
from ..ops import special_ops as _sp
from .distribution import _host
from ._shared_more import LocIsMeanAndMode, Rebuilt, positive, real


def _best_fisher(loc, k, rng):
    """One accepted angle per element of the float64 arrays ``loc`` and ``k``."""
    small = k < 1e-5
    k_safe = np.where(small, 1.0, k)
    tau = 1 + np.sqrt(1 + 4 * k_safe ** 2)
    rho = (tau - np.sqrt(2 * tau)) / (2 * k_safe)
    r = np.where(small, 1 / np.where(small, k, 1.0) + k, (1 + rho ** 2) / (2 * rho))
    out = np.empty(loc.shape)
    todo = np.ones(loc.shape, dtype=bool)
    while todo.any():
        u1, u2, u3 = (rng.random(int(todo.sum())) for _ in range(3))
        kk, rr = k[todo], r[todo]
        z = np.cos(math.pi * u1)
        f = (1 + rr * z) / (rr + z)
        c = kk * (rr - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = (c * (2 - c) - u2 > 0) | (np.log(c / u2) + 1 - c >= 0)
        theta = np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1))
        idx = np.flatnonzero(todo)[accept]
        out.flat[idx] = theta[accept]
        todo.flat[idx] = False
    return np.mod(out + loc + math.pi, 2 * math.pi) - math.pi


class VonMises(LocIsMeanAndMode, Rebuilt):
    arg_constraints = {"loc": real, "concentration": positive}
    support = real
    has_rsample = False
    _params = ("loc", "concentration")

    def __init__(self, loc, concentration, validate_args=None):
        self._init_scalar_event((loc, concentration), validate_args)

    def _log_i0(self):
        return _sp.i0e(self.concentration).log() + self.concentration

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - self._log_i0()

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rng = creation.default_generator.device_rng(backend.as_device("cpu"))
        loc = np.broadcast_to(_host(self.loc).astype(np.float64), shape)
        k = np.broadcast_to(_host(self.concentration).astype(np.float64), shape)
        draws = _best_fisher(loc, k, rng).astype(self.loc._data.dtype)
        return creation.tensor(draws, dtype=self.loc.dtype, device=self.loc.device)

    @property
    def variance(self):
        k = self.concentration
        return 1 - _sp.i1e(k) / _sp.i0e(k)


EXPORTS = ("VonMises",)
