"""RNN, LSTM (incl. proj_size), GRU and their cells, nn.utils.rnn packing: against torch 2.13 (layout, strict
loading, values, every gradient), finite differences, create_graph, and torch's errors."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd as ag
from autograd import nn
from autograd.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence

from _layer_parity import assert_matches_torch, load_torch_state
from test_nn_gradcheck import gradcheck

torch = pytest.importorskip("torch")
tnn = torch.nn


def _pair(cls, *args, **kw):
    return getattr(nn, cls)(*args, **kw).double(), getattr(tnn, cls)(*args, **kw).double()


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("cls,kw", [
    ("RNN", {}), ("RNN", dict(nonlinearity="relu", bias=False, num_layers=2)),
    ("LSTM", {}), ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("LSTM", dict(batch_first=True, bias=False)),
    ("GRU", {}), ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
])
def test_recurrent_layer_matches_torch(cls, kw):
    ours, theirs = _pair(cls, 4, 6, **kw)
    x = R(5, 3, 4)
    assert_matches_torch(ours, theirs, [x])


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_with_initial_state_matches_torch(cls):
    ours, theirs = _pair(cls, 4, 6, num_layers=2, bidirectional=True, batch_first=True)
    x, h0, c0 = R(3, 5, 4), R(4, 3, 6, seed=1), R(4, 3, 6, seed=2)
    if cls == "LSTM":
        call = lambda m, x, h, c: m(x, (h, c))  # noqa: E731
        assert_matches_torch(ours, theirs, [x, h0, c0], call, call)
    else:
        assert_matches_torch(ours, theirs, [x, h0], lambda m, x, h: m(x, h), lambda m, x, h: m(x, h))


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_unbatched_input_matches_torch(cls):
    ours, theirs = _pair(cls, 4, 6, num_layers=2)
    assert_matches_torch(ours, theirs, [R(5, 4)])


def test_lstm_state_dict_from_torch_loads_strictly_with_torch_names_and_shapes():
    ours, theirs = _pair("LSTM", 4, 6, num_layers=2, bidirectional=True, proj_size=2)
    load_torch_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()][:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                          "bias_hh_l0", "weight_hr_l0"]
    assert tuple(ours.weight_hh_l1_reverse.shape) == (24, 2) and tuple(ours.weight_ih_l1.shape) == (24, 4)


def test_recurrent_initialisation_is_uniform_in_one_over_sqrt_hidden():
    m = nn.LSTM(10, 64)
    w = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert np.abs(w).max() <= 1 / 8 and np.abs(w).max() > 0.12 and abs(w.mean()) < 0.01


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence_through_recurrent_layer_matches_torch(cls, bidirectional):
    ours, theirs = _pair(cls, 3, 5, num_layers=2, bidirectional=bidirectional)
    lengths = [2, 5, 3, 5]

    def run(m, x, pack, pad):
        out, h = m(pack(x, lengths, enforce_sorted=False))
        return pad(out)[0], h

    assert_matches_torch(ours, theirs, [R(5, 4, 3)],
                         lambda m, x: run(m, x, pack_padded_sequence, pad_packed_sequence),
                         lambda m, x: run(m, x, tnn.utils.rnn.pack_padded_sequence,
                                          tnn.utils.rnn.pad_packed_sequence))


def test_packing_utilities_match_torch():
    seqs = [R(n, 2, seed=n) for n in (3, 5, 1)]
    po = pad_sequence([ag.tensor(s) for s in seqs], batch_first=True, padding_value=-1.0)
    pt = tnn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True, padding_value=-1.0)
    np.testing.assert_array_equal(po.numpy(), pt.numpy())
    left = pad_sequence([ag.tensor(s) for s in seqs], padding_side="left")
    np.testing.assert_array_equal(left.numpy(), tnn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs],
                                                                           padding_side="left").numpy())
    ko = pack_sequence([ag.tensor(s) for s in seqs], enforce_sorted=False)
    kt = tnn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    for a, b in zip(ko, kt):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    out, lens = pad_packed_sequence(ko, batch_first=True, total_length=7)
    out_t, lens_t = tnn.utils.rnn.pad_packed_sequence(kt, batch_first=True, total_length=7)
    np.testing.assert_array_equal(out.numpy(), out_t.numpy())
    np.testing.assert_array_equal(lens.numpy(), lens_t.numpy())
    assert lens.dtype == ag.int64 and ko.batch_sizes.dtype == ag.int64


@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu", bias=False)),
                                    ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", dict(bias=False))])
def test_recurrent_cell_matches_torch(cls, kw):
    ours, theirs = _pair(cls, 4, 6, **kw)
    assert_matches_torch(ours, theirs, [R(3, 4)])
    h = [R(3, 6, seed=1), R(3, 6, seed=2)]
    if cls == "LSTMCell":
        call = lambda m, x, h, c: m(x, (h, c))  # noqa: E731
        assert_matches_torch(ours, theirs, [R(3, 4)] + h, call, call)
        assert_matches_torch(ours, theirs, [R(4), R(6, seed=3), R(6, seed=4)], call, call)
    else:
        assert_matches_torch(ours, theirs, [R(3, 4), h[0]], lambda m, x, h: m(x, h), lambda m, x, h: m(x, h))
        assert_matches_torch(ours, theirs, [R(4)])


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(["RNN", "LSTM", "GRU"]), T=st.integers(1, 4), B=st.integers(1, 3),
       layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(),
       proj=st.booleans())
def test_recurrent_layer_over_shapes_and_flags_matches_torch(cls, T, B, layers, bidirectional, batch_first, bias,
                                                            proj):
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if cls == "LSTM" and proj:
        kw["proj_size"] = 2
    ours, theirs = _pair(cls, 3, 4, **kw)
    assert_matches_torch(ours, theirs, [R(B, T, 3) if batch_first else R(T, B, 3)])


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_recurrent_layer_gradients_match_finite_differences(cls):
    m = getattr(nn, cls)(2, 3, num_layers=2, bidirectional=True).double()
    x = R(3, 2, 2)
    gradcheck(lambda t: m(t)[0], x)
    name = "weight_hh_l1_reverse"
    old = m._parameters[name]

    def with_weight(w):   # the layer as a function of one of its weights
        m._parameters[name] = w
        try:
            return m(ag.tensor(x))[1][1] if cls == "LSTM" else m(ag.tensor(x))[0]
        finally:
            m._parameters[name] = old

    gradcheck(with_weight, old.numpy().copy())


def test_lstm_second_derivative_matches_torch():
    ours, theirs = _pair("LSTM", 3, 4)
    load_torch_state(ours, theirs)
    x = R(4, 2, 3)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    go, = ag.autograd.grad(ours(xo)[0].pow(2).sum(), xo, create_graph=True)
    gt, = torch.autograd.grad(theirs(xt)[0].pow(2).sum(), xt, create_graph=True)
    go.pow(2).sum().backward()
    gt.pow(2).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.weight_hh_l0.grad.numpy(), theirs.weight_hh_l0.grad.numpy(), rtol=1e-7,
                               atol=1e-10)


def test_recurrent_layer_bad_input_raises_torch_errors():
    m, t = nn.LSTM(4, 6, num_layers=2), tnn.LSTM(4, 6, num_layers=2)
    cases = [
        (lambda M, T: M(T(np.zeros((5, 3, 5)))), RuntimeError, "input.size(-1) must be equal to input_size"),
        (lambda M, T: M(T(np.zeros((5, 3, 4))), (T(np.zeros((2, 2, 6))), T(np.zeros((2, 3, 6))))),
         RuntimeError, "Expected hidden[0] size (2, 3, 6), got [2, 2, 6]"),
        (lambda M, T: M(T(np.zeros((5, 3, 4))), (T(np.zeros((3, 6))), T(np.zeros((3, 6))))),
         RuntimeError, "hx and cx should also be 3-D"),
        (lambda M, T: M(T(np.zeros((1, 5, 3, 4)))), ValueError, "Expected input to be 2D or 3D"),
    ]
    for fn, err, msg in cases:
        with pytest.raises(err) as eo:
            fn(m, lambda a: ag.tensor(a, dtype=ag.float32))
        with pytest.raises(err) as et:
            fn(t, lambda a: torch.tensor(a, dtype=torch.float32))
        assert msg in str(eo.value) and str(eo.value) == str(et.value)
    g = nn.GRU(4, 6, batch_first=True)   # a (T, B, F) batch fed to batch_first with the wrong hidden batch
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 5, 6\), got \[1, 3, 6\]"):
        g(ag.zeros(5, 3, 4), ag.zeros(1, 3, 6))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 3 expected 4"):
        nn.LSTMCell(4, 6)(ag.zeros(2, 3))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 6"):
        nn.GRUCell(4, 6)(ag.zeros(2, 4), ag.zeros(2, 5))


def test_recurrent_constructor_checks_match_torch():
    for kw, err in [(dict(proj_size=6), ValueError), (dict(dropout=1.5), ValueError), (dict(num_layers=0), ValueError),
                    (dict(bias=1), TypeError)]:
        with pytest.raises(err) as eo:
            nn.LSTM(4, 6, **kw)
        with pytest.raises(err) as et:
            tnn.LSTM(4, 6, **kw)
        assert str(eo.value) == str(et.value)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(4, 6, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(4, 6, nonlinearity="sigmoid")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.GRU(4, 6, dropout=0.5)
    assert any("num_layers greater than 1" in str(x.message) for x in w)


def test_packing_bad_lengths_raise_torch_errors():
    x = ag.zeros(5, 3, 2)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order when `enforce_sorted`"):
        pack_padded_sequence(x, [3, 5, 2])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [5, 3, 0])
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 4"):
        pack_padded_sequence(x, [5, 3, 2, 1])
    p = pack_padded_sequence(x, [5, 3, 2])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest"):
        pad_packed_sequence(p, total_length=3)


def test_recurrent_dropout_between_layers_only_in_training():
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ag.tensor(R(4, 2, 3), dtype=ag.float32)
    m.eval()
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.array_equal(m(x)[0].numpy(), a)
