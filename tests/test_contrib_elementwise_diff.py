"""differentiable=True on the contrib elementwise optimizers: hypergradients (d loss / d lr, d loss / d x0)
through three steps against float64 central differences; and hypothesis over shapes (0-d, empty) and
hyper-parameters against the reference."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd as ag
from minitorch_optim import contrib

CASES = [
    ("Lion", dict(weight_decay=0.3)),
    ("Tiger", dict(weight_decay=0.3, weight_decouple=False)),
    ("SignSGD", dict(weight_decay=0.3)),
    ("Adan", dict(weight_decay=0.2, max_grad_norm=1.0)),
    ("AdaBelief", dict(weight_decay=0.2, ams_bound=True)),
    ("Yogi", dict(weight_decay=0.2, weight_decouple=False)),
    ("QHAdam", dict(nus=(0.7, 0.8), weight_decay=0.1)),
    ("QHM", dict(momentum=0.9, nu=0.7, weight_decay=0.1)),
    ("AggMo", dict(weight_decay=0.1)),
    ("MADGRAD", dict(weight_decay=0.1, weight_decouple=True)),
    ("MADGRAD", dict(momentum=0.0)),
    ("ADOPT", dict(weight_decay=0.1, clip_lambda=None)),
    ("AdEMAMix", dict(t_alpha_beta3=5, weight_decay=0.1)),
    ("StableAdamW", {}),
    ("LaProp", dict(centered=True, steps_before_using_centered=1, weight_decay=0.1)),
    ("Grams", dict(weight_decay=0.1)),
    ("MARS", dict(weight_decay=0.1)),
    ("Lion", dict(use_gc=True, cautious=True)),
]


def _final(name, kw, x0, grads, lr):
    leaf = ag.tensor(x0, requires_grad=True)
    lr_t = ag.tensor(lr, dtype=np.float64, requires_grad=True)
    p = leaf.clone()
    opt = getattr(contrib, name)([p], lr=lr_t, differentiable=True, **kw)
    for g in grads:
        p.grad = ag.tensor(g)
        opt.step()
    return (p * p).sum() + p.sum(), leaf, lr_t


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_differentiable_matches_finite_differences(name, kw):
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal((2, 2))
    grads = [rng.standard_normal((2, 2)) for _ in range(3)]
    lr = 0.05
    loss, leaf, lr_t = _final(name, kw, x0, grads, lr)
    loss.backward()

    def f(x=x0, lr=lr):
        with ag.no_grad():
            return float(_final(name, kw, x, grads, lr)[0])

    eps = 1e-6
    num_lr = (f(lr=lr + eps) - f(lr=lr - eps)) / (2 * eps)
    assert math.isclose(lr_t.grad.item(), num_lr, rel_tol=1e-5, abs_tol=1e-7), (lr_t.grad.item(), num_lr)
    for i in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[i] = eps
        num = (f(x=x0 + d) - f(x=x0 - d)) / (2 * eps)
        assert math.isclose(leaf.grad.numpy()[i], num, rel_tol=1e-5, abs_tol=1e-7), (i, leaf.grad.numpy()[i], num)


# ---- hypothesis: shapes (0-d, empty, views), hyper-parameters, against the reference ---------------------
hyp = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
torch = pytest.importorskip("torch")
po = pytest.importorskip("pytorch_optimizer")

HYP_CLASSES = ["Lion", "Tiger", "SignSGD", "Adan", "AdaBelief", "Yogi", "QHAdam", "QHM", "AggMo", "MADGRAD",
               "ADOPT", "AdEMAMix", "StableAdamW", "LaProp", "Grams", "MARS"]


@hyp.settings(deadline=None, max_examples=40)
@hyp.given(name=st.sampled_from(HYP_CLASSES),
           shapes=st.lists(st.sampled_from([(), (0,), (1,), (3,), (2, 3), (3, 1, 2)]), min_size=1, max_size=3),
           lr=st.floats(1e-4, 0.1), wd=st.sampled_from([0.0, 0.05]), decouple=st.booleans(),
           maximize=st.booleans(), foreach=st.sampled_from([False, True, None]), seed=st.integers(0, 2**16))
def test_hypothesis_against_reference(name, shapes, lr, wd, decouple, maximize, foreach, seed):
    rng = np.random.default_rng(seed)
    x0 = [rng.standard_normal(s) for s in shapes]
    kw = dict(lr=lr, weight_decay=wd, maximize=maximize, weight_decouple=decouple)
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in x0]
    op = [ag.tensor(a.copy(), requires_grad=True) for a in x0]
    ref = getattr(po, name)(tp, **kw)
    ours = getattr(contrib, name)(op, foreach=foreach, **kw)
    for i in range(5):
        gs = [rng.standard_normal(s) for s in shapes]
        for t, o, g in zip(tp, op, gs):
            t.grad, o.grad = torch.tensor(g), ag.tensor(g)
        ref.step()
        ours.step()
    for t, o in zip(tp, op):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-11)
