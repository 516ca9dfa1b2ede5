"""Command line: ``python -m minitorch_optim train`` (the main job) and ``python -m minitorch_optim bench``.

``bench --train`` and ``bench --distributed`` hand the rest of the command line to
:mod:`minitorch_optim.app.bench_train` / :mod:`minitorch_optim.app.bench_distributed` (imported only then).
"""
from __future__ import annotations

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


def _parser():
    from .args import OneLineParser
    from .cli import add_train_arguments

    parser = OneLineParser(prog=PROG, description="torch.optim without torch: train the demo model or benchmark")
    sub = parser.add_subparsers(dest="cmd", metavar="{train,bench}", required=True)
    train_parser = add_train_arguments(sub.add_parser("train", help="train an MLP (or CNN) on the bundled spirals "
                                                                    "or digits"))
    sub.add_parser("bench", help="optimizer step benchmark (python -m minitorch_optim bench -h); "
                                 "--train: training steps, --distributed: multi-process")
    return parser, train_parser


def main(argv=None):
    from .args import missing_dependency
    from .checkpoint import CheckpointError
    from .cli import Interrupted, UsageError, train

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:                    # the bare command: say what there is to run
        sys.stderr.write(_parser()[0].format_help() + f"\nrun '{PROG} train' for the demo, or "
                         f"'{PROG} train --help' / '{PROG} bench --help' for their options\n")
        return 2
    cmd = "bench" if argv[:1] == ["bench"] else "train"
    try:
        if cmd == "bench":          # hand everything after "bench" to the benchmark's own parser
            return _bench(argv[1:])
        parser, train_parser = _parser()
        args, extra = parser.parse_known_args(argv)
        if extra:                   # reported by the subcommand, whose --help lists what it takes
            train_parser.error(f"unrecognized arguments: {' '.join(extra)}")
        train(args)
    except (CheckpointError, UsageError) as e:
        sys.stderr.write(f"{PROG} train: error: {e}\n")
        return _exit(2)
    except ModuleNotFoundError as e:
        dep = missing_dependency(e)
        if dep is None:
            raise
        sys.stderr.write(f"{PROG} {cmd}: error: this needs {dep[0]}, which is not installed: {dep[1]}\n")
        return _exit(2)
    except Interrupted as e:
        sys.stderr.write(f"\n{PROG} train: {e}\n")
        return _exit(130)
    except KeyboardInterrupt:        # before the first epoch started: nothing was written
        sys.stderr.write(f"\n{PROG} train: interrupted before training started; nothing was saved\n")
        return _exit(130)
    return 0


def _exit(code):
    raise SystemExit(code)


if __name__ == "__main__":
    sys.exit(main())
