"""Traces reused across steps (``_core.trace.TraceCache``): a later step with new per-step numbers gets the
slot values a fresh trace would give, bit for bit; a changed branch retraces; an update that takes a
number's value outside the recorded arithmetic is traced every step."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim._core.trace import TraceCache, trace
from minitorch_optim.lr_scheduler import ExponentialLR

F32 = np.dtype(np.float32)


def _make(values, sc):
    def fn(o, p, g, st):
        o.lerp_(st["m"], g, 1 - values["betas"][0])       # torch's lerp: its form depends on |w| < 0.5
        o.add_(p, st["m"], alpha=-sc["step_size"] * values["lr"])
        if values["weight_decay"] != 0:
            o.mul_(p, 1 - values["lr"] * values["weight_decay"])
    return fn


def _fresh(values, sc):
    tr = trace(_make(values, sc), ["m"], F32)
    return tr.key(), tr.scalars


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_a_later_step_reuses_the_statements_with_its_own_numbers(wd):
    cache = TraceCache()
    values = {"lr": 0.1, "betas": (0.9, 0.999), "weight_decay": wd, "maximize": False}
    first, _ = cache.lookup(_make, (values, {"step_size": 1.5}), "k", ["m"], F32)
    for lr, s in [(0.05, 2.25), (1e-7, 1.0 / 3.0), (3.0, -0.0)]:
        v = {**values, "lr": lr}
        tr, scalars = cache.lookup(_make, (v, {"step_size": s}), "k", ["m"], F32)
        key, want = _fresh(v, {"step_size": s})
        assert tr is first and tr.key() == key
        assert [x.hex() for x in scalars] == [x.hex() for x in want]


def test_a_branch_that_changes_retraces():
    cache = TraceCache()
    values = {"lr": 0.1, "betas": (0.9, 0.999), "weight_decay": 0.0}
    a, _ = cache.lookup(_make, (values, {"step_size": 1.0}), "k", ["m"], F32)
    v = {**values, "betas": (0.2, 0.999)}             # 1 - beta1 = 0.8: lerp's other form
    b, scalars = cache.lookup(_make, (v, {"step_size": 1.0}), "k", ["m"], F32)
    key, want = _fresh(v, {"step_size": 1.0})
    assert b.key() == key != a.key() and scalars == want


def test_an_update_that_reads_a_value_directly_is_traced_every_step():
    def make(values, sc):
        def fn(o, p, g, st):
            o.mul_(p, float(sc["x"]))         # the value leaves the recorded arithmetic
        return fn

    cache = TraceCache()
    cache.lookup(make, ({}, {"x": 2.0}), "k", [], F32)
    assert list(cache.entries.values()) == [None]
    _, scalars = cache.lookup(make, ({}, {"x": 3.0}), "k", [], F32)
    assert scalars == [3.0]


def test_a_scheduled_adamw_reuses_its_kernel_and_matches_foreach():
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(n).astype(np.float32) for n in (300, 7)]
    grads = [[rng.standard_normal(n).astype(np.float32) for n in (300, 7)] for _ in range(5)]
    out = []
    for path in ({"foreach": True}, {"fused": True}):
        ps = [ag.tensor(a.copy(), requires_grad=True) for a in init]
        opt = optim.AdamW(ps, lr=0.01, weight_decay=0.1, **path)
        sched = ExponentialLR(opt, 0.7)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = ag.tensor(g)
            opt.step()
            sched.step()
        out.append([p.numpy().copy() for p in ps])
        if "fused" in path:
            flat = next(iter(next(iter(opt._flat_cache.values()))[1].values()))
            assert len(flat.trace_cache.entries) == 2                  # the first step and the others
            assert all(e is not None for e in flat.trace_cache.entries.values())
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


class _ScaledSGD(optim.elementwise.ElementwiseOptimizer):
    """SGD whose update reads a public attribute: editing it between steps must reach the fused step."""

    def __init__(self, params, lr, scale, fused=None, foreach=None):
        self.scale = scale
        super().__init__(params, dict(lr=lr, maximize=False, foreach=foreach, fused=fused, differentiable=False))

    def state_buffers(self, group):
        return {}

    def step_scalars(self, group, lr, state):
        return {"lr": lr}, {"step": state["step"] + 1}

    def update(self, o, p, g, state, group, s):
        factor = self.scale["factor"] if isinstance(self.scale, dict) else self.scale.factor
        o.add_(p, g, alpha=-s["lr"] * factor)


class _Box:
    def __init__(self, factor):
        self.factor = factor


@pytest.mark.parametrize("holder", [dict, _Box], ids=["dict attribute", "object attribute"])
def test_an_attribute_the_update_reads_is_not_baked_into_a_reused_trace(holder):
    out = []
    for path in ({"foreach": True}, {"fused": True}):
        p = ag.tensor(np.linspace(-1, 1, 64).astype(np.float32), requires_grad=True)
        opt = _ScaledSGD([p], lr=0.1, scale=holder(factor=1.0) if holder is dict else _Box(1.0), **path)
        for step in range(4):
            p.grad = ag.tensor(np.full(64, 0.5, np.float32))
            opt.step()
            if isinstance(opt.scale, dict):
                opt.scale["factor"] = 2.0 + step            # edited in place
            else:
                opt.scale.factor = 2.0 + step
        out.append(p.numpy().copy())
    np.testing.assert_array_equal(out[0], out[1])
    expected = np.linspace(-1, 1, 64).astype(np.float32)
    for factor in (1.0, 2.0, 3.0, 4.0):
        expected = expected - np.float32(0.1 * factor) * np.float32(0.5)
    np.testing.assert_allclose(out[1], expected, rtol=1e-6)
