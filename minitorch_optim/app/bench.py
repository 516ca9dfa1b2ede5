"""Optimizer step benchmark: ours vs torch vs the memory-bandwidth floor, from one interleaved run.

    python -m minitorch_optim bench [--quick] [--device cpu|cuda] [--sizes 10000000x100,...]
                                    [--optimizers adam,sgd,adamw,rmsprop] [--repeat 15] [--json]

A size ``NxT`` is N float32 parameters split over T tensors. For each optimizer and size, every variant
(our for-loop / foreach / default / fused paths and torch's default / foreach / fused) is built first, then
timed one step each per round, round after round, so that a burst of load on a shared machine hits all of
them alike; each figure is the median over the rounds.

The floor is the time a step cannot beat: the bytes it must move (Adam: read p, g, m, v and write p, m, v,
28 bytes per parameter) divided by the in-place bandwidth ``a += b`` reaches on all cores, timed as one more
variant in the same rounds, over buffers as large as the step's working set (so the floor sees the same
cache level and the same machine load as the step). Each round runs every variant twice back to back and
times the second run.

Each round ends with 10 ms of work on this thread alone: torch's OpenMP workers keep spinning on the cores
for about 8 ms after each of its parallel steps (8-9 ms of CPU time burnt in the 100 ms after a step, on the
2-core VM), and the next round's variants would share the cores with them, which no process running one
library sees (our 1M-parameter fused step ran 1.3-1.5x slower next to them). The floor runs first in a
round, on Numba's OpenMP threads, which spin as torch's do, and is followed by 10 ms more of the same.

Then, unless ``--quick``, figures measured in fresh processes (see ``bench_startup``): the first fused step
with an empty Numba cache and with a warm one, the eleven elementwise optimizers stepped once each, and the
time from ``python`` to the first step done, ours and torch's.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
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
# the default plan: Adam across tensor counts; the others at the two classic sizes
DEFAULT_PLAN = [("adam", (10_000_000, 100)), ("adam", (1_000_000, 1000)), ("adam", (1_000_000, 10_000)),
                ("adam", (1_000_000, 1)), ("adam", (1_000_000, 10)),
                *[(o, s) for o in ("sgd", "adamw", "rmsprop") for s in ((10_000_000, 100), (1_000_000, 1000))]]
QUICK_PLAN = [("adam", (1_000_000, 100)), ("adam", (100_000, 1000)), ("sgd", (1_000_000, 100))]


def _note(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _timed(fn, sync):
    t = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t


def _median_time(fn, repeat, sync=lambda: None):
    fn()
    sync()
    return statistics.median(_timed(fn, sync) for _ in range(repeat))


def _bandwidth_step(device, n):
    """``a += b`` over ``n`` float32 on all cores (a compiled loop when Numba is there): the floor's yardstick."""
    from autograd.backend import xp_for

    xp = xp_for(device)
    a, b = xp.ones(n, np.float32), xp.ones(n, np.float32)
    if xp is not np:  # pragma: no cover - GPU only
        return (lambda: xp.add(a, b, out=a)), xp.cuda.Device().synchronize
    kernel = _numba_add()
    if kernel is not None:
        return (lambda: kernel(a, b)), (lambda: None)
    from minitorch_optim._core.flat import run_chunked

    return (lambda: run_chunked(lambda lo, hi: np.add(a[lo:hi], b[lo:hi], out=a[lo:hi]), 0, n, True)), (lambda: None)


def _have_numba():
    return importlib.util.find_spec("numba") is not None


def _numba_add():
    if not _have_numba():
        return None
    import numba

    from ..kernels.numba.helpers import cached_njit

    @cached_njit(parallel=True)
    def add_(a, b):
        for i in numba.prange(a.shape[0]):
            a[i] += b[i]

    return add_


def _settle():
    """10 ms of work on this thread alone, while other libraries' spinning workers park (see above)."""
    t = time.perf_counter()
    while time.perf_counter() - t < 0.01:
        pass


def _split(n, t):
    base = [n // t] * t
    for i in range(n % t):
        base[i] += 1
    return base


def _ours(cls_name, kw, shapes, path, device):
    import autograd as ag
    import minitorch_optim as optim
    from autograd.backend import xp_for

    xp = xp_for(device)
    rng = np.random.default_rng(0)
    ps = [ag.tensor(rng.standard_normal(s).astype(np.float32), device=device, requires_grad=True) for s in shapes]
    for p in ps:
        p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-3, device=device)
    opt = getattr(optim, cls_name)(ps, **kw, **path)
    return opt.step, ((lambda: None) if xp is np else xp.cuda.Device().synchronize)


def _torch(torch, cls_name, kw, shapes, path, device):
    dev = "cuda" if device.startswith("cuda") else "cpu"
    ps = [torch.randn(s, device=dev, requires_grad=True) for s in shapes]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    opt = getattr(torch.optim, cls_name)(ps, **kw, **path)
    return opt.step, (torch.cuda.synchronize if dev == "cuda" else (lambda: None))


def _paths(cls_name, numba_ok):
    import minitorch_optim as optim

    ours = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "default": {}}
    if numba_ok and getattr(getattr(optim, cls_name), "_fused_supported", False):
        ours["fused"] = {"fused": True}
    theirs = {"default": {}, "foreach": {"foreach": True}}
    if cls_name in TORCH_FUSED:
        theirs["fused"] = {"fused": True}
    return ours, theirs


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(device="cpu", plan=DEFAULT_PLAN, repeat=15, progress=True):
    """Time every variant of each ``(optimizer, (N, T))`` in ``plan``, interleaved per round."""
    torch = _import_torch()
    if torch is not None and str(device).startswith("cuda") and not torch.cuda.is_available():
        torch = None          # a CPU-only torch: no reference column on the GPU
    numba_ok = _have_numba()
    notes = []
    if not numba_ok:
        notes.append("Numba is not installed: our fused rows are skipped and 'default' is the foreach path "
                     "(pip install numba)")
    if torch is None:
        notes.append("torch is not installed: only our figures (pip install torch==2.13.0 to compare)")
    rows = []
    for i, (key, (n, t)) in enumerate(plan):
        cls_name, kw, reads, writes = OPTIMIZERS[key]
        if progress:
            _note(f"[{i + 1}/{len(plan)}] {cls_name}, {n:,} params in {t:,} tensors, {repeat} rounds")
        shapes = [(s,) for s in _split(n, t)]
        m = max(1 << 16, n * (reads + 1) // 2)    # distinct param-sized arrays: p, g and the state buffers
        ours, theirs = _paths(cls_name, numba_ok)
        variants = {("floor", "a+=b"): _bandwidth_step(device, m)}
        for pname, pkw in ours.items():
            try:
                variants[("ours", pname)] = _ours(cls_name, kw, shapes, pkw, device)
            except RuntimeError as e:          # e.g. fused unavailable on this install
                notes.append(f"{cls_name} {pname}: {e}")
        if torch is not None:
            for pname, pkw in theirs.items():
                variants[("torch", pname)] = _torch(torch, cls_name, kw, shapes, pkw, device)
        first = {}
        for k, (step, sync) in variants.items():      # the first step creates the state (and compiles)
            first[k] = _timed(step, sync)
        times = {k: [] for k in variants}
        for _ in range(repeat):
            for k, (step, sync) in variants.items():
                step()                                 # back to back: time the second, so another thread
                sync()                                 # pool winding down does not land on this timing
                times[k].append(_timed(step, sync))
                if k[0] == "floor":
                    _settle()
            _settle()
        med = {k: statistics.median(v) for k, v in times.items()}
        bw = 3 * 4 * m / med[("floor", "a+=b")]
        floor = (reads + writes) * 4 * n / bw
        ref = {p: med[("torch", p)] for p in theirs if ("torch", p) in med}
        for pname in ours:
            if ("ours", pname) not in med:
                continue
            sec = med[("ours", pname)]
            row = {"optimizer": cls_name, "params": n, "tensors": t, "path": pname, "ms": sec * 1e3,
                   "bandwidth_GBps": bw / 1e9, "working_set_MB": 2 * 4 * m / 1e6,
                   "first_step_ms": first[("ours", pname)] * 1e3, "floor_ms": floor * 1e3, "vs_floor": sec / floor}
            for tname, tsec in ref.items():
                row[f"torch_{tname}_ms"] = tsec * 1e3
                row[f"vs_torch_{tname}"] = sec / tsec
            rows.append(row)
        del variants
    ms = {(r["optimizer"], r["params"], r["tensors"], r["path"]): r["ms"] for r in rows}
    slower = sorted({f"{o} {n:,}/{t}" for (o, n, t, p), v in ms.items()
                     if p == "foreach" and v > ms.get((o, n, t, "for-loop"), float("inf"))})
    if slower:
        notes.append("foreach is slower than the for-loop at " + ", ".join(slower) + ": foreach trades the "
                     "for-loop's Python overhead per tensor for a fixed cost per step (grouping the tensors by "
                     "device and dtype, chunking them, the thread pool) and one pass over memory per operation of "
                     "the update; with few tensors that trade loses. It pays off with many small tensors; fused "
                     "(one compiled pass, the default on the CPU) avoids both costs")
    return {"device": device, "repeat": repeat, "rows": rows, "notes": notes}


def _table(res):
    out = [f"device {res['device']}; median of {res['repeat']} interleaved rounds; times in ms, ratios are "
           f"ours / other (below 1 = ours faster)"]
    tcols = [c for c in ("default", "foreach", "fused") if any(f"vs_torch_{c}" in r for r in res["rows"])]
    hdr = (f"{'optimizer':9} {'params':>10} {'tensors':>7} {'our path':9} {'ours ms':>9} {'floor ms':>9} "
           f"{'ratio to floor':>14}" + "".join(f" {'ratio to torch ' + c:>24}" for c in tcols))
    out.append(hdr)
    last = None
    for r in res["rows"]:
        key = (r["optimizer"], r["params"], r["tensors"])
        if last is not None and key != last and tcols:
            out.append(_torch_line(res["rows"], last, tcols))
        last = key
        s = (f"{r['optimizer']:9} {r['params']:>10,} {r['tensors']:>7,} {r['path']:9} {r['ms']:9.2f} "
             f"{r['floor_ms']:9.2f} {r['vs_floor']:14.2f}")
        s += "".join(f" {r[f'vs_torch_{c}']:24.2f}" if f"vs_torch_{c}" in r else f" {'-':>24}" for c in tcols)
        out.append(s)
    if last is not None and tcols:     # without torch the notes say so once, not once per row group
        out.append(_torch_line(res["rows"], last, tcols))
    bws = sorted({(round(r["working_set_MB"]), round(r["bandwidth_GBps"], 1)) for r in res["rows"]})
    out.append("")
    out.append("floor: the bytes a step must move (Adam/AdamW 28 B per parameter, SGD with momentum and RMSprop "
               "20 B) / the bandwidth of an in-place 'a += b' on all cores in this run, measured over a working "
               "set as large as the step's: " + ", ".join(f"{b} GB/s at {w} MB" for w, b in bws) +
               ". No implementation can go below it; 'ratio to floor' says how close a path gets.")
    return "\n".join(out)


def _torch_line(rows, key, tcols):
    r = next(r for r in rows if (r["optimizer"], r["params"], r["tensors"]) == key)
    parts = [f"{c} {r[f'torch_{c}_ms']:.2f} ms" for c in tcols if f"torch_{c}_ms" in r]
    return f"{'':9} {'':>10} {'':>7} torch: " + (", ".join(parts) if parts else "not installed")


def mlp_step(batch=64, hidden=64, repeat=50):
    """One training step (forward, backward, AdamW step) of the README's MLP: ours vs torch, interleaved."""
    import autograd as ag
    import autograd.nn as nn
    import autograd.nn.functional as F
    import minitorch_optim as optim

    from .models import build_model

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((batch, 2)).astype(np.float32), rng.integers(0, 3, batch)
    model = build_model(nn, hidden)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    X, Y = ag.tensor(x), ag.tensor(y)

    def ours():
        opt.zero_grad()
        F.cross_entropy(model(X), Y).backward()
        opt.step()

    fns = {"ours": ours}
    torch = _import_torch()
    if torch is not None:
        tnn = torch.nn
        tm = tnn.Sequential(tnn.Linear(2, hidden), tnn.BatchNorm1d(hidden), tnn.ReLU(), tnn.Linear(hidden, hidden),
                            tnn.BatchNorm1d(hidden), tnn.ReLU(), tnn.Linear(hidden, 3))
        topt = torch.optim.AdamW(tm.parameters(), lr=1e-3)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def theirs():
            topt.zero_grad()
            tnn.functional.cross_entropy(tm(tx), ty).backward()
            topt.step()
        fns["torch"] = theirs
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(repeat):
        for k, f in fns.items():
            times[k].append(_timed(f, lambda: None))
    out = {f"{k}_ms": statistics.median(v) * 1e3 for k, v in times.items()}
    if "torch_ms" in out:
        out["ratio"] = out["ours_ms"] / out["torch_ms"]
    return out


def tiny_tensors(n=100, repeat=200):
    """Per-step time at ``n`` tiny tensors (10-100 elements), where the fixed cost of a step is all there is:
    our Lion (default path) and Adam against torch's for-loop Adam (torch has no Lion) and its foreach
    Adam, interleaved."""
    import autograd as ag
    import minitorch_optim as optim
    from minitorch_optim.contrib import Lion

    sizes = [int(s) for s in np.random.default_rng(0).integers(10, 101, n)]

    def ours(cls, **kw):
        ps = [ag.tensor(np.ones(s, np.float32), requires_grad=True) for s in sizes]
        for p in ps:
            p.grad = ag.tensor(np.full(p.shape, 1e-3, np.float32))
        return cls(ps, **kw).step

    fns = {"ours Lion": ours(Lion, lr=1e-4), "ours Adam": ours(optim.Adam)}
    torch = _import_torch()
    if torch is not None:
        def theirs(**kw):
            ps = [torch.ones(s, requires_grad=True) for s in sizes]
            for p in ps:
                p.grad = torch.full(p.shape, 1e-3)
            return torch.optim.Adam(ps, **kw).step
        fns["torch Adam for-loop"] = theirs(foreach=False)
        fns["torch Adam foreach"] = theirs(foreach=True)
    for f in fns.values():
        for _ in range(5):
            f()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            times[k].append(_timed(f, lambda: None))
    return {"tensors": n, **{k: statistics.median(v) * 1e6 for k, v in times.items()}}


def _tiny_text(t):
    base = t.get("torch Adam for-loop")
    cols = ", ".join(f"{k} {v:.0f} us" + (f" ({v / base:.2f}x torch for-loop Adam)" if base and k.startswith("ours") else "")
                     for k, v in t.items() if k != "tensors")
    return f"{t['tensors']} tiny tensors (10-100 elements), per step: {cols}"


def _parse_plan(a, ap):
    if a.sizes is None and a.optimizers is None:
        return QUICK_PLAN if a.quick else DEFAULT_PLAN
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (a.sizes or "10000000x100,1000000x1000").split(",")]
        if any(len(s) != 2 or s[0] < s[1] or s[1] < 1 for s in sizes):
            raise ValueError
    except ValueError:
        ap.error(f"--sizes must look like 10000000x100 (N >= T >= 1), got {a.sizes!r}")
    opts = [o.strip().lower() for o in (a.optimizers or "adam,sgd,adamw,rmsprop").split(",")]
    bad = [o for o in opts if o not in OPTIMIZERS]
    if bad:
        ap.error(f"unknown optimizers {bad}; choose from {sorted(OPTIMIZERS)}")
    return [(o, s) for o in opts for s in sizes]


def main(argv=None):
    from .args import OneLineParser

    ap = OneLineParser(prog="python -m minitorch_optim bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 5 rounds, no fresh-process figures (~20 s)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:n] (default: cpu)")
    ap.add_argument("--sizes", default=None, help="comma-separated NxT (default: Adam across tensor counts, the others at 10M/100 and 1M/1000; see above)")
    ap.add_argument("--optimizers", default=None, help=f"comma-separated, from {sorted(OPTIMIZERS)}")
    ap.add_argument("--repeat", type=int, default=None, help="rounds (default: 15; 5 with --quick)")
    ap.add_argument("--no-startup", action="store_true",
                    help="skip the fresh-process figures (also skipped with --quick, --sizes or --optimizers)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--tiny", action="store_true",
                    help="also time 100 tiny tensors: our Lion and Adam vs torch's Adam (part of the full run)")
    ap.add_argument("--mlp", action="store_true",
                    help="also time one training step of the README's MLP (batch 64), ours vs torch")
    a = ap.parse_args(argv)
    plan = _parse_plan(a, ap)
    repeat = a.repeat if a.repeat is not None else (5 if a.quick else 15)
    if repeat < 1:
        ap.error("--repeat must be >= 1")
    res = run(a.device, plan, repeat)
    text = _table(res)
    if a.mlp:
        _note("MLP training step")
        m = res["mlp_step"] = mlp_step()
        text += (f"\n\nMLP training step (batch 64): ours {m['ours_ms']:.3f} ms" +
                 (f", torch {m['torch_ms']:.3f} ms, ratio ours/torch {m['ratio']:.2f}" if "torch_ms" in m else ""))
    custom = a.sizes is not None or a.optimizers is not None
    if a.tiny or not (a.quick or custom):
        _note("100 tiny tensors")
        res["tiny"] = tiny_tensors()
        text += "\n\n" + _tiny_text(res["tiny"])
    if not (a.quick or a.no_startup or custom) and a.device == "cpu":
        from .bench_startup import startup_figures, startup_table

        res["startup"] = startup_figures(_note)
        text += "\n\n" + startup_table(res["startup"])
    if res["notes"]:
        text += "\n\n" + "\n".join(f"note: {n}" for n in res["notes"])
    print(json.dumps(res, indent=1) if a.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
