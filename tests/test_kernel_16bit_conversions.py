"""The CPU kernels' float16/bfloat16 conversions (kernels/numba/helpers.py) give NumPy's / ml_dtypes' cast
bits: every float16 to float32, and float32 to both over random bit patterns, ties and the special values."""
from __future__ import annotations

import numpy as np
import pytest

from minitorch_optim.kernels.numba import launch as _launch

pytestmark = pytest.mark.skipif(not _launch.available(), reason="needs Numba")


@pytest.fixture(scope="module")
def conv():
    from numba import njit

    from minitorch_optim.kernels.numba import helpers as H

    @njit
    def widen(h, low):
        out = np.empty(h.size, np.float32)
        for i in range(h.size):
            out[i] = H._h2f(h[i]) if low == 0 else H._b2f(h[i])
        return out

    @njit
    def narrow(x, low):
        out = np.empty(x.size, np.uint16)
        for i in range(x.size):
            out[i] = H._f2h(x[i]) if low == 0 else H._f2b(x[i])
        return out

    return widen, narrow


def _floats():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 1 << 32, 400_000, dtype=np.uint64).astype(np.uint32)
    h = np.arange(1 << 16, dtype=np.uint32)
    ties = np.concatenate([(h << 13) | 0x1000, (h << 16) | 0x8000, (h << 13) | 0x0FFF, (h << 16) | 0x7FFF])
    special = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFA00000, 0x477FF000,
                        0x477FEFFF, 0x38800000, 0x387FFFFF, 0x33000000, 0x33000001, 1], np.uint32)
    return np.concatenate([bits, ties.astype(np.uint32), special]).view(np.float32)


def test_float16_to_float32_is_exact_for_every_half(conv):
    h = np.arange(1 << 16, dtype=np.uint16)
    got = conv[0](h, 0)
    np.testing.assert_array_equal(got.view(np.uint32), h.view(np.float16).astype(np.float32).view(np.uint32))


def test_float32_to_float16_rounds_as_numpy(conv):
    x = _floats()
    with np.errstate(all="ignore"):
        want = x.astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(conv[1](x, 0), want)


def test_bfloat16_both_ways_as_ml_dtypes(conv):
    from autograd.dtypes import bfloat16

    x = _floats()
    got = conv[1](x, 1)
    with np.errstate(all="ignore"):
        want = x.astype(bfloat16).view(np.uint16)
    np.testing.assert_array_equal(got, want)        # NaNs too: ml_dtypes gives the quiet NaN of the sign
    h = np.arange(1 << 16, dtype=np.uint16)
    np.testing.assert_array_equal(conv[0](h, 1).view(np.uint32), h.view(bfloat16).astype(np.float32).view(np.uint32))
