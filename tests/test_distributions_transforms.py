"""Transforms, constraints, biject_to / transform_to and TransformedDistribution against torch 2.13 in float64:
forward values, inverses, log-det-Jacobians and their gradients, shapes, caching, validation."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as ag  # noqa: E402
import autograd.distributions as D  # noqa: E402
import torch.distributions as TD  # noqa: E402
from autograd.distributions import constraints as C, transforms as T  # noqa: E402
from torch.distributions import constraints as TC, transforms as TT  # noqa: E402


def pair(values):
    a = np.asarray(values, dtype=np.float64)
    return ag.tensor(a, dtype=ag.float64, requires_grad=True), torch.tensor(a, dtype=torch.float64, requires_grad=True)


def close(ours, ref, tol=1e-10):
    o = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    r = ref.detach().numpy() if hasattr(ref, "detach") else np.asarray(ref)
    assert o.shape == r.shape, (o.shape, r.shape)
    np.testing.assert_allclose(o, r, rtol=tol, atol=tol)


X = np.array([[-1.3, 0.2, 0.9], [2.1, -0.4, 0.05]])
POS = np.abs(X) + 0.3

# (name, make(module), input, has log-det)
TRANSFORMS = [
    ("Exp", lambda M: M.ExpTransform(), X, True),
    ("Affine", lambda M: M.AffineTransform(1.5, -2.0), X, True),
    ("AffineTensor", lambda M: M.AffineTransform(*(torch.tensor([0.5, 1.0, -1.0], dtype=torch.float64),
                                                   torch.tensor([2.0, -0.5, 3.0], dtype=torch.float64))
                                                 if M is TT else (ag.tensor([0.5, 1.0, -1.0], dtype=ag.float64),
                                                                  ag.tensor([2.0, -0.5, 3.0], dtype=ag.float64))),
     X, True),
    ("AffineEvent", lambda M: M.AffineTransform(0.3, 2.5, event_dim=1), X, True),
    ("Sigmoid", lambda M: M.SigmoidTransform(), X, True),
    ("Tanh", lambda M: M.TanhTransform(), X, True),
    ("Softplus", lambda M: M.SoftplusTransform(), X, True),
    ("Power", lambda M: M.PowerTransform(2.5), POS, True),
    ("StickBreaking", lambda M: M.StickBreakingTransform(), X, True),
    ("Softmax", lambda M: M.SoftmaxTransform(), X, False),
    ("Compose", lambda M: M.ComposeTransform([M.AffineTransform(0.2, 3.0), M.TanhTransform(),
                                              M.AffineTransform(1.0, 0.5)]), X, True),
    ("ComposeEvent", lambda M: M.ComposeTransform([M.ExpTransform(), M.StickBreakingTransform()]), X, True),
    ("Independent", lambda M: M.IndependentTransform(M.SigmoidTransform(), 1), X, True),
    ("Reshape", lambda M: M.ReshapeTransform((3,), (3, 1)), X, True),
    ("InverseSigmoid", lambda M: M.SigmoidTransform().inv, 1 / (1 + np.exp(-X)), True),
    ("Abs", lambda M: M.AbsTransform(), X, False),
]


@pytest.mark.parametrize("name,make,x,has_ladj", TRANSFORMS, ids=[t[0] for t in TRANSFORMS])
def test_transform_values_inverse_and_log_det_match_torch(name, make, x, has_ladj):
    ours, ref = make(T), make(TT)
    xo, xt = pair(x)
    yo, yt = ours(xo), ref(xt)
    close(yo, yt)
    close(ours.inv(yo), ref.inv(yt))
    assert ours.bijective == ref.bijective
    assert ours.domain.event_dim == ref.domain.event_dim and ours.codomain.event_dim == ref.codomain.event_dim
    assert repr(ours.domain) == repr(ref.domain) and repr(ours.codomain) == repr(ref.codomain)
    assert tuple(ours.forward_shape(xo.shape)) == tuple(ref.forward_shape(xt.shape))
    assert tuple(ours.inverse_shape(yo.shape)) == tuple(ref.inverse_shape(yt.shape))
    try:
        st = ref.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.sign
    else:
        so = ours.sign
        close(so if hasattr(so, "numpy") else np.float64(so), st if hasattr(st, "numpy") else np.float64(st))
    if has_ladj and ref.bijective:
        lo, lt = ours.log_abs_det_jacobian(xo, yo), ref.log_abs_det_jacobian(xt, yt)
        close(lo, lt)
        go, = ag.autograd.grad(lo.sum() + yo.sum(), [xo])
        gt, = torch.autograd.grad(lt.sum() + yt.sum(), [xt])
        close(go, gt)
    assert ours.codomain.check(yo.detach()).all()


def test_log_det_is_log_of_jacobian_determinant():
    # finite differences of the stick-breaking map on its K coordinates (the last output is determined)
    t = T.StickBreakingTransform()
    x = np.array([0.3, -0.7, 1.1])
    y = t(ag.tensor(x, dtype=ag.float64)).numpy()
    jac = np.empty((3, 3))
    for j in range(3):
        h = np.zeros(3)
        h[j] = 1e-6
        jac[:, j] = (t(ag.tensor(x + h, dtype=ag.float64)).numpy()[:3] - t(ag.tensor(x - h, dtype=ag.float64))
                     .numpy()[:3]) / 2e-6
    ladj = t.log_abs_det_jacobian(ag.tensor(x, dtype=ag.float64), ag.tensor(y, dtype=ag.float64)).item()
    assert abs(ladj - math.log(abs(np.linalg.det(jac)))) < 1e-6


def test_caching_inverse_and_equality():
    t = T.ExpTransform(cache_size=1)
    x = ag.tensor([0.5, 1.0])
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert T.ExpTransform()(x) is not T.ExpTransform()(x)
    assert t.inv.inv is t and t.inv == T.ExpTransform().inv
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.SigmoidTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.ExpTransform().with_cache(1)._cache_size == 1
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    with pytest.raises(ValueError, match="different numbers of elements"):
        T.ReshapeTransform((2, 3), (4,))
    c = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], cache_size=1)
    y = c(x)
    assert np.allclose(c.inv(y).numpy(), x.numpy())
    assert T.identity_transform(x) is x and repr(T.ExpTransform()) == repr(TT.ExpTransform())
    assert repr(T.ComposeTransform([T.ExpTransform(), T.SigmoidTransform()])) == \
        repr(TT.ComposeTransform([TT.ExpTransform(), TT.SigmoidTransform()]))


def test_constraints_check_and_repr_match_torch():
    values = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]])
    names = ["real", "positive", "nonnegative", "unit_interval", "boolean", "nonnegative_integer",
             "positive_integer", "real_vector"]
    for name in names:
        ours, ref = getattr(C, name), getattr(TC, name)
        assert repr(ours) == repr(ref) and ours.event_dim == ref.event_dim and ours.is_discrete == ref.is_discrete
        np.testing.assert_array_equal(ours.check(ag.tensor(values)).numpy(), ref.check(torch.tensor(values)).numpy())
    for ours, ref in [(C.interval(-1.0, 1.0), TC.interval(-1.0, 1.0)),
                      (C.half_open_interval(0.0, 1.0), TC.half_open_interval(0.0, 1.0)),
                      (C.greater_than(0.5), TC.greater_than(0.5)), (C.less_than(0.5), TC.less_than(0.5)),
                      (C.greater_than_eq(0.5), TC.greater_than_eq(0.5)),
                      (C.integer_interval(0, 1), TC.integer_interval(0, 1)),
                      (C.independent(C.positive, 1), TC.independent(TC.positive, 1))]:
        assert repr(ours) == repr(ref)
        np.testing.assert_array_equal(ours.check(ag.tensor(values)).numpy(), ref.check(torch.tensor(values)).numpy())
    vecs = np.array([[0.2, 0.8, 0.0], [0.5, 0.6, -0.1], [0.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    for name in ["simplex", "one_hot"]:
        np.testing.assert_array_equal(getattr(C, name).check(ag.tensor(vecs)).numpy(),
                                      getattr(TC, name).check(torch.tensor(vecs)).numpy())
    np.testing.assert_array_equal(C.multinomial(2).check(ag.tensor(vecs)).numpy(),
                                  TC.multinomial(2).check(torch.tensor(vecs)).numpy())
    mats = np.array([[[2.0, 0.0], [1.0, 3.0]], [[1.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])
    for name in ["lower_triangular", "lower_cholesky", "symmetric", "positive_definite", "positive_semidefinite"]:
        np.testing.assert_array_equal(getattr(C, name).check(ag.tensor(mats)).numpy(),
                                      getattr(TC, name).check(torch.tensor(mats)).numpy())
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="dependent constraint"):
        C.dependent.check(ag.tensor([1.0]))


def test_biject_to_and_transform_to_match_torch():
    x = np.array([[-0.7, 0.1, 1.9]])
    for ours_c, ref_c in [(C.real, TC.real), (C.positive, TC.positive), (C.greater_than(2.0), TC.greater_than(2.0)),
                          (C.less_than(-1.0), TC.less_than(-1.0)), (C.unit_interval, TC.unit_interval),
                          (C.interval(-2.0, 5.0), TC.interval(-2.0, 5.0)), (C.simplex, TC.simplex),
                          (C.real_vector, TC.real_vector), (C.independent(C.positive, 1), TC.independent(TC.positive, 1))]:
        for ours_reg, ref_reg in [(D.biject_to, TD.biject_to), (D.transform_to, TD.transform_to)]:
            ours, ref = ours_reg(ours_c), ref_reg(ref_c)
            assert type(ours).__name__ == type(ref).__name__
            xo, xt = pair(x)
            yo, yt = ours(xo), ref(xt)
            close(yo, yt)
            assert ours_c.check(yo.detach()).all()
            if ref.bijective:
                close(ours.log_abs_det_jacobian(xo, yo), ref.log_abs_det_jacobian(xt, yt))
    # the first distributions' supports map too
    assert isinstance(D.biject_to(D.Normal(0.0, 1.0).support), T.ComposeTransform)
    assert isinstance(D.biject_to(D.Exponential(1.0).support), T.ComposeTransform)
    with pytest.raises(NotImplementedError, match="Cannot transform _IntegerInterval constraints"):
        D.biject_to(C.integer_interval(0, 3))


def _log_normal(lib, loc, scale):
    return lib.TransformedDistribution(lib.Normal(loc, scale), [lib.transforms.ExpTransform()])


def test_transformed_distribution_matches_torch():
    loc, tloc = pair([0.1, -0.5, 1.2])
    scale, tscale = pair([0.7, 1.3, 0.4])
    v, tv = pair([0.5, 2.0, 3.5])
    ours, ref = _log_normal(D, loc, scale), _log_normal(TD, tloc, tscale)
    assert ours.batch_shape == tuple(ref.batch_shape) and ours.event_shape == tuple(ref.event_shape)
    for method in ("log_prob", "cdf"):
        lo, lt = getattr(ours, method)(v), getattr(ref, method)(tv)
        close(lo, lt)
        go = ag.autograd.grad(lo.sum(), [loc, scale, v])
        gt = torch.autograd.grad(lt.sum(), [tloc, tscale, tv])
        for a, b in zip(go, gt):
            close(a, b)
    q, tq = pair([0.1, 0.5, 0.9])
    # a decreasing transform flips the cdf; icdf inverts it
    flip = D.TransformedDistribution(D.Normal(loc, scale), [T.AffineTransform(1.0, -2.0), T.ExpTransform()])
    tflip = TD.TransformedDistribution(TD.Normal(tloc, tscale), [TT.AffineTransform(1.0, -2.0), TT.ExpTransform()])
    close(flip.cdf(v), tflip.cdf(tv))
    close(flip.log_prob(v), tflip.log_prob(tv))
    uni = D.TransformedDistribution(D.Uniform(0.0, 1.0), [T.SigmoidTransform().inv, T.AffineTransform(0.5, 3.0)])
    tuni = TD.TransformedDistribution(TD.Uniform(0.0, 1.0), [TT.SigmoidTransform().inv, TT.AffineTransform(0.5, 3.0)])
    close(uni.icdf(ag.tensor(q.detach().numpy())), tuni.icdf(torch.tensor(q.detach().numpy())), 1e-6)
    assert ours.has_rsample and ours.rsample((4, 2)).shape == (4, 2, 3) and ours.sample().shape == (3,)
    with pytest.raises(ValueError, match="to be within the support"):
        ours.log_prob(ag.tensor([-1.0, 1.0, 1.0], dtype=ag.float64))
    with pytest.raises(ValueError, match="transforms must be a Transform or"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), "exp")


def test_transformed_distribution_event_shapes_and_broadcast():
    base = D.Normal(ag.zeros(4, 3, dtype=ag.float64), ag.ones(4, 3, dtype=ag.float64))
    tbase = TD.Normal(torch.zeros(4, 3, dtype=torch.float64), torch.ones(4, 3, dtype=torch.float64))
    sb = D.TransformedDistribution(base, [T.StickBreakingTransform()])
    tsb = TD.TransformedDistribution(tbase, [TT.StickBreakingTransform()])
    assert sb.batch_shape == (4,) and sb.event_shape == (4,)
    assert repr(sb.support) == repr(tsb.support)
    y = tsb.sample()
    close(sb.log_prob(ag.tensor(y.numpy())), tsb.log_prob(y))
    assert sb.sample((2,)).shape == (2, 4, 4)
    # a transform with a batch of parameters broadcasts the base distribution
    aff = D.TransformedDistribution(D.Normal(0.0, 1.0), [T.AffineTransform(ag.tensor([1.0, 2.0]), 3.0)])
    assert aff.batch_shape == (2,) and aff.sample((5,)).shape == (5, 2)
    e = sb.expand((2, 4))
    assert e.batch_shape == (2, 4) and e.sample().shape == (2, 4, 4)
    rs = D.TransformedDistribution(D.Normal(ag.zeros(2, 6), ag.ones(2, 6)), [T.ReshapeTransform((6,), (2, 3))])
    assert rs.batch_shape == (2,) and rs.event_shape == (2, 3) and rs.log_prob(ag.zeros(2, 2, 3)).shape == (2,)


def test_transformed_sample_moments_follow_closed_forms():
    ag.manual_seed(0)
    loc, scale = 0.3, 0.5
    s = _log_normal(D, ag.tensor(loc, dtype=ag.float64), ag.tensor(scale, dtype=ag.float64)).sample((40000,))
    mean, var = math.exp(loc + scale ** 2 / 2), (math.exp(scale ** 2) - 1) * math.exp(2 * loc + scale ** 2)
    np.testing.assert_allclose(s.numpy().mean(), mean, rtol=0.02)
    np.testing.assert_allclose(s.numpy().var(), var, rtol=0.06)


def test_kl_of_transformed_distributions():
    p, q = _log_normal(D, 0.2, 1.5), _log_normal(D, -0.3, 0.8)
    tp, tq = _log_normal(TD, 0.2, 1.5), _log_normal(TD, -0.3, 0.8)
    close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq), 1e-6)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(p, D.TransformedDistribution(D.Normal(0.0, 1.0), [T.SigmoidTransform()]))


def test_cat_and_stack_transforms_match_torch():
    x = np.array([[-0.7, 0.1, 1.9, 0.4], [0.3, -1.2, 0.8, 2.0]])
    cases = [
        (lambda M: M.CatTransform([M.ExpTransform(), M.AffineTransform(1.0, 2.0), M.SigmoidTransform()], dim=1,
                                  lengths=[1, 2, 1])),
        (lambda M: M.CatTransform([M.ExpTransform(), M.TanhTransform()], dim=0)),
        (lambda M: M.CatTransform([M.IndependentTransform(M.ExpTransform(), 1),
                                   M.IndependentTransform(M.SigmoidTransform(), 1)], dim=0)),
        (lambda M: M.CatTransform([M.IndependentTransform(M.ExpTransform(), 1),
                                   M.IndependentTransform(M.SigmoidTransform(), 1)], dim=1, lengths=[3, 1])),
        (lambda M: M.StackTransform([M.ExpTransform(), M.SigmoidTransform(), M.AffineTransform(0.0, 3.0),
                                     M.TanhTransform()], dim=1)),
    ]
    for make in cases:
        ours, ref = make(T), make(TT)
        xo, xt = pair(x)
        yo, yt = ours(xo), ref(xt)
        close(yo, yt)
        close(ours.inv(yo), ref.inv(yt))
        lo, lt = ours.log_abs_det_jacobian(xo, yo), ref.log_abs_det_jacobian(xt, yt)
        close(lo, lt)
        go, = ag.autograd.grad(lo.sum(), [xo])
        gt, = torch.autograd.grad(lt.sum(), [xt])
        close(go, gt)
        assert ours.bijective == ref.bijective
        if ref.event_dim == 0:   # torch's cat / stack constraints only check elementwise pieces
            np.testing.assert_array_equal(ours.codomain.check(yo.detach()).numpy(),
                                          ref.codomain.check(yt.detach()).numpy())
    with pytest.raises(AssertionError, match="must equal length"):
        T.CatTransform([T.ExpTransform()], dim=1)(ag.zeros(2, 3))
    assert type(D.biject_to(C.cat([C.positive, C.real], 0, [1, 2]))).__name__ == "CatTransform"
