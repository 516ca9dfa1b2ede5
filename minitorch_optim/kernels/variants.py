"""The kernels an elementwise optimizer class generates, for emission (``--emit-cuda``) and the tests.

The flag grid is read from the class itself (no registry): every boolean default of the optimizer's
``defaults`` that its constructor takes, but the path switches, and every numeric default that is 0 (``weight_decay``, ``momentum``,
``dampening``, ...) tried at 0 and at a non-zero value; combinations the constructor refuses are skipped.
Each combination is traced at its first step and at a later one (``sc["first"]``), per dtype.
"""
from __future__ import annotations

import inspect
import itertools

import numpy as np

PATH_SWITCHES = {"foreach", "fused", "differentiable", "capturable"}
NONZERO = {"momentum": 0.9}      # the non-zero value tried for a zero default (0.1 otherwise)
DTYPES = ("float32", "float64")


def flag_grid(cls):
    """``[(name, values)]`` of the class's flag grid."""
    from autograd.nn import Parameter  # noqa: PLC0415

    defaults = cls([Parameter(np.zeros(2, np.float32))]).defaults
    accepted = inspect.signature(cls.__init__).parameters
    grid = []
    for k, v in defaults.items():
        if k in PATH_SWITCHES or k not in accepted:
            continue
        if isinstance(v, bool):
            grid.append((k, (False, True)))
        elif isinstance(v, (int, float)) and v == 0:
            grid.append((k, (0.0, NONZERO.get(k, 0.1))))
    return grid


def configs(cls):
    """Constructor keyword sets covering the class's flag grid (the ones the constructor accepts)."""
    from autograd.nn import Parameter  # noqa: PLC0415

    grid = flag_grid(cls)
    for values in itertools.product(*(v for _, v in grid)):
        kw = dict(zip((k for k, _ in grid), values))
        try:
            cls([Parameter(np.zeros(2, np.float32))], **kw)
        except (ValueError, RuntimeError, TypeError):
            continue
        yield kw


def label(kw):
    on = [k for k, v in kw.items() if v]
    return "-".join(on) or "plain"


def traces(cls, dtypes=DTYPES):
    """``(label, dtype, trace, n_buffers)`` for every kernel of ``cls`` (deduplicated by trace)."""
    from autograd.nn import Parameter  # noqa: PLC0415

    from .._core.trace import trace  # noqa: PLC0415
    from ..optimizer import scalar  # noqa: PLC0415

    seen = set()
    for kw in configs(cls):
        for dtype in dtypes:
            opt = cls([Parameter(np.zeros(2, dtype))], **kw)
            group = opt.param_groups[0]
            names = list(opt.state_buffers(group))
            for first in (True, False):
                s = dict(opt.scalar_state(group))
                if not first:
                    s["step"] = 1.0
                sc, _ = opt.step_scalars(group, scalar(group["lr"]), s)
                sc["first"] = first

                def update(o, p, g, st, sc=sc, opt=opt, group=group):
                    opt.update(o, p, g, st, group, sc)

                tr = trace(update, names, np.dtype(dtype))
                if tr.key() in seen:
                    continue
                seen.add(tr.key())
                yield f"{label(kw)}{'-first' if first else ''}", dtype, tr, len(names)


def elementwise_classes():
    """The fusable elementwise optimizers of minitorch_optim (and of contrib, when it imports)."""
    import minitorch_optim  # noqa: PLC0415

    from ..elementwise import ElementwiseOptimizer  # noqa: PLC0415

    mods = [minitorch_optim]
    try:
        from minitorch_optim import contrib  # noqa: PLC0415

        mods.append(contrib)
    except ImportError:
        pass
    out = []
    for mod in mods:
        for name in sorted(getattr(mod, "__all__", dir(mod))):
            obj = getattr(mod, name, None)
            if (isinstance(obj, type) and issubclass(obj, ElementwiseOptimizer) and obj._fused_supported
                    and obj not in out):
                out.append(obj)
    return out
