"""float16/bfloat16 sum, mean and nansum bitwise as torch's CPU kernel adds them up: its order of float32 additions
(blocks, interleaved accumulators, folded vectors), the rounding of each store into the 16-bit output,
its float32 buffer where two reduced dims share a call, and its split of large reductions between
threads. Layouts (permuted, strided), keepdim, empty and 0-d tensors, inf/NaN; and the broadcast
gradients that backward sums the same way."""
import numpy as np
import pytest

import autograd as ag
from autograd.ops.cascade_sum import mean_low, sum_low
from autograd.threads import get_num_threads, set_num_threads

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")

PAIRS = {"float16": (torch.float16, np.float16), "bfloat16": (torch.bfloat16, ml_dtypes.bfloat16)}


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    ours, theirs = get_num_threads(), torch.get_num_threads()
    set_num_threads(request.param)
    torch.set_num_threads(request.param)
    yield request.param
    set_num_threads(ours)
    torch.set_num_threads(theirs)


def _random_case(rng, tdt, ndt):
    nd = int(rng.integers(0, 5))
    shape = tuple(int(v) for v in rng.integers(1, 9 if nd > 2 else 300, nd))
    if nd and rng.random() < 0.2:   # past torch's grain size: the reduction is split between threads
        shape = shape[:-1] + (40000 // int(np.prod(shape[:-1])) + 1,)
    x = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3, shape)).astype(np.float32)
    if x.size and rng.random() < 0.3:
        x.flat[rng.integers(0, x.size, 1 + x.size // 10)] = rng.choice([np.inf, -np.inf, np.nan])
    T = torch.tensor(x).to(tdt)
    X = T.float().numpy().astype(ndt)
    if nd >= 2 and rng.random() < 0.4:
        p = rng.permutation(nd)
        T, X = T.permute(*p.tolist()), X.transpose(p)
    if nd and T.shape[-1] > 2 and rng.random() < 0.3:
        T, X = T[..., ::2], X[..., ::2]
    k = int(rng.integers(0, T.ndim + 1))
    axes = tuple(sorted(rng.choice(T.ndim, k, replace=False).tolist())) if T.ndim else ()
    return T, X, axes, bool(rng.random() < 0.5)


def _nansum_low(X, axes, keepdim):
    return sum_low(X, axes, keepdim, ignore_nan=True)


@pytest.mark.parametrize("dt", PAIRS)
def test_sum_mean_and_nansum_bitwise_torch_over_layouts_and_threads(dt, threads):
    tdt, ndt = PAIRS[dt]
    rng = np.random.default_rng(threads)
    for _ in range(120):
        T, X, axes, keep = _random_case(rng, tdt, ndt)
        for ours, theirs in ((sum_low, torch.sum), (mean_low, torch.mean), (_nansum_low, torch.nansum)):
            want = (theirs(T, dim=axes, keepdim=keep) if axes else theirs(T)).float().numpy()
            got = np.asarray(ours(X, axes or None, keep and bool(axes))).astype(np.float32)
            assert got.shape == want.shape
            assert np.array_equal(got, want, equal_nan=True), (ours.__name__, T.shape, T.stride(), axes, keep)


@pytest.mark.parametrize("dt", PAIRS)
def test_tensor_sum_mean_and_empty_and_zero_dim_inputs(dt):
    tdt, _ = PAIRS[dt]
    ours = getattr(ag, dt)
    for x in (np.zeros((0, 3), np.float32), np.float32(2.5), np.array([-0.0, -0.0], np.float32)):
        T, X = torch.tensor(x).to(tdt), ag.tensor(x).to(ours)
        for f in (lambda z: z.sum(), lambda z: z.mean()):
            want, got = f(T).float().numpy(), f(X).float().numpy()
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(want))
    T, X = torch.zeros(0, 3, dtype=tdt), ag.zeros(0, 3).to(ours)
    assert np.array_equal(X.sum(0).float().numpy(), T.sum(0).float().numpy())


@pytest.mark.parametrize("dt", PAIRS)
def test_broadcast_gradients_are_summed_once_as_torch(dt):
    """A bias broadcast over a batch gets its gradient from one sum over every broadcast dim (torch's
    ``sum_to``), rounded once to the 16-bit dtype."""
    tdt, _ = PAIRS[dt]
    ours = getattr(ag, dt)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((6, 37, 70)) * 3).astype(np.float32)
    w = rng.standard_normal((1, 70)).astype(np.float32)
    T, W = torch.tensor(x).to(tdt), torch.tensor(w).to(tdt).requires_grad_()
    X, V = ag.tensor(x).to(ours), ag.tensor(w).to(ours).requires_grad_()
    (T * W).backward(T)
    (X * V).backward(X)
    assert np.array_equal(V.grad.float().numpy(), W.grad.float().numpy())
    loss_t, loss_o = (T * W).sum(), (X * V).sum()
    assert np.array_equal(loss_o.detach().float().numpy(), loss_t.detach().float().numpy())


def test_nansum_values_gradients_and_dtypes_as_torch():
    x = np.array([[1.5, np.nan, 3.0], [np.nan, -5.0, 6.25]], np.float32)
    a, t = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for f in (lambda z: z.nansum(), lambda z: z.nansum(1), lambda z: torch_or_ag(z).nansum(z, 0, keepdim=True)):
        np.testing.assert_array_equal(f(a).detach().numpy(), f(t).detach().numpy())
    (a.nansum(0) ** 2).sum().backward()
    (t.nansum(0) ** 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())
    (g,) = ag.autograd.grad((a.nansum(1) ** 2).sum(), a, create_graph=True)
    (tg,) = torch.autograd.grad((t.nansum(1) ** 2).sum(), t, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), tg.detach().numpy())
    np.testing.assert_array_equal(ag.autograd.grad(g.sum(), a)[0].numpy(), torch.autograd.grad(tg.sum(), t)[0].numpy())
    assert ag.nansum(ag.tensor([1, 2, 3])).dtype == ag.int64
    with pytest.raises(RuntimeError, match="complex"):
        ag.nansum(ag.tensor([1 + 2j]))


def torch_or_ag(z):
    return torch if isinstance(z, torch.Tensor) else ag
