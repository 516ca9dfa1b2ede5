"""The CLI's models: an MLP with BatchNorm (any dataset, inputs flattened) and a small CNN (digits)."""
from __future__ import annotations

MODELS = ("mlp", "cnn")


def build_model(nn, hidden, classes=3, in_features=2):
    """MLP ``in -> hidden -> hidden -> classes`` with BatchNorm and ReLU (``in_features`` 2 for the spirals)."""
    layers = [nn.Flatten()] if in_features != 2 else []
    return nn.Sequential(*layers, nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


def build_cnn(nn, hidden, classes=10):
    """For 1x8x8 images: conv 3x3 (16) + BN + ReLU + maxpool 2 -> conv 3x3 (32) + BN + ReLU + maxpool 2 ->
    linear (``hidden``) + ReLU -> linear (classes)."""
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 2 * 2, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def make(nn, name, dataset, hidden, classes, X):
    if name == "cnn":
        if X.ndim != 4:
            raise ValueError("--model cnn needs image data: use --dataset digits")
        return build_cnn(nn, hidden, classes)
    return build_model(nn, hidden, classes, in_features=int(X[0].size))
