"""Flat storage and array kernels behind ``swa_utils.AveragedModel``.

The averaged tensors of one device+dtype are laid out in one contiguous array (each tensor's ``_data``
becomes a view into it), so an averaging update is one vector operation over that array, run in
cache-sized chunks (split over threads on the CPU). The model's values are read from a flat span when
they already sit consecutively in one array (for instance an optimizer's flat buffer on the foreach
path); otherwise they are gathered once per update into a scratch array kept between updates (and moved
across devices in one transfer when the averaged copy lives elsewhere).

Kernels follow the operation order of torch 2.13, so results agree to the last bits: ``lerp`` is
``a + w*(b-a)`` for ``|w| < 0.5`` and ``b - (b-a)*(1-w)`` otherwise; float16 and integer tensors are
computed in float32 as torch does (integers are truncated when written back, like ``copy_``).
"""
from __future__ import annotations

import numpy as np

from autograd import backend
from autograd.backend import array_module, device_of

from ._core.flat import run_chunked


def _ptr(a):
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.data.ptr


def _root(a):
    """The array that owns ``a``'s memory (the end of the chain of ``.base`` arrays of the same kind)."""
    kind = type(a)
    while isinstance(a.base, kind):
        a = a.base
    return a


def span(arrays):
    """A 1-D view covering ``arrays`` when they lie back to back in one contiguous array, else None."""
    if not arrays:
        return None
    first = arrays[0]
    root = _root(first)
    if not (root.flags.c_contiguous and root.dtype == first.dtype):
        return None
    item = first.dtype.itemsize
    start = _ptr(first) - _ptr(root)
    if start % item:
        return None
    pos = _ptr(first)
    for a in arrays:
        if (a.dtype != first.dtype or not a.flags.c_contiguous or _ptr(a) != pos
                or (a is not root and _root(a) is not root)):
            return None
        pos += a.nbytes
    lo = start // item
    total = (pos - _ptr(first)) // item
    return root.reshape(-1)[lo:lo + total]


def flatten_into_one(tensors):
    """Make the (non-empty) ``tensors`` views of one new flat array holding their values; return it."""
    arrays = [t._data for t in tensors]
    xp = array_module(arrays[0])
    buf = xp.concatenate([a.reshape(-1) for a in arrays])
    off = 0
    for t, a in zip(tensors, arrays):
        t._data = buf[off:off + a.size].reshape(a.shape)
        off += a.size
    return buf


class FlatAverages:
    """Per (device, dtype) flat views of the averaged tensors and the matching model values."""

    def __init__(self):
        self._scratch = {}

    def averaged_flat(self, tensors):
        """One flat array over ``tensors`` (re-laid out only when they are not one span already)."""
        live = [t for t in tensors if t._data.size]
        if not live:
            return None
        flat = span([t._data for t in live])
        return flat if flat is not None else flatten_into_one(live)

    def model_flat(self, averaged, model, flat_avg):
        """The model's values for ``averaged`` as one array on ``flat_avg``'s device with its dtype."""
        pairs = [(a, m._data) for a, m in zip(averaged, model) if a._data.size]
        arrays = [m for _, m in pairs]
        dev, dtype = device_of(flat_avg), flat_avg.dtype
        devs = {device_of(m) for m in arrays}
        if len(devs) == 1:
            src_dev = devs.pop()
            flat = span(arrays)
            if flat is not None and flat.size == flat_avg.size:
                if src_dev == dev:
                    return flat if flat.dtype == dtype else flat.astype(dtype)
                return backend.to_device(flat, dev).astype(dtype, copy=False)
            if src_dev != dev:             # gather on the source device, then one transfer
                xp_src = array_module(arrays[0])
                gathered = xp_src.concatenate([m.reshape(-1) for m in arrays])
                return backend.to_device(gathered, dev).astype(dtype, copy=False)
        key = (str(dev), dtype.str, flat_avg.size)
        scratch = self._scratch.get(key)
        if scratch is None:
            self._scratch = {k: v for k, v in self._scratch.items() if k[:2] != key[:2]}
            scratch = self._scratch[key] = array_module(flat_avg).empty(flat_avg.size, dtype)
        if all(m.dtype == dtype and device_of(m) == dev for m in arrays):
            array_module(flat_avg).concatenate([m.reshape(-1) for m in arrays], out=scratch)
            return scratch
        off = 0
        for m in arrays:
            scratch[off:off + m.size] = backend.to_device(m, dev).reshape(-1)
            off += m.size
        return scratch


# ---- kernels: ``a`` (averaged, updated in place) from ``b`` (model values), both flat, same shape ----

def _compute_dtype(dtype):
    """float16/bfloat16 and integer/bool tensors are averaged in float32, as torch's kernels do."""
    if dtype.kind in "fc" and dtype.itemsize >= 4:
        return dtype
    return np.dtype(np.float32)


def _run(a, b, rule):
    """Apply ``rule(x, y) -> new x`` (x, y in the compute dtype) chunk by chunk and write it into ``a``."""
    xp = array_module(a)
    ct = _compute_dtype(a.dtype)
    exact = ct == a.dtype

    def chunk(lo, hi):
        x, y = a[lo:hi], b[lo:hi]
        if not exact:
            x, y = x.astype(ct), y.astype(ct)
        r = rule(x, y, ct)
        if exact:
            a[lo:hi] = r
        else:
            a[lo:hi] = r.astype(a.dtype)      # float -> int truncates toward zero, like copy_

    run_chunked(chunk, 0, a.size, xp is np)


def _gpu(a, b, mode, value):
    """One ``kernels/cuda/avg.cu`` launch for same-dtype float GPU buffers (the arithmetic of the rules
    below, in their order); False where it does not apply."""
    if (array_module(a) is np or a.dtype != b.dtype or a.dtype.name not in ("float16", "float32", "float64")
            or not (a.flags.c_contiguous and b.flags.c_contiguous)):
        return False
    from .kernels.cuda.launch import avg_update  # noqa: PLC0415

    avg_update(a, b, mode, value)
    return True


def lerp(a, b, weight):
    """``a.lerp_(b, weight)`` with torch's two-sided formula."""
    if _gpu(a, b, "lerp", weight):
        return
    from .kernels.numba.launch import lerp_flat  # noqa: PLC0415 - one Numba pass on the CPU when available

    if lerp_flat(a, b, weight):
        return

    def rule(x, y, ct):
        w = ct.type(weight)
        d = y - x
        if abs(w) < 0.5:
            d *= w
            d += x
            return d
        d *= ct.type(1) - w
        return y - d

    _run(a, b, rule)


def blend(a, b, decay):
    """``decay * a + (1 - decay) * b`` (torch's EMA for a single tensor and for integer buffers)."""
    if _gpu(a, b, "blend", decay):
        return

    def rule(x, y, ct):
        r = x * ct.type(decay)
        r += y * ct.type(1 - decay)
        return r

    _run(a, b, rule)


def swa_divide(a, b, n_averaged):
    """``a + (b - a) / (n_averaged + 1)`` (torch's per-tensor SWA step, also for integer buffers)."""
    if _gpu(a, b, "divide", n_averaged + 1):
        return

    def rule(x, y, ct):
        d = y - x
        d /= ct.type(n_averaged + 1)
        d += x
        return d

    _run(a, b, rule)


def copy(a, b):
    """``a[...] = b`` (the first update copies the model)."""
    a[...] = b
