"""Matrix products: matmul/@, mm, bmm, dot, outer, with batch broadcasting."""
from __future__ import annotations

from .. import backend, dtypes
from ..tensor import Tensor
from .basic import check_same_device, needs, record, record_once_differentiable, register, unbroadcast


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
    na, nb = needs((a, b))

    def bw(g):
        A2 = A[None, :] if A.ndim == 1 else A
        B2 = B[:, None] if B.ndim == 1 else B
        g2 = xp.expand_dims(g, -1) if B.ndim == 1 else g
        if A.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        ga = gb = None
        if na:
            ga = xp.matmul(g2, xp.swapaxes(B2, -1, -2))
            ga = unbroadcast(ga, A2.shape).reshape(A.shape)
        if nb and B2.ndim == 2 and A2.ndim > 2:  # a matrix shared by a batch: one 2-D GEMM, contiguous result
            k = A2.shape[-1]
            gb = xp.matmul(A2.reshape(-1, k).T, g2.reshape(-1, g2.shape[-1])).reshape(B.shape)
        elif nb:
            gb = xp.matmul(xp.swapaxes(A2, -1, -2), g2)
            gb = unbroadcast(gb, B2.shape).reshape(B.shape)
        return ga, gb

    return record_once_differentiable(out, (a, b), bw, "MatMul", saved=(b,) * na + (a,) * nb)


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
