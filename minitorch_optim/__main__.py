"""Command line: ``python -m minitorch_optim train`` (the main job) and ``python -m minitorch_optim bench``."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}


def _optimizer_names():
    import minitorch_optim as optim

    names = {n.lower(): n for n in dir(optim) if isinstance(getattr(optim, n), type)
             and issubclass(getattr(optim, n), optim.Optimizer) and n not in ("Optimizer", "LBFGS")}
    return names


def build_model(nn, hidden=64, classes=3):
    return nn.Sequential(nn.Linear(2, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


def evaluate(model, X, y, F):
    import autograd as ag

    model.eval()
    with ag.no_grad():
        out = model(X)
        loss = float(F.cross_entropy(out, y))
        acc = float((out.argmax(1) == y).numpy().mean())
    model.train()
    return loss, acc


def train(args):
    import autograd as ag
    import autograd.nn as nn
    import autograd.nn.functional as F
    import minitorch_optim as optim
    from autograd.data import DataLoader, TensorDataset
    from minitorch_optim.datasets import spirals, train_val_split

    ag.manual_seed(args.seed)
    X, y = spirals(seed=args.seed)
    (Xt, yt), (Xv, yv) = train_val_split(X, y)
    dev = args.device
    Xt, yt, Xv, yv = (ag.tensor(a, device=dev) for a in (Xt, yt, Xv, yv))
    model = build_model(nn).to(dev)
    names = _optimizer_names()
    opt = getattr(optim, names[args.optimizer])(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(Xt, yt), batch_size=args.batch_size, shuffle=True,
                        generator=ag.Generator().manual_seed(args.seed))
    print(f"training a {sum(p.numel() for p in model.parameters())}-parameter MLP with BatchNorm on "
          f"{len(yt)} spiral points ({names[args.optimizer]}, lr={args.lr}, {args.epochs} epochs, {dev})")
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total, n = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += float(loss) * len(yb)
            n += len(yb)
        vl, va = evaluate(model, Xv, yv, F)
        print(f"epoch {epoch:3d}  train loss {total / n:.4f}  val loss {vl:.4f}  val acc {va:.3f}")
    _, ta = evaluate(model, Xt, yt, F)
    vl, va = evaluate(model, Xv, yv, F)
    print(f"done in {time.perf_counter() - t0:.1f}s: train acc {ta:.3f}, val acc {va:.3f}")
    return va


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minitorch-optim", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train an MLP on the embedded spirals dataset")
    t.add_argument("--optimizer", default="adamw", choices=sorted(_optimizer_names()))
    t.add_argument("--lr", type=float, default=1e-2)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    b = sub.add_parser("bench", help="optimizer step benchmark (see python -m minitorch_optim.bench -h)")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.epochs <= 0 if args.cmd == "train" else False:
        parser.error("--epochs must be positive")
    if args.cmd == "train":
        train(args)
    else:
        from .bench import main as bench_main

        bench_main(args.rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
