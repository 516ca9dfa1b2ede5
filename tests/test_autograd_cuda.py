"""CuPy backend: runs only where CuPy and a GPU are present."""
import numpy as np
import pytest

import autograd as A

cupy = pytest.importorskip("cupy")
if not A.cuda.is_available():
    pytest.skip("no usable GPU", allow_module_level=True)


def test_creation_and_transfer():
    x = A.tensor([1.0, 2.0], device="cuda")
    assert x.device == "cuda:0" and x.is_cuda and isinstance(x._data, cupy.ndarray)
    assert x.cpu().device == "cpu" and x.to("cpu").numpy().tolist() == [1.0, 2.0]
    for make in (A.zeros, A.ones, A.randn, A.rand, A.empty):
        assert make(2, 3, device="cuda").device.type == "cuda"
    assert A.arange(4, device="cuda").dtype == A.int64
    assert A.ones(2).cuda().device == "cuda:0"
    assert A.zeros_like(x).device == x.device


def test_gradients_match_cpu():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    grads = []
    for dev in ("cpu", "cuda"):
        ta, tb = A.tensor(a, device=dev, requires_grad=True), A.tensor(b, device=dev, requires_grad=True)
        loss = ((ta @ tb).tanh().sum(0) * A.tensor([1.0, -2.0], dtype=A.float64, device=dev)).sum()
        loss = loss + ta.exp().mean() + ta.max(1).values.sum() + ta[[0, 2, 2]].norm() + ta.var() + ta.erf().sum()
        loss.backward()
        grads.append((loss.item(), ta.grad.numpy(), tb.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-10)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10)
    np.testing.assert_allclose(grads[0][2], grads[1][2], rtol=1e-10)


def test_inplace_and_transfer_gradient():
    p = A.ones(4, device="cuda")
    view = p[1:3]
    with A.no_grad():
        view.addcmul_(A.ones(2, device="cuda"), A.full((2,), 2.0, device="cuda"), value=0.5)
        view.lerp_(A.zeros(2, device="cuda"), 0.5)
    np.testing.assert_allclose(p.numpy(), [1, 1, 1, 1])
    x = A.tensor([1.0, 2.0], requires_grad=True)
    (x.cuda() * 3).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_device_mismatch_raises():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        A.ones(2, device="cuda") + A.ones(2)
    with pytest.raises(RuntimeError, match="same device"):
        A.ones(2, 2, device="cuda") @ A.ones(2, 2)


def test_sparse_on_gpu():
    s = A.sparse_coo_tensor([[0, 0, 1]], [1.0, 2.0, 3.0], (3,), device="cuda").coalesce()
    np.testing.assert_array_equal(s.to_dense().numpy(), [3, 3, 0])
