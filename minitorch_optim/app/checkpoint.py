"""Training checkpoints of the CLI: one :func:`autograd.save` file (no pickle, atomic, 0644).

A checkpoint is a plain dict::

    {"format": "minitorch_optim-checkpoint", "version": 2, "epoch": 7, "config": {...CLI settings...},
     "model": model.state_dict(), "optimizers": [opt.state_dict(), ...], "state_keys": [...],
     "schedulers": [...], "swa_schedulers": [...], "swa": ..., "ema": ..., "rng": {...}, "history": [...],
     "amp": None | "bf16" | "fp16", "scaler": GradScaler.state_dict() (fp16) or None}

so it can be opened with ``autograd.load(path)`` and its parts fed to ``load_state_dict`` by hand.
:func:`read` checks everything a resume relies on before anything is built, and raises
:class:`CheckpointError` (a one-line message) for files that are missing, corrupted, foreign or edited.
"""
from __future__ import annotations

import numbers
import os
import pickle

FORMAT = "minitorch_optim-checkpoint"
VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit what it is loaded into."""


def state_keys(opt_state_dict):
    """Which state entries each parameter has: saved next to the state so a dropped entry is noticed."""
    return [[int(pid), sorted(st)] for pid, st in sorted(opt_state_dict["state"].items())]


def write(path, ck):
    import autograd

    ck = {"format": FORMAT, "version": VERSION, **ck}
    ck["state_keys"] = [state_keys(sd) for sd in ck["optimizers"]]
    autograd.save(ck, path)


def check_save_path(path):
    """Fail before training when ``--save PATH`` cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CheckpointError(f"--save {path!r} is a directory; give a file name such as {os.path.join(path, 'ck.pt')!r}")
    if not os.path.isdir(folder):
        raise CheckpointError(f"--save {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise CheckpointError(f"--save {path!r}: the folder {folder!r} is not writable")
    remove_stale_temporaries(path)


def remove_stale_temporaries(path):
    """Delete temporaries a killed earlier save of ``path`` left (``autograd.save`` names them
    ``.<name>.<random>.tmp`` beside it; a clean exit or Ctrl-C never leaves one)."""
    import glob

    folder, name = os.path.split(os.path.abspath(path))
    for tmp in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.*.tmp")):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def read(path):
    """Load and sanity-check a checkpoint; returns the dict."""
    import autograd

    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint {path!r} is a directory")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    try:
        ck = autograd.load(path, map_location="cpu")
    except (RuntimeError, pickle.UnpicklingError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path!r} is corrupted or not a checkpoint: {e}") from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a minitorch_optim checkpoint (written by train --save)")
    if ck.get("version") != VERSION:
        raise CheckpointError(f"checkpoint version {ck.get('version')!r} is not supported (expected {VERSION})")
    need = {"epoch": int, "config": dict, "model": dict, "optimizers": list, "state_keys": list,
            "schedulers": list, "swa_schedulers": list, "rng": dict, "history": list}
    for k, kind in need.items():
        if not isinstance(ck.get(k), kind) or isinstance(ck.get(k), bool):
            raise CheckpointError(f"checkpoint {path!r} is damaged: {k!r} is missing or not a {kind.__name__}")
    if ck.get("amp", None) not in (None, "bf16", "fp16") or not isinstance(ck.get("scaler", None), (dict, type(None))):
        raise CheckpointError(f"checkpoint {path!r} is damaged: its 'amp'/'scaler' entries are not a precision "
                              f"and a GradScaler state")
    if ck["epoch"] < 1:
        raise CheckpointError(f"checkpoint {path!r} is damaged: epoch {ck['epoch']} < 1")
    if len(ck["state_keys"]) != len(ck["optimizers"]):
        raise CheckpointError(f"checkpoint {path!r} is damaged: optimizer state manifest does not match")
    for i, (sd, keys) in enumerate(zip(ck["optimizers"], ck["state_keys"])):
        if not isinstance(sd, dict) or not isinstance(sd.get("state"), dict):
            raise CheckpointError(f"checkpoint {path!r} is damaged: optimizer {i} has no state")
        ids = [pid for g in sd.get("param_groups") or [] if isinstance(g, dict) for pid in g.get("params", [])]
        if sd["state"] and set(sd["state"]) != set(ids):   # every parameter gets a gradient every step here
            missing = sorted(set(ids) - set(sd["state"]), key=str)
            raise CheckpointError(f"checkpoint {path!r} is damaged: optimizer {i}'s state is incomplete "
                                  f"(no state for parameters {missing}); it cannot resume exactly")
        if state_keys(sd) != keys:
            raise CheckpointError(f"checkpoint {path!r} is damaged: optimizer {i}'s state is incomplete "
                                  f"(has {state_keys(sd)}, saved with {keys}); it cannot resume exactly")
    return ck


def _kind(v):
    if isinstance(v, bool) or v is None:
        return type(v)
    if isinstance(v, numbers.Real):
        return numbers.Real
    if isinstance(v, (tuple, list)):
        return (tuple, len(v))
    return type(v)


def check_groups(fresh, saved, what):
    """The saved param_groups have the fresh optimizer's keys and value kinds (a string ``lr`` is refused)."""
    fg, sg = fresh.state_dict()["param_groups"], saved.get("param_groups")
    if not isinstance(sg, list) or len(sg) != len(fg):
        raise CheckpointError(f"{what}: the checkpoint has {len(sg) if isinstance(sg, list) else 'no'} "
                              f"parameter groups, the optimizer {len(fg)}")
    for i, (f, s) in enumerate(zip(fg, sg)):
        if not isinstance(s, dict):
            raise CheckpointError(f"{what}: parameter group {i} is not a dict")
        for k, v in f.items():
            if k == "params" or k not in fresh.defaults:    # keys a scheduler adds are checked below
                continue
            if k not in s:
                raise CheckpointError(f"{what}: parameter group {i} lacks {k!r}")
            if _kind(s[k]) != _kind(v) and v is not None and s[k] is not None:
                raise CheckpointError(f"{what}: parameter group {i} has {k}={s[k]!r}, expected a value like {v!r}")
            if _kind(v) is numbers.Real and not (abs(float(s[k])) < float("inf")):
                raise CheckpointError(f"{what}: parameter group {i} has {k}={s[k]!r}")
        for k in ("initial_lr", "max_lr", "min_lr", "swa_lr"):
            if k in s and not (isinstance(s[k], numbers.Real) and not isinstance(s[k], bool)):
                raise CheckpointError(f"{what}: parameter group {i} has {k}={s[k]!r}, expected a number")
