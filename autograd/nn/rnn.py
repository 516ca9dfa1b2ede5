"""``RNN``, ``LSTM``, ``GRU`` and their cells, with torch's parameter names, shapes, initialisation and
state_dict layout (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0`` ...).

Built from differentiable ops only (``linear``, slicing, ``sigmoid``, ``tanh``, products, ``cat``), so
backward and ``create_graph`` need no rule of their own. The input projection of a whole layer is one GEMM
over every time step; each step then costs one GEMM with the hidden weight and a few elementwise ops.
A sequence is handled in the packed layout throughout: rows of time step ``t`` are the first
``batch_sizes[t]`` rows of the (sorted) batch; a padded input is the case where every step has the whole
batch, so padded and packed inputs share one loop.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import creation
from ..ops.nn_linear import linear
from ..ops.nn_rnn import lstm_cell
from ..function import Function
from ..ops.shape import cat, stack
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _cat(ts, dim=0):
    return ts[0] if len(ts) == 1 else cat(ts, dim)


class _Split(Function):
    """``x`` cut into consecutive pieces along ``dim`` as one node: the backward is a single ``cat`` of the
    pieces' gradients. Slicing piece by piece would give each piece a backward that builds a zero tensor of
    the whole ``x`` (35 of them for a 35-step sequence), which costs more than the recurrence itself."""

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        out, lo = [], 0
        key = [slice(None)] * x.ndim
        for n in sizes:
            key[dim] = slice(lo, lo + n)
            out.append(x[tuple(key)].clone())
            lo += n
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        return cat(list(grads), ctx.dim), None, None


def _split(x, dim, sizes):
    if not x.requires_grad:
        return x.split(list(sizes), dim)
    return _Split.apply(x, dim % x.ndim, tuple(sizes))


# ---- one time step of each cell: ``xg`` is the input projection (with bias_ih) of this step ---------------
def _rnn_step(act):
    def step(xg, state, w_hh, b_hh, w_hr=None):
        return act(xg + linear(state, w_hh, b_hh))
    return step


def _lstm_step(xg, state, w_hh, b_hh, w_hr=None):
    h, c = state
    hc = lstm_cell(xg + linear(h, w_hh, b_hh), c)
    h, c = hc[0], hc[1]
    if w_hr is not None:
        h = linear(h, w_hr, None)
    return h, c


def _gru_step(xg, h, w_hh, b_hh, w_hr=None):
    hg = linear(h, w_hh, b_hh)
    H = h.shape[-1]
    xr, xz, xn = _split(xg, -1, (H,) * 3)
    hr, hz, hn = _split(hg, -1, (H,) * 3)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


def _step_fn(mode):
    return {"RNN_TANH": _rnn_step(lambda t: t.tanh()), "RNN_RELU": _rnn_step(F.relu), "LSTM": _lstm_step,
            "GRU": _gru_step}[mode]


def _rows(state, n):
    return tuple(s[:n] for s in state) if isinstance(state, tuple) else state[:n]


def _join(new, old, n):
    """The state of the first ``n`` rows updated, the rest (sequences already finished) kept."""
    if isinstance(new, tuple):
        return tuple(_join(a, b, n) for a, b in zip(new, old))
    return new if new.shape[0] == old.shape[0] else _cat([new, old[n:]], 0)


def _run_direction(step, xg, batch_sizes, state0, weights, reverse):
    """Run one direction over the projected inputs ``xg`` (packed rows); returns (packed outputs, state)."""
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    outs = [None] * len(batch_sizes)
    xs = _split(xg, 0, batch_sizes)
    state = None if reverse else state0
    for t in order:
        n = batch_sizes[t]
        if reverse:
            # rows that start here (their sequences end at t) take their initial state
            cur = _rows(state0, n) if state is None else state if _nrows(state) == n else _grow(state, state0, n)
            new = step(xs[t], cur, *weights)
            state = new
        else:
            new = step(xs[t], _rows(state, n) if n < _nrows(state) else state, *weights)
            state = _join(new, state, n) if n < _nrows(state) else new
        outs[t] = new[0] if isinstance(new, tuple) else new
    return outs, state


def _nrows(state):
    return (state[0] if isinstance(state, tuple) else state).shape[0]


def _grow(state, state0, n):
    if isinstance(state, tuple):
        return tuple(_grow(s, s0, n) for s, s0 in zip(state, state0))
    return _cat([state, state0[state.shape[0]:n]], 0)


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        for name, v, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
            if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(v).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real = proj_size or hidden_size
        self._flat_weights_names = []
        kw = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                n_in = input_size if layer == 0 else real * dirs
                names = [("weight_ih", (gate, n_in)), ("weight_hh", (gate, real))]
                if bias:
                    names += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    names += [("weight_hr", (proj_size, hidden_size))]
                for name, shape in names:
                    setattr(self, name + sfx, Parameter(creation.empty(*shape, **kw)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    @property
    def all_weights(self):
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    def flatten_parameters(self):
        """Nothing to do: there is no cuDNN weight buffer here (accepted so torch scripts run)."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        g = lambda n: getattr(self, n + sfx, None)  # noqa: E731
        return g("weight_ih"), g("bias_ih"), (g("weight_hh"), g("bias_hh"), g("weight_hr"))

    def _expected_hidden(self, batch):
        dirs = 2 if self.bidirectional else 1
        return (self.num_layers * dirs, batch, self.proj_size or self.hidden_size)

    def _check_input(self, x, packed):
        want = 2 if packed else 3
        if x.dim() != want:
            raise RuntimeError(f"input must have {want} dimensions, got {x.dim()}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{x.shape[-1]}")
        w = getattr(self, self._flat_weights_names[0])
        if x.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({w.dtype}). Convert "
                             f"input: input.to({w.dtype}), or convert model: model.to({x.dtype})")

    @staticmethod
    def _check_hidden(h, expected, msg="Expected hidden size {}, got {}"):
        if tuple(h.shape) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(h.shape)))

    def forward(self, input, hx=None):  # noqa: A002
        name = "LSTM" if self.mode == "LSTM" else "RNN"
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        unbatched = False
        if packed:
            x, bsz_t, sorted_idx, unsorted_idx = input
            batch_sizes = [int(b) for b in bsz_t.tolist()]
            batch = batch_sizes[0]
        else:
            x = input
            if x.dim() not in (2, 3):
                got = f"{x.dim()}D instead" if lstm else f"{x.dim()}D tensor instead"
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {got}")
            unbatched = x.dim() == 2
            if unbatched:
                x = x.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                hs = hx if lstm else (hx,)
                want = 2 if unbatched else 3
                if any(h.dim() != want for h in hs):
                    kind = "unbatched 2-D" if unbatched else "batched 3-D"
                    if lstm:
                        raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                           f"({hs[0].dim()}-D, {hs[1].dim()}-D) tensors")
                    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {hx.dim()}-D tensor")
                if unbatched:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
            sorted_idx = unsorted_idx = None
        self._check_input(x, packed)
        if not packed:
            if self.batch_first:
                x = x.transpose(0, 1)
            T, batch = x.shape[0], x.shape[1]
            batch_sizes = [batch] * T
            x = x.reshape(T * batch, x.shape[2])
        exp = self._expected_hidden(batch)
        if hx is None:
            h0 = creation.zeros(*exp, dtype=x.dtype, device=x.device)
            hx = (h0, creation.zeros(exp[0], batch, self.hidden_size, dtype=x.dtype, device=x.device)) if lstm else h0
        elif lstm:
            self._check_hidden(hx[0], exp, "Expected hidden[0] size {}, got {}")
            self._check_hidden(hx[1], (exp[0], batch, self.hidden_size), "Expected hidden[1] size {}, got {}")
        else:
            self._check_hidden(hx, exp)
        if sorted_idx is not None:
            hx = tuple(h.index_select(1, sorted_idx) for h in hx) if lstm else hx.index_select(1, sorted_idx)
        step = _step_fn(self.mode)
        dirs = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, b_ih, rest = self._weights(layer, d)
                k = layer * dirs + d
                s0 = (hx[0][k], hx[1][k]) if lstm else hx[k]
                o, s = _run_direction(step, linear(x, w_ih, b_ih), batch_sizes, s0, rest, reverse=d == 1)
                outs.append(_cat(o, 0))
                finals.append(s)
            x = _cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = (stack([s[0] for s in finals], 0), stack([s[1] for s in finals], 0)) if lstm else stack(finals, 0)
        if unsorted_idx is not None:
            h_n = tuple(h.index_select(1, unsorted_idx) for h in h_n) if lstm else h_n.index_select(1, unsorted_idx)
        if packed:
            return PackedSequence(x, bsz_t, sorted_idx, unsorted_idx), h_n
        out = x.reshape(len(batch_sizes), batch, x.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n = tuple(h.squeeze(1) for h in h_n) if lstm else h_n.squeeze(1)
        return out, h_n

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _split_args(args, kwargs, names):
    """torch's recurrent layers take their arguments positionally or by name in one order."""
    vals = dict(zip(names, args))
    vals.update(kwargs)
    return vals


class RNN(RNNBase):
    """Elman RNN: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, ``nonlinearity`` 'tanh' or 'relu'."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        names = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                 "bidirectional", "device", "dtype")
        vals = _split_args(args, kwargs, names)
        nl = vals.pop("nonlinearity", "tanh")
        if nl not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nl}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nl
        super().__init__("RNN_TANH" if nl == "tanh" else "RNN_RELU", **vals)


class LSTM(RNNBase):
    """LSTM with torch's gate order (input, forget, cell, output) and optional ``proj_size`` projection."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU with torch's gate order (reset, update, new); ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]
