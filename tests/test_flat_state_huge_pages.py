"""Flat optimizer state of 2 MiB or more starts at a huge-page boundary (``_core.flat.state_array``):
its values, views and checkpoints behave as any other state."""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim._core.flat import state_array

N = 300_000          # three of these float32 tensors: 3.6 MB per state buffer


def _params(seed=0):
    rng = np.random.default_rng(seed)
    ps = [ag.tensor(rng.standard_normal(N).astype(np.float32), requires_grad=True) for _ in range(3)]
    gs = [rng.standard_normal(N).astype(np.float32) for _ in range(3)]
    return ps, gs


def _step(opt, ps, gs, k):
    for p, g in zip(ps, gs):
        p.grad = ag.tensor(g * (k + 1))
    opt.step()


def test_state_array_alignment_and_small_sizes():
    a = state_array(np, N * 3, np.float32)
    assert a.ctypes.data % (1 << 21) == 0 and a.shape == (N * 3,) and a.dtype == np.float32
    b = state_array(np, 10, np.float64)      # below one huge page: a plain array
    assert b.base is None and b.shape == (10,)


def test_adam_large_state_matches_the_for_loop_bitwise_and_torch():
    torch = pytest.importorskip("torch")
    ps_f, gs = _params()
    ps_l, _ = _params()
    tp = [torch.tensor(p._data.copy(), requires_grad=True) for p in ps_f]
    of, ol = optim.Adam(ps_f, lr=1e-2, foreach=True), optim.Adam(ps_l, lr=1e-2, foreach=False)
    ot = torch.optim.Adam(tp, lr=1e-2, foreach=True)
    for k in range(2):
        _step(of, ps_f, gs, k)
        _step(ol, ps_l, gs, k)
        for p, g in zip(tp, gs):
            p.grad = torch.tensor(g * (k + 1))
        ot.step()
    buf = of.state[ps_f[0]]["exp_avg"]._data
    assert buf.ctypes.data % (1 << 21) == 0      # the first parameter's view starts the aligned buffer
    for a, b, t in zip(ps_f, ps_l, tp):
        np.testing.assert_array_equal(a._data, b._data)
        np.testing.assert_allclose(a._data, t.detach().numpy(), rtol=1e-5, atol=1e-6)   # as the torch parity tests
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(of.state[a][name]._data, ol.state[b][name]._data)
            np.testing.assert_allclose(of.state[a][name]._data, ot.state[t][name].numpy(), rtol=1e-5, atol=1e-7)


def test_large_state_survives_a_checkpoint():
    ps, gs = _params(1)
    opt = optim.Adam(ps, lr=1e-2)
    _step(opt, ps, gs, 0)
    sd = opt.state_dict()
    ps2 = [ag.tensor(p._data.copy(), requires_grad=True) for p in ps]
    opt2 = optim.Adam(ps2, lr=1e-2)
    opt2.load_state_dict(sd)
    _step(opt, ps, gs, 1)
    _step(opt2, ps2, gs, 1)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a._data, b._data)
        np.testing.assert_array_equal(opt.state[a]["exp_avg_sq"]._data, opt2.state[b]["exp_avg_sq"]._data)
