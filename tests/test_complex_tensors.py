"""Complex tensors against torch: dtypes, views of the parts, conjugation, printing, and gradients (torch's
convention: dL/dx + i dL/dy) of the core ops, first and second order; ops without complex support refuse."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as ag  # noqa: E402
from autograd import dtypes  # noqa: E402
from autograd.ops import complex_ops as cx  # noqa: E402
from autograd.ops import elementwise as ew  # noqa: E402

C128 = dtypes.complex128
RNG = np.random.default_rng(1)
Z = (0.6 + RNG.random(6)) + 1j * (RNG.random(6) - 0.5)    # right half-plane: away from log/sqrt branch cuts
V = (0.5 + RNG.random(6)) - 1j * RNG.random(6)
W = RNG.standard_normal(6) + 1j * RNG.standard_normal(6)


def fn(lib, name):
    """torch's function, or ours (from complex_ops until the top level exports it)."""
    if lib is torch:
        return getattr(torch, name)
    return getattr(ag, name, None) or getattr(cx, name)


def np_of(t):
    return t.detach().resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


# ---- forward: dtypes, views, conjugation --------------------------------------------------------------------
def test_abs_angle_real_imag_have_real_dtypes():
    z = ag.tensor(Z)
    tz = torch.tensor(Z)
    for name in ("abs", "angle"):
        ours, ref = getattr(z, name)(), getattr(tz, name)()
        assert ours.dtype == dtypes.float64 and ref.dtype == torch.float64
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-15)
    np.testing.assert_array_equal(z.real.numpy(), tz.real.numpy())
    np.testing.assert_array_equal(z.imag.numpy(), tz.imag.numpy())
    assert z.is_complex() and not z.real.is_complex()


def test_real_and_imag_are_writable_views():
    x = ag.tensor(np.array([1 + 1j, 2 - 3j]))
    x.real.add_(1)
    x.imag.mul_(2)
    np.testing.assert_array_equal(x.numpy(), [2 + 2j, 3 - 6j])
    r = ag.tensor([1.0, -2.0])
    assert r.real is r
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        r.imag


def test_in_place_through_a_part_of_a_graph_tensor_is_refused_not_misdifferentiated():
    x = ag.tensor(Z, requires_grad=True)
    y = x * 1
    with pytest.raises(NotImplementedError):
        y.real.mul_(2)
        y.abs().sum().backward()


def test_conjugate_bit_answers_as_torch():
    for lib in (torch, ag):
        z = lib.tensor(np.array([1j, 2 + 1j]))
        c = z.conj()
        assert c.is_conj() and not c.conj().is_conj() and not c.resolve_conj().is_conj()
        assert not z.conj_physical().is_conj() and not z.is_neg() and not z.is_conj()
        np.testing.assert_array_equal(np_of(c), np.conj(z.numpy()))
        real = lib.tensor([1.0, 2.0])
        assert real.conj() is real and not real.conj().is_conj()


def test_angle_sgn_isreal_of_real_and_complex_inputs():
    for vals in ([-2.0, 0.0, 3.0, float("nan")], [1 + 2j, 0j, -3 + 0j]):
        ours, ref = ag.tensor(vals), torch.tensor(vals, dtype=torch.complex128 if isinstance(vals[0], complex)
                                                   else torch.float32)
        for name in ("angle", "sgn", "isreal"):
            np.testing.assert_allclose(np_of(getattr(ours, name)()), np_of(getattr(ref, name)()), rtol=1e-6)
    s = ag.tensor(np.array([3 + 4j, 0j]))
    s.sgn_()
    np.testing.assert_allclose(s.numpy(), [0.6 + 0.8j, 0])


def test_complex_polar_and_views_as_real_complex():
    re, im = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    ours = fn(ag, "complex")(ag.tensor(re), ag.tensor(im))
    assert ours.dtype == C128 and np.array_equal(ours.numpy(), re + 1j * im)
    assert fn(ag, "complex")(ag.tensor(re, dtype=dtypes.float32), ag.tensor(im, dtype=dtypes.float32)).dtype \
        == dtypes.complex64
    p = fn(ag, "polar")(ag.tensor(re), ag.tensor(im))
    np.testing.assert_allclose(p.numpy(), torch.polar(torch.tensor(re), torch.tensor(im)).numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="Expected object of scalar type Float but got scalar type Double"):
        fn(ag, "complex")(ag.tensor(re, dtype=dtypes.float32), ag.tensor(im))
    z = ag.tensor(np.array([[1 + 2j, 3 - 4j], [5j, -1 + 0j]]))
    r = fn(ag, "view_as_real")(z.t())      # a transposed tensor's parts are still a view
    assert tuple(r.shape) == (2, 2, 2)
    r.mul_(2)
    np.testing.assert_array_equal(z.numpy(), 2 * np.array([[1 + 2j, 3 - 4j], [5j, -1 + 0j]]))
    back = fn(ag, "view_as_complex")(fn(ag, "view_as_real")(z))
    back.add_(1j)
    assert z.numpy()[1, 0] == 11j
    with pytest.raises(RuntimeError, match="view_as_real is only supported for complex tensors"):
        fn(ag, "view_as_real")(ag.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Tensor must have a last dimension of size 2"):
        fn(ag, "view_as_complex")(ag.ones(3, 3))


def test_promotion_of_complex_with_real():
    cases = [(np.ones(2, np.complex64), np.ones(2, np.float64)), (np.ones(2, np.float64), 1j),
             (np.ones(2, np.float32), np.array(1j)), (np.ones(2, np.int64), 1j), (np.ones(2, np.float32), 1j)]
    for a, b in cases:
        ta, tb = torch.tensor(a), (torch.tensor(b) if isinstance(b, np.ndarray) else b)
        oa, ob = ag.tensor(a), (ag.tensor(b) if isinstance(b, np.ndarray) else b)
        assert str((oa * ob).dtype) == str((ta * tb).dtype).replace("torch.", "")
    assert dtypes.promote_types(dtypes.cfloat, dtypes.float64) == dtypes.cdouble


def test_printing_matches_torch():
    values = [np.array([1 + 2j, -0.5j]), np.array([[1.5 + 2j, 3]]), np.array(1 + 1j),
              np.array([1e-6 + 1j, 3 + 1e5j, np.nan + 1j, np.inf - 2j]), (np.arange(30) * (1.5 - 0.25j)).reshape(3, 10),
              np.arange(2000) * (1 + 1j), np.array([-0.0 - 0.0j, 0j])]
    for v in values:
        assert repr(ag.tensor(v, dtype=C128)) == repr(torch.tensor(v, dtype=torch.complex128))


def test_ops_without_complex_support_raise_torchs_error_class():
    for name in ("sign", "floor", "relu", "erf", "clamp", "maximum", "remainder", "atan2", "lt", "max", "amax",
                 "softmax"):
        errors = []
        for lib in (torch, ag):
            z = lib.tensor(Z)
            try:
                {"clamp": lambda: z.clamp(0, 1), "softmax": lambda: lib.softmax(z, 0)}.get(
                    name, lambda: getattr(z, name)(z) if name in ("maximum", "remainder", "atan2", "lt")
                    else getattr(z, name)())()
            except Exception as e:   # noqa: BLE001 - the class is what is compared
                errors.append(type(e))
        assert len(errors) == 2 and errors[0] is errors[1], name


# ---- gradients against torch ---------------------------------------------------------------------------------
def grads(lib, f):
    z = lib.tensor(Z, requires_grad=True)
    v = lib.tensor(V, requires_grad=True)
    w = lib.tensor(W)
    y = f(lib, z, v)
    w = w.reshape(-1)[:y.numel()].reshape(y.shape)      # a fixed random cotangent: loss = Re <w, y>
    loss = (y * w).real.sum() if y.is_complex() else (y * w.real).sum()
    loss.backward()
    return [np_of(y)] + [None if t.grad is None else np_of(t.grad) for t in (z, v)]


LOSSES = {
    "abs_squared": lambda l, z, v: z.abs() ** 2, "mul": lambda l, z, v: z * v, "div": lambda l, z, v: z / v,
    "add_sub": lambda l, z, v: z.add(v, alpha=2.5) - v.sub(z, alpha=0.5j), "neg": lambda l, z, v: -z,
    "scalar_mul": lambda l, z, v: z * (2 - 1j), "scalar_rdiv": lambda l, z, v: (1 + 2j) / z,
    "real_times_complex": lambda l, z, v: z.real * v, "real_part": lambda l, z, v: (z * v).real,
    "imag_part": lambda l, z, v: (z * v).imag, "conj": lambda l, z, v: z.conj() * v,
    "conj_physical": lambda l, z, v: z.conj_physical() * v, "angle": lambda l, z, v: z.angle(),
    "sgn": lambda l, z, v: z.sgn(), "pow_int": lambda l, z, v: z ** 3, "pow_float": lambda l, z, v: z ** 2.5,
    "pow_complex_number": lambda l, z, v: z ** (0.5 + 1j), "rpow": lambda l, z, v: 1.5 ** z,
    "pow_tensor": lambda l, z, v: z ** v, "sum": lambda l, z, v: z.sum() * v.sum(),
    "mean": lambda l, z, v: z.reshape(2, 3).mean(0) * v.mean(), "prod": lambda l, z, v: z.reshape(2, 3).prod(1),
    "var_std": lambda l, z, v: z.var() + v.reshape(2, 3).std(0).sum(), "norms": lambda l, z, v: z.norm() + v.norm(3),
    "logsumexp": lambda l, z, v: l.logsumexp(z.reshape(2, 3), 1), "cumsum_cumprod": lambda l, z, v: z.cumsum(0) + v.cumprod(0),
    "matmul": lambda l, z, v: z.reshape(2, 3) @ v.reshape(3, 2), "mv": lambda l, z, v: z.reshape(2, 3).mv(v[:3]),
    "bmm": lambda l, z, v: l.bmm(z.reshape(1, 2, 3), v.reshape(1, 3, 2)), "dot": lambda l, z, v: l.dot(z, v),
    "vdot": lambda l, z, v: fn(l, "vdot")(z, v), "outer": lambda l, z, v: l.outer(z[:2], v[:3]),
    "view_as_real": lambda l, z, v: fn(l, "view_as_real")(z * v).reshape(-1)[:6],
    "view_as_complex": lambda l, z, v: fn(l, "view_as_complex")(fn(l, "view_as_real")(z) * 2) * v,
    "complex": lambda l, z, v: fn(l, "complex")(z.real, v.imag),
    "polar": lambda l, z, v: fn(l, "polar")(z.abs(), v.angle()),
    "shapes": lambda l, z, v: z.reshape(2, 3).t()[[0, 2]] * v.reshape(3, 2).transpose(0, 1)[:, 1:].flip(0),
    "lerp_addcmul": lambda l, z, v: z.lerp(v, 0.3) + z.lerp(v, z * 0.1) + z.addcmul(v, z) + z.addcdiv(v, z, value=2),
    "where": lambda l, z, v: l.where(l.tensor([True, False] * 3), z, v),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_torch(name):
    ref, ours = grads(torch, LOSSES[name]), grads(ag, LOSSES[name])
    for r, o in zip(ref, ours):
        assert (r is None) == (o is None), name
        if r is not None:
            np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", ew.UNARY_NAMES)
def test_every_unary_op_is_torch_correct_or_raises_as_torch(name):
    """The automated audit: each elementwise op on a complex128 input gives torch's gradient, or both raise."""
    def f(lib, z, v):
        return getattr(z, name)()
    try:
        ref = grads(torch, f)
    except (RuntimeError, NotImplementedError) as e:
        with pytest.raises(type(e)):
            grads(ag, f)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # no complex value may be cast to real on the way
        ours = grads(ag, f)
    for r, o in zip(ref, ours):
        if r is not None:
            np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12, err_msg=name)


def test_second_order_gradients_match_torch():
    results = []
    for lib in (torch, ag):
        z = lib.tensor(Z, requires_grad=True)
        (g,) = lib.autograd.grad((z * z.exp() / (z + 2)).abs().sum(), z, create_graph=True)
        ((g.abs() ** 2).sum() + (g * z.conj()).imag.sum()).backward()
        results.append((np_of(g), np_of(z.grad)))
    for r, o in zip(*results):
        np.testing.assert_allclose(o, r, rtol=1e-10)


def test_gradients_at_zero_are_zero_as_torch():
    for name in ("abs", "angle", "sgn"):
        z = ag.tensor(np.zeros(2, complex), requires_grad=True)
        y = getattr(z, name)()
        (y.real if y.is_complex() else y).sum().backward()
        np.testing.assert_array_equal(z.grad.numpy(), 0)


def test_a_real_leaf_of_a_complex_graph_gets_the_real_part_without_warnings():
    x = ag.tensor([1.0, 2.0], dtype=dtypes.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * ag.tensor(np.array([1 + 2j, 3 - 1j]))).imag.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -1.0])
    assert x.grad.dtype == dtypes.float64


def test_python_complex_numbers_take_the_default_complex_dtype_and_print_as_torch():
    for v in (1 + 1j, [1 + 2j, 3], [1, 2.5j]):
        t, a = torch.tensor(v), ag.tensor(v)
        assert str(a.dtype) == str(t.dtype).replace("torch.", "")
        assert repr(a) == repr(t)
    assert repr(ag.tensor([1j], dtype=ag.complex128)) == repr(torch.tensor([1j], dtype=torch.complex128))
    assert repr(ag.zeros(0).to(ag.complex64)) == repr(torch.zeros(0, dtype=torch.complex64))


@pytest.mark.parametrize("name", ["gelu", "softplus", "mse_loss"])
def test_nn_functions_without_a_complex_kernel_refuse_complex_input(name):
    msgs = []
    for lib, F in ((torch, torch.nn.functional), (ag, ag.nn.functional)):
        x = lib.tensor([1 + 1j, 2j])
        f = getattr(F, name)
        with pytest.raises(NotImplementedError) as info:
            f(x, x) if name == "mse_loss" else f(x)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
