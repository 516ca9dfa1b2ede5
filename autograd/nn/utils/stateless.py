"""``functional_call``: run a module with some of its parameters and buffers replaced by given tensors,
for the length of one call (``torch.func.functional_call``, also ``torch.nn.utils.stateless``).

The given tensors are put into the module's own tables for the call and the originals put back after it,
even when the forward raises, so a forward that reads ``self.weight`` (or ``getattr`` by name, as the
recurrent layers do) sees them, and gradients flow to them rather than to the module's parameters. This
is what MAML-style inner loops need: ``p - lr * g`` is not a leaf, yet the forward must use it."""
from __future__ import annotations

from ...tensor import Tensor

__all__ = ["functional_call"]


def _tied_names(module):
    """Every name of every parameter/buffer that is reachable under more than one name, grouped."""
    groups = {}
    for table in ("_parameters", "_buffers"):
        for prefix, mod in module.named_modules(remove_duplicate=False):
            for name, t in getattr(mod, table).items():
                if t is not None:
                    key = f"{prefix}.{name}" if prefix else name
                    groups.setdefault(id(t), []).append(key)
    return {n: names for names in groups.values() if len(names) > 1 for n in names}


def _merge(parameter_and_buffer_dicts):
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    merged = {}
    for d in parameter_and_buffer_dicts:
        repeated = sorted(k for k in d if k in merged)
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                             f"ambiguous")
        merged.update(d)
    return merged


def _slot(module, key):
    """The module owning ``key`` and the attribute name in it (torch's error for a missing submodule)."""
    path, _, name = key.rpartition(".")
    return module.get_submodule(path), name


def _swap(owner, name, value):
    """Put ``value`` where ``owner.name`` lives; return how to undo it."""
    for table in ("_parameters", "_buffers"):
        d = owner.__dict__[table]
        if name in d:
            old = d[name]
            d[name] = value
            return lambda: d.__setitem__(name, old)
    had = name in owner.__dict__
    old = owner.__dict__.get(name)
    object.__setattr__(owner, name, value)
    return (lambda: owner.__dict__.__setitem__(name, old)) if had else (lambda: owner.__dict__.pop(name, None))


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the tensors in ``parameter_and_buffer_dicts`` (one dict or a
    sequence of dicts with disjoint keys, named as in ``named_parameters()`` / ``named_buffers()``) in place
    of the module's own for this call. ``tie_weights``: a tensor given for one name of a tied parameter is
    used for all its names. ``strict``: every parameter and buffer must be given, and nothing else."""
    given = _merge(parameter_and_buffer_dicts)
    for k, v in given.items():
        if not isinstance(v, Tensor):
            raise TypeError(f"{v!r} is not an instance of torch.Tensor")
    if tie_weights:
        tied = _tied_names(module)
        for k in list(given):
            names = tied.get(k, ())
            clash = sorted(n for n in names if n in given)
            if any(given[n] is not given[k] for n in clash):
                raise ValueError(f"functional_call got multiple values for keys {clash}, which are tied. "
                                 f"Consider using tie_weights=False")
            for n in names:
                given.setdefault(n, given[k])
    if strict:
        own = {k for k, _ in module.named_parameters(remove_duplicate=False)}
        own |= {k for k, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(own - set(given)), sorted(set(given) - own)
        if missing or unexpected:
            lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
            if unexpected:
                lines.append("\tUnexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
            if missing:
                lines.append("\tMissing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError("\n".join(lines))
    slots = [(_slot(module, k), v) for k, v in given.items()]   # every name resolved before anything changes
    undo = []
    try:
        for (owner, name), v in slots:
            undo.append(_swap(owner, name, v))
        if args is None:
            args = ()
        elif not isinstance(args, tuple):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for u in reversed(undo):
            u()
