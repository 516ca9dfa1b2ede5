"""``python -m minitorch_optim.bench``: kept for old docs; the benchmark lives in :mod:`minitorch_optim.app.bench`."""
import sys

from minitorch_optim.app.bench import main

if __name__ == "__main__":
    sys.exit(main())
