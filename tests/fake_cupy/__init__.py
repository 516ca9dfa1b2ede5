"""A strict CuPy stand-in for running the CUDA paths without a GPU (test code: the library never imports it).

``install()`` puts it in ``sys.modules`` as ``cupy`` and ``cupyx`` (tests/conftest.py does so when no GPU
is usable, unless ``MINITORCH_FAKE_CUPY=0`` or ``REQUIRE_GPU=1``); ``python tests/fake_cupy/run.py ARGS``
runs ``python ARGS`` with it installed (notebook 05, ``train --device cuda``).

What it models:

* device arrays over NumPy storage that refuse implicit host conversion (``numpy.asarray(x)``) and NumPy
  array operands, as CuPy does; 0-d arrays from reductions and scalar indexing; writable broadcast views
  (CuPy has no ``flags.writeable``); integer indices wrapping around (CuPy's out-of-bounds rule);
* the signature of every CuPy function, class and ndarray/Generator method, recorded from the installed
  ``cupy-cuda13x`` in ``table.json`` (``gen_table.py``) and checked on each call; names CuPy lacks raise
  AttributeError; names it has but the stand-in does not model raise NotImplementedError;
* ``N_DEVICES`` (2) simulated devices: ``cupy.cuda.Device`` context semantics, arrays allocated on the
  current device, kernels refusing operands on another device (peer access unavailable), invalid ordinals;
* ``RawModule``/``RawKernel``: real NVRTC compilation with CuPy's option set, then the g++ emulation
  (tests/cuda_shim) after checking each argument's C type, pointer dtype, contiguity and device;
* counters: host synchronisations (with their call sites), transfers, peer copies, kernel launches with
  their grid/block, modules compiled, device random draws.

What it cannot model: timing and asynchrony (every "kernel" finishes at once, so a missing synchronisation
or a race between streams is invisible), real memory (capacity, pools, out-of-memory, alignment beyond
NumPy's), flush-to-zero (``-ftz=true`` is passed to NVRTC, but the g++ emulation and NumPy keep float32
subnormals: see docs in ``minitorch_optim/kernels``), CUDA's libm (``pow``/``exp``/``erf`` last-bit
differences), peer access (modelled as always unavailable), multi-GPU P2P bandwidth, streams/events, and
the exact dtype rules of CuPy's elementwise kernels for mixed Python-scalar operands (NumPy 2's are used).
"""
from __future__ import annotations

from . import _state
from ._module import MODULES, cupy, install  # noqa: F401
from ._state import counters, launches, reset, sync_sites  # noqa: F401

__all__ = ["MODULES", "counters", "cupy", "install", "launches", "reset", "sync_sites", "set_devices"]


def set_devices(n):
    """Number of simulated devices (default 2)."""
    _state.N_DEVICES = int(n)


def snapshot():
    return dict(_state.counters)
