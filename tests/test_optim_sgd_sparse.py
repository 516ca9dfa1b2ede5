"""SGD with sparse COO gradients (``Embedding(sparse=True)``): torch takes them on every path; so do we,
with torch's sparse arithmetic (sparse momentum buffer, entries applied in stored order), bit for bit."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import minitorch_optim as optim
from autograd.nn import Parameter

CONFIGS = [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3), dict(momentum=0.8, nesterov=True),
           dict(momentum=0.9, maximize=True), dict(maximize=True)]
ROWS = [[1, 4, 1, 1, 3, 4], [2, 4, 0], [5, 1, 1], [3], [0, 2, 4, 4, 1]]


def _grads(dtype):
    rng = np.random.default_rng(7)
    return [(np.array(r), rng.standard_normal((len(r), 3)).astype(dtype)) for r in ROWS]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", [dict(foreach=False), dict(foreach=True), {}], ids=str)
@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_sgd_sparse_gradients_match_torch(cfg, path, dtype):
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(1).standard_normal((6, 3)).astype(dtype)
    p, tp = Parameter(ag.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    opt = optim.SGD([p], lr=0.37, **cfg, **path)
    topt = torch.optim.SGD([tp], lr=0.37, **cfg, foreach=path.get("foreach"))
    for rows, vals in _grads(dtype):
        p.grad = ag.sparse_coo_tensor(rows[None], vals, (6, 3))
        tp.grad = torch.sparse_coo_tensor(torch.tensor(rows)[None], torch.tensor(vals), (6, 3))
        opt.step()
        topt.step()
        got, want = p.numpy(), tp.detach().numpy()
        if dtype == np.float32:
            np.testing.assert_array_equal(got, want)
        else:  # torch's float64 fused multiply-add is not emulated (two roundings here)
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    if cfg.get("momentum"):
        buf, tbuf = opt.state[p]["momentum_buffer"], topt.state[tp]["momentum_buffer"]
        assert getattr(buf, "is_sparse", False) and tbuf.is_sparse
        assert buf._indices().numpy().tolist() == tbuf._indices().tolist()
        np.testing.assert_allclose(buf._values().numpy(), tbuf._values().numpy(), rtol=1e-6)


def test_sgd_trains_a_sparse_embedding():
    ag.manual_seed(0)
    emb = nn.Embedding(10, 4, sparse=True)
    opt = optim.SGD(emb.parameters(), lr=0.5, momentum=0.5)
    idx = ag.tensor(np.array([1, 3, 3, 7]))
    before = emb.weight.detach().numpy().copy()
    for _ in range(3):
        opt.zero_grad()
        (emb(idx) ** 2).sum().backward()
        assert emb.weight.grad.is_sparse
        opt.step()
    after = emb.weight.detach().numpy()
    untouched = [i for i in range(10) if i not in (1, 3, 7)]
    np.testing.assert_array_equal(after[untouched], before[untouched])
    assert (np.abs(after[[1, 3, 7]]) < np.abs(before[[1, 3, 7]])).all()


def test_sgd_sparse_with_weight_decay_raises_like_torch():
    p = Parameter(ag.zeros(4, 2))
    opt = optim.SGD([p], lr=0.1, weight_decay=0.1)
    p.grad = ag.sparse_coo_tensor([[0]], np.ones((1, 2), np.float32), (4, 2))
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), 0)


def test_sgd_fused_refuses_sparse_gradients_like_torch():
    p = Parameter(ag.zeros(4, 2))
    opt = optim.SGD([p], lr=0.1, fused=True)
    p.grad = ag.sparse_coo_tensor([[0]], np.ones((1, 2), np.float32), (4, 2))
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
