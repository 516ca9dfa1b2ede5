"""``python -m minitorch_optim train|bench``: the command line lives in :mod:`minitorch_optim.app`."""
import sys

from minitorch_optim.app.main import main

if __name__ == "__main__":
    sys.exit(main())
