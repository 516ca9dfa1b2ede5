"""Test-session set-up for the CUDA paths.

* No usable GPU (and neither ``REQUIRE_GPU=1`` nor ``MINITORCH_FAKE_CUPY=0``): the strict CuPy stand-in
  (tests/fake_cupy) is installed as ``cupy`` before anything imports CuPy, so every GPU test runs against
  it. ``MINITORCH_FAKE_CUPY=1`` forces it even where a GPU exists.
* ``REQUIRE_GPU=1``: the real CuPy is used (unless ``MINITORCH_FAKE_CUPY=1``: the dry run of
  scripts/gpu-check.sh) and every skip of a GPU test (a skip whose reason mentions a
  GPU, CUDA, CuPy or NVRTC) is reported as a failure, so a broken CUDA install cannot pass as "no GPU".
"""
from __future__ import annotations

import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
REQUIRE_GPU = os.environ.get("REQUIRE_GPU", "") not in ("", "0")
GPU_SKIP = re.compile(r"gpu|cuda|cupy|nvrtc", re.I)
GPU_PRESENT = re.compile(r"\bis present\b", re.I)   # "a GPU is present: the no-GPU path is unreachable"


def _real_gpu():
    try:
        import cupy  # noqa: PLC0415

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy / no driver / no device: no usable GPU
        return False


_mode = os.environ.get("MINITORCH_FAKE_CUPY", "")
FAKE_CUPY = _mode == "1" or (not REQUIRE_GPU and _mode != "0" and not _real_gpu())
if FAKE_CUPY:
    import fake_cupy  # noqa: E402

    fake_cupy.install()


def pytest_report_header(config):
    if REQUIRE_GPU and not FAKE_CUPY:
        return "CUDA: REQUIRE_GPU=1 (real CuPy; GPU-test skips fail)"
    return "CUDA: the strict CuPy stand-in (tests/fake_cupy)" if FAKE_CUPY else "CUDA: real CuPy and GPU"


def _gpu_skip_to_failure(report):
    if REQUIRE_GPU and report.skipped:
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if GPU_SKIP.search(reason) and not GPU_PRESENT.search(reason) and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"REQUIRE_GPU=1 but a GPU test was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _gpu_skip_to_failure(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _gpu_skip_to_failure(outcome.get_result())


@pytest.fixture
def cuda_env():
    """Runs a CUDA test on the stand-in (fresh counters) or on a real GPU; skips where neither is there."""
    import autograd  # noqa: PLC0415

    if FAKE_CUPY:
        import fake_cupy as fc  # noqa: PLC0415

        fc.reset()
        yield fc
        return
    if not autograd.cuda.is_available():
        pytest.skip(f"needs CuPy and a CUDA GPU: {autograd.backend.cuda_unavailable_reason()}")
    yield None


def need_devices(n):
    import autograd  # noqa: PLC0415

    if autograd.cuda.device_count() < n:
        pytest.skip(f"needs {n} devices")


@pytest.fixture
def fake_cupy():
    """The stand-in with fresh counters (skips where the real CuPy is in use: the counts need the stand-in)."""
    if not FAKE_CUPY:
        pytest.skip("host-sync and launch counts are taken by the stand-in, which is not installed")
    import fake_cupy as fc  # noqa: PLC0415

    fc.reset()
    yield fc
    fc.reset()
