"""Recording helpers shared by every op: operand coercion, broadcasting, graph recording, in-place."""
from __future__ import annotations

import numbers
import numpy as np

from .. import backend, dtypes, grad_mode
from ..graph import views as _views
from ..graph.record import OUT, needs, record, record_once_differentiable  # noqa: F401  (re-exported for the ops)
from ..graph.views import _cow, copy_on_write, write  # noqa: F401
from ..tensor import Tensor
from . import cascade_sum as _cascade


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
    # one sum over the leading dims and the broadcast ones, as torch's sum_to (a 16-bit gradient is rounded
    # once); a gradient narrower than ``shape`` in some dim comes back so, for the caller to expand
    lead = g.ndim - len(shape)
    if lead < 0:
        return g
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if not axes:
        return g
    if g.dtype.itemsize == 2 and g.dtype in dtypes.LOW_PRECISION:
        g = _cascade.sum16(g, axes, keepdim=True)
    else:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(g.shape[lead:])


def check_cast(result_dtype, out_dtype):
    """torch refuses in-place results that would need a cast to a lower category (float into int)."""
    if dtypes.category(result_dtype) > dtypes.category(out_dtype):
        raise RuntimeError(f"result type {dtypes.torch_name(result_dtype)} can't be cast to the desired output "
                           f"type {dtypes.torch_name(out_dtype)}")


def inplace(self, result):
    """Make ``self`` hold ``result``'s value, as an in-place op: the value is written into ``self``'s storage
    (its views and aliases see it, its version counter is bumped) and, when ``result`` was recorded, ``self``
    (or, for a view, its base) takes the new graph node (see :mod:`autograd.graph.views`).

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
            result = result.expand(self.shape)
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
    rule = (lambda o, g: (o.to_device(g, src),)) if moved else _same_grad   # the engine casts to t's dtype
    return record(data, (t,), rule, "ToCopy", saved=())


def _same_grad(o, g):
    return (g,)


def register(*names):
    """Attach a function as Tensor method(s)."""

    def deco(fn):
        for n in names:
            setattr(Tensor, n, fn)
        return fn

    return deco

