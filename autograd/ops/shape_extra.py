"""The front of torch's extra shape, indexing and product functions: importing it imports the modules
below (which attach their Tensor methods), and ``EXPORTS`` lists the names they give ``torch.<name>``
(:mod:`autograd.functional_api` gathers them). What lives where:

* :mod:`.broadcasting`: ``broadcast_shapes``, ``broadcast_to``, ``broadcast_tensors``.
* :mod:`.stacking`: ``atleast_1d/2d/3d``, ``hstack``, ``vstack``/``row_stack``, ``dstack``,
  ``column_stack``, ``tensor_split``, ``hsplit``/``vsplit``/``dsplit``, ``split_with_sizes``, ``narrow_copy``.
* :mod:`.rearranging`: ``rot90``, ``swapdims``/``swapaxes``.
* :mod:`.indexing_more`: ``take``, ``take_along_dim``, ``index_copy(_)``, ``index_fill(_)``,
  ``fill_diagonal_``, ``scatter_reduce(_)``, ``unique_consecutive``.
* :mod:`.tensor_products`: ``tensordot``, ``cdist``, ``addr(_)``, ``vander``, ``combinations``.
"""
from __future__ import annotations

from . import broadcasting, indexing_more, rearranging, stacking, tensor_products

_MODULES = (broadcasting, stacking, rearranging, indexing_more, tensor_products)

EXPORTS = tuple(name for module in _MODULES for name in module.EXPORTS)
globals().update({name: getattr(module, name) for module in _MODULES for name in module.EXPORTS})
