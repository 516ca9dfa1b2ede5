"""Tensor factories and the random number generator (NumPy's PCG64; numbers differ from torch's)."""
from __future__ import annotations

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


class Generator:
    """A seedable source of random numbers (``torch.Generator``-like)."""

    def __init__(self, device="cpu"):
        self.device = backend.as_device(device)
        self._seed = 0
        self.rng = np.random.default_rng(0)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _make(host_or_fn, dtype, device, requires_grad, default=None):
    dev = backend.as_device(device)
    xp = backend.xp_for(dev)
    dt = dtypes.as_dtype(dtype) or default or dtypes.get_default_dtype()
    with backend.device_ctx(dev):
        arr = host_or_fn(xp, dt)
    if xp is not np and isinstance(arr, np.ndarray):
        arr = backend.to_device(arr, dev)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.zeros(_shape(size), dt), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.ones(_shape(size), dt), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.empty(_shape(size), dt), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    size = (size,) if isinstance(size, int) else tuple(size)
    default = None
    if dtype is None and isinstance(fill_value, bool):
        default = dtypes.bool
    elif dtype is None and isinstance(fill_value, int):
        default = dtypes.int64
    return _make(lambda xp, dt: xp.full(tuple(size), fill_value, dt), dtype, device, requires_grad, default)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.eye(n, m, dtype=dt), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, int) for v in (start, end, step))
    return _make(lambda xp, dt: xp.arange(start, end, step, dtype=dt), dtype, device, requires_grad,
                 dtypes.int64 if is_int else None)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(lambda xp, dt: xp.linspace(start, end, steps, dtype=dt), dtype, device, requires_grad)


def _like(fn, x, dtype, device, requires_grad, memory_format=None, **kw):
    return fn(*x.shape, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad, **kw)


def zeros_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(zeros, x, dtype, device, requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(ones, x, dtype, device, requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(empty, x, dtype, device, requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


_CHUNK = 1 << 16


def fill_random(dst, draw):
    """Fill the C-contiguous host array ``dst`` with ``draw(n)`` (float64 draws from a generator), a chunk of
    ``n`` at a time, cast into ``dst``'s dtype.

    NumPy's generators produce values one after another with no buffered state, so the chunks are exactly
    the values of a single ``draw(dst.size)`` (the seeded streams are unchanged), while the peak memory is
    ``dst`` plus one chunk instead of a float64 array of the full size and its cast copy.
    """
    flat = dst.reshape(-1)
    for i in range(0, flat.size, _CHUNK):
        n = min(_CHUNK, flat.size - i)
        flat[i:i + n] = draw(n)
    return dst


def _random(shape, draw):
    def make(xp, dt):
        if dt == np.float64:
            return draw(shape)  # already the result dtype: no cast, no copy
        return fill_random(np.empty(shape, dt), draw)

    return make


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = generator or default_generator
    return _make(_random(_shape(size), g.rng.random), dtype, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    g = generator or default_generator
    return _make(_random(_shape(size), g.rng.standard_normal), dtype, device, requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None):
    if high is None:
        low, high = 0, low
    g = generator or default_generator
    return _make(lambda xp, dt: g.rng.integers(low, high, size=tuple(size)).astype(dt), dtype, device, False,
                 dtypes.int64)


def randperm(n, generator=None, dtype=None, device=None):
    g = generator or default_generator
    return _make(lambda xp, dt: g.rng.permutation(n).astype(dt), dtype, device, False, dtypes.int64)


def rand_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(rand, x, dtype, device, requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(randn, x, dtype, device, requires_grad)
