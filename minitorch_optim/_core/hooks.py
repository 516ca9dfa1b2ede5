"""Removable hook handles and the module-level optimizer step hooks."""
from __future__ import annotations

import itertools
from collections import OrderedDict

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``handle.remove()`` unregisters (also as a context manager)."""

    def __init__(self, table: OrderedDict):
        self._table = table
        self.id = next(_ids)

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(table: OrderedDict, hook, prepend=False) -> RemovableHandle:
    h = RemovableHandle(table)
    table[h.id] = hook
    if prepend:
        table.move_to_end(h.id, last=False)
    return h


global_pre_hooks: OrderedDict = OrderedDict()
global_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` before every optimizer's step."""
    return add_hook(global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    return add_hook(global_post_hooks, hook)
