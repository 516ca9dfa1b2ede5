"""The front of torch's remaining small Tensor methods and functions: importing it imports the modules below
(which attach their Tensor methods), and ``EXPORTS`` lists the names they give ``torch.<name>``
(:mod:`autograd.functional_api` gathers them). What lives where:

* :mod:`.aliases_elementwise`: ``acosh`` / ``asinh`` / ``atanh``, the ``arc*`` names, the comparison aliases
  and in-place comparisons, ``positive``, ``frac``, ``fmax`` / ``fmin``, ``isneginf`` / ``isposinf`` /
  ``isin`` (``isreal`` is in :mod:`.complex_ops`), and ``torch.<op>_(x)`` for the in-place unary ops.
* :mod:`.aliases_shape`: the in-place view ops (``squeeze_``, ``t_``, ``transpose_``, ...), ``tril_`` /
  ``triu_`` / ``cumsum_`` / ``cumprod_``, ``ravel``, ``reshape_as``, ``select``, ``sum_to_size``,
  ``argwhere``, ``inner``, ``vdot``, ``ger``, ``dist``, ``mH`` / ``H`` / ``adjoint``, the ``unsafe_`` splits,
  ``unravel_index``, and small queries and conversions (``ndimension``, ``get_device``, ``short``, ...).
* :mod:`.aliases_scatter`: ``masked_scatter``, ``put``, ``index_reduce``, ``diagonal_scatter`` /
  ``select_scatter`` / ``slice_scatter``, ``diagflat``.
* :mod:`.aliases_gradient`: ``gradient``.
"""
from __future__ import annotations

from . import aliases_elementwise, aliases_gradient, aliases_scatter, aliases_shape

_MODULES = (aliases_elementwise, aliases_shape, aliases_scatter, aliases_gradient)

EXPORTS = tuple(name for module in _MODULES for name in module.EXPORTS)
globals().update({name: getattr(module, name) for module in _MODULES for name in module.EXPORTS})
