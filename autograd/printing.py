"""A tensor's printed values, laid out as torch prints them (``torch/_tensor_str.py``'s defaults: precision 4,
summarised above 1000 elements with 3 edge items, lines of 80 characters).

One format serves every element: integer-valued floats as ``1.``, others with 4 decimals, or in scientific
notation when the nonzero finite magnitudes span more than 1000x, exceed 1e8, or (non-integers) fall
below 1e-4; each value is padded to the widest one. float16/bfloat16 print their float32 values.
"""
from __future__ import annotations

import math

import numpy as np

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    def __init__(self, values, floating):
        self.floating, self.int_mode, self.sci_mode, self.width = floating, True, False, 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.width = max(self.width, len(f"{v}"))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        mags = np.abs(finite)
        lo, hi = mags.min(), mags.max()
        vals = finite.tolist()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
            widths = [len(f"{v:.{PRECISION}e}") for v in vals] if self.sci_mode else [len(f"{v:.0f}") + 1 for v in vals]
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
            widths = [len(f"{v:.{PRECISION}e}" if self.sci_mode else f"{v:.{PRECISION}f}") for v in vals]
        self.width = max([self.width] + widths)

    def format(self, v):
        if not self.floating:
            s = f"{v}"
        elif self.sci_mode:
            s = f"{v:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{PRECISION}f}"
        return " " * (self.width - len(s)) + s


def _summarized(a):
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x) for x in a])


def _layout(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    cut = summarize and a.shape[0] > 2 * EDGEITEMS
    if a.ndim == 1:
        per_line = max(1, int(math.floor((LINEWIDTH - indent) / (fmt.width + 2))))
        items = a.tolist()
        data = ([fmt.format(v) for v in items[:EDGEITEMS]] + [" ..."] + [fmt.format(v) for v in items[-EDGEITEMS:]]
                if cut else [fmt.format(v) for v in items])
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if cut:
        parts = ([_layout(a[i], indent + 1, summarize, fmt) for i in rows[:EDGEITEMS]] + ["..."]
                 + [_layout(a[i], indent + 1, summarize, fmt) for i in rows[-EDGEITEMS:]])
    else:
        parts = [_layout(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def values_text(a, indent=len("tensor(")):
    """The values part of ``tensor(...)`` for the host array ``a`` (float16/bfloat16 already widened)."""
    if a.dtype.kind == "c":
        return np.array2string(a, precision=PRECISION, separator=", ", prefix="tensor(")
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    fmt = _Formatter(_summarized(a) if summarize else a, a.dtype.kind == "f")
    return _layout(a, indent, summarize, fmt)


def add_suffixes(text, suffixes, indent=len("tensor(")):
    """``text`` closed with its suffixes (``dtype=...``, ``grad_fn=...``): each on the last line while that
    stays within the line width, else on a new line under the values."""
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"
