"""float16/bfloat16 as torch computes them: each elementwise op in float32 ("opmath", scalars in float32
except add/sub's, which torch takes in the tensor's dtype) rounded once; sum/mean in float32, in torch's order of additions;
torch's type promotion, repr and serialization. Compared bitwise with torch 2.13 on the CPU."""
import io
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import autograd as ag

torch = pytest.importorskip("torch")

DTYPES = {"float16": (ag.float16, torch.float16), "bfloat16": (ag.bfloat16, torch.bfloat16)}


def _bits(dt):
    """Every bit pattern of the 16-bit type, as float32 values (subnormals, inf and NaN included)."""
    b = np.arange(1 << 16, dtype=np.uint32)
    if dt == "float16":
        return b.astype(np.uint16).view(np.float16).astype(np.float32)
    return (b << 16).view(np.float32)


def _values(dt, draw_idx):
    return _bits(dt)[np.asarray(draw_idx, np.int64)]


def _same(t, x):
    a, b = t.float().numpy(), x.to(ag.float32).numpy()
    assert a.shape == b.shape
    ok = (a == b) | (np.isnan(a) & np.isnan(b))
    a, b, ok = np.atleast_1d(a), np.atleast_1d(b), np.atleast_1d(ok)
    assert ok.all(), (np.nonzero(~ok)[0][:5], a[~ok][:5], b[~ok][:5])


BINARY = {
    "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
    "add_alpha": lambda x, y: x.add(y, alpha=0.3), "sub_alpha": lambda x, y: x.sub(y, alpha=1.7),
    "maximum": lambda x, y: x.maximum(y), "lerp_small": lambda x, y: x.lerp(y, 0.3),
    "lerp_large": lambda x, y: x.lerp(y, 0.7), "addcmul": lambda x, y: x.addcmul(y, x, value=0.3),
    "addcdiv": lambda x, y: x.addcdiv(y, x, value=-0.7), "where": lambda x, y: x.where(x > y, y),
}
SCALAR = {
    "add_s": lambda x: x + 0.1, "radd_s": lambda x: 0.1 + x, "sub_s": lambda x: x - 1 / 3, "rsub_s": lambda x: 1 / 3 - x,
    "mul_s": lambda x: x * 0.1, "div_s": lambda x: x / 3.3, "rdiv_s": lambda x: 0.3 / x, "pow_s": lambda x: x ** 2,
    "clamp": lambda x: x.clamp(-0.3, 0.7), "neg": lambda x: -x, "abs": lambda x: x.abs(), "exp": lambda x: x.exp(),
    "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(), "tanh": lambda x: x.tanh(), "square": lambda x: x * x,
    "int_mul": lambda x: x * 3, "relu": lambda x: x.relu(),
}

idx = st.lists(st.integers(0, (1 << 16) - 1), min_size=1, max_size=80)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=25, deadline=None)
@given(a=idx, data=st.data())
def test_binary_ops_bitwise_equal_torch(dt, name, a, data):
    b = data.draw(st.lists(st.integers(0, (1 << 16) - 1), min_size=len(a), max_size=len(a)))
    ours, theirs = DTYPES[dt]
    xa, xb = _values(dt, a), _values(dt, b)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t = BINARY[name](torch.tensor(xa).to(theirs), torch.tensor(xb).to(theirs))
        x = BINARY[name](ag.tensor(xa).to(ours), ag.tensor(xb).to(ours))
    assert x.dtype == ours
    _same(t, x)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", SCALAR)
@settings(max_examples=25, deadline=None)
@given(a=idx)
def test_scalar_and_unary_ops_bitwise_equal_torch(dt, name, a):
    ours, theirs = DTYPES[dt]
    xa = _values(dt, a)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t = SCALAR[name](torch.tensor(xa).to(theirs))
        x = SCALAR[name](ag.tensor(xa).to(ours))
    _same(t, x)


@pytest.mark.parametrize("dt", DTYPES)
def test_every_value_through_scalar_ops(dt):
    """All 65536 values (the vectorised body and the tails of torch's loops) through the ops whose
    scalar handling differs: mul keeps 0.1 in float32, add takes it in the dtype, add's alpha too."""
    ours, theirs = DTYPES[dt]
    v = _bits(dt)[:-3]          # a length that leaves a scalar tail in torch's loops
    w = np.roll(v, 7)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for f in (lambda x, y: x * 0.1, lambda x, y: x + 0.1, lambda x, y: x.add(y, alpha=-0.1),
                  lambda x, y: x.lerp(y, 0.9), lambda x, y: x.addcmul(y, y, value=0.5)):
            _same(f(torch.tensor(v).to(theirs), torch.tensor(w).to(theirs)), f(ag.tensor(v).to(ours), ag.tensor(w).to(ours)))


@pytest.mark.parametrize("dt", DTYPES)
@settings(max_examples=40, deadline=None)
@given(a=st.lists(st.floats(-1e4, 1e4, width=32) | st.sampled_from([0.0, -0.0, 1e-7, -6e-8, float("inf"), float("nan")]),
                  min_size=1, max_size=60), rows=st.integers(1, 3))
@example(a=[0.0, 1.0614054203033447, 1e-07], rows=3)   # float32 totals on either side of a float16 midpoint
def test_sum_mean_accumulate_in_float32_as_torch(dt, a, rows):
    ours, theirs = DTYPES[dt]
    x = np.asarray(a * rows, np.float32).reshape(rows, -1)
    T, X = torch.tensor(x).to(theirs), ag.tensor(x).to(ours)
    for f in (lambda z: z.sum(), lambda z: z.mean(), lambda z: z.sum(1), lambda z: z.mean(0), lambda z: z.sum(0, keepdim=True)):
        r = f(X)
        assert r.dtype == ours
        _same(f(T), r)


@pytest.mark.parametrize("a, b, want", [("bfloat16", "float16", "float32"), ("bfloat16", "float32", "float32"),
                                        ("float64", "bfloat16", "float64"), ("bfloat16", "int64", "bfloat16"),
                                        ("bool", "bfloat16", "bfloat16"), ("bfloat16", "bfloat16", "bfloat16")])
def test_promotion_as_torch(a, b, want):
    assert ag.promote_types(getattr(ag, a), getattr(ag, b)) == getattr(ag, want)
    assert str(torch.promote_types(getattr(torch, a), getattr(torch, b))) == f"torch.{want}"
    x, y = ag.ones(2, dtype=getattr(ag, a)), ag.ones(2, dtype=getattr(ag, b))
    assert (x + y).dtype == getattr(ag, want)


def test_python_scalars_and_zero_dim_keep_bfloat16():
    x = ag.ones(3, dtype=ag.bfloat16)
    assert (x * 2.5).dtype == ag.bfloat16 and (x + 1).dtype == ag.bfloat16
    assert (x * ag.tensor(2.0, dtype=ag.float64)).dtype == ag.bfloat16     # 0-d tensors rank below
    assert (ag.tensor([1, 2]) * ag.tensor(1.5, dtype=ag.bfloat16)).dtype == ag.bfloat16


def test_factories_to_repr_and_grad():
    x = ag.tensor([1.5, -2.25], dtype=ag.bfloat16, requires_grad=True)
    assert repr(x) == "tensor([ 1.5000, -2.2500], dtype=torch.bfloat16, requires_grad=True)"   # torch's
    assert ag.zeros(2, dtype=ag.bfloat16).dtype == ag.bfloat16 and ag.ones(2).bfloat16().dtype == ag.bfloat16
    assert ag.full((2,), 0.1, dtype=ag.bfloat16).to(ag.float32).numpy()[0] == torch.full((1,), 0.1, dtype=torch.bfloat16).float().item()
    assert x.is_floating_point() and ag.randn(3, dtype=ag.bfloat16).dtype == ag.bfloat16
    (x * x * 0.3).sum().backward()
    t = torch.tensor([1.5, -2.25], dtype=torch.bfloat16, requires_grad=True)
    (t * t * 0.3).sum().backward()
    assert x.grad.dtype == ag.bfloat16
    _same(t.grad, x.grad)
    assert repr(ag.ones(1, dtype=ag.float64)).endswith("dtype=torch.float64)")


def test_bfloat16_through_torch_save_and_our_format():
    vals = torch.tensor([1.5, -2.25, 3e38, float("inf"), float("nan"), 1e-40]).bfloat16()
    buf = io.BytesIO()
    torch.save({"w": vals, "v": vals[1:4], "dt": torch.bfloat16}, buf)
    buf.seek(0)
    got = ag.load(buf)
    assert got["w"].dtype == ag.bfloat16 and got["dt"] == ag.bfloat16
    assert np.array_equal(got["w"].numpy().view(np.uint16), vals.view(torch.int16).numpy().view(np.uint16))
    _same(vals[1:4], got["v"])
    out = io.BytesIO()
    ag.save({"w": got["w"], "dt": ag.bfloat16}, out)
    out.seek(0)
    back = ag.load(out)
    assert back["dt"] == ag.bfloat16
    assert np.array_equal(back["w"].numpy().view(np.uint16), got["w"].numpy().view(np.uint16))
