"""One optimizer over several: ``MultiOptimizer([Muon(hidden), AdamW(rest)])`` behaves as one ``Optimizer``.

torch.optim has no way to run two algorithms as one object (one ``step``, one ``state_dict``, one
scheduler), so Muon users keep two optimizers and two schedulers in step by hand. Here the children keep
their own groups, state and arithmetic (so a step is bit for bit what the children stepped by hand would
do, on every path each child takes); the multi-optimizer only presents them as one: ``param_groups`` is
the children's group dicts one after another (a scheduler writing ``group["lr"]`` reaches the child),
``state`` is a view over the children's states, and ``state_dict`` is torch's layout over all of them.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import MutableMapping

from autograd import Tensor

from .optimizer import _HOOK_TABLES, Optimizer, closure_loss


class _StateView(MutableMapping):
    """``multi.state``: each parameter's state lives in (and is written to) the child that owns it."""

    def __init__(self, multi):
        self._multi = multi

    def _owner(self, p):
        for child in self._multi.optimizers:
            if any(q is p for g in child.param_groups for q in g["params"]):
                return child
        return None

    def __getitem__(self, p):
        for child in self._multi.optimizers:
            if p in child.state:
                return child.state[p]
        owner = self._owner(p)
        if owner is None:
            raise KeyError(p)
        return owner.state[p]  # (a defaultdict: a fresh parameter gets its empty dict, as in torch)

    def __setitem__(self, p, value):
        owner = self._owner(p)
        if owner is None:
            raise KeyError("the parameter belongs to none of the optimizers")
        owner.state[p] = value

    def __delitem__(self, p):
        for child in self._multi.optimizers:
            if p in child.state:
                del child.state[p]
                return
        raise KeyError(p)

    def __contains__(self, p):
        return any(p in child.state for child in self._multi.optimizers)

    def __iter__(self):
        return itertools.chain.from_iterable(iter(child.state) for child in self._multi.optimizers)

    def __len__(self):
        return sum(len(child.state) for child in self._multi.optimizers)

    def __repr__(self):
        return repr(dict(self.items()))


def _raw_step(child):
    """The child's step without its class's hook wrapper (the multi-optimizer runs the hooks once)."""
    fn = type(child).step
    return getattr(fn, "__wrapped__", None), fn


class MultiOptimizer(Optimizer):
    """Several optimizers over disjoint parameters, driven as one.

    ``step(closure)`` evaluates the closure once (grad mode on) and steps every child in order;
    ``zero_grad``, ``param_groups`` (the children's groups, in order), ``state``, ``state_dict`` /
    ``load_state_dict`` (torch's layout, parameters numbered across the children; a load that fails in
    any child leaves every child as it was), the step and
    state_dict hooks, every ``lr_scheduler`` and ``SWALR`` see one optimizer. Hooks registered on the
    multi-optimizer and the global optimizer hooks run once per step; a child's own step hooks still run
    around its part. ``add_param_group(group, optimizer=i)`` adds to child ``i`` (default: the last).
    LBFGS cannot be a child (it evaluates the closure itself, many times per step).

    ``MultiOptimizer.muon_adamw(model.named_parameters(), ...)`` is the usual Muon split in one line.
    """

    def __init__(self, optimizers):
        children = []
        for opt in optimizers:
            if isinstance(opt, MultiOptimizer):
                children.extend(opt.optimizers)
            elif isinstance(opt, Optimizer):
                children.append(opt)
            else:
                raise TypeError(f"MultiOptimizer takes Optimizers, but got {type(opt).__name__}")
        if not children:
            raise ValueError("MultiOptimizer got an empty list of optimizers")
        if any(type(c).__name__ == "LBFGS" for c in children):
            raise ValueError("LBFGS cannot be part of a MultiOptimizer: it evaluates the closure itself, "
                             "several times per step")
        seen = set()
        for c in children:
            ids = {id(p) for g in c.param_groups for p in g["params"]}
            if ids & seen:
                raise ValueError("some parameters appear in more than one optimizer of the MultiOptimizer")
            seen |= ids
        self.optimizers = children
        self.defaults = {}
        for c in children:  # (read by schedulers: CyclicLR/OneCycleLR look for "momentum" or "betas")
            for k, v in c.defaults.items():
                self.defaults.setdefault(k, v)
        for name in _HOOK_TABLES:
            setattr(self, name, OrderedDict())
        self.state = _StateView(self)

    @classmethod
    def muon_adamw(cls, named_params, *, lr=1e-3, adamw_lr=None, weight_decay=0.1, muon=None, adamw=None,
                   use_muon=None):
        """Muon on the hidden 2-D weights, AdamW on everything else, as one optimizer.

        ``named_params``: ``model.named_parameters()`` or plain parameters. ``use_muon(name, p)`` picks Muon's
        parameters; the default takes 2-D parameters whose name mentions neither "embed" nor "head"
        (embeddings and output layers stay with AdamW, as Muon's authors advise). ``lr`` and
        ``weight_decay`` are Muon's; AdamW gets ``adamw_lr`` (default ``lr``) and the same weight decay;
        ``muon`` / ``adamw`` are further keyword arguments of each.
        """
        from .adam import AdamW
        from .muon import Muon

        items = [(None, p) if isinstance(p, Tensor) else tuple(p) for p in named_params]
        if use_muon is None:
            def use_muon(name, p):
                low = (name or "").lower()
                return p.ndim == 2 and "embed" not in low and "head" not in low
        chosen = [use_muon(n, p) for n, p in items]
        named = all(n is not None for n, _ in items)

        def pick(flag):
            return [(n, p) if named else p for (n, p), c in zip(items, chosen) if c == flag]
        children = []
        hidden, rest = pick(True), pick(False)
        if hidden:
            children.append(Muon(hidden, **{"lr": lr, "weight_decay": weight_decay, **(muon or {})}))
        if rest:
            a_kw = {"lr": lr if adamw_lr is None else adamw_lr, "weight_decay": weight_decay, **(adamw or {})}
            children.append(AdamW(rest, **a_kw))
        return cls(children)

    # ---- what a scheduler and a training loop see ------------------------------------------------------
    @property
    def param_groups(self):
        return [g for c in self.optimizers for g in c.param_groups]

    def add_param_group(self, param_group, optimizer=-1):
        """Add a group to one child (an index into ``optimizers`` or the child itself; default the last)."""
        child = optimizer if isinstance(optimizer, Optimizer) else self.optimizers[optimizer]
        if child not in self.optimizers:
            raise ValueError("optimizer is not a child of this MultiOptimizer")
        params = param_group.get("params") if isinstance(param_group, dict) else None
        if params is not None:
            params = [params] if isinstance(params, Tensor) else list(params)
            param_group["params"] = params
            ids = {id(p[1] if isinstance(p, tuple) else p) for p in params}
            for other in self.optimizers:
                if other is not child and any(id(q) in ids for g in other.param_groups for q in g["params"]):
                    raise ValueError("some parameters appear in more than one optimizer of the MultiOptimizer")
        child.add_param_group(param_group)

    def zero_grad(self, set_to_none=True):
        for c in self.optimizers:
            c.zero_grad(set_to_none)

    def step(self, closure=None):
        """Evaluate ``closure`` once, then step every child (their step hooks around each part)."""
        loss = closure_loss(closure)
        for c in self.optimizers:
            raw, fn = _raw_step(c)
            if raw is None:        # a step without the hook wrapper (a wrapper class): call it as it is
                fn(c)
                continue
            args, kwargs = (c,), {}
            for hook in list(c._optimizer_step_pre_hooks.values()):
                result = hook(c, args, kwargs)
                if result is not None:
                    args, kwargs = result
            raw(*args, **kwargs)
            c._opt_called = True   # (a scheduler built on the child itself checks the order of calls)
            for hook in list(c._optimizer_step_post_hooks.values()):
                hook(c, args, kwargs)
        return loss

    # ---- checkpoints ----------------------------------------------------------------------------------
    def _collect_state_dict(self):
        """torch's layout over all children: parameters numbered across them, groups one after another."""
        state, groups, offset = {}, [], 0
        for c in self.optimizers:
            sd = c.state_dict()
            n = sum(len(g["params"]) for g in sd["param_groups"])
            for g in sd["param_groups"]:
                groups.append(dict(g, params=[offset + i for i in g["params"]]))
            state.update({(offset + k if isinstance(k, int) else k): v for k, v in sd["state"].items()})
            offset += n
        return {"state": state, "param_groups": groups}

    def _split(self, state_dict):
        """One state dict per child, cut from the combined one by the children's group counts."""
        saved = list(state_dict["param_groups"])
        counts = [len(c.param_groups) for c in self.optimizers]
        if len(saved) != sum(counts):
            raise ValueError("loaded state dict has a different number of parameter groups")
        parts, start = [], 0
        for n in counts:
            mine = saved[start:start + n]
            ids = {i for g in mine for i in g["params"]}
            parts.append({"state": {k: v for k, v in state_dict["state"].items() if k in ids},
                          "param_groups": mine})
            start += n
        return parts

    def _apply_state_dict(self, state_dict, by_name, strict):
        """Load every child's part; on any error every child is left as it was.

        ``by_name``/``strict`` as in :meth:`Optimizer.load_state_dict` (matched across all children)."""
        if "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError("state_dict must have 'state' and 'param_groups' entries")
        report = None
        if by_name or not strict:
            from .state_loading import load_many
            parts = None if by_name else self._split(state_dict)
            report = load_many(self.optimizers, state_dict, parts, by_name=by_name, strict=strict)
        else:
            parts = self._split(state_dict)
            before = [(c, c.__dict__.get("state"), c.__dict__.get("param_groups")) for c in self.optimizers]
            done = []
            try:
                for c, part in zip(self.optimizers, parts):
                    c.load_state_dict(part)
                    done.append(c)
            except BaseException:
                for c, st, groups in before:
                    if c in done:
                        c.__setstate__({"state": st, "param_groups": groups})
                raise
        return report

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in _HOOK_TABLES and k != "state"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_TABLES:
            setattr(self, name, OrderedDict())
        self.state = _StateView(self)

    def __repr__(self):
        return "MultiOptimizer(\n" + "\n".join("  " + repr(c).replace("\n", "\n  ") for c in self.optimizers) + "\n)"
