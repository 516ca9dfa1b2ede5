"""``torch.special``: the members that map onto autograd's elementwise and reduction ops (same numbers and
gradients as the ``autograd.<name>`` they alias). The Bessel functions of the first and second kind (j0, y0,
...), the orthogonal polynomials, ``airy_ai`` and the incomplete gamma functions are not provided and fail
by name."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes
from ._unsupported import module_getattr as _module_getattr
from .ops import elementwise as _ew
from .ops import special_ops as _sp
from .ops import reduction as _red
from .ops.basic import record as _record
from .tensor import Tensor as _Tensor

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e",
           "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy", "zeta"]

__getattr__ = _module_getattr(__name__, "torch.special")

digamma = psi = _sp.digamma
gammaln = _sp.lgamma
polygamma = _sp.polygamma
erf, erfc, erfcx, erfinv = _ew.erf, _sp.erfc, _sp.erfcx, _sp.erfinv
exp2, expm1, log1p = _sp.exp2, _ew.expm1, _ew.log1p
expit = _ew.sigmoid
i0, i0e, i1, i1e = _sp.i0, _sp.i0e, _sp.i1, _sp.i1e
entr, ndtr, ndtri, log_ndtr = _sp.entr, _sp.ndtr, _sp.ndtri, _sp.log_ndtr
logit, sinc, xlogy, xlog1py, zeta = _sp.logit, _sp.sinc, _sp.xlogy, _sp.xlog1py, _sp.zeta


def multigammaln(input, p):  # noqa: A002  torch's argument name
    return _sp.mvlgamma(input, p)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    return _red.logsumexp(input, dim, keepdim)


def softmax(input, dim, *, dtype=None):  # noqa: A002
    return _red.softmax(input, dim, dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    return _red.log_softmax(input, dim, dtype)


def round(input, *, decimals=0):  # noqa: A001,A002
    """Round half to even at ``decimals`` digits (torch's order: x * 10^d rounded, then / 10^d; for negative
    ``decimals`` x / 10^-d rounded, then * 10^-d), computed in float32 for float16/bfloat16; gradient zero."""
    if decimals == 0:
        return _ew.round(input)
    X = input._data
    if X.dtype.kind not in "fc" and X.dtype != _dtypes.bfloat16:
        return _ew.round(input)
    work = X.astype(np.float32) if X.dtype.itemsize == 2 else X
    scale = work.dtype.type(10.0 ** abs(decimals))
    Y = np.round(work * scale) / scale if decimals > 0 else np.round(work / scale) * scale
    return _record(Y.astype(X.dtype), (input,), lambda o, g: (g * 0,), "Round", saved=())


del _Tensor
