"""The bundled datasets: three interleaved spirals (generated) and the UCI handwritten digits (shipped).

Nothing is downloaded. ``spirals``: a classic non-linearly-separable 2-D task (a linear model reaches
~50%; a small MLP with BatchNorm gets above 95%). ``digits``: 1,797 real 8x8 images of handwritten digits
(UCI, CC BY 4.0, Alpaydin & Kaynak; see ``data/README.md``), the scikit-learn copy.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
DATASETS = ("spirals", "digits")


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


def digits(seed=0, limit=None):
    """Return ``(X, y)``: the 1,797 UCI digits as float32 images (n, 1, 8, 8) scaled to [0, 1] and int64
    labels 0..9, shuffled with ``seed``; ``limit`` keeps the first ``limit`` after shuffling."""
    with gzip.open(os.path.join(DATA_DIR, "digits.csv.gz"), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float32)
    X = (raw[:, :64] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = raw[:, 64].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    if limit is not None:
        order = order[:limit]
    return X[order], y[order]


def load(name, samples, seed):
    """``(X, y, classes)`` for the CLI: ``samples`` is points per class (spirals) or images in all (digits)."""
    if name == "spirals":
        X, y = spirals(n_per_class=samples, seed=seed)
        return X, y, 3
    if name == "digits":
        X, y = digits(seed=seed, limit=samples)
        return X, y, 10
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def train_val_split(X, y, val_fraction=0.2):
    n_val = int(len(y) * val_fraction)
    return (X[n_val:], y[n_val:]), (X[:n_val], y[:n_val])
