"""The CPU fused twin: Numba kernels (``_cpu_kernels``) over the flat buffers, one call per run.

``launch`` follows the contract in ``kernels/__init__.py``. For each run it turns the per-step scalars
(``entry.sc``, Python floats from the optimizer's own ``_scalars``) and the group's hyper-parameters into
kernel arguments: every derived scalar (``1 - beta1``, ``-lr``, ``1 - lr*weight_decay``, ...) is computed
in Python exactly as the algorithm's update function computes it, then cast to the parameter dtype (the
rounding NumPy applies to a Python float meeting a float32 array), so the kernel reproduces the foreach
path bit for bit. Numba is optional: without it ``supports`` is False (and fused=True is refused).
"""
from __future__ import annotations

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_kernels = None
_tried = False


def kernels():
    """The compiled-kernel module, or None when Numba cannot be imported (imported on first use)."""
    global _kernels, _tried
    if not _tried:
        _tried = True
        try:
            from . import algos as _cpu_kernels
        except ImportError:
            _cpu_kernels = None
        _kernels = _cpu_kernels
    return _kernels


def available():
    return kernels() is not None


def supports(name):
    return name in _ARGS and available()


def supports_dtype(dtype):
    """The kernels compute in the parameter dtype: float32 and float64 only."""
    return np.dtype(dtype) in _FLOATS


def _wd(group, lr):
    """(mode, wd, 1 - lr*wd): mode 0 none, 1 L2 on the gradient, 2 decoupled decay of the parameter."""
    wd = group["weight_decay"]
    if wd == 0:
        return 0, wd, 1.0
    return (2 if group.get("decoupled_weight_decay") else 1), wd, 1 - lr * wd


def _lerp(w):
    return w, 1 - w, abs(w) < 0.5


# name -> fn(c, B, group, sc) -> (kernel name, buffers tuple, scalar args after ``scale, maximize``)
def _adam(c, B, group, sc):
    mode, wd, dec = _wd(group, sc["lr"])
    w, omw, small = _lerp(1 - sc["beta1"])
    b2 = sc["beta2"]
    return "adam", (B["exp_avg"], B["exp_avg_sq"], B.get("max_exp_avg_sq")), (
        mode, c(wd), c(dec), c(w), c(omw), small, c(b2), c(1 - b2), c(sc["bias_correction2_sqrt"]),
        c(group["eps"]), c(-sc["step_size"]))


def _sgd(c, B, group, sc):
    wd = group["weight_decay"]
    return "sgd", (B.get("momentum_buffer"),), (
        wd != 0, c(wd), c(group["momentum"]), c(1 - group["dampening"]), bool(sc["first"]),
        bool(group["nesterov"]), c(-sc["lr"]))


def _adagrad(c, B, group, sc):
    wd = group["weight_decay"]
    return "adagrad", (B["sum"],), (wd != 0, c(wd), c(group["eps"]), c(-sc["clr"]))


def _adadelta(c, B, group, sc):
    wd, rho = group["weight_decay"], group["rho"]
    return "adadelta", (B["square_avg"], B["acc_delta"]), (
        wd != 0, c(wd), c(rho), c(1 - rho), c(group["eps"]), c(-sc["lr"]))


def _adamax(c, B, group, sc):
    wd = group["weight_decay"]
    w, omw, small = _lerp(1 - sc["beta1"])
    return "adamax", (B["exp_avg"], B["exp_inf"]), (
        wd != 0, c(wd), c(w), c(omw), small, c(sc["beta2"]), c(group["eps"]), c(-sc["clr"]))


def _asgd(c, B, group, sc):
    wd, eta, mu = group["weight_decay"], sc["eta"], sc["mu"]
    return "asgd", (B["ax"],), (
        wd != 0, c(wd), c(1 - group["lambd"] * eta), c(-eta), mu != 1, c(mu))


def _rmsprop(c, B, group, sc):
    wd, alpha = group["weight_decay"], group["alpha"]
    oma, ama, small = _lerp(1 - alpha)
    return "rmsprop", (B["square_avg"], B.get("grad_avg"), B.get("momentum_buffer")), (
        wd != 0, c(wd), c(alpha), c(oma), small, c(ama), c(group["eps"]), c(-sc["lr"]), c(group["momentum"]))


def _rprop(c, B, group, sc):
    etaminus, etaplus = group["etas"]
    smin, smax = group["step_sizes"]
    return "rprop", (B["prev"], B["step_size"]), (
        bool(sc["first"]), c(sc["lr"]), c(etaminus), c(etaplus), c(smin), c(smax), c(0), c(1))


def _nadam(c, B, group, sc):
    mode, wd, dec = _wd(group, sc["lr"])
    w, omw, small = _lerp(1 - sc["beta1"])
    b2 = sc["beta2"]
    return "nadam", (B["exp_avg"], B["exp_avg_sq"]), (
        mode, c(wd), c(dec), c(w), c(omw), small, c(b2), c(1 - b2), c(sc["bias_correction2"]), c(group["eps"]),
        c(sc["grad_coef"]), c(sc["avg_coef"]))


def _radam(c, B, group, sc):
    mode, wd, dec = _wd(group, sc["lr"])
    w, omw, small = _lerp(1 - sc["beta1"])
    b2, rect = sc["beta2"], sc["rect"]
    return "radam", (B["exp_avg"], B["exp_avg_sq"]), (
        mode, c(wd), c(dec), c(w), c(omw), small, c(b2), c(1 - b2), c(sc["bias_correction1"]), c(sc["lr"]),
        c(sc["bias_correction2"] ** 0.5), c(group["eps"]), None if rect is None else c(rect))


_ARGS = {"Adam": _adam, "AdamW": _adam, "SGD": _sgd, "Adagrad": _adagrad, "Adadelta": _adadelta,
         "Adamax": _adamax, "ASGD": _asgd, "RMSprop": _rmsprop, "Rprop": _rprop, "NAdam": _nadam,
         "RAdam": _radam}


PARALLEL_MIN = 1 << 21    # elements per launch below which one thread is faster than waking the others


class _threads:
    """Run small launches on the calling thread only.

    Waking Numba's worker threads costs ~10-20 us on an idle machine but a whole scheduler slice
    (several ms) on a busy one, while one core updates ~1M float32 Adam elements in well under 1 ms;
    so launches under ``PARALLEL_MIN`` elements use one thread (``numba.set_num_threads`` is
    thread-local and cheap).
    """

    def __init__(self, n):
        self.n = n
        self.prev = None

    def __enter__(self):
        if self.n < PARALLEL_MIN:
            import numba  # noqa: PLC0415 - imported with the kernels already

            self.prev = numba.get_num_threads()
            if self.prev != 1:
                numba.set_num_threads(1)
            else:
                self.prev = None
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            import numba  # noqa: PLC0415

            numba.set_num_threads(self.prev)
        return False


def _first(x):
    return float(np.asarray(x).reshape(-1)[0])


def launch(name, flat, entries, group, grad_scale, found_inf):
    """Run ``name``'s kernel over every run in ``entries``; nothing happens when ``found_inf`` is set."""
    k = kernels()
    if k is None:
        raise RuntimeError("fused=True on the CPU needs Numba: pip install numba (or the [fast] extra)")
    if found_inf is not None and _first(found_inf) != 0:
        return False
    dtype = flat.param.dtype
    if dtype not in _FLOATS:
        raise RuntimeError(f"the CPU fused kernels take float32 or float64 parameters, not {dtype}")
    c = dtype.type
    scale = None if grad_scale is None else c(_first(grad_scale))
    maximize = bool(group.get("maximize", False))
    build = _ARGS[name]
    calls = []
    for e in entries:
        kname, bufs, rest = build(c, flat.buffers, group, e.sc)
        calls.append((getattr(k, kname), bufs, e.lo, e.hi, rest))
    with _threads(sum(e.hi - e.lo for e in entries)):
        for fn, bufs, lo, hi, rest in calls:
            fn(flat.param, flat.grad, *bufs, lo, hi, scale, maximize, *rest)
    if scale is not None:
        _unscale_detached_grads(flat, entries)
    return False


def _unscale_detached_grads(flat, entries):
    """Gradients that are not views of the flat buffer (set by hand) get the unscaled values too."""
    for e in entries:
        for i in range(e.i0, e.i1):
            g = flat.params[i].grad
            if g is not None and g._data is not flat.gviews[i]:
                g._data[...] = flat.gviews[i]


def lerp_flat(a, b, weight):
    """``a <- lerp(a, b, weight)`` with the Numba kernel when it applies; returns False when it does not.

    Used by ``_swa_flat.lerp`` (AveragedModel's EMA/SWA update over flat arrays). It applies to two 1-D
    C-contiguous NumPy arrays of one float32/float64 dtype; the weight and its complement are rounded to
    that dtype first and ``1 - w`` is taken in it, exactly as the NumPy code there does.
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and a.dtype in _FLOATS and a.ndim == 1 and a.shape == b.shape and a.flags.c_contiguous
            and b.flags.c_contiguous and a.size):
        return False
    k = kernels()
    if k is None:
        return False
    c = a.dtype.type
    w = c(weight)
    with _threads(a.size):
        k.lerp_avg(a, b, w, c(1) - w, bool(abs(w) < 0.5))
    return True
