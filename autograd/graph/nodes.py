"""Graph nodes: what one recorded operation remembers so that backward can run it in reverse.

A node lives apart from the Tensor it produced: a Tensor only points at the node that made its current
value. Each node holds its op's backward *rule*, ``rule(o, grad, *saved) -> tuple`` with one gradient (or
None) per input, written once against the op vocabulary ``o`` (see :mod:`autograd.ops.vocabulary`): the
engine runs it on raw arrays for a first-order backward, and on Tensors with grad mode on for
``create_graph=True``, which records the backward pass itself so that it can be differentiated again.

``saved`` holds what the rule reads, in the op's order. A Tensor is saved as the tuple
``(counter, version, tensor, node, data)``: the storage's version counter and its value when saved (checked
before backward: torch's "modified by an inplace operation" error), the tensor, the node that produced it
then, and its array then. Anything else (a Python number, None) is saved as itself.
"""
from __future__ import annotations

from .. import backend


class SparseGrad:
    """A COO gradient flowing through the engine (from ``Embedding(sparse=True)``)."""

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices, values, shape):
        self.indices, self.values, self.shape = indices, values, tuple(shape)

    def __add__(self, other):
        if isinstance(other, SparseGrad):
            xp = backend.array_module(self.values)
            return SparseGrad(xp.concatenate([self.indices, other.indices], axis=1),
                              xp.concatenate([self.values, other.values], axis=0), self.shape)
        return self.to_dense() + other

    __radd__ = __add__

    def to_dense(self):
        xp = backend.array_module(self.values)
        out = xp.zeros(self.shape, dtype=self.values.dtype)
        xp.add.at(out, tuple(self.indices[i] for i in range(self.indices.shape[0])), self.values)
        return out


class Node:
    """One recorded operation.

    ``rule``: the backward rule (None once the graph was freed); ``inputs``: the next nodes, one per op
    argument (None where no gradient flows); ``meta``: ``(shape, dtype)`` of each differentiable argument, so
    the engine can sum a broadcast gradient back to its argument's shape and cast it to its dtype (None when
    the rule already returns exact gradients); ``once``: the rule runs on raw arrays only (its result cannot
    be differentiated again).
    """

    __slots__ = ("rule", "inputs", "name", "pre_hooks", "saved", "meta", "once", "__weakref__")

    def __init__(self, rule, inputs, name="Op", saved=None, meta=None, once=False):
        self.rule = rule
        self.inputs = tuple(inputs)
        self.name = name
        self.pre_hooks = None
        self.saved = saved
        self.meta = meta
        self.once = once

    def name_(self):
        return self.name

    def __repr__(self):
        return f"<{self.name}Backward>"

    def release(self):
        self.rule = None
        self.saved = None


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


def grad_node(t):
    """The node a gradient for ``t`` flows into: the node that produced it, or its leaf accumulator."""
    if t._view is not None:
        t._view.sync(t)
    if t._node is not None:
        return t._node
    if t._accum is None:
        t._accum = AccumulateGrad(t)
    return t._accum


def check_saved(saved):
    """torch's error when a tensor saved for backward was changed in place after it was saved."""
    for entry in saved:
        if type(entry) is not tuple:
            continue
        ctr, ver, t, node, _ = entry
        if ctr[0] != ver:
            from .. import dtypes

            dev = "cuda." if getattr(t.device, "type", "cpu") == "cuda" else ""
            what = f"[torch.{dev}{dtypes.torch_name(t.dtype)}Tensor {list(t.shape)}]"
            if node is not None and not isinstance(node, AccumulateGrad):
                what += f", which is output 0 of {node.name},"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"{what} is at version {ctr[0]}; expected version {ver} instead. Hint: enable anomaly detection "
                f"to find the operation that failed to compute its gradient, with "
                f"torch.autograd.set_detect_anomaly(True, check_nan=False).")


def saved_arrays(saved):
    """The saved values as the first-order rules read them: arrays (and numbers)."""
    return [e[4] if type(e) is tuple else e for e in saved]


def saved_tensors(saved, wrap):
    """The saved values as Tensors joined to the graph as they were when saved (``create_graph``): the tensor
    itself while it still holds that value and node, else a stand-in with the saved array and node."""
    out = []
    for e in saved:
        if type(e) is not tuple:
            out.append(e)
            continue
        _, _, t, node, data = e
        if t._data is data and t._node is node:
            out.append(t)
            continue
        s = wrap(data)
        if node is not None:
            s._node, s.requires_grad = node, True
        elif t.requires_grad:
            s._accum, s.requires_grad = grad_node(t), True
        out.append(s)
    return out
