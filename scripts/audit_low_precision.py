"""List the layer's ops whose float16/bfloat16 results (forward and gradients) are not bitwise equal to
torch's on the CPU: ``python scripts/audit_low_precision.py [name ...]``. The cases are those of
tests/_low_precision_cases.py; torch must be installed."""
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import numpy as np  # noqa: E402

from _low_precision_cases import CASES, compare  # noqa: E402


def main(names):
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    bad = 0
    for name in names or CASES:
        line, differs = [], False
        for dt in ("float16", "bfloat16"):
            try:
                rows = compare(name, dt)
            except Exception as e:  # noqa: BLE001  (an op that fails is listed, not fatal)
                line.append(f"{dt}: ERROR {type(e).__name__}: {str(e)[:80]}")
                differs = True
                continue
            worst = [f"{w} {n}/{m} ({u} ulp)" if n >= 0 else f"{w} mismatch" for w, n, m, u in rows if n]
            differs |= bool(worst)
            line.append(f"{dt}: " + (", ".join(worst) if worst else "equal"))
        bad += differs
        print(f"{'DIFF' if differs else 'ok  '} {name:24s} " + " | ".join(line))
    print(f"{bad} of {len(names or CASES)} cases differ")


if __name__ == "__main__":
    main(sys.argv[1:])
