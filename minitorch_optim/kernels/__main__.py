"""``python -m minitorch_optim.kernels --emit-cuda DIR``: write every generated CUDA kernel as a standalone
.cu file (one per elementwise optimizer × flag combination × dtype, named ``<Class>_<flags>_<dtype>.cu``,
each with its launcher header pasted in and an explicit instantiation for its storage type)."""
from __future__ import annotations

import argparse
import os
import sys

from .cuda.launch import CTYPES, kernel_source, standalone
from .variants import elementwise_classes, traces


def emit_cuda(out_dir, classes=None):
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for cls in classes or elementwise_classes():
        for lab, dtype, tr, n in traces(cls):
            name, src = kernel_source(tr, n)
            ct = CTYPES[dtype]
            text = (f"// {cls.__module__}.{cls.__qualname__} ({lab}, {dtype})\n" + standalone(src) +
                    f"\ntemplate __global__ void {name}<{ct}>(MT_KERNEL_ARGS({ct}));\n")
            path = os.path.join(out_dir, f"{cls.__name__}_{lab}_{dtype}.cu")
            with open(path, "w") as fh:
                fh.write(text)
            written.append((path, name, ct))
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m minitorch_optim.kernels")
    ap.add_argument("--emit-cuda", metavar="DIR", required=True, help="write every generated CUDA kernel here")
    args = ap.parse_args(argv)
    written = emit_cuda(args.emit_cuda)
    print(f"wrote {len(written)} kernels to {args.emit_cuda}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
