"""Module hooks: the per-module forward/backward hooks and ``__call__`` that runs them, and the global hooks of
``torch.nn.modules.module`` (``register_module_forward_pre_hook`` and friends) that run for every module."""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict

from . import backward_hooks


class RemovableHandle:
    """Handle returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *tables):
        self.id = next(RemovableHandle._next_id)
        self._tables = tables

    def remove(self):
        for t in self._tables:
            t.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# the global tables: one entry per registered hook, keyed by its handle's id (so ids of global and per-module
# hooks never collide and the with_kwargs / always_call marks can share a set with the module's)
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_with_kwargs = set()
_global_forward_hooks_always_called = set()
_global_buffer_registration_hooks = OrderedDict()
_global_parameter_registration_hooks = OrderedDict()
_global_module_registration_hooks = OrderedDict()


def _add(table, hook):
    handle = RemovableHandle(table)
    table[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook):
    """``hook(module, args) -> None or new args`` before every module's own forward pre-hooks."""
    return _add(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with ``with_kwargs``) before
    every module's own forward hooks; ``always_call`` runs it even when the forward raises."""
    handle = RemovableHandle(_global_forward_hooks,
                             _MarkRemover((_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called)))
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs.add(handle.id)
    if always_call:
        _global_forward_hooks_always_called.add(handle.id)
    return handle


def register_module_buffer_registration_hook(hook):
    """``hook(module, name, buffer) -> None or new buffer`` whenever a module registers a buffer."""
    return _add(_global_buffer_registration_hooks, hook)


def register_module_parameter_registration_hook(hook):
    """``hook(module, name, param) -> None or new parameter`` whenever a module registers a parameter."""
    return _add(_global_parameter_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    """``hook(module, name, submodule) -> None or new submodule`` whenever a module registers a child."""
    return _add(_global_module_registration_hooks, hook)


class _MarkRemover:
    """Lets a handle's ``remove()`` (which pops its id from dicts) also discard the id from mark sets."""

    def __init__(self, handle_sets):
        self._sets = handle_sets

    def pop(self, key, default=None):
        for s in self._sets:
            s.discard(key)
        return default


def run_registration_hooks(table, module, name, value):
    """The value a registration stores: what the last global hook returned that was not None."""
    if not table:                   # every registration passes here: no copy of an empty table
        return value
    for hook in list(table.values()):
        out = hook(module, name, value)
        if out is not None:
            value = out
    return value


class HookMixin:
    """The per-module hooks and ``__call__``, mixed into Module."""

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(h.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(h.id, last=False)
        return h

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        always = self.__dict__.setdefault("_forward_hooks_always_called", set())
        h = RemovableHandle(self._forward_hooks, _MarkRemover((self._forward_hooks_with_kwargs, always)))
        self._forward_hooks[h.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(h.id)
        if always_call:
            always.add(h.id)
        if prepend:
            self._forward_hooks.move_to_end(h.id, last=False)
        return h

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output) -> tuple or None`` once the gradients of the call's tensor
        arguments are computed (a returned tuple replaces them); see ``backward_hooks``."""
        return self._add_backward_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output) -> tuple or None`` once the gradients of the call's outputs are
        computed, before anything flows into the module (a returned tuple replaces them)."""
        return self._add_backward_hook("_backward_pre_hooks", hook, prepend)

    def _hook_table(self, table_name):
        table = self.__dict__.get(table_name)
        if table is None:           # a module made before these tables existed (an old pickle)
            table = OrderedDict()
            object.__setattr__(self, table_name, table)
        return table

    def _add_backward_hook(self, table_name, hook, prepend):
        table = self._hook_table(table_name)
        h = RemovableHandle(table)
        table[h.id] = hook
        if prepend:
            table.move_to_end(h.id, last=False)
        return h

    def __call__(self, *args, **kwargs):
        if _global_forward_pre_hooks or self._forward_pre_hooks:
            args, kwargs = self._run_forward_pre_hooks(args, kwargs)
        if not (_global_forward_hooks or self._forward_hooks or backward_hooks.hooks_active(self)):
            return self.forward(*args, **kwargs)       # the common case: no per-call bookkeeping
        hooks = [*_global_forward_hooks.items(), *self._forward_hooks.items()]
        called, out = set(), None
        try:
            call = None
            if backward_hooks.hooks_active(self):
                args, call = backward_hooks.wrap_inputs(self, args)
            out = self.forward(*args, **kwargs)
            for hid, hook in hooks:
                called.add(hid)
                res = self._run_forward_hook(hid, hook, args, kwargs, out)
                if res is not None:
                    out = res
            if call is not None:
                out = backward_hooks.wrap_outputs(call, out)
            return out
        except Exception:
            # the always_call hooks not yet run see the failed call (torch passes the output so far, None when
            # the forward itself raised); their own errors are silenced in favour of the original one
            always = self.__dict__.get("_forward_hooks_always_called", ())
            for hid, hook in hooks:
                if hid in called or not (hid in always or hid in _global_forward_hooks_always_called):
                    continue
                try:
                    res = self._run_forward_hook(hid, hook, args, kwargs, out)
                    if res is not None:
                        out = res
                except Exception as e:      # noqa: BLE001  (torch warns and re-raises the forward's error)
                    warnings.warn(f"{'global ' if hid in _global_forward_hooks else ''}module forward hook with "
                                  f"``always_call=True`` raised an exception that was silenced as another error "
                                  f"was raised in forward: {e}", stacklevel=2)
            raise

    def _run_forward_pre_hooks(self, args, kwargs):
        for hid, hook in [*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()]:
            if hid in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {res}.")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        return args, kwargs

    def _run_forward_hook(self, hid, hook, args, kwargs, out):
        if hid in self._forward_hooks_with_kwargs or hid in _global_forward_hooks_with_kwargs:
            return hook(self, args, kwargs, out)
        return hook(self, args, out)


__all__ = ["HookMixin", "RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_buffer_registration_hook", "register_module_parameter_registration_hook",
           "register_module_module_registration_hook"]
