"""Command line: ``python -m minitorch_optim train`` (the main job) and ``python -m minitorch_optim bench``.

``bench --train`` and ``bench --distributed`` hand the rest of the command line to
:mod:`minitorch_optim.app.bench_train` / :mod:`minitorch_optim.app.bench_distributed` (imported only then).
"""
from __future__ import annotations

import argparse
import importlib
import sys

PROG = "minitorch-optim"
BENCH_MODES = {"--train": "bench_train", "--distributed": "bench_distributed", "--contrib": "bench_contrib"}


def _bench(argv):
    for flag, mod in BENCH_MODES.items():
        if flag in argv:
            rest = [a for a in argv if a != flag]
            try:
                module = importlib.import_module(f"minitorch_optim.app.{mod}")
            except ModuleNotFoundError as e:
                if e.name != f"minitorch_optim.app.{mod}":
                    raise
                sys.stderr.write(f"{PROG} bench: error: {flag} needs minitorch_optim.app.{mod}, "
                                 f"which this install does not have\n")
                return 2
            return module.main(rest) or 0
    from .bench import main as bench_main

    return bench_main(argv) or 0


def main(argv=None):
    from .checkpoint import CheckpointError
    from .cli import Interrupted, UsageError, add_train_arguments, train

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:       # hand everything after "bench" to the benchmark's own parser
        return _bench(argv[1:])

    parser = argparse.ArgumentParser(prog=PROG,
                                     description="torch.optim without torch: train the demo model or benchmark")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_train_arguments(sub.add_parser("train", help="train an MLP (or CNN) on the bundled spirals or digits"))
    sub.add_parser("bench", help="optimizer step benchmark (python -m minitorch_optim bench -h); "
                                 "--train: training steps, --distributed: multi-process")
    args = parser.parse_args(argv)
    try:
        train(args)
    except (CheckpointError, UsageError) as e:
        parser.exit(2, f"{PROG} train: error: {e}\n")
    except Interrupted as e:
        parser.exit(130, f"\n{PROG} train: {e}\n")
    except KeyboardInterrupt:        # before the first epoch started: nothing was written
        parser.exit(130, f"\n{PROG} train: interrupted before training started; nothing was saved\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
