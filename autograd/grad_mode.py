"""Global switch for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``."""
from __future__ import annotations

import functools
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


class _Mode:
    """Context manager and decorator that sets grad mode for its block and restores it after."""

    _mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def _fresh(self):
        return self.__class__()

    def __call__(self, fn):
        """Use as a decorator: a fresh context per call (so nesting and recursion restore correctly)."""
        mode_holder = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode_holder._fresh():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Mode):
    _mode = False


class enable_grad(_Mode):
    _mode = True


class set_grad_enabled(_Mode):
    """Like torch: takes effect on construction, so it works as a plain call too."""

    def __init__(self, mode: bool):
        self._prev = is_grad_enabled()
        self._mode = bool(mode)
        _set(self._mode)

    def _fresh(self):
        prev = is_grad_enabled()
        ctx = set_grad_enabled(self._mode)
        ctx._prev = prev
        return ctx

    def __call__(self, fn):
        _set(self._prev)  # used as a decorator: construction must not change the mode for the caller
        return super().__call__(fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False


class inference_mode(_Mode):
    """torch's ``inference_mode(mode=True)``: here the same as ``no_grad`` (nothing is recorded); tensors made
    inside are ordinary tensors (torch's inference tensors refuse later use in autograd; ours do not). Works as
    a context manager, as ``@inference_mode()`` and as a bare ``@inference_mode``."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):   # bare decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(False if self.mode else self._prev)
        self._prev_inference = getattr(_state, "inference", False)
        _state.inference = self.mode
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        _state.inference = self._prev_inference
        return False

    def _fresh(self):
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    return getattr(_state, "inference", False)
