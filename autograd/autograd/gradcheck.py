"""``torch.autograd.gradcheck`` / ``gradgradcheck``: a backward checked against central finite differences.

Slow mode builds both Jacobians in full: the numerical one column by column, ``(f(x + eps e_k) - f(x - eps
e_k)) / 2 eps`` for each input element, the analytical one row by row, one backward per output element. Fast
mode compares one number per (output, input) pair instead: ``v' J u`` for random unit vectors ``u`` and
``v``, from one directional difference and one backward. An entry passes when
``|analytical - numerical| <= atol + rtol |numerical|`` (torch's ``allclose``). Real floating-point inputs only;
forward-mode AD is not part of this library, so its checks are refused rather than skipped.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import grad_mode
from ..ops.differentiate import grad as _grad
from ..tensor import Tensor


class GradcheckError(RuntimeError):
    """A gradient check failed (raised when ``raise_exception=True``)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable(inputs):
    return [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]


def _float_outputs(func, inputs):
    outs = _as_tuple(func(*inputs))
    return [o for o in outs if isinstance(o, Tensor) and o.is_floating_point()]


def _evaluate(func, inputs):
    # grad mode stays on: ``func`` may differentiate inside (gradgradcheck's first derivatives)
    with grad_mode.enable_grad():
        return [np.array(o._data, dtype=np.float64).reshape(-1) for o in _float_outputs(func, inputs)]


def _perturbed(func, inputs, x, flat_index, delta):
    """The outputs of ``func`` with element ``flat_index`` of ``x`` moved by ``delta`` (restored after)."""
    data = x._data
    pos = np.unravel_index(flat_index, data.shape) if data.ndim else ()
    old = data[pos].copy() if data.ndim else data.copy()
    data[pos] = old + delta
    try:
        return _evaluate(func, inputs)
    finally:
        data[pos] = old


def _numerical_jacobians(func, inputs, eps):
    """For each differentiable input, one (input size, output size) matrix per output."""
    out_sizes = [o.size for o in _evaluate(func, inputs)]
    result = []
    for x in _differentiable(inputs):
        cols = [np.zeros((x.numel(), n)) for n in out_sizes]
        for k in range(x.numel()):
            plus, minus = _perturbed(func, inputs, x, k, eps), _perturbed(func, inputs, x, k, -eps)
            for j, (p, m) in enumerate(zip(plus, minus)):
                cols[j][k] = (p - m) / (2 * eps)
        result.append(cols)
    return result


def _vjp(outputs, wrt, vectors):
    """Gradients of ``sum(outputs[j] * vectors[j])`` with respect to ``wrt`` (zeros where unused), as float64."""
    pairs = [(o, v) for o, v in zip(outputs, vectors) if o.requires_grad]
    if not pairs:
        return [np.zeros(x.numel()) for x in wrt]
    gs = _grad([o for o, _ in pairs], wrt,
               [Tensor._wrap(np.asarray(v, dtype=o._data.dtype).reshape(o.shape)) for o, v in pairs],
               retain_graph=True, allow_unused=True)
    return [np.zeros(x.numel()) if g is None else np.array(g._data, dtype=np.float64).reshape(-1)
            for g, x in zip(gs, wrt)]


def _analytical_jacobians(outputs, wrt):
    """For each input, one (input size, output size) matrix per output, from one backward per output element."""
    result = [[np.zeros((x.numel(), o.numel())) for o in outputs] for x in wrt]
    for j, o in enumerate(outputs):
        for k in range(o.numel()):
            vectors = [np.zeros(p.numel()) for p in outputs]
            vectors[j][k] = 1.0
            for i, g in enumerate(_vjp(outputs, wrt, vectors)):
                result[i][j][:, k] = g
    return result


def _fail(message, raise_exception):
    if raise_exception:
        raise GradcheckError(message)
    return False


def _mismatch(i, j, numerical, analytical, fast):
    how = ("in fast mode: v' J u for random unit vectors u (inputs) and v (outputs); run with fast_mode=False "
           "to see the full Jacobians\n" if fast else "")
    return (f"Jacobian mismatch for output {j} with respect to input {i},\n{how}numerical:{numerical}\n"
            f"analytical:{analytical}\n")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None):
    """Whether the gradients of ``func`` at ``inputs`` match finite differences (torch's signature)."""
    if check_forward_ad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: forward-mode AD (check_forward_ad, check_batched_forward_grad) is "
                                  "not supported by autograd")
    inputs = _as_tuple(inputs)
    wrt = _differentiable(inputs)
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have "
                         "requires_grad=True.")
    for n, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.is_complex():
                raise NotImplementedError("gradcheck of complex inputs is not supported by autograd")
            if t.dtype != np.float64:
                warnings.warn(f"Input #{n} requires gradient and is not a double precision floating point. This "
                              "check will likely fail if all the inputs are not of double precision floating point.",
                              stacklevel=2)
    if not check_backward_ad:
        return True
    with grad_mode.enable_grad():
        outputs = _float_outputs(func, inputs)
    check = _fast_check if fast_mode else _slow_check
    if not check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, raise_exception):
        return False
    if check_grad_dtypes:
        for x, g in zip(wrt, _grad([o for o in outputs if o.requires_grad], wrt,
                                    [o.new_ones(o.shape) for o in outputs if o.requires_grad],
                                    retain_graph=True, allow_unused=True)):
            if g is not None and (g.dtype != x.dtype or g.shape != x.shape):
                return _fail(f"Gradient has dtype mismatch: got {g.dtype} and {tuple(g.shape)} for an input of "
                             f"{x.dtype} and {tuple(x.shape)}", raise_exception)
    if check_undefined_grad and any(o.requires_grad for o in outputs):
        zeros = _vjp(outputs, wrt, [np.zeros(o.numel()) for o in outputs])
        if any(np.any(z != 0) for z in zeros):
            return _fail("Expected backward function to handle undefined output grads: zero output gradients gave "
                         "nonzero input gradients", raise_exception)
    if check_batched_grad and any(o.requires_grad for o in outputs):
        if not _batched_check(outputs, wrt, raise_exception):
            return False
    return True


def _slow_check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, raise_exception):
    numerical = _numerical_jacobians(func, inputs, eps)
    analytical = _analytical_jacobians(outputs, wrt)
    again = _analytical_jacobians(outputs, wrt)
    for i in range(len(wrt)):
        for j in range(len(outputs)):
            a, n = analytical[i][j], numerical[i][j]
            if np.any(np.abs(again[i][j] - a) > nondet_tol):
                return _fail("Backward is not reentrant, i.e., running backward with same input and grad_output "
                             f"multiple times gives different values, although analytical gradient matches "
                             f"numerical gradient. The tolerance for nondeterminism was {nondet_tol}.",
                             raise_exception)
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                return _fail(_mismatch(i, j, n, a, False) + "\nThe max per-element difference (slow mode) is: "
                             f"{np.max(np.abs(a - n))}.\n", raise_exception)
    return True


def _fast_check(func, inputs, wrt, outputs, eps, atol, rtol, nondet_tol, raise_exception):
    rng = np.random.default_rng(0)
    us = [_unit(rng.standard_normal(x.numel())) for x in wrt]
    vs = [_unit(rng.standard_normal(o.numel())) for o in outputs]
    # analytical[j][i] = u_i . (v_j' J_ji), one backward per output
    analytical = [_vjp(outputs, wrt, _only(vs, j)) for j in range(len(outputs))]
    for j in range(len(outputs)):
        again = _vjp(outputs, wrt, _only(vs, j))
        if any(np.any(np.abs(a - b) > nondet_tol) for a, b in zip(again, analytical[j])):
            return _fail("Backward is not reentrant, i.e., running backward with same input and grad_output "
                         f"multiple times gives different values. The tolerance for nondeterminism was {nondet_tol}.",
                         raise_exception)
    for i, (x, u) in enumerate(zip(wrt, us)):
        data = x._data
        old = data.copy()
        step = (eps * u).reshape(data.shape).astype(data.dtype)
        try:
            data[...] = old + step
            plus = _evaluate(func, inputs)
            data[...] = old - step
            minus = _evaluate(func, inputs)
        finally:
            data[...] = old
        for j, (p, m, v) in enumerate(zip(plus, minus, vs)):
            n = float(v @ ((p - m) / (2 * eps)))
            a = float(analytical[j][i] @ u)
            if not np.isclose(a, n, rtol=rtol, atol=atol):
                return _fail(_mismatch(i, j, n, a, True), raise_exception)
    return True


def _unit(v):
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _only(vectors, j):
    return [v if k == j else np.zeros_like(v) for k, v in enumerate(vectors)]


def _batched_check(outputs, wrt, raise_exception):
    """Batched vector-Jacobian products (``is_grads_batched=True``) equal one backward per vector."""
    live = [o for o in outputs if o.requires_grad]
    rng = np.random.default_rng(1)
    batch = [rng.standard_normal((2,) + tuple(o.shape)) for o in live]
    batched = _grad(live, wrt, [Tensor._wrap(b.astype(o._data.dtype)) for b, o in zip(batch, live)],
                    retain_graph=True, allow_unused=True, is_grads_batched=True)
    for r in range(2):
        single = _vjp(live, wrt, [b[r].reshape(-1) for b in batch])
        for g, s in zip(batched, single):
            if g is not None and not np.allclose(np.asarray(g._data[r], dtype=np.float64).reshape(-1), s,
                                                  rtol=1e-12, atol=1e-12):
                return _fail("Batched grad computation failed: is_grads_batched=True differs from one backward "
                             "per vector", raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the first derivatives: ``(inputs, grad_outputs) -> grad(func(inputs), inputs, grad_outputs,
    create_graph=True)``, so the second derivatives are checked against differences of the first."""
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: forward-mode AD (check_fwd_over_rev) is not supported by autograd")
    inputs = _as_tuple(inputs)
    n_inputs = len(inputs)
    with grad_mode.enable_grad():
        outputs = _float_outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(2)
        grad_outputs = tuple(Tensor._wrap(rng.standard_normal(o.shape).astype(o._data.dtype)).requires_grad_()
                             for o in outputs if o.requires_grad)
    grad_outputs = _as_tuple(grad_outputs)

    def first_derivatives(*args):
        xs, vs = args[:n_inputs], args[n_inputs:]
        wrt = _differentiable(xs)
        outs = [o for o in _float_outputs(func, xs) if o.requires_grad]
        gs = _grad(outs, wrt, list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    if not check_rev_over_rev:
        return True
    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad, fast_mode=fast_mode)
