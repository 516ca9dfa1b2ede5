"""CTC loss (``F.ctc_loss``, ``nn.CTCLoss``) and the adaptive softmax (``nn.AdaptiveLogSoftmaxWithLoss``).

The CTC recursions and their backward live in :mod:`autograd.ops.nn_ctc`; here are torch's argument
handling, checks and reductions. The adaptive softmax is composed of differentiable ops (Linear,
log_softmax, gather), so its gradients come from theirs.
"""
from __future__ import annotations

import collections
import numbers

import numpy as np

from .. import backend
from ..ops import elementwise as _ew
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops.nn_act import check_reduction
from ..ops.nn_ctc import ctc_nll
from ..tensor import Tensor
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module
from . import functional as F  # the modules call through it: autocast wraps it there

FUNCTIONAL = ("ctc_loss",)
MODULES = ("CTCLoss", "AdaptiveLogSoftmaxWithLoss")

_WHERE = " (while checking arguments for ctc_loss_allocate_outputs)"


def _lengths(lengths, name, xp):
    """A length argument (Tensor, or a tuple/list of ints) as a 1-D int64 array on the device."""
    if isinstance(lengths, Tensor):
        data = lengths._data
        if data.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral")
        return xp.asarray(data.reshape(-1), dtype=np.int64)
    if isinstance(lengths, (tuple, list)) and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                                  for v in lengths):
        return xp.asarray(np.asarray(lengths, dtype=np.int64).reshape(-1))
    raise TypeError(f"ctc_loss(): argument '{name}' must be a tuple of ints or a Tensor, not "
                    f"{type(lengths).__name__}")


def _check_lengths(values, name, low, high=None):
    if values.size and int(values.min()) < low:
        raise RuntimeError(f"Expected {name} to have value at least {low}, but got value {int(values.min())}"
                           + _WHERE)
    if high is not None and values.size and int(values.max()) > high:
        raise RuntimeError(f"Expected {name} to have value at most {high}, but got value {int(values.max())}"
                           + _WHERE)


def _padded_targets(targets, target_lengths, N, xp):
    """The targets as an (N, S) int64 array: padded ones checked as torch checks them, concatenated ones
    split at the target lengths."""
    # CPU targets go with device log-probabilities, as torch allows
    data = xp.asarray(targets._data if isinstance(targets, Tensor) else targets)
    if data.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {data.ndim}-dimensional tensor for argument #2 "
                           f"'targets'" + _WHERE)
    data = data.astype(np.int64, copy=False)
    max_len = int(target_lengths.max()) if N else 0
    if data.ndim == 2:
        if data.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size {data.shape[0]} for "
                               f"argument #2 'targets'" + _WHERE)
        if data.shape[1] < max_len:
            raise RuntimeError(f"Expected tensor to have size at least {max_len} at dimension 1, but got size "
                               f"{data.shape[1]} for argument #2 'targets'" + _WHERE)
        return data[:, :max_len], max_len
    total = int(target_lengths.sum())
    if data.shape[0] != total:
        raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got size {data.shape[0]} for "
                           f"argument #2 'targets'" + _WHERE)
    # row n takes the run starting at the sum of the lengths before it; positions past its length read 0
    starts = xp.cumsum(target_lengths) - target_lengths
    columns = xp.arange(max_len)
    inside = columns[None, :] < target_lengths[:, None]
    index = xp.where(inside, starts[:, None] + columns[None, :], 0)
    padded = data[index] if total else xp.zeros((N, max_len), np.int64)
    return xp.where(inside, padded, 0), max_len


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``.

    ``log_probs``: (T, N, C) log-probabilities (normally a ``log_softmax``), or (T, C) for one sample;
    ``targets``: padded (N, S) or the N targets concatenated (1-D); lengths: Tensors or tuples/lists of ints.
    ``reduction="mean"`` divides each sample's loss by its target length (at least 1), then averages over the
    batch; ``zero_infinity`` replaces infinite losses (no alignment fits) and their gradients by zeros.
    Target values outside ``[0, C)`` raise an error (torch reads out of bounds there).
    """
    check_reduction(reduction)
    X = log_probs._data
    xp = backend.array_module(X)
    il = _lengths(input_lengths, "input_lengths", xp)
    tl = _lengths(target_lengths, "target_lengths", xp)
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    if lp.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor for argument #1 "
                           f"'log_probs'" + _WHERE)
    if lp.dtype not in (np.float32, np.float64):
        from ..dtypes import torch_name  # noqa: PLC0415

        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for '{torch_name(lp.dtype)}'")
    T, N, C = lp.shape
    if lp.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    if il.shape[0] != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.shape[0] != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    _check_lengths(tl, "target_lengths", 0)
    padded, max_len = _padded_targets(targets, tl, N, xp)
    _check_lengths(il, "input_lengths", 0, T)
    if max_len:
        used = xp.arange(max_len)[None, :] < tl[:, None]
        bad = used & ((padded < 0) | (padded >= C))
        if bool(bad.any()):
            raise RuntimeError(f"Target {int(padded[bad][0])} is out of bounds for {C} classes.")
    nll = ctc_nll(lp, padded, il, tl, blank, zero_infinity)
    if zero_infinity:
        nll = _ew.where(Tensor._wrap(nll._data == np.inf), Tensor._wrap(xp.zeros((), nll._data.dtype)), nll)
    if reduction == "mean":
        divisor = Tensor._wrap(xp.maximum(tl, 1).astype(nll._data.dtype))
        return _red.mean(nll / divisor)
    if reduction == "sum":
        return _red.sum(nll)
    return nll if batched else nll.squeeze(0)


class CTCLoss(Module):
    """The CTC loss as a module (see :func:`ctc_loss`)."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        self.reduction = reduction
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)


# ---- adaptive softmax ----------------------------------------------------------------------------------
_ASMoutput = collections.namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation (Grave et al. 2017), as ``torch.nn.AdaptiveLogSoftmaxWithLoss``.

    Classes are split by ``cutoffs`` into a shortlist ``[0, cutoffs[0])`` scored by the ``head`` together
    with one entry per tail cluster, and tail clusters ``[cutoffs[i], cutoffs[i + 1])``, each scored by a
    two-layer projection ``tail[i]`` (``in_features -> in_features // div_value ** (i + 1) -> cluster size``,
    no biases). A tail class's log-probability is its cluster's head log-probability plus its log-probability
    within the cluster.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        if not all(isinstance(c, numbers.Integral) for c in cutoffs):   # 3.0: torch fails building the head
            raise TypeError("empty(): argument 'size' (position 1) must be tuple of ints, but found element of "
                            "type float at pos 0")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        projections = []
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            width = self.cutoffs[i + 1] - self.cutoffs[i]
            projections.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                          Linear(hidden, width, bias=False, device=device, dtype=dtype)))
        self.tail = ModuleList(projections)

    def reset_parameters(self):
        self.head.reset_parameters()
        for to_hidden, to_classes in self.tail:
            to_hidden.reset_parameters()
            to_classes.reset_parameters()

    def forward(self, input_, target_):
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with size",
                                   input_.shape)
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with size",
                                   input_.shape)
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.ndim > 0
        x = input_ if batched else input_.unsqueeze(0)
        labels = target_._data.reshape(-1).astype(np.int64, copy=False)
        xp = backend.array_module(labels)
        rows = labels.shape[0]
        # the head entry each row reads: its own class in the shortlist, else its cluster's entry
        head_entry = labels.copy()
        output = x.new_zeros((rows,))
        covered = labels < self.shortlist_size
        covered &= labels >= 0
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            member = (labels >= low) & (labels < high)
            picked = xp.nonzero(member)[0]
            if picked.size == 0:
                continue
            covered |= member
            head_entry[picked] = self.shortlist_size + i
            index = Tensor._wrap(picked)
            within = _red.log_softmax(self.tail[i](x.index_select(0, index)), 1)
            local = within.gather(1, Tensor._wrap((labels[picked] - low)[:, None])).squeeze(1)
            output = output.index_copy(0, index, local)
        if not bool(covered.all()):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{int(labels.min())}, {int(labels.max())}] were found. ")
        head_logprob = _red.log_softmax(self.head(x), 1)
        output = output + head_logprob.gather(1, Tensor._wrap(head_entry[:, None])).squeeze(1)
        loss = _red.mean(-output)
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _full_log_prob(self, x, head_output):
        """Log-probabilities of all ``n_classes`` classes from the rows ``x`` and their head scores."""
        head_logprob = _red.log_softmax(head_output, 1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            within = _red.log_softmax(self.tail[i](x), 1)
            pieces.append(within + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return _shape.cat(pieces, 1)

    def log_prob(self, input):  # noqa: A002
        """Log-probabilities of every class, (N, n_classes) for (N, in_features) input."""
        _check_rows(input)
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):  # noqa: A002
        """The most likely class of each row; the tails are evaluated only for rows whose best head entry is
        a cluster (an argmax over the head logits equals one over their log-softmax)."""
        _check_rows(input)
        head_output = self.head(input)
        best = head_output.argmax(dim=1)
        in_tail = best._data >= self.shortlist_size
        if not bool(in_tail.any()):
            return best
        if bool(in_tail.all()):
            return self._full_log_prob(input, head_output).argmax(dim=1)
        rows = Tensor._wrap(backend.array_module(in_tail).nonzero(in_tail)[0])
        refined = self._full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows))
        return best.index_copy(0, rows, refined.argmax(dim=1))


def _check_rows(input):  # noqa: A002
    """``log_prob`` and ``predict`` read classes along dim 1: torch's error for an input without one."""
    if input.ndim < 2:
        low, high = -max(input.ndim, 1), max(input.ndim, 1) - 1
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got 1)")
