"""Operations: each forward next to its backward. Importing this package attaches Tensor methods."""
from . import basic, elementwise, inplace, reduction, shape, linalg  # noqa: F401
