"""Shared state of the stand-in: simulated devices, the current device, counters, the signature table."""
from __future__ import annotations

import inspect
import json
import os
import threading
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "table.json")) as _fh:
    TABLE = json.load(_fh)

N_DEVICES = 2
MULTIPROCESSORS = 132          # an H200
COMPUTE_CAPABILITY = "90"
_tls = threading.local()

#: what the stand-in saw: ``syncs`` (device -> host waits: get, item, float(), bool(), synchronize, boolean
#: masks, nonzero/unique), ``d2h``/``h2d`` transfers, ``peer`` copies, ``launches`` (RawKernel calls),
#: ``compiles`` (NVRTC programs built), ``rng`` (device random draws); ``sync_sites`` names each sync.
counters = Counter()
launches = []          # (kernel name, grid, block, device id) of every RawKernel launch
sync_sites = []        # (what, stack summary) for every host synchronisation


def reset():
    counters.clear()
    launches.clear()
    sync_sites.clear()


def current():
    return getattr(_tls, "dev", 0)


def set_current(i):
    _tls.dev = i


def sync(what):
    import traceback  # noqa: PLC0415

    counters["syncs"] += 1
    frames = [f for f in traceback.extract_stack()[:-2] if "fake_cupy" not in f.filename][-4:]
    sync_sites.append((what, " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(frames))))


_EMPTY = inspect.Parameter.empty
_KIND = {"posonly": inspect.Parameter.POSITIONAL_ONLY, "pos": inspect.Parameter.POSITIONAL_OR_KEYWORD,
         "varpos": inspect.Parameter.VAR_POSITIONAL, "kwonly": inspect.Parameter.KEYWORD_ONLY,
         "varkw": inspect.Parameter.VAR_KEYWORD}


class _Default:
    """A recorded default (its repr from the real CuPy)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


_SIGS = {}


def signature(section, name, drop_self=False):
    """The recorded CuPy signature of ``name`` (an ``inspect.Signature``), or None if CuPy lacks it."""
    key = (section, name, drop_self)
    if key not in _SIGS:
        entry = TABLE[section]
        if section == "methods":
            cls, _, meth = name.rpartition(".")
            params = entry.get(cls, {}).get(meth, "missing")
        else:
            params = entry.get(name, "missing")
        if params == "missing" or params is None:
            _SIGS[key] = None if params == "missing" else "any"
        else:
            ps = [inspect.Parameter(n, _KIND[k], default=_Default(d) if has else _EMPTY)
                  for n, k, has, d in params]
            if drop_self and ps and ps[0].name == "self":
                ps = ps[1:]
            _SIGS[key] = inspect.Signature(ps)
    return _SIGS[key]


def check_call(section, name, args, kwargs, drop_self=False):
    """Bind a call to CuPy's recorded signature: TypeError exactly where CuPy would raise one."""
    sig = signature(section, name, drop_self)
    if sig is None:
        raise AttributeError(f"CuPy {TABLE['cupy_version']} has no {name}")
    if sig == "any":
        return None
    try:
        return sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}(): {e} (CuPy {TABLE['cupy_version']} signature {sig})") from None
