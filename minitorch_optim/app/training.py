"""Pieces of the ``train`` loop: optimizers and schedulers from the settings, evaluation, a progress bar."""
from __future__ import annotations

import sys
import time

from .settings import OPT_DEFAULTS


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


def make_optimizers(model, cfg, build=None):
    """The run's optimizers: one, or for Muon, Muon on the hidden 2-D weights plus AdamW on the rest (as one
    MultiOptimizer, or two optimizers when ``build`` wraps each, as ZeRO does).
    ``build(cls, params, kwargs)`` makes each (default ``cls(params, **kwargs)``; ZeRO wraps it)."""
    import minitorch_optim as optim

    from .settings import optimizer_names

    extra = OPT_DEFAULTS[cfg["optimizer"]][1]
    kw = {"lr": cfg["lr"], **extra}
    if cfg["weight_decay"] is not None:
        kw["weight_decay"] = cfg["weight_decay"]
    cls = getattr(optim, optimizer_names()[cfg["optimizer"]])
    build_default = build is None
    build = build or (lambda c, params, kwargs: c(params, **kwargs))
    if cfg["optimizer"] != "muon":
        return [build(cls, model.parameters(), kw)]
    weights = [p for n, p in model.named_parameters() if p.ndim == 2]
    hidden = weights[1:-1]                 # first and last layers stay with AdamW, as Muon's authors advise
    ids = {id(p) for p in hidden}
    rest = [p for p in model.parameters() if id(p) not in ids]
    aux = {"lr": cfg["lr"] / 2}
    if cfg["weight_decay"] is not None:
        aux["weight_decay"] = cfg["weight_decay"]
    if build_default:  # one object: one step, one state_dict, one scheduler over both
        return [optim.MultiOptimizer([cls(hidden, **kw), optim.AdamW(rest, **aux)])]
    return [build(cls, hidden, kw), build(optim.AdamW, rest, aux)]


def make_schedulers(opts, cfg, steps_per_epoch):
    """``(schedulers, swa_schedulers, per_batch)``, one of each per optimizer."""
    from minitorch_optim import lr_scheduler as S
    from minitorch_optim.swa_utils import SWALR

    name, epochs = cfg["scheduler"], cfg["epochs"]

    def one(opt):
        if name == "none":
            return S.LambdaLR(opt, lambda e: 1.0)
        if name == "step":
            return S.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.3)
        if name == "cosine":
            return S.CosineAnnealingLR(opt, T_max=epochs)
        if name == "exponential":
            return S.ExponentialLR(opt, gamma=0.9)
        if name == "linear":
            return S.LinearLR(opt, start_factor=0.1, total_iters=max(1, epochs // 4))
        return S.OneCycleLR(opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=epochs * steps_per_epoch)

    scheds = [one(o) for o in opts]
    swa = []
    if cfg["swa_start"]:
        ratio = (cfg["swa_lr"] / cfg["lr"]) if cfg["swa_lr"] else 0.5
        swa = [SWALR(o, swa_lr=[lr * ratio for lr in _default_lrs(o)], anneal_epochs=2) for o in opts]
    return scheds, swa, name == "onecycle"


def _default_lrs(opt):
    """Each group's optimizer-default lr (a MultiOptimizer's groups take their own child's)."""
    children = getattr(opt, "optimizers", [opt])
    return [c.defaults["lr"] for c in children for _ in c.param_groups]


def evaluate(model, X, y):
    """``(loss, accuracy)`` in eval mode without recording a graph."""
    import autograd as ag
    import autograd.nn.functional as F

    was = model.training
    model.eval()
    with ag.no_grad():
        out = model(X)
        loss = float(F.cross_entropy(out, y))
        acc = float((out.argmax(1) == y).numpy().mean())
    model.train(was)
    return loss, acc


def mixed_precision(amp, dev, lbfgs):
    """``(region, scaler)`` for ``--amp``: ``region()`` opens the autocast region the forward runs in (a
    no-op without ``--amp``); ``scaler`` is a GradScaler for fp16 (float16 gradients underflow without
    loss scaling), None otherwise."""
    import contextlib

    import autograd as ag

    if amp is None:
        return contextlib.nullcontext, None
    device_type = str(dev).split(":")[0]
    dtype = ag.bfloat16 if amp == "bf16" else ag.float16
    scaler = None
    if amp == "fp16":
        if lbfgs:
            from .settings import UsageError

            raise UsageError("--amp fp16 needs loss scaling, which takes no closure: use --amp bf16 with lbfgs")
        scaler = ag.amp.GradScaler(device_type)
    return (lambda: ag.autocast(device_type, dtype=dtype)), scaler
