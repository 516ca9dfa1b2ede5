"""The autograd graph: nodes, recording, views, in-place writes and copy-on-write (above ``tensor``, below
``engine`` and ``ops``)."""
from .nodes import (AccumulateGrad, Node, NodeHooks, OutputNode, RemovableHandle, SparseGrad, check_saved,  # noqa: F401
                    grad_node)
from .record import OUT, needs, record, record_once_differentiable, refresh  # noqa: F401
from .views import (ViewInfo, bump, copy_on_write, increment_version, make_view, protect, write)  # noqa: F401
