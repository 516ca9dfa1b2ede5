"""Matrix products: matmul/@, mm, bmm, dot, outer, with batch broadcasting."""
from __future__ import annotations

from .. import backend, dtypes
from ..tensor import Tensor
from .basic import check_same_device, needs, record, register
from .complex_ops import conjugated


@register("matmul", "__matmul__")
def matmul(a, b):
    check_same_device(a, b)
    A, B = a._data, b._data
    if A.ndim == 0 or B.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{A.ndim}D and {B.ndim}D")
    if A.shape[-1] != B.shape[0 if B.ndim == 1 else -2]:
        sa = "x".join(map(str, A.shape if A.ndim > 1 else (1,) + A.shape))
        sb = "x".join(map(str, B.shape if B.ndim > 1 else B.shape + (1,)))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
    if A.dtype != B.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {dtypes.torch_name(A.dtype).lower()}"
                           f" != {dtypes.torch_name(B.dtype).lower()}")
    xp = backend.array_module(A)
    try:
        out = xp.matmul(A, B)
    except ValueError:
        raise RuntimeError(f"The size of tensor a must match the size of tensor b at a non-singleton batch "
                           f"dimension: matmul of shapes {list(A.shape)} and {list(B.shape)}") from None
    if out.dtype != A.dtype:    # NumPy's bfloat16 GEMM accumulates in float32 and returns it; torch rounds back
        out = out.astype(A.dtype)
    na, nb = needs((a, b))

    a_shape, b_shape = A.shape, B.shape
    a2 = (1,) + a_shape if A.ndim == 1 else a_shape
    b2 = b_shape + (1,) if B.ndim == 1 else b_shape

    def rule(o, g, b_, a_):
        # vectors as 1-row / 1-column matrices; the batch dims a broadcast added are summed back
        g2 = o.reshape(g, g.shape + (1,)) if len(b_shape) == 1 else g
        if len(a_shape) == 1:
            g2 = o.reshape(g2, g2.shape[:-1] + (1,) + g2.shape[-1:])
        ga = gb = None
        if na:
            B2 = o.reshape(b_, b2) if len(b_shape) == 1 else b_
            ga = o.matmul(g2, o.swapaxes(B2, -1, -2))
            ga = o.reshape(o.sum_to(ga, a2), a_shape)
        if nb:
            A2 = o.reshape(a_, a2) if len(a_shape) == 1 else a_
            if len(b2) == 2 and len(a2) > 2:  # a matrix shared by a batch: one 2-D GEMM, contiguous result
                k = a2[-1]
                gb = o.reshape(o.matmul(o.swapaxes(o.reshape(A2, (-1, k)), 0, 1), o.reshape(g2, (-1, g2.shape[-1]))),
                               b_shape)
            else:
                gb = o.matmul(o.swapaxes(A2, -1, -2), g2)
                gb = o.reshape(o.sum_to(gb, b2), b_shape)
        return ga, gb

    if out.dtype.kind == "c":    # the products' adjoints take conjugate transposes: g @ b^H, a^H @ g
        rule = conjugated(rule)
    return record(out, (a, b), rule, "MatMul", saved=(b if na else None, a if nb else None))


Tensor.__rmatmul__ = lambda self, o: matmul(o, self)
@register("mm")
def mm(a, b):
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(a, b)


@register("bmm")
def bmm(a, b):
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
                           f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    return matmul(a, b)


@register("mv")
def mv(a, b):
    if a.ndim != 2 or b.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {b.ndim}")
    return matmul(a, b)


@register("dot")
def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
                           "have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
                           "respectively")
    return matmul(a, b)


@register("outer")
def outer(a, b):
    return matmul(a.reshape(-1, 1), b.reshape(1, -1))
