"""torch.func's function transforms (grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap,
stack_module_state) against torch 2.13's on the same functions: values in float64 to 1e-10, result structure,
``requires_grad`` of the results, and torch's error classes and messages."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.func as TF  # noqa: E402

import autograd as A  # noqa: E402
import autograd.func as AF  # noqa: E402

RNG = np.random.default_rng(1234)
X4 = RNG.standard_normal(4)
W43 = RNG.standard_normal((4, 3))
B53 = RNG.standard_normal((5, 3))
X45 = RNG.standard_normal((4, 5))


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def _structure(tree):
    if isinstance(tree, dict):
        return ("dict", tuple(tree), tuple(_structure(v) for v in tree.values()))
    if isinstance(tree, (tuple, list)):
        return (type(tree).__name__, tuple(_structure(v) for v in tree))
    return "tensor" if hasattr(tree, "detach") else type(tree).__name__


def assert_same(ours, theirs, tol=1e-10):
    """Same structure; every tensor with torch's shape, values (float64, to ``tol``) and requires_grad."""
    assert _structure(ours) == _structure(theirs)
    for a, b in zip(_leaves(ours), _leaves(theirs)):
        if not isinstance(b, torch.Tensor):
            assert a == b
            continue
        assert tuple(a.shape) == tuple(b.shape)
        assert a.requires_grad == b.requires_grad
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def both(build):
    """``build(lib, func_namespace)`` run with autograd and with torch; the two results compared."""
    assert_same(build(A, AF), build(torch, TF))


def same_error(build, match_whole=True):
    """``build`` raises the same exception class, with the same message, in both libraries."""
    with pytest.raises(Exception) as theirs:
        build(torch, TF)
    with pytest.raises(type(theirs.value)) as ours:
        build(A, AF)
    if match_whole:
        assert str(ours.value) == str(theirs.value)
    else:
        # torch prints its TreeSpec class in structure errors; the text before the first one must agree
        cut = str(theirs.value).find("TreeSpec")
        assert cut > 0 and str(ours.value)[:cut] == str(theirs.value)[:cut]


def t(lib, values, requires_grad=False):
    return lib.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


def poly_tanh_exp(lib):
    return lambda x: (x ** 3 - 2 * x ** 2 + lib.tanh(x) * lib.exp(0.5 * x)).sum()


def layer(lib):
    return lambda x, w: lib.tanh(x @ w).sin() * lib.exp(x.sum() / 4)


# ------------------------------------------------------------------------------------------------- grad

def test_grad_of_polynomial_and_transcendental_composition():
    both(lambda lib, F: F.grad(poly_tanh_exp(lib))(t(lib, X4)))


def test_grad_argnums_tuple_negative_and_pytree_argument():
    both(lambda lib, F: F.grad(lambda x, w: layer(lib)(x, w).sum(), argnums=(0, 1))(t(lib, X4), t(lib, W43)))
    both(lambda lib, F: F.grad(lambda x, w: layer(lib)(x, w).sum(), argnums=-1)(t(lib, X4), t(lib, W43)))
    both(lambda lib, F: F.grad(lambda p: (p["a"] * p["b"][0].exp() + p["b"][1]).sum())(
        {"a": t(lib, X4), "b": [t(lib, X4[::-1].copy()), t(lib, X4)]}))


def test_grad_has_aux_and_grad_and_value():
    def f(lib):
        return lambda x: ((x.sin() ** 2).sum(), {"double": 2 * x, "cos": (x.cos(),)})
    both(lambda lib, F: F.grad(f(lib), has_aux=True)(t(lib, X4)))
    both(lambda lib, F: F.grad_and_value(f(lib), has_aux=True)(t(lib, X4)))
    both(lambda lib, F: F.grad_and_value(poly_tanh_exp(lib))(t(lib, X4)))


def test_grad_of_unused_input_is_zeros_and_inputs_are_untouched():
    both(lambda lib, F: F.grad(lambda x, y: (y * 2).sum())(t(lib, X4), t(lib, X4)))
    both(lambda lib, F: F.grad(lambda x: lib.tensor(2.0, dtype=lib.float64))(t(lib, X4)))
    x = t(A, X4)
    AF.grad(poly_tanh_exp(A))(x)
    assert not x.requires_grad and x.grad is None
    np.testing.assert_array_equal(x.numpy(), X4)


def test_grad_keyword_arguments_are_passed_not_differentiated():
    both(lambda lib, F: F.grad(lambda x, scale=1.0: (scale * x ** 2).sum())(t(lib, X4), scale=t(lib, 3.0)))


def test_nested_grad_and_closures_over_tensors_that_require_grad():
    # d/dx of a gradient: third-order structure through create_graph, no perturbation confusion
    both(lambda lib, F: F.grad(lambda x: F.grad(poly_tanh_exp(lib))(x).sum())(t(lib, X4)))
    both(lambda lib, F: F.grad(lambda x: F.grad(lambda y: (x * y).sum() * x.sum())(x).sum())(t(lib, X4)))
    # a gradient stays connected to what requires grad outside the transform, as torch's does
    for lib, F in ((A, AF), (torch, TF)):
        w = t(lib, [0.5, -1.0, 2.0, 0.25], requires_grad=True)
        g = F.grad(lambda x: (w * x.sin() ** 2).sum())(t(lib, X4))
        assert g.requires_grad
        (g * t(lib, X4)).sum().backward()
        if lib is A:
            ours = w.grad.numpy()
        else:
            assert_same(A.tensor(ours), w.grad)
        with lib.no_grad():
            assert not F.grad(lambda x: (w * x.sin() ** 2).sum())(t(lib, X4)).requires_grad
    both(lambda lib, F: F.grad(lambda x: (x ** 3).sum())(t(lib, X4, requires_grad=True)))

    def under_no_grad(lib, F):
        with lib.no_grad():
            return F.grad(lambda x: (x ** 3).sum())(t(lib, X4, requires_grad=True)), F.hessian(
                poly_tanh_exp(lib))(t(lib, X4, requires_grad=True))
    both(under_no_grad)


def test_grad_errors_match_torch():
    same_error(lambda lib, F: F.grad(lambda x: x * 2)(t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x: (x * 2)[:1])(t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x: 3.0)(t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x: x.sum(), argnums=1)(t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x, y: (x * y).sum(), argnums=(0, 0))(t(lib, X4), t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x, y: (x * y).sum(), argnums=[0, 1])(t(lib, X4), t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x, y: (x * y).sum(), argnums=())(t(lib, X4), t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x: x.sum())(lib.ones(3, dtype=lib.int64)))
    same_error(lambda lib, F: F.grad(lambda x: x)(3.0))
    same_error(lambda lib, F: F.grad(lambda x: x.sum(), has_aux=True)(t(lib, X4)))
    same_error(lambda lib, F: F.grad(lambda x: (x.sum(), 3), has_aux=True)(t(lib, X4)))

    def mutate(x):
        x.mul_(2)
        return x.sum()
    same_error(lambda lib, F: F.grad(mutate)(t(lib, X4)))


# ----------------------------------------------------------------------------------------- vjp, jvp, linearize

def test_vjp_matches_torch_and_can_be_called_again():
    def build(lib, F):
        out, vjp_fn = F.vjp(layer(lib), t(lib, X4), t(lib, W43))
        v = t(lib, [1.0, -2.0, 0.5])
        return out, vjp_fn(v), vjp_fn(2 * v)
    both(build)

    def build_tree(lib, F):
        out, vjp_fn, aux = F.vjp(lambda p: ({"a": p[0] * p[1], "b": (p[0].exp().sum(),)}, p[1].cos()),
                                 (t(lib, X4), t(lib, X4[::-1].copy())), has_aux=True)
        return out, aux, vjp_fn({"a": t(lib, X4), "b": (t(lib, 1.5),)})
    both(build_tree)
    # a float32 cotangent for a float64 output is cast, as torch does
    both(lambda lib, F: F.vjp(lambda x: x * 2, t(lib, X4))[1](lib.ones(4, dtype=lib.float32)))


def test_vjp_errors_match_torch():
    x = X4
    same_error(lambda lib, F: F.vjp(lambda a: a * 2, t(lib, x))[1]((t(lib, x),)))
    same_error(lambda lib, F: F.vjp(lambda a: a * 2, t(lib, x))[1](t(lib, x[:2])))
    same_error(lambda lib, F: F.vjp(lambda a: 3.0, t(lib, x)))
    same_error(lambda lib, F: F.vjp(lambda a: a, 3.0))
    same_error(lambda lib, F: F.vjp(lambda a: a.long(), t(lib, x)))


def test_jvp_matches_torch_exactly():
    both(lambda lib, F: F.jvp(layer(lib), (t(lib, X4), t(lib, W43)), (t(lib, X4[::-1].copy()), t(lib, W43 * 0.5))))
    both(lambda lib, F: F.jvp(lambda x: {"s": x.sin() * x, "m": (x.exp().sum(),)}, (t(lib, X4),), (t(lib, X4),)))
    both(lambda lib, F: F.jvp(lambda x: (x.sin(), x.cos() * 2), (t(lib, X4),), (t(lib, X4),), has_aux=True))
    both(lambda lib, F: F.jvp(lambda x: lib.ones(2, dtype=lib.float64), (t(lib, X4),), (t(lib, X4),)))
    # linear functions: the double-vjp trick still differentiates with respect to the dummy cotangent
    both(lambda lib, F: F.jvp(lambda x: 3 * x + 1, (t(lib, X4),), (t(lib, X4 * 2),)))


def test_jvp_composes_with_grad_both_ways():
    # forward-over-reverse Hessian-vector product, and the gradient of a Jacobian-vector product
    both(lambda lib, F: F.jvp(F.grad(poly_tanh_exp(lib)), (t(lib, X4),), (t(lib, X4[::-1].copy()),)))
    both(lambda lib, F: F.grad(lambda x: F.jvp(lambda a: a.sin() * a.sum(), (x,), (t(lib, X4),))[1].sum())(
        t(lib, X4)))
    both(lambda lib, F: F.grad(lambda v: F.jvp(lambda a: a.exp() * a, (t(lib, X4),), (v,))[1].pow(2).sum())(
        t(lib, X4)))


def test_jvp_errors_match_torch():
    same_error(lambda lib, F: F.jvp(lambda a: a, t(lib, X4), t(lib, X4)))
    same_error(lambda lib, F: F.jvp(lambda a: a, (t(lib, X4),), (t(lib, X4[:2]),)))
    same_error(lambda lib, F: F.jvp(lambda a: 3, (t(lib, X4),), (t(lib, X4),)))
    same_error(lambda lib, F: F.jvp(lambda a: a, (t(lib, X4),), [t(lib, X4)]), match_whole=False)
    same_error(lambda lib, F: F.jvp(lambda a: lib.ones(2), (t(lib, X4),), (t(lib, X4),), strict=True))
    both(lambda lib, F: F.jvp(lambda a: a * 2, (t(lib, X4),), (t(lib, X4),), strict=True))


def test_linearize_matches_jvp():
    def build(lib, F):
        out, jvp_fn = F.linearize(lambda x: x.sin() * x.exp(), t(lib, X4))
        return out, jvp_fn(t(lib, X4)), jvp_fn(t(lib, np.ones(4)))
    both(build)
    same_error(lambda lib, F: F.linearize(lambda a: a.sin(), t(lib, X4))[1](t(lib, X4[:2])))
    same_error(lambda lib, F: F.linearize(lambda a: a.sin(), t(lib, X4))[1](t(lib, X4), t(lib, X4)),
               match_whole=False)


# ------------------------------------------------------------------------------------------------ Jacobians

def test_jacrev_and_jacfwd_match_torch():
    for name in ("jacrev", "jacfwd"):
        both(lambda lib, F: getattr(F, name)(layer(lib), argnums=(0, 1))(t(lib, X4), t(lib, W43)))
        both(lambda lib, F: getattr(F, name)(layer(lib), argnums=1)(t(lib, X4), t(lib, W43)))
        both(lambda lib, F: getattr(F, name)(lambda x: {"a": x[0] * x, "b": x.sum()}, argnums=(0,))(t(lib, X4)))
        both(lambda lib, F: getattr(F, name)(lambda d: d["u"] * d["v"])({"u": t(lib, X4), "v": t(lib, 2 * X4)}))
        both(lambda lib, F: getattr(F, name)(lambda x: (x.sin(), x.cos()), has_aux=True)(t(lib, X4)))
        both(lambda lib, F: getattr(F, name)(lambda x: lib.ones(2, dtype=lib.float64))(t(lib, X4)))
    both(lambda lib, F: F.jacrev(layer(lib), chunk_size=2)(t(lib, X4), t(lib, W43)))
    same_error(lambda lib, F: F.jacrev(lambda x: x * 2, chunk_size=0)(t(lib, X4)))
    same_error(lambda lib, F: F.jacrev(lambda x: x.long())(t(lib, X4)))


def test_results_stay_connected_to_inputs_that_require_grad():
    both(lambda lib, F: F.jacrev(lambda a: a.sin() * a.sum())(t(lib, X4, requires_grad=True)))
    both(lambda lib, F: F.vjp(lambda a: a.sin(), t(lib, X4, requires_grad=True))[0])
    both(lambda lib, F: F.jvp(lambda a: a.sin(), (t(lib, X4, requires_grad=True),), (t(lib, X4),)))
    both(lambda lib, F: F.jvp(lambda a: a.sin(), (t(lib, X4),), (t(lib, X4, requires_grad=True),)))

    def backprop_through_jacobian(lib, F):
        x = t(lib, X4, requires_grad=True)
        (F.jacrev(lambda a: a.sin() * a.sum())(x) ** 2).sum().backward()
        return x.grad
    both(backprop_through_jacobian)


def test_hessian_and_nested_jacobians_match_torch():
    both(lambda lib, F: F.hessian(poly_tanh_exp(lib))(t(lib, X4)))
    both(lambda lib, F: F.jacrev(F.jacrev(poly_tanh_exp(lib)))(t(lib, X4)))
    both(lambda lib, F: F.jacfwd(F.jacrev(lambda x: x.sin() * x.sum()))(t(lib, X4)))
    both(lambda lib, F: F.hessian(lambda x, y: (x * y.sin()).sum() * x.sum(), argnums=(0, 1))(t(lib, X4),
                                                                                             t(lib, X4 + 1)))
    both(lambda lib, F: F.hessian(lambda w, x: lib.tanh(x @ w).pow(2).sum())(t(lib, W43), t(lib, X4)))


# --------------------------------------------------------------------------------------------------- vmap

def test_vmap_basic_in_dims_out_dims_and_nesting():
    both(lambda lib, F: F.vmap(lambda r: r.sin() * r.sum())(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r, w: r @ w, in_dims=(1, None))(t(lib, X45), t(lib, W43)))
    both(lambda lib, F: F.vmap(lambda r: r, in_dims=-1, out_dims=1)(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: r.sum())(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: {"p": (r, r * 2)}, out_dims={"p": (0, 1)})(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: {"p": (r, r * 2)}, out_dims=-1)(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: (r, 3.0), out_dims=(0, None))(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: lib.ones(2, dtype=lib.float64), out_dims=None)(t(lib, B53)))
    both(lambda lib, F: F.vmap(lambda r: lib.ones(2, dtype=lib.float64))(t(lib, B53)))
    both(lambda lib, F: F.vmap(F.vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(
        t(lib, X4), t(lib, X4[:3])))
    both(lambda lib, F: F.vmap(lambda d: d["a"] + d["b"][0], in_dims=({"a": 0, "b": [None]},))(
        {"a": t(lib, B53), "b": [t(lib, X4[:3])]}))
    both(lambda lib, F: F.vmap(lambda pair: pair[0] * pair[1], in_dims=0)([t(lib, B53), t(lib, B53 ** 2)]))
    both(lambda lib, F: F.vmap(lambda r, b=None: r + b)(t(lib, B53), b=t(lib, X4[:3])))
    both(lambda lib, F: F.vmap(lambda r, k: r * k, in_dims=(0, None))(t(lib, B53), 2.5))
    both(lambda lib, F: F.vmap(lambda r: r * 2)(lib.ones(0, 3, dtype=lib.float64)))
    both(lambda lib, F: F.vmap(lambda r: r * 2, chunk_size=2)(t(lib, B53)))


def test_vmap_errors_match_torch():
    x = B53
    same_error(lambda lib, F: F.vmap(lambda a, b: a + b)(t(lib, x), t(lib, np.ones((3, 3)))))
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=2)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=-3)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=1.0)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=[0])(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=None)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a, b: a, in_dims=(0,))(t(lib, x), t(lib, x)), match_whole=False)
    same_error(lambda lib, F: F.vmap(lambda a, b: a, in_dims=({"a": 0},))({"a": t(lib, x), "b": t(lib, x)}, None),
               match_whole=False)
    same_error(lambda lib, F: F.vmap(lambda a: a, in_dims=(None,))(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a, b: a * b, in_dims=(0, 0))(t(lib, x), 2.0))
    same_error(lambda lib, F: F.vmap(lambda a: 3.0)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: None)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, out_dims=None)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, out_dims=2)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: (a, a), out_dims=(0,))(t(lib, x)), match_whole=False)
    same_error(lambda lib, F: F.vmap(lambda: t(lib, x))())
    same_error(lambda lib, F: F.vmap(lambda a=None: a)(a=t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, chunk_size=0)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, randomness="sometimes")(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, out_dims="a")(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, out_dims=1.0)(t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a, out_dims=[0])(t(lib, x)), match_whole=False)
    same_error(lambda lib, F: F.vmap(lambda a, b: a, in_dims=(0, "a"))(t(lib, x), t(lib, x)))
    same_error(lambda lib, F: F.vmap(lambda a: a)(t(lib, 1.0)))
    same_error(lambda lib, F: F.vmap(F.grad(lambda a: a.sum()))(lib.ones(2, 2, dtype=lib.int64)))


def test_vmap_in_place_on_a_mapped_input_writes_through_as_torch():
    def build(lib, F):
        x = t(lib, B53)

        def bump(row):
            row.add_(1)
            return row * 2
        return F.vmap(bump)(x), x
    both(build)


def test_vmap_randomness_modes():
    same_error(lambda lib, F: F.vmap(lambda a: a + lib.rand(3, dtype=lib.float64))(t(lib, B53)))
    same_error(lambda lib, F: F.vmap(lambda a: lib.rand_like(a))(t(lib, B53)))
    same_error(lambda lib, F: F.vmap(lambda a: lib.nn.functional.dropout(a, 0.5))(t(lib, B53)))
    same_error(lambda lib, F: F.jacfwd(lambda a: a * lib.rand(4, dtype=lib.float64))(t(lib, X4)))
    jac = AF.jacfwd(lambda a: a * A.rand(4, dtype=A.float64), randomness="same")(t(A, X4))
    assert np.count_nonzero(jac.numpy() - np.diag(np.diag(jac.numpy()))) == 0
    with pytest.raises(NotImplementedError, match="randomness='different'"):
        AF.jacfwd(lambda a: a * A.rand(4, dtype=A.float64), randomness="different")(t(A, X4))
    A.manual_seed(0)
    same = AF.vmap(lambda a: a + A.rand(3, dtype=A.float64), randomness="same")(A.zeros(4, 3, dtype=A.float64))
    assert all(np.array_equal(same[0].numpy(), same[i].numpy()) for i in range(4))
    A.manual_seed(0)
    after_one = A.rand(3, dtype=A.float64)
    # 'same' draws once: the generator moves on by one sample's draws, to the numbers every sample saw
    np.testing.assert_array_equal(after_one.numpy(), same[0].numpy())
    different = AF.vmap(lambda a: a + A.rand(3, dtype=A.float64), randomness="different")(A.zeros(4, 3))
    assert not np.array_equal(different[0].numpy(), different[1].numpy())


def test_vmap_is_differentiable_both_ways():
    both(lambda lib, F: F.grad(lambda w: F.vmap(lambda r: (r * w).sum().tanh())(t(lib, B53)).pow(2).sum())(
        t(lib, X4[:3])))
    both(lambda lib, F: F.vmap(F.grad(lambda w, r: lib.tanh(r @ w).sum()), in_dims=(None, 0))(t(lib, W43),
                                                                                              t(lib, B53 @ W43.T)))
    both(lambda lib, F: F.vmap(F.jacrev(lambda x: x.sin() * x.sum()))(t(lib, B53)))
    both(lambda lib, F: F.vmap(F.hessian(lambda x: (x.exp() * x).sum()))(t(lib, B53)))


# ------------------------------------------------------------------------------ models: per-sample gradients

def _mlp_pair():
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    amodel = A.nn.Sequential(A.nn.Linear(3, 6), A.nn.Tanh(), A.nn.Linear(6, 2)).double()
    with A.no_grad():
        for (_, ap), (_, tp) in zip(amodel.named_parameters(), tmodel.named_parameters()):
            ap.copy_(A.tensor(tp.detach().numpy()))
    return {A: amodel, torch: tmodel}


def test_per_sample_gradients_of_an_mlp_via_functional_call():
    models = _mlp_pair()
    targets = RNG.standard_normal((5, 2))

    def build(lib, F):
        model = models[lib]
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, y):
            out = F.functional_call(model, p, (x.unsqueeze(0),))
            return ((out - y.unsqueeze(0)) ** 2).mean()
        per_sample = F.vmap(F.grad(loss), in_dims=(None, 0, 0))(params, t(lib, B53), t(lib, targets))
        values = F.vmap(loss, in_dims=(None, 0, 0))(params, t(lib, B53), t(lib, targets))
        return per_sample, values
    both(build)
    per_sample, _ = build(A, AF)
    # the mean of the per-sample gradients is the batch gradient
    model = models[A]
    model.zero_grad()
    ((model(A.tensor(B53)) - A.tensor(targets)) ** 2).mean(dim=1).mean().backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(per_sample[name].mean(0).numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_and_jvp_of_an_mlp_loss_with_respect_to_its_parameters():
    models = _mlp_pair()
    targets = RNG.standard_normal((5, 2))

    def build(lib, F):
        model = models[lib]
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p):
            return ((F.functional_call(model, p, (t(lib, B53),)) - t(lib, targets)) ** 2).mean()
        tangents = ({k: t(lib, np.full(tuple(v.shape), 0.1)) for k, v in params.items()},)
        hess = F.hessian(lambda b2, w0: loss({**params, "2.bias": b2, "0.weight": w0}), argnums=(0, 1))(
            params["2.bias"], params["0.weight"])
        return hess, F.jvp(loss, (params,), tangents)
    both(build)


def test_stack_module_state_and_ensembling_with_vmap():
    pairs = [_mlp_pair() for _ in range(3)]

    def build(lib, F):
        models = [p[lib] for p in pairs]
        params, buffers = F.stack_module_state(models)
        base = models[0]

        def run(p, b, x):
            return F.functional_call(base, (p, b), (x,))
        return params, buffers, F.vmap(run, in_dims=(0, 0, None))(params, buffers, t(lib, B53))
    both(build)
    params, _ = AF.stack_module_state([p[A] for p in pairs])
    assert all(v.is_leaf and v.requires_grad for v in params.values())
    both(lambda lib, F: F.stack_module_state([lib.nn.BatchNorm1d(3).double() for _ in range(2)]))
    same_error(lambda lib, F: F.stack_module_state([]))
    same_error(lambda lib, F: F.stack_module_state([lib.nn.Linear(3, 2), lib.nn.ReLU()]))
    same_error(lambda lib, F: F.stack_module_state([lib.nn.Linear(3, 2), lib.nn.Linear(3, 2).eval()]))
