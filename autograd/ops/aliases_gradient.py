"""``torch.gradient``: finite-difference estimates of a sampled function's derivative along each chosen
dimension: central differences inside, one-sided ones (first or second order) at the two edges, for uniform
spacing (a number per dimension) or for sample coordinates (a 1-D tensor per dimension). Written with
slices and arithmetic of recorded ops, so the result is differentiable (to any order) in the input and in
coordinate tensors. Gathered into ``torch.gradient`` by :mod:`.tensor_aliases`.
"""
from __future__ import annotations

import numbers

from .. import dtypes
from ..tensor import Tensor
from . import shape, shape_more
from .shape import _dim


def _dims(dim, ndim):
    if dim is None:
        return list(range(ndim))
    dims = [_dim(dim, ndim)] if isinstance(dim, numbers.Integral) else [_dim(d, ndim) for d in dim]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims


def _spacings(spacing, dims, ndim, dim_given):
    """One spacing per dimension in ``dims``: a number (uniform) or a 1-D Tensor of coordinates."""
    if isinstance(spacing, Tensor):
        if spacing.ndim:
            raise TypeError("gradient(): 'spacing' must be a number or a tuple of numbers or Tensors, not a "
                            f"{spacing.ndim}-D Tensor")
        spacing = spacing.item()
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        if dim_given:
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacing)} and a dim argument of length {len(dims)}.")
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal to "
                           f"'self.dim() = {ndim}', since dim argument was not given, but got a list of length "
                           f"{len(spacing)}")
    if any(isinstance(s, Tensor) for s in spacing):
        for i, s in enumerate(spacing):
            if not isinstance(s, Tensor):
                raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(s).__name__}")
            if s.ndim != 1:
                raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, but got "
                                   f"an element with {s.ndim} dimensions!")
    return spacing


def _part(t, d, start, stop):
    """``t``'s entries ``start:stop`` of dimension ``d`` (a view; negative bounds count from the end)."""
    n = t.shape[d]
    start = start + n if start < 0 else start
    stop = stop + n if stop < 0 else min(stop, n)
    return shape_more.narrow(t, d, start, max(stop - start, 0))


def _along(c, d, ndim):
    """A 1-D tensor shaped to broadcast along dimension ``d`` of an ``ndim``-D tensor."""
    return shape.reshape(c, (1,) * d + (-1,) + (1,) * (ndim - d - 1))


def _uniform(f, d, h, edge_order):
    interior = (_part(f, d, 2, f.shape[d]) - _part(f, d, 0, -2)) / (2 * h)
    f0, f1, fl, fk = _part(f, d, 0, 1), _part(f, d, 1, 2), _part(f, d, -1, f.shape[d]), _part(f, d, -2, -1)
    if edge_order == 1:
        first, last = (f1 - f0) / h, (fl - fk) / h
    else:
        f2, fj = _part(f, d, 2, 3), _part(f, d, -3, -2)
        first = (-1.5 * f0 + 2 * f1 - 0.5 * f2) / h
        last = (0.5 * fj - 2 * fk + 1.5 * fl) / h
    return shape.cat([first, interior, last], d)


def _coordinates(f, d, x, edge_order):
    n = f.shape[d]
    if x.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each tensor of spacing to have as many elements as dimension {d} "
                           f"of the input ({n}), but got {x.shape[0]}")
    x = _along(x, d, f.ndim)
    dx = _part(x, d, 1, n) - _part(x, d, 0, -1)          # dx[i] = x[i + 1] - x[i]
    left, right = _part(dx, d, 0, -1), _part(dx, d, 1, n - 1)
    # the second-order accurate three-point formula on uneven steps: weights for f[i - 1], f[i], f[i + 1]
    interior = (-right / (left * (left + right)) * _part(f, d, 0, -2)
                + (right - left) / (left * right) * _part(f, d, 1, -1)
                + left / (right * (left + right)) * _part(f, d, 2, n))
    f0, f1, fl, fk = _part(f, d, 0, 1), _part(f, d, 1, 2), _part(f, d, -1, n), _part(f, d, -2, -1)
    h0, hl = _part(dx, d, 0, 1), _part(dx, d, -1, n - 1)
    if edge_order == 1:
        first, last = (f1 - f0) / h0, (fl - fk) / hl
    else:
        f2, fj = _part(f, d, 2, 3), _part(f, d, -3, -2)
        h1, hk = _part(dx, d, 1, 2), _part(dx, d, -2, -1)
        first = (-(2 * h0 + h1) / (h0 * (h0 + h1)) * f0 + (h0 + h1) / (h0 * h1) * f1
                 - h0 / (h1 * (h0 + h1)) * f2)
        last = (hl / (hk * (hk + hl)) * fj - (hk + hl) / (hk * hl) * fk
                + (2 * hl + hk) / (hl * (hk + hl)) * fl)
    return shape.cat([first, interior, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):  # noqa: A002
    """The derivative estimate along each dimension of ``dim`` (every one when None), one tensor each.

    ``spacing``: a number (the same uniform step everywhere), a list of numbers (a step per dimension) or a
    list of 1-D tensors (the sample coordinates along each dimension). ``edge_order`` (1 or 2): the accuracy
    of the one-sided differences at the edges. Integer inputs give the default float dtype."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _dims(dim, input.ndim)
    steps = _spacings(spacing, dims, input.ndim, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = input
    if not (f.dtype.kind in "fc" or f.dtype == dtypes.bfloat16):
        f = f.to(dtypes.get_default_dtype())
    return tuple(_coordinates(f, d, h, edge_order) if isinstance(h, Tensor) else _uniform(f, d, h, edge_order)
                 for d, h in zip(dims, steps))


EXPORTS = ("gradient",)
