"""The public ``autograd.autograd.gradcheck`` / ``gradgradcheck``: they pass right gradients and catch wrong
first and second derivatives in both modes, with torch's errors and warnings, on the same cases as
torch 2.13."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
LIBS = [ag, torch]


def _x(lib, values=(0.3, -1.2, 2.0)):
    return lib.tensor(np.array(values), requires_grad=True)


def _wrong_first(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x * g
    return Square.apply


def _wrong_second(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x.detach() ** 2 * g     # right value, but not differentiable in x
    return Cube.apply


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("lib", LIBS, ids=["ours", "torch"])
def test_right_gradients_pass_both_checks(lib, fast_mode):
    a, b = _x(lib), _x(lib, (1.0, 2.0, -0.5))

    def f(a, b):
        return a * b.sin(), (a * b).exp().sum(), a.argmax()
    assert lib.autograd.gradcheck(f, (a, b), fast_mode=fast_mode, check_grad_dtypes=True)
    assert lib.autograd.gradgradcheck(f, (a, b), fast_mode=fast_mode)


@pytest.mark.parametrize("fast_mode", [False, True])
@pytest.mark.parametrize("lib", LIBS, ids=["ours", "torch"])
def test_a_wrong_backward_is_caught(lib, fast_mode):
    with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
        lib.autograd.gradcheck(_wrong_first(lib), (_x(lib),), fast_mode=fast_mode)
    assert lib.autograd.gradcheck(_wrong_first(lib), (_x(lib),), fast_mode=fast_mode, raise_exception=False) is False


@pytest.mark.parametrize("lib", LIBS, ids=["ours", "torch"])
def test_a_wrong_second_derivative_is_caught_by_gradgradcheck_only(lib):
    assert lib.autograd.gradcheck(_wrong_second(lib), (_x(lib),))
    assert lib.autograd.gradgradcheck(_wrong_second(lib), (_x(lib),), raise_exception=False) is False


def test_the_error_is_a_gradcheck_error_with_both_jacobians():
    with pytest.raises(ag.autograd.GradcheckError) as info:
        ag.autograd.gradcheck(_wrong_first(ag), (_x(ag),))
    assert isinstance(info.value, RuntimeError)
    assert "numerical:" in str(info.value) and "analytical:" in str(info.value)


@pytest.mark.parametrize("lib", LIBS, ids=["ours", "torch"])
def test_inputs_without_grad_and_single_precision(lib):
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        lib.autograd.gradcheck(lambda a: a * 2, (lib.tensor([1.0, 2.0]),))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.autograd.gradcheck(lambda a: a * 2, (lib.tensor([1.0, 2.0], requires_grad=True),), raise_exception=False)
    assert any("is not a double precision floating point" in str(w.message) for w in caught)


def test_module_and_batched_grads():
    lin = ag.nn.Linear(3, 2).double()
    x = ag.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert ag.autograd.gradcheck(lambda x: ag.nn.functional.gelu(lin(x)), (x,), check_batched_grad=True)
