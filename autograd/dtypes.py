"""Dtypes are NumPy dtypes; these names mirror torch's. Promotion follows torch, not NumPy."""
import builtins
import numbers

import ml_dtypes
import numpy as np

float16 = half = np.dtype("float16")
# ml_dtypes' bfloat16 is a NumPy dtype of kind "V" (NumPy has no native one): the layer asks
# ``kind(dt)``, never ``dt.kind``, where a floating dtype matters
bfloat16 = np.dtype(ml_dtypes.bfloat16)
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool = np.dtype("bool")  # noqa: A001 - torch's name
complex64 = cfloat = np.dtype("complex64")
complex128 = cdouble = np.dtype("complex128")
# (torch's complex32 / chalf has no NumPy dtype: it is not offered)

_default_float = float32

_TORCH_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double", "int8": "Char", "uint8": "Byte",
                "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool",
                "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def get_default_dtype():
    return _default_float


def set_default_dtype(dt):
    global _default_float
    dt = np.dtype(dt)
    if kind(dt) != "f":
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = dt


def as_dtype(dt):
    if dt is None:
        return None
    try:
        return np.dtype(dt)
    except TypeError as e:
        raise TypeError(f"dtype must be a dtype, got {dt!r}") from e


def kind(dt) -> str:
    """NumPy's kind character, with bfloat16 counted as floating ("f")."""
    k = getattr(dt, "kind", None)
    if k is None or not isinstance(dt, np.dtype):
        dt = np.dtype(dt)
        k = dt.kind
    return "f" if k == "V" and dt == bfloat16 else k     # (the comparison only for void kinds: it is slow)


def is_floating(dt) -> "bool":
    return kind(dt) == "f"


LOW_PRECISION = (float16, bfloat16)


def opmath(dt):
    """The dtype torch computes ``dt``'s elementwise ops in: float32 for float16/bfloat16, else ``dt``."""
    return float32 if dt in LOW_PRECISION else dt


def torch_name(dt) -> str:
    """torch's short name of a dtype (``Float``, ``Long``...), for error messages."""
    dt = np.dtype(dt)
    return _TORCH_NAMES.get(dt.name, dt.name)


def category(dt) -> "int":
    """0 bool, 1 integer, 2 floating, 3 complex."""
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[kind(dt)]


def promote_types(a, b):
    """torch.promote_types: the higher category wins outright (int64 + float16 -> float16); inside a
    category the wider type (uint8 + int8 -> int16)."""
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ca, cb = category(a), category(b)
    if {ca, cb} == {2, 3}:      # complex with floating: complex wide enough for both (complex64, float64 -> 128)
        return complex128 if float64 in (a, b) or complex128 in (a, b) else complex64
    if ca != cb:
        return a if ca > cb else b
    if a in LOW_PRECISION and b in LOW_PRECISION:     # neither holds the other: torch meets in float32
        return float32
    if b == bfloat16:       # NumPy's promotion knows nothing of bfloat16 with ints; floats it does
        a, b = b, a
    if a == bfloat16:
        return b if b.itemsize > 2 else a
    return np.promote_types(a, b)


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or category(higher) >= category(lower):
        return higher
    if category(lower) == 3:   # a complex of lower rank keeps the precision of the higher-ranked floats (torch)
        if category(higher) == 2:
            return complex128 if higher == float64 else complex64
        return complex128 if _default_float == float64 else complex64
    return lower


def scalar_dtype(x):
    """The dtype torch gives a Python scalar in promotion (bool, int64, default float, complex128)."""
    if isinstance(x, (builtins.bool, np.bool_)):
        return bool
    if isinstance(x, numbers.Integral):
        return int64
    if isinstance(x, numbers.Real):
        return _default_float
    return np.dtype("complex128") if _default_float == float64 else np.dtype("complex64")


def result_type(*operands):
    """torch's result type: dimensioned tensors outrank 0-d tensors, which outrank Python scalars; a lower
    rank only matters when it brings a higher category (float32 tensor * float64 0-d tensor -> float32,
    int tensor * 2.5 -> default float). Operands are arrays (or objects with ``_data``) or Python numbers."""
    dim = zero = wrapped = None
    for o in operands:
        o = getattr(o, "_data", o)
        if o is None:
            continue
        dt = getattr(o, "dtype", None)
        if dt is None or isinstance(o, np.generic):
            d = scalar_dtype(o.item() if isinstance(o, np.generic) else o)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
        elif o.ndim:
            dim = dt if dim is None else promote_types(dim, dt)
        else:
            zero = dt if zero is None else promote_types(zero, dt)
    return _combine(dim, _combine(zero, wrapped))


class finfo:  # noqa: N801  torch's name
    """``torch.finfo``: the limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):  # noqa: A002  torch's argument name
        dt = get_default_dtype() if type is None else np.dtype(type)
        if not is_floating(dt):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = ml_dtypes.finfo(dt)
        self.bits = builtins.int(info.bits)
        self.eps, self.max, self.min = builtins.float(info.eps), builtins.float(info.max), builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = builtins.float(10.0 ** -builtins.int(info.precision))
        self.dtype = dt.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801
    """``torch.iinfo``: the limits of an integer dtype."""

    def __init__(self, type):  # noqa: A002
        dt = np.dtype(type)
        if dt == bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if kind(dt) not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                            "'torch.iinfo'")
        info = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = builtins.int(info.bits), builtins.int(info.max), builtins.int(info.min), dt.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
