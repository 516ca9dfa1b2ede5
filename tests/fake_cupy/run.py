"""``python tests/fake_cupy/run.py -m minitorch_optim train --device cuda ...`` or ``run.py script.py``:
runs a module or script with the CuPy stand-in installed as ``cupy``."""
from __future__ import annotations

import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fake_cupy  # noqa: E402

fake_cupy.install()
args = sys.argv[1:]
if args and args[0] == "-m":
    sys.argv = [args[1]] + args[2:]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
else:
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")
