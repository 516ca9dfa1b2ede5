"""autocast and GradScaler on the CUDA path (the strict CuPy stand-in, or a real GPU): the CUDA lists
apply to CUDA tensors only, and a scaled training step costs at most one host synchronisation."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
import minitorch_optim as optim


def _model():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).to("cuda")


def test_autocast_cuda_lists_apply_to_cuda_tensors_only(cuda_env):
    x = ag.randn(4, 4, device="cuda")
    c = ag.randn(4, 4)
    with ag.autocast("cuda"):                      # float16 by default on CUDA
        assert (x @ x).dtype == ag.float16
        assert (x.half().exp()).dtype == ag.float32          # exp is on CUDA's float32 list
        assert x.half().sum().dtype == ag.float32            # sum: float32 unless a dtype is given
        assert (c @ c).dtype == ag.float32                   # a CPU tensor is not the region's device
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            nn.functional.binary_cross_entropy(x.sigmoid(), x.sigmoid())
    assert (x.half().exp()).dtype == ag.float16


@pytest.mark.parametrize("fused", [False, True])
def test_grad_scaler_cuda_step_has_at_most_one_host_sync(cuda_env, fused):
    if cuda_env is None:
        pytest.skip("the sync count is taken by the stand-in")
    fc = cuda_env
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-3, fused=fused or None, foreach=None if fused else True)
    scaler = ag.amp.GradScaler("cuda", init_scale=2.0 ** 8, growth_interval=2)
    x = ag.randn(5, 8, device="cuda")
    y = ag.randint(0, 3, (5,), device="cuda")
    syncs = []
    for i in range(4):
        opt.zero_grad()
        with ag.autocast("cuda"):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        if i == 1:
            model[0].weight.grad[0, 0] = float("inf")
        fc.reset()
        scaler.step(opt)
        scaler.update()
        syncs.append(fc.counters["syncs"])
    assert max(syncs) <= 1, (syncs, fc.sync_sites)
    assert scaler.get_scale() == 2.0 ** 8        # 256, halved on step 1, doubled after steps 2-3
    assert all(p.dtype == ag.float32 for p in model.parameters())
    assert all(np.isfinite(p.detach().cpu().numpy()).all() for p in model.parameters())
