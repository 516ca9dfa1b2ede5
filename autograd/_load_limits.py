"""Resource limits of ``autograd.load`` and the checks on what a load hands back.

A file is untrusted input: every limit is checked before the work it bounds is done, so a tiny hostile
file fails in milliseconds instead of hanging or exhausting memory. An honest checkpoint is far inside
all of them; raise one with ``autograd.load(f, limits=LoadLimits(max_opcodes=...))`` or for the whole
process by assigning ``autograd.serialization.DEFAULT_LIMITS``.
"""
from __future__ import annotations

import dataclasses
import pickle
import reprlib
import time
from collections import OrderedDict


@dataclasses.dataclass(frozen=True)
class LoadLimits:
    max_pickle_bytes: int = 64 << 20     # size of a torch file's data.pkl (an honest one is KiBs)
    max_opcodes: int = 2_000_000         # pickle instructions executed (about 1 s of interpretation)
    max_objects: int = 10_000_000        # containers and values of the result counted as a tree (a DAG of
    #                                      shared references counts every path), and the hashing work
    max_depth: int = 1000                # nesting of containers (deeper results break repr and recursion)
    max_inflated_bytes: int = 256 << 20  # bytes a compressed zip member may inflate to, all together
    max_seconds: float = 60.0            # wall time of the interpretation, checked as it runs

    def deadline(self):
        return time.monotonic() + self.max_seconds


DEFAULT_LIMITS = LoadLimits()

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def short(obj):
    """A bounded repr for error messages (a hostile structure may be a huge DAG)."""
    try:
        return _repr.repr(obj)
    except Exception:                           # noqa: BLE001 - a message must never fail
        return f"<{type(obj).__name__}>"


def too_big(what, limit, field):
    return pickle.UnpicklingError(f"Weights only load failed: {what} exceeds the limit of {limit} "
                                  f"(LoadLimits.{field}); raise it only for files you trust")


def check_result(root, limits, internal, deadline):
    """Refuse a result holding loader internals (``internal``: a tuple of types), nested deeper than
    ``max_depth``, or larger than ``max_objects`` when shared references are expanded."""
    sizes, active = {}, set()
    stack = [[root, None, 0, 1]]                # obj, its children (lazily), next child, accumulated size
    steps = 0
    while stack:
        frame = stack[-1]
        obj = frame[0]
        if frame[1] is None:
            if isinstance(obj, internal):
                raise pickle.UnpicklingError(
                    f"Weights only load failed: the file's result contains a bare {type(obj).__name__} of the "
                    f"loader (a function, storage or storage type outside a tensor), which torch would hand "
                    f"back as a torch object; refused")
            if len(stack) > limits.max_depth:
                raise too_big("the nesting of containers", limits.max_depth, "max_depth")
            if isinstance(obj, dict):
                kids = [*obj.keys(), *obj.values()]
                meta = getattr(obj, "_metadata", None) if isinstance(obj, OrderedDict) else None
                if meta is not None:
                    kids.append(meta)
            elif isinstance(obj, (list, tuple, set, frozenset)):
                kids = list(obj)
            else:
                kids = ()
            frame[1] = kids
            active.add(id(obj))
        if frame[2] < len(frame[1]):
            kid = frame[1][frame[2]]
            frame[2] += 1
            k = id(kid)
            if k in sizes:
                frame[3] += sizes[k]
            elif k in active:                   # a cycle: counted once, never expanded
                frame[3] += 1
            elif isinstance(kid, (dict, list, tuple, set, frozenset)) or isinstance(kid, internal):
                stack.append([kid, None, 0, 1])
            else:
                frame[3] += 1
            steps += 1
            if not steps & 0xFFFF and time.monotonic() > deadline:
                raise too_big("the time spent checking the result", limits.max_seconds, "max_seconds")
            continue
        stack.pop()
        active.discard(id(obj))
        sizes[id(obj)] = frame[3]
        if frame[3] > limits.max_objects:
            raise too_big("the number of objects in the result (shared references expanded)",
                          limits.max_objects, "max_objects")
        if stack:
            stack[-1][3] += frame[3]
    return root
