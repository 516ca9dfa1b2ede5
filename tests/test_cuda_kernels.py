"""CUDA fused kernels without a GPU: NVRTC compiles every ``.cu`` (sm_80, sm_90) and the same sources, built
with g++ behind tests/cuda_shim/cuda_shim.h, reproduce the algorithms' reference update (``_update`` on
NumPy ``ArrayOps``) bit for bit, through the real ``_cuda.launch`` packing."""
from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorch_optim as optim
from autograd.nn import Parameter
from minitorch_optim._core.ops import NUMPY_OPS
from minitorch_optim.kernels import Entry
from minitorch_optim.kernels.cuda import launch as _cuda

_cuda_emu = pytest.importorskip("_cuda_emu")
if _cuda_emu.compiler() is None:
    pytest.skip("no host C++ compiler for the kernel emulation", allow_module_level=True)

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
B = st.booleans()
WD = st.sampled_from([0.0, 0.1])
LR = st.sampled_from([1e-3, 0.05, 0.5])
BETAS = st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
CONFIGS = {
    "Adam": st.fixed_dictionaries(dict(lr=LR, betas=BETAS, eps=st.sampled_from([1e-8, 1e-3]), weight_decay=WD,
                                       amsgrad=B, maximize=B, decoupled_weight_decay=B)),
    "AdamW": st.fixed_dictionaries(dict(lr=LR, betas=BETAS, weight_decay=WD, amsgrad=B, maximize=B)),
    "SGD": st.one_of(
        st.fixed_dictionaries(dict(lr=LR, momentum=st.sampled_from([0.0, 0.9]), dampening=st.sampled_from([0.0, 0.3]),
                                   weight_decay=WD, maximize=B)),
        st.fixed_dictionaries(dict(lr=LR, momentum=st.just(0.8), nesterov=st.just(True), weight_decay=WD,
                                   maximize=B))),
    "Adagrad": st.fixed_dictionaries(dict(lr=LR, lr_decay=st.sampled_from([0.0, 0.01]), weight_decay=WD,
                                          eps=st.sampled_from([1e-10, 1e-3]), maximize=B)),
    "RMSprop": st.fixed_dictionaries(dict(lr=LR, alpha=st.sampled_from([0.99, 0.5]), weight_decay=WD,
                                          momentum=st.sampled_from([0.0, 0.7]), centered=B, maximize=B)),
    "Adamax": st.fixed_dictionaries(dict(lr=LR, betas=BETAS, weight_decay=WD, maximize=B)),
    "NAdam": st.fixed_dictionaries(dict(lr=LR, betas=BETAS, weight_decay=WD, decoupled_weight_decay=B, maximize=B,
                                        momentum_decay=st.sampled_from([4e-3, 0.1]))),
    "RAdam": st.fixed_dictionaries(dict(lr=LR, betas=st.sampled_from([(0.9, 0.999), (0.9, 0.7)]), weight_decay=WD,
                                        decoupled_weight_decay=B, maximize=B)),
    "Adadelta": st.fixed_dictionaries(dict(lr=st.sampled_from([1.0, 0.3]), rho=st.sampled_from([0.9, 0.5]),
                                           weight_decay=WD, maximize=B)),
    "ASGD": st.fixed_dictionaries(dict(lr=LR, lambd=st.sampled_from([1e-4, 0.1]), alpha=st.sampled_from([0.75, 1.0]),
                                       t0=st.sampled_from([1e6, 3.0]), weight_decay=WD, maximize=B)),
    "Rprop": st.fixed_dictionaries(dict(lr=LR, etas=st.sampled_from([(0.5, 1.2), (0.3, 1.5)]),
                                        step_sizes=st.sampled_from([(1e-6, 50), (1e-3, 0.2)]), maximize=B)),
}
NAMES = sorted(CONFIGS)


class FakeFlat:
    """The attributes of ``_flat.FlatGroup`` that ``_cuda.launch`` reads, over NumPy arrays."""

    def __init__(self, rng, opt, group, sizes, dtype):
        self.params = [None] * len(sizes)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
        n = self.offsets[-1]
        self.param = rng.standard_normal(n).astype(dtype)
        self.grad = rng.standard_normal(n).astype(dtype)
        self.grad[rng.random(n) < 0.1] = 0           # exact zeros (Rprop's sign cases)
        self.buffers = {}
        for k in opt._buffers(group):
            b = rng.random(n) + 0.01 if k in ("exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg", "exp_inf",
                                              "acc_delta", "step_size") else rng.standard_normal(n) * 0.1
            if k == "prev":
                b = np.where(rng.random(n) < 0.3, 0.0, rng.standard_normal(n))
            self.buffers[k] = b.astype(dtype)
        if "max_exp_avg_sq" in self.buffers:
            self.buffers["max_exp_avg_sq"] = np.maximum(self.buffers["max_exp_avg_sq"], self.buffers["exp_avg_sq"])
        self.scalars = {k: np.zeros(len(sizes), np.float32) for k in opt._scalar_state(group)}
        self.sdicts = [{} for _ in sizes]
        self.fresh = set()

    def arrays(self):
        return [self.param.copy(), self.grad.copy()] + [b.copy() for b in self.buffers.values()]


def make_opt(name, kw):
    return getattr(optim, name)([Parameter(np.zeros(2))], **kw)


def random_state(rng, name, group, n):
    """Per-parameter scalar state (as stored: float32) for ``n`` parameters."""
    step = rng.integers(0, 12, n).astype(np.float32)
    out = {"step": step}
    if name == "NAdam":
        out["mu_product"] = rng.uniform(0.05, 1.0, n).astype(np.float32)
    if name == "ASGD":
        out["eta"] = np.float32(group["lr"]) * rng.uniform(0.5, 1.0, n).astype(np.float32)
        out["mu"] = rng.choice(np.array([1.0, 0.5, 0.125], np.float32), n)
    return out


def reference(opt, group, flat, arrays, i0, i1, s, first, scale):
    """The algorithm's own update on NumPy views of ``arrays`` for params [i0, i1) with scalar state ``s``."""
    lo, hi = flat.offsets[i0], flat.offsets[i1]
    p, g, *bufs = arrays
    if scale is not None:
        g[lo:hi] = g[lo:hi] / g.dtype.type(np.float32(scale))
    sc, new = opt._scalars(group, float(group["lr"]), s)
    sc["first"] = first
    opt._update(NUMPY_OPS, p[lo:hi], g[lo:hi], {k: b[lo:hi] for k, b in zip(flat.buffers, bufs)}, group, sc)
    return sc, new


def check_same(got, want, what):
    for a, b, k in zip(got, want, what):
        np.testing.assert_array_equal(a, b, err_msg=k)


def draw_layout(data, rng):
    sizes = data.draw(st.lists(st.sampled_from([0, 1, 3, 4, 7, 64, 129, 1000]), min_size=1, max_size=6))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(sizes)), max_size=3))) | {len(sizes)})
    runs, a = [], 0
    for c in cuts:
        if c > a and data.draw(st.integers(0, 4)):        # sometimes a run is left out (params with no grad)
            runs.append((a, c))
        a = c
    return sizes, runs or [(0, len(sizes))]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(data=st.data())
def test_host_scalars_match_reference(name, dtype, data):
    """Runs with different scalar state in one launch, grad_scale or not, odd/empty sizes, any grid shape."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    opt = make_opt(name, data.draw(CONFIGS[name]))
    group = opt.param_groups[0]
    sizes, runs = draw_layout(data, rng)
    flat = FakeFlat(rng, opt, group, sizes, dtype)
    scale = data.draw(st.sampled_from([None, 1.0, 1024.0, 3.0]))
    want = flat.arrays()
    entries = []
    for i0, i1 in runs:
        st_run = random_state(rng, name, group, 1)
        s = {k: float(v[0]) for k, v in st_run.items() if k in flat.scalars}
        first = bool(rng.integers(0, 2))
        sc, new = reference(opt, group, flat, want, i0, i1, s, first, scale)
        entries.append(Entry(i0, i1, flat.offsets[i0], flat.offsets[i1], sc, new))
    runner = _cuda_emu.EmuRunner(grid=data.draw(st.sampled_from([None, 1, 3])),
                                 block=data.draw(st.sampled_from([None, 1, 5, 32])))
    gs = None if scale is None else np.array([scale], np.float32)
    advanced = _cuda.launch(name, flat, entries, group, gs, None, runner)
    assert advanced is False and runner.calls in ([], [_cuda.SPECS[name].file + "_step"])
    check_same(flat.arrays(), want, ["param", "grad", *flat.buffers])


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data(), skip=st.booleans())
def test_found_inf_device_state(name, data, skip):
    """found_inf: scalar state on the device, scalars computed in the kernel; a set flag changes nothing."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    opt = make_opt(name, data.draw(CONFIGS[name]))
    group = opt.param_groups[0]
    sizes, runs = draw_layout(data, rng)
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    flat = FakeFlat(rng, opt, group, sizes, dtype)
    state = random_state(rng, name, group, len(sizes))
    for k in flat.scalars:
        flat.scalars[k][:] = state[k]
    want, before = flat.arrays(), flat.arrays()
    want_state = {k: v.copy() for k, v in flat.scalars.items()}
    entries = []
    for i0, i1 in runs:
        first = bool(rng.integers(0, 2))
        for i in range(i0, i1):        # the device keeps per-parameter state: the reference goes param by param
            s = {k: float(flat.scalars[k][i]) for k in flat.scalars}
            sc, new = reference(opt, group, flat, want, i, i + 1, s, first, None)
            for k, v in new.items():
                want_state[k][i] = v
        entries.append(Entry(i0, i1, flat.offsets[i0], flat.offsets[i1], dict(sc, first=first), {}))
    advanced = _cuda.launch(name, flat, entries, group, None, np.array([float(skip)], np.float32),
                            _cuda_emu.EmuRunner())
    spec = _cuda.SPECS[name]
    assert advanced == bool(spec.state)
    check_same(flat.arrays(), before if skip else want, ["param", "grad", *flat.buffers])
    if spec.state:
        dstate = flat._mt_cuda.dstate
        for j, k in enumerate(spec.state):
            exp = flat.scalars[k] if skip else want_state[k]
            np.testing.assert_array_equal(dstate[:, j], exp, err_msg=k)
            assert all(float(d[k].numpy()) == e for d, e in zip(flat.sdicts, exp))   # state views on dstate


def _bf16(x):
    """float32 -> bfloat16 bits, nearest even (NumPy has no bfloat16)."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def test_16bit_conversions():
    h = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(_cuda_emu.convert("emu_h2f", h, np.float32).view(np.uint32),
                                  h.view(np.float16).astype(np.float32).view(np.uint32))
    rng = np.random.default_rng(0)
    f = np.concatenate([rng.standard_normal(20000).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, 20000),
                        h.view(np.float16).astype(np.float32),
                        (h.view(np.float16).astype(np.float32) + np.float32(2.0 ** -25)),   # near ties
                        np.array([65519.9, 65520, 1e9, -1e9, np.inf, -np.inf], np.float32)]).astype(np.float32)
    f = f[~np.isnan(f)]
    np.testing.assert_array_equal(_cuda_emu.convert("emu_f2h", f, np.uint16), f.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(_cuda_emu.convert("emu_f2b", f, np.uint16), _bf16(f))


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_half_storage_is_float_math_rounded_once(name):
    """float16 parameters: the float32 reference on the widened values, each result rounded to half once."""
    rng = np.random.default_rng(1)
    kw = {"Adam": dict(lr=0.1, amsgrad=True, weight_decay=0.1), "SGD": dict(lr=0.1, momentum=0.9, nesterov=True),
          "RMSprop": dict(lr=0.01, centered=True, momentum=0.5)}[name]
    opt = make_opt(name, kw)
    group = opt.param_groups[0]
    flat = FakeFlat(rng, opt, group, [5, 300, 0, 33], np.float16)
    want = [a.astype(np.float32) for a in flat.arrays()]
    sc, new = reference(opt, group, flat, want, 0, 4, {k: 3.0 for k in flat.scalars}, False, 8.0)
    _cuda.launch(name, flat, [Entry(0, 4, 0, flat.offsets[-1], sc, new)], group, np.array([8.0], np.float32), None,
                 _cuda_emu.EmuRunner())
    check_same([a.view(np.uint16) for a in flat.arrays()], [a.astype(np.float16).view(np.uint16) for a in want],
               ["param", "grad", *flat.buffers])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("mode,value", [("lerp", 0.001), ("lerp", 0.75), ("blend", 0.9), ("divide", 4.0)])
def test_avg_update_matches_swa_flat(dtype, mode, value):
    from minitorch_optim._core import swa_flat as _swa_flat

    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    want = a.copy()
    {"lerp": lambda: _swa_flat.lerp(want, b, value), "blend": lambda: _swa_flat.blend(want, b, value),
     "divide": lambda: _swa_flat.swa_divide(want, b, value - 1)}[mode]()
    _cuda.avg_update(a, b, mode, value, _cuda_emu.EmuRunner(grid=3, block=7))
    np.testing.assert_array_equal(a, want)


def test_ema_update_is_lerp_by_one_minus_decay():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(77), rng.standard_normal(77)
    want = a + (b - a) * (1 - 0.999)
    _cuda.ema_update(a, b, 0.999, _cuda_emu.EmuRunner())
    np.testing.assert_array_equal(a, want)


# ---- NVRTC: every kernel source compiles for the GPUs we target --------------------------------------------------
def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
        return nvrtc
    except Exception as e:  # noqa: BLE001 - any failure to load libnvrtc means: cannot check here
        pytest.skip(f"NVRTC cannot be loaded (pip install cupy-cuda13x nvidia-cuda-nvrtc): {e}")


@pytest.mark.parametrize("arch,ctypes", [("sm_90", tuple(_cuda.CTYPES.values())), ("sm_80", ("float", "bf16_t"))])
@pytest.mark.parametrize("file", _cuda.FILES)
def test_nvrtc_compiles(file, arch, ctypes):
    nvrtc = _nvrtc()
    src, names = _cuda.source(file), _cuda.name_expressions(file, ctypes)
    opts = [f"--gpu-architecture={arch}", *_cuda.OPTIONS]
    key = hashlib.sha256(repr((src, names, opts, nvrtc.getVersion())).encode()).hexdigest()[:20]
    marker = os.path.join(tempfile.gettempdir(), "minitorch_optim_nvrtc", key)
    if os.path.exists(marker):          # this exact compilation already succeeded on this machine
        return
    prog = nvrtc.createProgram(src, file + ".cu", [], [])
    try:
        for n in names:
            nvrtc.addNameExpression(prog, n)
        try:
            nvrtc.compileProgram(prog, opts)
        except nvrtc.NVRTCError as e:
            pytest.fail(f"{file}.cu does not compile for {arch}: {e}\n{nvrtc.getProgramLog(prog)}")
        assert len(nvrtc.getCUBIN(prog)) > 1000
        for n in names:
            assert nvrtc.getLoweredName(prog, n).startswith("_Z")
    finally:
        nvrtc.destroyProgram(prog)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    open(marker, "w").close()
