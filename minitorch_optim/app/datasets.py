"""The embedded default dataset: three interleaved spirals in 2-D, generated offline and deterministically.

A classic non-linearly-separable task (a linear model reaches ~50%); a small MLP with BatchNorm gets
above 95%. Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np


def spirals(n_per_class=600, classes=3, noise=0.2, turns=1.5, seed=0):
    """Return ``(X, y)``: float32 points of shape (n, 2) and int64 labels, shuffled with ``seed``."""
    if n_per_class <= 0 or classes < 2:
        raise ValueError("need n_per_class > 0 and classes >= 2")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = c * 2 * np.pi / classes + r * turns * 2 * np.pi + rng.normal(0, noise, n_per_class) * r
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(n_per_class, c))
    X = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int64)
    order = rng.permutation(len(y))
    return X[order], y[order]


def train_val_split(X, y, val_fraction=0.2):
    n_val = int(len(y) * val_fraction)
    return (X[n_val:], y[n_val:]), (X[:n_val], y[:n_val])
