"""The chunk table both kernel backends walk: rows of ``(tensor, start, stop, span index)``.

A launch steps spans ``(i0, i1)`` of a FlatGroup's params; each tensor is cut into chunks of ``row``
elements, and the fourth column says which span's scalar row a chunk reads. Tables are cached on the
FlatGroup's ``kernel_cache`` per (spans, row), so a step with the usual layout builds nothing.
"""
from __future__ import annotations

import numpy as np


def chunk_table(flat, spans, row):
    """The (cached) int64 table for ``spans`` (a tuple of (i0, i1) pairs) in chunks of ``row`` elements."""
    key = ("rows", spans, row)
    rows = flat.kernel_cache.get(key)
    if rows is None:
        parts = []
        for r, (i0, i1) in enumerate(spans):
            sizes = np.diff(flat.offs[i0:i1 + 1])
            nch = -(-sizes // row)
            t = np.repeat(np.arange(i0, i1, dtype=np.int64), nch)
            k = np.arange(int(nch.sum()), dtype=np.int64) - np.repeat(np.cumsum(nch) - nch, nch)
            a = k * row
            parts.append(np.stack([t, a, np.minimum(a + row, sizes[t - i0]), np.full_like(t, r)], axis=1))
        rows = np.ascontiguousarray(np.concatenate(parts)) if parts else np.zeros((0, 4), np.int64)
        flat.kernel_cache[key] = rows
    return rows
