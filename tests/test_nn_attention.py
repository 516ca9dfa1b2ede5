"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against torch 2.13: values,
every gradient, state_dict layout with strict loading, masks of each kind, and torch's errors."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd as ag
from autograd import nn
import autograd.nn.functional as F

from _layer_parity import assert_matches_torch, load_torch_state
from test_nn_gradcheck import gradcheck

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


class _Fn:
    """A function as a module without parameters, for the shared torch comparison."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *a):
        return self.fn(*a)

    def state_dict(self):
        return {}

    def load_state_dict(self, sd, strict=True):
        pass

    def named_parameters(self):
        return iter(())


def _sdpa_case(mask_kind, is_causal, scale, q, k, v):
    rng = np.random.default_rng(3)
    L, S = q.shape[-2], k.shape[-2]
    if mask_kind == "bool":
        m = rng.random((L, S)) > 0.4
        m[0] = False   # a row with nothing to attend to: zeros, as torch
        return m
    if mask_kind == "float":
        return rng.standard_normal(q.shape[:-2] + (L, S))
    return None


@pytest.mark.parametrize("mask_kind,is_causal,scale", [(None, False, None), (None, True, 0.3), ("bool", False, None),
                                                       ("float", False, 0.5)])
def test_scaled_dot_product_attention_matches_torch(mask_kind, is_causal, scale):
    q, k, v = R(2, 3, 4, 8), R(2, 3, 5, 8, seed=1), R(2, 3, 5, 6, seed=2)
    m = _sdpa_case(mask_kind, is_causal, scale, q, k, v)
    mo = None if m is None else ag.tensor(m)
    mt = None if m is None else torch.tensor(m)
    ours = _Fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mo, is_causal=is_causal, scale=scale))
    theirs = _Fn(lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, mt, is_causal=is_causal, scale=scale))
    assert_matches_torch(ours, theirs, [q, k, v])


def test_scaled_dot_product_attention_gradients_match_finite_differences():
    k, v = R(2, 5, 3, seed=1), R(2, 5, 2, seed=2)
    gradcheck(lambda q: F.scaled_dot_product_attention(q, ag.tensor(k), ag.tensor(v), is_causal=True), R(2, 5, 3))
    m = ag.tensor(R(4, 5) > 0)
    gradcheck(lambda kk, vv: F.scaled_dot_product_attention(ag.tensor(R(2, 4, 3)), kk, vv, attn_mask=m), k, v)


def test_scaled_dot_product_attention_dropout_keeps_expectation():
    ag.manual_seed(0)
    q, k, v = (ag.tensor(R(64, 4, 8, seed=i)) for i in range(3))
    full = F.scaled_dot_product_attention(q, k, v).numpy()
    drop = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy() for _ in range(40)], 0)
    assert not np.allclose(drop, full) and abs(drop.mean() - full.mean()) < 0.05


def test_scaled_dot_product_attention_bad_input_raises_torch_errors():
    q, k, v = R(2, 3, 4), R(2, 5, 4), R(2, 5, 4)
    for kw in [dict(attn_mask=np.ones((3, 5), bool), is_causal=True), dict(attn_mask=np.ones((3, 5), np.int64))]:
        with pytest.raises(RuntimeError) as eo:
            F.scaled_dot_product_attention(*map(ag.tensor, (q, k, v)), attn_mask=ag.tensor(kw["attn_mask"]),
                                           is_causal=kw.get("is_causal", False))
        with pytest.raises(RuntimeError) as et:
            TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(kw["attn_mask"]),
                                            is_causal=kw.get("is_causal", False))
        assert str(eo.value).split("dtype:")[0] == str(et.value).split("dtype:")[0]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multihead_self_attention_matches_torch(batch_first, need_weights, average):
    x = R(2, 5, 8) if batch_first else R(5, 2, 8)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 3:] = True
    am = R(5, 5, seed=4)

    def call(lib):
        def f(m, x):
            return m(x, x, x, key_padding_mask=lib.tensor(kpm), attn_mask=lib.tensor(am), need_weights=need_weights,
                     average_attn_weights=average)
        return f

    ours, theirs = nn.MultiheadAttention(8, 2, batch_first=batch_first).double(), \
        tnn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    assert_matches_torch(ours, theirs, [x], call(ag), call(torch))


def test_multihead_cross_attention_with_kdim_vdim_matches_torch():
    ours = nn.MultiheadAttention(8, 4, kdim=3, vdim=5, bias=False).double()
    theirs = tnn.MultiheadAttention(8, 4, kdim=3, vdim=5, bias=False).double()
    m = R(4, 6, seed=5) > 0
    m[:, 0] = False
    assert_matches_torch(ours, theirs, [R(4, 2, 8), R(6, 2, 3, seed=1), R(6, 2, 5, seed=2)],
                         lambda M, q, k, v: M(q, k, v, attn_mask=ag.tensor(m)),
                         lambda M, q, k, v: M(q, k, v, attn_mask=torch.tensor(m)))
    assert list(ours.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight"]


def test_multihead_attention_unbatched_matches_torch():
    ours, theirs = nn.MultiheadAttention(6, 3).double(), tnn.MultiheadAttention(6, 3).double()
    assert_matches_torch(ours, theirs, [R(4, 6), R(3, 6, seed=1)], lambda M, q, k: M(q, k, k),
                         lambda M, q, k: M(q, k, k))


def test_multihead_attention_bad_masks_raise_torch_errors():
    m, t = nn.MultiheadAttention(4, 2), tnn.MultiheadAttention(4, 2)
    x = np.zeros((3, 2, 4), np.float32)
    bad = [dict(attn_mask=np.ones((2, 2), bool)), dict(attn_mask=np.ones((1, 3, 3), bool)),
           dict(attn_mask=np.ones((1, 1, 3, 3), bool)), dict(key_padding_mask=np.ones((2, 4), bool)),
           dict(is_causal=True)]
    def args(lib, kw):
        return {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}

    for kw in bad:
        with pytest.raises((RuntimeError, AssertionError)) as et:
            t(*[torch.tensor(x)] * 3, **args(torch, kw))
        with pytest.raises(et.type) as eo:
            m(*[ag.tensor(x)] * 3, **args(ag, kw))
        if et.type is RuntimeError:
            assert str(eo.value) == str(et.value)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 4, but got 5"):
        m(ag.zeros(3, 2, 5), ag.zeros(3, 2, 4), ag.zeros(3, 2, 4))
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_matches_torch(norm_first, activation):
    kw = dict(dim_feedforward=16, activation=activation, norm_first=norm_first)
    ours, theirs = nn.TransformerEncoderLayer(8, 2, **kw).double(), tnn.TransformerEncoderLayer(8, 2, **kw).double()
    kpm = np.zeros((2, 5), bool)
    kpm[0, 4] = True
    assert_matches_torch(ours, theirs, [R(5, 2, 8)], lambda m, x: m(x, src_key_padding_mask=ag.tensor(kpm)),
                         lambda m, x: m(x, src_key_padding_mask=torch.tensor(kpm)))


def test_transformer_decoder_layer_causal_batch_first_callable_activation_matches_torch():
    ours = nn.TransformerDecoderLayer(8, 2, 16, activation=nn.functional.silu, batch_first=True).double()
    theirs = tnn.TransformerDecoderLayer(8, 2, 16, activation=TF.silu, batch_first=True).double()
    cm = tnn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(4, dtype=ag.float64).numpy(),
                                  cm.numpy())
    assert_matches_torch(ours, theirs, [R(2, 4, 8), R(2, 5, 8, seed=1)],
                         lambda m, t, s: m(t, s, tgt_mask=ag.tensor(cm.numpy()), tgt_is_causal=True),
                         lambda m, t, s: m(t, s, tgt_mask=cm, tgt_is_causal=True))


def test_transformer_matches_torch_and_loads_its_checkpoint():
    ours = nn.Transformer(8, 2, 2, 1, 16).double()
    theirs = tnn.Transformer(8, 2, 2, 1, 16).double()
    cm = tnn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    assert_matches_torch(ours, theirs, [R(5, 2, 8), R(4, 2, 8, seed=1)],
                         lambda m, s, t: m(s, t, tgt_mask=ag.tensor(cm.numpy())),
                         lambda m, s, t: m(s, t, tgt_mask=cm))
    assert "encoder.layers.1.self_attn.in_proj_weight" in ours.state_dict()
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        ours(ag.zeros(5, 2, 8, dtype=ag.float64), ag.zeros(4, 3, 8, dtype=ag.float64))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(L=st.integers(1, 4), N=st.integers(1, 3), heads=st.sampled_from([1, 2, 4]), batch_first=st.booleans(),
       norm_first=st.booleans(), bias=st.booleans())
def test_transformer_encoder_over_shapes_and_flags_matches_torch(L, N, heads, batch_first, norm_first, bias):
    kw = dict(dim_feedforward=8, batch_first=batch_first, norm_first=norm_first, bias=bias)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, heads, **kw), 2).double()
    theirs = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(8, heads, **kw), 2, enable_nested_tensor=False).double()
    assert_matches_torch(ours, theirs, [R(N, L, 8) if batch_first else R(L, N, 8)])


def test_transformer_encoder_second_derivative_matches_torch():
    ours = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0).double()
    theirs = tnn.TransformerEncoderLayer(4, 2, 8, dropout=0.0).double()
    load_torch_state(ours, theirs)
    x = R(3, 2, 4)
    xo, xt = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    go, = ag.autograd.grad(ours(xo).pow(3).sum(), xo, create_graph=True)
    go.pow(2).sum().backward()
    # torch's CPU flash-attention kernel has no second derivative: its math backend is the reference
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.MATH):
        gt, = torch.autograd.grad(theirs(xt).pow(3).sum(), xt, create_graph=True)
        gt.pow(2).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-9)
