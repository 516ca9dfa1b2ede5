"""``torch.nn.functional``'s margin and embedding losses (margin ranking, hinge embedding, cosine embedding,
triplet margin) and ``embedding_bag``, written as torch decomposes them, from differentiable ops."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops import elementwise as _ew
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops.nn_norm import embedding as _embedding
from ..ops.scatter import index_add as _index_add
from ..tensor import Tensor
from ._reduction import apply_reduction as _reduce, legacy_reduction as _legacy
from .functional_distance import pairwise_distance


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _legacy(size_average, reduce, reduction)
    if not (input1.ndim == input2.ndim == target.ndim):
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, target: "
                           f"{list(target.shape)} ")
    return _reduce(_ew.clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1 (summed where neither)."""
    reduction = _legacy(size_average, reduce, reduction)
    _ew._check_broadcast([target._data, input._data])
    zero = input.new_zeros(())
    margin_part = _ew.where(target != 1, _ew.clamp_min(margin - input, 0), zero)
    self_part = _ew.where(target != -1, input, zero)
    return _reduce(margin_part + self_part, reduction)


_EPS = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1."""
    reduction = _legacy(size_average, reduce, reduction)
    nd = input1.ndim
    if nd != input2.ndim:
        raise RuntimeError(f"cosine_embedding_loss(): input1 and input2 should have the same number of dimensions, "
                           f"but got {nd} and {input2.ndim}")
    if target.ndim != nd - 1:
        raise RuntimeError(f"cosine_embedding_loss(): expected target to be a {nd - 1}D tensor, but got a "
                           f"{target.ndim}D tensor" if nd < 3 else
                           f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    prod = _red.sum(input1 * input2, -1)
    m1 = _red.sum(input1 * input1, -1) + _EPS
    m2 = _red.sum(input2 * input2, -1) + _EPS
    cos = prod / _ew.sqrt(m1 * m2)
    zero = cos.new_zeros(())
    pos = _ew.where(target == 1, 1 - cos, zero)
    neg = _ew.where(target == -1, _ew.clamp_min(cos - margin, 0), zero)
    return _reduce(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``pairwise_distance``; ``swap``: ``d(a, n)`` replaced by
    ``d(p, n)`` where that is smaller."""
    reduction = _legacy(size_average, reduce, reduction)
    a, po, ne = anchor.ndim, positive.ndim, negative.ndim
    if not (a == po == ne):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {po}D, and negative {ne}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ew.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_ew.clamp_min(margin + d_pos - d_neg, 0), reduction)


# ---- embedding_bag ----------------------------------------------------------------------------------------
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,  # noqa: A002
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings: the rows of a 2-D ``input`` (fixed-length bags), or the
    stretches of a 1-D ``input`` starting at ``offsets``. ``padding_idx`` entries are left out of their bag
    (and of a mean's count); an empty bag gives zeros."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if scale_grad_by_freq:
        # torch 2.13's CPU kernel scales a row's gradient by the count of another index (an index seen once
        # next to one seen three times gets 1/3): neither copying that nor silently differing is right
        raise NotImplementedError("embedding_bag: scale_grad_by_freq=True is not supported (torch's CPU gradient "
                                  "for it does not follow the documented per-index frequencies)")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  "on GitHub.")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({list(input.shape)})")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        B, L = input.shape
        starts = np.arange(B) * L
        flat = _shape.reshape(input, (-1,))
        psw = None if per_sample_weights is None else _shape.reshape(per_sample_weights, (-1,))
        n_total = B * L
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = np.asarray(backend.to_device(offsets._data, "cpu") if offsets.device.type != "cpu"
                            else offsets._data).astype(np.int64)
        if starts.size and starts[0] != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {int(starts[0])}")
        flat, psw, n_total = input, per_sample_weights, input.shape[0]
        if include_last_offset:
            if starts.size and starts[-1] > n_total:
                raise RuntimeError("Expected i < index_size to be true, but got false.")
            starts = starts[:-1]
        if (np.diff(starts) < 0).any() or (starts.size and starts[-1] > n_total):
            raise RuntimeError("Expected i < index_size to be true, but got false.")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    I = np.asarray(backend.to_device(flat._data, "cpu") if flat.device.type != "cpu" else flat._data)
    if I.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {flat.dtype} instead (while checking arguments for embedding_bag)")
    if I.size and (I.min() < 0 or I.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    B = starts.size
    ends = np.append(starts[1:], n_total).astype(np.int64)
    bag_of = np.repeat(np.arange(B), ends - starts)       # the bag each index belongs to
    keep = np.ones(n_total, bool) if padding_idx is None else I != (padding_idx % weight.shape[0])
    rows = _embedding(flat, weight, None, max_norm, norm_type)
    xp = backend.array_module(rows._data)
    pos = np.flatnonzero(keep)
    if mode == "max":
        return _bag_max(rows, pos, bag_of, B, weight)
    rows = _shape._getitem(rows, (xp.asarray(pos),))
    if psw is not None:
        rows = rows * _shape.unsqueeze(_shape._getitem(psw, (xp.asarray(pos),)), -1)
    bags = _index_add(weight.new_zeros((B, weight.shape[1])), 0, Tensor._wrap(xp.asarray(bag_of[pos])), rows)
    if mode == "mean":
        counts = np.bincount(bag_of[pos], minlength=B).astype(np.float64)
        scale = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0).astype(weight.dtype)[:, None]
        bags = bags * Tensor._wrap(xp.asarray(scale))
    return bags


def _bag_max(rows, pos, bag_of, B, weight):
    """Each bag's elementwise maximum over its (kept) rows; an empty bag is zeros."""
    xp = backend.array_module(rows._data)
    pieces = []
    for b in range(B):
        members = pos[bag_of[pos] == b]
        if members.size:
            pieces.append(_red.max(_shape._getitem(rows, (xp.asarray(members),)), 0)[0])
        else:
            pieces.append(weight.new_zeros((weight.shape[1],)))
    return _shape.stack(pieces, 0) if pieces else weight.new_zeros((0, weight.shape[1]))
