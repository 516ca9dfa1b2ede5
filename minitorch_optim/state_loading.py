"""Loading optimizer state by parameter name, or partially: ``opt.load_state_dict(sd, by_name=True)``.

torch matches a saved optimizer state to the parameters by position only, so a model with a layer
inserted or reordered gets its neighbour's moments (or a shape error at the next step), and a partial
load is impossible. Here each parameter can take the state saved under its own name (state dicts carry
``param_names`` when the optimizer was built from ``named_parameters()``), and ``strict=False`` loads
whatever matches. Every load is planned in full (matched, missing, unexpected, mismatched) before
anything is touched: a strict load with any mismatch raises :class:`StateLoadError` and changes nothing.

A matched parameter's group takes the saved hyper-parameters of the group its first matched parameter
came from; a group with no match keeps its own. Parameters without a match keep their current state.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field

from ._core.load_checks import check_group_keys, check_param_state, fill_group_defaults


@dataclass
class LoadReport:
    """What a by-name / partial ``load_state_dict`` did: names (or ``param_groups[i][j]`` positions)."""

    loaded: list = field(default_factory=list)
    missing: list = field(default_factory=list)       # current parameters with nothing saved for them
    unexpected: list = field(default_factory=list)    # saved entries that match no current parameter
    mismatched: list = field(default_factory=list)    # (key, why): saved state that does not fit

    @property
    def clean(self):
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self):
        parts = [f"{len(self.loaded)} loaded"]
        if self.missing:
            parts.append("missing: " + ", ".join(map(str, self.missing)))
        if self.unexpected:
            parts.append("unexpected: " + ", ".join(map(str, self.unexpected)))
        for key, why in self.mismatched:
            parts.append(f"mismatched {key}: {why}")
        return "; ".join(parts)


class StateLoadError(RuntimeError):
    """A strict by-name / partial load found mismatches; ``.report`` says which. Nothing was loaded."""

    def __init__(self, report):
        super().__init__(f"Error(s) in loading optimizer state_dict: {report}")
        self.report = report


def _shape(v):
    return tuple(v.shape) if hasattr(v, "shape") else None


def _why_not(opt, key, param, value, group):
    """None if ``value`` (one parameter's saved state) fits ``param`` under ``group``, else the reason."""
    try:
        check_param_state(opt, key, param, value, group)
    except (KeyError, RuntimeError, TypeError) as e:
        return str(e.args[0]) if e.args else type(e).__name__
    if opt._state_spec(param, group) is None:  # undescribed state: tensors must be scalars or param-shaped
        for name, v in value.items():
            shape = _shape(v)
            if shape and shape != tuple(param.shape) and len(shape) and _numel(shape) > 1:
                return f"state {name!r} has shape {list(shape)}, the parameter {list(param.shape)}"
    return None


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _saved_entries(state_dict, by_name):
    """``{key: (saved id, saved group)}`` with names as keys, or ``(group index, position)`` pairs."""
    out = {}
    for gi, g in enumerate(state_dict["param_groups"]):
        names = g.get("param_names")
        if by_name and names is None:
            raise ValueError("loading by name needs 'param_names' in the saved param_groups: build the optimizer "
                             "from model.named_parameters() before saving")
        for j, pid in enumerate(g["params"]):
            key = names[j] if by_name else (gi, j)
            if key in out:
                raise ValueError(f"the saved state dict names parameter {key!r} twice")
            out[key] = (pid, g)
    return out


def _label(key):
    return key if isinstance(key, str) else f"param_groups[{key[0]}][{key[1]}]"


def plan(opt, state_dict, *, by_name, strict):
    """``(report, commit)``: the full check of a load into ``opt``; ``commit()`` applies it."""
    if "param_groups" not in state_dict or "state" not in state_dict:
        raise ValueError("state_dict must have 'state' and 'param_groups' entries")
    saved = _saved_entries(state_dict, by_name)
    report = LoadReport()
    matched_groups = {}   # index of the current group -> the saved group it takes its hyper-parameters from
    new_values = {}       # current param -> its (cast) loaded state (or {} when the saved run never stepped it)
    used = set()
    for gi, group in enumerate(opt.param_groups):
        names = group.get("param_names")
        if by_name and names is None:
            raise ValueError("loading by name needs 'param_names' in the optimizer's param_groups: build it from "
                             "model.named_parameters()")
        for j, p in enumerate(group["params"]):
            key = names[j] if by_name else (gi, j)
            if key not in saved:
                report.missing.append(_label(key))
                continue
            used.add(key)
            pid, sgroup = saved[key]
            hyper = {k: v for k, v in sgroup.items() if k not in ("params", "param_names")}
            fill_group_defaults(opt, hyper)
            try:
                check_group_keys(opt, [hyper])
            except KeyError as e:
                report.mismatched.append((_label(key), str(e.args[0])))
                continue
            value = state_dict["state"].get(pid, {})
            why = _why_not(opt, pid, p, value, dict(group, **hyper))
            if why is not None:
                report.mismatched.append((_label(key), why))
                continue
            special = bool(hyper.get("fused") or hyper.get("capturable"))
            new_values[p] = opt._cast_state(p, value, None, special) if value else {}
            matched_groups.setdefault(gi, hyper)
            report.loaded.append(_label(key))
    report.unexpected = [_label(k) for k in saved if k not in used]
    if strict and not report.clean:
        raise StateLoadError(report)

    def commit():
        state = defaultdict(dict)
        for k, v in opt.state.items():
            if k not in new_values:
                state[k] = v
        for p, v in new_values.items():
            if v:
                state[p] = v
        groups = []
        for gi, group in enumerate(opt.param_groups):
            hyper = matched_groups.get(gi)
            if hyper is None:
                groups.append(group)
                continue
            new = copy.deepcopy(hyper)
            new["params"] = group["params"]
            if "param_names" in group:
                new["param_names"] = group["param_names"]
            groups.append(new)
        opt.__setstate__({"state": state, "param_groups": groups})
    return report, commit


def load(opt, state_dict, *, by_name, strict):
    report, commit = plan(opt, state_dict, by_name=by_name, strict=strict)
    commit()
    return report


def load_many(optimizers, state_dict, parts, *, by_name, strict):
    """A by-name / partial load into several optimizers at once (MultiOptimizer): all planned, then all
    committed. ``parts``: one state dict per optimizer for a positional load, None to match names across all."""
    plans = []
    for i, opt in enumerate(optimizers):
        sd = state_dict if parts is None else parts[i]
        plans.append(plan(opt, sd, by_name=by_name, strict=False))
    report = LoadReport()
    for r, _ in plans:
        report.loaded += r.loaded
        report.missing += r.missing
        report.mismatched += r.mismatched
    if parts is None:  # a saved name is unexpected when no optimizer took it
        taken = set(report.loaded) | {k for k, _ in report.mismatched}
        report.unexpected = [k for k in plans[0][0].unexpected + plans[0][0].loaded
                             + [m for m, _ in plans[0][0].mismatched] if k not in taken]
    else:
        report.unexpected = [f"optimizers[{i}].{k}" for i, (r, _) in enumerate(plans) for k in r.unexpected]
    if strict and not report.clean:
        raise StateLoadError(report)
    for _, commit in plans:
        commit()
    return report

