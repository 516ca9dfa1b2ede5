"""Custom differentiable ops, as ``torch.autograd.Function``: ``forward`` and ``backward`` take and return
Tensors, so a ``backward`` written with Tensor ops is itself differentiable (``create_graph=True``), unless
decorated with :func:`once_differentiable`."""
from __future__ import annotations

import functools

from . import grad_mode
from .graph import saved_hooks
from .graph.nodes import Node, OutputNode, check_saved, grad_node, saved_tensors
from .graph.record import packed_entry
from .graph.views import bump
from .tensor import Tensor
from . import dtypes as _dtypes


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: ``save_for_backward``, ``needs_input_grad``, ``mark_dirty``,
    ``mark_non_differentiable``, ``set_materialize_grads``, and any attribute."""

    def __init__(self):
        self._saved = None
        self._dirty = ()
        self._non_differentiable = ()
        self.materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self._saved = [None if t is None else _entry(t) for t in tensors]

    save_for_forward = save_for_backward

    @property
    def saved_tensors(self):
        if self._saved is None:
            return ()
        if self._saved == "freed":
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved tensors "
                               "after they have already been freed). Specify retain_graph=True if you need to backward "
                               "through the graph a second time.")
        entries = [e for e in self._saved if e is not None]
        check_saved(entries)
        unpacked = iter(saved_tensors(entries, Tensor._wrap))
        return tuple(None if e is None else next(unpacked) for e in self._saved)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class _ToPack:
    """A tensor saved under saved-tensor hooks: packed once forward has returned, as torch does, so that a
    saved output is packed as the recorded result."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor


def _entry(t):
    if saved_hooks.active():
        return _ToPack(t)
    c = t._counter()
    return (c, c[0], t, t._node, t._data)


def once_differentiable(backward):
    """Mark a ``backward`` that is not differentiable itself: it runs with grad mode off, and differentiating
    the gradients it returns (``create_graph=True``) raises an error instead of giving a wrong answer."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            result = backward(ctx, *grads)
        if not (grad_mode.is_grad_enabled() and any(isinstance(g, Tensor) and g.requires_grad for g in grads)):
            return result
        upstream = tuple(grad_node(g) for g in grads if isinstance(g, Tensor) and g.requires_grad)
        single = not isinstance(result, tuple)
        delayed = tuple(_delayed_error(r, upstream) for r in ((result,) if single else result))
        return delayed[0] if single else delayed

    return wrapper


def _refuse_twice(o, g):
    raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def _delayed_error(r, upstream):
    """torch's DelayedError: a gradient that raises only when it is differentiated."""
    if not isinstance(r, Tensor):
        return r
    t = Tensor._wrap(r._data)
    t._node, t.requires_grad = Node(_refuse_twice, upstream, "DelayedError"), True
    return t


class _OutputGrads:
    """The gradients of a multi-output Function's outputs, gathered by slot as the engine adds them up."""

    __slots__ = ("slots",)

    def __init__(self, slots):
        self.slots = slots

    def __add__(self, other):
        merged = dict(self.slots)
        for k, g in other.slots.items():
            merged[k] = merged[k] + g if k in merged else g
        return _OutputGrads(merged)


class Function:
    """A custom differentiable op, like ``torch.autograd.Function``::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):          # Tensors in (non-Tensor arguments pass through), Tensors out
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):      # one gradient (Tensor or None) per forward argument
                (x,) = ctx.saved_tensors
                return 3 * x * x * grad

        y = Cube.apply(t)

    ``forward`` may also be written without ``ctx`` together with ``setup_context(ctx, inputs, output)``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def _uses_setup_context(cls):
        return cls.setup_context is not Function.setup_context

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            if cls._uses_setup_context():
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not (grad_mode.is_grad_enabled() and any(ctx.needs_input_grad)):
            return out
        node = Node(_rule(cls, ctx, len(args), outs), [grad_node(a) if n else None for a, n in
                                                       zip(args, ctx.needs_input_grad)],
                    f"{cls.__name__}Backward", meta=[(a._data.shape, a._data.dtype) if n else None
                                                     for a, n in zip(args, ctx.needs_input_grad)])
        node.edges = tuple(isinstance(a, Tensor) for a in args)   # torch's edges: the Tensor arguments
        results = []
        for i, o in enumerate(outs):
            results.append(_link_output(ctx, node, o, i, len(outs)))
        _rebase_saved_outputs(ctx, outs, results)
        return results[0] if single else tuple(results)


def _link_output(ctx, node, out, index, count):
    """Give output ``index`` the Function's node (through a slot selector when it has several outputs)."""
    if not isinstance(out, Tensor):
        return out
    if any(out is t for t in ctx._non_differentiable) or (out._data.dtype.kind not in "fc" and out._data.dtype != _dtypes.bfloat16):
        return out
    if any(out is t for t in ctx._dirty):
        if out._node is None and out.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        target = out
    elif out._node is not None or out.requires_grad or out._view is not None:
        target = Tensor._wrap(out._data)   # an input returned as is, or a view: a new Tensor, as torch's
        target._ctr = out._counter()
    else:
        target = out
    if count == 1:
        target._node = node
    else:
        target._node = OutputNode(lambda o, g, _i=index: (_OutputGrads({_i: g}),), node, index)
    target.requires_grad = True
    if any(out is t for t in ctx._dirty):
        bump(target)
    return target


def _rebase_saved_outputs(ctx, outs, results):
    """A saved output is saved as the recorded result (its node joins the graph), as torch."""
    if not ctx._saved:
        return
    for k, e in enumerate(ctx._saved):
        if e is None:
            continue
        saved = e.tensor if type(e) is _ToPack else e[2]
        for o, r in zip(outs, results):
            if saved is o and isinstance(r, Tensor):
                saved = r
                if type(e) is not _ToPack:
                    c = r._counter()
                    ctx._saved[k] = (c, c[0], r, r._node, r._data)
        if type(e) is _ToPack:
            ctx._saved[k] = packed_entry(saved)


def _rule(cls, ctx, n_args, outs):
    shapes = [(o._data.shape, o._data.dtype, o) if isinstance(o, Tensor) else None for o in outs]

    def rule(o, g):
        if isinstance(g, _OutputGrads):
            grads = [g.slots.get(i) for i in range(len(shapes))]
        else:
            grads = [g]
        wrapped = []
        for gi, meta in zip(grads, shapes):
            if gi is None and ctx.materialize_grads and meta is not None:
                gi = o.zeros_like(meta[2]._data) if o is o.arrays else meta[2].new_zeros(meta[0])
            wrapped.append(gi if gi is None or isinstance(gi, Tensor) else Tensor._wrap(gi))
        with grad_mode.set_grad_enabled(grad_mode.is_grad_enabled() and o is not o.arrays):
            res = cls.backward(ctx, *wrapped)
        res = res if isinstance(res, tuple) else (res,)
        if len(res) != n_args:
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n_args}, got {len(res)})")
        if o is o.arrays:
            return tuple(r._data if isinstance(r, Tensor) else r for r in res)
        return res

    return rule
