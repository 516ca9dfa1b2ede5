"""``python -m minitorch_optim train``: an MLP with BatchNorm (or a small CNN) on the bundled spirals or
UCI digits, with any optimizer, a learning-rate schedule, SWA and EMA, a progress bar, resumable
checkpoints and an optional plot of the curves."""
from __future__ import annotations

import argparse
import sys
import time

from . import checkpoint as ckpt
from .datasets import DATASETS
from .models import MODELS
from .settings import (CONFIG_KEYS, OPT_DEFAULTS, SCHEDULERS, UsageError, describe_lrs, optimizer_names,
                       resolve, resolve_amp)
from .training import Progress, evaluate, make_optimizers, make_schedulers, mixed_precision


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


def add_train_arguments(p):
    """The ``train`` options. Options left out take their default, or on ``--resume`` the checkpoint's value."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ("default learning rates (tuned on the default run; a third of these with --model cnn):\n" +
                describe_lrs() +
                "\n\n--resume continues a run saved with --save: leave the other options out to keep the\n"
                "checkpoint's settings; --epochs and --swa-start may change (the schedule is stretched).")
    p.add_argument("--dataset", choices=DATASETS, default=None, help="spirals (2-D, 3 classes) or digits "
                   "(UCI 8x8 handwritten digits, 10 classes) (default: spirals)")
    p.add_argument("--model", choices=MODELS, default=None, help="mlp, or cnn for --dataset digits (default: mlp)")
    p.add_argument("--optimizer", default=None, choices=sorted(optimizer_names()), help="(default: adamw)")
    p.add_argument("--lr", type=_positive(float), default=None,
                   help="learning rate (default: per optimizer, see below)")
    p.add_argument("--weight-decay", type=_nonneg(float), default=None, help="(default: the optimizer's own)")
    p.add_argument("--scheduler", default=None, choices=SCHEDULERS, help="(default: cosine)")
    p.add_argument("--epochs", type=_positive(int), default=None, help="(default: 20)")
    p.add_argument("--batch-size", type=_positive(int), default=None, help="(default: 64; rprop 512)")
    p.add_argument("--hidden", type=_positive(int), default=None, help="hidden width (default: 64)")
    p.add_argument("--samples", type=_positive(int), default=None,
                   help="spirals: points per class (default 600); digits: images used (default: all 1797)")
    p.add_argument("--swa-start", type=_nonneg(int), default=None,
                   help="average weights (SWA) from this epoch on; 0 = no SWA (default: the last 40%% of epochs)")
    p.add_argument("--swa-lr", type=_positive(float), default=None, help="SWALR target (default: lr/2)")
    p.add_argument("--ema", type=_unit(float), default=None,
                   help="EMA decay per step; 0 = no EMA (default: 0.95, about a 20-step window)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:n] (default: cpu)")
    p.add_argument("--amp", choices=("bf16", "fp16"), default=None,
                   help="mixed precision: forward under autocast in bfloat16 or float16 (fp16 with loss scaling)")
    p.add_argument("--seed", type=int, default=None, help="(default: 0)")
    p.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch (atomically)")
    p.add_argument("--resume", metavar="PATH", help="continue from a checkpoint written by --save")
    p.add_argument("--stop-after", type=_positive(int), default=None, metavar="N",
                   help="stop after N epochs of this run (the checkpoint stays resumable)")
    p.add_argument("--plot", metavar="PNG", help="draw loss, accuracy and learning rate per epoch (needs matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of mpirun (DistributedDataParallel; output from rank 0)")
    p.add_argument("--zero", action="store_true", help="with --distributed: shard the optimizer state (ZeRO-1)")
    return p


class Interrupted(Exception):
    """Ctrl-C during training; carries the message saying what was kept."""


def _check_device(dev):
    import autograd as ag

    try:
        d = ag.device(dev)
    except (TypeError, ValueError, RuntimeError) as e:
        raise UsageError(f"--device {dev!r}: {e}") from None
    if d.type == "cuda":
        if not ag.cuda.is_available():
            raise UsageError(f"--device {dev}: no CUDA device is usable here (CuPy with a GPU is needed: "
                             f"pip install -e '.[cuda]'); use --device cpu")
        if (d.index or 0) >= ag.cuda.device_count():
            raise UsageError(f"--device {dev}: only {ag.cuda.device_count()} CUDA device(s)")
    return str(d)


def _swa_notice(cfg, opts):
    """Why the learning rate changes course when averaging starts (under a decaying schedule it may rise)."""
    swa_lr = opts[0].param_groups[0].get("swa_lr")
    target = f"{swa_lr:.3g}" if swa_lr is not None else "its swa_lr"
    return (f"-- SWA from epoch {cfg['swa_start']}: the weights are averaged once per epoch, and SWALR replaces "
            f"the {cfg['scheduler']} schedule, moving the lr to {target} over 2 epochs (so it may rise) --")


def train(args, log=print, warn=None):
    """Run the main job; returns a dict with the final metrics, the trained objects and the history."""
    import autograd as ag
    import autograd.nn as nn
    from autograd.data import DataLoader, TensorDataset

    from minitorch_optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

    from . import datasets, models

    warn = warn or (lambda m: print(f"minitorch-optim: warning: {m}", file=sys.stderr))
    ddp = None
    if getattr(args, "distributed", False) or getattr(args, "zero", False):
        from minitorch_optim.distributed._cli import Session

        ddp = Session(args)
        log = ddp.log(log)
        if ddp.rank != 0:
            warn = lambda m: None  # noqa: E731 - one rank speaks
    saved = ckpt.read(args.resume) if args.resume else None   # before anything is built
    cfg = resolve(args, saved, warn)
    amp = resolve_amp(args, saved)
    dev = _check_device(args.device)
    if args.save:
        ckpt.check_save_path(args.save)
    if args.plot:
        from .plot import check_plot_path

        check_plot_path(args.plot)
    ag.manual_seed(cfg["seed"])
    X, y, classes = datasets.load(cfg["dataset"], cfg["samples"], cfg["seed"])
    (Xt, yt), (Xv, yv) = datasets.train_val_split(X, y)
    try:
        model = models.make(nn, cfg["model"], cfg["dataset"], cfg["hidden"], classes, X).to(dev)
    except ValueError as e:
        raise UsageError(str(e)) from None
    Xt, yt, Xv, yv = (ag.tensor(a, device=dev) for a in (Xt, yt, Xv, yv))
    net = model if ddp is None else ddp.wrap(model)
    opts = make_optimizers(model, cfg, build=None if ddp is None else ddp.optimizer)
    gen = ag.Generator().manual_seed(cfg["seed"])
    loader = (DataLoader(TensorDataset(Xt, yt), batch_size=cfg["batch_size"], shuffle=True, generator=gen)
              if ddp is None else ddp.loader(TensorDataset(Xt, yt), cfg["batch_size"], cfg["seed"]))
    scheds, swa_scheds, per_batch = make_schedulers(opts, cfg, len(loader))
    swa_model = AveragedModel(model) if cfg["swa_start"] else None
    ema_model = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg["ema"]), use_buffers=True)
                 if cfg["ema"] else None)
    start, history = 0, []
    if saved is not None:
        from .restore import restore

        start, history = restore(saved, cfg, model, opts, scheds, swa_scheds, swa_model, ema_model, gen)
        log(f"resumed from {args.resume} after epoch {start}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training a {n_params}-parameter {cfg['model'].upper()} on {len(yt)} {cfg['dataset']} samples "
        f"({'+'.join(type(o).__name__ for o in opts)}, lr={cfg['lr']:g}, {cfg['scheduler']} schedule, "
        f"{cfg['epochs']} epochs, {dev}{'' if ddp is None else ddp.describe(opts[0])})")
    t0 = time.perf_counter()
    end = cfg["epochs"] if args.stop_after is None else min(cfg["epochs"], start + args.stop_after)
    lbfgs = cfg["optimizer"] == "lbfgs"
    region, scaler = mixed_precision(amp, dev, lbfgs)
    if saved is not None and scaler is not None:
        from .restore import restore_scaler

        restore_scaler(saved, scaler, warn)
    F = nn.functional
    epoch = start
    try:
        for epoch in range(start + 1, end + 1):
            bar = Progress(len(loader), f"epoch {epoch}", not args.no_progress)
            total, n = 0.0, 0
            in_swa = swa_model is not None and epoch >= cfg["swa_start"]
            if in_swa and epoch == cfg["swa_start"]:
                log(_swa_notice(cfg, opts))
            if ddp is not None:
                ddp.set_epoch(epoch)
            for xb, yb in loader:
                def closure():
                    for o in opts:
                        o.zero_grad()
                    with region():
                        out = F.cross_entropy(net(xb), yb)
                    (out if scaler is None else scaler.scale(out)).backward()
                    return out
                if lbfgs:
                    loss = opts[0].step(closure)
                else:
                    loss = closure()
                    for o in opts:
                        if scaler is None:
                            o.step()
                        else:
                            scaler.step(o)
                    if scaler is not None:
                        scaler.update()
                if ema_model is not None:
                    ema_model.update_parameters(model)
                if per_batch and not in_swa:
                    for s in scheds:
                        s.step()
                total += float(loss) * len(yb)
                n += len(yb)
                bar.update(float(loss))
            bar.close()
            if in_swa:
                swa_model.update_parameters(model)
                for s in swa_scheds:
                    s.step()
            elif not per_batch:
                for s in scheds:
                    s.step()
            vl, va = evaluate(model, Xv, yv)
            lr = opts[0].param_groups[0]["lr"]
            tl = total / n if ddp is None else ddp.mean(total, n)
            history.append({"epoch": epoch, "train_loss": tl, "val_loss": vl, "val_acc": va, "lr": lr})
            log(f"epoch {epoch:3d}  train loss {tl:.4f}  val loss {vl:.4f}  val acc {va:.3f}  lr {lr:.2e}")
            if args.save:
                ckpt.write(args.save, {"epoch": epoch, "config": {k: cfg[k] for k in CONFIG_KEYS}, "history": history,
                                       "model": model.state_dict(), "optimizers": [o.state_dict() for o in opts],
                                       "schedulers": [s.state_dict() for s in scheds],
                                       "swa_schedulers": [s.state_dict() for s in swa_scheds],
                                       "swa": swa_model.state_dict() if swa_model is not None else None,
                                       "ema": ema_model.state_dict() if ema_model is not None else None,
                                       "amp": amp, "scaler": scaler.state_dict() if scaler is not None else None,
                                       "rng": {"loader": gen.get_state(), "default": ag.default_generator.get_state()}})
    except KeyboardInterrupt:
        if args.save:
            # an interrupt between the temporary's creation and autograd.save's own clean-up (inside
            # tempfile.mkstemp, or just after it) would leave it behind
            ckpt.remove_stale_temporaries(args.save)
        done = epoch - 1
        if args.save and done > start:
            msg = (f"interrupted during epoch {epoch}; {args.save} holds epoch {done} (complete). Continue with: "
                   f"python -m minitorch_optim train --resume {args.save} --save {args.save}")
        elif args.resume:
            msg = (f"interrupted during epoch {epoch}; nothing new was saved. Continue with: "
                   f"python -m minitorch_optim train --resume {args.resume}")
        else:
            msg = f"interrupted during epoch {epoch}; nothing was saved (add --save PATH to make runs resumable)"
        raise Interrupted(msg) from None
    elapsed = time.perf_counter() - t0
    if end < cfg["epochs"]:          # --stop-after: say how to go on, as Ctrl-C does
        if args.save:
            log(f"stopped after epoch {end} of {cfg['epochs']} (--stop-after {args.stop_after}); {args.save} holds "
                f"it. Continue with: python -m minitorch_optim train --resume {args.save} --save {args.save}")
        else:
            log(f"stopped after epoch {end} of {cfg['epochs']} (--stop-after {args.stop_after}); nothing was saved "
                f"(add --save PATH to make the run resumable)")
    rows = [("plain", model)]
    if swa_model is not None and int(swa_model.n_averaged.item()) > 0:
        update_bn(loader, swa_model, device=dev)
        rows.append(("SWA", swa_model))
    if ema_model is not None and int(ema_model.n_averaged.item()) > 0:
        rows.append(("EMA", ema_model))
    results = {}
    log(f"\n{'model':6} {'val loss':>9} {'val acc':>8} {'train acc':>9}")
    for name, m in rows:
        vl, va = evaluate(m, Xv, yv)
        _, ta = evaluate(m, Xt, yt)
        results[name] = {"val_loss": vl, "val_acc": va, "train_acc": ta}
        log(f"{name:6} {vl:9.4f} {va:8.3f} {ta:9.3f}")
    log(f"\n{end - start} epochs in {elapsed:.1f}s")
    if ddp is not None:
        ddp.close()
    if args.plot and (ddp is None or ddp.rank == 0):
        from .plot import plot_history

        plot_history(history, args.plot, title=f"{cfg['model']} on {cfg['dataset']}, {cfg['optimizer']}",
                     swa_start=cfg["swa_start"] if swa_model is not None else None, results=results)
        log(f"curves written to {args.plot}")
    return {"results": results, "model": model, "optimizer": opts[0], "optimizers": opts, "seconds": elapsed,
            "last_epoch": end, "history": history, "config": cfg}


__all__ = ["add_train_arguments", "train", "Interrupted", "UsageError", "OPT_DEFAULTS"]
