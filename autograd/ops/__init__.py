"""Operations: each forward next to its backward. Importing this package attaches Tensor methods."""
from . import basic, elementwise, inplace, reduction, shape, linalg  # noqa: F401
from . import scatter, selection, shape_more  # noqa: F401,E401
from . import tensor_methods, differentiate  # noqa: F401,E401
from . import sampling, matrix_more  # noqa: F401,E401
