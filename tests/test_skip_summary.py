"""The end of the pytest summary says how many tests skipped for a missing reference, and how to install it."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_summary_counts_skips_for_missing_references(pytester):
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_a="""
import sys
import pytest
sys.modules["torch"] = None            # as if torch were not installed
sys.modules["schedulefree"] = None

def test_needs_torch():
    pytest.importorskip("torch")

def test_needs_torch_too():
    pytest.importorskip("torch")

def test_needs_schedulefree():
    pytest.importorskip("schedulefree")

def test_other_skip():
    pytest.skip("torch 2.13 fails on this case")

def test_needs_nvrtc():
    pytest.skip("NVRTC cannot be loaded (pip install cupy-cuda13x nvidia-cuda-nvrtc): No module named 'cupy_backends'")

def test_runs():
    assert 1 + 1 == 2
""")
    res = pytester.runpytest_subprocess("-q")
    res.assert_outcomes(passed=1, skipped=5)
    out = res.stdout.str()
    assert "2 tests skipped: torch is not installed" in out and "pip install torch==2.13.0" in out
    assert "1 test skipped: cupy is not installed" in out and "nvidia-cuda-nvrtc" in out
    assert "1 test skipped: schedulefree is not installed" in out and "schedulefree==1.4.1" in out
