"""Sums, means and second moments: nansum/nanmean, var_mean/std_mean, cov and corrcoef.

nansum is recorded with one backward rule (zero gradient at the NaNs; float16/bfloat16 summed in torch's
kernel order); the others are composed of differentiable ops (sum, mean, var, mm, sqrt, ...) as torch
composes them, so their gradients to any order are those ops' rules."""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend, dtypes as _dtypes
from ..tensor import Tensor
from . import cascade_sum as _cascade, elementwise as _ew, linalg as _linalg, reduction as _red, shape as _shape
from .basic import record, register
from .statistics_helpers import _is_float, _torch_title


# ---- NaN-skipping sums and means --------------------------------------------------------------------------
@register("nansum")
def nansum(x, dim=None, keepdim=False, dtype=None):
    """``sum`` with NaN counted as zero; its gradient is zero at the NaNs (torch's)."""
    X = x._data
    if X.dtype.kind in "biu":
        return _red.sum(x, dim, keepdim, dtype)   # no NaN to skip
    if X.dtype.kind == "c":
        raise RuntimeError("nansum does not support complex inputs")
    xp = backend.array_module(X)
    ax = _red._axes(X, dim)
    keep = ~xp.isnan(X)
    if dtype is None and X.dtype.itemsize == 2 and X.dtype in _dtypes.LOW_PRECISION:
        out = xp.asarray(_cascade.sum16(X, ax, keepdim, ignore_nan=True))
    else:
        out = xp.asarray(xp.where(keep, X, 0).sum(axis=ax, keepdims=keepdim, dtype=dtype))
    xs, ks = X.shape, _red._kept(X.shape, ax)
    return record(out, (x,), lambda o, g: (keep * o.expand(o.reshape(g, ks), xs),), "Nansum", saved=())


@register("nanmean")
def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The mean of the non-NaN entries: ``nansum / count``, as torch composes it (so its gradient too)."""
    X = input._data
    if not (_is_float(X.dtype) or X.dtype.kind == "c"):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_torch_title(X.dtype)}")
    count = _red.sum(Tensor._wrap(~backend.array_module(X).isnan(X)), dim, keepdim)
    with np.errstate(divide="ignore", invalid="ignore"):   # an all-NaN slice is NaN, silently as in torch
        return nansum(input, dim, keepdim, dtype) / count


# ---- var_mean / std_mean ----------------------------------------------------------------------------------
def _moments(name, reducer, input, dim, unbiased, keepdim, correction):  # noqa: A002
    if isinstance(dim, bool):   # torch's overload var_mean(input, unbiased)
        dim, unbiased = None, dim
    X = input._data
    if not (_is_float(X.dtype) or X.dtype.kind == "c"):
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    with warnings.catch_warnings():     # the degrees-of-freedom warning is this function's, named after it;
        warnings.simplefilter("ignore")  # NumPy's about empty slices is not torch's
        spread = reducer(input, dim, unbiased, keepdim, correction=correction)
        centre = _red.mean(input, dim, keepdim)
    kept = 1 if correction is None and unbiased in (None, True) else (0 if correction is None else correction)
    if X.size // max(centre.numel(), 1) - kept <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      f"factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return spread, centre


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """``(var, mean)`` over ``dim`` (a plain tuple, as torch returns it)."""
    return _moments("var_mean", _red.var, input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    """``(std, mean)`` over ``dim`` (a plain tuple, as torch returns it)."""
    return _moments("std_mean", _red.std, input, dim, unbiased, keepdim, correction)


# ---- covariance and correlation ---------------------------------------------------------------------------
def _check_weights(w, kind, n_obs):
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {kind} to have one or fewer dimensions but got {kind} with {w.ndim} "
                           f"dimensions")
    if w.numel() != n_obs:
        raise RuntimeError(f"cov(): expected {kind} to have the same numel as there are observations in the input "
                           f"but got {w.numel()} != {n_obs}")
    dt = w._data.dtype
    if kind == "fweights" and dt.kind not in "iu":
        raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                           f"{_torch_title(dt)} dtype")
    if kind == "aweights" and not _is_float(dt):
        raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                           f"{_torch_title(dt)} dtype")
    if bool((w._data < 0).any()):
        raise RuntimeError(f"cov(): {kind} cannot be negative")


@register("cov")
def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """Covariance of the rows (variables) over the columns (observations), with frequency and/or
    observation weights, composed as torch composes it: weighted mean, centred product, normalisation."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input if input.ndim == 2 else _shape.reshape(input, (1, -1))
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights(fweights, "fweights", n_obs)
        w = fweights
    if aweights is not None:
        _check_weights(aweights, "aweights", n_obs)
        w = aweights if w is None else w * aweights
    w_sum = _red.sum(w) if w is not None else n_obs
    avg = _red.sum(x * w if w is not None else x, 1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm_factor = w_sum - correction * _red.sum(w * aweights) / w_sum
    else:
        norm_factor = w_sum - correction
    if float(norm_factor.item() if isinstance(norm_factor, Tensor) else norm_factor) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm_factor = norm_factor * 0
    centred = x - _shape.unsqueeze(avg, 1)
    c = _linalg.mm(centred, _shape.t(centred * w if w is not None else centred))
    with np.errstate(divide="ignore", invalid="ignore"):   # no degrees of freedom: inf/NaN, warned above
        return _shape.squeeze(_ew.div(c, norm_factor))


@register("corrcoef")
def corrcoef(input):  # noqa: A002
    """Pearson correlation of the rows: ``cov`` scaled by the standard deviations, clipped to [-1, 1]."""
    c = cov(input)
    with np.errstate(divide="ignore", invalid="ignore"):   # a constant row correlates as NaN, as in torch
        if c.ndim == 0:
            return c / c
        stddev = _ew.sqrt(c.diagonal())
        c = c / _shape.reshape(stddev, (-1, 1))
        c = c / _shape.reshape(stddev, (1, -1))
    return _ew.clamp(c, -1, 1)
