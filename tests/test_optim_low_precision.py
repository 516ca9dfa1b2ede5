"""Optimizers on float16/bfloat16 parameters: bitwise equal to torch 2.13 on the CPU on the for-loop and
foreach paths (each op in float32, rounded once, with torch's scalar rules per path), state in the
parameter's dtype; the fused Numba kernels load into float32, compute the whole update and round on
store, checked against torch's fused Adam/AdamW/Adagrad and against a float32 emulation of that rule
(torch 2.13's fused CPU SGD leaves 16-bit parameters unchanged, so it is not a reference)."""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as mo
from minitorch_optim import kernels

from _torch_fused_versions import comparable

torch = pytest.importorskip("torch")

DTYPES = {"float16": (ag.float16, torch.float16), "bfloat16": (ag.bfloat16, torch.bfloat16)}
SHAPES = [(37,), (5, 7), (64,)]      # tails of torch's 32-element vector loops, and none
CASES = [("Adam", dict(lr=1e-2)), ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1, maximize=True)),
         ("AdamW", dict(lr=1e-2, weight_decay=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
         ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)), ("SGD", dict(lr=0.1)),
         ("RMSprop", dict(lr=1e-2)), ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=0.1)),
         ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True, lr_decay=0.01)),
         ("Adadelta", dict(weight_decay=0.1, maximize=True, rho=0.5)), ("Adamax", dict(lr=1e-2, weight_decay=0.1)),
         ("ASGD", dict(lr=1e-2)), ("ASGD", dict(lr=1e-2, weight_decay=0.1, maximize=True)),
         ("ASGD", dict(lr=1e-2, t0=2, lambd=0.01)),       # averaging with mu < 1 from the third step
         ("NAdam", dict(lr=1e-2, weight_decay=0.01, decoupled_weight_decay=True)),
         ("NAdam", dict(lr=1e-2, weight_decay=0.1, maximize=True, momentum_decay=0.01)),
         # RAdam rectifies from its sixth step on (beta2 = 0.999): six steps see both branches
         ("RAdam", dict(lr=1e-2, weight_decay=0.01)),
         ("RAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
         ("Rprop", dict(lr=1e-2)), ("Rprop", dict(lr=1e-2, etas=(0.3, 1.7), maximize=True))]


def _data(steps=6, seed=1):
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    gs = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return ps, gs


def _run_torch(cls, kw, dt, ps, gs):
    params = [torch.tensor(p).to(dt).requires_grad_() for p in ps]
    opt = getattr(torch.optim, cls)(params, **kw)
    for g in gs:
        for p, gg in zip(params, g):
            p.grad = torch.tensor(gg).to(dt)
        opt.step()
    return [p.detach().float().numpy() for p in params], [
        {k: v.float().numpy() for k, v in opt.state[p].items() if k != "step"} for p in params]


def _run_ours(cls, kw, dt, ps, gs):
    params = [ag.nn.Parameter(ag.tensor(p).to(dt)) for p in ps]
    opt = getattr(mo, cls)(params, **kw)
    for g in gs:
        for p, gg in zip(params, g):
            p.grad = ag.tensor(gg).to(dt)
        opt.step()
    for p in params:
        for k, v in opt.state[p].items():
            if k != "step" and v.ndim:
                assert v.dtype == dt, (k, v.dtype)      # state in the parameter's dtype, as torch keeps it
            elif k != "step":
                assert v.dtype == ag.float32, (k, v.dtype)     # 0-d eta, mu, mu_product: torch's default dtype
    return [p.detach().to(ag.float32).numpy() for p in params], [
        {k: v.to(ag.float32).numpy() for k, v in opt.state[p].items() if k != "step"} for p in params]


def _equal(a, b):
    return np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("path", [dict(foreach=False), dict(foreach=True), dict()], ids=["forloop", "foreach", "default"])
@pytest.mark.parametrize("cls, kw", CASES, ids=[f"{c}-{'-'.join(k)}" for c, k in CASES])
def test_bitwise_equal_torch(dt, path, cls, kw):
    ours, theirs = DTYPES[dt]
    ps, gs = _data()
    tp, ts = _run_torch(cls, {**kw, **path}, theirs, ps, gs)
    op, os_ = _run_ours(cls, {**kw, **path}, ours, ps, gs)
    for a, b in zip(tp, op):
        assert _equal(a, b)
    for sa, sb in zip(ts, os_):
        assert sa.keys() == sb.keys()
        for k in sa:
            if cls == "ASGD" and k == "eta" and path.get("foreach"):
                # torch's foreach ASGD computes the next eta from its float32 step tensor, its per-tensor
                # loop (and every path of ours, float32 ones included) in float64 from the step count
                np.testing.assert_allclose(sa[k], sb[k], rtol=2e-7)
                continue
            assert _equal(sa[k], sb[k]), k


fused = pytest.mark.skipif(not kernels.supported("Adam"), reason="Numba is not available")


@fused
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("cls, kw", [("Adam", dict(lr=1e-2)), ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
                                     ("AdamW", dict(lr=1e-2, weight_decay=0.1))])
def test_fused_bitwise_equal_torch_fused(dt, cls, kw):
    ours, theirs = DTYPES[dt]
    ps, gs = _data()
    tp, ts = _run_torch(cls, {**kw, "fused": True}, theirs, ps, gs)
    op, os_ = _run_ours(cls, {**kw, "fused": True}, ours, ps, gs)
    for a, b in zip(tp, op):
        assert _equal(a, b)
    for sa, sb in zip(ts, os_):
        for k in sa:
            assert _equal(sa[k], sb[k]), k


@fused
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.37, weight_decay=0.9, eps=1e-2, maximize=True, lr_decay=0.01)],
                         ids=["plain", "wd-maximize-decay"])
def test_fused_adagrad_bitwise_equal_torch_fused_any_size(dt, kw):
    """torch's fused Adagrad contracts two multiply-adds; on 16-bit parameters its scalars are float32 in
    torch 2.14.1 (in 2.13 only in the scalar tail: ``_torch_fused_versions``). Every size (all tail, no
    tail, body + tail) is bitwise equal over several steps where the installed torch keeps them float32."""
    ours, theirs = DTYPES[dt]
    rng = np.random.default_rng(3)
    ps = [rng.standard_normal(n).astype(np.float32) for n in (1, 15, 31, 32, 33, 100, 1000)]
    gs = [[rng.standard_normal(p.shape).astype(np.float32) for p in ps] for _ in range(5)]
    tp, ts = _run_torch("Adagrad", dict(kw, fused=True), theirs, ps, gs)
    op, os_ = _run_ours("Adagrad", dict(kw, fused=True), ours, ps, gs)
    for x, a, b, sa, sb in zip(ps, tp, op, ts, os_):
        m = comparable(torch, x.shape)
        assert _equal(a.reshape(-1)[m], b.reshape(-1)[m])
        assert _equal(sa["sum"].reshape(-1)[m], sb["sum"].reshape(-1)[m])


def _emulated_fused(cls, kw, dt, ps, gs):
    """The fused rule on float32 copies: load, run the float32 update (our float32 path, which the
    float32 kernels equal bit for bit), round the parameter and every state buffer once per step."""
    params = [ag.nn.Parameter(ag.tensor(p).to(dt)) for p in ps]
    shadow = [ag.nn.Parameter(p.detach().to(ag.float32)) for p in params]
    opt = getattr(mo, cls)(shadow, **kw, foreach=True)
    for g in gs:
        for s, gg in zip(shadow, g):
            s.grad = ag.tensor(gg).to(dt).to(ag.float32)
        opt.step()
        with ag.no_grad():
            for s in shadow:
                s.copy_(s.to(dt).to(ag.float32))
                for k, v in opt.state[s].items():
                    if k != "step":
                        v.copy_(v.to(dt).to(ag.float32))
    return [s.detach().numpy() for s in shadow]


@fused
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("cls, kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True,
                                                                                     weight_decay=0.01)),
                                     ("Adam", dict(lr=1e-2)), ("Adagrad", dict(lr=0.1))])
def test_fused_loads_float32_computes_rounds_on_store(dt, cls, kw):
    ours, _ = DTYPES[dt]
    ps, gs = _data(4)
    op, _ = _run_ours(cls, {**kw, "fused": True}, ours, ps, gs)
    want = _emulated_fused(cls, kw, ours, ps, gs) if cls != "Adagrad" else None
    if want is None:      # Adagrad's clr enters the kernel in the parameter dtype (torch's fused kernel)
        return _check_changed(op, ps)
    for a, b in zip(want, op):
        assert _equal(a, b)


def _check_changed(op, ps):
    for a, p in zip(op, ps):
        assert np.abs(a - p).max() > 1e-3       # the parameters moved


def test_fused_cuda_stand_in_traces_16_bit_kernels():
    """The CUDA kernels for 16-bit parameters compute in float (``mt_compute``): load, compute, store."""
    from minitorch_optim._core.trace import trace
    from minitorch_optim.kernels import codegen

    opt = mo.Adam([ag.nn.Parameter(ag.zeros(4, dtype=ag.bfloat16))], lr=1e-3)
    group = opt.param_groups[0]
    names = list(opt.state_buffers(group))
    sc, _ = opt.step_scalars(group, group["lr"], {"step": 0.0})
    sc["first"] = True
    tr = trace(lambda o, p, g, st: opt.update(o, p, g, st, group, sc), names, ag.bfloat16)
    src = codegen.cuda_source(tr, len(names), "adam_bf16")
    assert "typedef typename mt_compute<T>::type C;" in src and "mt_store(P, i, p);" in src
    nsrc = codegen.numba_source(tr, len(names))
    assert "_b2f(P[j])" in nsrc and "P[j] = _f2b(p)" in nsrc


@fused
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("cls, kw", [("Adam", dict(lr=1e-2, weight_decay=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("AdamW", dict(lr=1e-2, amsgrad=True))])
def test_fused_cuda_equals_fused_cpu_on_16_bit(cuda_env, dt, cls, kw):
    """The generated CUDA kernel (on the stand-in's g++ build, or a GPU) loads 16-bit values into float,
    computes and rounds on store: the same bits as the Numba kernel. (The for-loop paths differ between
    the devices, as torch's CPU and CUDA kernels do: the CPU's vector/scalar split is the CPU's.)"""
    ours, _ = DTYPES[dt]
    ps, gs = _data(3)
    out = {}
    for dev in ("cpu", "cuda"):
        params = [ag.nn.Parameter(ag.tensor(p).to(ours).to(dev)) for p in ps]
        opt = getattr(mo, cls)(params, **kw, fused=True)
        for g in gs:
            for p, gg in zip(params, g):
                p.grad = ag.tensor(gg).to(ours).to(dev)
            opt.step()
        out[dev] = [p.detach().cpu().to(ag.float32).numpy() for p in params]
        assert all(v.dtype == ours for st in opt.state.values() for k, v in st.items() if k != "step")
    for a, b in zip(out["cpu"], out["cuda"]):
        assert _equal(a, b)
