"""``linear``: ``input @ weight.T + bias`` as one op, one 2-D GEMM on the flattened batch.

Any number of leading dims is flattened into the GEMM's rows (a view for contiguous inputs), so a
transformer's (B, T, D) activations cost one GEMM, not a batched matmul and an unbroadcast. The weight
gradient ``g.T @ x`` is produced directly in the weight's (out_features, in_features) row-major layout, so
an optimizer reading ``weight.grad`` needs no transposing copy.
"""
from __future__ import annotations

import inspect
import math

from .. import backend, dtypes
from .basic import check_same_device, needs, record, record_once_differentiable

# The autograd-semantics work adds ``record_once_differentiable(..., saved=)`` (the tensors whose versions backward checks); pass
# torch's saved set where it exists, so that an in-place change of a bias (never saved) is allowed as in torch.
_HAS_SAVED = "saved" in inspect.signature(record).parameters


def record_saving(out, parents, backward_fn, name, saved):
    if _HAS_SAVED:
        return record_once_differentiable(out, parents, backward_fn, name, saved=saved)
    return record_once_differentiable(out, parents, backward_fn, name)


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
    out = xp.matmul(X2, W.T)
    if bias is not None:
        out += bias._data
    out = out.reshape(lead + (n_out,))
    nx, nw, nb = needs((input, weight, bias))

    def bw(g):
        g2 = g.reshape(rows, n_out)
        gx = gw = gb = None
        if nx:
            gx = xp.matmul(g2, W).reshape(X.shape)
        if nw:
            gw = xp.matmul(g2.T, X2)
        if nb:
            gb = g2.sum(axis=0)
        return gx, gw, gb

    # torch saves the input for the weight's gradient and the weight for the input's; never the bias
    return record_saving(out, (input, weight, bias), bw, "Addmm", (weight,) * nx + (input,) * nw)


__all__ = ["linear"]
