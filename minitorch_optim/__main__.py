"""Command line: ``python -m minitorch_optim train`` (the main job) and ``python -m minitorch_optim bench``."""
from __future__ import annotations

import argparse
import sys


def main(argv=None):
    from .cli import add_train_arguments, train
    from .checkpoint import CheckpointError

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:       # hand everything after "bench" to the benchmark's own parser
        from .bench import main as bench_main

        bench_main(argv[1:])
        return 0

    parser = argparse.ArgumentParser(prog="minitorch-optim",
                                     description="torch.optim without torch: train the demo model or benchmark")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_train_arguments(sub.add_parser("train", help="train an MLP with BatchNorm on the embedded spirals data"))
    sub.add_parser("bench", help="optimizer step benchmark (python -m minitorch_optim bench -h)")
    args = parser.parse_args(argv)
    try:
        train(args)
    except CheckpointError as e:
        parser.exit(2, f"minitorch-optim: error: {e}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
