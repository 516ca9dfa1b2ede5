"""``autograd.backward``, ``autograd.grad`` and ``Tensor.backward``, as torch's: they hand the engine the
vocabulary to run the backward rules in (arrays, or Tensors under ``create_graph=True``)."""
from __future__ import annotations

import warnings

from .. import backend
from ..engine import run_backward
from ..graph.nodes import SparseGrad, grad_node
from ..engine import _accumulate_into_leaf
from ..tensor import Tensor
from .vocabulary import ARRAYS, TENSORS


def _root_grad(t, g, create_graph, index):
    """The gradient that starts a backward from ``t``: ones for a one-element output, else ``g``."""
    if g is None:
        if t._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        ones = backend.array_module(t._data).ones_like(t._data)
        return Tensor._wrap(ones) if create_graph else ones
    if isinstance(g, Tensor):
        if g.shape != t.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {tuple(g.shape)} and "
                               f"output[{index}] has a shape of {tuple(t.shape)}.")
        if create_graph:
            return g if g.dtype == t.dtype else g.to(t.dtype)
        return g._data.astype(t._data.dtype, copy=False)
    g = backend.array_module(t._data).asarray(g)
    if g.shape != t._data.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[{index}] has a shape of {tuple(g.shape)} and "
                           f"output[{index}] has a shape of {tuple(t._data.shape)}.")
    g = g.astype(t._data.dtype, copy=False)
    return Tensor._wrap(g) if create_graph else g


def _check_roots(tensors):
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def _as_list(x, what):
    if isinstance(x, Tensor):
        return [x]
    if x is None:
        raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, not None")
    return list(x)


def _grads_for(outputs, grad_outputs, create_graph):
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    else:
        grad_outputs = list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise RuntimeError(f"grad requires one gradient per output: got {len(grad_outputs)} gradients for "
                               f"{len(outputs)} outputs")
    return [_root_grad(t, g, create_graph, i) for i, (t, g) in enumerate(zip(outputs, grad_outputs))]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the leaves (``torch.autograd.backward``); with
    ``create_graph=True`` the backward pass is recorded, so the gradients can be differentiated again."""
    tensors = _as_list(tensors, "tensors")
    if isinstance(grad_tensors, Tensor) and len(tensors) == 1:
        grad_tensors = [grad_tensors]
    _check_roots(tensors)
    grads = _grads_for(tensors, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    vocab = TENSORS if create_graph else ARRAYS
    roots = [grad_node(t) for t in tensors]
    if inputs is None:
        run_backward(roots, grads, retain_graph, vocab, create_graph)
        return
    inputs = _as_list(inputs, "inputs")
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    captured = run_backward(roots, grads, retain_graph, vocab, create_graph, {grad_node(i): None for i in inputs})
    for i in inputs:
        g = captured[grad_node(i)]
        if g is not None:
            _accumulate_into_leaf(i, g, vocab, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated
    (``torch.autograd.grad``); with ``create_graph=True`` they are themselves differentiable.
    ``only_inputs`` is torch's deprecated argument, ignored as torch ignores it (with its warning)."""
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", stacklevel=2)
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    _check_roots(outputs)
    for i in inputs:
        if not isinstance(i, Tensor):
            raise TypeError(f"grad(): inputs must be Tensors, got {type(i).__name__}")
        if not i.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _grads_for(outputs, grad_outputs, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    vocab = TENSORS if create_graph else ARRAYS
    captured = run_backward([grad_node(t) for t in outputs], grads, retain_graph, vocab, create_graph,
                            {grad_node(i): None for i in inputs})
    result = []
    for i in inputs:
        g = captured[grad_node(i)]
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = backend.array_module(i._data).zeros_like(i._data)
        if isinstance(g, SparseGrad):
            g = Tensor._wrap(g)
        elif g is not None:
            g = vocab.fit(g, i._data.shape, i._data.dtype)
            g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        result.append(g)
    return tuple(result)


def _tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    backward(self, gradient, retain_graph, create_graph, inputs)


Tensor.backward = _tensor_backward


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    """``is_grads_batched=True``: the first dimension of each grad_output indexes independent vector-Jacobian
    products; their results are stacked along a new first dimension (torch batches them with vmap; the
    numbers are the same)."""
    from .shape import stack

    outs = _as_list(outputs, "outputs")
    gos = _as_list(grad_outputs, "grad_outputs") if grad_outputs is not None else None
    if gos is None:
        raise RuntimeError("is_grads_batched=True needs grad_outputs with a leading batch dimension")
    n = gos[0].shape[0]
    rows = []
    for k in range(n):
        rows.append(grad(outs, inputs, [g[k] for g in gos], retain_graph=True if k < n - 1 else retain_graph,
                         create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads))
    stacked = []
    for j in range(len(rows[0])):
        col = [r[j] for r in rows]
        stacked.append(None if any(c is None for c in col) else stack(col, 0))
    return tuple(stacked)
