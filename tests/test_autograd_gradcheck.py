"""Finite-difference gradient checks (float64) for every differentiable op, shapes from hypothesis."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as A

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)
SEEDS = st.integers(0, 2**32 - 1)


def numeric_grads(fn, arrays, w, eps=1e-6):
    """Central differences of sum(fn(*arrays) * w) w.r.t. each array."""
    grads = []
    with A.no_grad():
        for i, x in enumerate(arrays):
            g = np.zeros_like(x)
            for idx in np.ndindex(x.shape):
                vals = []
                for s in (eps, -eps):
                    xs = [a.copy() for a in arrays]
                    xs[i][idx] += s
                    vals.append(float((fn(*[A.tensor(a) for a in xs]).numpy() * w).sum()))
                g[idx] = (vals[0] - vals[1]) / (2 * eps)
            grads.append(g)
    return grads


def gradcheck(fn, *arrays, atol=1e-6, rtol=1e-5, rng=None):
    """Autograd gradients of ``fn`` at ``arrays`` (float64) equal central differences; returns the output."""
    rng = rng or np.random.default_rng(0)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    ts = [A.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    assert out.dtype == A.float64
    w = rng.standard_normal(out.shape)
    (out * A.tensor(w)).sum().backward()
    for t, num in zip(ts, numeric_grads(fn, arrays, w)):
        got = np.zeros_like(num) if t.grad is None else t.grad.numpy()
        assert got.shape == num.shape
        np.testing.assert_allclose(got, num, atol=atol, rtol=rtol)
    return out


def away_from_zero(rng, shape, lo=0.3, hi=2.0):
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def pos(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape)


# ---- binary ops with broadcasting -----------------------------------------------------------------------
BINARY = {
    "add": (lambda a, b: a + b, away_from_zero, away_from_zero),
    "add_alpha": (lambda a, b: A.add(a, b, alpha=-0.7), away_from_zero, away_from_zero),
    "sub": (lambda a, b: a - b, away_from_zero, away_from_zero),
    "sub_alpha": (lambda a, b: a.sub(b, alpha=2.5), away_from_zero, away_from_zero),
    "mul": (lambda a, b: a * b, away_from_zero, away_from_zero),
    "div": (lambda a, b: a / b, away_from_zero, away_from_zero),
    "pow": (lambda a, b: a ** b, pos, away_from_zero),
    "maximum": (A.maximum, away_from_zero, away_from_zero),
    "minimum": (A.minimum, away_from_zero, away_from_zero),
    "atan2": (A.atan2, away_from_zero, away_from_zero),
    "remainder": (A.remainder, lambda r, s: r.uniform(0.1, 0.9, s), lambda r, s: r.uniform(1.5, 2.0, s)),
    "max_binary": (lambda a, b: a.max(b), away_from_zero, away_from_zero),
    "lerp_tensor_weight": (lambda a, b: A.lerp(a, b, (a * 0 + 0.3)), away_from_zero, away_from_zero),
    "where": (lambda a, b: A.where(a > 0, a, b), away_from_zero, away_from_zero),
    "clamp_tensor_bounds": (lambda a, b: A.clamp(a, min=b, max=b + 1.0), away_from_zero, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3), seed=SEEDS)
def test_binary_broadcast(name, shapes, seed):
    fn, ga, gb = BINARY[name]
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    out = gradcheck(fn, ga(rng, sa), gb(rng, sb), rng=rng)
    assert out.shape == shapes.result_shape


@pytest.mark.parametrize("name", ["add", "mul", "div", "pow", "rpow", "rsub", "rdiv", "maximum"])
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), seed=SEEDS,
       s=st.floats(0.5, 2.0))
def test_binary_with_python_scalar(name, shape, seed, s):
    fn = {"add": lambda a: a + s, "mul": lambda a: a * s, "div": lambda a: a / s, "pow": lambda a: a ** s,
          "rpow": lambda a: s ** a, "rsub": lambda a: s - a, "rdiv": lambda a: s / a,
          "maximum": lambda a: A.maximum(a, A.tensor(s, dtype=A.float64))}[name]
    rng = np.random.default_rng(seed)
    gradcheck(fn, pos(rng, shape), rng=rng)


TERNARY = {
    "addcmul": lambda x, a, b: A.addcmul(x, a, b, value=-0.3),
    "addcdiv": lambda x, a, b: A.addcdiv(x, a, b, value=0.7),
    "lerp": lambda x, a, w: A.lerp(x, a, w),
    "addcmul_tensor_value": lambda x, a, v: A.addcmul(x, a, a, value=v.sum()),
    "lerp_scalar_weight_ge_half": lambda x, a, b: A.lerp(x, a, 0.8) * b,
}


@pytest.mark.parametrize("name", sorted(TERNARY))
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3), seed=SEEDS)
def test_ternary(name, shapes, seed):
    rng = np.random.default_rng(seed)
    gradcheck(TERNARY[name], *(away_from_zero(rng, s) for s in shapes.input_shapes), rng=rng)


# ---- unary ----------------------------------------------------------------------------------------------
UNARY_DOMAIN = {"log": pos, "log1p": pos, "log2": pos, "log10": pos, "sqrt": pos, "rsqrt": pos,
                "reciprocal": pos, "asin": lambda r, s: r.uniform(-0.8, 0.8, s),
                "acos": lambda r, s: r.uniform(-0.8, 0.8, s)}
PIECEWISE_CONSTANT = {"sign", "floor", "ceil", "round", "trunc"}


@pytest.mark.parametrize("name", sorted(A.ops.elementwise.UNARY_NAMES))
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=SEEDS)
def test_unary(name, shape, seed):
    rng = np.random.default_rng(seed)
    x = UNARY_DOMAIN.get(name, away_from_zero)(rng, shape)
    if name in PIECEWISE_CONSTANT:
        x = np.floor(x * 4) / 4 + 0.125  # keep away from the jumps
    fn = getattr(A, name)
    out = gradcheck(fn, x, rng=rng)
    method = gradcheck(lambda t: getattr(t, name)(), x, rng=rng)
    np.testing.assert_allclose(out.numpy(), method.numpy())


def test_clamp_scalar_bounds():
    rng = np.random.default_rng(1)
    x = away_from_zero(rng, (4, 3))
    gradcheck(lambda t: t.clamp(-0.5, 0.6), x)
    gradcheck(lambda t: t.clamp(min=0.1), x)
    gradcheck(lambda t: t.clamp_max(0.2), x)


# ---- reductions -----------------------------------------------------------------------------------------
def _dims(draw_shape):
    return st.one_of(st.none(), st.integers(-len(draw_shape), len(draw_shape) - 1))


REDUCTIONS = {
    "sum": lambda t, d, k: t.sum() if d is None else t.sum(d, keepdim=k),
    "mean": lambda t, d, k: t.mean() if d is None else t.mean(d, keepdim=k),
    "prod": lambda t, d, k: t.prod() if d is None else t.prod(d, keepdim=k),
    "max": lambda t, d, k: t.max() if d is None else t.max(d, keepdim=k).values,
    "min": lambda t, d, k: t.min() if d is None else t.min(dim=d, keepdim=k)[0],
    "amax": lambda t, d, k: t.amax(d, keepdim=k),
    "amin": lambda t, d, k: t.amin(d, keepdim=k),
    "var": lambda t, d, k: t.var(d, keepdim=k),
    "var_biased": lambda t, d, k: t.var(d, unbiased=False, keepdim=k),
    "std": lambda t, d, k: t.std(d, keepdim=k, correction=0),
    "norm2": lambda t, d, k: t.norm(dim=d, keepdim=k),
    "norm1": lambda t, d, k: t.norm(1, dim=d, keepdim=k),
    "norm3": lambda t, d, k: t.norm(3, dim=d, keepdim=k),
    "norm_inf": lambda t, d, k: t.norm(float("inf"), dim=d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(d if d is not None else tuple(range(t.ndim)), keepdim=k),
    "softmax": lambda t, d, k: t.softmax(d if d is not None else -1),
    "log_softmax": lambda t, d, k: t.log_softmax(d if d is not None else -1),
    "cumsum": lambda t, d, k: t.cumsum(d if d is not None else -1),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), seed=SEEDS, data=st.data(),
       keepdim=st.booleans())
def test_reduction(name, shape, seed, data, keepdim):
    dim = data.draw(_dims(shape))
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.linspace(-2, 2, int(np.prod(shape)))).reshape(shape)  # distinct values: no ties
    x += rng.uniform(-0.01, 0.01, shape)
    if name.startswith("norm"):
        x = np.where(np.abs(x) < 0.2, 0.5, x)
    out = gradcheck(lambda t: REDUCTIONS[name](t, dim, keepdim), x, rng=rng)
    if name in ("sum", "mean", "amax", "var") and dim is not None:
        expect = {"sum": np.sum, "mean": np.mean, "amax": np.max,
                  "var": lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)}[name]
        np.testing.assert_allclose(out.numpy(), expect(x, axis=dim, keepdims=keepdim))


def test_multi_dim_reductions():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4))
    gradcheck(lambda t: t.sum((0, 2)), x)
    gradcheck(lambda t: t.mean((-1, 0), keepdim=True), x)
    gradcheck(lambda t: t.var((0, 1)), x)
    gradcheck(lambda t: t.logsumexp((1, 2)), x)
    gradcheck(lambda t: t.norm(dim=(0, 2)), x)


def test_ties_split_gradient_evenly():
    x = A.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5])
    a, b = A.tensor([2.0], requires_grad=True), A.tensor([2.0], requires_grad=True)
    A.maximum(a, b).backward()
    assert a.grad.item() == b.grad.item() == 0.5


# ---- shape, indexing, matmul ----------------------------------------------------------------------------
SHAPE_OPS = {
    "reshape": lambda t: t.reshape(-1),
    "view": lambda t: t.view(t.numel(), 1),
    "transpose": lambda t: t.transpose(0, -1),
    "permute": lambda t: t.permute(*reversed(range(t.ndim))),
    "permute_negative": lambda t: t.permute(-1, *range(t.ndim - 1)),
    "T": lambda t: t.T,
    "squeeze": lambda t: t.unsqueeze(1).squeeze(1),
    "squeeze_all": lambda t: t.reshape(1, *t.shape, 1).squeeze(),
    "unsqueeze": lambda t: t.unsqueeze(-1) * A.tensor([1.0, -2.0], dtype=A.float64),
    "flatten": lambda t: t.flatten(),
    "flatten_partial": lambda t: t.unsqueeze(0).flatten(1),
    "expand": lambda t: t.unsqueeze(0).expand(3, *t.shape),
    "expand_as": lambda t: t.sum(0, keepdim=True).expand_as(t) * t,
    "repeat": lambda t: t.repeat(2, *([1] * (t.ndim - 1)), 2),
    "cat": lambda t: A.cat([t, t * 2, t.exp()], dim=0),
    "cat_last": lambda t: A.cat([t, t * t], dim=-1),
    "stack": lambda t: A.stack([t, t * 3], dim=1),
    "split": lambda t: A.cat([s * (i + 1) for i, s in enumerate(t.split(1, 0))]),
    "chunk": lambda t: A.cat([s * (i + 1) for i, s in enumerate(t.chunk(2, -1))], -1),
    "unbind": lambda t: A.stack([s * (i + 1) for i, s in enumerate(t.unbind(0))]),
    "clone": lambda t: t.clone() * t,
    "contiguous": lambda t: t.transpose(0, -1).contiguous(),
    "index_int": lambda t: t[1],
    "index_slice": lambda t: t[::2, ..., 1:],
    "index_none": lambda t: t[None, 0, ..., None],
    "index_int_array_dup": lambda t: t[[0, 1, 1, 0]],
    "index_tensor": lambda t: t[A.tensor([1, 1, 0])] * 2,
    "index_bool_mask": lambda t: t[t > 0],
    "index_mixed": lambda t: t[[0, 1], ..., [1, 0]],
    "index_select": lambda t: t.index_select(-1, A.tensor([0, 0, 1])),
    "gather": lambda t: t.gather(0, A.tensor(np.zeros((3,) + t.shape[1:], dtype=np.int64))),
    "masked_fill": lambda t: t.masked_fill(t < 0, 0.5),
    "to_copy": lambda t: t.to(A.float64, copy=True) * t,
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=3), seed=SEEDS)
def test_shape_and_index(name, shape, seed):
    rng = np.random.default_rng(seed)
    gradcheck(SHAPE_OPS[name], away_from_zero(rng, shape), rng=rng)


def test_dtype_cast_gradient_flows_back_in_source_dtype():
    x = A.tensor([1.0, 2.0], dtype=A.float64, requires_grad=True)
    (x.to(A.float32) * 2).double().sum().backward()
    assert x.grad.dtype == A.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_setitem_recorded():
    rng = np.random.default_rng(4)

    def f(x, v):
        y = x * 1.0
        y[1:, 0] = v * 2
        y[[2, 0]] = y[[0, 2]] + 1.0
        return y * x

    gradcheck(f, rng.standard_normal((3, 2)), rng.standard_normal(2))


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)),
                                   ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2))])
def test_matmul(sa, sb):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = gradcheck(lambda x, y: x @ y, a, b)
    np.testing.assert_allclose(out.numpy(), np.matmul(a, b))


@SETTINGS
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), seed=SEEDS)
def test_mm_outer(n, k, m, seed):
    rng = np.random.default_rng(seed)
    gradcheck(lambda x, y: A.mm(x, y), rng.standard_normal((n, k)), rng.standard_normal((k, m)))
    gradcheck(A.outer, rng.standard_normal(n), rng.standard_normal(m))


# ---- in-place ops recorded on non-leaves ----------------------------------------------------------------
INPLACE = {
    "add_alpha": lambda x, y, s: (x * 1).add_(y, alpha=-0.5),
    "add_tensor_alpha": lambda x, y, s: (x * 1).add_(y, alpha=-s.sum()),
    "sub_": lambda x, y, s: (x * 2).sub_(y),
    "mul_": lambda x, y, s: (x + 0).mul_(y),
    "div_": lambda x, y, s: (x + 0).div_(y),
    "addcmul_": lambda x, y, s: (x * 1).addcmul_(y, y, value=0.3),
    "addcmul_tensor_value": lambda x, y, s: (x * 1).addcmul_(y, x, value=1 - s.sum()),
    "addcdiv_": lambda x, y, s: (x * 1).addcdiv_(x, y * y + 1, value=-0.2),
    "addcdiv_tensor_value": lambda x, y, s: (x * 1).addcdiv_(y, x.abs() + 1, value=-s.sum()),
    "lerp_": lambda x, y, s: (x * 1).lerp_(y, 0.1),
    "lerp_tensor_weight": lambda x, y, s: (x * 1).lerp_(y, s.sum()),
    "maximum_": lambda x, y, s: (x * 1).maximum_(y),
    "minimum_": lambda x, y, s: (x * 1).minimum_(y),
    "clamp_": lambda x, y, s: (x * y).clamp_(-0.5, 0.5),
    "sqrt_": lambda x, y, s: (x * x + 1).sqrt_() * y,
    "exp_": lambda x, y, s: (x * y).exp_(),
    "pow_": lambda x, y, s: (x * x + 1).pow_(1.5) * y,
    "copy_": lambda x, y, s: (x * 1).copy_(y * s.sum()) * x,
    "fill_tensor": lambda x, y, s: (x * 1).fill_(s.sum()) * y,
    "zero_": lambda x, y, s: (x * 1).zero_() + y,
    "masked_fill_": lambda x, y, s: (x * y).masked_fill_(x > 0, 2.0),
    "iadd": lambda x, y, s: _iadd(x * 1, y),
    "chain": lambda x, y, s: (x * 1).mul_(0.9).add_(y, alpha=0.1).addcmul_(y, y, value=s.sum()),
}


def _iadd(a, b):
    a += b
    a *= b
    return a


@pytest.mark.parametrize("name", sorted(INPLACE))
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3), seed=SEEDS)
def test_inplace_recorded(name, shapes, seed):
    sx, sy = shapes.input_shapes
    if np.broadcast_shapes(sx, sy) != sx:  # the in-place target must already have the broadcast shape
        sx = shapes.result_shape
    rng = np.random.default_rng(seed)
    gradcheck(INPLACE[name], away_from_zero(rng, sx), away_from_zero(rng, sy), pos(rng, (), 0.2, 0.4),
              rng=rng)
