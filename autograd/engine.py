"""The reverse-mode engine: run the recorded graph backwards, run hooks, accumulate into leaves.

The engine is given the op vocabulary to run the backward rules with (see :mod:`autograd.graph.nodes`):
arrays for a first-order backward; Tensors with grad mode on for ``create_graph=True``, where every rule is
itself recorded so the gradients it returns can be differentiated again.

Gradient allocator: before it allocates a leaf's first gradient, the engine asks the allocator registered
for that leaf with :func:`set_grad_allocator` (``allocator.take(grad) -> array or None``: copy ``grad`` into
storage of its own and return it, or decline). ``minitorch_optim`` registers one per parameter so that
gradients land in one contiguous arena its kernels read; an allocator must decline while anything still
references the storage it would hand out, since a gradient a user kept must never be overwritten.
"""
from __future__ import annotations

from . import backend, grad_mode
from .graph.nodes import AccumulateGrad, SparseGrad, check_saved, saved_arrays, saved_tensors
from .sparse import SparseTensor
from .tensor import Tensor, _typename

_ALLOCATOR = "_grad_allocator"


def set_grad_allocator(leaf, allocator):
    """Register ``allocator`` (or None to remove it) for the fresh gradients of ``leaf``."""
    if allocator is None:
        leaf.__dict__.pop(_ALLOCATOR, None)
    else:
        leaf.__dict__[_ALLOCATOR] = allocator


def get_grad_allocator(leaf):
    return leaf.__dict__.get(_ALLOCATOR)


_final_callbacks = None  # a list while a backward runs: torch's ``queue_callback``


def queue_callback(fn):
    """Run ``fn()`` once the running backward has finished (torch's
    ``Variable._execution_engine.queue_callback``); only valid during a backward."""
    if _final_callbacks is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks.append(fn)


def run_backward(roots, grads, retain_graph, vocab, create_graph=False, capture=None):
    """Propagate ``grads`` (arrays, or Tensors with ``create_graph``) from the nodes ``roots`` through the
    graph with the rules run in ``vocab``, then run the queued final callbacks.

    With ``capture`` (a dict node -> None) the gradients reaching those nodes are returned in it instead of
    being accumulated into leaves (``autograd.grad``).
    """
    global _final_callbacks
    outer, _final_callbacks = _final_callbacks, []
    _capturing.append(capture is not None)
    try:
        with grad_mode.set_grad_enabled(create_graph):
            out = _propagate(roots, grads, retain_graph, vocab, create_graph, capture)
        while _final_callbacks:
            _final_callbacks.pop(0)()
        return out
    finally:
        _final_callbacks = outer
        _capturing.pop()


# one entry per backward pass in progress, innermost last: whether it returns its gradients (``grad``,
# ``backward(inputs=...)``) rather than accumulating them into every leaf
_capturing: list = []


def is_checkpoint_valid():
    """False inside a backward pass that captures its gradients, where a reentrant checkpoint, which
    accumulates into leaves, would be wrong (torch's ``torch.autograd._is_checkpoint_valid``)."""
    return not (_capturing and _capturing[-1])


def _dependencies(roots):
    """How many edges lead into each node reachable from ``roots``."""
    deps = {}
    stack = [r for r in roots if r is not None]
    seen = set(map(id, stack))
    while stack:
        node = stack.pop()
        for nxt in node.inputs:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if id(nxt) not in seen:
                seen.add(id(nxt))
                stack.append(nxt)
    return deps


def _propagate(roots, grads, retain_graph, vocab, create_graph, capture):
    deps = _dependencies(roots)
    pending = {}
    owned = set()   # nodes whose pending gradient is a sum this loop allocated: nothing else can hold it
    for r, g in zip(roots, grads):
        if r is not None:
            pending[r] = pending[r] + g if r in pending else g
    ready = [r for r in dict.fromkeys(roots) if r is not None and deps.get(r, 0) == 0]
    visited = []
    while ready:
        node = ready.pop()
        grad = pending.pop(node, None)
        owned.discard(node)
        if grad is not None:
            if not create_graph and not isinstance(grad, SparseGrad):
                backend.use_device_of(grad)     # run this node's backward on its gradient's GPU
            if node.pre_hooks:      # as torch: a retained .grad is stored after the tensor's other hooks,
                grad = _run_hooks(node, grad, create_graph, retains=False)     # before the node's pre-hooks
                _run_hooks(node, grad, create_graph, retains=True)
            if node.hooks is not None and node.hooks.pre:
                grad = _run_node_prehooks(node, grad, create_graph)
        if capture is not None and node in capture:
            capture[node] = grad
        if isinstance(node, AccumulateGrad):
            if capture is None and grad is not None:
                _accumulate_into_leaf(node.tensor, grad, vocab, create_graph)
                _run_post_accumulate_hooks(node.tensor)
            if grad is not None and node.hooks is not None and node.hooks.post:
                _run_node_posthooks(node, (), grad, create_graph)
            continue
        outs = _apply(node, grad, vocab, create_graph) if grad is not None else (None,) * len(node.inputs)
        if grad is not None and node.hooks is not None and node.hooks.post:
            outs = _run_node_posthooks(node, outs, grad, create_graph)
        visited.append(node)
        for nxt, g in zip(node.inputs, outs):
            if nxt is None:
                continue
            if g is not None:
                if nxt not in pending:
                    pending[nxt] = g
                elif nxt in owned and _adds_in_place(pending[nxt], g):
                    pending[nxt] += g           # the same sum, without a new buffer per contribution
                else:
                    pending[nxt] = pending[nxt] + g
                    if not create_graph:
                        owned.add(nxt)
            deps[nxt] -= 1
            if deps[nxt] == 0:
                ready.append(nxt)
    if not retain_graph:
        for node in visited:
            node.release()
    return capture


def _adds_in_place(acc, g):
    """Whether ``acc += g`` gives ``acc + g``: NumPy/CuPy arrays of the sum's shape and dtype (not sparse
    gradients, multi-output gradient packs or Tensors)."""
    return (type(acc) is type(g) and type(acc).__name__ == "ndarray" and acc.shape == g.shape
            and acc.dtype == g.dtype)


def _apply(node, grad, vocab, create_graph):
    """Run ``node``'s backward rule on ``grad``: the gradients of its inputs, fitted to their shapes and dtypes."""
    rule = node.rule
    if rule is None:
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved tensors after "
            "they have already been freed). Specify retain_graph=True if you need to backward through "
            "the graph a second time.")
    saved = node.saved
    if saved:
        check_saved(saved)
    if create_graph and node.once:
        return _apply_once_differentiable(node, grad, vocab)
    if create_graph:
        outs = rule(vocab, grad, *saved_tensors(saved, Tensor._wrap)) if saved else rule(vocab, grad)
    else:
        outs = rule(vocab, grad, *saved_arrays(saved)) if saved else rule(vocab, grad)
    meta = node.meta
    if meta is None:
        return outs
    fitted = []
    for g, m in zip(outs, meta):
        # most gradients already fit; a number, a broadcast shape or another dtype goes through vocab.fit
        if g is None or m is None or isinstance(g, SparseGrad):
            pass
        elif getattr(g, "shape", None) != m[0] or getattr(g, "dtype", None) != m[1]:
            g = vocab.fit(g, m[0], m[1])
        fitted.append(g)
    return fitted


def _apply_once_differentiable(node, grad, vocab):
    """Gradients of a rule that works on arrays only, as Tensors whose own backward raises (torch's
    ``once_differentiable``): a first derivative under ``create_graph`` is right, a second one is refused."""
    from .graph.nodes import Node

    with grad_mode.no_grad():
        raw = grad._data if isinstance(grad, Tensor) else grad
        outs = node.rule(vocab.arrays, raw, *saved_arrays(node.saved or ()))
    name = node.name

    def refuse(o, g):
        raise RuntimeError(f"double backward through {name} is not supported: its backward is computed on raw "
                           f"arrays and cannot be differentiated (torch's once_differentiable)")

    # joined to the op's own inputs whether or not the incoming gradient is recorded: the gradient depends on
    # them, so a second derivative must refuse rather than come out as if it were constant
    up = tuple(n for n in node.inputs if n is not None)
    result = []
    for g, m in zip(outs, node.meta or (None,) * len(outs)):
        if g is None or isinstance(g, SparseGrad):
            result.append(g)
            continue
        if m is not None:
            g = vocab.arrays.fit(g, m[0], m[1])
        t = Tensor._wrap(g)
        t.requires_grad = True
        t._node = Node(refuse, up, f"{name}Backward")
        result.append(t)
    return result


# ---- hooks and leaves -----------------------------------------------------------------------------------
def _run_hooks(node, grad, create_graph, retains):
    """The tensor hooks of ``node``'s output: those of ``register_hook`` (``retains=False``, in order, each
    may replace the gradient), or the ``retain_grad`` ones (``retains=True``), which only store it."""
    for hook in list(node.pre_hooks.values()):
        if getattr(hook, "retains_grad", False) is not retains:
            continue
        wrapped = grad if create_graph or isinstance(grad, SparseGrad) else Tensor._wrap(grad)
        res = hook(wrapped)
        if res is not None:
            grad = _hook_result(hook, wrapped, res, create_graph)
    return grad


def _as_tensors(grads, create_graph):
    return tuple(g if g is None or create_graph or isinstance(g, (Tensor, SparseGrad)) else Tensor._wrap(g)
                 for g in grads)


def _as_grads(values, create_graph):
    return [v._data if isinstance(v, Tensor) and not create_graph else v for v in values]


def _grad_outputs(grad):
    """The gradients a node received, one per output (a multi-output node gets them gathered by slot)."""
    slots = getattr(grad, "slots", None)
    if slots is None:
        return (grad,), None
    n = max(slots) + 1 if slots else 0
    return tuple(slots.get(i) for i in range(n)), type(grad)


def _run_node_prehooks(node, grad, create_graph):
    """torch's node pre-hooks: ``hook(grad_outputs)``; a returned tuple replaces them."""
    outs, gathered = _grad_outputs(grad)
    outs = _as_tensors(outs, create_graph)
    for hook in list(node.hooks.pre.values()):
        res = hook(outs)
        if res is not None:
            if not isinstance(res, tuple) or len(res) != len(outs):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', 'hook')}' has returned an incorrect number of "
                                   f"values (got {len(res) if isinstance(res, tuple) else 1}, but expected "
                                   f"{len(outs)})")
            outs = _as_tensors(res, create_graph)
    raw = _as_grads(outs, create_graph)
    if gathered is None:
        return raw[0]
    return gathered({i: g for i, g in enumerate(raw) if g is not None})


def _run_node_posthooks(node, outs, grad, create_graph):
    """torch's node post-hooks: ``hook(grad_inputs, grad_outputs)`` with one gradient per input edge; a
    returned tuple replaces the gradients passed on."""
    edges = node.edges
    keep = [i for i in range(len(outs)) if edges is None or edges[i]]
    grad_inputs = _as_tensors([outs[i] for i in keep], create_graph)
    grad_outputs = _as_tensors(_grad_outputs(grad)[0], create_graph)
    replaced = None
    for hook in list(node.hooks.post.values()):
        res = hook(grad_inputs, grad_outputs)
        if res is not None:
            if not isinstance(res, tuple) or len(res) != len(grad_inputs):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', 'hook')}' has returned an incorrect number of "
                                   f"values (got {len(res) if isinstance(res, tuple) else 1}, but expected "
                                   f"{len(grad_inputs)})")
            grad_inputs = replaced = _as_tensors(res, create_graph)
    if replaced is None:
        return outs
    new = list(outs)
    for i, g in zip(keep, _as_grads(replaced, create_graph)):
        new[i] = g
    return new


def _hook_result(hook, before, res, create_graph):
    """torch's checks on what a tensor hook returned: a Tensor of the same shape and dtype."""
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
    return res if create_graph else res._data


def _accumulate_into_leaf(leaf, grad, vocab, create_graph):
    """Add ``grad`` into ``leaf.grad`` as torch's AccumulateGrad: the first gradient is a fresh tensor (never
    an array anything else holds), later ones are added in place; under ``create_graph`` both are recorded
    (the first a clone, later ones ``grad + new`` out of place), so ``leaf.grad`` can be differentiated."""
    if isinstance(grad, SparseGrad):
        new = SparseTensor(grad.indices, grad.values.astype(leaf.dtype, copy=False), grad.shape)
        leaf.grad = new if leaf.grad is None else leaf.grad + new
        return
    grad = vocab.fit(grad, leaf._data.shape, leaf._data.dtype)
    if create_graph:
        if leaf.grad is None:
            leaf.grad = vocab.clone(grad)
        elif isinstance(leaf.grad, SparseTensor):
            leaf.grad = vocab.add(leaf.grad.to_dense(), grad)
        else:
            leaf.grad = vocab.add(leaf.grad, grad)
        return
    if leaf.grad is None:
        leaf.grad = _fresh_grad(leaf, grad)
    elif isinstance(leaf.grad, SparseTensor):
        leaf.grad = Tensor._wrap(leaf.grad.to_dense()._data + grad)
    else:
        leaf.grad._data += grad


def _fresh_grad(leaf, grad):
    allocator = leaf.__dict__.get(_ALLOCATOR)
    if allocator is not None:
        buf = allocator.take(grad)
        if buf is not None:
            return Tensor._wrap(buf)
    return Tensor._wrap(backend.array_module(grad).array(grad, copy=True))


def _run_post_accumulate_hooks(leaf):
    hooks = leaf.__dict__.get("_post_acc_hooks")
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)
