"""renorm and renorm_: each slice along a dimension scaled down to a maximum ``p``-norm, composed of
differentiable ops (so the gradient includes the factor's dependence on the norm, as torch's)."""
from __future__ import annotations

from .. import dtypes as _dtypes
from ..graph.views import protect
from . import elementwise as _ew, reduction as _red
from .basic import inplace, register
from .shape import _dim


@register("renorm")
def renorm(input, p, dim, maxnorm):  # noqa: A002
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm ``maxnorm``
    (``maxnorm / (norm + 1e-7)``, torch's factor); composed of differentiable ops, so the gradient includes
    the factor's dependence on the norm, as torch's."""
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _dim(dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    dt = input._data.dtype
    low = dt.itemsize == 2 and dt in _dtypes.LOW_PRECISION
    work = input.to(_dtypes.float32) if low else input     # torch: norm and factor in float32 for 16-bit input
    norm = _red.norm(work, p, others, keepdim=True)
    factor = _ew.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    out = work * factor
    return out.to(dt) if low else out


@register("renorm_")
def renorm_(input, p, dim, maxnorm):  # noqa: A002
    """:func:`renorm` in place (the old value is kept for the backward, as for every recorded in-place op)."""
    source, _ = protect(input, ())
    return inplace(input, renorm(source, p, dim, maxnorm))
