"""``affine_grid`` and ``grid_sample`` (bilinear / trilinear, nearest, bicubic; zeros / border / reflection
padding; align_corners), composed of recorded ops.

A sample is a weighted sum of input values read at integer corner positions: the positions (floors,
bounds, padding folds) are computed on raw arrays and read with one recorded gather each, the weights are
Tensor arithmetic on the grid coordinates.  So the input gradient adds each output gradient, weighted, at the
corners read, and the grid gradient is the derivative of the weights, as torch's kernels compute them; both
are differentiable again.  Clipping and reflection are selects with masks computed from the coordinates,
their gradients exactly torch's: borders count as outside (gradient 0), reflection flips the sign.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import elementwise as ew
from . import linalg as _linalg
from . import shape as _shape
from .selection import take_along

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")
_CUBIC_A = -0.75


def _align(align_corners):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _const(a):
    return Tensor._wrap(a)


# ---- affine_grid ---------------------------------------------------------------------------------------------
def _base_coords(n, align_corners, dtype):
    """The n normalised sample positions along one axis: linspace(-1, 1, n) (symmetric from both ends, as
    torch computes it), scaled by (n - 1) / n without align_corners; a single position is 0."""
    if n <= 1:
        return np.zeros(max(n, 0), dtype)
    step = dtype.type(2) / dtype.type(n - 1)
    i = np.arange(n)
    half = n // 2
    v = np.where(i < half, dtype.type(-1) + i.astype(dtype) * step, dtype.type(1) - (n - 1 - i).astype(dtype) * step)
    v = v.astype(dtype)
    if not align_corners:
        v = (v * dtype.type((n - 1) / n)).astype(dtype)
    return v


def affine_grid(theta, size, align_corners=None):
    align_corners = _align(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                             f"{tuple(theta.shape)}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                             f"{tuple(theta.shape)}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    N, spatial = size[0], size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners="
                      "True. This is not an intended use case of affine_grid. See the documentation of affine_grid "
                      "for details.", UserWarning, stacklevel=2)
    if theta.shape[0] != N:
        raise RuntimeError(f"Expected theta to have batch size {N}, got {theta.shape[0]}")
    dtype = np.dtype(theta.dtype)
    axes = [_base_coords(n, align_corners, dtype) for n in spatial]          # (d,) h, w
    mesh = np.meshgrid(*axes, indexing="ij")
    # the last axis of the grid lists (x, y[, z]): the coordinate of the last spatial dim first
    base = np.stack(list(mesh[::-1]) + [np.ones(spatial, dtype)], axis=-1).reshape(1, -1, len(spatial) + 1)
    xp = backend.array_module(theta._data)
    out = _linalg.matmul(_const(xp.asarray(base)), _shape.transpose(theta, 1, 2))
    return _shape.reshape(out, (N,) + spatial + (len(spatial),))


# ---- coordinates -------------------------------------------------------------------------------------------
def _unnormalize(c, n, align_corners):
    if align_corners:
        return (c + 1) / 2 * (n - 1)
    return ((c + 1) * n - 1) / 2


def _clip(c, n):
    """Clamp to [0, n - 1]; the gradient passes only strictly inside (torch counts the borders as out)."""
    C = c._data
    inside = (C > 0) & (C < n - 1)
    xp = backend.array_module(C)
    clamped = xp.where(C <= 0, xp.zeros((), C.dtype), xp.full((), n - 1, C.dtype))
    return ew.where(_const(inside), c, _const(clamped.astype(C.dtype)))


def _reflect(c, twice_low, twice_high):
    """Fold ``c`` into [twice_low / 2, twice_high / 2] by reflections at the ends."""
    C = c._data
    xp = backend.array_module(C)
    if twice_low == twice_high:
        return ew.where(_const(xp.zeros(C.shape, bool)), c, _const(xp.zeros_like(C)))
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    d = c - lo
    neg = d._data < 0
    a = ew.where(_const(neg), -d, d)
    A = a._data
    flips = xp.floor(A / span)
    extra = a - _const((A - xp.fmod(A, span)).astype(C.dtype))   # fmod(a, span), its gradient that of a
    even = (flips % 2) == 0
    return ew.where(_const(even), extra + lo, (span - extra) + lo)


def _padded(c, n, padding_mode, align_corners):
    if padding_mode == "border":
        return _clip(c, n)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        return _clip(c, n)
    return c


# ---- grid_sample ---------------------------------------------------------------------------------------------
def _check(input, grid, mode, padding_mode):  # noqa: A002
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    for i in range(2, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {i} being empty")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    if input.device != grid.device:
        raise RuntimeError("grid_sampler(): expected input and grid to be on same device, but input is on "
                           f"{input.device} and grid is on {grid.device}")
    if mode == "bicubic" and input.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


class _Reader:
    """Reads the input (N, C, *S) at integer positions given per spatial axis as raw (N, L) arrays; positions
    outside the input read 0 (and pass no gradient)."""

    def __init__(self, input):  # noqa: A002
        N, C = input.shape[:2]
        self.sizes = tuple(input.shape[2:])
        self.strides = [int(np.prod(self.sizes[a + 1:])) for a in range(len(self.sizes))]
        self.flat = _shape.reshape(input, (N, C, -1))
        self.N, self.C = N, C
        self.xp = backend.array_module(input._data)

    def __call__(self, positions):
        xp = self.xp
        valid = xp.ones(positions[0].shape, bool)
        flat = xp.zeros(positions[0].shape, np.int64)
        for p, n, s in zip(positions, self.sizes, self.strides):
            valid &= (p >= 0) & (p < n)
            flat = flat + p.astype(np.int64) * s
        flat = xp.where(valid, flat, 0)
        idx = xp.broadcast_to(flat[:, None, :], (self.N, self.C, flat.shape[1]))
        vals = take_along(self.flat, idx, 2)
        zero = _const(xp.zeros((), vals._data.dtype))
        return ew.where(_const(valid[:, None, :]), vals, zero)


def _cubic_coeffs(t):
    A = _CUBIC_A

    def near(x):   # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):  # noqa: A002
    _check(input, grid, mode, padding_mode)
    align_corners = _align(align_corners)
    N, C = input.shape[:2]
    nsp = input.ndim - 2
    out_spatial = tuple(grid.shape[1:-1])
    L = int(np.prod(out_spatial))
    g = _shape.reshape(grid, (N, L, nsp))
    read = _Reader(input)
    xp = read.xp
    sizes = read.sizes
    # coordinate of input axis a (d, h, w order) is grid entry nsp - 1 - a
    raw = [_unnormalize(_shape._getitem(g, (slice(None), slice(None), nsp - 1 - a)), sizes[a], align_corners)
           for a in range(nsp)]
    if mode == "bicubic":
        out = _bicubic(read, raw, padding_mode, align_corners)
    else:
        coords = [_padded(c, n, padding_mode, align_corners) for c, n in zip(raw, sizes)]
        if mode == "nearest":
            out = read([xp.rint(c._data) for c in coords])
            # torch reports a zero (not a missing) gradient for the grid: a select that never takes it
            out = out + ew.where(_const(xp.zeros((N, 1, L), bool)), _shape.unsqueeze(coords[0], 1),
                                 _const(xp.zeros((), out._data.dtype)))
        else:
            floors = [xp.floor(c._data) for c in coords]
            # weight of the upper corner along an axis: c - floor; of the lower one: (floor + 1) - c
            hi = [c - _const(f) for c, f in zip(coords, floors)]
            lo = [_const(f + 1) - c for c, f in zip(coords, floors)]
            out = None
            for bits in itertools.product((0, 1), repeat=nsp):    # the last axis (x) fastest, as torch's sum
                w = None
                for a in range(nsp - 1, -1, -1):                   # weights multiplied x first, then y, z
                    wa = hi[a] if bits[a] else lo[a]
                    w = wa if w is None else w * wa
                term = read([f + b for f, b in zip(floors, bits)]) * _shape.unsqueeze(w, 1)
                out = term if out is None else out + term
    return _shape.reshape(out, (N, C) + out_spatial)


def _bicubic(read, raw, padding_mode, align_corners):
    """4x4 taps around each sample; each tap's position folded by the padding mode on its own (torch's
    ``get_value_bounded``), the weights cubic convolution coefficients of the fractional parts."""
    xp = read.xp
    iy, ix = raw
    fy, fx = xp.floor(iy._data), xp.floor(ix._data)
    cy = _cubic_coeffs(iy - _const(fy))
    cx = _cubic_coeffs(ix - _const(fx))
    H, W = read.sizes

    def bounded(p, n):
        if padding_mode == "zeros":
            return p
        return _padded(_const(p), n, padding_mode, align_corners)._data.astype(p.dtype)

    out = None
    for j in range(4):
        ty = bounded(fy - 1 + j, H)
        row = None
        for i in range(4):
            tx = bounded(fx - 1 + i, W)
            term = read([ty, tx]) * _shape.unsqueeze(cx[i], 1)
            row = term if row is None else row + term
        term = row * _shape.unsqueeze(cy[j], 1)
        out = term if out is None else out + term
    return out


__all__ = ["affine_grid", "grid_sample"]
