"""``torch.utils.hooks.RemovableHandle``."""
from ..graph.nodes import RemovableHandle  # noqa: F401
