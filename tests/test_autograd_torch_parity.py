"""Forward values, gradients and result dtypes equal torch's (skipped where torch is not installed)."""
import itertools

import numpy as np
import pytest

import autograd as A

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def both(*arrays, requires_grad=True):
    ours = [A.tensor(a, requires_grad=requires_grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return ours, theirs


def check(fn_ours, fn_torch, *arrays, rtol=1e-10, atol=1e-12):
    ours, theirs = both(*[np.asarray(a, dtype=np.float64) for a in arrays])
    o, t = fn_ours(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    w = RNG.standard_normal(tuple(t.shape))
    (o * A.tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None or not a.grad.numpy().any()
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


X, Y = RNG.standard_normal((3, 4)), RNG.standard_normal((4,))
P = RNG.uniform(0.5, 2.0, (3, 4))
SAME = {  # the same expression works on both libraries
    "add": (lambda m, a, b: m.add(a, b, alpha=0.3), (X, Y)),
    "sub": (lambda m, a, b: a - 2 * b, (X, Y)),
    "mul_div": (lambda m, a, b: a * b / (b * b + 1), (X, Y)),
    "pow": (lambda m, a, b: a ** b, (P, Y)),
    "maximum_ties": (lambda m, a, b: m.maximum(m.round(a), m.round(b)), (X, Y)),
    "where": (lambda m, a, b: m.where(a > b, a, b * 3), (X, Y)),
    "clamp": (lambda m, a, b: a.clamp(-0.5, 0.5) + b.clamp(min=0.0), (X, Y)),
    "lerp": (lambda m, a, b: m.lerp(a, b, 0.75) + m.lerp(b, a, 0.25), (X, Y)),
    "addcmul_addcdiv": (lambda m, a, b: m.addcdiv(m.addcmul(a, b, b, value=0.5), a, b * b + 1, value=-2.0),
                        (X, Y)),
    "unary": (lambda m, a, b: m.exp(a) + m.sin(a) * m.cos(b) + m.tanh(a) + m.sigmoid(a) + m.abs(a) * m.sign(b)
              + m.sqrt(m.abs(a) + 1) + m.rsqrt(m.abs(b) + 1) + m.log(m.abs(a) + 0.1) + m.erf(a)
              + a.relu() + m.expm1(a) + m.log1p(a.abs()) + a.reciprocal(), (X, Y)),
    "reductions": (lambda m, a, b: a.sum(0) + a.mean(1, keepdim=True) + a.var(0) + a.std(1, keepdim=True)
                   + a.norm() + a.logsumexp(1, keepdim=True) + a.amax(0) + a.max(1, keepdim=True)[0]
                   + a.min(0).values + a.prod(1, keepdim=True) + b.norm(3) + a.norm(dim=1, keepdim=True), (X, Y)),
    "softmax": (lambda m, a, b: a.softmax(1) * a.log_softmax(0) + a.cumsum(1), (X, Y)),
    "matmul": (lambda m, a, b: (a @ b) + (b @ a.T).sum() + m.matmul(a.T, a).sum(), (X, Y)),
    "shape": (lambda m, a, b: m.cat([a.reshape(2, 6).T.flatten(), m.stack([b, b * 2], 1).flatten()])
              .unsqueeze(0).expand(2, 20).permute(1, 0).squeeze(), (X, Y)),
    "index": (lambda m, a, b: a[[0, 2, 2]][:, 1:] * b[torch.tensor([3, 3, 0]) if m is torch else
                                                     A.tensor([3, 3, 0])] + a[a > 0].sum(), (X, Y)),
    "gather": (lambda m, a, b: a.gather(1, (torch if m is torch else A).tensor([[0, 0], [3, 1], [2, 2]])), (X, Y)),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_same_expression(name):
    fn, arrays = SAME[name]
    check(lambda *t: fn(A, *t), lambda *t: fn(torch, *t), *arrays)


INPLACE = {
    "optimizer_step": lambda m, p, g, lr: _sgd_like(p * 1, g, lr),
    "adam_like": lambda m, p, g, lr: _adam_like(p * 1, g, lr),
    "copy_and_fill": lambda m, p, g, lr: (p * 1).copy_(g * lr) + (p * 1).fill_(lr) * p,
    "setitem": lambda m, p, g, lr: _setitem(p * 1, g),
}


def _sgd_like(p, g, lr):
    buf = g.clone()
    buf.mul_(0.9).add_(g, alpha=0.1)
    return p.add_(buf * lr, alpha=-1.0)


def _adam_like(p, g, lr):
    m, v = g * 0, g * 0
    m.lerp_(g, 0.1)
    v.mul_(0.999).addcmul_(g, g, value=0.001)
    denom = v.sqrt() + 1e-8
    return p.addcdiv_(m * -lr, denom, value=1.0)


def _setitem(p, g):
    p[1] = g * 2
    p[:, 0] = 0.5
    return p


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_recorded_inplace_matches_torch(name):
    fn = INPLACE[name]
    check(lambda p, g, lr: fn(A, p, g, lr), lambda p, g, lr: fn(torch, p, g, lr), X, Y, np.array(0.01))


DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool", "uint8", "int8"]
SCALARS = [2, 2.5, True]


@pytest.mark.parametrize("da,db", list(itertools.product(DTYPES, DTYPES)))
def test_promotion_tensor_tensor(da, db):
    for sa, sb in [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]:
        a = np.ones(sa, dtype=da)
        b = np.ones(sb, dtype=db)
        ours = (A.tensor(a) + A.tensor(b)).dtype
        theirs = (torch.tensor(a) + torch.tensor(b)).dtype
        assert str(theirs) == f"torch.{ours}", (da, db, sa, sb)


@pytest.mark.parametrize("da,s", list(itertools.product(DTYPES, SCALARS)))
def test_promotion_tensor_scalar(da, s):
    a = np.ones(3, dtype=da)
    for op in (lambda x: x * s, lambda x: s + x, lambda x: x / 2):
        assert str(op(torch.tensor(a)).dtype) == f"torch.{op(A.tensor(a)).dtype}", (da, s)


def test_inplace_dtype_rules_match_torch():
    for make in (lambda m: m.ones(3, dtype=m.int64), lambda m: m.ones(3, dtype=m.float16)):
        t, o = make(torch), make(A)
        t.mul_(2)
        o.mul_(2)
        assert str(t.dtype) == f"torch.{o.dtype}"
    with pytest.raises(RuntimeError):
        torch.ones(3, dtype=torch.int64).mul_(0.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        A.ones(3, dtype=A.int64).mul_(0.5)


def test_factories_and_reductions_dtypes_match_torch():
    for fn in (lambda m: m.arange(5), lambda m: m.arange(0, 1, 0.25), lambda m: m.tensor([1, 2]),
               lambda m: m.tensor([1.0]), lambda m: m.tensor([True]), lambda m: m.full((2,), 3),
               lambda m: m.full((2,), 3.0), lambda m: m.zeros(2), lambda m: m.tensor([1, 2]).sum(),
               lambda m: m.tensor([True, False]).sum(), lambda m: m.tensor([1, 2]) / 2,
               lambda m: m.tensor([1, 2]).exp(), lambda m: m.tensor([3, 4]) // 2):
        assert str(fn(torch).dtype) == f"torch.{fn(A).dtype}"
        np.testing.assert_allclose(fn(A).numpy(), fn(torch).numpy(), rtol=1e-6)


def test_float32_ops_match_torch():
    a = RNG.standard_normal((5, 7)).astype(np.float32)
    ta, oa = torch.tensor(a, requires_grad=True), A.tensor(a, requires_grad=True)
    tl, ol = (ta.softmax(-1) * ta).sum(), (oa.softmax(-1) * oa).sum()
    tl.backward()
    ol.backward()
    assert oa.grad.dtype == A.float32
    np.testing.assert_allclose(ol.item(), tl.item(), rtol=1e-5)
    np.testing.assert_allclose(oa.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_differentiable_lr_matches_torch():
    """A 0-d lr that requires grad gets d(loss)/d(lr) through add_/addcdiv_/lerp_ like torch's graph."""
    p0, g0 = RNG.standard_normal(4), RNG.standard_normal(4)
    res = []
    for m in (A, torch):
        lr = m.tensor(0.1, dtype=m.float64, requires_grad=True)
        p = m.tensor(p0, requires_grad=True)
        q = p * 1
        q.add_(m.tensor(g0) * -lr)
        q.addcdiv_(m.tensor(g0), m.tensor(g0).abs() + 1, value=0.5)
        q.lerp_(m.tensor(g0), lr)
        (q * q).sum().backward()
        res.append((lr.grad.item(), p.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)
