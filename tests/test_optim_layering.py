"""The optimizer package's layers: ``_core`` imports nothing of minitorch_optim above it, and the kernel
backends (``kernels/`` but its emission tool) import only themselves and ``_core``: the step is planned by
the driver and handed down as data, never called back (no import circle between the layers)."""
from __future__ import annotations

import ast
import pathlib

import minitorch_optim

ROOT = pathlib.Path(minitorch_optim.__file__).parent
TOOLS = {"kernels/variants.py", "kernels/__main__.py"}   # list the optimizer classes to emit their kernels


def _imports(path):
    """Absolute names of the minitorch_optim modules ``path`` imports (anywhere in the file)."""
    pkg = ".".join(("minitorch_optim",) + path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        pkg = ".".join(("minitorch_optim",) + path.relative_to(ROOT).parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("minitorch_optim"):
                out.add(mod)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("minitorch_optim"))
    return out


def _layer_files(sub):
    return [p for p in sorted((ROOT / sub).rglob("*.py")) if str(p.relative_to(ROOT)) not in TOOLS]


def test_core_imports_nothing_above_it():
    files = _layer_files("_core")
    assert files
    for path in files:
        for mod in _imports(path):
            assert mod.startswith("minitorch_optim._core"), f"{path.relative_to(ROOT)} imports {mod}"


def test_kernel_backends_import_only_themselves_and_core():
    files = _layer_files("kernels")
    assert len(files) >= 6
    for path in files:
        for mod in _imports(path):
            assert mod.startswith(("minitorch_optim._core", "minitorch_optim.kernels")), \
                f"{path.relative_to(ROOT)} imports {mod}"


def test_the_layering_check_sees_relative_imports():
    got = _imports(ROOT / "kernels" / "numba" / "launch.py")
    assert "minitorch_optim._core.flat" in got and "minitorch_optim.kernels.chunks" in got
