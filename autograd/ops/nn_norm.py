"""Normalisation, embedding and dropout ops with their own backward.

The heavy backwards (batch and layer norm, the embedding scatter) are vocabulary ops (see
:mod:`autograd.ops.vocabulary`): on arrays the fused first-order code reusing the forward's statistics, on
Tensors the same formula as recorded ops, so ``create_graph`` differentiates it again."""
from __future__ import annotations

import ml_dtypes
import numpy as np

from .. import backend, grad_mode
from ..graph.nodes import SparseGrad
from ..tensor import Tensor
from . import _numba_kernels as _nk
from . import elementwise as ew
from .basic import check_same_device, needs, record, record_once_differentiable
from .nn_norm_low import batch_norm_backward_low, batch_norm_low, layer_norm_backward_low, layer_norm_low, low


def _channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


_LOW = (np.dtype("float16"), np.dtype(ml_dtypes.bfloat16))


def _opmath_input(X):
    """A float16/bfloat16 input the 16-bit kernels do not take (off NumPy) is normalised in float32 and the
    result rounded once to its dtype, as torch's kernels do (a model's float32 weight and bias allowed)."""
    return (X.astype(np.float32), X.dtype) if X.dtype in _LOW else (X, None)


def _same_dtype(X, *params):
    """Whether the weight and bias (those given) share the 16-bit input's dtype: the 16-bit kernels are
    written for that case; a model's float32 weight with a 16-bit input takes the float32 path."""
    return all(t is None or t._data.dtype == X.dtype for t in params)


def _opmath_saved(g, x):
    """The Tensor backward's operands in float32 for a 16-bit input (the engine rounds the gradients back)."""
    return (g.float(), x.float()) if x.dtype in _LOW else (g, x)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Batch normalisation over all dims but dim 1.

    Training: normalise with the batch's biased variance and, when running stats are given, update them in
    place with ``momentum`` (running_var gets the unbiased batch variance, as torch). Eval: use the running
    statistics.
    """
    check_same_device(input, weight, bias, running_mean, running_var)
    X = input._data
    xp = backend.array_module(X)
    if X.ndim < 2:
        raise ValueError(f"batch_norm expects an input with at least 2 dims, got {X.ndim}D")
    C = X.shape[1]
    axes = (0,) + tuple(range(2, X.ndim))
    M = X.size // max(C, 1)
    cs = _channel_shape(X.ndim)
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"running_mean should contain {C} elements not {t.numel()}"
                               if name.startswith("running") else
                               f"{name} should contain {C} elements not {t.numel()}")
    use_batch = training or running_mean is None or running_var is None
    if low(X) and xp is np and _same_dtype(X, weight, bias):
        if training and M == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{list(X.shape)}")
        with grad_mode.no_grad():
            out, stats = batch_norm_low(X, weight, bias, running_mean, running_var, use_batch, training, momentum,
                                        eps)
        key = _BNKey(needs((input, weight, bias)), use_batch, axes, cs, M, None, stats[1],
                     None if use_batch else running_mean._data.astype(X.dtype), eps, stats)
        return record(out, (input, weight, bias), lambda o, g, x, w: o.batch_norm_backward(g, x, w, key),
                      "NativeBatchNorm", saved=(input, weight))
    X, low_dtype = _opmath_input(X)
    if use_batch:
        if training and M == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{list(X.shape)}")
        mean = X.mean(axis=axes)
        xc = X - mean.reshape(cs)
        var = (xc * xc).mean(axis=axes)
        if training and running_mean is not None:
            with grad_mode.no_grad():
                m = float(momentum)
                rm, rv = running_mean._data, running_var._data
                unbiased = var * (M / (M - 1)) if M > 1 else var
                rm *= 1 - m
                rm += m * mean.astype(rm.dtype, copy=False)
                rv *= 1 - m
                rv += m * unbiased.astype(rv.dtype, copy=False)
    else:
        mean = running_mean._data.astype(X.dtype, copy=False)
        var = running_var._data.astype(X.dtype, copy=False)
        xc = X - mean.reshape(cs)
    invstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc * invstd.reshape(cs)
    out = xhat
    if weight is not None:
        out = out * weight._data.reshape(cs)
    if bias is not None:
        out = out + bias._data.reshape(cs)
    if out is X:
        out = X.copy()
    if low_dtype is not None:
        out = out.astype(low_dtype)
    key = _BNKey(needs((input, weight, bias)), use_batch, axes, cs, M, xhat, invstd,
                 None if use_batch else mean, eps, None)

    def rule(o, g, x, w):
        return o.batch_norm_backward(g, x, w, key)

    # torch saves the input and weight (and the statistics), never the bias
    return record(out, (input, weight, bias), rule, "NativeBatchNorm", saved=(input, weight))


class _BNKey(tuple):
    """What batch norm's backward reads besides ``g``, ``x`` and ``weight``: which gradients are needed, the
    mode, the reduced axes and channel shape, the count per channel, the forward's ``xhat`` and ``invstd``
    (the first-order backward reuses them), the running mean in eval mode, ``eps``, and on float16/bfloat16
    the saved ``(mean, invstd)`` the 16-bit backward reads."""

    __slots__ = ()

    def __new__(cls, *fields):
        return super().__new__(cls, fields)


def batch_norm_backward_array(g, x, w, key):
    """Batch norm's gradients on arrays, from the statistics the forward computed."""
    if key[9] is not None:
        return batch_norm_backward_low(g, x, w, key[1], key[0], key[9])
    (nx, nw, nb), use_batch, axes, cs, M, xhat, invstd, _, _, _ = key
    g = g.astype(np.float32) if g.dtype in _LOW else g
    gx = gw = gb = None
    gsum = g.sum(axis=axes)
    gxhat_sum = (g * xhat).sum(axis=axes)
    if nw:
        gw = gxhat_sum
    if nb:
        gb = gsum
    if nx:
        scale = invstd if w is None else invstd * w
        if use_batch:
            gx = (g - (gsum / M).reshape(cs) - xhat * (gxhat_sum / M).reshape(cs)) * scale.reshape(cs)
        else:
            gx = g * scale.reshape(cs)
    return gx, gw, gb


def batch_norm_backward_tensor(g, x, w, key):
    """The same gradients as recorded Tensor ops: the batch statistics are recomputed from ``x`` so that
    their dependence on it is differentiated too (eval mode's running statistics are constants)."""
    (nx, nw, nb), use_batch, axes, cs, M, _, invstd_c, mean_c, eps, _ = key
    g, x = _opmath_saved(g, x)
    if use_batch:
        mean = x.mean(axes, keepdim=True)
        xc = x - mean
        invstd = 1.0 / ew.sqrt((xc * xc).mean(axes, keepdim=True) + eps)
    else:
        xc = x - mean_c.reshape(cs)
        invstd = Tensor._wrap(invstd_c.reshape(cs))
    xhat = xc * invstd
    gsum = g.sum(axes, keepdim=True)
    gxhat_sum = (g * xhat).sum(axes, keepdim=True)
    gx = gw = gb = None
    if nw:
        gw = gxhat_sum.reshape(-1)
    if nb:
        gb = gsum.reshape(-1)
    if nx:
        scale = invstd if w is None else invstd * w.reshape(cs)
        gx = (g - gsum / M - xhat * (gxhat_sum / M)) * scale if use_batch else g * scale
    return gx, gw, gb


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    check_same_device(input, weight, bias)
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    ns = tuple(int(s) for s in normalized_shape)
    X = input._data
    xp = backend.array_module(X)
    k = len(ns)
    if k == 0 or X.ndim < k or tuple(X.shape[-k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape [*, "
                           f"{', '.join(map(str, ns))}], but got input of size{list(X.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                               f"shape {list(t.shape)} and normalized_shape = {list(ns)}")
    axes = tuple(range(X.ndim - k, X.ndim))
    D = 1
    for s in ns:
        D *= s
    if low(X) and xp is np and _same_dtype(X, weight, bias):
        out, stats = layer_norm_low(X, D, weight, bias, eps)
        key = (needs((input, weight, bias)), axes, tuple(range(X.ndim - k)), None, None, eps, stats)
        return record(out, (input, weight, bias), lambda o, g, x, w, _b: o.layer_norm_backward(g, x, w, key),
                      "NativeLayerNorm", saved=(input, weight, bias))
    X, low_dtype = _opmath_input(X)
    mean = X.mean(axis=axes, keepdims=True)
    xc = X - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    invstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc * invstd
    out = xhat
    if weight is not None:
        out = out * weight._data
    if bias is not None:
        out = out + bias._data
    if low_dtype is not None:
        out = out.astype(low_dtype)
    key = (needs((input, weight, bias)), axes, tuple(range(X.ndim - k)), xhat, invstd, eps, None)

    def rule(o, g, x, w, _b):
        return o.layer_norm_backward(g, x, w, key)

    return record(out, (input, weight, bias), rule, "NativeLayerNorm", saved=(input, weight, bias))


def layer_norm_backward_array(g, x, w, key):
    """Layer norm's gradients on arrays, from the forward's ``xhat`` and ``invstd``."""
    if key[6] is not None:
        return layer_norm_backward_low(g, x, w, key)
    (nx, nw, nb), axes, lead, xhat, invstd, _, _ = key
    g = g.astype(np.float32) if g.dtype in _LOW else g
    gx = gw = gb = None
    if nw:
        gw = (g * xhat).sum(axis=lead) if lead else g * xhat
    if nb:
        gb = g.sum(axis=lead) if lead else g.copy()
    if nx:
        gh = g * w if w is not None else g
        gx = invstd * (gh - gh.mean(axis=axes, keepdims=True)
                       - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
    return gx, gw, gb


def layer_norm_backward_tensor(g, x, w, key):
    """The same gradients as recorded Tensor ops, the statistics recomputed from ``x`` (differentiated)."""
    (nx, nw, nb), axes, lead, _, _, eps, _ = key
    g, x = _opmath_saved(g, x)
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    invstd = 1.0 / ew.sqrt((xc * xc).mean(axes, keepdim=True) + eps)
    xhat = xc * invstd
    gx = gw = gb = None
    if nw:
        gw = (g * xhat).sum(lead) if lead else g * xhat
    if nb:
        gb = g.sum(lead) if lead else g
    if nx:
        gh = g * w if w is not None else g
        gx = invstd * (gh - gh.mean(axes, keepdim=True) - xhat * (gh * xhat).mean(axes, keepdim=True))
    return gx, gw, gb


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Row lookup ``weight[input]``; the gradient is dense, or a COO :class:`SparseGrad` when ``sparse``."""
    check_same_device(input, weight)
    I = input._data if isinstance(input, Tensor) else np.asarray(input)
    Wt = weight._data
    xp = backend.array_module(Wt)
    if I.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got {I.dtype} instead (while checking arguments for "
                           f"embedding)")
    num, dim = Wt.shape
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += num
        if not 0 <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
    if I.size and bool(((I < 0) | (I >= num)).any()):     # one host sync on a GPU (CuPy would wrap around)
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows(xp, Wt, I, max_norm, norm_type)
    out = xp.take(Wt, I, axis=0)  # cheaper than fancy indexing; same result
    flat = I.reshape(-1)
    if sparse:
        # a SparseGrad (COO rows) is a first-order object: nothing records it, so its gradient cannot be
        # differentiated again (torch's sparse embedding backward has no double backward either)
        def bw(g):
            gf = g.reshape(-1, dim)
            idx = flat
            if scale_grad_by_freq:
                counts = xp.bincount(idx, minlength=num)
                gf = gf / counts[idx].reshape(-1, 1).astype(gf.dtype)
            if padding_idx is not None:
                keep = idx != padding_idx
                idx, gf = idx[keep], gf[keep]
            return (SparseGrad(idx.reshape(1, -1).astype("int64"), xp.ascontiguousarray(gf), Wt.shape),)

        return record_once_differentiable(out, (weight,), bw, "Embedding", saved=())
    key = (Wt.shape, flat, padding_idx, scale_grad_by_freq)
    return record(out, (weight,), lambda o, g: (o.embedding_backward(g, key),), "Embedding", saved=())


def embedding_backward_array(g, key):
    """The dense weight gradient of a lookup: rows of ``g`` added up per index (padding row zero)."""
    shape_, flat, padding_idx, scale_grad_by_freq = key
    xp = backend.array_module(g)
    gf = g.reshape(-1, shape_[1])
    if scale_grad_by_freq:
        counts = xp.bincount(flat, minlength=shape_[0])
        gf = gf / counts[flat].reshape(-1, 1).astype(gf.dtype)
    gw = xp.zeros(shape_, dtype=g.dtype)
    _scatter_add_rows(xp, gw, flat, gf)
    if padding_idx is not None:
        gw[padding_idx] = 0
    return gw


def embedding_backward_tensor(g, key):
    """The same, recorded: its own gradient (in ``g``) is the row lookup of the incoming gradient with the
    padding row zero, as torch's ``embedding_dense_double_backward``, which leaves the frequency scale out:
    the scale is a choice of first-order update, not part of a derivative, and applying it again would
    count it twice along the forward path (this way the result matches finite differences)."""
    shape_, flat, padding_idx, _ = key
    keep = None if padding_idx is None else (flat != padding_idx)[:, None]

    def rule(o, gg):
        rows = o.getitem(gg, flat)
        return (o.reshape(rows if keep is None else rows * keep, g.shape),)

    return record(embedding_backward_array(g._data, key), (g,), rule, "EmbeddingBackward", saved=())


def _scatter_add_rows(xp, out, idx, rows):
    # (Numba has no float16: 16-bit rows go through np.add.at, which adds in index order with each sum rounded
    # to the dtype, as torch's index_add)
    if _nk.enabled(xp) and out.dtype == rows.dtype and out.dtype.kind == "f" and out.dtype.itemsize > 2:
        _nk.scatter_add_rows(out, idx.astype(np.int64, copy=False), np.ascontiguousarray(rows))
    elif xp is np:
        np.add.at(out, idx, rows)
    else:  # pragma: no cover - GPU only
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(out, idx, rows)


def _renorm_rows(xp, Wt, I, max_norm, norm_type):
    """Rescale, in place and without gradient, the looked-up rows whose norm exceeds ``max_norm``."""
    rows = xp.unique(I.reshape(-1))
    sub = Wt[rows]
    norms = (xp.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(Wt.dtype)
    Wt[rows] = sub * scale[:, None]


def dropout(input, p=0.5, training=True, inplace=False, generator=None):  # noqa: A002
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _masked(input, _bernoulli_keep(input, input.shape, p, generator), p, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):  # noqa: A002
    """Zero whole channels (dims 2.. share one draw)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    shp = input.shape[:-2] + (1, 1) if input.ndim >= 3 else input.shape
    return _masked(input, _bernoulli_keep(input, shp, p, generator), p, inplace)


def _bernoulli_keep(x, shape, p, generator):
    from ..creation import random_array

    return random_array("random", shape, np.float64, x.device, generator) >= p   # drawn on x's device


def _masked(input, keep, p, inplace):  # noqa: A002
    X = input._data
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(X.dtype) * X.dtype.type(scale)
    res = record(X * mask, (input,), lambda o, g: (g * mask,), "Dropout", saved=())   # the mask: a constant
    if inplace:
        from .basic import inplace as _inplace

        return _inplace(input, res)
    return res


__all__ = ["batch_norm", "layer_norm", "embedding", "dropout", "dropout2d", "batch_norm_backward_array",
           "batch_norm_backward_tensor", "layer_norm_backward_array", "layer_norm_backward_tensor",
           "embedding_backward_array", "embedding_backward_tensor"]
