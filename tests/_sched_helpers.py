"""Helpers for the scheduler tests: the same optimizer built in minitorch_optim and in torch."""
from __future__ import annotations

import numpy as np

import autograd
import minitorch_optim as mo


def params(lib, lr_tensor=False):
    """Two param groups with different lrs (optionally 0-d Tensor lrs)."""
    if lib == "torch":
        import torch
        mk = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
        lr = (lambda v: torch.tensor(v)) if lr_tensor else float
    else:
        mk = lambda v: autograd.tensor(np.array(v), requires_grad=True)  # noqa: E731
        lr = (lambda v: autograd.tensor(v)) if lr_tensor else float
    return [{"params": [mk([1.0, 2.0])], "lr": lr(0.1)}, {"params": [mk([3.0])], "lr": lr(0.02)}]


def make_opt(lib, kind="sgd", lr_tensor=False):
    if lib == "torch":
        import torch.optim as tm
        ns = tm
    else:
        ns = mo
    groups = params(lib, lr_tensor)
    if kind == "sgd":
        return ns.SGD(groups, lr=0.05, momentum=0.9)
    return ns.Adam(groups, lr=0.05, betas=(0.9, 0.99))


def sched_ns(lib):
    if lib == "torch":
        import torch.optim.lr_scheduler as tls
        return tls
    return mo.lr_scheduler


def as_float(v):
    return float(v.item()) if hasattr(v, "item") and not isinstance(v, float) else float(v)


def snapshot(opt, sched):
    """Everything a schedule controls: lrs, momenta/betas per group, and get_last_lr()."""
    out = []
    for g in opt.param_groups:
        out.append(as_float(g["lr"]))
        if "momentum" in g:
            out.append(float(g["momentum"]))
        if "betas" in g:
            out.extend(float(b) for b in g["betas"])
    out.extend(as_float(v) for v in sched.get_last_lr())
    return out
