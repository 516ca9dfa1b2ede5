"""``torch.backends.openmp``: our CPU threads are BLAS's and our kernel pool's, not OpenMP's."""


def is_available():
    return False
