"""state_dict / load_state_dict for :class:`Module` (torch's key names, messages and return value)."""
from __future__ import annotations

import collections
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..sparse import SparseTensor
from ..tensor import Tensor


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


class StateDictMixin:
    """Saving and loading of parameters and persistent buffers, mixed into Module."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        if args:  # torch's deprecated positional form (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _optional_state_keys(self):
        """Local keys that may be absent from a state_dict without counting as missing."""
        return ()

    def _local_state(self):
        out = OrderedDict((k, p) for k, p in self._parameters.items() if p is not None)
        out.update((k, b) for k, b in self._buffers.items()
                   if b is not None and k not in self._non_persistent_buffers_set)
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values into this module's parameters and buffers, in place.

        Every key and shape is checked before anything is written, so on error the module is unchanged.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        expected, missing, errors, plan = set(), [], [], []
        for mprefix, m in self.named_modules(remove_duplicate=False):
            pre = mprefix + "." if mprefix else ""
            optional = set(m._optional_state_keys())
            if metadata is not None and metadata.get(mprefix, {}).get("version", 1) >= 2:
                optional = set()
            for name, t in m._local_state().items():
                key = pre + name
                expected.add(key)
                if key not in state_dict:
                    if name not in optional:
                        missing.append(key)
                    continue
                value = state_dict[key]
                if isinstance(value, SparseTensor) or not (
                        isinstance(value, (Tensor, np.ndarray, np.generic, int, float))
                        or hasattr(value, "__array__") or hasattr(value, "shape")):
                    errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                  f'Tensor-like object from checkpoint but received {type(value)}')
                    continue
                try:
                    arr = _as_array(value, t._data)
                except (TypeError, ValueError) as e:
                    errors.append(f'While copying the parameter named "{key}": {e}')
                    continue
                if t._data.ndim == 0 and arr.ndim == 1 and arr.shape[0] == 1:
                    arr = arr.reshape(())
                if tuple(arr.shape) != tuple(t.shape):
                    errors.append(f"size mismatch for {key}: copying a param with shape {_shape_str(arr.shape)} "
                                  f"from checkpoint, the shape in current model is {_shape_str(t.shape)}.")
                    continue
                plan.append((t, arr))
        unexpected = [k for k in state_dict if k not in expected]
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        for t, arr in plan:
            if assign:
                t._data = arr.copy() if arr.dtype == t.dtype else arr.astype(t.dtype)
            else:
                t._data[...] = arr.astype(t._data.dtype, copy=False)
        return _IncompatibleKeys(missing, unexpected)
