"""``linear``: ``input @ weight.T + bias`` as one op, one 2-D GEMM on the flattened batch.

Any number of leading dims is flattened into the GEMM's rows (a view for contiguous inputs), so a
transformer's (B, T, D) activations cost one GEMM, not a batched matmul and an unbroadcast. The weight
gradient ``g.T @ x`` is produced directly in the weight's (out_features, in_features) row-major layout, so
an optimizer reading ``weight.grad`` needs no transposing copy.
"""
from __future__ import annotations

import math

from .. import backend, dtypes
from .basic import check_same_device, needs, record


def _name(dt):
    return dtypes.torch_name(dt)


def linear(input, weight, bias=None):  # noqa: A002
    """``input`` (*, in), ``weight`` (out, in), ``bias`` (out,) or None; returns (*, out)."""
    check_same_device(input, weight, bias)
    X, W = input._data, weight._data
    if X.dtype != W.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_name(X.dtype).lower()} != "
                           f"{_name(W.dtype).lower()}")
    if bias is not None and bias._data.dtype != X.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_name(bias._data.dtype)} and "
                           f"{_name(X.dtype)}")
    xp = backend.array_module(X)
    n_out, n_in = W.shape
    lead = X.shape[:-1]
    rows = math.prod(lead)
    X2 = X.reshape(rows, n_in)
    if X.dtype == dtypes.float16:     # float32 GEMM and bias, rounded once (NumPy's float16 GEMM rounds first)
        out = xp.matmul(X2.astype(dtypes.float32), W.T.astype(dtypes.float32))
    else:
        out = xp.matmul(X2, W.T)
    if bias is not None:
        out += bias._data
    out = out.reshape(lead + (n_out,))
    if out.dtype != X.dtype:    # NumPy's bfloat16 GEMM accumulates in float32 and returns it; torch rounds back
        out = out.astype(X.dtype)
    nx, nw, nb = needs((input, weight, bias))

    def rule(o, g, w, x):
        g2 = o.reshape(g, (rows, n_out))
        gx = gw = gb = None
        if nx:
            gx = o.reshape(o.matmul(g2, w), X.shape)
        if nw:
            gw = o.matmul(o.swapaxes(g2, 0, 1), o.reshape(x, (rows, n_in)))
        if nb:
            gb = o.sum(g2, 0)
        return gx, gw, gb

    # torch saves the input for the weight's gradient and the weight for the input's; never the bias
    return record(out, (input, weight, bias), rule, "Addmm",
                  saved=(weight if nx else None, input if nw else None))


__all__ = ["linear"]
