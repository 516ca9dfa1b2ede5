"""torch.distributions' Normal / Bernoulli / Categorical and kl_divergence against torch 2.13: log_prob,
entropy, moments, shapes, gradients (float64), validation errors; samples by their moments (fixed seeds)."""
import numpy as np
import pytest

import autograd as A
from autograd import distributions as D

torch = pytest.importorskip("torch")
TD = torch.distributions
RNG = np.random.default_rng(0)


def _both(*arrays):
    return ([A.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays])


def _close(o, t, rtol=1e-10):
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=1e-12)


def _grads_close(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_normal_log_prob_entropy_cdf_kl_and_gradients_match_torch():
    (lo, so, lo2, so2), (lt, st, lt2, st2) = _both(RNG.standard_normal(4), RNG.uniform(0.5, 2, 4),
                                                   RNG.standard_normal(4), RNG.uniform(0.5, 2, 4))
    x = RNG.standard_normal((3, 4))
    po, pt = D.Normal(lo, so), TD.Normal(lt, st)
    assert po.batch_shape == tuple(pt.batch_shape) and po.event_shape == () and repr(po) == repr(pt)
    total_o = po.log_prob(A.tensor(x)).sum() + po.entropy().sum() + po.cdf(A.tensor(x)).sum() + \
        D.kl_divergence(po, D.Normal(lo2, so2)).sum()
    total_t = pt.log_prob(torch.tensor(x)).sum() + pt.entropy().sum() + pt.cdf(torch.tensor(x)).sum() + \
        TD.kl_divergence(pt, TD.Normal(lt2, st2)).sum()
    _close(total_o, total_t)
    total_o.backward()
    total_t.backward()
    _grads_close([lo, so, lo2, so2], [lt, st, lt2, st2])
    for name in ("mean", "stddev", "variance", "mode"):
        _close(getattr(po, name), getattr(pt, name))
    assert repr(D.Normal(0.0, 1.0)) == repr(TD.Normal(0.0, 1.0))


def test_normal_rsample_reparameterises_and_sample_moments():
    A.manual_seed(0)
    loc, scale = A.tensor([1.0, -2.0], requires_grad=True), A.tensor([0.5, 3.0], requires_grad=True)
    d = D.Normal(loc, scale)
    z = d.rsample((20000,))
    assert z.shape == (20000, 2) and d.has_rsample
    np.testing.assert_allclose(z.mean(0).detach().numpy(), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0).detach().numpy(), [0.5, 3.0], rtol=0.03)
    z.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [20000.0, 20000.0])
    eps = (z.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-4)
    s = d.sample((3,))
    assert s.shape == (3, 2) and not s.requires_grad


def test_bernoulli_matches_torch_from_probs_and_logits():
    p = RNG.uniform(0.05, 0.95, 5)
    v = (RNG.random((2, 5)) < 0.5).astype(np.float64)
    for kind in ("probs", "logits"):
        arr = p if kind == "probs" else np.log(p / (1 - p))
        (o,), (t,) = _both(arr)
        do, dt = D.Bernoulli(**{kind: o}), TD.Bernoulli(**{kind: t})
        q = RNG.uniform(0.05, 0.95, 5)
        total_o = do.log_prob(A.tensor(v)).sum() + do.entropy().sum() + do.variance.sum() + \
            D.kl_divergence(do, D.Bernoulli(A.tensor(q))).sum()
        total_t = dt.log_prob(torch.tensor(v)).sum() + dt.entropy().sum() + dt.variance.sum() + \
            TD.kl_divergence(dt, TD.Bernoulli(torch.tensor(q))).sum()
        _close(total_o, total_t)
        total_o.backward()
        total_t.backward()
        _grads_close([o], [t])
        _close(do.probs, dt.probs)
        _close(do.logits, dt.logits)
        assert repr(do) == repr(dt)
    A.manual_seed(1)
    s = D.Bernoulli(A.tensor([0.2, 0.9])).sample((20000,))
    assert s.shape == (20000, 2) and s.dtype == A.float32
    np.testing.assert_allclose(s.mean(0).numpy(), [0.2, 0.9], atol=0.01)


def test_categorical_matches_torch_from_probs_and_logits():
    w = RNG.uniform(0.1, 2.0, (3, 4))
    v = np.array([[0, 3, 1], [2, 2, 0]])
    for kind in ("probs", "logits"):
        arr = w if kind == "probs" else np.log(w)
        (o,), (t,) = _both(arr)
        do, dt = D.Categorical(**{kind: o}), TD.Categorical(**{kind: t})
        assert do.batch_shape == (3,) and do.event_shape == () and repr(do) == repr(dt)
        q = RNG.uniform(0.1, 2.0, (3, 4))
        total_o = do.log_prob(A.tensor(v)).sum() + do.entropy().sum() + \
            D.kl_divergence(do, D.Categorical(A.tensor(q))).sum()
        total_t = dt.log_prob(torch.tensor(v)).sum() + dt.entropy().sum() + \
            TD.kl_divergence(dt, TD.Categorical(torch.tensor(q))).sum()
        _close(total_o, total_t)
        total_o.backward()
        total_t.backward()
        _grads_close([o], [t])
        _close(do.probs, dt.probs)
        _close(do.logits, dt.logits)
        np.testing.assert_array_equal(do.mode.numpy(), dt.mode.numpy())
        np.testing.assert_array_equal(do.enumerate_support().numpy(), dt.enumerate_support().numpy())
    A.manual_seed(2)
    d = D.Categorical(A.tensor([[1.0, 3.0, 0.0], [0.0, 0.0, 1.0]]))
    s = d.sample((4000,))
    assert s.shape == (4000, 2) and s.dtype == A.int64
    np.testing.assert_allclose(np.bincount(s.numpy()[:, 0], minlength=3) / 4000, [0.25, 0.75, 0.0], atol=0.03)
    assert (s.numpy()[:, 1] == 2).all()
    assert d.sample().shape == (2,)


@pytest.mark.parametrize("case", ["neg_scale", "nan_value", "neither", "both", "probs_high", "simplex",
                                  "cat_value", "bern_value", "cat_scalar"])
def test_validation_errors_match_torch(case):
    call = {
        "neg_scale": lambda M, T: M.Normal(T.zeros(2), -T.ones(2)),
        "nan_value": lambda M, T: M.Normal(0.0, 1.0).log_prob(T.tensor(float("nan"))),
        "neither": lambda M, T: M.Bernoulli(),
        "both": lambda M, T: M.Bernoulli(T.tensor(0.5), T.tensor(0.0)),
        "probs_high": lambda M, T: M.Bernoulli(probs=T.tensor(1.5)),
        "simplex": lambda M, T: M.Categorical(probs=T.tensor([-1.0, 2.0])),
        "cat_value": lambda M, T: M.Categorical(T.tensor([0.5, 0.5])).log_prob(T.tensor(2)),
        "bern_value": lambda M, T: M.Bernoulli(0.25).log_prob(T.tensor(0.5)),
        "cat_scalar": lambda M, T: M.Categorical(probs=T.tensor(0.5)),
    }[case]
    with pytest.raises(ValueError) as theirs:
        call(TD, torch)
    with pytest.raises(ValueError) as mine:
        call(D, A)
    first = lambda e: str(e.value).split("\n")[0]   # noqa: E731  (the printed values differ in layout)
    assert first(mine) == first(theirs)
    D.Normal(A.zeros(2), -A.ones(2), validate_args=False)   # validation off: accepted, as torch


def test_unsupported_distribution_fails_by_name():
    with pytest.raises(AttributeError, match="torch.distributions.Wishart"):
        D.Wishart  # noqa: B018
    from autograd.distributions.kl import kl_divergence

    with pytest.raises(NotImplementedError):
        kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5))


def test_independent_normal_matches_torch():
    (lo, so), (lt, st) = _both(RNG.standard_normal((3, 2)), RNG.uniform(0.5, 2, (3, 2)))
    do, dt = D.Independent(D.Normal(lo, so), 1), TD.Independent(TD.Normal(lt, st), 1)
    assert do.batch_shape == (3,) and do.event_shape == (2,) and repr(do) == repr(dt) and do.has_rsample
    x = RNG.standard_normal((4, 3, 2))
    q = RNG.standard_normal((3, 2))
    total_o = do.log_prob(A.tensor(x)).sum() + do.entropy().sum() + \
        D.kl_divergence(do, D.Independent(D.Normal(A.tensor(q), 1.0), 1)).sum()
    total_t = dt.log_prob(torch.tensor(x)).sum() + dt.entropy().sum() + \
        TD.kl_divergence(dt, TD.Independent(TD.Normal(torch.tensor(q), 1.0), 1)).sum()
    assert do.log_prob(A.tensor(x)).shape == (4, 3)
    _close(total_o, total_t)
    total_o.backward()
    total_t.backward()
    _grads_close([lo, so], [lt, st])
    assert do.rsample((5,)).shape == (5, 3, 2)
    with pytest.raises(ValueError, match=r"actual 3 vs 2"):
        D.Independent(D.Normal(lo, so), 3)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(do, D.Independent(D.Normal(lo, so), 2))
    with pytest.raises(ValueError, match="must be a Tensor"):
        D.Normal(0.0, 1.0).log_prob(1.0)
