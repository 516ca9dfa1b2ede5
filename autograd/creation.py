"""Creating tensors: ``tensor`` (copying lists, scalars, arrays, Tensors), ``as_tensor``, ``from_numpy``, the
factories (``zeros``, ``full``, ``arange``, ...) and the random number generator (NumPy's PCG64; numbers differ
from torch's)."""
from __future__ import annotations

import builtins

import numpy as np

from . import backend, dtypes
from .tensor import Tensor


# ---- creation -----------------------------------------------------------------------------------------
def _infer_dtype(data):
    if isinstance(data, builtins.bool) or (isinstance(data, (list, tuple)) and _has_leaf(data)
                                           and _all_kind(data, builtins.bool)):
        return dtypes.bool
    arr = np.asarray(data)
    if (arr.dtype.kind == "f" or arr.dtype == dtypes.bfloat16) and not isinstance(data, np.ndarray) and not isinstance(data, np.generic):
        return dtypes.get_default_dtype()
    if arr.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        return dtypes.int64
    if arr.dtype.kind == "c" and not isinstance(data, (np.ndarray, np.generic)):   # Python complex numbers:
        return dtypes.complex128 if dtypes.get_default_dtype() == dtypes.float64 else dtypes.complex64  # torch's
    return arr.dtype


def _has_leaf(seq):
    """Whether a nested list holds any scalar (``[]`` and ``[[]]`` hold none: default float, as torch)."""
    return builtins.any(not isinstance(x, (list, tuple)) or _has_leaf(x) for x in seq)


def _all_kind(seq, kind):
    for x in seq:
        if isinstance(x, (list, tuple)):
            if not _all_kind(x, kind):
                return False
        elif not isinstance(x, kind):
            return False
    return True


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new leaf Tensor copying ``data`` (lists, scalars, NumPy/CuPy arrays or Tensors)."""
    if isinstance(data, Tensor):
        data = data._data
    dev = backend.as_device(device) if device is not None else None
    if dev is None:
        dev = backend.device_of(data) if not isinstance(data, (list, tuple, builtins.float, builtins.int,
                                                                builtins.complex)) \
            else get_default_device()
    xp = backend.xp_for(dev)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [x.numpy() if isinstance(x, Tensor) else x for x in data]
    dt = dtypes.as_dtype(dtype) or _infer_dtype(data if backend.device_of(data) == backend.CPU
                                                  or isinstance(data, (list, tuple))
                                                  else np.empty((0,), data.dtype))   # GPU data: its dtype only
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple, builtins.float, builtins.int, builtins.complex,
                                                         np.generic)):
        arr = np.array(data, dtype=dt)
        if xp is not np:
            arr = backend.to_device(arr, dev)
    else:
        arr = backend.to_device(data, dev, copy=True).astype(dt, copy=False)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device is None and dtype is None:
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(arr):
    return Tensor._wrap(arr)


def is_tensor(x):
    return isinstance(x, Tensor)



class Generator:
    """A seedable source of random numbers (``torch.Generator``-like)."""

    def __init__(self, device="cpu"):
        self.device = backend.as_device(device)
        self._seed = 0
        self.rng = np.random.default_rng(0)
        self._gpu_rngs = {}

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        self._gpu_rngs = {}
        self.__dict__.pop("_gpu_seed", None)
        self.__dict__.pop("_gpu_seeds", None)
        return self

    def device_rng(self, dev):
        """The random source for ``dev``: NumPy's PCG64 on the CPU; on a GPU a CuPy generator on that device,
        seeded from this generator's seed and the device index, so numbers are made where they are used
        (no host draw + copy). ``get_state``/``set_state`` cover the CPU stream only."""
        dev = backend.as_device(dev)
        if dev.type == "cpu":
            return self.rng
        r = self._gpu_rngs.get(dev.index)
        if r is None:
            cp = backend.cupy()
            seed = self.__dict__.get("_gpu_seeds", {}).get(dev.index, self.__dict__.get("_gpu_seed", self._seed))
            with cp.cuda.Device(dev.index):
                r = cp.random.default_rng(int(np.random.SeedSequence([seed, dev.index]).generate_state(1)[0]))
            self._gpu_rngs[dev.index] = r
        return r

    def initial_seed(self):
        return self._seed

    def seed(self):
        """Seed from a non-deterministic source and return the seed (torch's ``Generator.seed``)."""
        seed = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(seed)
        return seed

    def clone_state(self):
        g = Generator(self.device)
        g._seed = self._seed
        g.set_state(self.get_state())
        return g

    def manual_seed_device(self, seed, index=None):
        """Re-seed the GPU streams only (``autograd.cuda.manual_seed``): all devices, or device ``index``."""
        if index is None:
            self._gpu_seed = int(seed)
            self._gpu_rngs = {}
        else:
            self.__dict__.setdefault("_gpu_seeds", {})[index] = int(seed)
            self._gpu_rngs.pop(index, None)

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed):
    return default_generator.manual_seed(seed)


_default_device = None


def set_default_device(device):
    """The device factories and ``tensor`` use when none is given (torch's ``set_default_device``)."""
    global _default_device
    _default_device = None if device is None else backend.as_device(device)


def get_default_device():
    return _default_device or backend.CPU


def _device(device):
    return device if device is not None else _default_device


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def _make(host_or_fn, dtype, device, requires_grad, default=None):
    dev = backend.as_device(_device(device))
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


def random_array(kind, shape, dtype, device, generator=None, **kw):
    """Raw random array made on ``device``: ``kind`` in random (U[0,1)), standard_normal, uniform (low, high),
    normal (loc, scale), integers (low, high), permutation (n). On a GPU the draw runs there (CuPy's generator
    makes float32/float64; other float dtypes are cast from float32)."""
    g = generator or default_generator
    dev = backend.as_device(_device(device))
    rng = g.device_rng(dev)
    dt = np.dtype(dtype)
    shape = tuple(shape)
    if dev.type == "cpu":
        if kind == "permutation":
            return rng.permutation(kw["n"]).astype(dt)
        if kind == "integers":
            return rng.integers(kw["low"], kw["high"], size=shape).astype(dt)
        if kind == "uniform":
            return np.asarray(rng.uniform(kw["low"], kw["high"], shape), dtype=dt)
        if kind == "normal":
            return np.asarray(rng.normal(kw["loc"], kw["scale"], shape), dtype=dt)
        draw = getattr(rng, kind)
        return draw(shape) if dt == np.float64 else fill_random(np.empty(shape, dt), draw)
    with backend.device_ctx(dev):
        if kind == "permutation":
            return rng.random(kw["n"]).argsort().astype(dt)
        if kind == "integers":
            return rng.integers(kw["low"], kw["high"], size=shape, dtype=np.int64).astype(dt, copy=False)
        fdt = dt if dt in (np.float32, np.float64) else np.dtype(np.float32)
        base = "random" if kind in ("random", "uniform") else "standard_normal"
        x = getattr(rng, base)(shape, dtype=fdt)
        if kind == "uniform":
            x = x * fdt.type(kw["high"] - kw["low"]) + fdt.type(kw["low"])
        elif kind == "normal":
            x = x * fdt.type(kw["scale"]) + fdt.type(kw["loc"])
        return x.astype(dt, copy=False)


def _random(kind, dtype, device, requires_grad, default=None, generator=None, shape=(), **kw):
    dt = dtypes.as_dtype(dtype) or default or dtypes.get_default_dtype()
    t = Tensor._wrap(random_array(kind, shape, dt, device, generator, **kw))
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("random", dtype, device, requires_grad, generator=generator, shape=_shape(size))


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    return _random("standard_normal", dtype, device, requires_grad, generator=generator, shape=_shape(size))


_SIZE_TYPES = (tuple, list)


def randint(*args, size=None, low=None, high=None, generator=None, dtype=None, device=None, requires_grad=False,
            layout=None, pin_memory=False, out=None):
    """Integers uniform in ``[low, high)``, as torch: ``randint(high, size)``, ``randint(low, high, size)``
    and their keyword forms; ``dtype`` defaults to int64 (a float dtype gives integral floats)."""
    args = list(args)
    if args and isinstance(args[-1], _SIZE_TYPES) and size is None:
        size = args.pop()
    if size is None or len(args) > 2 or (len(args) == 2 and (low is not None or high is not None)):
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"randint() received an invalid combination of arguments - got ({got}), but expected one "
                        f"of:\n * (int high, tuple of ints size, *, Generator generator, dtype, device, "
                        f"requires_grad)\n * (int low, int high, tuple of ints size, *, Generator generator, "
                        f"dtype, device, requires_grad)")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    low = 0 if low is None else low
    low, high = builtins.int(low), builtins.int(high)
    if isinstance(size, builtins.int):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dt = dtypes.as_dtype(dtype) or dtypes.int64
    if dt.kind in "iub":
        info = np.iinfo(dt) if dt.kind != "b" else None
        lo, hi = (0, 1) if info is None else (info.min, info.max)
        if high - 1 > hi or low < lo:
            torch_c = {"uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int",
                       "int64": "long", "bool": "bool"}[dt.name]
            which = "to - 1" if high - 1 > hi else "from"
            raise RuntimeError(f"{which} is out of bounds for {torch_c}")
    if requires_grad and (dt.kind not in "fc" and dt != dtypes.bfloat16):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    t = _random("integers", dt, _device(device), requires_grad, dtypes.int64, generator,
                tuple(builtins.int(n) for n in size), low=low, high=high)
    if out is not None:
        out._data = t._data
        return out
    return t


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices drawn from the rows of ``input`` (non-negative weights, 1-D or 2-D), as torch: without
    replacement each row gives ``num_samples`` distinct categories (zero-weight ones only once the others are
    used up)."""
    W = input._data if isinstance(input, Tensor) else np.asarray(input)
    if W.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (W.dtype.kind != "f" and W.dtype != dtypes.bfloat16):
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{dtypes.torch_name(W.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_cat = W.shape[-1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if n_cat > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    dev = backend.device_of(W)
    P = np.asarray(W.get() if dev.type != "cpu" else W, dtype=np.float64)
    rows = P.reshape(-1, n_cat)
    if not np.isfinite(rows).all() or (rows < 0).any():
        if replacement and num_samples > 1:   # torch's CPU kernel for this case checks entry by entry
            for v in rows.reshape(-1).tolist():
                if not v >= 0:
                    raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
                if not np.isfinite(v):
                    raise RuntimeError("invalid multinomial distribution (encountering probability entry = "
                                       "infinity or NaN)")
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = (generator or default_generator).rng
    if replacement:
        cdf = np.cumsum(rows / totals[:, None], axis=1)
        u = rng.random((rows.shape[0], num_samples))
        idx = np.stack([np.searchsorted(c, ui, side="right") for c, ui in zip(cdf, u)])
        idx = np.minimum(idx, n_cat - 1)
        # a category of weight 0 is never drawn (a draw landing on a flat stretch of the cdf moves past it)
        for r in range(rows.shape[0]):
            bad = rows[r, idx[r]] == 0
            if bad.any():
                pos = np.flatnonzero(rows[r] > 0)
                idx[r, bad] = pos[np.minimum(np.searchsorted(pos, idx[r, bad]), pos.size - 1)]
    else:
        # torch's algorithm: the k largest of w / E with E ~ Exp(1) (zero weights sort last)
        with np.errstate(divide="ignore"):
            keys = rows / rng.exponential(size=rows.shape)
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.reshape(W.shape[:-1] + (num_samples,)).astype(np.int64)
    res = Tensor._wrap(backend.to_device(idx, dev) if dev.type != "cpu" else idx)
    if out is not None:
        out._data = res._data
        return out
    return res


def randperm(n, generator=None, dtype=None, device=None):
    return _random("permutation", dtype, device, False, dtypes.int64, generator, n=n)


def rand_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(rand, x, dtype, device, requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _like(randn, x, dtype, device, requires_grad)
