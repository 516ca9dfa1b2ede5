"""AveragedModel (SWA / EMA, flat and per-tensor rules) against torch 2.13 and closed forms."""
import copy

import numpy as np
import pytest

import autograd
import autograd.nn as nn
import minitorch_optim as optim
from minitorch_optim import swa_utils
from minitorch_optim.swa_utils import (AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn, get_swa_avg_fn,
                                       get_swa_multi_avg_fn)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """torch's intra-op threads only fight over the shared cores for these tiny shapes."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _ours(kind, dtype=autograd.float64):
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    else:
        m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2))
    return m.to(dtype)


def _theirs(torch, kind, dtype):
    tnn = torch.nn
    if kind == "mlp":
        m = tnn.Sequential(tnn.Linear(4, 6), tnn.BatchNorm1d(6), tnn.ReLU(), tnn.Linear(6, 3))
    else:
        m = tnn.Sequential(tnn.Conv2d(2, 3, 3, padding=1), tnn.BatchNorm2d(3), tnn.ReLU(), tnn.Flatten(),
                           tnn.Linear(3 * 4 * 4, 2))
    return m.to(dtype)


def _perturb(torch, model, rng):
    """New weights and new BatchNorm statistics (a train-mode forward) for the torch model."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))).to(p.dtype))
        shape = (5, 4) if isinstance(model[0], torch.nn.Linear) else (5, 2, 4, 4)
        model.train()
        model(torch.from_numpy(rng.standard_normal(shape)).to(next(model.parameters()).dtype))


def _to_ours(torch_model, ours):
    ours.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})


def _assert_same_state(ours, theirs, rtol):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in b:
        want = b[k].numpy()
        got = a[k].numpy()
        assert got.dtype == want.dtype and got.shape == want.shape, k
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=k)


def _int_safe_swa_multi(torch):
    """torch's SWA list rule, with integer buffers averaged by truncated true division (torch raises)."""
    base = torch.optim.swa_utils.get_swa_multi_avg_fn()

    def fn(avg, cur, n):
        if avg[0].is_floating_point():
            return base(avg, cur, n)
        for a, c in zip(avg, cur):
            a.copy_(a + (c - a) / (n + 1))
    return fn


def _user_multi(lib):
    def fn(avg, cur, n):
        for a, c in zip(avg, cur):
            if a.is_floating_point():
                a.mul_(0.25).add_(c, alpha=0.75)
            else:
                a.copy_(c)
    return fn


def _rules(lib, torch):
    """(name -> kwargs) for our library (lib=None) or for torch."""
    su = torch.optim.swa_utils if lib == "torch" else swa_utils
    return {
        "swa_default": {},
        "swa_multi": {"multi_avg_fn": _int_safe_swa_multi(torch) if lib == "torch" else su.get_swa_multi_avg_fn()},
        "ema_multi": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.8)},
        "ema_avg": {"avg_fn": su.get_ema_avg_fn(0.7)},
        "swa_avg": {"avg_fn": su.get_swa_avg_fn()},
        "user_multi": {"multi_avg_fn": _user_multi(lib)},
        "user_avg": {"avg_fn": lambda a, c, n: 0.25 * a + 0.75 * c},
    }


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("rule", ["swa_default", "swa_multi", "ema_multi", "ema_avg", "swa_avg", "user_multi",
                                  "user_avg"])
def test_averaged_model_matches_torch(kind, use_buffers, rule):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    tm = _theirs(torch, kind, torch.float64)
    om = _ours(kind)
    _to_ours(tm, om)
    t_avg = torch.optim.swa_utils.AveragedModel(tm, use_buffers=use_buffers, **_rules("torch", torch)[rule])
    o_avg = AveragedModel(om, use_buffers=use_buffers, **_rules(None, torch)[rule])
    _assert_same_state(o_avg, t_avg, 0)
    for _ in range(4):
        _perturb(torch, tm, rng)
        _to_ours(tm, om)
        t_avg.update_parameters(tm)
        o_avg.update_parameters(om)
        _assert_same_state(o_avg, t_avg, 1e-13)
    assert o_avg.n_averaged.dtype == np.int64 and o_avg.n_averaged.shape == () and o_avg.n_averaged.item() == 4
    # forward runs the averaged copy
    x = rng.standard_normal((3, 4) if kind == "mlp" else (3, 2, 4, 4))
    o_avg.eval()
    t_avg.eval()
    np.testing.assert_allclose(o_avg(autograd.tensor(x)).numpy(), t_avg(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rule", ["swa_default", "ema_multi", "swa_multi"])
def test_float32_averages_match_torch(rule):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    tm = _theirs(torch, "mlp", torch.float32)
    om = _ours("mlp", autograd.float32)
    _to_ours(tm, om)
    t_avg = torch.optim.swa_utils.AveragedModel(tm, **_rules("torch", torch)[rule])
    o_avg = AveragedModel(om, **_rules(None, torch)[rule])
    for _ in range(5):
        _perturb(torch, tm, rng)
        _to_ours(tm, om)
        t_avg.update_parameters(tm)
        o_avg.update_parameters(om)
    _assert_same_state(o_avg, t_avg, 2e-7)


def test_swa_is_the_mean_and_ema_the_closed_form_with_a_flat_optimizer():
    """Model trained by a foreach (flat-buffer) optimizer: the averages are the closed forms of the snapshots."""
    autograd.manual_seed(0)
    model = _ours("mlp")
    opt = optim.SGD(model.parameters(), lr=0.1, foreach=True)
    swa = AveragedModel(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    x = autograd.randn(8, 4, dtype=autograd.float64)
    snaps = []
    for _ in range(5):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        swa.update_parameters(model)
        ema.update_parameters(model)
        snaps.append([p.numpy().copy() for p in model.parameters()])
    for i, (ps, pe) in enumerate(zip(swa.parameters(), ema.parameters())):
        seq = [s[i] for s in snaps]
        np.testing.assert_allclose(ps.numpy(), np.mean(seq, axis=0), rtol=1e-12, atol=1e-14)
        want = seq[0]
        for s in seq[1:]:
            want = 0.9 * want + 0.1 * s
        np.testing.assert_allclose(pe.numpy(), want, rtol=1e-12, atol=1e-14)
    # one flat array per averaged copy (the model's parameters stay where they are: the optimizer does not move them)
    from minitorch_optim._swa_flat import span
    assert span([p._data for p in swa.parameters()]) is not None
    # the averaged copy is independent of the model and its buffers follow the model
    assert all(a is not b for a, b in zip(swa.parameters(), model.parameters()))
    np.testing.assert_array_equal(swa.module[1].running_mean.numpy(), model[1].running_mean.numpy())


def test_flat_layout_survives_relayout_of_the_averaged_copy():
    """Reloading / retyping the averaged copy rebinds its arrays; later updates still average correctly."""
    rng = np.random.default_rng(2)
    model = _ours("mlp")
    swa = AveragedModel(model)
    vals = []
    for step in range(4):
        for p in model.parameters():
            p._data[...] = rng.standard_normal(p.shape)
        vals.append([p.numpy().copy() for p in model.parameters()])
        swa.update_parameters(model)
        if step == 1:
            swa.module = copy.deepcopy(swa.module)      # fresh arrays, not one flat array any more
    for i, p in enumerate(swa.parameters()):
        np.testing.assert_allclose(p.numpy(), np.mean([v[i] for v in vals], axis=0), rtol=1e-13, atol=1e-15)


def test_state_dict_round_trip_and_device_argument():
    torch = pytest.importorskip("torch")
    tm = _theirs(torch, "mlp", torch.float64)
    om = _ours("mlp")
    _to_ours(tm, om)
    t_avg = torch.optim.swa_utils.AveragedModel(tm, device="cpu")
    o_avg = AveragedModel(om, device="cpu")
    t_avg.update_parameters(tm)
    o_avg.update_parameters(om)
    _assert_same_state(o_avg, t_avg, 0)
    fresh = AveragedModel(_ours("mlp"))
    fresh.load_state_dict({k: v.numpy() for k, v in t_avg.state_dict().items()})
    _assert_same_state(fresh, t_avg, 0)
    assert fresh.n_averaged.item() == 1


def test_rule_functions_called_directly_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((2, 3, 5))
    n_t, n_o = torch.tensor(2), autograd.tensor(2, dtype=autograd.int64)
    for name in ("get_ema_multi_avg_fn", "get_swa_multi_avg_fn"):
        ta, oa = [torch.from_numpy(a0.copy())], [autograd.tensor(a0.copy())]
        args = (0.6,) if "ema" in name else ()
        getattr(torch.optim.swa_utils, name)(*args)(ta, [torch.from_numpy(b0)], n_t)
        getattr(swa_utils, name)(*args)(oa, [autograd.tensor(b0)], n_o)
        np.testing.assert_allclose(oa[0].numpy(), ta[0].numpy(), rtol=1e-15, err_msg=name)
    # SWA list rule with a Python int count uses the exact weight 1/(n+1) (a Tensor count: float32)
    ta, oa = [torch.from_numpy(a0.copy())], [autograd.tensor(a0.copy())]
    torch.optim.swa_utils.get_swa_multi_avg_fn()(ta, [torch.from_numpy(b0)], 2)
    get_swa_multi_avg_fn()(oa, [autograd.tensor(b0)], 2)
    np.testing.assert_allclose(oa[0].numpy(), ta[0].numpy(), rtol=1e-15)
    for name, args in (("get_ema_avg_fn", (0.6,)), ("get_swa_avg_fn", ())):
        want = getattr(torch.optim.swa_utils, name)(*args)(torch.from_numpy(a0), torch.from_numpy(b0), n_t)
        got = getattr(swa_utils, name)(*args)(autograd.tensor(a0), autograd.tensor(b0), n_o)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-15, err_msg=name)
    # a strided (non-contiguous) tensor is updated in place too
    base = autograd.tensor(a0.copy())
    view = base.t()
    get_ema_multi_avg_fn(0.5)([view], [autograd.tensor(b0.T.copy())], 1)
    np.testing.assert_allclose(base.numpy(), 0.5 * a0 + 0.5 * b0, rtol=1e-14, atol=1e-15)


def test_errors_match_torch():
    torch = pytest.importorskip("torch")
    m = _ours("mlp")
    tm = _theirs(torch, "mlp", torch.float64)
    for ours, theirs in (
        (lambda: AveragedModel(m, avg_fn=get_swa_avg_fn(), multi_avg_fn=get_swa_multi_avg_fn()),
         lambda: torch.optim.swa_utils.AveragedModel(tm, avg_fn=torch.optim.swa_utils.get_swa_avg_fn(),
                                                     multi_avg_fn=torch.optim.swa_utils.get_swa_multi_avg_fn())),
        (lambda: get_ema_multi_avg_fn(1.5), lambda: torch.optim.swa_utils.get_ema_multi_avg_fn(1.5)),
        (lambda: get_ema_avg_fn(-0.1), lambda: torch.optim.swa_utils.get_ema_avg_fn(-0.1)),
    ):
        with pytest.raises(Exception) as want:
            theirs()
        with pytest.raises(type(want.value)) as got:
            ours()
        assert str(got.value) == str(want.value)


def test_averaged_copy_in_another_dtype_reads_the_model_values():
    """A float64 average of a float32 model: the model's values are gathered and cast each update."""
    rng = np.random.default_rng(4)
    model = _ours("mlp", autograd.float32)
    swa = AveragedModel(model)
    swa.module.double()
    vals = []
    for _ in range(3):
        for p in model.parameters():
            p._data[...] = rng.standard_normal(p.shape)
        vals.append([p.numpy().astype(np.float64) for p in model.parameters()])
        swa.update_parameters(model)
    for i, p in enumerate(swa.parameters()):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.numpy(), np.mean([v[i] for v in vals], axis=0), rtol=1e-13, atol=1e-15)


@pytest.mark.skipif(not autograd.cuda.is_available(), reason="needs CUDA (CuPy)")
@pytest.mark.parametrize("where", ["cuda", "cpu"])
def test_model_on_cuda_with_average_on_cuda_or_cpu(where):
    """EMA/SWA of a CUDA model kept on the GPU or on the CPU (values moved to the average's device)."""
    rng = np.random.default_rng(5)
    model = _ours("mlp").to("cuda")
    ema = AveragedModel(model, device=where, multi_avg_fn=get_ema_multi_avg_fn(0.5), use_buffers=True)
    swa = AveragedModel(model, device=where)
    snaps = []
    for _ in range(3):
        with autograd.no_grad():
            for p in model.parameters():
                p.copy_(autograd.tensor(rng.standard_normal(p.shape), device="cuda"))
        snaps.append([p.numpy() for p in model.parameters()])
        ema.update_parameters(model)
        swa.update_parameters(model)
    assert str(next(ema.parameters()).device).startswith(where) and str(ema.n_averaged.device).startswith(where)
    for i, (pe, ps) in enumerate(zip(ema.parameters(), swa.parameters())):
        seq = [s[i] for s in snaps]
        np.testing.assert_allclose(pe.numpy(), 0.25 * seq[0] + 0.25 * seq[1] + 0.5 * seq[2], rtol=1e-12)
        # on CUDA torch's default SWA is a lerp with a float32 weight 1/(n+1); on the CPU an exact division
        np.testing.assert_allclose(ps.numpy(), np.mean(seq, axis=0), rtol=1e-6 if where == "cuda" else 1e-13,
                                   atol=1e-7 if where == "cuda" else 1e-15)
