"""Saved-tensor hooks (``autograd.autograd.graph``) against torch 2.13: what the pack hook sees, that backward
computes with what the unpack hook returns (no version check, as torch), second derivatives through packed
values, custom Functions, ``save_on_cpu`` and ``disable_saved_tensors_hooks``."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")

X0 = np.array([1.0, -2.0, 3.0, 0.5])


def _run(lib, body):
    x = lib.tensor(X0.copy(), requires_grad=True)
    return body(lib, x)


def _same(body):
    ours, theirs = _run(ag, body), _run(torch, body)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if hasattr(b, "detach"):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-13, atol=0)
        else:
            assert a == b


def test_pack_sees_each_saved_tensor_and_backward_uses_the_unpacked_value():
    def body(lib, x):
        shapes = []

        def pack(t):
            shapes.append(tuple(t.shape))
            return t.clone()

        with lib.autograd.graph.saved_tensors_hooks(pack, lambda p: p):
            a = x * 2
            z = (a * a).sum() + a.exp().sum()
        with lib.no_grad():
            a.mul_(2)        # no "modified by an inplace operation" error: the packed clones are used
        z.backward()
        return [len(shapes), x.grad]
    _same(body)


def test_unpack_hook_result_is_what_backward_computes_with():
    def body(lib, x):
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t * 10):
            z = (x * x.sin()).sum()
        return [lib.autograd.grad(z, x)[0]]
    _same(body)


def test_unpack_must_return_a_tensor():
    for lib in (ag, torch):
        x = lib.tensor(X0.copy(), requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 1, lambda p: p):
            z = (x * x).sum()
        with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor"):
            z.backward()


def test_second_derivative_through_detached_packed_values():
    def body(lib, x):
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach(), lambda p: p):
            z = (x * x * x.tanh()).sum()
        g, = lib.autograd.grad(z, x, create_graph=True)
        return [g, lib.autograd.grad(g.sum(), x)[0]]
    _same(body)


def test_custom_function_saves_through_the_hooks_and_outputs_are_packed_as_recorded():
    def body(lib, x):
        seen = []

        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(x, y)
                return y

            @staticmethod
            def backward(ctx, g):
                _, y = ctx.saved_tensors
                return y * g

        def pack(t):
            seen.append(t.grad_fn is not None)
            return t
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda p: p):
            y = Exp.apply(x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        return seen + [g, lib.autograd.grad(g.sum(), x)[0]]
    _same(body)


def test_innermost_hooks_apply():
    def body(lib, x):
        calls = []
        outer = lib.autograd.graph.saved_tensors_hooks(lambda t: calls.append("outer") or t, lambda p: p)
        inner = lib.autograd.graph.saved_tensors_hooks(lambda t: calls.append("inner") or t, lambda p: p)
        with outer:
            with inner:
                (x * x).sum()
            (x * x).sum()
        return [tuple(calls)]
    _same(body)


def test_save_on_cpu_gives_the_same_gradients():
    def body(lib, x):
        with lib.autograd.graph.save_on_cpu():
            z = (x.sin() * x).sum()
        return [lib.autograd.grad(z, x)[0]]
    _same(body)


def test_disable_saved_tensors_hooks_refuses_hooks_with_its_message():
    for lib in (ag, torch):
        with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda p: p):
                    pass
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda p: p):   # enabled again after it
            pass


def test_no_hooks_keeps_the_version_check():
    x = ag.tensor(X0.copy(), requires_grad=True)
    a = x * 2
    z = (a * a).sum()
    with ag.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
