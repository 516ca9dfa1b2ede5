"""``mpirun -np 2 python -m minitorch_optim bench --distributed``: communication figures of autograd.distributed.

1. All-reduce bandwidth of ``autograd.distributed.all_reduce`` on a 100 MB float32 tensor against MPI's own
   blocking ``Allreduce`` on the same buffer (interleaved repetitions; bus bandwidth 2(n-1)/n * bytes / time).
2. Overlap on the MLP 784-512-512-10: the fraction of backward's compute time during which a gradient
   bucket's all-reduce was in flight, the share of the communication time hidden behind compute, and the
   communication left after backward's compute (exposed). The last bucket (the first layer's weight, the
   largest tensor, whose gradient comes last) can never overlap, as in torch.
Rank 0 prints one table. Timings on a shared machine vary; read them as ratios.
"""
from __future__ import annotations

import time

import numpy as np


def _parse(argv):
    from .args import OneLineParser

    p = OneLineParser(prog="minitorch-optim bench --distributed",
                                description="all-reduce bandwidth and backward/communication overlap "
                                            "(run under mpirun)")
    p.add_argument("--mb", type=float, default=100.0, help="all-reduce buffer size in MB (default 100)")
    p.add_argument("--repeat", type=int, default=5, help="interleaved repetitions (default 5)")
    p.add_argument("--batch", type=int, default=256, help="MLP batch size per rank (default 256)")
    p.add_argument("--steps", type=int, default=10, help="timed MLP backward passes (default 10)")
    return p.parse_args(argv)


def bandwidth(dist, MPI, nbytes, repeat):
    import autograd

    n = int(nbytes // 4)
    t = autograd.ones(n, dtype=autograd.float32)
    buf = t._data
    comm = MPI.COMM_WORLD
    ours, theirs = [], []
    dist.all_reduce(t)  # warm up both paths (page faults, shared-memory segments)
    comm.Allreduce(MPI.IN_PLACE, buf)
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        ours.append(time.perf_counter() - t0)
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buf)
        theirs.append(time.perf_counter() - t0)
    w = dist.get_world_size()
    bus = 2 * (w - 1) / w * n * 4
    # every rank's time counts: a collective is as slow as its slowest rank
    slow = np.array([np.median(ours), np.median(theirs)])
    comm.Allreduce(MPI.IN_PLACE, slow, op=MPI.MAX)
    return bus / slow[0] / 1e9, bus / slow[1] / 1e9


def overlap(dist, batch, steps):
    import autograd
    import autograd.nn as nn
    from autograd.nn.parallel import DistributedDataParallel

    autograd.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                                  nn.Linear(512, 10)))
    rng = np.random.default_rng(dist.get_rank())
    x = autograd.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
    y = autograd.tensor(rng.integers(0, 10, batch))
    loss_fn = nn.CrossEntropyLoss()
    fracs, exposed, backs, hidden = [], [], [], []
    for step in range(steps + 2):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        model._timeline = []
        t0 = time.perf_counter()
        loss.backward()
        t_end = time.perf_counter()
        if step < 2:
            continue  # warm-up
        tl = model._timeline
        compute_end = next(t for kind, t, _ in tl if kind == "finalize")
        done = {i: t for kind, t, i in tl if kind == "done"}
        spans = [(t, done.get(i, t_end)) for kind, t, i in tl if kind == "launch"]
        covered = _union_within(spans, t0, compute_end)
        fracs.append(covered / (compute_end - t0))
        hidden.append(covered / max(_union_within(spans, t0, t_end), 1e-12))
        exposed.append(t_end - compute_end)
        backs.append(t_end - t0)
    return (float(np.median(fracs)), float(np.median(hidden)), float(np.median(exposed)), float(np.median(backs)),
            len(model._buckets))


def _union_within(spans, lo, hi):
    total, cur = 0.0, lo
    for a, b in sorted(spans):
        a, b = max(a, cur), min(b, hi)
        if b > a:
            total += b - a
            cur = b
    return total


def main(argv=None):
    args = _parse(argv or [])
    from mpi4py import MPI

    import autograd.distributed as dist

    dist.init_process_group("mpi")
    try:
        if dist.get_world_size() < 2:
            raise SystemExit("bench --distributed needs at least 2 ranks: mpirun -np 2 python -m minitorch_optim "
                             "bench --distributed")
        ours, mpi = bandwidth(dist, MPI, args.mb * 1e6, args.repeat)
        frac, hidden, exposed, back, nb = overlap(dist, args.batch, args.steps)
        if dist.get_rank() == 0:
            w = dist.get_world_size()
            rows = [("all_reduce %.0f MB float32, bus GB/s" % args.mb, f"{ours:.2f}", f"MPI Allreduce {mpi:.2f}",
                     f"{ours / mpi:.2f}x"),
                    (f"MLP 784-512-512-10 backward (batch {args.batch}/rank, {nb} buckets)", f"{back * 1e3:.1f} ms",
                     f"in flight {100 * frac:.0f}% of compute",
                     f"{100 * hidden:.0f}% of comm hidden, exposed {exposed * 1e3:.1f} ms")]
            print(f"autograd.distributed, {w} ranks (MPI: {MPI.Get_library_version().splitlines()[0][:40]})")
            width = max(len(r[0]) for r in rows)
            for r in rows:
                print(f"{r[0]:<{width}}  {r[1]:>10}  {r[2]:<26} {r[3]}")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(sys.argv[1:]))
