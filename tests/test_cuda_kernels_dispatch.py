"""The CUDA fused path end to end on the CPU: optimizers step through ``kernels.fused_step`` with the
``_cuda`` backend running the g++-built kernels (tests/_cuda_emu.py) on the flat NumPy buffers, and must
match the for-loop path step for step, including skipped steps (``found_inf``) and ``grad_scale``."""
from __future__ import annotations

import types

import numpy as np
import pytest

import minitorch_optim as optim
from autograd import Tensor
from autograd.nn import Parameter
from minitorch_optim import kernels
from minitorch_optim.kernels.cuda import launch as _cuda

_cuda_emu = pytest.importorskip("_cuda_emu")
if _cuda_emu.compiler() is None:
    pytest.skip("no host C++ compiler for the kernel emulation", allow_module_level=True)

CASES = {
    "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.1),
    "AdamW": dict(lr=0.01, maximize=True),
    "SGD": dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adamax": dict(lr=0.01, weight_decay=0.1),
    "NAdam": dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1),
    "RAdam": dict(lr=0.01, betas=(0.9, 0.9)),
    "Adadelta": dict(lr=0.5, weight_decay=0.1),
    "ASGD": dict(lr=0.05, t0=2, lambd=0.1),
    "Rprop": dict(lr=0.01, etas=(0.4, 1.3)),
}


@pytest.fixture
def emu_backend(monkeypatch):
    runner = _cuda_emu.EmuRunner(grid=2, block=8)
    fake = types.SimpleNamespace(supports=_cuda.supports,
                                 launch=lambda *a: _cuda.launch(*a, runner=runner))
    monkeypatch.setattr(kernels, "_backend", lambda flat: fake)
    return runner


def _params(rng, dtype):
    shapes = [(3, 5), (7,), (), (0,), (4, 4)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_matches_forloop_with_skips_and_scaling(name, dtype, emu_backend):
    rng = np.random.default_rng(7)
    init = _params(rng, dtype)
    ours = [Parameter(Tensor._wrap(a.copy())) for a in init]
    ref = [Parameter(Tensor._wrap(a.copy())) for a in init]
    opt = getattr(optim, name)(ours, **CASES[name])
    opt.param_groups[0]["fused"] = True          # force the fused path (kernels.fused_step)
    ref_opt = getattr(optim, name)(ref, foreach=False, **CASES[name])
    scale = 256.0
    # step 3 is skipped (found_inf), param 1 has no gradient at step 2, found_inf starts at step 2
    for step, skip in enumerate([0, 0, 0, 1, 0, 0]):
        grads = [rng.standard_normal(a.shape).astype(dtype) for a in init]
        for i, (p, q, gr) in enumerate(zip(ours, ref, grads)):
            none = step == 2 and i == 1
            p.grad = None if none else Tensor._wrap((gr * dtype(scale)).astype(dtype))
            q.grad = None if none else Tensor._wrap(gr.copy())
        opt.grad_scale = np.array([scale], np.float32)
        opt.found_inf = np.array([float(skip)], np.float32) if step >= 2 else None
        opt.step()
        if not skip:
            ref_opt.step()
        flat = next(iter(opt._flat_groups(opt.param_groups[0]).values()))
        for k, (p, q) in enumerate(zip(ours, ref)):
            np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=f"step {step} param {k}")
            if q.grad is not None and not skip:     # the unscaled gradient is written back (flat grad)
                np.testing.assert_array_equal(flat.gviews[k], q.grad.numpy())
    assert "_step" in emu_backend.calls[0]
    for p, q in zip(ours, ref):
        a, b = opt.state.get(p, {}), ref_opt.state.get(q, {})
        assert set(a) == set(b)
        for k in b:
            np.testing.assert_array_equal(np.asarray(a[k].numpy()), np.asarray(b[k].numpy()), err_msg=k)
    if _cuda.SPECS[name].state:        # the step counter lives on the "device" copy after found_inf was used
        assert "_advance" in emu_backend.calls[-1]
        assert float(opt.state[ours[0]]["step"].numpy()) == 5.0


def test_layout_table_is_reused_until_runs_change(emu_backend):
    ps = [Parameter(Tensor._wrap(np.ones(n, np.float32))) for n in (5, 70000, 3)]
    opt = optim.Adam(ps, lr=0.1)
    opt.param_groups[0]["fused"] = True
    for p in ps:
        p.grad = Tensor._wrap(np.ones(p.shape, np.float32))
    opt.step()
    flat = next(iter(opt._flat_groups(opt.param_groups[0]).values()))
    table = flat._mt_cuda.table
    # runs are cut at multiples of CHUNK: [0,5+70000+3) -> rows [0,32768), [32768,65536), [65536,70008)
    np.testing.assert_array_equal(table.reshape(-1, 3), [[0, 32768, 0], [32768, 32768, 0], [65536, 4472, 0]])
    opt.step()
    assert flat._mt_cuda.table is table
    ps[1].grad = None
    opt.step()                           # params 0 and 2 step, 1 does not: two runs, a new table
    assert flat._mt_cuda.table is not table
    np.testing.assert_array_equal(flat._mt_cuda.table.reshape(-1, 3), [[0, 5, 0], [70005, 3, 1]])
    np.testing.assert_allclose(ps[1].numpy(), 1 - 2 * 0.1, rtol=1e-6)     # two Adam steps of size lr
