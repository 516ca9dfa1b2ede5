"""The rest of torch.nn's losses, functional forms and modules: multi-margin, multilabel margin, triplet margin
with a distance function, Poisson and Gaussian NLL, soft margin, multilabel soft margin; and ``F.pdist``.

Each is composed from differentiable ops (gather, where, log1p, logsigmoid, norms), so gradients of any
order come from those ops' rules. Hinge terms are selected with ``where`` on a strict ``z > 0`` mask, as
torch's kernels test it, so a term exactly at its hinge gets no gradient (a clamp would pass one)."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, dtypes
from ..ops import elementwise as _ew
from ..ops.basic import record
from ..tensor import Tensor
from . import functional as F
from ._reduction import apply_reduction, legacy_reduction
from .functional_distance import PairwiseDistance
from .loss import _Loss, _WeightedLoss
from ..ops.nn_act import check_reduction

FUNCTIONAL = ("multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss", "poisson_nll_loss",
              "gaussian_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "pdist")
MODULES = ("MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss", "PoissonNLLLoss",
           "GaussianNLLLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss")


def _host(t):
    X = t._data
    return np.asarray(backend.to_device(X, "cpu") if t.device.type != "cpu" else X)


def _check_vector_or_matrix(input, allow_scalar):  # noqa: A002
    ok = ((input.ndim == 2 and input.shape[1] != 0) or (input.ndim == 1 and input.shape[0] != 0)
          or (allow_scalar and input.ndim == 0))
    if not ok:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")


def _check_long(target):
    if target.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {dtypes.torch_name(target.dtype)}")


def _where(mask, value):
    """``value`` where ``mask`` (a raw boolean array), 0 elsewhere: no gradient reaches the masked-out part."""
    return _ew.where(Tensor._wrap(mask), value, 0.0)


# ---- margin losses over classes ---------------------------------------------------------------------------
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,  # noqa: A002
                      reduction="mean"):
    """Per sample: ``sum_{i != y} max(0, margin - x[y] + x[i])^p * w[y] / C``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    check_reduction(reduction)
    _check_vector_or_matrix(input, allow_scalar=False)
    _check_long(target)
    n = 1 if input.ndim == 1 else input.shape[0]
    C = input.shape[-1]
    if target.ndim > 1 or target.numel() != n:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size {[n] if input.ndim == 2 else []}, but got "
                           f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != C:
        raise RuntimeError(f"inconsistent weight size, expected {C} but got {list(weight.shape)}")
    T = _host(target).reshape(-1)
    if T.size and (T.min() < 0 or T.max() >= C):
        raise RuntimeError("target out of range")
    xp = backend.array_module(input._data)
    x = input.reshape((n, C))
    idx = Tensor._wrap(xp.asarray(T.reshape(n, 1)))
    z = margin - x.gather(1, idx) + x
    active = (z._data > 0) & (xp.arange(C)[None, :] != xp.asarray(T)[:, None])
    h = z if p == 1 else z * z
    if weight is not None:
        h = h * weight.gather(0, idx.reshape(-1)).unsqueeze(1)
    per = _where(active, h).sum(1) / C
    if reduction == "none":
        return per.reshape(tuple(target.shape))
    return apply_reduction(per, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """Per sample: ``sum_{j target, i not target} max(0, 1 - (x[j] - x[i])) / C``; a row's targets are its
    entries before the first -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    _check_vector_or_matrix(input, allow_scalar=True)
    _check_long(target)
    if target.shape != input.shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    n = input.shape[0] if input.ndim == 2 else 1
    C = input.shape[-1] if input.ndim else 1
    T = _host(target).reshape(n, C)
    if T.size and (T.min() < -1 or T.max() >= C):
        raise RuntimeError("argument #2 'target' is out of range")
    listed = np.cumprod(T >= 0, axis=1).astype(bool)            # entries before the first -1
    is_target = np.zeros((n, C), bool)
    rows = np.repeat(np.arange(n), C).reshape(n, C)
    is_target[rows[listed], T[listed]] = True
    xp = backend.array_module(input._data)
    x = input.reshape((n, C))
    xj = x.gather(1, Tensor._wrap(xp.asarray(np.where(listed, T, 0))))
    z = 1 - xj.unsqueeze(2) + x.unsqueeze(1)                     # (n, target slot j, class i)
    pairs = xp.asarray(listed[:, :, None] & ~is_target[:, None, :])
    per = _where(pairs & (z._data > 0), z).sum((1, 2)) / C
    if reduction == "none":
        return per if input.ndim == 2 else per.reshape(())
    return apply_reduction(per, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """``max(0, d(a, p) - d(a, n) + margin)`` for any distance ``d`` (default ``pairwise_distance``)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, po, ne = anchor.ndim, positive.ndim, negative.ndim
    if not (a == po == ne):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {po}D, and negative {ne}D inputs")
    distance = F.pairwise_distance if distance_function is None else distance_function
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:   # the harder negative: the positive may be nearer to it than the anchor is
        dist_neg = _ew.minimum(dist_neg, distance(positive, negative))
    loss = _ew.clamp_min(margin + dist_pos - dist_neg, 0)
    return apply_reduction(loss, reduction)


# ---- likelihood losses ----------------------------------------------------------------------------------------
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,  # noqa: A002
                     reduce=None, reduction="mean"):
    """``exp(input) - target * input`` (``log_input``) or ``input - target * log(input + eps)``; ``full`` adds
    Stirling's ``target log target - target + log(2 pi target) / 2`` where target > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        above = target._data > 1
        # evaluated on 2 where target <= 1 (0 there), so log(0) never makes a NaN in value or gradient
        safe = _ew.where(Tensor._wrap(above), target, 2.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + _where(above, stirling)
    return apply_reduction(loss, reduction)


def _clamp_value_only(var, eps):
    """``var`` clamped to at least ``eps`` in value, with the gradient of ``var`` itself (torch clamps a clone
    in place under no_grad, so the clamp is invisible to autograd)."""
    V = var._data
    xp = backend.array_module(V)
    return record(xp.maximum(V, V.dtype.type(eps)).astype(V.dtype, copy=False), (var,), lambda o, g: (g,),
                  "CloneBackward0", saved=())


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """``(log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2`` (+ ``log(2 pi) / 2`` when ``full``);
    ``var`` has input's shape, or one dimension short of it, or one dimension of size 1 (homoscedastic)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * input.new_ones(tuple(input.shape))
    elif not isinstance(var, Tensor):
        raise TypeError(f"gaussian_nll_loss(): var must be a Tensor or a float, got {type(var).__name__}")
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = _clamp_value_only(var, eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return apply_reduction(loss, reduction)


# ---- logistic losses --------------------------------------------------------------------------------------------
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """``log(1 + exp(-target * input))``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    return apply_reduction((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction="mean"):
    """The binary cross-entropy of each class from logits, averaged over the classes (the last dim)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return apply_reduction(loss, reduction)


# ---- pdist --------------------------------------------------------------------------------------------------------
def pdist(input, p=2):  # noqa: A002
    """The p-norm distances between all pairs of rows i < j, in row-major order (N (N - 1) / 2 of them)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    if n <= 1:
        return input.new_zeros((0,))
    xp = backend.array_module(input._data)
    i, j = np.triu_indices(n, 1)
    diff = input[xp.asarray(i)] - input[xp.asarray(j)]
    if p == 0:   # a count of differing coordinates: recorded, as torch, with a zero gradient
        counts = diff.detach().norm(0, 1)._data
        return record(counts, (diff,), lambda o, g, d: (o.zeros_like(d),), "PdistBackward0", saved=(diff,))
    return diff.norm(p, 1)


# ---- modules -------------------------------------------------------------------------------------------------------
class MultiMarginLoss(_WeightedLoss):
    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.ndim}D "
                             f"instead")
        self.p, self.margin = p, margin

    def forward(self, input, target):  # noqa: A002
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                 reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                             f"instead")
        # torch keeps a PairwiseDistance module by default (it shows in the repr as a child)
        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                 margin=self.margin, swap=self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):  # noqa: A002
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    def forward(self, input, target):  # noqa: A002
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    def forward(self, input, target):  # noqa: A002
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)
