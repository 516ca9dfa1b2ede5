"""The front of the extra elementwise functions: it gathers their torch-level names into ``EXPORTS`` (for
``autograd.<name>``, :mod:`autograd.functional_api`) and importing it attaches their Tensor methods. What
lives where:

- :mod:`.special_kernels`: the float64 NumPy kernels of the special functions (gamma family, zeta /
  polygamma, erf / erfcx / erfinv / ndtri / log_ndtr, Bessel I0 / I1) and their array forms in an op's dtype,
  the array column of the op vocabulary's rows for them;
- :mod:`.special_ops`: the special functions as recorded, differentiable ops (lgamma, digamma, polygamma,
  mvlgamma, erfc, erfcx, erfinv, i0 / i0e / i1 / i1e, ndtr, ndtri, log_ndtr, sinc, exp2, logit, entr, xlogy,
  xlog1py, zeta) and their Tensor methods; ``autograd.special`` aliases them;
- :mod:`.float_ops`: logaddexp(2), hypot, copysign, nextafter, float_power, ldexp, heaviside, signbit,
  frexp, deg2rad / rad2deg and fix;
- :mod:`.bitwise`: gcd, lcm, the bitwise ops and shifts, and the in-place logical ops.
"""
from __future__ import annotations

from . import bitwise, float_ops, special_ops

_MODULES = (special_ops, float_ops, bitwise)
EXPORTS = tuple(name for m in _MODULES for name in m.EXPORTS)
globals().update({name: getattr(m, name) for m in _MODULES for name in m.EXPORTS})
