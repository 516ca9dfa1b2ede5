"""Connectionist temporal classification (CTC): the negative log-likelihood of each target sequence under
per-frame log-probabilities, summed over every alignment, by the forward-backward recursions in log space.

Notation (Graves et al. 2006): a target ``l`` of length ``L`` becomes the extended sequence ``l'`` of length
``2L + 1`` with the blank before, between and after its labels (blank at even positions ``s``, label
``l[(s - 1) / 2]`` at odd ones). ``alpha[t, s]`` is the log-probability of all path prefixes over frames
``0..t`` that end in ``l'[s]``, and ``beta[t, s]`` that of all path suffixes over frames ``t..T_n-1`` that
start in ``l'[s]``; both include frame ``t``'s own log-probability, as in torch. A path may stay on ``s``,
advance to ``s + 1``, or skip a blank (``s - 2 -> s``) when ``l'[s]`` is a label differing from ``l'[s-2]``.

Both recursions run one frame at a time, vectorised over the batch and the extended positions, with NumPy
or CuPy alike. Samples of different lengths share one loop: frames past a sample's input length and
positions past its extended length are masked to ``-inf``.

The gradient w.r.t. the log-probabilities is torch's:
``grad[t, n, c] = exp(lp[t, n, c]) - exp(logsumexp_{s: l'[s] = c}(alpha + beta)[t, n] + nll[n] - lp[t, n, c])``
times the incoming gradient of sample ``n``, zero for frames ``t >= T_n``. The second term is the true
derivative of ``nll`` (minus the posterior probability that frame ``t`` emits class ``c``); the first,
``exp(lp)``, is what torch adds. Through the ``log_softmax`` that makes CTC inputs it changes nothing: that
backward subtracts ``softmax`` times the gradient's sum over classes, and the added term sums to 1 over the
classes while the true one sums to -1, so the composition's gradient is exact (finite differences agree).
On a sample whose loss is infinite (no alignment fits) the gradient is NaN, as torch's; ``zero_infinity``
zeroes it.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from .basic import OUT, record

_NEG_INF = -np.inf


def _compute_dtype(dt):
    """The recursions run in float64 for float32 inputs too: alpha and beta then lose nothing over thousands
    of frames, and the loss and gradient are rounded once to the input's dtype."""
    return np.float64 if dt in (np.float32, np.float64) else dt


def _logsumexp3(xp, a, b, c):
    """log(e^a + e^b + e^c) elementwise, stable, with ``-inf`` everywhere giving ``-inf`` (not NaN)."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == _NEG_INF, 0.0, m)
    return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _shift(xp, x, k):
    """``x[..., s - k]`` at position ``s`` (``-inf`` where ``s < k``), along the last axis."""
    out = xp.full_like(x, _NEG_INF)
    if x.shape[-1] > k:
        out[..., k:] = x[..., :-k]
    return out


def _shift_back(xp, x, k):
    """``x[..., s + k]`` at position ``s`` (``-inf`` past the end), along the last axis."""
    out = xp.full_like(x, _NEG_INF)
    if x.shape[-1] > k:
        out[..., :-k] = x[..., k:]
    return out


class CtcProblem:
    """The extended label sequences of a batch and what both recursions need from them.

    ``targets``: (N, S) int array, padded (only the first ``target_lengths[n]`` entries of row ``n`` are
    read); ``input_lengths`` / ``target_lengths``: (N,) int arrays.
    """

    def __init__(self, xp, targets, input_lengths, target_lengths, blank):
        N = targets.shape[0]
        Lmax = int(target_lengths.max()) if N else 0
        width = 2 * Lmax + 1
        self.xp, self.N, self.width = xp, N, width
        self.input_lengths, self.target_lengths = input_lengths, target_lengths
        labels = xp.full((N, width), blank, dtype=np.int64)
        if Lmax:
            labels[:, 1::2] = targets[:, :Lmax]
        positions = xp.arange(width)
        self.valid = positions[None, :] < (2 * target_lengths + 1)[:, None]            # (N, width)
        labels = xp.where(self.valid, labels, blank)                                   # padding reads as blank
        self.labels = labels
        prev2 = xp.concatenate([xp.full((N, 2), -1, dtype=np.int64), labels[:, :-2]], axis=1)[:, :width]
        # a blank may be skipped into position s (from s - 2) when l'[s] is a label unlike the one before it
        self.skip = (positions[None, :] % 2 == 1) & (positions[None, :] >= 3) & (labels != prev2) & self.valid
        self.rows = xp.arange(N)

    def emissions(self, lp):
        """``lp[t, n, l'[n, s]]``: (T, N, width)."""
        return lp[:, self.rows[:, None], self.labels]

    def alpha(self, emit):
        """The forward variables (T, N, width) and the per-sample negative log-likelihood (N,)."""
        xp = self.xp
        T = emit.shape[0]                                            # at least 1 (checked by the caller)
        la = xp.full(emit.shape, _NEG_INF, dtype=emit.dtype)
        start = xp.full(emit.shape[1:], _NEG_INF, dtype=emit.dtype)
        start[:, 0] = emit[0, :, 0]
        if self.width > 1:
            start[:, 1] = xp.where(self.target_lengths > 0, emit[0, :, 1], _NEG_INF)
        la[0] = xp.where(self.valid, start, _NEG_INF)
        for t in range(1, T):
            prev = la[t - 1]
            stay_advance_skip = _logsumexp3(xp, prev, _shift(xp, prev, 1),
                                            xp.where(self.skip, _shift(xp, prev, 2), _NEG_INF))
            la[t] = xp.where(self.valid, stay_advance_skip + emit[t], _NEG_INF)
        # the paths end on the last label or the blank after it, at the sample's last frame
        last = xp.maximum(self.input_lengths - 1, 0)
        end_blank = 2 * self.target_lengths
        at_end = la[last, self.rows]
        final_blank = at_end[self.rows, end_blank]
        final_label = xp.where(self.target_lengths > 0, at_end[self.rows, xp.maximum(end_blank - 1, 0)], _NEG_INF)
        log_likelihood = xp.logaddexp(final_blank, final_label)
        # no frames: the empty target has probability 1, any other none
        empty = xp.where(self.target_lengths == 0, 0.0, _NEG_INF).astype(emit.dtype)
        log_likelihood = xp.where(self.input_lengths == 0, empty, log_likelihood)
        return la, -log_likelihood

    def beta(self, emit):
        """The backward variables (T, N, width), ``-inf`` at frames past each sample's input length."""
        xp = self.xp
        T = emit.shape[0]
        lb = xp.full(emit.shape, _NEG_INF, dtype=emit.dtype)
        positions = xp.arange(self.width)[None, :]
        end_blank = (2 * self.target_lengths)[:, None]
        is_end = ((positions == end_blank) | ((positions == end_blank - 1) & (end_blank > 0))) & self.valid
        skip_from_next2 = xp.zeros_like(self.skip)                     # skip[s + 2]: s + 2 -> s allowed
        skip_from_next2[:, :-2] = self.skip[:, 2:]
        for t in range(T - 1, -1, -1):
            last_frame = (t == self.input_lengths - 1)[:, None]
            inside = (t < self.input_lengths - 1)[:, None]
            if t + 1 < T:
                nxt = lb[t + 1]
                from_next2 = xp.where(skip_from_next2, _shift_back(xp, nxt, 2), _NEG_INF)
                rec = _logsumexp3(xp, nxt, _shift_back(xp, nxt, 1), from_next2) + emit[t]
            else:
                rec = xp.full_like(emit[t], _NEG_INF)
            start = xp.where(is_end, emit[t], _NEG_INF)
            lb[t] = xp.where(self.valid, xp.where(last_frame, start, xp.where(inside, rec, _NEG_INF)), _NEG_INF)
        return lb

    def per_class_logsumexp(self, occupancy, C):
        """(T, N, C): the log-sum of ``occupancy`` (T, N, width) over the positions ``s`` of each sample whose
        label ``l'[n, s]`` is class ``c``; ``-inf`` for classes the sample lacks."""
        xp = self.xp
        T, N, _ = occupancy.shape
        per_class = xp.full((T, N, C), _NEG_INF, dtype=occupancy.dtype)
        for s in range(self.width):      # one log-add per position: exact, on NumPy and CuPy alike
            cls = self.labels[:, s]
            per_class[:, self.rows, cls] = xp.logaddexp(per_class[:, self.rows, cls], occupancy[:, :, s])
        return per_class

    def grad(self, lp, la, nll, grad_out, zero_infinity):
        """torch's gradient of ``sum_n grad_out[n] nll[n]`` w.r.t. the log-probabilities ``lp`` (see the module
        docstring), in ``lp``'s (working) dtype."""
        xp = self.xp
        emit = self.emissions(lp)
        lb = self.beta(emit)
        occupancy = la + lb          # (T, N, width): log(y_t(l'_s) * prob. of the paths through (t, s))
        per_class = self.per_class_logsumexp(occupancy, lp.shape[2])
        with np.errstate(invalid="ignore", over="ignore"):
            g = xp.exp(lp) - xp.exp(per_class + nll[None, :, None] - lp)
        frames = xp.arange(lp.shape[0])[:, None] < self.input_lengths[None, :]        # (T, N)
        keep = frames if not zero_infinity else frames & (nll != np.inf)[None, :]
        g = xp.where(keep[:, :, None], g * grad_out[None, :, None], 0.0)
        return g


def _not_differentiable_twice(o, g):
    raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


def ctc_nll(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    """The per-sample negative log-likelihood (N,) of ``log_probs`` (T, N, C), recorded with torch's backward.

    ``targets`` (N, S) and the lengths (N,) are raw integer arrays on ``log_probs``'s device, already checked.
    The backward is not differentiable again (torch's ``_ctc_loss_backward`` has no derivative): under
    ``create_graph`` the gradient is a recorded op whose own backward raises torch's error.
    """
    X = log_probs._data
    xp = backend.array_module(X)
    work = _compute_dtype(X.dtype)
    problem = CtcProblem(xp, targets, input_lengths, target_lengths, blank)
    lpw = X.astype(work, copy=False)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        la, nll = problem.alpha(problem.emissions(lpw))

    def rule(o, g, lp_saved, nll_saved):
        recorded = isinstance(g, Tensor)
        G = g._data if recorded else g
        LP = lp_saved._data if isinstance(lp_saved, Tensor) else lp_saved
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            gx = problem.grad(LP.astype(work, copy=False), la, nll, G.astype(work, copy=False), zero_infinity)
        gx = gx.astype(X.dtype, copy=False)
        if recorded:
            return (record(gx, (g, lp_saved), _not_differentiable_twice, "NotImplemented", saved=()),)
        return (gx,)

    return record(nll.astype(X.dtype), (log_probs,), rule, "CtcLoss", saved=(log_probs, OUT))


__all__ = ["CtcProblem", "ctc_nll"]
