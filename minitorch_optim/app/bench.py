"""Optimizer step benchmark: ours vs torch vs the memory-bandwidth floor, as ratios from one run.

    python -m minitorch_optim.bench [--device cpu|cuda] [--sizes 10000000x100,1000000x1000]
                                    [--optimizers adam,sgd,adamw,rmsprop] [--repeat 15] [--json]

A size ``NxT`` is N float32 parameters split over T tensors. The floor is the bytes one step must move
(read p, g and the state, write p and the state) divided by the in-place bandwidth measured in the same
run (``a += b`` on all cores over two buffers as large together as the step's distinct arrays, so the floor
sees the same cache level the step does: on this machine's 260 MiB L3 a 10M-parameter step is L3-resident).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

# name -> (class name, kwargs, param-sized arrays read, written)
OPTIMIZERS = {
    "adam": ("Adam", {"lr": 1e-3}, 4, 3),
    "adamw": ("AdamW", {"lr": 1e-3}, 4, 3),
    "sgd": ("SGD", {"lr": 1e-3, "momentum": 0.9}, 3, 2),
    "rmsprop": ("RMSprop", {"lr": 1e-3}, 3, 2),
}
TORCH_FUSED = {"Adam", "AdamW", "SGD", "Adagrad"}


def _median_time(fn, repeat, sync=lambda: None):
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure_bandwidth(device="cpu", n=1 << 25, repeat=7):
    """Bytes per second of ``a += b`` (read a, b; write a) over ``n`` float32, split over all cores."""
    from autograd.backend import xp_for

    from minitorch_optim._core.flat import run_chunked

    xp = xp_for(device)
    a, b = xp.ones(n, np.float32), xp.ones(n, np.float32)
    if xp is np:
        def fn():
            run_chunked(lambda lo, hi: np.add(a[lo:hi], b[lo:hi], out=a[lo:hi]), 0, n, True)
        best = 3 * 4 * n / _median_time(fn, repeat)
        kernel = _numba_add()
        if kernel is not None:   # a compiled loop reaches more of the real bandwidth than NumPy calls
            best = max(best, 3 * 4 * n / _median_time(lambda: kernel(a, b), repeat))
        return best
    return 3 * 4 * n / _median_time(lambda: xp.add(a, b, out=a), repeat,  # pragma: no cover - GPU only
                                    xp.cuda.Device().synchronize)


def _numba_add():
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=True)
    def add_(a, b):
        for i in numba.prange(a.shape[0]):
            a[i] += b[i]

    return add_


def _split(n, t):
    base = [n // t] * t
    for i in range(n % t):
        base[i] += 1
    return base


def _ours(cls_name, kw, sizes, path, device, repeat):
    import autograd as ag
    import minitorch_optim as optim
    from autograd.backend import xp_for

    xp = xp_for(device)
    rng = np.random.default_rng(0)
    ps = [ag.tensor(rng.standard_normal(s).astype(np.float32), device=device, requires_grad=True) for s in sizes]
    for p in ps:
        p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-3, device=device)
    opt = getattr(optim, cls_name)(ps, **kw, **path)
    sync = (lambda: None) if xp is np else xp.cuda.Device().synchronize
    t0 = time.perf_counter()
    opt.step()
    sync()
    first = time.perf_counter() - t0
    return _median_time(opt.step, repeat, sync), first


def _torch(torch, cls_name, kw, sizes, path, device, repeat):
    dev = "cuda" if device.startswith("cuda") else "cpu"
    ps = [torch.randn(s, device=dev, requires_grad=True) for s in sizes]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    opt = getattr(torch.optim, cls_name)(ps, **kw, **path)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    return _median_time(opt.step, repeat, sync)


def _paths(cls_name):
    import minitorch_optim as optim

    ours = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "default": {}}
    if getattr(getattr(optim, cls_name), "_fused_supported", False):
        ours["fused"] = {"fused": True}
    theirs = {"default": {}, "foreach": {"foreach": True}}
    if cls_name in TORCH_FUSED:
        theirs["fused"] = {"fused": True}
    return ours, theirs


def run(device="cpu", sizes=((10_000_000, 100), (1_000_000, 1000)), optimizers=("adam", "sgd", "adamw", "rmsprop"),
        repeat=15):
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
    except ImportError:
        torch = None
    if torch is not None and str(device).startswith("cuda") and not torch.cuda.is_available():
        torch = None          # a CPU-only torch: no reference column on the GPU
    rows, bws = [], {}
    for n, t in sizes:
        shapes = [(s,) for s in _split(n, t)]
        for key in optimizers:
            cls_name, kw, reads, writes = OPTIMIZERS[key]
            arrays = reads + 1          # distinct param-sized arrays: p, g and the state buffers
            m = max(1 << 16, n * arrays // 2)
            if m not in bws:
                bws[m] = measure_bandwidth(device, m)
            bw = bws[m]
            floor = (reads + writes) * 4 * n / bw
            ours, theirs = _paths(cls_name)
            ref = {}
            if torch is not None:
                for pname, pkw in theirs.items():
                    ref[pname] = _torch(torch, cls_name, kw, shapes, pkw, device, repeat)
            for pname, pkw in ours.items():
                sec, first = _ours(cls_name, kw, shapes, pkw, device, repeat)
                row = {"optimizer": cls_name, "params": n, "tensors": t, "path": pname, "ms": sec * 1e3,
                       "bandwidth_GBps": bw / 1e9, "working_set_MB": 2 * 4 * m / 1e6,
                       "first_step_ms": first * 1e3, "floor_ms": floor * 1e3, "vs_floor": sec / floor}
                for tname, tsec in ref.items():
                    row[f"torch_{tname}_ms"] = tsec * 1e3
                    row[f"vs_torch_{tname}"] = sec / tsec
                rows.append(row)
    return {"device": device, "rows": rows}


def mlp_step(batch=64, hidden=64, repeat=50):
    """One training step (forward, backward, AdamW step) of the README's MLP: ours vs torch, in ms."""
    import autograd as ag
    import autograd.nn as nn
    import autograd.nn.functional as F
    import minitorch_optim as optim

    from .cli import build_model

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, 2)).astype(np.float32), rng.integers(0, 3, batch)
    model = build_model(nn, hidden)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    X, Y = ag.tensor(x), ag.tensor(y)

    def ours():
        opt.zero_grad()
        F.cross_entropy(model(X), Y).backward()
        opt.step()

    out = {"ours_ms": _median_time(ours, repeat) * 1e3}
    try:
        import torch
    except ImportError:
        return out
    tnn = torch.nn
    tm = tnn.Sequential(tnn.Linear(2, hidden), tnn.BatchNorm1d(hidden), tnn.ReLU(), tnn.Linear(hidden, hidden),
                        tnn.BatchNorm1d(hidden), tnn.ReLU(), tnn.Linear(hidden, 3))
    topt = torch.optim.AdamW(tm.parameters(), lr=1e-3)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def theirs():
        topt.zero_grad()
        tnn.functional.cross_entropy(tm(tx), ty).backward()
        topt.step()

    out["torch_ms"] = _median_time(theirs, repeat) * 1e3
    out["ratio"] = out["ours_ms"] / out["torch_ms"]
    return out


def _table(res):
    bws = sorted({(round(r["working_set_MB"]), round(r["bandwidth_GBps"], 1)) for r in res["rows"]})
    lines = [f"device {res['device']}; in-place bandwidth (a += b) at each step's working set: " +
             ", ".join(f"{b} GB/s over {w} MB" for w, b in bws)]
    hdr = f"{'optimizer':9} {'params':>9} {'tensors':>7} {'path':9} {'ms':>8} {'floor':>7} {'x floor':>7}"
    tcols = sorted({k for r in res["rows"] for k in r if k.startswith("vs_torch_")})
    hdr += "".join(f" {c[3:]:>15}" for c in tcols)
    lines.append(hdr)
    for r in res["rows"]:
        s = (f"{r['optimizer']:9} {r['params']:>9} {r['tensors']:>7} {r['path']:9} {r['ms']:8.2f} "
             f"{r['floor_ms']:7.2f} {r['vs_floor']:7.2f}")
        s += "".join(f" {r[c]:15.2f}" if c in r else f" {'-':>15}" for c in tcols)
        lines.append(s)
    tms = sorted({k for r in res["rows"] for k in r if k.startswith("torch_") and k.endswith("_ms")})
    seen = set()
    for r in res["rows"]:
        key = (r["optimizer"], r["params"], r["tensors"])
        if key in seen or not tms:
            continue
        seen.add(key)
        lines.append(f"  torch {key[0]} {key[1]}x{key[2]}: " +
                     ", ".join(f"{c[6:-3]} {r[c]:.2f} ms" for c in tms if c in r))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m minitorch_optim.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    ap.add_argument("--sizes", default="10000000x100,1000000x1000", help="comma-separated NxT")
    ap.add_argument("--optimizers", default="adam,sgd,adamw,rmsprop")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--mlp", action="store_true",
                    help="also time one training step of the README's MLP (batch 64), ours vs torch")
    a = ap.parse_args(argv)
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in a.sizes.split(",")]
        if any(len(s) != 2 or s[0] < s[1] or s[1] < 1 for s in sizes):
            raise ValueError
    except ValueError:
        ap.error(f"--sizes must look like 10000000x100 (N >= T >= 1), got {a.sizes!r}")
    opts = [o.strip().lower() for o in a.optimizers.split(",")]
    bad = [o for o in opts if o not in OPTIMIZERS]
    if bad:
        ap.error(f"unknown optimizers {bad}; choose from {sorted(OPTIMIZERS)}")
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    res = run(a.device, sizes, opts, a.repeat)
    if a.mlp:
        res["mlp_step"] = mlp_step()
    text = _table(res)
    if a.mlp:
        m = res["mlp_step"]
        text += f"\nMLP training step (batch 64): ours {m['ours_ms']:.3f} ms" + (
            f", torch {m['torch_ms']:.3f} ms, ratio {m['ratio']:.2f}" if "torch_ms" in m else "")
    print(json.dumps(res, indent=1) if a.json else text)


if __name__ == "__main__":
    main()
