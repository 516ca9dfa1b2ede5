"""GPU hygiene as counts on the CuPy stand-in (deterministic: no timings): host synchronisations per
optimizer and training step, random numbers made on the device, DataLoader batches by slicing, compiled
kernels cached, launch grids that fill the device for small tensors."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as A
import autograd.nn as nn
import autograd.nn.functional as F
import minitorch_optim as optim
from autograd.data import DataLoader, TensorDataset


def _sites(fc):
    return "\n".join(f"  {w} at {s}" for w, s in fc.sync_sites)


def _params(dev="cuda", dtype=A.float32):
    rng = np.random.default_rng(0)
    return [nn.Parameter(A.tensor(rng.standard_normal(s).astype(np.float32), dtype=dtype, device=dev))
            for s in [(30, 7), (5,), (), (100,)]]


def _set_grads(ps, seed):
    rng = np.random.default_rng(seed)
    for p in ps:
        p.grad = A.tensor(rng.standard_normal(p.shape).astype(np.float32), dtype=p.dtype, device=p.device)


@pytest.mark.parametrize("name,kw", [
    ("Adam", {}), ("Adam", dict(fused=True)), ("Adam", dict(foreach=True)), ("Adam", dict(foreach=False)),
    ("AdamW", dict(fused=True, amsgrad=True)), ("SGD", dict(momentum=0.9)), ("SGD", dict(momentum=0.9, fused=True)),
    ("NAdam", dict(fused=True)), ("RMSprop", dict(foreach=True)), ("Adagrad", dict(fused=True)),
])
def test_at_most_one_host_sync_per_optimizer_step(fake_cupy, name, kw):
    ps = _params()
    opt = getattr(optim, name)(ps, lr=0.01, **kw)
    for i in range(2):                 # state creation, first compilation
        _set_grads(ps, i)
        opt.step()
    _set_grads(ps, 5)
    fake_cupy.reset()
    opt.step()
    assert fake_cupy.counters["syncs"] <= 1, _sites(fake_cupy)
    assert fake_cupy.counters["h2d"] <= 3, dict(fake_cupy.counters)   # scalars / launch table only


def _mlp_step_counts(fc, steps=1):
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 3)).to("cuda")
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    x = A.randn(64, 2, device="cuda")
    y = A.randint(0, 3, (64,), device="cuda")

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    fc.reset()
    for _ in range(steps):
        step()
    return dict(fc.counters)


def test_readme_mlp_training_step_at_most_two_host_syncs(fake_cupy):
    c = _mlp_step_counts(fake_cupy)
    assert c.get("syncs", 0) <= 2, _sites(fake_cupy)


def test_clip_grad_norm_does_not_sync_per_parameter(fake_cupy):
    ps = _params()
    _set_grads(ps, 1)
    want = [p.grad.numpy() for p in ps]
    fake_cupy.reset()
    total = nn.utils.clip_grad_norm_(ps, max_norm=1.0)
    assert fake_cupy.counters["syncs"] == 0, _sites(fake_cupy)
    assert total.device == "cuda:0"
    norm = np.sqrt(sum((w.astype(np.float64) ** 2).sum() for w in want))
    np.testing.assert_allclose(total.item(), norm, rtol=1e-6)
    for p, w in zip(ps, want):
        np.testing.assert_allclose(p.grad.numpy(), w * min(1.0, 1.0 / (norm + 1e-6)), rtol=1e-6)


def test_random_numbers_are_made_on_the_device(fake_cupy):
    g = A.Generator(device="cuda").manual_seed(3)
    for make in (lambda: A.randn(1000, device="cuda"), lambda: A.rand(10, 10, device="cuda"),
                 lambda: A.randint(0, 7, (50,), device="cuda"), lambda: A.randn(8, device="cuda", generator=g),
                 lambda: F.dropout(A.ones(100, device="cuda"), 0.5, training=True),
                 lambda: A.randperm(20, device="cuda")):
        fake_cupy.reset()
        t = make()
        assert t.device == "cuda:0"
        assert fake_cupy.counters["h2d"] == 0 and fake_cupy.counters["rng"] >= 1, dict(fake_cupy.counters)
    a = A.Generator(device="cuda").manual_seed(3)
    b = A.Generator(device="cuda").manual_seed(3)
    np.testing.assert_array_equal(A.randn(5, device="cuda", generator=a).numpy(),
                                  A.randn(5, device="cuda", generator=b).numpy())   # seeded: reproducible
    x = A.randint(0, 7, (2000,), device="cuda").numpy()
    assert x.min() == 0 and x.max() == 6
    assert sorted(A.randperm(20, device="cuda").numpy().tolist()) == list(range(20))


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_batches_cuda_tensors_by_slicing(fake_cupy, shuffle, monkeypatch):
    X = A.arange(200, dtype=A.float32, device="cuda").reshape(100, 2)
    y = A.arange(100, device="cuda")
    ds = TensorDataset(X, y)
    calls = []
    orig = TensorDataset.__getitem__
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: calls.append(i) or orig(self, i))
    loader = DataLoader(ds, batch_size=32, shuffle=shuffle, generator=A.Generator().manual_seed(0))
    fake_cupy.reset()
    batches = list(loader)
    assert len(calls) <= len(batches), "one dataset access per batch, not per sample"
    assert fake_cupy.counters["syncs"] == 0 and fake_cupy.counters["h2d"] <= len(batches)
    assert [len(b[1]) for b in batches] == [32, 32, 32, 4]
    got = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(got.tolist()) == list(range(100)) and (shuffle or got.tolist() == list(range(100)))
    for xb, yb in batches:
        assert xb.device == "cuda:0"
        np.testing.assert_array_equal(xb.numpy(), X.numpy()[yb.numpy()])
    monkeypatch.undo()
    ref = DataLoader(ds, batch_size=32, shuffle=shuffle, generator=A.Generator().manual_seed(0),
                     collate_fn=lambda b: tuple(A.stack([s[k] for s in b]) for k in range(2)))
    for (a, b), (c, d) in zip(batches, ref):       # same batches as the per-sample path
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())


def test_tensor_of_cuda_data_stays_on_the_device(fake_cupy):
    cp = fake_cupy.cupy
    data = cp.arange(6, dtype=cp.float64).reshape(2, 3)
    fake_cupy.reset()
    t = A.tensor(data)
    u = A.as_tensor(data) if hasattr(A, "as_tensor") else t
    assert t.device == "cuda:0" and u.device == "cuda:0" and t.dtype == A.float64
    assert fake_cupy.counters["d2h"] == 0 and fake_cupy.counters["syncs"] == 0, _sites(fake_cupy)


def test_compiled_kernels_are_cached(fake_cupy):
    ps = _params()
    opt = optim.Adam(ps, lr=0.01, fused=True)
    _set_grads(ps, 0)
    opt.step()
    before = dict(fake_cupy.counters)
    for i in range(3):
        _set_grads(ps, i)
        opt.step()
    after = dict(fake_cupy.counters)
    assert after["launches"] > before["launches"]
    for k in ("modules", "kernels", "compiles", "get_function"):
        assert after.get(k, 0) == before.get(k, 0), (k, before, after)


@pytest.mark.parametrize("n", [1000, 200_000])
def test_launch_grid_fills_the_device_for_small_tensors(fake_cupy, n):
    sms = fake_cupy.cupy.cuda.Device().attributes["MultiProcessorCount"]
    p = nn.Parameter(A.zeros(n, device="cuda"))
    opt = optim.Adam([p], lr=0.01, fused=True)
    p.grad = A.ones(n, device="cuda")
    fake_cupy.reset()
    opt.step()
    launches = [ln for ln in fake_cupy.launches if ln[0].endswith("<float>")]
    assert launches, fake_cupy.launches
    name, grid, block, dev = max(launches, key=lambda ln: ln[1][0] * ln[2][0])   # the update kernel
    # every SM gets a block once there are 4 elements per thread for it; no block without an element
    assert grid[0] >= min(sms, -(-n // (4 * block[0]))), (grid, block)
    assert grid[0] <= max(1, -(-n // block[0]))


def test_embedding_lookup_checks_indices_with_one_sync(fake_cupy):
    emb = nn.Embedding(10, 4).to("cuda")
    idx = A.tensor([1, 9, 3], device="cuda")
    fake_cupy.reset()
    emb(idx).sum().backward()
    assert fake_cupy.counters["syncs"] <= 1, _sites(fake_cupy)
    with pytest.raises(IndexError, match="index out of range"):
        emb(A.tensor([1, 10], device="cuda"))


@pytest.mark.parametrize("kind", ["swa_lerp", "swa_divide", "ema_lerp", "ema_blend"])
@pytest.mark.parametrize("dtype", [A.float32, A.float16, A.float64])
def test_swa_utils_average_with_the_avg_kernel(fake_cupy, kind, dtype):
    from minitorch_optim import swa_utils

    rule = {"swa_lerp": dict(multi_avg_fn=swa_utils.get_swa_multi_avg_fn()),
            "swa_divide": dict(avg_fn=swa_utils.get_swa_avg_fn()),
            "ema_lerp": dict(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9)),
            "ema_blend": dict(avg_fn=swa_utils.get_ema_avg_fn(0.9))}[kind]
    res = []
    for dev in ("cpu", "cuda"):
        A.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(dtype=dtype).to(dev)
        avg = swa_utils.AveragedModel(model, **rule)
        fake_cupy.reset()
        for step in range(3):
            with A.no_grad():
                for p in model.parameters():
                    p.mul_(0.5).add_(0.25 * (step + 1))
            avg.update_parameters(model)
        if dev == "cuda":
            names = [ln[0] for ln in fake_cupy.launches]
            assert any(n.startswith("avg_update<") for n in names), names     # kernels/cuda/avg.cu is used
        res.append([p.numpy() for p in avg.module.parameters()])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)          # the same arithmetic as the CPU path
