"""Contrib optimizer step benchmark: ours (default path) vs the reference on torch vs the bandwidth floor.

    python -m minitorch_optim bench --contrib [--quick] [--only Lion,Adan] [--sizes 10000000x100,1000000x1000]
                                              [--repeat 7] [--json]

For each elementwise optimizer of ``minitorch_optim.contrib`` (``contrib.ELEMENTWISE``) and the elementwise
part-B ones (AdamWScheduleFree, Prodigy, DAdaptAdam), with its default arguments in float32, at each size
``NxT`` (N parameters split over T tensors): one step of ours on its default path (the generated fused
kernel where there is one, else foreach), one step of its reference (pytorch_optimizer 4.1.0, or
schedulefree 1.4.1 for AdamWScheduleFree) on torch, and the floor's ``a += b``, timed round after round
in turn (see ``app/bench.py``: same timing, same floor), each figure the median over the rounds.

The floor counts the bytes a step must move: read p, g and every param-sized state buffer, write p and
the state (counted from our state after the first step), over the bandwidth measured in the same rounds.
Targets: ratio to the reference <= 0.3, ratio to the floor <= 1.3.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import sys

import numpy as np

from .bench import _bandwidth_step, _have_numba, _import_torch, _note, _split, _timed

# benchmarked beside contrib.ELEMENTWISE: updates that also take group-wide sums (Prodigy, D-Adaptation) or
# keep a second iterate (schedule-free)
BEYOND_ELEMENTWISE = ["AdamWScheduleFree", "Prodigy", "DAdaptAdam"]
SCHEDULEFREE = {"AdamWScheduleFree"}
DEFAULT_SIZES = [(10_000_000, 100), (1_000_000, 1000)]
QUICK_SIZES = [(1_000_000, 100), (100_000, 1000)]
TARGET_REF, TARGET_FLOOR = 0.3, 1.3


def names():
    from minitorch_optim import contrib

    return list(contrib.ELEMENTWISE) + BEYOND_ELEMENTWISE


def _count_buffers(state, numel):
    """How many param-sized arrays a parameter's state holds (AggMo keeps a dict of them)."""
    if isinstance(state, dict):
        return sum(_count_buffers(v, numel) for v in state.values())
    size = getattr(state, "numel", None)
    size = size() if callable(size) else getattr(state, "size", None)
    return int(size == numel and numel > 1)


def _ours(name, shapes):
    import autograd as ag
    from minitorch_optim import contrib

    rng = np.random.default_rng(0)
    ps = [ag.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    for p in ps:
        p.grad = ag.tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-3)
    opt = getattr(contrib, name)(ps)
    if hasattr(opt, "train"):   # schedule-free steps only in train mode
        opt.train()
    return opt, ps


def _reference_module(name):
    mod = "schedulefree" if name in SCHEDULEFREE else "pytorch_optimizer"
    try:
        return importlib.import_module(mod), mod
    except ImportError:
        return None, mod


def _reference(torch, module, name, shapes):
    ps = [torch.randn(s, requires_grad=True) for s in shapes]
    for p in ps:
        p.grad = torch.randn_like(p) * 1e-3
    opt = getattr(module, name)(ps)
    if hasattr(opt, "train"):
        opt.train()
    return opt.step


def _default_path(opt):
    """The path a default construction takes here (QHM, Grams and schedule-free keep their reference's
    ``foreach`` default: False for the first two, True for schedule-free)."""
    path = opt._path(opt.param_groups[0])
    return {"auto": "fused", "forloop": "for-loop"}.get(path, path)


def run(plan, repeat=7, progress=True):
    """Time ours / reference / floor for each ``(name, (N, T))`` in ``plan``, interleaved per round."""
    torch = _import_torch()
    notes = []
    if not _have_numba():
        notes.append("Numba is not installed: our default path is foreach (pip install numba)")
    if torch is None:
        notes.append("torch is not installed: ours and the floor only, no reference ratios "
                     "(pip install torch==2.13.0 pytorch-optimizer==4.1.0 schedulefree==1.4.1 to compare)")
    missing = set()
    rows = []
    for i, (name, (n, t)) in enumerate(plan):
        if progress:
            _note(f"[{i + 1}/{len(plan)}] {name}, {n:,} params in {t:,} tensors, {repeat} rounds")
        shapes = [(s,) for s in _split(n, t)]
        opt, ps = _ours(name, shapes)
        path = _default_path(opt)
        first = _timed(opt.step, lambda: None)           # creates the state (and compiles / loads the kernel)
        k = _count_buffers(opt.state[ps[0]], ps[0].numel())
        reads, writes = 2 + k, 1 + k
        variants = {"ours": opt.step}
        if torch is not None:
            module, modname = _reference_module(name)
            if module is None:
                missing.add(modname)
            else:
                variants["reference"] = _reference(torch, module, name, shapes)
        m = max(1 << 16, n * (reads + 1) // 2)           # as app/bench.py: a working set as large as the step's
        floor_step, floor_sync = _bandwidth_step("cpu", m)
        variants["floor"] = floor_step
        for key, step in variants.items():
            if key != "ours":
                step()
        times = {key: [] for key in variants}
        for _ in range(repeat):
            for key, step in variants.items():
                step()                                     # back to back: time the second (see app/bench.py)
                times[key].append(_timed(step, floor_sync))
        med = {key: statistics.median(v) for key, v in times.items()}
        bw = 3 * 4 * m / med["floor"]
        floor = (reads + writes) * 4 * n / bw
        row = {"optimizer": name, "params": n, "tensors": t, "path": path, "bytes_per_param": 4 * (reads + writes),
               "ours_ms": med["ours"] * 1e3, "first_step_ms": first * 1e3, "floor_ms": floor * 1e3,
               "vs_floor": med["ours"] / floor, "bandwidth_GBps": bw / 1e9}
        if "reference" in med:
            row["reference_ms"] = med["reference"] * 1e3
            row["vs_reference"] = med["ours"] / med["reference"]
        rows.append(row)
        if progress:
            ref = f", reference {row['reference_ms']:.2f} ms ({row['vs_reference']:.2f}x)" if "reference_ms" in row else ""
            _note(f"    ours {row['ours_ms']:.2f} ms{ref}, floor {row['floor_ms']:.2f} ms ({row['vs_floor']:.2f}x)")
        del variants, opt, ps, floor_step
        gc.collect()
    for mod in sorted(missing):
        notes.append(f"{mod} is not installed: no reference for its optimizers "
                     f"(pip install pytorch-optimizer==4.1.0 schedulefree==1.4.1)")
    return {"repeat": repeat, "rows": rows, "notes": notes}


COLUMNS = ["optimizer", "params", "tensors", "our path", "B/param", "ours ms", "ref ms", "ratio to ref",
           "floor ms", "ratio to floor"]


def table(res):
    out = [f"contrib optimizers, default arguments, float32, CPU; median of {res['repeat']} interleaved rounds; "
           f"ratios are ours / other (below 1 = ours faster); targets: ratio to ref <= {TARGET_REF}, "
           f"ratio to floor <= {TARGET_FLOOR}"]
    out.append(f"{COLUMNS[0]:17} {COLUMNS[1]:>10} {COLUMNS[2]:>7} {COLUMNS[3]:8} {COLUMNS[4]:>7} {COLUMNS[5]:>9} "
               f"{COLUMNS[6]:>9} {COLUMNS[7]:>12} {COLUMNS[8]:>9} {COLUMNS[9]:>14}")
    for r in res["rows"]:
        ref = (f"{r['reference_ms']:9.2f} {r['vs_reference']:12.2f}" if "reference_ms" in r
               else f"{'-':>9} {'-':>12}")
        out.append(f"{r['optimizer']:17} {r['params']:>10,} {r['tensors']:>7,} {r['path']:8} "
                   f"{r['bytes_per_param']:>7} {r['ours_ms']:9.2f} {ref} {r['floor_ms']:9.2f} {r['vs_floor']:14.2f}")
    if res["rows"]:
        bws = sorted({round(r["bandwidth_GBps"], 1) for r in res["rows"]})
        out.append("")
        out.append(f"floor: B/param (p, g and the state read; p and the state written, 4 B each) / the bandwidth "
                   f"of an in-place 'a += b' on all cores in the same rounds ({bws[0]}-{bws[-1]} GB/s). "
                   f"ref: pytorch_optimizer 4.1.0 (schedulefree 1.4.1 for AdamWScheduleFree) on torch, default "
                   f"arguments.")
    return "\n".join(out)


def _parse_sizes(text, ap):
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in text.split(",")]
        if any(len(s) != 2 or s[0] < s[1] or s[1] < 1 for s in sizes):
            raise ValueError
    except ValueError:
        ap.error(f"--sizes must look like 10000000x100 (N >= T >= 1), got {text!r}")
    return sizes


def main(argv=None, out=None):
    """The command line; the table (or JSON) goes to ``out`` (default: ``sys.stdout``)."""
    from .args import OneLineParser

    ap = OneLineParser(prog="python -m minitorch_optim bench --contrib", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1M/100 and 100k/1000 parameters, 3 rounds")
    ap.add_argument("--only", default=None, help="comma-separated class names (default: all, see above)")
    ap.add_argument("--sizes", default=None, help="comma-separated NxT (default: 10000000x100,1000000x1000)")
    ap.add_argument("--repeat", type=int, default=None, help="rounds (default: 7; 3 with --quick)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    known = names()
    chosen = known
    if a.only is not None:
        lower = {n.lower(): n for n in known}
        want = [s.strip() for s in a.only.split(",") if s.strip()]
        bad = [s for s in want if s.lower() not in lower]
        if bad or not want:
            ap.error(f"unknown optimizers {bad}; choose from {known}")
        chosen = [lower[s.lower()] for s in want]
    sizes = _parse_sizes(a.sizes, ap) if a.sizes else (QUICK_SIZES if a.quick else DEFAULT_SIZES)
    repeat = a.repeat if a.repeat is not None else (3 if a.quick else 7)
    if repeat < 1:
        ap.error("--repeat must be >= 1")
    res = run([(n, s) for n in chosen for s in sizes], repeat)
    text = table(res)
    if res["notes"]:
        text += "\n\n" + "\n".join(f"note: {n}" for n in res["notes"])
    print(json.dumps(res, indent=1) if a.json else text, file=out or sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
