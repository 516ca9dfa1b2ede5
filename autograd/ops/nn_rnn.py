"""The pointwise half of an LSTM step as one op: pre-activation gates (..., 4H) and the previous cell state
(..., H) in, the new hidden and cell states stacked as (2, ..., H) out (torch's gate order i, f, g, o).

Composed from sigmoid, tanh, products and slices, one step records a dozen nodes; as one op it records one,
and its backward is one vocabulary op, ``lstm_cell_backward`` (NumPy/CuPy on arrays; on Tensors composed from
differentiable ops, so ``create_graph`` goes through it).
"""
from __future__ import annotations

from .. import backend
from .basic import check_same_device, needs, record
from .shape import cat


def _gates_array(G):
    """i, f, g, o; the three sigmoids in one pass over the gates, as 0.5 tanh(x / 2) + 0.5 (one transcendental
    per element, no branch; within an ulp or two of the exp form)."""
    H = G.shape[-1] // 4
    xp = backend.array_module(G)
    s = xp.tanh(G * G.dtype.type(0.5))
    s *= G.dtype.type(0.5)
    s += G.dtype.type(0.5)
    return s[..., :H], s[..., H:2 * H], xp.tanh(G[..., 2 * H:3 * H]), s[..., 3 * H:]


def lstm_cell(gates, c0):
    """(h, c) of one LSTM step, stacked: ``c = f * c0 + i * g``, ``h = o * tanh(c)``."""
    check_same_device(gates, c0)
    G, C0 = gates._data, c0._data
    if G.shape[-1] != 4 * C0.shape[-1] or G.shape[:-1] != C0.shape[:-1]:
        raise RuntimeError(f"lstm_cell: gates of shape {list(G.shape)} do not fit a cell state of shape "
                           f"{list(C0.shape)} (want [..., 4 * hidden_size])")
    xp = backend.array_module(G)
    i, f, g, o = _gates_array(G)
    c = f * C0 + i * g
    out = xp.stack([o * xp.tanh(c), c])
    ng, nc = needs((gates, c0))

    def rule(o_, gout, gates_, c0_):
        dg, dc = o_.lstm_cell_backward(gout, gates_, c0_)
        return (dg if ng else None), (dc if nc else None)

    return record(out, (gates, c0), rule, "LstmCell", saved=(gates, c0))


def lstm_cell_backward_array(gout, G, C0):
    xp = backend.array_module(G)
    i, f, g, o = _gates_array(G)
    c = f * C0 + i * g
    tc = xp.tanh(c)
    gh, gc = gout[0], gout[1]
    dc = gc + gh * o * (1 - tc * tc)
    return xp.concatenate([dc * g * i * (1 - i), dc * C0 * f * (1 - f), dc * i * (1 - g * g),
                           gh * tc * o * (1 - o)], axis=-1), dc * f


def lstm_cell_backward_tensor(gout, gates, c0):
    H = c0.shape[-1]
    i, f, o = gates[..., :H].sigmoid(), gates[..., H:2 * H].sigmoid(), gates[..., 3 * H:].sigmoid()
    g = gates[..., 2 * H:3 * H].tanh()
    c = f * c0 + i * g
    tc = c.tanh()
    gh, gc = gout[0], gout[1]
    dc = gc + gh * o * (1 - tc * tc)
    return cat([dc * g * i * (1 - i), dc * c0 * f * (1 - f), dc * i * (1 - g * g), gh * tc * o * (1 - o)],
               -1), dc * f


__all__ = ["lstm_cell"]
