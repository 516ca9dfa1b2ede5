"""Graph nodes: what one recorded operation remembers so that backward can run it in reverse.

A node lives apart from the Tensor it produced: a Tensor only points at the node that made its current
value. Each node holds its op's backward *rule*, ``rule(o, grad, *saved) -> tuple`` with one gradient (or
None) per input, written once against the op vocabulary ``o`` (see :mod:`autograd.ops.vocabulary`): the
engine runs it on raw arrays for a first-order backward, and on Tensors with grad mode on for
``create_graph=True``, which records the backward pass itself so that it can be differentiated again.

``saved`` holds what the rule reads, in the op's order. A Tensor is saved as the tuple
``(counter, version, tensor, node, data)``: the storage's version counter and its value when saved (checked
before backward: torch's "modified by an inplace operation" error), the tensor, the node that produced it
then, and its array then. Under saved-tensor hooks it is a :class:`~autograd.graph.saved_hooks.PackedSaved`
instead. Anything else (a Python number, None) is saved as itself.
"""
from __future__ import annotations

from .. import backend
from .saved_hooks import PackedSaved


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


class NodeName(str):
    """A node's short name (``"Mul"``), which is also callable as torch's ``grad_fn.name()``
    (``"MulBackward0"``): internal code reads it as a string, torch code calls it."""

    torch = ""

    def __call__(self):
        return self.torch


# internal names whose torch node is named differently (the rest are ``<Name>Backward0``)
_TORCH_NAMES = {"CopySlices": "torch::autograd::CopySlices", "DelayedError": "torch::autograd::DelayedError",
                "AccumulateGrad": "torch::autograd::AccumulateGrad", "Error": "torch::autograd::Error",
                "NotImplemented": "NotImplemented"}


class NodeHooks:
    """The hooks registered on a node itself (``grad_fn.register_prehook`` / ``register_hook``); a node holds
    one only once a hook was registered, so a backward without node hooks does no work for them."""

    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre = {}
        self.post = {}


class RemovableHandle:
    """torch's ``RemovableHandle`` for a hook in a dict: ``remove()`` (also as a context manager)."""

    _next_id = 0

    def __init__(self, table):
        self._table = table
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node:
    """One recorded operation.

    ``rule``: the backward rule (None once the graph was freed); ``inputs``: the next nodes, one per op
    argument (None where no gradient flows); ``meta``: ``(shape, dtype)`` of each differentiable argument, so
    the engine can sum a broadcast gradient back to its argument's shape and cast it to its dtype (None when
    the rule already returns exact gradients); ``once``: the rule runs on raw arrays only (its result cannot
    be differentiated again); ``pre_hooks``: the hooks of the tensors this node produced
    (``Tensor.register_hook``); ``hooks``: the node's own hooks (:class:`NodeHooks`, None until one is
    registered); ``edges``: which ``inputs`` are torch's edges (None: all; a custom Function's non-Tensor
    arguments are not).

    The torch API of ``grad_fn``: ``name()``, ``next_functions``, ``register_hook``, ``register_prehook``,
    ``metadata``.
    """

    __slots__ = ("rule", "inputs", "_name", "pre_hooks", "saved", "meta", "once", "hooks", "_metadata", "edges",
                 "__weakref__")

    def __init__(self, rule, inputs, name="Op", saved=None, meta=None, once=False):
        self.rule = rule
        self.inputs = tuple(inputs)
        self._name = name
        self.pre_hooks = None
        self.saved = saved
        self.meta = meta
        self.once = once
        self.hooks = None
        self._metadata = None
        self.edges = None

    @property
    def name(self):
        n = NodeName(self._name)
        n.torch = self._torch_name()
        return n

    def _torch_name(self):
        name = self._name
        if name in _TORCH_NAMES:
            return _TORCH_NAMES[name]
        if name.endswith("Backward") or name[-1:].isdigit():
            return name
        return f"{name}Backward0"

    def name_(self):
        return self._name

    def __repr__(self):
        return f"<{self._torch_name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        """torch's ``((node, output_nr), ...)``: one pair per input edge, ``(None, 0)`` where no gradient
        flows; a leaf's node is its ``AccumulateGrad``."""
        out = []
        for i, n in enumerate(self.inputs):
            if self.edges is not None and not self.edges[i]:
                continue
            if n is None:
                out.append((None, 0))
            elif isinstance(n, OutputNode):
                out.append((n.inputs[0], n.output_nr))
            else:
                out.append((n, 0))
        return tuple(out)

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def _hook_table(self):
        if self.hooks is None:
            self.hooks = NodeHooks()
        return self.hooks

    def register_prehook(self, fn):
        """``fn(grad_outputs) -> tuple or None`` runs before this node's backward (after the tensor hooks);
        a returned tuple replaces the gradients the node receives."""
        table = self._hook_table().pre
        h = RemovableHandle(table)
        table[h.id] = fn
        return h

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs) -> tuple or None`` runs after this node's backward; a returned
        tuple replaces the gradients it passes on (``grad_inputs``, one per input edge)."""
        table = self._hook_table().post
        h = RemovableHandle(table)
        table[h.id] = fn
        return h

    def _register_hook_dict(self, tensor):  # torch-internal name some libraries probe; nothing to do here
        pass

    def release(self):
        self.rule = None
        self.saved = None


class OutputNode(Node):
    """Selects output ``output_nr`` of a multi-output node (a custom Function's); ``grad_fn`` and
    ``next_functions`` show the node it selects from, as torch (one node, several outputs)."""

    __slots__ = ("output_nr",)

    def __init__(self, rule, parent, output_nr):
        super().__init__(rule, (parent,), f"{parent._name}Output{output_nr}")
        self.output_nr = output_nr


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds incoming gradient into ``leaf.grad``."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        super().__init__(None, (), "AccumulateGrad")
        self.tensor = tensor

    @property
    def variable(self):
        return self.tensor

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"

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
                what += f", which is output 0 of {node._torch_name()},"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"{what} is at version {ctr[0]}; expected version {ver} instead. Hint: enable anomaly detection "
                f"to find the operation that failed to compute its gradient, with "
                f"torch.autograd.set_detect_anomaly(True, check_nan=False).")


def saved_arrays(saved):
    """The saved values as the first-order rules read them: arrays (and numbers)."""
    return [e[4] if type(e) is tuple else e.unpack()._data if type(e) is PackedSaved else e for e in saved]


def saved_tensors(saved, wrap):
    """The saved values as Tensors joined to the graph as they were when saved (``create_graph``): the tensor
    itself while it still holds that value and node, else a stand-in with the saved array and node."""
    out = []
    for e in saved:
        if type(e) is PackedSaved:
            s = wrap(e.unpack()._data)
            if e.node is not None:
                s._node, s.requires_grad = e.node, True
            elif e.accum is not None:
                s._accum, s.requires_grad = e.accum, True
            out.append(s)
            continue
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
