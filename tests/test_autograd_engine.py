"""Backward engine, grad modes, hooks, autograd.grad, factories, dtypes, sparse COO, devices."""
import numpy as np
import pytest

import autograd as A


def test_backward_with_gradient_and_accumulation():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=A.tensor([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 0])
    grad_storage = x.grad._data
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5, 5, 3])
    assert x.grad._data is grad_storage  # accumulated in place (flat-buffer views stay valid)
    A.backward([(x * 2).sum(), (x * x).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [9, 11, 11])


def test_retain_graph_and_second_backward_error():
    x = A.tensor([2.0], requires_grad=True)
    y = (x * x).exp()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_shared_subgraph_and_diamond():
    x = A.tensor(3.0, requires_grad=True)
    a = x * 2
    b = a * a + a.exp()
    c = a.sin() * b
    c.backward()
    av = 6.0
    expect = 2 * (np.cos(av) * (av * av + np.exp(av)) + np.sin(av) * (2 * av + np.exp(av)))
    np.testing.assert_allclose(x.grad.item(), expect, rtol=1e-6)


def test_autograd_grad_returns_without_accumulating():
    x = A.tensor([1.0, 2.0], dtype=A.float64, requires_grad=True)
    w = A.tensor([3.0, 4.0], dtype=A.float64, requires_grad=True)
    h = x * w
    loss = (h * h).sum()
    gx, gh = A.grad(loss, [x, h], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * np.array([3.0, 8.0]) * [3, 4])
    np.testing.assert_allclose(gh.numpy(), [6, 16])
    assert x.grad is None and w.grad is None
    (gw,) = A.grad(loss, (w,))
    np.testing.assert_allclose(gw.numpy(), 2 * np.array([3.0, 8.0]) * [1, 2])
    unused = A.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        A.grad((x * 2).sum(), [unused])
    assert A.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None


def test_backward_inputs_restricts_accumulation():
    x = A.tensor([1.0], requires_grad=True)
    w = A.tensor([2.0], requires_grad=True)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), [1.0])


def test_hooks():
    x = A.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 2)  # replaces y's gradient
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [6, 6])
    np.testing.assert_allclose(x.grad.numpy(), [6, 6])
    h.remove()
    (x * 1).sum().backward()
    assert len(seen) == 1
    z = x * 2
    z.retain_grad()
    (z * z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [4, 8])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        A.ones(2).register_hook(lambda g: g)


def test_retained_grad_is_stored_after_the_tensors_hooks_before_node_prehooks():
    """torch (2.x): the ``retain_grad`` store runs after every ``register_hook`` of the tensor, whichever
    was registered first, and before the pre-hooks of the node that produced it (values from torch 2.13)."""
    for retain_first in (True, False):
        y = A.ones(3, requires_grad=True)
        z = y * 2
        if retain_first:
            z.retain_grad()
        z.register_hook(lambda g: g * 3)
        if not retain_first:
            z.retain_grad()
        z.sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), [3, 3, 3])
        np.testing.assert_allclose(y.grad.numpy(), [6, 6, 6])
    y = A.ones(3, requires_grad=True)
    z = y * 2
    z.retain_grad()
    z.grad_fn.register_prehook(lambda g_out: (g_out[0] * 2,))
    z.register_hook(lambda g: g + 1)
    (z * z).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), [5, 5, 5])
    np.testing.assert_allclose(y.grad.numpy(), [20, 20, 20])


def test_grad_modes_detach_requires_grad():
    x = A.ones(2, requires_grad=True)
    with A.no_grad():
        y = x * 2
        with A.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and z.requires_grad
    with A.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert A.is_grad_enabled()

    @A.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and A.is_grad_enabled()
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        A.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)
    assert A.ones(1).requires_grad_().requires_grad


def test_error_messages():
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (A.ones(2, requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        A.ones(2).sum().backward()
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        A.ones(2, 3) @ A.ones(2, 3)
    with pytest.raises(RuntimeError, match="same dtype, but got: float != double"):
        A.ones(2, 3) @ A.ones(3, 2, dtype=A.float64)
    with pytest.raises(RuntimeError, match="batch"):
        A.ones(2, 2, 3) @ A.ones(3, 3, 2)
    with pytest.raises((RuntimeError, ValueError)):
        A.ones(2, 3) + A.ones(4)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (A.ones(2, requires_grad=True) * 2).backward(A.ones(3))
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        A.ones(6).view(4, 2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        A.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        A.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(A.ones(2))
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        A.ones(2).clamp()
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        A.arange(3).mean()
    with pytest.raises(RuntimeError):
        A.cat([A.ones(2, 3), A.ones(3, 2)])


def test_broadcast_mismatch_message_is_runtime_error():
    with pytest.raises(RuntimeError, match="must match the size"):
        A.ones(2, 3) * A.ones(2)


def test_factories():
    A.manual_seed(123)
    a = A.randn(3, 4)
    A.manual_seed(123)
    b = A.randn((3, 4))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == A.float32 and a.shape == (3, 4)
    r = A.rand(1000, dtype=A.float64)
    assert r.dtype == A.float64 and 0 <= r.numpy().min() and r.numpy().max() < 1
    assert abs(A.randn(20000).numpy().std() - 1) < 0.05
    np.testing.assert_array_equal(A.zeros(2, 3).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(A.ones((2,), dtype=A.int64).numpy(), [1, 1])
    assert A.full((2, 2), 7).dtype == A.int64 and A.full((2,), 1.5).dtype == A.float32
    assert A.full((2,), True).dtype == A.bool
    assert A.empty(2, 5).shape == (2, 5)
    np.testing.assert_array_equal(A.arange(1, 7, 2).numpy(), [1, 3, 5])
    assert A.arange(4).dtype == A.int64 and A.arange(0.0, 1.0, 0.5).dtype == A.float32
    x = A.ones(2, 3, dtype=A.float64)
    for fn in (A.zeros_like, A.ones_like, A.empty_like, A.rand_like, A.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == A.float64 and not y.requires_grad
    assert A.zeros_like(x, dtype=A.float16).dtype == A.float16
    np.testing.assert_array_equal(A.full_like(x, 4).numpy(), np.full((2, 3), 4.0))
    assert A.zeros(3, requires_grad=True).requires_grad
    assert x.new_zeros(4).dtype == A.float64 and x.new_full((2,), 3.0).numpy().tolist() == [3, 3]
    assert A.tensor(3.5).shape == () and A.tensor([[1, 2]]).dtype == A.int64
    assert A.tensor([True, False]).dtype == A.bool and A.tensor([1.0]).dtype == A.float32
    assert A.tensor(np.ones(2, dtype=np.float64)).dtype == A.float64
    t = A.tensor([1.0, 2.0], dtype=A.float16, requires_grad=True)
    assert t.dtype == A.float16 and t.requires_grad and t.is_leaf
    assert A.Tensor([1, 2]).dtype == A.float32


def test_to_and_dtypes():
    x = A.tensor([1.5, -2.5])
    assert x.to(A.float64).dtype == A.float64 and x.double().dtype == A.float64
    assert x.half().dtype == A.float16 and x.long().numpy().tolist() == [1, -2]
    assert x.to("cpu") is x and x.cpu() is x
    assert x.to("cpu", A.float64).dtype == A.float64
    assert x.to(A.zeros(1, dtype=A.int32)).dtype == A.int32
    assert x.int().dtype == A.int32 and x.bool().dtype == A.bool
    assert A.get_default_dtype() == A.float32


def test_misc_tensor_api():
    x = A.arange(6).reshape(2, 3)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    assert x.max().item() == 5 and int(x.argmax()) == 5 and x.argmin(1).tolist() == [0, 0]
    assert x.T.shape == (3, 2) and x.t().shape == (3, 2) and x.mT.shape == (3, 2)
    assert (x > 2).tolist() == [[False, False, False], [True, True, True]]
    assert (x == 2).any().item() and not (x < 0).all().item()
    assert "tensor(" in repr(x) and "requires_grad=True" in repr(A.ones(1, requires_grad=True))
    mm = x.float().max(1)
    assert mm.values.tolist() == [2, 5] and mm.indices.tolist() == [2, 2]
    np.testing.assert_array_equal(np.asarray(x), x.numpy())
    assert float(A.tensor(2.5)) == 2.5 and x.is_floating_point() is False


def test_sparse_coo():
    i = A.tensor([[0, 1, 1, 0], [2, 0, 0, 2]])
    v = A.tensor([1.0, 2.0, 3.0, 4.0])
    s = A.sparse_coo_tensor(i, v, (2, 3))
    assert s.is_sparse and s.shape == (2, 3) and not s.is_coalesced()
    with pytest.raises(RuntimeError, match="coalesce"):
        s.indices()
    np.testing.assert_array_equal(s.to_dense().numpy(), [[0, 0, 5], [5, 0, 0]])
    c = s.coalesce()
    assert c.is_coalesced() and c._nnz() == 2
    np.testing.assert_array_equal(c._indices().numpy(), [[0, 1], [2, 0]])
    np.testing.assert_array_equal(c._values().numpy(), [5, 5])
    np.testing.assert_array_equal(c.indices().numpy(), c._indices().numpy())
    hybrid = A.sparse_coo_tensor([[2, 0, 2]], np.arange(6.0).reshape(3, 2), (4, 2)).coalesce()
    np.testing.assert_array_equal(hybrid.to_dense().numpy(), [[2, 3], [0, 0], [4, 6], [0, 0]])
    assert A.sparse_coo_tensor([[0]], [1.0], (2,)).dtype == A.float32


def test_sparse_grad_flows_into_leaf():
    from autograd.graph import Node, SparseGrad, record

    w = A.zeros(4, 2, requires_grad=True)
    idx = np.array([1, 3, 1])
    out = record(np.ones((3, 2), np.float32), (w,), lambda o, g: (SparseGrad(idx[None, :], g, (4, 2)),),
                 "EmbeddingSparse", saved=())
    assert isinstance(out.grad_fn, Node)
    out.sum().backward()
    assert w.grad.is_sparse
    np.testing.assert_array_equal(w.grad.to_dense().numpy(), [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_devices_without_gpu():
    assert A.device("cuda:1") == "cuda:1" and A.device("cuda").index == 0 and str(A.device("cpu")) == "cpu"
    assert A.ones(1).device == "cpu" and A.ones(1).device.type == "cpu"
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        A.device("tpu")
    if A.cuda.is_available():
        pytest.skip("a GPU is present: the CUDA-unavailable path is not reachable")
    assert A.cuda.device_count() == 0
    for make in (lambda: A.ones(2, device="cuda"), lambda: A.tensor([1.0], device="cuda:1"),
                 lambda: A.ones(2).cuda(), lambda: A.ones(2).to("cuda"), lambda: A.randn(2, device="cuda")):
        with pytest.raises(RuntimeError, match="CUDA"):
            make()


def test_custom_function():
    from autograd.function import Function

    class ScaledCube(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return k * x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * ctx.k * x * x * g, None

    x = A.tensor([1.0, -2.0], requires_grad=True)
    y = ScaledCube.apply(x, 2.0)
    np.testing.assert_allclose(y.numpy(), [2, -16])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6, 24])


def test_integer_results_never_require_grad():
    x = A.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad and not (x > 1).requires_grad and not x.argmax().requires_grad
    assert x.double().requires_grad
    assert A.full(3, 2.0).shape == (3,)
    assert A.zeros_like(x, memory_format=A.preserve_format).shape == (2,)
