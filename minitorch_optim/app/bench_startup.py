"""Figures that only a fresh process shows: compile and import costs (part of ``bench``).

- the first fused Adam step with an empty Numba cache (``NUMBA_CACHE_DIR`` pointing at a new folder), and
  again with that cache now warm; with an empty cache the step runs foreach while its kernel compiles in
  the background, and the time until the kernel is ready (what a later step would otherwise wait) is
  reported beside it;
- the eleven elementwise optimizers stepped once each in one process, cold and warm;
- time to first step: from starting ``python`` through the imports to one default Adam step done, ours
  and torch's (wall clock measured by the parent).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

ELEMENTWISE = ("SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "ASGD", "NAdam", "RAdam", "RMSprop", "Rprop")

_OURS = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import autograd as ag
import minitorch_optim as optim
t1 = time.perf_counter()
names, kw = sys.argv[1].split(","), json.loads(sys.argv[2])
out = {"import_s": t1 - t0, "steps": {}}
for name in names:
    ps = [ag.tensor(np.ones(100_000, np.float32), requires_grad=True) for _ in range(10)]
    for p in ps:
        p.grad = ag.tensor(np.full(100_000, 1e-3, np.float32))
    opt = getattr(optim, name)(ps, **kw)
    t = time.perf_counter()
    opt.step()
    out["steps"][name] = time.perf_counter() - t
from minitorch_optim import kernels
t = time.perf_counter()
kernels.wait_compiled()
out["compiled_after_s"] = time.perf_counter() - t1
print(json.dumps(out))
"""

_TORCH = """
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
kw = json.loads(sys.argv[1])
ps = [torch.ones(100_000, requires_grad=True) for _ in range(10)]
for p in ps:
    p.grad = torch.full((100_000,), 1e-3)
opt = torch.optim.Adam(ps, **kw)
t = time.perf_counter()
opt.step()
print(json.dumps({"import_s": t1 - t0, "steps": {"Adam": time.perf_counter() - t}}))
"""


def _run(code, args, env=None):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600,
                       env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


def startup_figures(note=lambda m: None):
    res = {}
    have_numba = importlib.util.find_spec("numba") is not None
    have_torch = importlib.util.find_spec("torch") is not None
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        if have_numba:
            note("fresh process: first fused Adam step, empty Numba cache")
            cold = _run(_OURS, ["Adam", json.dumps({"fused": True})], env)
            res["fused_first_cold_s"], res["fused_compiled_after_s"] = cold["steps"]["Adam"], cold["compiled_after_s"]
            note("fresh process: first fused Adam step, warm Numba cache")
            res["fused_first_warm_s"] = _run(_OURS, ["Adam", json.dumps({"fused": True})], env)["steps"]["Adam"]
            note("fresh process: all 11 elementwise optimizers (fused), empty cache for the new ones")
            cold = _run(_OURS, [",".join(ELEMENTWISE), json.dumps({"fused": True})], env)
            res["all11_cold_s"] = sum(cold["steps"].values())
            res["all11_compiled_after_s"] = cold["compiled_after_s"]
            res["all11_warm_s"] = sum(_run(_OURS, [",".join(ELEMENTWISE), json.dumps({"fused": True})],
                                           env)["steps"].values())
        note("fresh process: python start + imports + first default Adam step, ours")
        ours = _run(_OURS, ["Adam", "{}"], env)
        res["ours_first_step_wall_s"], res["ours_import_s"] = ours["wall_s"], ours["import_s"]
        res["ours_first_step_s"] = ours["steps"]["Adam"]
    if have_torch:
        note("fresh process: python start + imports + first default Adam step, torch")
        t = _run(_TORCH, ["{}"])
        res["torch_first_step_wall_s"], res["torch_import_s"] = t["wall_s"], t["import_s"]
        res["torch_first_step_s"] = t["steps"]["Adam"]
        res["torch_fused_first_step_s"] = _run(_TORCH, [json.dumps({"fused": True})])["steps"]["Adam"]
    return res


def startup_table(s):
    lines = ["fresh processes (1M float32 parameters in 10 tensors):"]
    if "fused_first_cold_s" in s:
        lines.append(f"  first fused Adam step, empty Numba cache   {s['fused_first_cold_s']:8.3f} s  (foreach; its kernel "
                     f"ready {s['fused_compiled_after_s']:.2f} s after the imports)")
        lines.append(f"  first fused Adam step, warm Numba cache    {s['fused_first_warm_s']:8.3f} s")
        lines.append(f"  11 elementwise optimizers, one step each   {s['all11_cold_s']:8.3f} s cold cache, "
                     f"{s['all11_warm_s']:.3f} s warm (cold: kernels ready {s['all11_compiled_after_s']:.2f} s "
                     "after the imports)")
    else:
        lines.append("  (Numba not installed: no fused figures)")
    if "torch_fused_first_step_s" in s:
        lines.append(f"  torch first fused Adam step                {s['torch_fused_first_step_s']:8.3f} s")
    lines.append(f"  time to first step, ours (python + imports {s['ours_import_s']:.2f} s + step "
                 f"{s['ours_first_step_s']:.3f} s)  {s['ours_first_step_wall_s']:.2f} s wall")
    if "torch_first_step_wall_s" in s:
        lines.append(f"  time to first step, torch (python + imports {s['torch_import_s']:.2f} s + step "
                     f"{s['torch_first_step_s']:.3f} s)  {s['torch_first_step_wall_s']:.2f} s wall; "
                     f"ratio ours/torch {s['ours_first_step_wall_s'] / s['torch_first_step_wall_s']:.2f}")
    else:
        lines.append("  (torch not installed: no torch figures)")
    return "\n".join(lines)
