"""Recording helpers shared by every op: operand coercion, broadcasting, graph recording, in-place."""
from __future__ import annotations

import numbers
import threading

import numpy as np

from .. import backend, dtypes, grad_mode
from .. import views as _views
from ..function import Node
from ..tensor import Tensor
from ..views import refresh, write


OUT = object()  # in ``saved``: the op's backward uses its own output


def record(out, parents, backward_fn, name, saved=None):
    """Wrap ``out`` in a Tensor and, under grad mode, link it to the parents that require grad.

    ``saved``: the tensors (parents, or :data:`OUT` for the result) whose values ``backward_fn`` uses; their
    versions are checked before it runs (torch's "modified by an inplace operation" error). Default: every
    Tensor parent.
    """
    if isinstance(out, np.generic):  # NumPy turns 0-d results into scalars; keep arrays everywhere
        out = np.asarray(out)
    t = Tensor._wrap(out)
    if out.dtype.kind in "fc" and grad_mode.is_grad_enabled():  # integer/bool results never require grad
        inputs = None
        for i, p in enumerate(parents):
            if isinstance(p, Tensor):
                if p._view is not None:
                    refresh(p)
                if p.requires_grad:
                    if inputs is None:
                        inputs = [None] * len(parents)
                    inputs[i] = p._node or p._grad_node()
        if inputs is not None:
            t.requires_grad = True
            node = t._node = Node(backward_fn, inputs, name)
            if saved is None:
                saved = parents
            if saved:
                entries = []
                for s in saved:
                    if s is OUT:
                        c = t._ctr = [0]
                        entries.append((c, 0, t, node))
                    elif isinstance(s, Tensor):
                        c = s._ctr
                        if c is None:
                            c = s._ctr = [0]
                        entries.append((c, c[0], s, s._node))
                if entries:
                    node.saved = entries
    return t


def needs(parents):
    """Which parents need a gradient (lets expensive backward functions skip work)."""
    return tuple(isinstance(p, Tensor) and p.requires_grad for p in parents)


def check_same_device(*ts):
    if backend._cupy is None:  # CuPy never loaded: everything is on the CPU
        return
    devs = {t.device for t in ts if isinstance(t, Tensor)}
    if len(devs) > 1:
        a, b = sorted(map(str, devs))[:2]
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a} and {b}!")


def arr(x, like=None):
    """The raw array (or Python scalar) behind an operand."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (numbers.Number, np.generic)):
        return x
    if like is not None:
        return backend.array_module(like).asarray(x)
    return np.asarray(x)


def result_dtype(*operands):
    """torch's type promotion (see :func:`autograd.dtypes.result_type`)."""
    return dtypes.result_type(*operands)


def cast_operands(operands, dt):
    """Raw arrays of ``operands`` in dtype ``dt`` (Python scalars stay scalars: NumPy treats them weakly)."""
    out = []
    for o in operands:
        o = o._data if isinstance(o, Tensor) else o
        if hasattr(o, "dtype") and not isinstance(o, np.generic) and o.dtype != dt:
            o = o.astype(dt)
        elif isinstance(o, np.generic):
            o = o.item()
        out.append(o)
    return out


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape`` (reverse of broadcasting)."""
    if g.shape == tuple(shape):
        return g
    nd = g.ndim - len(shape)
    if nd > 0:
        g = g.sum(axis=tuple(range(nd)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def check_cast(result_dtype, out_dtype):
    """torch refuses in-place results that would need a cast to a lower category (float into int)."""
    if dtypes.category(result_dtype) > dtypes.category(out_dtype):
        raise RuntimeError(f"result type {dtypes.torch_name(result_dtype)} can't be cast to the desired output "
                           f"type {dtypes.torch_name(out_dtype)}")


def inplace(self, result):
    """Make ``self`` hold ``result``'s value, as an in-place op: the value is written into ``self``'s storage
    (its views and aliases see it, its version counter is bumped) and, when ``result`` was recorded, ``self``
    (or, for a view, its base) takes the new graph node (see :mod:`autograd.views`).

    Inside :class:`copy_on_write` the tensor is rebound to a new array instead (with a new version counter),
    so arrays saved by earlier graph nodes stay intact.
    """
    if not isinstance(self, Tensor):
        raise TypeError(f"in-place operation needs a Tensor, got {type(self).__name__}")
    check_cast(result.dtype, self.dtype)
    if getattr(_cow, "on", False):
        return _inplace_cow(self, result)
    return write(self, result)


def _inplace_cow(self, result):
    if result._node is not None:
        if self.is_leaf and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if result.shape != self.shape:
            try:
                ok = np.broadcast_shapes(result.shape, self.shape) == self.shape
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                                   f"{list(result.shape)}")
            from .shape import expand

            result = expand(result, self.shape)
        if result.dtype != self.dtype:
            result = result.to(self.dtype)
        data = result._data
        if _views._overlapping(data) or not getattr(data.flags, "writeable", True):
            data = data.copy()
        self._data = data
        self._node = result._node
        self.requires_grad = True
        self._ctr = None
        self._view = None
        return self
    if self.is_leaf and self.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    out = result._data
    if out.shape != self._data.shape:
        xp = backend.array_module(out)
        try:
            out = xp.broadcast_to(out, self._data.shape)
        except ValueError:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}") from None
    # copy-on-write: an earlier graph node may have saved self's array; leave it intact
    if out is self._data or not getattr(out, "flags", None) or not out.flags.owndata or out.dtype != self.dtype:
        out = out.astype(self.dtype, copy=True)
    self._data = out
    self._ctr = None
    self._view = None
    return self


_cow = threading.local()
_views._record = record


class copy_on_write:
    """Within this block, in-place ops that are not recorded rebind the tensor to a new array instead of
    writing into its storage, so arrays saved for backward by earlier graph nodes stay intact (torch would
    raise "modified by an inplace operation" there). ``differentiable=True`` optimizer steps run under it."""

    def __enter__(self):
        self._prev = getattr(_cow, "on", False)
        _cow.on = True
        return self

    def __exit__(self, *exc):
        _cow.on = self._prev
        return False


def _to(t, dev, dt, copy):
    data = t._data
    src = backend.device_of(data)
    moved = dev is not None and dev != src
    if moved:
        data = backend.to_device(data, dev)
    if dt is not None and dt != data.dtype:
        data = data.astype(dt)
        casted = True
    else:
        casted = False
    if not moved and not casted:
        if not copy:
            return t
        data = data.copy()
    src_dtype = t.dtype

    def bw(g):
        g = backend.to_device(g, src) if moved else g
        return (g.astype(src_dtype, copy=False),)

    return record(data, (t,), bw, "ToCopy", saved=())


def register(*names):
    """Attach a function as Tensor method(s)."""

    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn

    return deco
