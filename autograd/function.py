"""Graph nodes and the reverse-mode engine.

A graph node lives apart from the Tensor it produced: a Tensor only points at the node that made its
current value. An in-place op under grad mode writes the new value into the Tensor's storage and points the
Tensor at a new node whose input is the old one (for a view, its base gets the new node: see
:mod:`autograd.views`). A node's ``saved`` entries remember the version of every tensor its backward reads;
:func:`check_saved` raises torch's error when one was written in place since.

Backward functions work on raw arrays (NumPy or CuPy): ``backward_fn(grad) -> tuple`` with one entry per
input (an array, a :class:`SparseGrad`, or ``None``).
"""
from __future__ import annotations

import weakref

from . import backend, grad_mode


class SparseGrad:
    """A COO gradient flowing through the engine (from ``Embedding(sparse=True)``)."""

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices, values, shape):
        self.indices, self.values, self.shape = indices, values, tuple(shape)

    def __add__(self, other):
        if isinstance(other, SparseGrad):
            xp = _xp(self.values)
            return SparseGrad(xp.concatenate([self.indices, other.indices], axis=1),
                              xp.concatenate([self.values, other.values], axis=0), self.shape)
        return self.to_dense() + other

    __radd__ = __add__

    def to_dense(self):
        xp = _xp(self.values)
        out = xp.zeros(self.shape, dtype=self.values.dtype)
        idx = tuple(self.indices[i] for i in range(self.indices.shape[0]))
        if xp.__name__ == "numpy":
            xp.add.at(out, idx, self.values)
        else:  # pragma: no cover - GPU only
            xp.add.at(out, idx, self.values)
        return out


def _xp(arr):
    from .backend import array_module

    return array_module(arr)


class Node:
    """One recorded operation: how to turn the gradient of its output into gradients of its inputs."""

    __slots__ = ("backward_fn", "inputs", "name", "pre_hooks", "saved", "__weakref__")

    def __init__(self, backward_fn, inputs, name="Op"):
        self.backward_fn = backward_fn
        self.inputs = tuple(inputs)
        self.name = name
        self.pre_hooks = None
        self.saved = None  # ((counter, version, tensor, its node when saved), ...) checked before backward

    def name_(self):
        return self.name

    def __repr__(self):
        return f"<{self.name}Backward>"

    def apply(self, grad):
        if self.backward_fn is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Specify retain_graph=True if you need to backward through "
                "the graph a second time."
            )
        if self.saved:
            check_saved(self.saved)
        return self.backward_fn(grad)

    def release(self):
        self.backward_fn = None
        self.saved = None


def check_saved(saved):
    """torch's error when a tensor saved for backward was changed in place after it was saved."""
    for ctr, ver, t, node in saved:
        if ctr[0] != ver:
            from . import dtypes

            dev = "cuda." if getattr(t.device, "type", "cpu") == "cuda" else ""
            what = f"[torch.{dev}{dtypes.torch_name(t.dtype)}Tensor {list(t.shape)}]"
            if node is not None and not isinstance(node, AccumulateGrad):
                what += f", which is output 0 of {node.name},"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"{what} is at version {ctr[0]}; expected version {ver} instead. Hint: enable anomaly detection "
                f"to find the operation that failed to compute its gradient, with "
                f"torch.autograd.set_detect_anomaly(True, check_nan=False).")


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds incoming gradient into ``leaf.grad``."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        super().__init__(None, (), "AccumulateGrad")
        self.tensor = tensor

    def __repr__(self):
        return "<AccumulateGrad>"

    def release(self):
        pass


def _run_hooks(node, grad):
    if not node.pre_hooks:
        return grad
    from .tensor import Tensor

    for hook in list(node.pre_hooks.values()):
        wrapped = grad if isinstance(grad, SparseGrad) else Tensor._wrap(grad)
        res = hook(wrapped)
        if res is not None:
            grad = _hook_result(hook, wrapped, res)
    return grad


def _hook_result(hook, before, res):
    """torch's checks on what a tensor hook returned: a Tensor of the same shape and dtype."""
    from .tensor import Tensor, _typename

    if isinstance(before, SparseGrad):
        return res._data if isinstance(res, Tensor) else res
    if not isinstance(res, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{_typename(res)}'")
    name = getattr(hook, "__name__", type(hook).__name__)
    if res.shape != before.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if res.dtype != before.dtype:
        from . import dtypes

        raise RuntimeError(f"hook '{name}' has changed the type of value (was torch.{dtypes.torch_name(before.dtype)}"
                           f"Tensor got torch.{dtypes.torch_name(res.dtype)}Tensor)")
    return res._data


def _accumulate_into_leaf(node, grad):
    from .tensor import Tensor
    from .sparse import SparseTensor

    leaf = node.tensor
    if isinstance(grad, SparseGrad):
        new = SparseTensor(grad.indices, grad.values.astype(leaf.dtype, copy=False), grad.shape)
        leaf.grad = new if leaf.grad is None else leaf.grad + new
        return
    if grad.dtype != leaf._data.dtype:
        grad = grad.astype(leaf._data.dtype)
    if grad.shape != leaf._data.shape:
        grad = _xp(grad).broadcast_to(grad, leaf._data.shape)
    if leaf.grad is None:
        leaf.grad = _fresh_grad(leaf, grad)
    elif isinstance(leaf.grad, SparseTensor):
        leaf.grad = Tensor._wrap(leaf.grad.to_dense()._data + grad)
    else:
        leaf.grad._data += grad


def _fresh_grad(leaf, grad):
    """A new ``.grad`` for ``leaf``. An optimizer's gradient arena slot (``leaf._grad_slot``, see
    minitorch_optim/_core/flat.py) is used when nothing still references it (``slot.take`` copies the gradient
    in and returns the slot's array, or returns None); otherwise a new array, as torch allocates."""
    from .tensor import Tensor

    slot = leaf.__dict__.get("_grad_slot")
    if slot is not None:
        buf = slot.take(grad)
        if buf is not None:
            return Tensor._wrap(buf)
    return Tensor._wrap(_xp(grad).array(grad, copy=True))


def _topo(roots):
    """Dependency counts of every node reachable from ``roots``."""
    deps = {}
    stack = [r for r in roots if r is not None]
    seen = set(map(id, stack))
    order = list(stack)
    while stack:
        node = stack.pop()
        for nxt in node.inputs:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
                order.append(nxt)
    return deps


def _run_post_accumulate_hooks(leaf):
    hooks = leaf.__dict__.get("_post_acc_hooks")
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)


_final_callbacks = None  # a list while a backward runs: torch's ``queue_callback``


def queue_callback(fn):
    """Run ``fn()`` once the running backward has finished (torch's
    ``Variable._execution_engine.queue_callback``); only valid during a backward."""
    if _final_callbacks is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks.append(fn)


def run_backward(roots, grads, retain_graph=False, capture=None):
    """Propagate ``grads`` from ``roots`` through the graph, then run the queued final callbacks.

    With ``capture`` (a dict node -> None) the gradients reaching those nodes are returned instead of being
    accumulated into leaves (``autograd.grad``).
    """
    global _final_callbacks
    outer, _final_callbacks = _final_callbacks, []
    try:
        out = _run_backward(roots, grads, retain_graph, capture)
        while _final_callbacks:
            _final_callbacks.pop(0)()
        return out
    finally:
        _final_callbacks = outer


def _run_backward(roots, grads, retain_graph, capture):
    deps = _topo(roots)
    pending = {}
    for r, g in zip(roots, grads):
        if r is not None:
            pending[r] = pending[r] + g if r in pending else g
    ready = [r for r in dict.fromkeys(roots) if r is not None and deps.get(r, 0) == 0]
    visited = []
    with grad_mode.no_grad():
        while ready:
            node = ready.pop()
            grad = pending.pop(node, None)
            if grad is not None:
                if not isinstance(grad, SparseGrad):
                    backend.use_device_of(grad)     # run this node's backward on its gradient's GPU
                grad = _run_hooks(node, grad)
            if capture is not None and node in capture:
                capture[node] = grad
            if isinstance(node, AccumulateGrad):
                if capture is None and grad is not None:
                    _accumulate_into_leaf(node, grad)
                    _run_post_accumulate_hooks(node.tensor)
                continue
            outs = node.apply(grad) if grad is not None else (None,) * len(node.inputs)
            visited.append(node)
            for nxt, g in zip(node.inputs, outs):
                if nxt is None:
                    continue
                if g is not None:
                    pending[nxt] = pending[nxt] + g if nxt in pending else g
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    if not retain_graph:
        for node in visited:
            node.release()
    return capture


# ---- public entry points ------------------------------------------------------------------------------
def _grad_array(t, g):
    from .tensor import Tensor

    if g is None:
        if t._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return _xp(t._data).ones_like(t._data)
    g = g._data if isinstance(g, Tensor) else _xp(t._data).asarray(g)
    if g.shape != t._data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(g.shape)} and output[0] "
                           f"has a shape of {tuple(t._data.shape)}.")
    return g.astype(t._data.dtype, copy=False)


def _check_roots(tensors):
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the leaves (``torch.autograd.backward``)."""
    from .tensor import Tensor

    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported: backward "
                                  "functions run on raw arrays")
    if isinstance(tensors, Tensor):
        tensors = [tensors]
        grad_tensors = [grad_tensors]
    elif grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    _check_roots(tensors)
    grads = [_grad_array(t, g) for t, g in zip(tensors, grad_tensors)]
    roots = [t._grad_node() for t in tensors]
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        cap = run_backward(roots, grads, bool(retain_graph), {i._grad_node(): None for i in inputs})
        for i in inputs:
            g = cap[i._grad_node()]
            if g is not None:
                _accumulate_into_leaf(AccumulateGrad(i), g)
        return
    run_backward(roots, grads, bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned rather than accumulated (``torch.autograd.grad``)."""
    from .tensor import Tensor

    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    _check_roots(outputs)
    for i in inputs:
        if not i.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = [_grad_array(t, g) for t, g in zip(outputs, grad_outputs)]
    cap = run_backward([t._grad_node() for t in outputs], grads, bool(retain_graph),
                       {i._grad_node(): None for i in inputs})
    result = []
    for i in inputs:
        g = cap[i._grad_node()]
        if g is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                               "Set allow_unused=True if this is the desired behavior.")
        result.append(None if g is None else Tensor._wrap(g))
    return tuple(result)



class FunctionCtx:
    """What ``Function.forward`` saves for ``backward`` (``ctx.save_for_backward``, any attributes)."""

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """A custom differentiable op written on raw arrays, like ``torch.autograd.Function``::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):          # x: NumPy/CuPy array (non-Tensor arguments pass through)
                ctx.save_for_backward(x)
                return x ** 3
            @staticmethod
            def backward(ctx, g):         # one gradient (array or None) per forward argument
                (x,) = ctx.saved_tensors
                return 3 * x * x * g

        y = Cube.apply(t)
    """

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        from .ops.basic import record
        from .tensor import Tensor

        ctx = FunctionCtx()
        with grad_mode.no_grad():
            out = cls.forward(ctx, *[a._data if isinstance(a, Tensor) else a for a in args])
        out = out._data if isinstance(out, Tensor) else out

        def bw(g):
            res = cls.backward(ctx, g)
            res = res if isinstance(res, tuple) else (res,)
            if len(res) != len(args):
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                                   f"(expected {len(args)}, got {len(res)})")
            return tuple(r._data if isinstance(r, Tensor) else r for r in res)

        return record(out, args, bw, cls.__name__)
