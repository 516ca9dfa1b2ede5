"""Tensor methods that need more than the Tensor itself: conversions (``to``, ``cpu``, ``double``, ...),
``new_*`` factories, and gradient hooks (``register_hook``, ``retain_grad``, ...). Bound here, in the ops
layer, the one place that binds Tensor methods."""
from __future__ import annotations

import builtins

from .. import backend, creation, dtypes
from ..graph.nodes import grad_node
from ..tensor import Tensor
from .basic import _to


def to(self, *args, **kwargs):
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``, ``copy=``, ``non_blocking=``."""
    dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, (str, backend.device)) and not _looks_like_dtype(a):
            dev = a
        else:
            dt = a
    return _to(self, None if dev is None else backend.as_device(dev), dtypes.as_dtype(dt), copy)


def cpu(self):
    return self.to("cpu")


def cuda(self, device=None):
    return self.to(backend.as_device("cuda" if device is None else device
                                     if not isinstance(device, builtins.int) else f"cuda:{device}"))


def double(self):
    return self.to(dtypes.float64)


def float(self):
    return self.to(dtypes.float32)


def half(self):
    return self.to(dtypes.float16)


def bfloat16(self):
    return self.to(dtypes.bfloat16)


def long(self):
    return self.to(dtypes.int64)


def int(self):
    return self.to(dtypes.int32)


def bool(self):
    return self.to(dtypes.bool)


def type_as(self, other):
    return self.to(other.dtype)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _new(self, fill, size, dtype, device, requires_grad):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return creation.full(size, fill, dtype=dtype or self.dtype, device=device or self.device,
                        requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new(0, size, dtype, device, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new(1, size, dtype, device, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return self._new(0, size, dtype, device, requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return self._new(fill_value, (tuple(size),), dtype, device, requires_grad)


def retain_grad(self):
    if self.is_leaf:
        return
    if self._retains_grad:
        return
    self._retains_grad = True
    me = self

    def _keep(g):
        if me.grad is None:
            me.grad = Tensor._wrap(g._data.copy())
        else:
            me.grad._data = me.grad._data + g._data

    _keep.retains_grad = True       # the engine runs it after the tensor's other hooks, whatever the order
    self.__dict__["_retain"] = (_keep, self._add_hook(_keep))


def retains_grad(self):
    return self._retains_grad


def _add_hook(self, fn):
    node = grad_node(self)
    if node.pre_hooks is None:
        node.pre_hooks = {}
    key = object()
    node.pre_hooks[key] = fn
    return _RemovableHook(node.pre_hooks, key)


def register_hook(self, hook):
    """``hook(grad) -> Tensor or None`` runs when the gradient of this tensor is computed."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    return self._add_hook(hook)


def register_post_accumulate_grad_hook(self, hook):
    """``hook(tensor)`` runs after backward accumulated into this leaf's ``.grad`` (as torch)."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not self.is_leaf:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    table = self.__dict__.setdefault("_post_acc_hooks", {})
    key = object()
    table[key] = hook
    return _RemovableHook(table, key)


class _RemovableHook:
    def __init__(self, table, key):
        self._table, self._key = table, key

    def remove(self):
        self._table.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _looks_like_dtype(a):
    if isinstance(a, backend.device):
        return False
    if isinstance(a, str):
        return a.split(":")[0] not in ("cpu", "cuda")
    return True


for _fn in (to, cpu, cuda, double, float, half, bfloat16, long, int, bool, type_as, new_tensor, _new, new_zeros, new_ones,
            new_empty, new_full, retain_grad, _add_hook, register_hook, register_post_accumulate_grad_hook):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.retains_grad = property(retains_grad)
