"""``python -m minitorch_optim train``: an MLP with BatchNorm on the embedded spirals dataset, with any
optimizer, a learning-rate schedule, SWA and EMA, a progress bar, and resumable checkpoints."""
from __future__ import annotations

import argparse
import sys
import time


from . import checkpoint as ckpt

SCHEDULERS = ("none", "step", "cosine", "exponential", "linear", "onecycle")
CONFIG_KEYS = ("optimizer", "lr", "weight_decay", "scheduler", "batch_size", "hidden", "seed", "swa_start",
               "swa_lr", "ema", "samples")


def optimizer_names():
    import minitorch_optim as optim

    return {n.lower(): n for n in dir(optim)
            if isinstance(getattr(optim, n), type) and issubclass(getattr(optim, n), optim.Optimizer)
            and n not in ("Optimizer", "LBFGS", "SparseAdam", "Muon")}


def add_train_arguments(p):
    p.add_argument("--optimizer", default="adamw", choices=sorted(optimizer_names()), help="default: adamw")
    p.add_argument("--lr", type=_positive(float), default=1e-2, help="learning rate (default 1e-2)")
    p.add_argument("--weight-decay", type=_nonneg(float), default=None, help="default: the optimizer's")
    p.add_argument("--scheduler", default="cosine", choices=SCHEDULERS, help="default: cosine")
    p.add_argument("--epochs", type=_positive(int), default=20)
    p.add_argument("--batch-size", type=_positive(int), default=64)
    p.add_argument("--hidden", type=_positive(int), default=64, help="hidden width of the MLP")
    p.add_argument("--samples", type=_positive(int), default=600, help="points per class in the dataset")
    p.add_argument("--swa-start", type=_nonneg(int), default=None,
                   help="average weights (SWA) from this epoch on; 0 = no SWA (default: the last quarter)")
    p.add_argument("--swa-lr", type=_positive(float), default=None, help="SWALR target (default lr/2)")
    p.add_argument("--ema", type=_unit(float), default=0.99, help="EMA decay per step (default 0.99); 0 = no EMA")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:n]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", metavar="PATH", help="write a checkpoint (.npz) after every epoch")
    p.add_argument("--resume", metavar="PATH", help="continue from a checkpoint written by --save")
    p.add_argument("--stop-after", type=_positive(int), default=None, metavar="N",
                   help="stop after N epochs of this run (the checkpoint stays resumable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of mpirun (DistributedDataParallel; output from rank 0)")
    p.add_argument("--zero", action="store_true", help="with --distributed: shard the optimizer state (ZeRO-1)")
    return p


def _positive(kind):
    def conv(s):
        v = kind(s)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
        return v
    conv.__name__ = kind.__name__
    return conv


def _nonneg(kind):
    def conv(s):
        v = kind(s)
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {s}")
        return v
    conv.__name__ = kind.__name__
    return conv


def _unit(kind):
    def conv(s):
        v = kind(s)
        if not 0 <= v < 1:
            raise argparse.ArgumentTypeError(f"must be in [0, 1), got {s}")
        return v
    conv.__name__ = kind.__name__
    return conv


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal)."""

    def __init__(self, total, label, enabled):
        self.total, self.label, self.n = total, label, 0
        self.enabled = enabled and sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def update(self, loss):
        self.n += 1
        if self.enabled:
            width = 30
            done = int(width * self.n / self.total)
            rate = self.n / max(time.perf_counter() - self.t0, 1e-9)
            sys.stderr.write(f"\r{self.label} [{'#' * done}{'.' * (width - done)}] {self.n}/{self.total} "
                             f"loss {loss:.4f} {rate:.0f} it/s")
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def build_model(nn, hidden, classes=3):
    return nn.Sequential(nn.Linear(2, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


def _scheduler(name, opt, args, steps_per_epoch):
    from minitorch_optim import lr_scheduler as S

    if name == "none":
        return None, False
    if name == "step":
        return S.StepLR(opt, step_size=max(1, args.epochs // 3), gamma=0.3), False
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=args.epochs), False
    if name == "exponential":
        return S.ExponentialLR(opt, gamma=0.9), False
    if name == "linear":
        return S.LinearLR(opt, start_factor=0.1, total_iters=max(1, args.epochs // 4)), False
    return S.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch), True


def _evaluate(model, X, y, F, ag):
    was = model.training
    model.eval()
    with ag.no_grad():
        out = model(X)
        loss = float(F.cross_entropy(out, y))
        acc = float((out.argmax(1) == y).numpy().mean())
    model.train(was)
    return loss, acc


def _config(args):
    return {k: getattr(args, k) for k in CONFIG_KEYS}


def train(args, log=print):
    """Run the main job; returns a dict with the final metrics and the trained objects."""
    import autograd as ag
    import autograd.nn as nn
    import autograd.nn.functional as F
    import minitorch_optim as optim
    from autograd.data import DataLoader, TensorDataset

    from .datasets import spirals, train_val_split
    from minitorch_optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

    ddp = None
    if getattr(args, "distributed", False) or getattr(args, "zero", False):
        from minitorch_optim.distributed._cli import Session

        ddp = Session(args)
        log = ddp.log(log)
    if args.swa_start is None:
        args.swa_start = args.epochs - args.epochs // 4 + 1 if args.epochs >= 4 else 0
    resume = None
    if args.resume:
        meta, arrays = ckpt.load(args.resume)      # before anything is built: a bad file changes nothing
        if meta.get("config") != _config(args):
            diff = {k: (meta.get("config", {}).get(k), v) for k, v in _config(args).items()
                    if meta.get("config", {}).get(k) != v}
            raise ckpt.CheckpointError(f"checkpoint {args.resume!r} was written with other settings "
                                       f"(saved, given): {diff}")
        resume = (meta, arrays)
    ag.manual_seed(args.seed)
    X, y = spirals(n_per_class=args.samples, seed=args.seed)
    (Xt, yt), (Xv, yv) = train_val_split(X, y)
    dev = args.device
    Xt, yt, Xv, yv = (ag.tensor(a, device=dev) for a in (Xt, yt, Xv, yv))
    model = build_model(nn, args.hidden).to(dev)
    net = model if ddp is None else ddp.wrap(model)
    kw = {"lr": args.lr}
    if args.weight_decay is not None:
        kw["weight_decay"] = args.weight_decay
    cls = getattr(optim, optimizer_names()[args.optimizer])
    opt = cls(model.parameters(), **kw) if ddp is None else ddp.optimizer(cls, net.parameters(), kw)
    gen = ag.Generator().manual_seed(args.seed)
    loader = (DataLoader(TensorDataset(Xt, yt), batch_size=args.batch_size, shuffle=True, generator=gen)
              if ddp is None else ddp.loader(TensorDataset(Xt, yt), args.batch_size, args.seed))
    sched, per_batch = _scheduler(args.scheduler, opt, args, len(loader))
    swa_model = AveragedModel(model) if args.swa_start else None
    swa_sched = SWALR(opt, swa_lr=args.swa_lr or args.lr / 2, anneal_epochs=2) if args.swa_start else None
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema)) if args.ema else None
    start = 0
    if resume is not None:
        meta, arrays = resume
        start = _restore(meta, arrays, model, opt, sched, swa_model, swa_sched, ema_model, gen)
        log(f"resumed from {args.resume} after epoch {start}")
    if per_batch and args.epochs * len(loader) > sched.total_steps:
        raise ckpt.CheckpointError(f"--epochs {args.epochs} runs past the OneCycle schedule of the checkpoint "
                                   f"({sched.total_steps} steps)")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training a {n_params}-parameter MLP with BatchNorm on {len(yt)} spiral points "
        f"({type(opt).__name__}, lr={args.lr}, {args.scheduler} schedule, {args.epochs} epochs, {dev}"
        f"{'' if ddp is None else ddp.describe(opt)})")
    t0 = time.perf_counter()
    end = args.epochs if args.stop_after is None else min(args.epochs, start + args.stop_after)
    for epoch in range(start + 1, end + 1):
        bar = Progress(len(loader), f"epoch {epoch}", not args.no_progress)
        total, n = 0.0, 0
        in_swa = swa_model is not None and epoch >= args.swa_start
        if ddp is not None:
            ddp.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            if ema_model is not None:
                ema_model.update_parameters(model)
            if per_batch and not in_swa:
                sched.step()
            total += float(loss) * len(yb)
            n += len(yb)
            bar.update(float(loss))
        bar.close()
        if in_swa:
            swa_model.update_parameters(model)
            swa_sched.step()
        elif sched is not None and not per_batch:
            sched.step()
        vl, va = _evaluate(model, Xv, yv, F, ag)
        train_loss = total / n if ddp is None else ddp.mean(total, n)
        log(f"epoch {epoch:3d}  train loss {train_loss:.4f}  val loss {vl:.4f}  val acc {va:.3f}  "
            f"lr {opt.param_groups[0]['lr']:.2e}")
        if args.save:
            _save(args, epoch, model, opt, sched, swa_model, swa_sched, ema_model, gen)
    elapsed = time.perf_counter() - t0
    rows = [("plain", model)]
    if swa_model is not None and int(swa_model.n_averaged.item()) > 0:
        update_bn(loader, swa_model, device=dev)
        rows.append(("SWA", swa_model))
    if ema_model is not None and int(ema_model.n_averaged.item()) > 0:
        update_bn(loader, ema_model, device=dev)
        rows.append(("EMA", ema_model))
    results = {}
    log(f"\n{'model':6} {'val loss':>9} {'val acc':>8} {'train acc':>9}")
    for name, m in rows:
        vl, va = _evaluate(m, Xv, yv, F, ag)
        _, ta = _evaluate(m, Xt, yt, F, ag)
        results[name] = {"val_loss": vl, "val_acc": va, "train_acc": ta}
        log(f"{name:6} {vl:9.4f} {va:8.3f} {ta:9.3f}")
    log(f"\n{end - start} epochs in {elapsed:.1f}s")
    if ddp is not None:
        ddp.close()
    return {"results": results, "model": model, "optimizer": opt, "seconds": elapsed, "last_epoch": end}


def _save(args, epoch, model, opt, sched, swa_model, swa_sched, ema_model, gen):
    import autograd as ag

    opt_meta, arrays = ckpt.pack_optimizer(opt.state_dict())
    arrays.update(ckpt.module_arrays("model", model))
    meta = {"epoch": epoch, "config": _config(args), "optimizer": opt_meta,
            "scheduler": sched.state_dict() if sched is not None else None,
            "swa_scheduler": swa_sched.state_dict() if swa_sched is not None else None,
            "rng": {"loader": gen.get_state(), "default": ag.default_generator.get_state()}}
    if swa_model is not None:
        arrays.update(ckpt.module_arrays("swa", swa_model))
    if ema_model is not None:
        arrays.update(ckpt.module_arrays("ema", ema_model))
    ckpt.save(args.save, meta, arrays)


def _restore(meta, arrays, model, opt, sched, swa_model, swa_sched, ema_model, gen):
    import autograd as ag

    try:
        model.load_state_dict(ckpt.module_state("model", arrays))
        if swa_model is not None:
            swa_model.load_state_dict(ckpt.module_state("swa", arrays))
        if ema_model is not None:
            ema_model.load_state_dict(ckpt.module_state("ema", arrays))
        opt.load_state_dict(ckpt.unpack_optimizer(meta["optimizer"], arrays))
        if sched is not None:
            sched.load_state_dict(meta["scheduler"])
        if swa_sched is not None:
            swa_sched.load_state_dict(meta["swa_scheduler"])
        gen.set_state(meta["rng"]["loader"])
        ag.default_generator.set_state(meta["rng"]["default"])
        return int(meta["epoch"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise ckpt.CheckpointError(f"checkpoint does not match this model/optimizer: {e}") from None
