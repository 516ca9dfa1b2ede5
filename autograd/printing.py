"""A tensor's printed values, laid out as torch prints them (``torch/_tensor_str.py``'s defaults: precision 4,
summarised above 1000 elements with 3 edge items, lines of 80 characters), changed by ``set_printoptions``.

One format serves every element: integer-valued floats as ``1.``, others with 4 decimals, or in scientific
notation when the nonzero finite magnitudes span more than 1000x, exceed 1e8, or (non-integers) fall
below 1e-4; each value is padded to the widest one. float16/bfloat16 print their float32 values.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80
SCI_MODE = None   # None: chosen from the values (below); True / False: forced, as torch's ``sci_mode``

# torch's named profiles: (precision, threshold, edgeitems, linewidth); sci_mode is not part of them
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """torch's ``set_printoptions``: a profile first (an unknown name changes nothing, as torch), then each
    option given; ``sci_mode`` is always set (leaving it out goes back to automatic, as torch)."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile in _PROFILES:
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        PRECISION = precision
    if threshold is not None:
        THRESHOLD = threshold
    if edgeitems is not None:
        EDGEITEMS = edgeitems
    if linewidth is not None:
        LINEWIDTH = linewidth
    SCI_MODE = sci_mode


def get_printoptions():
    """The current options as a dict (torch keeps this in ``torch._tensor_str.get_printoptions``)."""
    return {"precision": PRECISION, "threshold": THRESHOLD, "edgeitems": EDGEITEMS, "linewidth": LINEWIDTH,
            "sci_mode": SCI_MODE}


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
        if SCI_MODE is None:   # integers never fall below 1e-4, so one rule serves both modes
            self.sci_mode = builtins.bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = builtins.bool(SCI_MODE)
        if self.sci_mode:
            widths = [len(f"{v:.{PRECISION}e}") for v in vals]
        elif self.int_mode:
            widths = [len(f"{v:.0f}") + 1 for v in vals]
        else:
            widths = [len(f"{v:.{PRECISION}f}") for v in vals]
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


class _ComplexFormatter:
    """torch's complex layout: the real parts and the imaginary parts each get their own float format (as
    above); an element is its padded real part, then the imaginary part with its sign and ``j``."""

    def __init__(self, values):
        self.real, self.imag = _Formatter(values.real, True), _Formatter(values.imag, True)
        self.width = self.real.width + self.imag.width + 1    # (the layout adds 2 per element: the ", ")

    def format(self, v):
        imag = self.imag.format(v.imag).lstrip() + "j"
        return self.real.format(v.real) + (imag if imag[0] in "+-" else "+" + imag)


def _summarized(a):
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[len(a) - EDGEITEMS:]])
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
        data = ([fmt.format(v) for v in items[:EDGEITEMS]] + [" ..."] + [fmt.format(v) for v in items[len(items) - EDGEITEMS:]]
                if cut else [fmt.format(v) for v in items])
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if cut:
        parts = ([_layout(a[i], indent + 1, summarize, fmt) for i in rows[:EDGEITEMS]] + ["..."]
                 + [_layout(a[i], indent + 1, summarize, fmt) for i in rows[len(rows) - EDGEITEMS:]])
    else:
        parts = [_layout(a[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def values_text(a, indent=len("tensor(")):
    """The values part of ``tensor(...)`` for the host array ``a`` (float16/bfloat16 already widened)."""
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    shown = _summarized(a) if summarize else a
    fmt = _ComplexFormatter(shown) if a.dtype.kind == "c" else _Formatter(shown, a.dtype.kind == "f")
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
