"""``torch.backends.mps``: there is no Apple-GPU backend here."""


def is_available():
    return False


def is_built():
    return False
