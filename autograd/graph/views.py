"""Views, in-place writes and version counters, with torch's semantics.

* A view (``view``/``reshape`` when it can, ``t``, ``transpose``, ``permute``, ``unsqueeze``, ``squeeze``,
  ``flatten``, ``expand``, basic indexing, ``narrow``, ``diagonal``, ...) holds an array that is a view of
  its base's array, so writes through either are seen by both, in grad mode too. It remembers its root
  base and how it was taken (:class:`ViewInfo`).
* Every storage has a version counter (a one-element list shared by a tensor, its views, ``.detach()``
  and ``.data``), bumped by every in-place write. Graph nodes remember the versions of the tensors their
  backward needs; backward raises torch's error when one changed.
* An in-place op recorded on a view rewrites its base's history (torch's CopySlices): the base's new node
  sends the gradient of the written region through the op and the rest straight to the base's old node;
  the view (and any other view of that base, lazily, when next used) becomes a view of the new base.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from .. import backend, grad_mode
from ..tensor import Tensor
from .nodes import Node, grad_node
from .record import record, refresh
from .. import dtypes as _dtypes


class ViewInfo:
    """How a view was taken: ``base`` (root tensor), ``fn`` (base array -> view array), ``bw`` (``bw(o, g)``:
    gradient of the view -> gradient of the base, in the op vocabulary ``o``), ``ver`` (the counter value when the view's node was last valid),
    ``multi`` (name of the multi-output op that made it, or None), ``nograd`` (made in no_grad mode)."""

    __slots__ = ("base", "fn", "bw", "ver", "multi", "nograd")

    def __init__(self, base, fn, bw, ver, multi, nograd):
        self.base, self.fn, self.bw, self.ver, self.multi, self.nograd = base, fn, bw, ver, multi, nograd

    def sync(self, view):
        """Bring ``view``'s node up to date with its base's storage (see :func:`refresh`)."""
        refresh(view)


def bump(t):
    """One in-place write to ``t``'s storage."""
    c = t._ctr
    if c is None:
        c = t._ctr = [0]
    c[0] += 1


def increment_version(tensors):
    """Record that ``tensors`` (a Tensor or an iterable of them) were written in place behind autograd's back
    (e.g. by an optimizer kernel working on the raw arrays), as ``torch.autograd.graph.increment_version``:
    a graph that saved them will refuse to backward through the old values."""
    if isinstance(tensors, Tensor):
        bump(tensors)
        return
    for t in tensors:
        if isinstance(t, Tensor):
            bump(t)


def _is_view_of(out, src):
    if isinstance(out, np.ndarray):
        ob = out.base
        return ob is not None and (ob is src or (src.base is not None and ob is src.base))
    xp = backend.array_module(out)  # pragma: no cover - GPU only
    return out is not src and bool(xp.may_share_memory(out, src))


def make_view(x, out, fwd, bw1, name, always=False, multi=None):
    """The Tensor for ``out = fwd(x._data)``; a view of ``x`` when ``always`` or ``out`` shares its memory.

    ``bw1(o, g)`` maps the gradient of the result to the gradient of ``x`` (the op's backward rule).
    """
    t = record(out, (x,), lambda o, g: (bw1(o, g),), name, saved=())
    if always or _is_view_of(out, x._data):
        xi = x._view
        c = x._counter()
        if xi is None:
            info = ViewInfo(x, fwd, bw1, c[0], multi, not grad_mode.is_grad_enabled())
        else:
            f0, b0 = xi.fn, xi.bw
            info = ViewInfo(xi.base, lambda a: fwd(f0(a)), lambda o, g: b0(o, bw1(o, g)), c[0], multi or xi.multi,
                            xi.nograd or not grad_mode.is_grad_enabled())
        t._ctr = c
        t._view = info
        base = info.base
        if not base.requires_grad and (out.dtype.kind in "fc" or out.dtype == _dtypes.bfloat16):
            # if the base comes to require grad by an in-place op, this view must say so too (as torch)
            vs = base.__dict__.get("_plain_views")
            if vs is None:
                vs = base.__dict__["_plain_views"] = weakref.WeakSet()
            vs.add(t)
    return t


def _positions(info):
    """Flat (C-order) positions in the base of every element of the view."""
    base = info.base._data
    xp = backend.array_module(base)
    return info.fn(xp.arange(base.size).reshape(base.shape))


def _copy_slices(info, result_node):
    """The base's new node after an in-place op on a view (torch's CopySlices)."""
    base = info.base
    pos = _positions(info)
    xp = backend.array_module(pos)
    written = xp.zeros(base._data.size, dtype=bool)
    written[pos.reshape(-1)] = True
    written = written.reshape(base._data.shape)
    old = grad_node(base) if base.requires_grad else None

    def rule(o, g):
        return o.where(written, 0, g), o.take(g, pos)

    return Node(rule, (old, result_node), "CopySlices")


def _overlapping(a):
    st = a.strides
    return 0 in st and any(s == 0 and n > 1 for s, n in zip(st, a.shape))


def check_writable(self):
    if _overlapping(self._data):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")


def _check_view_inplace(self, info):
    base = info.base
    if info.multi is not None:
        raise RuntimeError(f"Output 0 of {info.multi} is a view and is being modified inplace. This view is the "
                           "output of a function that returns multiple views. Such functions do not allow the "
                           "output views to be modified inplace. You should replace the inplace operation by an "
                           "out-of-place one.")
    if info.nograd and base.requires_grad:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace with grad mode "
                           "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You "
                           "can clarify your code by moving both the view and the inplace either both inside the "
                           "no_grad block (if you don't want the inplace to be tracked) or both outside (if you "
                           "want the inplace to be tracked).")
    if base.requires_grad and base._node is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")


def write(self, result):
    """Write ``result`` (a Tensor broadcastable to ``self``) into ``self``'s storage as an in-place op, and
    record it when ``result`` carries a graph node."""
    node = result._node
    info = self._view
    if node is not None:
        if info is not None:
            _check_view_inplace(self, info)
        elif self.requires_grad and self._node is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    elif grad_mode.is_grad_enabled():
        if info is None:
            if self.requires_grad and self._node is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        elif info.nograd and info.base.requires_grad:
            _check_view_inplace(self, info)
    dst = self._data
    out = result._data
    if out.shape != dst.shape:
        try:
            bshape = np.broadcast_shapes(out.shape, dst.shape)
        except ValueError:
            bshape = out.shape
        if bshape != dst.shape:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(bshape)}")
    if info is not None:
        check_writable(self)
    if _overlapping(dst) or (isinstance(dst, np.ndarray) and not dst.flags.writeable):
        # not a view but a broadcast/read-only array an op produced: give it storage of its own (checked by
        # strides, not flags: CuPy arrays have no flags.writeable)
        if info is not None:
            raise ValueError("assignment destination is read-only")
        dst = self._data = dst.copy()
    if out is not dst:
        dst[...] = out
    c = self._ctr
    if c is None:
        c = self._ctr = [0]
    c[0] += 1
    if node is None:
        return self
    if node.saved:
        node.saved = tuple((c, c[0], self, e[3], self._data) if type(e) is tuple and e[2] is result else e
                           for e in node.saved)
    if info is None:
        self._node = node
        self.requires_grad = True
        if self.__dict__:
            _wake_views(self)
            _move_retain(self, True)
        return self
    base = info.base
    base._node = _copy_slices(info, node)
    base.requires_grad = True
    info.ver = -1
    refresh(self)
    if base.__dict__:
        _wake_views(base)
        _move_retain(base, True)
    if self.__dict__:
        _move_retain(self, False)  # torch drops a modified view's retained gradient
    return self


def _move_retain(t, keep):
    """``retain_grad()`` follows the tensor to its new node (hooks from ``register_hook`` stay, as torch)."""
    r = t.__dict__.pop("_retain", None)
    if r is None:
        return
    fn, handle = r
    handle.remove()
    if keep:
        t.__dict__["_retain"] = (fn, t._add_hook(fn))


def _wake_views(base):
    """The views taken while ``base`` did not require grad now do (their nodes follow lazily)."""
    vs = base.__dict__.pop("_plain_views", None)
    if vs:
        for v in list(vs):
            refresh(v)


def check_overlap(self, args):
    """torch refuses an in-place op whose input partly overlaps the written tensor (a full overlap, the
    same elements in the same layout, is fine)."""
    c = self._ctr
    if c is None:
        return
    for a in args:
        if isinstance(a, Tensor) and a._ctr is c and a is not self and _partial_overlap(a._data, self._data):
            raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to tensor "
                               "refer to a single memory location. Please clone() the tensor before performing the "
                               "operation.")


def _partial_overlap(a, b):
    if a.shape == b.shape and a.strides == b.strides and _ptr(a) == _ptr(b):
        return False
    if isinstance(a, np.ndarray):
        try:
            return bool(np.shares_memory(a, b, max_work=10 ** 5))
        except Exception:  # too hard to decide: torch gives up without an error too  # noqa: BLE001
            return False
    return bool(backend.array_module(a).may_share_memory(a, b))  # pragma: no cover - GPU only


def _ptr(a):
    return a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr


def protect(self, args):
    """Before a recorded in-place op: a stand-in for ``self`` holding a copy of its value (same graph node),
    so the op's backward keeps the old value that the write is about to overwrite; ``args`` with ``self``
    replaced by it. Returns ``(self, args)`` unchanged when nothing will be recorded. Also refuses inputs
    that partly overlap ``self`` (:func:`check_overlap`)."""
    check_overlap(self, args)
    if not grad_mode.is_grad_enabled():
        return self, args
    if self._view is not None:
        refresh(self)
    if not (self.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)):
        return self, args
    if _cow_on():
        return self, args
    s = Tensor._wrap(self._data.copy())
    if self.requires_grad:
        s.requires_grad = True
        s._node = grad_node(self)
    return s, tuple(s if a is self else a for a in args)


_cow = threading.local()


def _cow_on():
    return getattr(_cow, "on", False)


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
