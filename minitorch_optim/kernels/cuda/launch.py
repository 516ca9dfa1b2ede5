"""CUDA fused updates: the ``.cu`` kernels beside this file, compiled with NVRTC through ``cupy.RawModule``.

One launch updates every run of a device+dtype+group. The host packs

* a launch table of ``(offset, length, scalar row)`` int64 triples (each run cut into chunks of at most
  ``CHUNK`` elements at absolute multiples of ``CHUNK``, so blocks get even work and only a run's first
  chunk can start unaligned); it is kept on the device and rebuilt only when the run layout changes;
* one float64 array ``[hyper-parameters | per-row scalars]`` (the per-row scalars are ``entry.sc``, i.e.
  the optimizer's own ``_scalars``: the same Python numbers the other paths use).

Kernels are templated on the storage type (float, double, and 16-bit ``half_t``/``bf16_t`` computed in
float), compiled once per file+dtype+device and cached. They are built with ``--fmad=false`` so no
multiply-add is contracted and every operation rounds as the NumPy reference does.

``found_inf`` without a host synchronisation: the first time a flat group is stepped with ``found_inf``
its per-parameter scalar state (``step``, NAdam's ``mu_product``, ASGD's ``eta``/``mu``) moves to a
float32 device array (``state[p]["step"]`` then is a 0-d device Tensor, as in torch's fused path). From
then on the kernels compute the step-dependent scalars (bias corrections ...) from that device state, a
second tiny ``*_advance`` launch moves it on unless ``*found_inf`` is non-zero, and ``launch`` returns
True so the dispatcher leaves the (now frozen) host copy alone. Known last-bit differences there: CUDA's
``pow`` may differ from the host libm's by an ulp; a float32 Tensor ``lr`` is used at float64 precision.
``grad_scale`` divides each gradient in the kernel and the unscaled gradient is written back (torch).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from ...optimizer import scalar

HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK = 32768          # elements per launch-table row
BLOCK = 256
MAX_GRID = 4096
OPTIONS = ("-std=c++17", "--fmad=false")
CTYPES = {"float32": "float", "float64": "double", "float16": "half_t", "bfloat16": "bf16_t"}
F_MAXIMIZE, F_AMSGRAD, F_DECOUPLED, F_NESTEROV, F_CENTERED = 1, 2, 4, 8, 16


@dataclass(frozen=True)
class Spec:
    file: str            # kernels/<file>.cu, kernels <file>_step / <file>_advance
    slots: tuple         # state buffers in kernel slot order (b0, b1, b2); absent ones are passed as null
    hp: object           # group, lr -> hyper-parameters (floats)
    row: object          # entry.sc -> per-row scalars (floats)
    flags: object        # group -> int
    state: tuple = ("step",)   # scalar state names (device copy in found_inf mode)


def _f(x):
    return float(scalar(x))


def _max(g, more=0):
    return (F_MAXIMIZE if g.get("maximize") else 0) | more


def _adam_flags(g):
    return _max(g, (F_AMSGRAD if g["amsgrad"] else 0) | (F_DECOUPLED if g.get("decoupled_weight_decay") else 0))


def _betas(g, lr, *rest):
    return [lr, _f(g["betas"][0]), _f(g["betas"][1]), *(_f(r) for r in rest)]


_ADAM = Spec("adam", ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
             lambda g, lr: _betas(g, lr, g["eps"], g["weight_decay"]),
             lambda s: [s["step_size"], s["bias_correction2_sqrt"]], _adam_flags)
SPECS = {
    "Adam": _ADAM,
    "AdamW": _ADAM,
    "SGD": Spec("sgd", ("momentum_buffer",),
                lambda g, lr: [lr, g["momentum"], g["dampening"], g["weight_decay"]],
                lambda s: [1.0 if s["first"] else 0.0], lambda g: _max(g, F_NESTEROV if g["nesterov"] else 0), ()),
    "Adagrad": Spec("adagrad", ("sum",), lambda g, lr: [lr, g["lr_decay"], g["eps"], g["weight_decay"]],
                    lambda s: [s["clr"]], _max),
    "RMSprop": Spec("rmsprop", ("square_avg", "momentum_buffer", "grad_avg"),
                    lambda g, lr: [lr, g["alpha"], g["eps"], g["weight_decay"], g["momentum"]],
                    lambda s: [], lambda g: _max(g, F_CENTERED if g["centered"] else 0)),
    "Adamax": Spec("adamax", ("exp_avg", "exp_inf"), lambda g, lr: _betas(g, lr, g["eps"], g["weight_decay"]),
                   lambda s: [s["clr"]], _max),
    "NAdam": Spec("nadam", ("exp_avg", "exp_avg_sq"),
                  lambda g, lr: _betas(g, lr, g["eps"], g["weight_decay"], g["momentum_decay"]),
                  lambda s: [s["bias_correction2"], s["grad_coef"], s["avg_coef"]],
                  lambda g: _max(g, F_DECOUPLED if g["decoupled_weight_decay"] else 0), ("step", "mu_product")),
    "RAdam": Spec("radam", ("exp_avg", "exp_avg_sq"), lambda g, lr: _betas(g, lr, g["eps"], g["weight_decay"]),
                  lambda s: [s["bias_correction1"], s["bias_correction2"], -1.0 if s["rect"] is None else s["rect"]],
                  lambda g: _max(g, F_DECOUPLED if g["decoupled_weight_decay"] else 0)),
    "Adadelta": Spec("adadelta", ("square_avg", "acc_delta"),
                     lambda g, lr: [lr, g["rho"], g["eps"], g["weight_decay"]], lambda s: [], _max),
    "ASGD": Spec("asgd", ("ax",), lambda g, lr: [lr, g["lambd"], g["alpha"], g["t0"], g["weight_decay"]],
                 lambda s: [s["eta"], s["mu"]], _max, ("step", "eta", "mu")),
    "Rprop": Spec("rprop", ("prev", "step_size"),
                  lambda g, lr: [lr, g["etas"][0], g["etas"][1], g["step_sizes"][0], g["step_sizes"][1]],
                  lambda s: [1.0 if s["first"] else 0.0], _max),
}
FILES = sorted({s.file for s in SPECS.values()} | {"avg"})


def supports(name):
    return name in SPECS


# ---- sources and compilation ------------------------------------------------------------------------------
def source(file):
    """The text NVRTC compiles for ``kernels/<file>.cu``: the shared header pasted in place of its include."""
    with open(os.path.join(HERE, "fused_common.h")) as fh:
        header = fh.read()
    with open(os.path.join(HERE, file + ".cu")) as fh:
        code = fh.read()
    return code.replace('#include "fused_common.h"', header)


def name_expressions(file, ctypes=tuple(CTYPES.values())):
    if file == "avg":
        return [f"avg_update<{t}>" for t in ctypes]
    return [f"{file}_{k}<{t}>" for t in ctypes for k in ("step", "advance")]


def ctype_of(dtype):
    try:
        return CTYPES[np.dtype(dtype).name]
    except KeyError:
        raise TypeError(f"fused CUDA kernels do not support dtype {dtype}") from None


_MODULES = {}


def _function(file, func, dtype):
    """The compiled ``func<T>`` of ``kernels/<file>.cu`` for the current device (cached)."""
    import cupy  # noqa: PLC0415

    ct = ctype_of(dtype)
    key = (file, ct, cupy.cuda.Device().id)
    mod = _MODULES.get(key)
    if mod is None:
        mod = cupy.RawModule(code=source(file), options=OPTIONS, name_expressions=name_expressions(file, (ct,)))
        _MODULES[key] = mod
    return mod.get_function(f"{func}<{ct}>")


class CupyRunner:
    """Runs kernels on the GPU; ``args`` are (kind, value) pairs with kind in ptr/i32/i64/f64."""

    @property
    def xp(self):
        import cupy  # noqa: PLC0415

        return cupy

    def __call__(self, file, func, dtype, grid, block, args):
        conv = {"i32": np.int32, "i64": np.int64, "f64": np.float64}
        vals = tuple((np.uint64(0) if v is None else v) if k == "ptr" else conv[k](v) for k, v in args)
        _function(file, func, dtype)((grid,), (block,), vals)


# ---- launch -----------------------------------------------------------------------------------------------
class _Cache:
    def __init__(self):
        self.key = None
        self.table = self.adv = None
        self.n_rows = self.n_adv = 0
        self.dstate = None      # device copy of the scalar state (found_inf mode)


def _chunks(lo, hi, row):
    out, a = [], lo
    while a < hi:
        b = min(hi, (a // CHUNK + 1) * CHUNK)
        out.append((a, b - a, row))
        a = b
    return out


def _layout(flat, entries, per_param):
    """Layout key, launch-table rows and (per-parameter mode) the parameter index of each scalar row."""
    if not per_param:
        key = tuple((e.lo, e.hi) for e in entries)
        rows = [c for r, e in enumerate(entries) for c in _chunks(e.lo, e.hi, r)]
        return key, rows, None
    params = [i for e in entries for i in range(e.i0, e.i1)]
    key = ("p",) + tuple(params)
    rows = [c for i in params for c in _chunks(flat.offsets[i], flat.offsets[i + 1], i)]
    return key, rows, params


def _enter_device_mode(flat, spec, xp, cache):
    host = np.stack([flat.scalars[n] for n in spec.state], axis=1).astype(np.float32)
    cache.dstate = xp.asarray(host)
    for i in range(len(flat.params)):
        _bind(flat, spec, cache, i)


def _bind(flat, spec, cache, i):
    from autograd import Tensor  # noqa: PLC0415

    d = flat.sdicts[i]
    if d is not None:
        for j, n in enumerate(spec.state):
            d[n] = Tensor._wrap(cache.dstate[i, j:j + 1].reshape(()))   # a view, not a copy


def launch(opt_name, flat, entries, group, grad_scale, found_inf, runner=None):
    """The fused step of ``entries`` of ``flat`` (see ``kernels.__init__`` for the contract)."""
    runner = runner or _RUNNER
    xp = runner.xp
    spec = SPECS[opt_name]
    cache = flat.__dict__.setdefault("_mt_cuda", _Cache())
    if found_inf is not None and spec.state and cache.dstate is None:
        _enter_device_mode(flat, spec, xp, cache)
    dev = cache.dstate is not None
    if dev:
        for i in flat.fresh:                 # newly registered params start from their initial host state
            cache.dstate[i] = xp.asarray(np.array([flat.scalars[n][i] for n in spec.state], np.float32))
            _bind(flat, spec, cache, i)
    key, rows, params = _layout(flat, entries, dev)
    if key != cache.key:
        cache.key, cache.n_rows = key, len(rows)
        cache.table = xp.asarray(np.array(rows, np.int64).reshape(-1)) if rows else None
        cache.adv = xp.asarray(np.array(params, np.int64)) if params else None
        cache.n_adv = len(params or ())
    lr = _f(group["lr"])
    per_row = [[float(v) for v in spec.row(e.sc)] for e in entries]
    if dev:      # scalar rows indexed by parameter
        nsc = len(per_row[0]) if per_row else 0
        table = np.zeros((len(flat.params), nsc))
        for e, r in zip(entries, per_row):
            table[e.i0:e.i1] = r
        per_row = table
    sc = xp.asarray(np.concatenate([np.asarray(spec.hp(group, lr), np.float64),
                                    np.asarray(per_row, np.float64).reshape(-1)]))
    dt = flat.param.dtype
    bufs = [flat.buffers.get(n) for n in spec.slots] + [None] * (3 - len(spec.slots))
    gs = None if grad_scale is None else xp.asarray(grad_scale, dtype=np.float32).reshape(-1)
    fi = None if found_inf is None else xp.asarray(found_inf, dtype=np.float32).reshape(-1)
    stride = len(spec.state)
    if cache.n_rows:
        args = [("ptr", flat.param), ("ptr", flat.grad)] + [("ptr", b) for b in bufs] + [
            ("ptr", cache.table), ("i32", cache.n_rows), ("ptr", sc), ("i32", spec.flags(group)),
            ("ptr", gs), ("ptr", fi), ("ptr", cache.dstate), ("i32", stride)]
        runner(spec.file, spec.file + "_step", dt, min(cache.n_rows, MAX_GRID), BLOCK, args)
    if dev and cache.n_adv:
        args = [("ptr", cache.adv), ("i32", cache.n_adv), ("ptr", sc), ("ptr", fi), ("ptr", cache.dstate),
                ("i32", stride)]
        runner(spec.file, spec.file + "_advance", dt, min(-(-cache.n_adv // BLOCK), MAX_GRID), BLOCK, args)
    return dev


# ---- averaging (swa_utils) --------------------------------------------------------------------------------
AVG_MODES = {"lerp": 0, "blend": 1, "divide": 2}


def avg_update(avg_flat, model_flat, mode, value, runner=None):
    """In place on the flat array ``avg_flat`` from ``model_flat`` (same shape/dtype), one launch.

    ``mode``: "lerp" (``value`` = weight, torch's two-sided lerp), "blend" (``value`` = decay:
    ``a*decay + b*(1-decay)``) or "divide" (``value`` = n_averaged + 1: ``a + (b-a)/value``).
    """
    runner = runner or _RUNNER
    n = avg_flat.size
    if n == 0:
        return avg_flat
    grid = min(-(-n // BLOCK), MAX_GRID)
    runner("avg", "avg_update", avg_flat.dtype, grid, BLOCK,
           [("ptr", avg_flat), ("ptr", model_flat), ("i64", n), ("i32", AVG_MODES[mode]), ("f64", float(value))])
    return avg_flat


def ema_update(avg_flat, model_flat, decay, runner=None):
    """EMA of a flat buffer: ``avg.lerp_(model, 1 - decay)`` (torch's multi-avg EMA)."""
    return avg_update(avg_flat, model_flat, "lerp", 1.0 - decay, runner)


def sources_digest():
    """A hash of every kernel source (used to cache compiled artefacts)."""
    h = hashlib.sha256()
    for f in FILES + ["fused_common"]:
        with open(os.path.join(HERE, f + (".h" if f == "fused_common" else ".cu")), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:16]


_RUNNER = CupyRunner()
