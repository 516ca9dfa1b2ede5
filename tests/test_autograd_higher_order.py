"""Higher-order gradients: create_graph through the engine, autograd.functional, custom Functions, hooks, and
the errors torch gives; against torch 2.13 in float64 where installed, else finite differences."""
import numpy as np
import pytest

import autograd as A
import autograd.functional as AF

torch = pytest.importorskip("torch")
TF = torch.autograd.functional


def _pair(values):
    return A.tensor(np.asarray(values, np.float64), requires_grad=True), torch.tensor(
        np.asarray(values, np.float64), requires_grad=True)


def _close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else a
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def scalar_fn(x):
    """A scalar built from elementwise ops and indexing (x has 3 entries)."""
    y = x.exp() * x.sin() + x * x * x / (1 + x * x)
    return y[0] * y[1] + y[2].tanh() * x[0]


def test_grad_create_graph_gives_torch_second_derivatives():
    x, tx = _pair([0.4, -1.3, 2.2])
    g, = A.grad(scalar_fn(x), x, create_graph=True)
    tg, = torch.autograd.grad(scalar_fn(tx), tx, create_graph=True)
    _close(g, tg)
    assert g.requires_grad and g.grad_fn is not None
    v = np.array([0.3, -0.5, 1.7])
    h, = A.grad(g * A.tensor(v), x, grad_outputs=A.ones(3, dtype=A.float64))
    th, = torch.autograd.grad(tg * torch.tensor(v), tx, grad_outputs=torch.ones(3, dtype=torch.float64))
    _close(h, th)


def test_second_derivative_against_finite_differences():
    x0 = np.array([0.4, -1.3, 2.2])

    def first(xv):
        x = A.tensor(xv, requires_grad=True)
        return A.grad(scalar_fn(x), x)[0].numpy()

    x = A.tensor(x0, requires_grad=True)
    g, = A.grad(scalar_fn(x), x, create_graph=True)
    rows = [A.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(3)]
    eps = 1e-6
    fd = [(first(x0 + eps * e) - first(x0 - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(np.array(rows), np.array(fd).T, rtol=1e-6, atol=1e-6)


def test_backward_create_graph_then_backward_of_grad():
    x, tx = _pair([0.5, 1.5, -0.25])
    for t in (x, tx):
        y = scalar_fn(t)
        y.backward(create_graph=True)
    _close(x.grad, tx.grad)
    assert x.grad.grad_fn is not None
    gx, = A.grad(x.grad[1] * 3.0, x)
    tgx, = torch.autograd.grad(tx.grad[1] * 3.0, tx)
    _close(gx, tgx)


def test_gradients_accumulate_out_of_place_under_create_graph():
    x, tx = _pair([0.5, 1.5, -0.25])
    for t in (x, tx):
        scalar_fn(t).backward(create_graph=True)
        first = t.grad
        scalar_fn(t).backward(create_graph=True)
        assert t.grad is not first        # torch adds out of place when the graph is recorded
    _close(x.grad, tx.grad)


def test_functional_api_matches_torch():
    x, tx = _pair([0.3, -0.8, 1.4])
    xd, txd = x.detach(), tx.detach()
    v = np.array([1.0, -2.0, 0.5])
    _close(AF.jacobian(lambda a: a.exp() * a[0], xd), TF.jacobian(lambda a: a.exp() * a[0], txd))
    _close(AF.hessian(scalar_fn, xd), TF.hessian(scalar_fn, txd))
    for ours, theirs in ((AF.hvp, TF.hvp), (AF.vhp, TF.vhp)):
        out, res = ours(scalar_fn, xd, A.tensor(v))
        tout, tres = theirs(scalar_fn, txd, torch.tensor(v))
        _close(out, tout)
        _close(res, tres)
    out, res = AF.vjp(lambda a: a.sin() * a, xd, A.tensor(v))
    tout, tres = TF.vjp(lambda a: a.sin() * a, txd, torch.tensor(v))
    _close(res, tres)
    out, res = AF.jvp(lambda a: a.sin() * a[1], xd, A.tensor(v))
    tout, tres = TF.jvp(lambda a: a.sin() * a[1], txd, torch.tensor(v))
    _close(out, tout)
    _close(res, tres)


def test_functional_tuple_inputs_and_outputs_structure():
    a, ta = _pair([0.3, -0.8])
    b, tb = _pair([1.2])
    ours = AF.jacobian(lambda p, q: (p * q, q.exp()), (a.detach(), b.detach()))
    theirs = TF.jacobian(lambda p, q: (p * q, q.exp()), (ta.detach(), tb.detach()))
    assert len(ours) == 2 and all(len(row) == 2 for row in ours)
    for row, trow in zip(ours, theirs):
        for o, t in zip(row, trow):
            assert o.shape == tuple(t.shape)
            _close(o, t)


def test_functional_errors_as_torch():
    x = A.tensor([1.0, 2.0], dtype=A.float64)
    with pytest.raises(RuntimeError, match="single Tensor with a single element"):
        AF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="independent of input 0"):
        AF.jacobian(lambda a: A.ones(2, dtype=A.float64), x, strict=True)
    np.testing.assert_array_equal(AF.jacobian(lambda a: A.ones(2, dtype=A.float64), x).numpy(), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda a: a, [1.0])
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.hessian(lambda a: (a[0], a[1]), x)


def test_errors_for_bad_input_as_torch():
    x = A.tensor([1.0, 2.0], dtype=A.float64, requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        A.grad(y, x, create_graph=True)
    z = (x * 3.0)[0]
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        A.grad(z, [x, A.tensor([1.0], requires_grad=True)], create_graph=True)
    assert A.grad(z, [x, A.tensor([1.0], requires_grad=True)], allow_unused=True, retain_graph=True)[1] is None
    w = (x.exp() * x)[1]
    A.grad(w, x)                          # frees the graph
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        A.grad(w, x, create_graph=True)


def test_create_graph_retains_the_graph_by_default():
    x = A.tensor([0.5], dtype=A.float64, requires_grad=True)
    y = (x.exp() * x)[0]
    g1, = A.grad(y, x, create_graph=True)
    g2, = A.grad(y, x)                    # torch: retain_graph defaults to create_graph
    _close(g1, g2)


def test_once_differentiable_op_refuses_a_second_derivative_by_name():
    class Square(A.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @A.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = A.tensor([1.5, -2.0], dtype=A.float64, requires_grad=True)
    g, = A.grad(Square.apply(x)[0], x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3.0, 0.0])
    assert not g.requires_grad            # as torch: the incoming gradient was not recorded
    g, = A.grad((Square.apply(x) * x)[0], x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        A.grad(g[0], x)


def test_an_op_without_a_differentiable_backward_refuses_by_name():
    from autograd.graph import record_once_differentiable

    x = A.tensor([1.5, -2.0], dtype=A.float64, requires_grad=True)
    y = record_once_differentiable(x._data ** 2, (x,), lambda g: (2 * x._data * g,), "RawSquare")
    g, = A.grad(y[0], x, create_graph=True)
    assert g.requires_grad                # never silently constant: it depends on x
    with pytest.raises(RuntimeError, match="double backward through RawSquare is not supported"):
        A.grad(g[0], x)


def test_custom_function_backward_is_differentiable_with_tensors():
    class Cube(A.Function):
        @staticmethod
        def forward(ctx, x):
            assert isinstance(x, A.Tensor)
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    class TCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x, tx = _pair([0.7, -1.1])
    g, = A.grad(Cube.apply(x)[1] * Cube.apply(x)[0], x, create_graph=True)
    tg, = torch.autograd.grad(TCube.apply(tx)[1] * TCube.apply(tx)[0], tx, create_graph=True)
    _close(g, tg)
    h, = A.grad(g[0], x)
    th, = torch.autograd.grad(tg[0], tx)
    _close(h, th)


def test_custom_function_multiple_outputs_and_needs_input_grad():
    seen = {}

    class SinCos(A.Function):
        @staticmethod
        def forward(ctx, x, scale):
            seen["needs"] = ctx.needs_input_grad
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x.sin() * scale, x.cos() * scale

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return ctx.scale * (gs * x.cos() - gc * x.sin()), None

    x = A.tensor([0.3, 1.2], dtype=A.float64, requires_grad=True)
    s, c = SinCos.apply(x, 2.0)
    assert seen["needs"] == (True, False)
    (s[0] + c[1]).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * np.cos(0.3), -2 * np.sin(1.2)])


def test_tensor_hooks_run_on_tensors_under_create_graph():
    x, tx = _pair([0.6, -0.4])
    for t in (x, tx):
        y = t.exp() * t
        y.register_hook(lambda g: g * y)       # the hook's result joins the recorded graph
    g, = A.grad((x.exp() * x)[0] * 0 + (lambda y: (y.register_hook(lambda g: g * y), y)[1])(x.exp() * x)[1],
                x, create_graph=True)
    ty = tx.exp() * tx
    ty.register_hook(lambda gr: gr * ty)
    tg, = torch.autograd.grad(ty[1] + (tx.exp() * tx)[0] * 0, tx, create_graph=True)
    _close(g, tg)
    _close(A.grad(g[1], x)[0], torch.autograd.grad(tg[1], tx)[0])


def test_maml_outer_gradient_through_a_differentiable_sgd_step():
    import minitorch_optim as optim

    w, tw = _pair([0.8, -0.3])
    data = np.array([0.5, 1.5])

    def loss(p, d):
        return ((p * d).exp() * p)[0] + (p * p * d)[1]

    outer = []
    for lib, p, t in ((A, w, A.tensor(data)), (torch, tw, torch.tensor(data))):
        g, = lib.autograd.grad(loss(p, t), p, create_graph=True) if lib is torch else A.grad(loss(p, t), p,
                                                                                                create_graph=True)
        adapted = p - 0.1 * g
        outer.append(loss(adapted, t * 2))
    gw, = A.grad(outer[0], w)
    tgw, = torch.autograd.grad(outer[1], tw)
    _close(gw, tgw)
    # the same inner step through minitorch_optim's differentiable SGD
    p = A.tensor([0.8, -0.3], dtype=A.float64, requires_grad=True)
    fast = p.clone()
    opt = optim.SGD([fast], lr=0.1, differentiable=True)
    g, = A.grad(loss(fast, A.tensor(data)), fast, create_graph=True)
    fast.grad = g
    opt.step()
    gp, = A.grad(loss(fast, A.tensor(data) * 2), p)
    _close(gp, tgw)


# ---- every elementwise op: second derivatives against torch, over shapes and broadcasting ---------------
from hypothesis import given, settings, strategies as st  # noqa: E402

UNARY = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "abs", "sin", "cos", "tan", "asin",
         "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "square", "reciprocal", "erf", "neg", "sign",
         "floor", "trunc"]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "atan2": lambda a, b: a.atan2(b),
          "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
          "lerp": lambda a, b: a.lerp(b, 0.3), "addcmul": lambda a, b: a.addcmul(b, b, value=0.5),
          "addcdiv": lambda a, b: a.addcdiv(a, b, value=2.0), "where": lambda a, b: _where(a, b), "clamp": lambda a, b: a.clamp(min=b), "add_alpha": lambda a, b: a.add(b, alpha=-1.5)}


def _where(a, b):
    lib = torch if isinstance(a, torch.Tensor) else A
    return lib.where(a > 0.7, a * b, b * b)


def _array(t):
    t = t.detach()
    if isinstance(t, torch.Tensor) and t._is_zerotensor():   # torch's symbolic zeros (e.g. abs'' = 0)
        t = torch.zeros_like(t)
    return t.numpy()


def _hvp_both(fn, shapes, low=0.2, high=1.5, seed=0):
    """For ours and torch: the gradient of ``sum(fn(xs) * w)`` (recorded) and its product with ``v``."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    w = rng.standard_normal(np.broadcast_shapes(*shapes))
    results = []
    for lib, grad in ((A, A.grad), (torch, torch.autograd.grad)):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*xs)
        gs = grad((out * lib.tensor(w)).sum(), xs, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(gs, vs))
        hs = grad(dot, xs, allow_unused=True) if dot.requires_grad else [None] * len(xs)
        results.append(([_array(g) for g in gs], [np.zeros_like(a) if h is None else _array(h) for h, a in zip(hs, arrays)]))
    return results


SHAPES = st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2)), ((4,), ())])


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(UNARY), shape=st.sampled_from([(3,), (2, 3), ()]), seed=st.integers(0, 3))
def test_unary_second_derivatives_match_torch(name, shape, seed):
    fn = lambda x: getattr(x, name)() * x if name in ("floor", "trunc", "sign") else getattr(x, name)()  # noqa: E731
    low, high = (0.1, 0.9) if name in ("asin", "acos") else (0.2, 1.5)
    (g, h), (tg, th) = _hvp_both(fn, [shape], low, high, seed)
    for a, b in zip(g + h, tg + th):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(BINARY)), shapes=SHAPES, seed=st.integers(0, 3))
def test_binary_second_derivatives_match_torch_with_broadcasting(name, shapes, seed):
    (g, h), (tg, th) = _hvp_both(BINARY[name], list(shapes), seed=seed)
    for a, b in zip(g + h, tg + th):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_grads_batched_as_torch():
    x, tx = _pair([1.0, 2.0, 3.0])
    eye = np.eye(3)
    g, = A.grad(x.exp() * x, x, A.tensor(eye), is_grads_batched=True)
    tg, = torch.autograd.grad(tx.exp() * tx, tx, torch.tensor(eye), is_grads_batched=True)
    _close(g, tg)
