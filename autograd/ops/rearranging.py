"""torch's functions that rearrange a tensor's dimensions without changing its values: ``rot90`` (quarter
turns in a plane, a flip and a transpose of :mod:`.shape_more` / :mod:`.shape`, so differentiable to any order)
and ``swapdims`` / ``swapaxes`` (torch's names for ``transpose``). Gathered into ``torch.<name>`` by
:mod:`.shape_extra`."""
from __future__ import annotations

from . import shape, shape_more
from .basic import register
from .shape import _dim

swapdims = swapaxes = shape.transpose


@register("rot90")
def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Rotated by ``k`` quarter turns from ``dims[0]`` towards ``dims[1]``: a flip and a transpose (a copy)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _dim(dims[0], input.ndim), _dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    turns = k % 4
    if turns == 1:
        return shape.transpose(shape_more.flip(input, d1), d0, d1)
    if turns == 2:
        return shape_more.flip(input, (d0, d1))
    if turns == 3:
        return shape.transpose(shape_more.flip(input, d0), d0, d1)
    return input.clone()


EXPORTS = ("rot90", "swapdims", "swapaxes")
