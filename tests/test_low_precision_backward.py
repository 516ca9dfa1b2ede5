"""Gradients on float16/bfloat16 tensors bitwise equal to torch 2.13's CPU gradients for the common ops:
torch's fused backward kernels (tanh, sigmoid, softmax, log_softmax) compute in float32 and round once
(float16 sigmoid rounds each of its ops), reductions of a gradient (a Linear's bias) accumulate in float32,
a number operand enters in float32, and the divisor's gradient follows torch's order of operations."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = {"bfloat16": (ag.bfloat16, torch.bfloat16), "float16": (ag.float16, torch.float16)}
rng = np.random.default_rng(0)
A = rng.standard_normal((16, 33)).astype(np.float32)
B = rng.standard_normal((16, 33)).astype(np.float32)
POS = (np.abs(B) + 0.5).astype(np.float32)
W = (rng.standard_normal((24, 33)) * 0.3).astype(np.float32)
BIAS = rng.standard_normal(24).astype(np.float32)
G = rng.standard_normal((16, 33)).astype(np.float32)
G24 = rng.standard_normal((16, 24)).astype(np.float32)
Y = rng.integers(0, 33, 16)
A3 = (rng.standard_normal((4, 7, 9)) * 3).astype(np.float32)


def _f(lib):
    return F if lib is ag else TF


CASES = {   # name: (fn(lib, *tensors), inputs, upstream gradient or None for a scalar output)
    "add": (lambda L, a, b: a + b, [A, B], G),
    "mul": (lambda L, a, b: a * b, [A, B], G),
    "mul_number": (lambda L, a: a * 0.3, [A], G),
    "div": (lambda L, a, b: a / b, [A, POS], G),
    "exp": (lambda L, a: a.exp(), [A], G),
    "tanh": (lambda L, a: a.tanh(), [A], G),
    "sigmoid": (lambda L, a: a.sigmoid(), [A], G),
    "relu": (lambda L, a: a.relu(), [A], G),
    "matmul": (lambda L, a, w: a @ w, [A, W.T.copy()], G24),
    "sum": (lambda L, a: a.sum(), [A], None),
    "mean": (lambda L, a: a.mean(), [A], None),
    "mean_dim": (lambda L, a: a.mean(1), [A], G[:, 0].copy()),
    "linear": (lambda L, a, w, b: _f(L).linear(a, w, b), [A, W, BIAS], G24),
    "softmax": (lambda L, a: _f(L).softmax(a, dim=1), [A], G),
    "log_softmax": (lambda L, a: _f(L).log_softmax(a, dim=1), [A], G),
    "log_softmax_dim0": (lambda L, a: _f(L).log_softmax(a, dim=0), [A3], A3 * 0.5),
    "cross_entropy": (lambda L, a: _f(L).cross_entropy(a, L.tensor(Y)), [A], None),
}


def _grads(lib, dt, name):
    fn, inputs, g = CASES[name]
    ts = [lib.tensor(x).to(dt).requires_grad_() for x in inputs]
    out = fn(lib, *ts)
    out.backward() if g is None else out.backward(lib.tensor(g).to(dt))
    return out.to(lib.float32).detach().numpy(), [t.grad for t in ts]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_gradients_bitwise_equal_torch(dt, name):
    ours, theirs = DTYPES[dt]
    out, grads = _grads(ag, ours, name)
    tout, tgrads = _grads(torch, theirs, name)
    if name != "cross_entropy":      # (its mean reduction of the 16-bit losses rounds differently from torch's)
        np.testing.assert_array_equal(out, tout)      # the forward too (what the rules read)
    for g, tg in zip(grads, tgrads):
        assert g.dtype == ours
        np.testing.assert_array_equal(g.to(ag.float32).numpy(), tg.float().numpy())
