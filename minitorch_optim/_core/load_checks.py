"""What ``Optimizer.load_state_dict`` checks before it touches anything.

Torch itself checks only the number of groups and of parameters per group at load time; everything else
(a hyper-parameter missing from a group, a state entry missing or of the wrong shape, an SGD state loaded
into Adam) surfaces at the next ``step()`` as a KeyError or a RuntimeError, sometimes after part of the
update was applied, and a few cases (a one-element state broadcast over a larger parameter) torch never
catches. We raise the error class torch's ``step()`` would raise, at load time, so a failed load leaves the
optimizer unchanged and no step ever runs on a state that does not fit.
"""
from __future__ import annotations

import math

from autograd import Tensor

# Group keys torch's ``__setstate__`` fills in (with fixed values, not the live defaults) when a state dict
# from an older release lacks them. Every other hyper-parameter of ``defaults`` must be in each group.
FILLED_ON_LOAD = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False,
                  "fused": None}


def _fills(opt):
    """The flags torch's ``__setstate__`` of ``opt``'s class fills in: the common ones for the elementwise
    optimizers, plus the class's own ``_filled_on_load`` (LBFGS, SparseAdam and Muon fill nothing)."""
    common = FILLED_ON_LOAD if hasattr(opt, "state_buffers") else {}
    return dict(common, **getattr(type(opt), "_filled_on_load", {}))


def fill_group_defaults(opt, group):
    """Add the flags a group from an older state dict lacks (torch's per-class ``__setstate__`` values)."""
    for k, v in _fills(opt).items():
        if k in getattr(opt, "defaults", {}):
            group.setdefault(k, v)


def check_group_keys(opt, saved_groups):
    fills = _fills(opt)
    for i, s in enumerate(saved_groups):
        missing = [k for k in opt.defaults if k not in s and k not in fills]
        if missing:
            raise KeyError(f"loaded state dict's param_groups[{i}] has no {', '.join(map(repr, missing))} "
                           f"(is it a {type(opt).__name__} state dict?)")


def _shape(v):
    if isinstance(v, Tensor):
        return tuple(v.shape)
    shape = getattr(v, "shape", None)
    return tuple(shape) if shape is not None else None


def check_param_state(opt, index, param, state, group):
    """Validate one parameter's loaded state against what ``opt``'s step will read for ``group``.

    ``opt._state_spec(param, group)`` maps each state name to ``"param"`` (the parameter's shape) or
    ``"scalar"`` (one element) or an explicit shape tuple; ``None`` means the class does not describe its state (nothing to check).
    An empty state is a parameter that has not been stepped yet and is always accepted.
    """
    spec = opt._state_spec(param, group)
    if spec is None or not state:
        return
    missing = [k for k in spec if k not in state]
    if missing:
        raise KeyError(f"loaded state of parameter {index} has no {', '.join(map(repr, missing))} "
                       f"(a {type(opt).__name__} state has {', '.join(map(repr, spec))})")
    for name, kind in spec.items():
        v = state[name]
        shape = _shape(v)
        if kind == "scalar":
            if shape is not None and len(shape) and math.prod(shape) != 1:
                raise RuntimeError(f"loaded state {name!r} of parameter {index} has shape {list(shape)}; "
                                   "expected a single value")
            if shape is None and not isinstance(v, (int, float)):
                raise TypeError(f"loaded state {name!r} of parameter {index} is a {type(v).__name__}; "
                                "expected a number or a one-element tensor")
        else:
            want = tuple(param.shape) if kind == "param" else tuple(kind)
            if shape is None:
                raise TypeError(f"loaded state {name!r} of parameter {index} is a {type(v).__name__}; "
                                f"expected a tensor of shape {list(want)}")
            if shape != want:
                raise RuntimeError(f"loaded state {name!r} of parameter {index} has shape {list(shape)}, "
                                   f"expected {list(want)} (the parameter's shape is {list(param.shape)})")
