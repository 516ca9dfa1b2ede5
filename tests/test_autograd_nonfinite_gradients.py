"""Backward rules that select or zero rather than multiply, as torch's: an inf or NaN incoming gradient
where relu's input is not positive, or into sign/floor/ceil/round/trunc (whose derivative is zero), gives
0, not the NaN that ``inf * 0`` would; relu's second derivative is zeros."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")

OPS = ["relu", "sign", "floor", "ceil", "round", "trunc"]


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dt", ["float32", "float64", "bfloat16"])
def test_nonfinite_incoming_gradient_equals_torch(name, dt):
    x = np.array([-1.5, 0.0, 2.25, -0.0, 3.0], np.float32)
    g = np.array([np.inf, np.nan, np.inf, -np.inf, np.nan], np.float32)
    got = want = None
    for lib in (torch, ag):
        xt = lib.tensor(x).to(getattr(lib, dt)).requires_grad_()
        (gx,) = lib.autograd.grad(getattr(xt, name)(), xt, lib.tensor(g).to(getattr(lib, dt)))
        if lib is torch:
            want = gx.float().numpy()
        else:
            got = gx.float().numpy()
    np.testing.assert_array_equal(got, want)


def test_relu_second_derivative_is_zeros_as_torch():
    outs = []
    for lib in (torch, ag):
        x = lib.tensor([-1.0, 0.5, 2.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(x.relu().sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        outs.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
