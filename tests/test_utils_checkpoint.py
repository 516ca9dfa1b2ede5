"""Activation checkpointing (``autograd.utils.checkpoint``): gradients equal to a plain forward's and to
torch 2.13's, both forms (reentrant and not), with dropout's random state kept, torch's errors, and the
function run again in backward."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.utils import checkpoint as ck

torch = pytest.importorskip("torch")
import torch.utils.checkpoint as tck  # noqa: E402


def _model(lib):
    W1 = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    W2 = lib.tensor(np.linspace(-0.5, 0.7, 8).reshape(2, 4), requires_grad=True)
    x = lib.tensor(np.linspace(-2, 2, 15).reshape(5, 3), requires_grad=True)
    F = lib.nn.functional

    def block(h):
        return F.gelu(h @ W1.T).tanh() @ W2.T
    return block, x, W1, W2


@pytest.mark.parametrize("reentrant", [False, True])
def test_backward_equals_torch(reentrant):
    results = []
    for lib, mod in ((ag, ck), (torch, tck)):
        block, x, W1, W2 = _model(lib)
        y = mod.checkpoint(block, x, use_reentrant=reentrant)
        (y * y).sum().backward()
        results.append([t.grad.numpy() for t in (x, W1, W2)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_non_reentrant_with_grad_and_create_graph_equals_torch():
    results = []
    for lib, mod in ((ag, ck), (torch, tck)):
        block, x, W1, W2 = _model(lib)
        x.requires_grad_(False)
        loss = (mod.checkpoint(block, x, use_reentrant=False) ** 2).sum()
        gW1, = lib.autograd.grad(loss, [W1], create_graph=True)
        results.append([gW1.detach().numpy()] + [g.numpy() for g in lib.autograd.grad((gW1 ** 2).sum(), [W1, W2])])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("reentrant", [False, True])
def test_function_runs_again_in_backward_and_matches_the_plain_gradient(reentrant):
    block, x, W1, W2 = _model(ag)
    calls = []

    def counted(h):
        calls.append(1)
        return block(h)
    (block(x) ** 2).sum().backward()
    plain = [t.grad.numpy().copy() for t in (x, W1, W2)]
    for t in (x, W1, W2):
        t.grad = None
    (ck.checkpoint(counted, x, use_reentrant=reentrant) ** 2).sum().backward()
    assert len(calls) == 2
    for t, p in zip((x, W1, W2), plain):
        np.testing.assert_array_equal(t.grad.numpy(), p)


@pytest.mark.parametrize("reentrant", [False, True])
def test_dropout_mask_is_recomputed_with_the_forward_random_state(reentrant):
    lin = ag.nn.Linear(6, 6)
    x = ag.randn(8, 6, requires_grad=True)

    def block(h):
        return ag.nn.functional.dropout(lin(h), 0.5, training=True)
    ag.manual_seed(3)
    (block(x) ** 2).sum().backward()
    plain = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    ag.manual_seed(3)
    (ck.checkpoint(block, x, use_reentrant=reentrant) ** 2).sum().backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy(), plain)


def test_retained_graph_recomputes_for_a_second_backward():
    block, x, W1, W2 = _model(ag)
    loss = (ck.checkpoint(block, x, use_reentrant=False) ** 2).sum()
    loss.backward(retain_graph=True)
    first = W1.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(W1.grad.numpy(), 2 * first, rtol=1e-15)


def test_reentrant_refuses_autograd_grad_as_torch():
    for lib, mod in ((ag, ck), (torch, tck)):
        block, x, W1, W2 = _model(lib)
        loss = mod.checkpoint(block, x, use_reentrant=True).sum()
        with pytest.raises(RuntimeError, match="use_reentrant=True"):
            lib.autograd.grad(loss, [x])


def test_use_reentrant_left_out_warns_and_is_reentrant():
    block, x, W1, W2 = _model(ag)
    with pytest.warns(UserWarning, match="use_reentrant"):
        y = ck.checkpoint(block, x)
    assert y.grad_fn.name() == "_ReentrantCheckpointBackward"


def test_recomputation_that_saves_other_tensors_is_an_error():
    x = ag.tensor(np.arange(4.0), requires_grad=True)
    state = {"n": 0}

    def changing(h):
        state["n"] += 1
        return (h * h).sum() if state["n"] == 1 else (h[:2] * h[:2]).sum()
    loss = ck.checkpoint(changing, x, use_reentrant=False)
    with pytest.raises(ck.CheckpointError, match="different tensors"):
        loss.backward()


def test_checkpoint_sequential_equals_torch():
    results = []
    for lib, mod in ((ag, ck), (torch, tck)):
        lib.manual_seed(0)
        layers = [lib.nn.Linear(4, 4, dtype=lib.float64) for _ in range(4)]
        with lib.no_grad():
            for k, layer in enumerate(layers):
                layer.weight.copy_(lib.tensor(np.linspace(-1, 1, 16).reshape(4, 4) * (k + 1) / 4))
                layer.bias.fill_(0.1 * k)
        seq = lib.nn.Sequential(*[m for layer in layers for m in (layer, lib.nn.Tanh())])
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
        mod.checkpoint_sequential(seq, 3, x, use_reentrant=False).sum().backward()
        results.append([x.grad.numpy()] + [layer.weight.grad.numpy() for layer in layers])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)
