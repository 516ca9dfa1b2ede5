"""Optimizers torch does not ship, equal to their reference implementations (pytorch_optimizer 4.1.0,
schedulefree 1.4.1) under the same names and arguments. See docs/src/contrib.md."""
from ._base import NegativeLRError, NoComplexParameterError, NoSparseGradientError
from .lion import Lion, SignSGD, Tiger

__all__ = ["Lion", "Tiger", "SignSGD", "NoSparseGradientError", "NegativeLRError", "NoComplexParameterError"]

# ---- i12b: the non-elementwise optimizers, wrappers, schedulers and helpers (add below) ----------------
