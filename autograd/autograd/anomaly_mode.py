"""``torch.autograd.set_detect_anomaly`` / ``detect_anomaly``: the switch is kept and can be read back, but
turns on no extra checks (our backward errors already name the op whose saved tensor changed)."""
from __future__ import annotations

import functools

_state = {"enabled": False, "check_nan": True}


def is_anomaly_enabled():
    return _state["enabled"]


def is_anomaly_check_nan_enabled():
    return _state["check_nan"]


class set_detect_anomaly:
    """Takes effect on construction (a plain call sets it); as a context manager restores it after."""

    def __init__(self, mode, check_nan=True):
        self.prev = dict(_state)
        _state.update(enabled=bool(mode), check_nan=bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.update(self.prev)
        return False


class detect_anomaly:
    """Context manager and decorator turning the switch on for a block."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = dict(_state)
        _state.update(enabled=True, check_nan=bool(self.check_nan))
        return self

    def __exit__(self, *exc):
        _state.update(self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper
