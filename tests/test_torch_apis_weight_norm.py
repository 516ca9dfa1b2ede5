"""nn.utils.weight_norm / spectral_norm (torch's hook forms) against torch 2.13: parameter and buffer names,
initial values, forwards, power-iteration buffers and gradients, removal."""
import warnings

import numpy as np
import pytest

import autograd as A
import autograd.nn as nn

torch = pytest.importorskip("torch")


def _copy(ours, theirs):
    ours.load_state_dict({k: A.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_matches_torch(dim):
    torch.manual_seed(0)
    t = torch.nn.Conv2d(2, 3, 3).double()
    o = nn.Conv2d(2, 3, 3).double()
    _copy(o, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tw = torch.nn.utils.weight_norm(t, dim=dim)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        ow = nn.utils.weight_norm(o, dim=dim)
    assert sorted(ow.state_dict()) == sorted(tw.state_dict())
    for k, v in tw.state_dict().items():
        np.testing.assert_allclose(ow.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    yo, yt = ow(A.tensor(x)), tw(torch.tensor(x))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    (yo ** 2).sum().backward()
    (yt ** 2).sum().backward()
    for n in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(getattr(ow, n).grad.numpy(), getattr(tw, n).grad.numpy(), rtol=1e-9)
    nn.utils.remove_weight_norm(ow)
    torch.nn.utils.remove_weight_norm(tw)
    assert sorted(ow.state_dict()) == sorted(tw.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ow.weight.detach().numpy(), tw.weight.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError):
        nn.utils.remove_weight_norm(ow)


@pytest.mark.parametrize("layer", ["linear", "conv_transpose"])
def test_spectral_norm_matches_torch(layer):
    torch.manual_seed(1)
    make_t = {"linear": lambda: torch.nn.Linear(4, 5), "conv_transpose": lambda: torch.nn.ConvTranspose2d(3, 2, 3)}
    make_o = {"linear": lambda: nn.Linear(4, 5), "conv_transpose": lambda: nn.ConvTranspose2d(3, 2, 3)}
    t, o = make_t[layer]().double(), make_o[layer]().double()
    tw = torch.nn.utils.spectral_norm(t, n_power_iterations=2)
    ow = nn.utils.spectral_norm(o, n_power_iterations=2)
    assert sorted(ow.state_dict()) == sorted(tw.state_dict())
    assert ow.weight_u.shape == tuple(tw.weight_u.shape) and ow.weight_v.shape == tuple(tw.weight_v.shape)
    _copy(ow, tw)
    shape = (3, 4) if layer == "linear" else (2, 3, 4, 4)
    x = np.random.default_rng(1).standard_normal(shape)
    for _ in range(2):   # training forwards: one power iteration each, the buffers follow
        yo, yt = ow(A.tensor(x)), tw(torch.tensor(x))
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-9)
        np.testing.assert_allclose(ow.weight_u.numpy(), tw.weight_u.numpy(), rtol=1e-9)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(ow.weight_orig.grad.numpy(), tw.weight_orig.grad.numpy(), rtol=1e-8, atol=1e-12)
    ow.eval(), tw.eval()
    u = ow.weight_u.numpy().copy()
    np.testing.assert_allclose(ow(A.tensor(x)).detach().numpy(), tw(torch.tensor(x)).detach().numpy(), rtol=1e-9)
    np.testing.assert_array_equal(ow.weight_u.numpy(), u)   # eval: no power iteration
    nn.utils.remove_spectral_norm(ow)
    torch.nn.utils.remove_spectral_norm(tw)
    assert sorted(ow.state_dict()) == sorted(tw.state_dict())
    np.testing.assert_allclose(ow.weight.detach().numpy(), tw.weight.detach().numpy(), rtol=1e-9)


def test_spectral_norm_estimate_converges_to_largest_singular_value():
    A.manual_seed(0)
    lin = nn.utils.spectral_norm(nn.Linear(6, 4).double(), n_power_iterations=50)
    lin(A.zeros(1, 6, dtype=A.float64))
    s = np.linalg.svd(lin.weight_orig.detach().numpy(), compute_uv=False)[0]
    np.testing.assert_allclose(np.linalg.svd(lin.weight.detach().numpy(), compute_uv=False)[0], 1.0, rtol=1e-8)
    assert s > 0
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(lin)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm_matches_torch(dim):
    from autograd.nn.utils import parametrize

    torch.manual_seed(2)
    t, o = torch.nn.Linear(4, 3).double(), nn.Linear(4, 3).double()
    _copy(o, t)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    nn.utils.parametrizations.weight_norm(o, dim=dim)
    assert type(o).__name__ == type(t).__name__ == "ParametrizedLinear" and isinstance(o, nn.Linear)
    assert sorted(o.state_dict()) == sorted(t.state_dict())
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(o.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    assert sorted(n for n, _ in o.named_parameters()) == sorted(n for n, _ in t.named_parameters())
    x = np.random.default_rng(2).standard_normal((5, 4))
    yo, yt = o(A.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    (yo ** 2).sum().backward()
    (yt ** 2).sum().backward()
    go = {n: p.grad.numpy() for n, p in o.named_parameters()}
    for n, p in t.named_parameters():
        np.testing.assert_allclose(go[n], p.grad.numpy(), rtol=1e-9)
    o.weight = A.tensor(t.weight.detach().numpy() * 2)   # assigning goes through right_inverse, as torch
    t.weight = t.weight.detach() * 2
    np.testing.assert_allclose(o.parametrizations.weight.original0.detach().numpy(),
                               t.parametrizations.weight.original0.detach().numpy(), rtol=1e-12)
    assert parametrize.is_parametrized(o, "weight") and not parametrize.is_parametrized(o, "bias")
    parametrize.remove_parametrizations(o, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(o) is nn.Linear and sorted(o.state_dict()) == sorted(t.state_dict())
    np.testing.assert_allclose(o.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-12)


def test_parametrizations_spectral_norm_matches_torch():
    torch.manual_seed(3)
    t, o = torch.nn.Conv2d(2, 4, 3).double(), nn.Conv2d(2, 4, 3).double()
    _copy(o, t)
    torch.nn.utils.parametrizations.spectral_norm(t)
    nn.utils.parametrizations.spectral_norm(o)
    assert sorted(o.state_dict()) == sorted(t.state_dict())
    _copy(o, t)   # torch's random power-iteration start
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 5))
    for _ in range(2):
        yo, yt = o(A.tensor(x)), t(torch.tensor(x))
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(o.parametrizations.weight[0]._u.numpy(), t.parametrizations.weight[0]._u.numpy(),
                               rtol=1e-9)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(o.parametrizations.weight.original.grad.numpy(),
                               t.parametrizations.weight.original.grad.numpy(), rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        nn.utils.parametrizations.spectral_norm(o, "nope")


def test_parametrize_cached_computes_once_and_custom_parametrization():
    from autograd.nn.utils import parametrize

    calls = []

    class Symmetric(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X.triu() + X.triu(1).transpose(-1, -2)

    lin = nn.Linear(3, 3)
    parametrize.register_parametrization(lin, "weight", Symmetric())
    W = lin.weight.detach().numpy()
    np.testing.assert_array_equal(W, W.T)
    calls.clear()
    with parametrize.cached():
        a, b = lin.weight, lin.weight
    assert a is b and len(calls) == 1
    lin.weight  # noqa: B018
    assert len(calls) == 2
    class FirstRow(nn.Module):
        def forward(self, X):
            return X[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(3, 2), "weight", FirstRow())
    with pytest.raises(ValueError) as theirs:
        class TFirstRow(torch.nn.Module):
            def forward(self, X):
                return X[:1]
        torch.nn.utils.parametrize.register_parametrization(torch.nn.Linear(3, 2), "weight", TFirstRow())
    assert "may not change the shape" in str(theirs.value)
