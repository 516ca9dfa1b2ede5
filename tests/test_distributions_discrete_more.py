"""The discrete distributions (Poisson, Binomial, Multinomial, Geometric, NegativeBinomial, OneHotCategorical, the
relaxed ones) against torch 2.13 in float64: values, moments, gradients, shapes, validation, KL; sample moments
against the closed forms."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as ag  # noqa: E402
import autograd.distributions as D  # noqa: E402
import torch.distributions as TD  # noqa: E402


def pair(values):
    """The same float64 leaf in both libraries."""
    a = np.asarray(values, dtype=np.float64)
    return ag.tensor(a, dtype=ag.float64, requires_grad=True), torch.tensor(a, dtype=torch.float64, requires_grad=True)


def close(ours, ref, tol=1e-10):
    o = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    r = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    assert o.shape == r.shape, (o.shape, r.shape)
    np.testing.assert_allclose(o, r, rtol=tol, atol=tol)


def same_value(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype=ag.float64), torch.tensor(a, dtype=torch.float64)


# (name, build(lib, params...), params, values, moments)
CASES = [
    ("Poisson", lambda L, r: L.Poisson(r), [[0.5, 2.0, 7.5]], [[0.0, 3.0, 9.0]], ("mean", "mode", "variance")),
    ("Binomial", lambda L, p: L.Binomial(10, p), [[0.1, 0.5, 0.93]], [[0.0, 4.0, 10.0]],
     ("mean", "mode", "variance")),
    ("BinomialLogits", lambda L, lg: L.Binomial(torch.tensor(6.0, dtype=torch.float64) if L is TD else
                                                ag.tensor(6.0, dtype=ag.float64), logits=lg),
     [[-2.0, 0.3, 4.0]], [[1.0, 6.0, 2.0]], ("mean", "mode", "variance")),
    ("Geometric", lambda L, p: L.Geometric(p), [[0.2, 0.5, 1.0]], [[3.0, 0.0, 0.0]], ("mean", "mode", "variance")),
    ("GeometricLogits", lambda L, lg: L.Geometric(logits=lg), [[-1.0, 0.0, 2.5]], [[3.0, 0.0, 5.0]],
     ("mean", "variance")),
    ("NegativeBinomial", lambda L, k, p: L.NegativeBinomial(k, p), [[2.0, 0.5, 7.0], [0.3, 0.6, 0.1]],
     [[0.0, 3.0, 11.0]], ("mean", "mode", "variance")),
    ("NegativeBinomialLogits", lambda L, k, lg: L.NegativeBinomial(k, logits=lg), [[1.5, 3.0], [0.4, -2.0]],
     [[4.0, 0.0]], ("mean", "mode", "variance")),
    ("Multinomial", lambda L, p: L.Multinomial(6, p), [[[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]],
     [[[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]]], ("mean", "variance")),
    ("MultinomialLogits", lambda L, lg: L.Multinomial(4, logits=lg), [[0.2, -1.3, 0.5, 2.0]],
     [[1.0, 0.0, 2.0, 1.0]], ("mean", "variance")),
    ("OneHotCategorical", lambda L, p: L.OneHotCategorical(p), [[[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]],
     [[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]], ("mean", "mode", "variance")),
    ("OneHotCategoricalLogits", lambda L, lg: L.OneHotCategorical(logits=lg), [[0.2, -1.3, 0.5]],
     [[0.0, 0.0, 1.0]], ("mean", "mode", "variance")),
]


@pytest.mark.parametrize("name,build,params,values,moments", CASES, ids=[c[0] for c in CASES])
def test_values_moments_and_gradients_match_torch(name, build, params, values, moments):
    pairs = [pair(p) for p in params]
    ours, ref = build(D, *[p[0] for p in pairs]), build(TD, *[p[1] for p in pairs])
    assert ours.batch_shape == tuple(ref.batch_shape) and ours.event_shape == tuple(ref.event_shape)
    v_ours, v_ref = same_value(values[0])
    lp_ours, lp_ref = ours.log_prob(v_ours), ref.log_prob(v_ref)
    close(lp_ours, lp_ref)
    for m in moments:
        close(getattr(ours, m), getattr(ref, m))
    try:
        ent_ref = ref.entropy()
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.entropy()
        ent_ref = None
    if ent_ref is not None:
        close(ours.entropy(), ent_ref)
    # gradients of log_prob (and entropy) w.r.t. every parameter
    total_ours = lp_ours.sum() + (ours.entropy().sum() if ent_ref is not None else 0)
    total_ref = lp_ref.sum() + (ent_ref.sum() if ent_ref is not None else 0)
    g_ours = ag.autograd.grad(total_ours, [p[0] for p in pairs], allow_unused=True)
    g_ref = torch.autograd.grad(total_ref, [p[1] for p in pairs], allow_unused=True)
    for a, b in zip(g_ours, g_ref):
        if b is None:
            assert a is None or not np.any(a.numpy())
        else:
            close(a, b)


def test_shapes_sample_and_expand():
    rate, _ = pair([[1.0, 2.0, 3.0]])
    d = D.Poisson(rate)
    assert d.batch_shape == (1, 3) and d.sample((4, 2)).shape == (4, 2, 1, 3)
    e = d.expand((5, 3))
    assert e.batch_shape == (5, 3) and e.sample().shape == (5, 3) and e.log_prob(ag.ones(5, 3)).shape == (5, 3)
    m = D.Multinomial(7, ag.tensor([0.2, 0.3, 0.5]))
    assert m.event_shape == (3,) and m.sample((4,)).shape == (4, 3)
    assert m.expand((2,)).sample((4,)).shape == (4, 2, 3)
    o = D.OneHotCategorical(ag.tensor([[0.2, 0.8], [0.5, 0.5]]))
    assert o.sample((3,)).shape == (3, 2, 2) and o.expand((4, 2)).batch_shape == (4, 2)
    b = D.Binomial(4, ag.tensor([0.5, 0.2])).expand((3, 2))
    assert b.sample((2,)).shape == (2, 3, 2) and b.mean.shape == (3, 2)


def test_enumerate_support_matches_torch():
    for ours, ref in [(D.Binomial(3, ag.tensor([0.2, 0.7])), TD.Binomial(3, torch.tensor([0.2, 0.7]))),
                      (D.OneHotCategorical(ag.tensor([[0.2, 0.8], [0.5, 0.5]])),
                       TD.OneHotCategorical(torch.tensor([[0.2, 0.8], [0.5, 0.5]])))]:
        for expand in (True, False):
            close(ours.enumerate_support(expand), ref.enumerate_support(expand))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        D.Binomial(ag.tensor([2.0, 3.0]), ag.tensor([0.5, 0.5])).enumerate_support()


def test_sample_moments_follow_closed_forms():
    ag.manual_seed(0)
    n = 20000
    checks = [(D.Poisson(ag.tensor([0.7, 4.0], dtype=ag.float64)), None),
              (D.Binomial(9, ag.tensor([0.3, 0.8], dtype=ag.float64)), None),
              (D.Geometric(ag.tensor([0.3, 0.8], dtype=ag.float64)), None),
              (D.NegativeBinomial(ag.tensor([3.0, 0.5], dtype=ag.float64), ag.tensor([0.4, 0.7], dtype=ag.float64)),
               None),
              (D.Multinomial(5, ag.tensor([0.1, 0.3, 0.6], dtype=ag.float64)), None),
              (D.OneHotCategorical(ag.tensor([0.1, 0.3, 0.6], dtype=ag.float64)), None)]
    for d, _ in checks:
        s = d.sample((n,)).numpy()
        assert np.all(s == np.round(s)) and np.all(s >= 0)
        np.testing.assert_allclose(s.mean(0), d.mean.numpy(), rtol=0.05, atol=0.02)
        np.testing.assert_allclose(s.var(0), d.variance.numpy(), rtol=0.1, atol=0.02)


def test_validation_messages_match_torch():
    for ours_fn, ref_fn in [(lambda L, T: L.Poisson(T([-1.0])), None),
                            (lambda L, T: L.Binomial(2, T([1.5])), None),
                            (lambda L, T: L.Binomial(T([2.5]), T([0.5])), None),
                            (lambda L, T: L.Geometric(T([0.0])), None),
                            (lambda L, T: L.NegativeBinomial(T([2.0]), T([1.0])), None)]:
        with pytest.raises(ValueError) as ref_err:
            ours_fn(TD, lambda v: torch.tensor(v))
        with pytest.raises(ValueError) as our_err:
            ours_fn(D, lambda v: ag.tensor(v))
        assert str(our_err.value) == str(ref_err.value)
    D.OneHotCategorical(ag.tensor([0.3, 0.3]))   # normalised first, as torch's: no error
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Binomial(3)
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        D.Multinomial(ag.tensor(3), ag.tensor([0.5, 0.5]))
    for d, bad in [(D.Poisson(ag.tensor([1.0])), [1.5]), (D.Binomial(3, ag.tensor([0.5])), [4.0]),
                   (D.Geometric(ag.tensor([0.5])), [-1.0]),
                   (D.Multinomial(3, ag.tensor([0.5, 0.5])), [3.0, 1.0])]:
        with pytest.raises(ValueError, match="to be within the support"):
            d.log_prob(ag.tensor(bad))
    assert D.Poisson(ag.tensor([1.0]), validate_args=False).log_prob(ag.tensor([-1.0])).shape == (1,)


def test_kl_divergences_match_torch():
    a, ta = pair([0.5, 3.0])
    b, tb = pair([2.0, 1.5])
    pa, tpa = pair([0.2, 0.9])
    pb, tpb = pair([0.6, 0.4])
    cases = [(D.Poisson(a), D.Poisson(b), TD.Poisson(ta), TD.Poisson(tb)),
             (D.Geometric(pa), D.Geometric(pb), TD.Geometric(tpa), TD.Geometric(tpb)),
             (D.Binomial(5, pa), D.Binomial(5, pb), TD.Binomial(5, tpa), TD.Binomial(5, tpb)),
             (D.Binomial(ag.tensor([6.0, 5.0], dtype=ag.float64), pa), D.Binomial(5, pb),
              TD.Binomial(torch.tensor([6.0, 5.0], dtype=torch.float64), tpa), TD.Binomial(5, tpb)),
             (D.Bernoulli(pa), D.Poisson(b), TD.Bernoulli(tpa), TD.Poisson(tb)),
             (D.Poisson(a), D.Bernoulli(pb), TD.Poisson(ta), TD.Bernoulli(tpb))]
    for p, q, tp, tq in cases:
        close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq))
    c1, tc1 = pair([[0.2, 0.3, 0.5]])
    c2, tc2 = pair([[0.6, 0.1, 0.3]])
    ours = D.kl_divergence(D.OneHotCategorical(c1), D.OneHotCategoricalStraightThrough(c2))
    ref = TD.kl_divergence(TD.OneHotCategorical(tc1), TD.OneHotCategoricalStraightThrough(tc2))
    close(ours, ref)
    g, = ag.autograd.grad(ours.sum(), [c1])
    tg, = torch.autograd.grad(ref.sum(), [tc1])
    close(g, tg)
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(3, pa), D.Binomial(5, pb))


def test_straight_through_gradient_is_probs_gradient():
    p, _ = pair([0.2, 0.3, 0.5])
    d = D.OneHotCategoricalStraightThrough(p)
    s = d.rsample((4,))
    assert s.shape == (4, 3) and set(np.unique(s.detach().numpy())) <= {0.0, 1.0}
    weights = ag.tensor([1.0, 2.0, 3.0], dtype=ag.float64)
    (s * weights).sum().backward()
    # probs = p / p.sum(); d(sum_k 4 w_k probs_k)/dp_j = 4 (w_j - sum_k w_k probs_k) / p.sum()
    expected = 4 * (weights.numpy() - (weights.numpy() * p.detach().numpy()).sum())
    np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-12)


def test_relaxed_distributions_log_prob_and_gradients_match_torch():
    temp, ttemp = pair(0.7)
    probs, tprobs = pair([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    x = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    xo, xt = same_value(x)
    ours, ref = D.RelaxedOneHotCategorical(temp, probs), TD.RelaxedOneHotCategorical(ttemp, tprobs)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)
    close(ours.log_prob(xo), ref.log_prob(xt))
    go = ag.autograd.grad(ours.log_prob(xo).sum(), [temp, probs])
    gt = torch.autograd.grad(ref.log_prob(xt).sum(), [ttemp, tprobs])
    for a, b in zip(go, gt):
        close(a, b)
    bp, tbp = pair([0.2, 0.9])
    yo, yt = same_value([0.3, 0.95])
    ours, ref = D.RelaxedBernoulli(temp, bp), TD.RelaxedBernoulli(ttemp, tbp)
    close(ours.log_prob(yo), ref.log_prob(yt))
    go = ag.autograd.grad(ours.log_prob(yo).sum(), [temp, bp])
    gt = torch.autograd.grad(ref.log_prob(yt).sum(), [ttemp, tbp])
    for a, b in zip(go, gt):
        close(a, b)
    from torch.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from autograd.distributions.relaxed import LogitRelaxedBernoulli as OurLogitRelaxedBernoulli
    lo, lt = OurLogitRelaxedBernoulli(temp, logits=bp), LogitRelaxedBernoulli(ttemp, logits=tbp)
    close(lo.log_prob(yo), lt.log_prob(yt))


def test_relaxed_samples_are_reparameterised_and_in_support():
    ag.manual_seed(1)
    temp = ag.tensor(0.5, dtype=ag.float64)
    logits = ag.tensor([0.0, 1.0, -1.0], dtype=ag.float64, requires_grad=True)
    d = D.RelaxedOneHotCategorical(temp, logits=logits)
    s = d.rsample((2000,))
    assert s.shape == (2000, 3) and d.support.check(s).all()
    np.testing.assert_allclose(s.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    s[:, 1].sum().backward()
    assert logits.grad is not None and np.all(np.isfinite(logits.grad.numpy()))
    # at a low temperature the argmax of a draw follows the categorical probabilities
    cold = D.RelaxedOneHotCategorical(ag.tensor(0.05, dtype=ag.float64), logits=logits.detach()).sample((20000,))
    freq = np.bincount(cold.numpy().argmax(-1), minlength=3) / 20000
    np.testing.assert_allclose(freq, np.exp(logits.detach().numpy()) / np.exp(logits.detach().numpy()).sum(),
                               atol=0.02)
    b = D.RelaxedBernoulli(temp, ag.tensor([0.3, 0.8], dtype=ag.float64)).sample((5000,)).numpy()
    assert np.all((b > 0) & (b < 1))
    np.testing.assert_allclose((b > 0.5).mean(0), [0.3, 0.8], atol=0.03)


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_continuous_bernoulli_matches_torch(param):
    # probabilities on both sides of, and inside, torch's Taylor region around 1/2
    raw = [0.1, 0.4995, 0.5, 0.7, 0.95] if param == "probs" else [-2.0, -0.001, 0.0, 0.8, 3.0]
    ours_p, ref_p = pair(raw)
    ours, ref = D.ContinuousBernoulli(**{param: ours_p}), TD.ContinuousBernoulli(**{param: ref_p})
    v_ours, v_ref = same_value([0.2, 0.9, 0.5, 0.01, 1.0])
    results = []
    for name in ("log_prob", "cdf", "icdf"):
        results.append((getattr(ours, name)(v_ours), getattr(ref, name)(v_ref)))
    for name in ("mean", "variance", "entropy"):
        o, r = getattr(ours, name), getattr(ref, name)
        results.append((o() if callable(o) else o, r() if callable(r) else r))
    for o, r in results:
        close(o, r)
        go, = ag.autograd.grad(o.sum(), [ours_p], retain_graph=True)
        gr, = torch.autograd.grad(r.sum(), [ref_p], retain_graph=True)
        close(go, gr, 1e-8)
    q_ours, q_ref = pair([0.3, 0.6, 0.2, 0.45, 0.8])
    close(D.kl_divergence(ours, D.ContinuousBernoulli(q_ours)), TD.kl_divergence(ref, TD.ContinuousBernoulli(q_ref)))
    ag.manual_seed(3)
    s = D.ContinuousBernoulli(ag.tensor([0.2, 0.5, 0.9], dtype=ag.float64)).rsample((20000,)).numpy()
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.mean(0), TD.ContinuousBernoulli(torch.tensor([0.2, 0.5, 0.9])).mean.numpy(),
                               atol=0.01)
    with pytest.raises(ValueError, match="The parameter probs has invalid values"):
        D.ContinuousBernoulli(ag.tensor([1.5]), validate_args=True)
