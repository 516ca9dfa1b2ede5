"""Small pieces the statistics modules share: the floating-point dtype test, torch's dtype names as its
messages print them, the identity backward rule of 0-d reductions and their zero index."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dtypes
from ..tensor import Tensor


def _is_float(dt):
    return dt.kind == "f" or dt == _dtypes.bfloat16


def _identity_rule(o, g):
    return (g,)


def _zero_index(xp):
    return Tensor._wrap(xp.zeros((), dtype=np.int64))


def _torch_title(dt):
    """torch's ScalarType name as its messages print it (Long, Float, BFloat16, ...)."""
    name = _dtypes.torch_name(dt)
    return {"bfloat16": "BFloat16", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(
        name, {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
               "float32": "Float", "float64": "Double", "float16": "Half"}.get(name, name.capitalize()))
