"""state_dict / load_state_dict for :class:`Module` (torch's key names, metadata, hooks, extra state, messages and
return value).

Loading follows torch's walk (each module's load pre-hooks, then its ``_load_from_state_dict`` on the keys
under its prefix, then its children, then its post-hooks), but the copies (and ``set_extra_state``) are held
back until every module was checked: a load that fails on a value (a shape, a type) writes nothing, and so
does a strict load with missing or unexpected keys when no post-hook could still forgive them. Where torch
would have copied the good entries before raising, the module here stays as it was. The post-hooks run once
the copies are written, so they see the loaded values as torch's do; they run after the whole walk, in
torch's order among themselves (children before their parent).
"""
from __future__ import annotations

import collections
import contextvars
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..sparse import SparseTensor
from ..tensor import Tensor
from .module_hooks import RemovableHandle


class _IncompatibleKeys(collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _shape_str(shape):
    return f"torch.Size([{', '.join(str(int(s)) for s in shape)}])"


def _as_array(value, like):
    """A state_dict entry as an array on ``like``'s device (Tensors, NumPy/CuPy arrays, torch tensors)."""
    if isinstance(value, Tensor):
        data = value._data
    elif isinstance(value, np.ndarray) or backend.array_module(value) is not np:
        data = value
    elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        data = value.detach().cpu().numpy()
    else:
        data = np.asarray(value)
    return backend.to_device(data, backend.device_of(like))


_EXTRA_STATE_KEY_SUFFIX = "_extra_state"

# the copies a running load_state_dict holds back (None outside one: _load_from_state_dict called on its own
# copies at once, as torch's does)
_pending_writes = contextvars.ContextVar("pending_state_dict_writes", default=None)


def _overrides(module, method_name):
    """Whether ``module``'s class defines its own ``get_extra_state`` / ``set_extra_state``."""
    return getattr(type(module), method_name) is not getattr(StateDictMixin, method_name)


def _is_tensor_like(value):
    if isinstance(value, SparseTensor):
        return False
    return isinstance(value, (Tensor, np.ndarray, np.generic, int, float)) or hasattr(value, "__array__") or \
        hasattr(value, "shape")


def _hooks(module, table_name):
    return list(module.__dict__.get(table_name, {}).values())


class StateDictMixin:
    """Saving and loading of parameters, persistent buffers and extra state, mixed into Module."""

    # ---- extra state ---------------------------------------------------------------------------------
    def get_extra_state(self):
        """What a subclass returns here is stored under ``<prefix>_extra_state`` in the state_dict."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called. Please "
                           "file an issue at https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml "
                           "to report this bug.")

    def set_extra_state(self, state):
        """Receives the ``<prefix>_extra_state`` entry of a loaded state_dict (subclasses that define it)."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called. Please "
                           "file an issue at https://github.com/pytorch/pytorch/issues/new?template=bug-report.yml "
                           "to report this bug.")

    # ---- hook registration ---------------------------------------------------------------------------
    def _state_hook_table(self, table_name):
        table = self.__dict__.get(table_name)
        if table is None:           # a module made before these tables existed (an old pickle)
            table = OrderedDict()
            object.__setattr__(self, table_name, table)
        return table

    def _add_state_hook(self, table_name, entry):
        table = self._state_hook_table(table_name)
        handle = RemovableHandle(table)
        table[handle.id] = entry
        return handle

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` before this module's entries are written."""
        return self._add_state_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata) -> None``, after this module and its children;
        it may edit ``state_dict`` in place (returning anything else raises)."""
        return self._add_state_hook("_state_dict_hooks", (hook, True))

    def _register_state_dict_hook(self, hook):
        """torch's older private form: a returned dict replaces the result, when this is the root module."""
        return self._add_state_hook("_state_dict_hooks", (hook, False))

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before this module takes its entries (``state_dict`` is a copy it may edit)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        return self._add_state_hook("_load_state_dict_pre_hooks", (hook, with_module))

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys) -> None`` after this module and its children were loaded; editing
        ``incompatible_keys.missing_keys`` / ``.unexpected_keys`` in place changes what a strict load raises."""
        return self._add_state_hook("_load_state_dict_post_hooks", hook)

    # ---- saving --------------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if _overrides(self, "get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        if args:  # torch's deprecated positional form (destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        # each module's version under its prefix without the dot, which loading hands back as local_metadata
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in _hooks(self, "_state_dict_pre_hooks"):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook, public in _hooks(self, "_state_dict_hooks"):
            result = hook(self, destination, prefix, local_metadata)
            if result is not None:
                if public:
                    raise RuntimeError("state_dict post-hook must return None")
                destination = result
        return destination

    # ---- loading -------------------------------------------------------------------------------------
    def _optional_state_keys(self):
        """Local keys that may be absent from a state_dict without counting as missing."""
        return ()

    def _local_state(self):
        out = OrderedDict((k, p) for k, p in self._parameters.items() if p is not None)
        out.update((k, b) for k, b in self._buffers.items()
                   if b is not None and k not in self._non_persistent_buffers_set)
        return out

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        """Take this module's own entries (not its children's) from ``state_dict``, as torch's method of that
        name: check each, report what is missing, unexpected or wrong, then copy (or hold the copy back for
        the running ``load_state_dict``). Subclasses may override it to rename old keys."""
        for hook, with_module in _hooks(self, "_load_state_dict_pre_hooks"):
            args = (state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
            hook(self, *args) if with_module else hook(*args)
        local_state = self._local_state()
        # what a state_dict written before the module's version 2 may lack (BatchNorm's num_batches_tracked)
        optional = set(self._optional_state_keys()) if local_metadata.get("version", 1) < 2 else set()
        assign = local_metadata.get("assign_to_params_buffers", False)
        writes = []
        for name, t in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict and name not in optional:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not _is_tensor_like(value):
                error_msgs.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                  f'Tensor-like object from checkpoint but received {type(value)}')
                continue
            try:
                arr = _as_array(value, t._data)
            except (TypeError, ValueError) as e:
                error_msgs.append(f'While copying the parameter named "{key}": {e}')
                continue
            if t._data.ndim == 0 and arr.ndim == 1 and arr.shape[0] == 1:  # a scalar saved by torch 0.3
                arr = arr.reshape(())
            if tuple(arr.shape) != tuple(t.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {_shape_str(arr.shape)} "
                                  f"from checkpoint, the shape in current model is {_shape_str(t.shape)}.")
                continue
            writes.append((t, arr, assign))
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        extra = ()
        if _overrides(self, "set_extra_state"):
            if extra_key in state_dict:
                extra = ((self, state_dict[extra_key]),)
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            # a deeper key is this module's to judge only when it names no child (the child judges the rest)
            for key in state_dict:
                if not key.startswith(prefix) or key == extra_key:
                    continue
                head, dot, _ = key[len(prefix):].partition(".")
                if (head not in self._modules) if dot else (head not in local_state):
                    unexpected_keys.append(key)
        pending = _pending_writes.get()
        if pending is None:
            _write(writes, extra)
        else:
            pending.append((writes, extra))

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into this module's parameters and buffers, in place (see the module's docstring)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors, pending, post = [], [], [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)   # the hooks and overrides may edit the copy
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module, local_state_dict, prefix):
            local_metadata = dict(metadata.get(prefix[:-1], {})) if metadata is not None else {}
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing, unexpected,
                                         errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)},
                         child_prefix)
            post.extend((module, hook) for hook in _hooks(module, "_load_state_dict_post_hooks"))

        token = _pending_writes.set(pending)
        try:
            load(self, state_dict, "")
        finally:
            _pending_writes.reset(token)
        # torch's post-hooks see the loaded values, so the copies happen first, unless the load must fail
        # whatever the hooks do
        if not errors and not (strict and not post and (missing or unexpected)):
            for writes, extra in pending:
                _write(writes, extra)
        incompatible = _IncompatibleKeys(missing, unexpected)
        for module, hook in post:
            if hook(module, incompatible) is not None:
                raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not expected "
                                     "to return new values, if incompatible_keys need to be modified, it should be "
                                     "done inplace.")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)


def _write(writes, extra):
    for t, arr, assign in writes:
        if assign:
            t._data = arr.copy() if arr.dtype == t.dtype else arr.astype(t.dtype)
        else:
            t._data[...] = arr.astype(t._data.dtype, copy=False)
    for module, state in extra:
        module.set_extra_state(state)
