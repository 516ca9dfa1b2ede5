"""``nn.utils.rnn``: ``PackedSequence``, ``pad_sequence``, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpack_sequence``, ``unpad_sequence``.

A packed sequence stores the rows of time step ``t`` of the length-sorted batch one after another: step
``t`` holds the ``batch_sizes[t]`` sequences longer than ``t``. Packing and padding are slicing and ``cat``,
so gradients flow through both.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ... import creation
from ...ops.shape import cat, stack
from ...tensor import Tensor


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in np.asarray(lengths).reshape(-1)]


def _long(vals):
    return creation.tensor(np.asarray(vals, dtype=np.int64))


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``data`` (sum of lengths, *), ``batch_sizes`` (int64, on the CPU), the permutation that sorted the batch
    by decreasing length and its inverse (None when the batch came sorted)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        idx = [None if i is None else i.to(data.device) for i in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, *args, **kwargs):
        return self.to("cuda")

    def double(self):
        return self._replace(data=self.data.double())

    def float(self):
        return self._replace(data=self.data.float())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _invert(perm):
    p = np.asarray(perm.tolist(), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return _long(inv).to(perm.device)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Pack a padded (T, B, *) batch (``batch_first``: (B, T, *)) of sequences with the given lengths."""
    lens = _lengths_list(lengths)
    if batch_first:
        input = input.transpose(0, 1)  # noqa: A001
    T, B = input.shape[0], input.shape[1]
    if len(lens) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={B})")
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                               "sidestep this requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = sorted(range(B), key=lambda i: -lens[i])   # stable, as torch's sort(descending=True)
        sorted_indices = _long(order).to(input.device)
        lens = [lens[i] for i in order]
        input = input.index_select(1, sorted_indices)  # noqa: A001
    if B and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if B and lens[0] > T:
        raise RuntimeError(f"Expected the longest length ({lens[0]}) to be at most the padded length {T}")
    steps = lens[0] if B else 0
    batch_sizes = [sum(1 for v in lens if v > t) for t in range(steps)]
    data = cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: (padded batch, lengths as an int64 tensor)."""
    data, bsz, sorted_indices, unsorted_indices = sequence
    batch_sizes = [int(b) for b in bsz.tolist()]
    T, B = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
    else:
        total_length = T
    feat = tuple(data.shape[1:])
    rows, off = [], 0
    for bs in batch_sizes:
        piece = data[off:off + bs]
        off += bs
        if bs < B:
            piece = cat([piece, creation.full((B - bs,) + feat, padding_value, dtype=data.dtype,
                                              device=data.device)], 0)
        rows.append(piece)
    for _ in range(total_length - T):
        rows.append(creation.full((B,) + feat, padding_value, dtype=data.dtype, device=data.device))
    out = stack(rows, 0)
    lens = [sum(1 for b in batch_sizes if b > i) for i in range(B)]
    if unsorted_indices is not None:
        out = out.index_select(1, unsorted_indices)
        lens = [lens[i] for i in unsorted_indices.tolist()]
    if batch_first:
        out = out.transpose(0, 1)
    return out, _long(lens)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shape (L_i, *) into (L_max, B, *) (``batch_first``: (B, L_max, *)), padded."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    L = max(s.shape[0] for s in sequences)
    feat = tuple(sequences[0].shape[1:])
    for s in sequences[1:]:
        if tuple(s.shape[1:]) != feat:
            raise RuntimeError(f"The size of trailing dimensions must match: got {list(s.shape[1:])} and "
                               f"{list(feat)}")
    padded = []
    for s in sequences:
        if s.shape[0] < L:
            pad = creation.full((L - s.shape[0],) + feat, padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :n] for i, n in enumerate(_lengths_list(lengths))]


def unpack_sequence(packed_sequences):
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]
