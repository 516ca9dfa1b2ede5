"""``torch.backends.mkldnn``: accepted flags; our CPU path is NumPy/BLAS (no oneDNN)."""
enabled = True
deterministic = False


def is_available():
    return False
