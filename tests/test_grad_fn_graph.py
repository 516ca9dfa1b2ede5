"""``grad_fn`` as torch's: ``name()``, ``next_functions``, node pre/post hooks (order, replacement, removal),
``metadata``; compared with torch 2.13 on the same small graphs."""
import numpy as np
import pytest

import autograd as A

torch = pytest.importorskip("torch")


def _structure(node, seen=None):
    """A node's graph as nested (name, [(child structure or None, output_nr), ...])."""
    if node is None:
        return None
    return (node.name(), [(_structure(n), i) for n, i in node.next_functions])


def _graphs(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, 0.25, -1.0], requires_grad=True)
    c = lib.tensor([1.0, 1.0, 1.0])
    return [
        (x * 2 + w).sum(),
        (x * w - c).exp().mean(),
        lib.cat([x / 2, lib.relu(w) ** 2]).sum(),
        lib.tanh(x * c),
    ]


def test_next_functions_structure_matches_torch():
    for ours, theirs in zip(_graphs(A), _graphs(torch)):
        assert _structure(ours.grad_fn) == _structure(theirs.grad_fn)


def test_accumulate_grad_and_leaf_nodes():
    x = A.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    acc, nr = y.grad_fn.next_functions[0]
    assert nr == 0 and acc.variable is x and acc.next_functions == ()
    assert acc.name() == torch.ones(1, requires_grad=True).mul(3).grad_fn.next_functions[0][0].name()
    assert y.grad_fn.next_functions[1] == (None, 0)          # the scalar argument, as torch
    assert x.grad_fn is None and repr(y).endswith("grad_fn=<MulBackward0>)")


def _function(lib):
    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            return a * k + b, a - b

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 + g2, None, g1 - g2

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    o1, o2 = Split.apply(x, 3.0, w)
    return o1, o2, (o1 * o2).sum()


def test_multi_output_function_is_one_node_as_torch():
    o1, o2, z = _function(A)
    t1, t2, tz = _function(torch)
    assert o1.grad_fn is o2.grad_fn
    assert o1.grad_fn.name() == t1.grad_fn.name() == "SplitBackward"
    mul = z.grad_fn.next_functions[0][0]
    assert [(n.name(), i) for n, i in mul.next_functions] == \
        [(n.name(), i) for n, i in tz.grad_fn.next_functions[0][0].next_functions]
    # the non-Tensor argument is not an edge
    assert len(o1.grad_fn.next_functions) == len(t1.grad_fn.next_functions) == 2


def _hook_log(lib):
    log = []
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([2.0, 2.0, 2.0], requires_grad=True)
    y = x * w
    y.register_hook(lambda g: log.append(("tensor", g.tolist())))
    y.grad_fn.register_prehook(lambda go: log.append(("pre", len(go), go[0].tolist())))
    y.grad_fn.register_hook(lambda gi, go: log.append(("post", [g.tolist() for g in gi], len(go))))
    acc = y.grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: log.append(("acc-pre", go[0].tolist())))
    acc.register_hook(lambda gi, go: log.append(("acc-post", gi, len(go))))
    removed = y.grad_fn.register_prehook(lambda go: log.append("removed"))
    removed.remove()
    (y * 2).sum().backward()
    return log, x.grad.tolist()


def test_hook_order_and_arguments_match_torch():
    assert _hook_log(A) == _hook_log(torch)


def _replaced(lib):
    out = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    y.grad_fn.register_prehook(lambda go: (go[0] * 10,))
    y.sum().backward()
    out.append(x.grad.tolist())
    x.grad = None
    y = x * 1.0
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 5, None))
    y.sum().backward()
    out.append(x.grad.tolist())
    x.grad = None
    y = x * x                      # hooks run for autograd.grad too
    y.grad_fn.register_hook(lambda gi, go: tuple(g * 0 + 1 for g in gi))
    out.append(lib.autograd.grad(y.sum(), x)[0].tolist())
    return out


def test_hook_results_replace_gradients_as_torch():
    assert _replaced(A) == _replaced(torch)


def test_metadata_and_handles():
    y = A.tensor([1.0], requires_grad=True) * 2
    assert y.grad_fn.metadata == {} and y.grad_fn.metadata is y.grad_fn.metadata
    y.grad_fn.metadata["tag"] = 1
    assert y.grad_fn.metadata["tag"] == 1
    with y.grad_fn.register_hook(lambda gi, go: None) as h:
        assert h.id in y.grad_fn.hooks.post
    assert not y.grad_fn.hooks.post


def test_wrong_number_of_values_from_a_hook_raises():
    x = A.tensor([1.0], requires_grad=True)
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        y.sum().backward()


def test_no_node_hooks_means_no_hook_table():
    x = A.tensor(np.ones(3), requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    assert y.grad_fn.hooks is None
