"""autograd's glibc heap thresholds: set at import on Linux/glibc, so that arrays freed and allocated again
every training step reuse mapped memory instead of faulting their pages in again; left alone on request."""
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

import autograd  # noqa: F401  (sets the thresholds)
from autograd import _malloc

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(resource, "RUSAGE_THREAD"),
                           reason="glibc heap thresholds are Linux-only")


def _faults(n=8, nbytes=16 << 20):
    """Page faults of this thread while allocating, filling and freeing an array ``n`` times."""
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(n):
        a = np.empty(nbytes // 4, dtype=np.float32)
        a.fill(1.0)
        del a
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


@glibc
def test_freed_step_sized_arrays_are_reused_without_page_faults():
    _faults(1)                         # the first allocation maps the memory
    # untuned, every round trip faults the 16 MB in again: 4096 faults at 4 KiB pages, 8 with huge pages
    assert _faults() < 8


def _child(env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "AUTOGRAD_MALLOC"))}
    env.update(env_extra)
    code = "from autograd import _malloc; print(_malloc.keep_heap())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@glibc
def test_opt_out_and_user_settings_leave_glibc_defaults():
    assert _child({}) == "True"
    assert _child({"AUTOGRAD_MALLOC_TUNE": "0"}) == "False"
    assert _child({"MALLOC_TRIM_THRESHOLD_": "1000000"}) == "False"
    assert _malloc.TRIM >= _malloc.MMAP
