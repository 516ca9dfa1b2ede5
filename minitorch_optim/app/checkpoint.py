"""Training checkpoints as ``.npz``: arrays plus one JSON document, loaded without executing code.

Layout: ``meta`` holds a JSON string (epoch, arguments, optimizer param_groups, scheduler state, RNG
states, ...); every array lives under a path-like key (``model/0.weight``, ``optim/3/exp_avg``, ...).
Writes are atomic (a temporary file in the same folder, then ``os.replace``), and loading uses
``allow_pickle=False``.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

FORMAT = "minitorch_optim-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit what it is loaded into."""


def _to_json(obj):
    """JSON-ready copy: tuples tagged so they come back as tuples, arrays refused (they go in npz)."""
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(v) for v in obj]}
    if isinstance(obj, list):
        return [_to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and hasattr(obj, "numel") and obj.numel() == 1:
        return obj.item()
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint's JSON part")


def _from_json(obj):
    if isinstance(obj, dict):
        if set(obj) == {"__tuple__"}:
            return tuple(_from_json(v) for v in obj["__tuple__"])
        return {k: _from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    return obj


def save(path, meta: dict, arrays: dict):
    """Write ``meta`` (JSON-able) and ``arrays`` (name -> array) to ``path`` atomically."""
    doc = {"format": FORMAT, "version": VERSION, **meta}
    payload = {"meta": np.array(json.dumps(_to_json(doc)))}
    for k, v in arrays.items():
        if k == "meta":
            raise ValueError("'meta' is reserved")
        payload[k] = np.asarray(v)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Return ``(meta, arrays)``; raises CheckpointError for anything unreadable or foreign."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile/npy errors of every kind
        raise CheckpointError(f"checkpoint {path!r} is corrupted or not an .npz file: {e}") from None
    if "meta" not in arrays:
        raise CheckpointError(f"checkpoint {path!r} has no 'meta' entry")
    try:
        meta = _from_json(json.loads(str(arrays.pop("meta"))))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path!r} has unreadable metadata: {e}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a minitorch_optim checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"checkpoint version {meta.get('version')} is not supported (expected {VERSION})")
    return meta, arrays


def pack_optimizer(sd):
    """Split an optimizer state_dict into JSON (groups, scalar state) and arrays (tensor state)."""
    arrays, state_meta = {}, {}
    for pid, st in sd["state"].items():
        entry = {}
        for name, v in st.items():
            if hasattr(v, "numpy"):
                arrays[f"optim/{pid}/{name}"] = v.numpy()
                entry[name] = {"__array__": True}
            else:
                entry[name] = v
        state_meta[str(pid)] = entry
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return {"param_groups": groups, "state": state_meta}, arrays


def unpack_optimizer(meta, arrays):
    state = {}
    for pid, entry in meta["state"].items():
        st = {}
        for name, v in entry.items():
            if isinstance(v, dict) and v.get("__array__"):
                key = f"optim/{pid}/{name}"
                if key not in arrays:
                    raise CheckpointError(f"checkpoint lacks the optimizer array {key!r}")
                st[name] = arrays[key]
            else:
                st[name] = v
        state[int(pid)] = st
    return {"state": state, "param_groups": meta["param_groups"]}


def module_arrays(prefix, module):
    return {f"{prefix}/{k}": v.numpy() for k, v in module.state_dict().items()}


def module_state(prefix, arrays):
    n = len(prefix) + 1
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
