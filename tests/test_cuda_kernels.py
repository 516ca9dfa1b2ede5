"""CUDA fused kernels without a GPU, on the generated sources: every kernel of every elementwise optimizer
(``python -m minitorch_optim.kernels --emit-cuda``) compiles with NVRTC for sm_80 and sm_90 under CuPy's
real option set, and the same kernels, built with g++ behind tests/cuda_shim/cuda_shim.h and launched
through the real CUDA executor (address tables, chunk table, scalar rows), are bitwise equal to the foreach
and for-loop paths for every optimizer × flag combination × dtype."""
from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np
import pytest

from autograd import Tensor
from autograd.nn import Parameter
from minitorch_optim import kernels
from minitorch_optim.kernels import variants
from minitorch_optim.kernels.cuda import launch as _cuda

_cuda_emu = pytest.importorskip("_cuda_emu")
if _cuda_emu.compiler() is None:
    pytest.skip("no host C++ compiler for the kernel emulation", allow_module_level=True)

CLASSES = variants.elementwise_classes()
CASES = [(cls, kw) for cls in CLASSES for kw in variants.configs(cls)]
SHAPES = [(3, 5), (7,), (), (0,), (20000,), (4, 4)]


def all_kernels():
    return [_cuda.kernel_source(tr, n) for cls in CLASSES for _, _, tr, n in variants.traces(cls)]


@pytest.fixture(scope="module")
def emu_lib():
    return _cuda_emu.build_many(all_kernels())


@pytest.fixture
def cuda_on_cpu(monkeypatch, emu_lib):
    """Fused steps go to the CUDA executor, whose kernels run in the g++ build over the NumPy arrays."""
    runner = _cuda_emu.EmuRunner(grid=3, block=32, lib=emu_lib)
    monkeypatch.setattr(kernels, "backend", lambda flat: "cuda")
    monkeypatch.setattr(_cuda, "_RUNNER", runner)
    return runner


def _run(cls, kw, dtype, path, steps=4, grad_scale=None):
    rng = np.random.default_rng(0)
    ps = [Parameter(Tensor._wrap(rng.standard_normal(s).astype(dtype))) for s in SHAPES]
    opt = cls(ps, **kw, **path)
    for step in range(steps):
        for i, p in enumerate(ps):
            g = rng.standard_normal(p.shape).astype(dtype)
            g[rng.random(p.shape) < 0.1] = 0            # exact zeros (Rprop's sign cases)
            p.grad = None if (step == 1 and i == 1) else Tensor._wrap(g)   # a gap: the step has two runs
        if grad_scale is not None:
            opt.grad_scale = np.array([grad_scale], np.float32)
        opt.step()
    out = [p.numpy().copy() for p in ps]
    for p in ps:
        for k, v in sorted(opt.state.get(p, {}).items()):
            out.append(np.asarray(v.numpy()).copy())
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generated_kernels_bitwise_equal_to_foreach_and_forloop(cuda_on_cpu, dtype):
    for cls, kw in CASES:
        fused = _run(cls, kw, dtype, {"fused": True})
        for path in ({"foreach": True}, {"foreach": False}):
            other = _run(cls, kw, dtype, path)
            assert len(fused) == len(other)
            for a, b in zip(fused, other):
                np.testing.assert_array_equal(a, b, err_msg=f"{cls.__name__} {kw} {path}")
    assert cuda_on_cpu.calls and all(c.startswith("mt_") for c in cuda_on_cpu.calls)


def test_grad_scale_and_subclass_keep_the_fused_path(cuda_on_cpu):
    from minitorch_optim import Adam

    class MyAdam(Adam):
        pass

    n = len(cuda_on_cpu.calls)
    a = _run(MyAdam, {"amsgrad": True}, np.float32, {}, grad_scale=8.0)
    assert len(cuda_on_cpu.calls) > n           # the default path of a subclass is fused
    b = _run(Adam, {"amsgrad": True}, np.float32, {"foreach": False}, grad_scale=8.0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_emit_cuda_writes_every_kernel(tmp_path):
    from minitorch_optim.kernels.__main__ import main

    assert main(["--emit-cuda", str(tmp_path)]) == 0
    files = sorted(os.listdir(tmp_path))
    want = {f"{cls.__name__}_{lab}_{dt}.cu" for cls in CLASSES for lab, dt, _, _ in variants.traces(cls)}
    assert set(files) == want
    assert {f.split("_")[0] for f in files} == {c.__name__ for c in CLASSES}
    text = (tmp_path / files[0]).read_text()
    assert "#include" not in text.replace('#include "cuda_shim.h"', "") and "template __global__ void" in text


# ---- NVRTC ---------------------------------------------------------------------------------------------------
def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc

        nvrtc.getVersion()
        return nvrtc
    except Exception as e:  # noqa: BLE001 - any failure to load libnvrtc means: cannot check here
        pytest.skip(f"NVRTC cannot be loaded (pip install cupy-cuda13x nvidia-cuda-nvrtc): {e}")


def cupy_options(arch):
    """What the launcher's ``nvrtc.Module`` hands NVRTC through CuPy 14's ``compile_using_nvrtc``: ours, then
    ``-ftz=false`` (no flush of float32 subnormals; ``RawModule(code=...)`` would append ``-ftz=true``), the
    architecture and ``--device-as-default-execution-space``."""
    from minitorch_optim.kernels.cuda.nvrtc import NO_FTZ

    return [*_cuda.OPTIONS, *NO_FTZ, f"-arch={arch}", "--device-as-default-execution-space"]


def _compile(nvrtc, src, names, arch, what):
    opts = cupy_options(arch)
    key = hashlib.sha256(repr((src, names, opts, nvrtc.getVersion())).encode()).hexdigest()[:20]
    marker = os.path.join(tempfile.gettempdir(), "minitorch_optim_nvrtc", key)
    if os.path.exists(marker):          # this exact compilation already succeeded on this machine
        return
    prog = nvrtc.createProgram(src, "kernels.cu", [], [])
    try:
        for n in names:
            nvrtc.addNameExpression(prog, n)
        try:
            nvrtc.compileProgram(prog, opts)
        except nvrtc.NVRTCError as e:
            pytest.fail(f"{what} does not compile for {arch}: {e}\n{nvrtc.getProgramLog(prog)}")
        assert len(nvrtc.getCUBIN(prog)) > 1000
        for n in names:
            assert nvrtc.getLoweredName(prog, n).startswith("_Z")
    finally:
        nvrtc.destroyProgram(prog)
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    open(marker, "w").close()


@pytest.mark.parametrize("arch,ctypes", [("sm_90", tuple(_cuda.CTYPES.values())), ("sm_80", ("float", "double"))])
def test_nvrtc_compiles_every_generated_kernel(arch, ctypes):
    """All generated kernels in one program (header once), instantiated as CuPy names them."""
    nvrtc = _nvrtc()
    ks = dict(all_kernels())
    src = _cuda.header() + "\n".join(s.replace('#include "mt_launcher.h"', "") for s in ks.values())
    _compile(nvrtc, src, [f"{n}<{ct}>" for n in ks for ct in ctypes], arch, "the generated kernels")


def test_nvrtc_compiles_emitted_files_standalone(tmp_path):
    nvrtc = _nvrtc()
    from minitorch_optim.kernels.__main__ import emit_cuda

    written = emit_cuda(str(tmp_path), [c for c in CLASSES if c.__name__ in ("Adam", "Rprop")])
    for path, name, ct in written[::5]:
        with open(path) as fh:
            _compile(nvrtc, fh.read(), [], "sm_90", os.path.basename(path))
    _compile(nvrtc, _cuda.standalone(_cuda.avg_source()), [f"avg_update<{t}>" for t in _cuda.CTYPES.values()],
             "sm_80", "avg.cu")


# ---- 16-bit storage and the averaging kernel ---------------------------------------------------------------------
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
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_cuda_emu.convert("emu_f2h", f, np.uint16), f.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(_cuda_emu.convert("emu_f2b", f, np.uint16), _bf16(f))
    from autograd.dtypes import bfloat16

    nans = np.array([0x7FC00000, 0x7F800001, 0xFFA00000, 0x7FBFFFFF, 0xFFFFFFFF], np.uint32).view(np.float32)
    np.testing.assert_array_equal(_cuda_emu.convert("emu_f2b", nans, np.uint16),   # ml_dtypes' quiet NaNs
                                  nans.astype(bfloat16).view(np.uint16))


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
                                     ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_half_storage_is_float_math_rounded_once(name, kw):
    """float16 parameters: the float32 update on the widened values, each stored result rounded to half once."""
    import minitorch_optim as optim
    from minitorch_optim._core.flat import FlatGroup
    from minitorch_optim._core.trace import trace

    rng = np.random.default_rng(1)
    shapes = [(5,), (300,), (0,), (33,)]
    init = [rng.standard_normal(s).astype(np.float16) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float16) for s in shapes]
    ref = [Parameter(Tensor._wrap(a.astype(np.float32))) for a in init]
    ropt = getattr(optim, name)(ref, foreach=True, **kw)
    for p, g in zip(ref, grads):
        p.grad = Tensor._wrap(g.astype(np.float32))
    ropt.step()
    ps = [Parameter(Tensor._wrap(a.copy())) for a in init]
    opt = getattr(optim, name)(ps, **kw)
    group = opt.param_groups[0]
    flat = FlatGroup(ps, opt.state, opt.state_buffers(group), opt.scalar_state(group))
    for p, g in zip(ps, grads):
        p.grad = Tensor._wrap(g.copy())
    idx = flat.collect(opt.state)
    sc, _ = opt.step_scalars(group, group["lr"], {k: 0.0 for k in flat.scalars})
    sc["first"] = True
    names = list(opt.state_buffers(group))
    tr = trace(lambda o, p, g, st: opt.update(o, p, g, st, group, sc), names, np.dtype(np.float32))
    _cuda.launch(flat, tr, len(names), [(idx[0], idx[-1] + 1)], [tr.scalars], [flat.buffers[n] for n in names],
                 _cuda_emu.EmuRunner())
    for p, q in zip(ps, ref):
        np.testing.assert_array_equal(p.numpy().view(np.uint16), q.numpy().astype(np.float16).view(np.uint16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("mode,value", [("lerp", 0.001), ("lerp", 0.75), ("blend", 0.9), ("divide", 4.0)])
def test_avg_update_matches_swa_flat(dtype, mode, value):
    from minitorch_optim import _swa_flat

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

