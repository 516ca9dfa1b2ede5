"""Dtypes are NumPy dtypes; these names mirror torch's."""
import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool = np.dtype("bool")  # noqa: A001 - torch's name

_default_float = float32


def get_default_dtype():
    return _default_float


def set_default_dtype(dt):
    global _default_float
    dt = np.dtype(dt)
    if dt.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = dt


def as_dtype(dt):
    if dt is None:
        return None
    try:
        return np.dtype(dt)
    except TypeError as e:
        raise TypeError(f"dtype must be a dtype, got {dt!r}") from e


def is_floating(dt) -> "bool":
    return np.dtype(dt).kind == "f"
