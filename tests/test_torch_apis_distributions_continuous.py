"""torch.distributions' Uniform / Exponential / Laplace against torch 2.13: log_prob, cdf, icdf, entropy,
moments, repr, the KL divergence between two of a kind, and their gradients (float64); validation errors;
reparameterised samples by their moments and their gradients (fixed seeds)."""
import numpy as np
import pytest

import autograd as A
from autograd import distributions as D

torch = pytest.importorskip("torch")
TD = torch.distributions
RNG = np.random.default_rng(3)


def _pair(name, ps, lib):
    return getattr(D if lib is A else TD, name)(*[lib.tensor(p, requires_grad=True) for p in ps])


PARAMS = {
    "Uniform": [(np.array([-1.0, 0.5, 2.0]), np.array([1.0, 3.0, 2.5])),
                (np.array([-2.0, 0.0, 1.0]), np.array([1.5, 3.5, 4.0]))],
    "Exponential": [(np.array([0.5, 1.0, 3.0]),), (np.array([2.0, 0.7, 1.5]),)],
    "Laplace": [(np.array([-1.0, 0.0, 2.0]), np.array([0.5, 1.0, 2.0])),
                (np.array([0.5, -0.5, 1.0]), np.array([1.5, 0.3, 1.0]))],
}
VALUES = {"Uniform": np.array([[0.0, 1.0, 2.2], [-0.5, 2.9, 2.0]]),
          "Exponential": np.array([[0.0, 1.0, 2.2], [0.3, 2.9, 0.01]]),
          "Laplace": np.array([[0.0, 1.0, -2.2], [-0.5, 2.9, 2.0]])}


@pytest.mark.parametrize("name", list(PARAMS))
def test_formulas_kl_and_gradients_match_torch(name):
    out = {}
    for lib in (A, torch):
        ps = [lib.tensor(p, requires_grad=True) for p in PARAMS[name][0]]
        qs = [lib.tensor(p, requires_grad=True) for p in PARAMS[name][1]]
        mod = D if lib is A else TD
        p, q = getattr(mod, name)(*ps), getattr(mod, name)(*qs)
        v = lib.tensor(VALUES[name])
        probs = lib.tensor(np.array([0.1, 0.5, 0.93]))
        parts = [p.log_prob(v), p.cdf(v), p.icdf(probs), p.entropy(), p.mean, p.variance, p.stddev,
                 mod.kl_divergence(p, q), mod.kl_divergence(q, p)]
        total = sum(x.sum() for x in parts)
        total.backward()
        out[lib] = ([x.detach().numpy() for x in parts], [t.grad.numpy() for t in ps + qs], repr(p),
                    tuple(p.batch_shape), p.mode.detach().numpy())
    (vo, go, ro, bo, mo), (vt, gt, rt, bt, mt) = out[A], out[torch]
    for a, b in zip(vo, vt):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(go, gt):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert ro == rt and bo == bt
    np.testing.assert_array_equal(mo, mt)


def test_uniform_kl_is_infinite_where_q_does_not_cover_p():
    got = D.kl_divergence(D.Uniform(A.tensor([0.0, 0.0]), A.tensor([1.0, 2.0])),
                          D.Uniform(A.tensor([0.5, -1.0]), A.tensor([1.0, 3.0])))
    want = TD.kl_divergence(TD.Uniform(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0])),
                            TD.Uniform(torch.tensor([0.5, -1.0]), torch.tensor([1.0, 3.0])))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("name", list(PARAMS))
def test_rsample_moments_and_reparameterised_gradient(name):
    A.manual_seed(0)
    ps = [A.tensor(p, requires_grad=True) for p in PARAMS[name][0]]
    d = getattr(D, name)(*ps)
    x = d.rsample((40000,))
    assert tuple(x.shape) == (40000, 3) and d.has_rsample
    np.testing.assert_allclose(x.mean(0).detach().numpy(), d.mean.detach().numpy(), atol=0.05)
    np.testing.assert_allclose(x.var(0).detach().numpy(), d.variance.detach().numpy(), rtol=0.06)
    assert np.all(np.isfinite(d.log_prob(x.detach()).detach().numpy()))
    x.mean(0).sum().backward()          # d E[x] / d params, estimated through the samples
    dmean = [p.grad.numpy() for p in ps]
    for p in ps:
        p.grad = None
    d.mean.sum().backward()
    for a, p in zip(dmean, ps):
        want = np.zeros_like(a) if p.grad is None else p.grad.numpy()
        np.testing.assert_allclose(a, want, rtol=0.03, atol=0.02)
    assert not d.sample().requires_grad


CASES = [
    ("Uniform", (1.0, 0.0)),
    ("Exponential", (-1.0,)),
    ("Laplace", (0.0, -2.0)),
]


@pytest.mark.parametrize("name,args", CASES)
def test_validation_errors_match_torch(name, args):
    with pytest.raises(ValueError) as mine:
        getattr(D, name)(*[A.tensor(a) for a in args])
    with pytest.raises(ValueError) as theirs:
        getattr(TD, name)(*[torch.tensor(a) for a in args])
    assert str(mine.value).split("\n")[0] == str(theirs.value).split("\n")[0]


@pytest.mark.parametrize("name,bad", [("Uniform", 5.0), ("Exponential", -1.0)])
def test_values_outside_the_support_are_refused_as_torch(name, bad):
    ours = getattr(D, name)(*[A.tensor(p) for p in PARAMS[name][0]])
    theirs = getattr(TD, name)(*[torch.tensor(p) for p in PARAMS[name][0]])
    with pytest.raises(ValueError) as mine:
        ours.log_prob(A.tensor([bad] * 3))
    with pytest.raises(ValueError) as want:
        theirs.log_prob(torch.tensor([bad] * 3))
    head = lambda e: str(e.value).split("support")[0]   # noqa: E731  (the bounds print in each library's layout)
    assert head(mine) == head(want)
