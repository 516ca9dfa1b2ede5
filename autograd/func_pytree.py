"""How the ``torch.func`` transforms (:mod:`.func_transforms`, :mod:`.func_vmap`) read the structure of
their arguments and results: pytrees (tuples, lists and dicts as containers, anything else a leaf) flattened,
mapped, refilled, compared and described for error messages, prefix trees broadcast over them (``in_dims``,
``out_dims``), and ``argnums`` normalised with torch.func's errors."""
from __future__ import annotations


# ----------------------------------------------------------------------------------------------- pytrees
# torch.func treats tuples, lists and dicts as containers and anything else (None included) as a leaf.

def _is_container(x):
    return isinstance(x, (tuple, list, dict))


def _children(x):
    if isinstance(x, dict):
        return list(x.values())
    return list(x)


def _rebuild(template, children):
    """A container of ``template``'s kind (namedtuples kept) holding ``children``."""
    if isinstance(template, dict):
        return type(template)(zip(template.keys(), children))
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*children)
    return type(template)(children)


def _leaves(tree):
    if _is_container(tree):
        out = []
        for c in _children(tree):
            out.extend(_leaves(c))
        return out
    return [tree]


def _map(fn, tree):
    if _is_container(tree):
        return _rebuild(tree, [_map(fn, c) for c in _children(tree)])
    return fn(tree)


def _fill(template, leaves_iter):
    """``template``'s structure with its leaves taken in order from ``leaves_iter``."""
    if _is_container(template):
        return _rebuild(template, [_fill(c, leaves_iter) for c in _children(template)])
    return next(leaves_iter)


def _describe(tree):
    """A structure summary for error messages: containers shown, leaves as ``*``."""
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in tree.items()) + "}"
    if isinstance(tree, list):
        return "[" + ", ".join(_describe(c) for c in tree) + "]"
    if isinstance(tree, tuple):
        inner = ", ".join(_describe(c) for c in tree)
        return "(" + inner + ("," if len(tree) == 1 else "") + ")"
    return "*"


def _same_structure(a, b):
    if _is_container(a) or _is_container(b):
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            return list(a.keys()) == list(b.keys()) and all(_same_structure(a[k], b[k]) for k in a)
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    return True


def _broadcast_prefix(prefix, tree):
    """``prefix`` (a tree whose leaves apply to whole subtrees of ``tree``) expanded to one value per leaf
    of ``tree``; None when the structures are not compatible."""
    if not _is_container(prefix):
        return [prefix] * len(_leaves(tree))
    if type(prefix) is not type(tree):
        return None
    if isinstance(prefix, dict):
        if list(prefix.keys()) != list(tree.keys()):
            return None
        pairs = [(prefix[k], tree[k]) for k in prefix]
    else:
        if len(prefix) != len(tree):
            return None
        pairs = list(zip(prefix, tree))
    out = []
    for p, t in pairs:
        sub = _broadcast_prefix(p, t)
        if sub is None:
            return None
        out.extend(sub)
    return out


# ----------------------------------------------------------------------------------------------- argnums

def _normalize_argnums(argnums, n_args):
    """``(positions, was_an_int)``, with torch.func's errors."""
    if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    single = isinstance(argnums, int)
    nums = (argnums,) if single else argnums
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnum={a}, but only {n_args} positional inputs")
    positions = tuple(a % n_args for a in nums)
    if len(set(positions)) != len(positions):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return positions, single

