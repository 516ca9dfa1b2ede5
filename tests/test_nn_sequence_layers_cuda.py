"""The recurrent, attention, transposed-convolution, normalization and interpolation layers on CUDA: on the
CuPy stand-in (or a real GPU), the same outputs and gradients as on the CPU."""
import numpy as np
import pytest

import autograd as ag
from autograd import nn
import autograd.nn.functional as F
from autograd.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def _run(module, arrays, call, device):
    m = module.to(device)
    xs = [ag.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs = call(m, *xs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    loss = sum((o * o).sum() for o in outs if o is not None)
    m.zero_grad()
    loss.backward()
    vals = [o.cpu().numpy() for o in outs if o is not None]
    grads = [x.grad.cpu().numpy() for x in xs if x.grad is not None]
    pgrads = [p.grad.cpu().numpy() for p in m.parameters() if p.grad is not None]
    return vals, grads, pgrads


def _lstm_packed(m, x):
    out, (h, c) = m(pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False))
    return pad_packed_sequence(out)[0], h, c


CASES = {
    "lstm": (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2), [(4, 3, 3)], _lstm_packed),
    "gru": (lambda: nn.GRU(3, 4, batch_first=True), [(2, 5, 3)], lambda m, x: m(x)),
    "lstm_cell": (lambda: nn.LSTMCell(3, 4), [(2, 3)], lambda m, x: m(x)),
    "mha": (lambda: nn.MultiheadAttention(8, 2), [(5, 2, 8)], lambda m, x: m(x, x, x, attn_mask=ag.tensor(
        np.triu(np.ones((5, 5), bool), 1), device=x.device))),
    "encoder_layer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=True, activation="gelu"),
                      [(5, 2, 8)], lambda m, x: m(x)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
                         [(2, 4, 5, 5)], lambda m, x: m(x)),
    "conv1d": (lambda: nn.Conv1d(4, 6, 3, padding=1), [(2, 4, 7)], lambda m, x: m(x)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), [(2, 4, 3, 3)], lambda m, x: m(x)),
    "rms_norm": (lambda: nn.RMSNorm(5), [(2, 3, 5)], lambda m, x: m(x)),
    "upsample": (lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), [(1, 2, 3, 4)],
                 lambda m, x: m(x)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_layer_on_cuda_matches_cpu(name, cuda_env):
    make, shapes, call = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ag.manual_seed(0)
    cpu_mod = make().double()
    gpu_mod = make().double()
    gpu_mod.load_state_dict(cpu_mod.state_dict())
    want = _run(cpu_mod, arrays, call, "cpu")
    got = _run(gpu_mod, arrays, call, "cuda")
    for a_list, b_list in zip(want, got):
        assert len(a_list) == len(b_list)
        for a, b in zip(a_list, b_list):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_attention_and_einsum_functions_on_cuda_match_cpu(cuda_env):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 2, 4, 3)) for _ in range(3))
    mask = rng.random((4, 4)) > 0.3
    for dev in ("cpu", "cuda"):
        qs = [ag.tensor(a, device=dev, requires_grad=True) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*qs, attn_mask=ag.tensor(mask, device=dev)) + \
            F.scaled_dot_product_attention(*qs, is_causal=True)
        e = ag.einsum("bhqd,bhkd->bhqk", qs[0], qs[1])
        ((out ** 2).sum() + (e ** 2).sum()).backward()
        res = [out.cpu().numpy(), e.cpu().numpy()] + [t.grad.cpu().numpy() for t in qs]
        if dev == "cpu":
            ref = res
    for a, b in zip(ref, res):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
