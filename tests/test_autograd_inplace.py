"""In-place semantics: storage writes without recording, graph rebinding with recording, leaf errors."""
import numpy as np
import pytest

import autograd as A


def test_no_grad_inplace_writes_through_views_and_flat_buffers():
    flat = A.zeros(6, dtype=A.float64)
    p, q = flat[:4].view(2, 2), flat[4:]
    p.requires_grad_(True)
    with A.no_grad():
        p.add_(A.ones(2, 2, dtype=A.float64), alpha=-0.5)
        q.addcmul_(A.tensor([1.0, 2.0], dtype=A.float64), A.tensor([3.0, 4.0], dtype=A.float64), value=0.5)
        p.addcdiv_(A.ones(2, 2, dtype=A.float64), A.full((2, 2), 4.0, dtype=A.float64), value=-2.0)
        q.lerp_(A.tensor([3.5, 8.0], dtype=A.float64), 0.5)
        p.mul_(A.tensor(2.0, dtype=A.float64))
    np.testing.assert_allclose(flat.numpy(), [-2, -2, -2, -2, 2.5, 6])
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    with A.no_grad():
        p.abs_().sqrt_()
        q.clamp_(max=3.0)
        q.maximum_(A.tensor([2.6, 0.0], dtype=A.float64))
        flat[4:].fill_(A.tensor(7.0))
    np.testing.assert_allclose(flat.numpy(), [np.sqrt(2)] * 4 + [7, 7])
    with A.no_grad():
        A.maximum(p, A.full((2, 2), 5.0, dtype=A.float64), out=p)
    np.testing.assert_allclose(flat.numpy()[:4], 5.0)
    flat.zero_()
    assert not p.numpy().any()


def test_inplace_on_plain_tensor_under_grad_mode_writes_storage():
    base = A.zeros(4)
    v = base[1:3]
    v.add_(1.0)
    v.copy_(A.tensor([5.0, 6.0]))
    v[0] = 2.0
    np.testing.assert_allclose(base.numpy(), [0, 2, 6, 0])
    assert v.grad_fn is None


def test_leaf_requiring_grad_inplace_raises_under_grad_mode():
    p = A.ones(3, requires_grad=True)
    for op in (lambda: p.add_(1.0), lambda: p.mul_(2), lambda: p.zero_(), lambda: p.fill_(1.0),
               lambda: p.copy_(A.zeros(3)), lambda: p.addcmul_(p, p), lambda: p.sqrt_(),
               lambda: p.lerp_(A.zeros(3), 0.5), lambda: p.clamp_(0, 1), lambda: p.__setitem__(0, 3.0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op()
    np.testing.assert_array_equal(p.numpy(), [1, 1, 1])
    with A.no_grad():
        p.add_(1.0)
    np.testing.assert_array_equal(p.numpy(), [2, 2, 2])


def test_recorded_inplace_on_a_saved_tensor_raises_as_torch():
    x = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.mul_(x)  # y is now 2x^2, in y's storage
    assert y.grad_fn is not None and not y.is_leaf and y._version == 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[torch.FloatTensor \[3\]\], which "
                                           r"is output 0 of MulBackward0, is at version 1; expected version 0 instead"):
        (z.sum() + y.sum()).backward()
    x.grad = None
    y = x * 2
    w = y + 1  # add saves nothing
    y.mul_(x)  # mul_ keeps y's old value for its own backward
    (w.sum() + y.sum()).backward()
    # d/dx [ (2x + 1) + 2x^2 ] = 2 + 4x
    np.testing.assert_allclose(x.grad.numpy(), [6, 10, 14])


def test_recorded_inplace_on_non_grad_buffer_with_grad_operand():
    w = A.tensor([1.0, -2.0], requires_grad=True)
    buf = A.zeros(2)
    buf.mul_(0.9).add_(w, alpha=0.1)
    assert buf.requires_grad and not buf.is_leaf
    (buf * buf).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * 0.01 * np.array([1.0, -2.0]), rtol=1e-6)


def test_differentiable_0d_lr_through_inplace_ops():
    lr = A.tensor(0.5, dtype=A.float64, requires_grad=True)
    p0 = A.tensor([1.0, 2.0], dtype=A.float64, requires_grad=True)
    g = A.tensor([0.5, -1.0], dtype=A.float64)
    p = p0.clone()
    p.add_(g, alpha=-lr)          # p0 - lr g
    p.addcmul_(g, g, value=lr)    # + lr g^2
    p.addcdiv_(g, g * 0 + 2, value=-lr)  # - lr g / 2
    p.lerp_(g, lr)                # (1 - lr) p + lr g
    p.sum().backward()
    l, gv, p0v = 0.5, g.numpy(), p0.numpy()
    inner = p0v - l * gv + l * gv ** 2 - l * gv / 2
    expect = ((-gv + gv ** 2 - gv / 2) * (1 - l) - inner + gv).sum()
    np.testing.assert_allclose(lr.grad.item(), expect)
    np.testing.assert_allclose(p0.grad.numpy(), [1 - l, 1 - l])


def test_inplace_dtype_and_shape_checks():
    i = A.arange(4)
    i.add_(2)
    i.mul_(A.tensor(3))
    assert i.dtype == A.int64
    np.testing.assert_array_equal(i.numpy(), [6, 9, 12, 15])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        A.ones(2, dtype=A.bool).add_(1)
    h = A.ones(3, dtype=A.float16)
    h.mul_(A.tensor(2.0, dtype=A.float64))  # 0-d float64 does not promote a float16 tensor
    assert h.dtype == A.float16
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        A.ones(3).add_(A.ones(2, 3))
    x = A.ones(2, 3, requires_grad=True) * 1
    x.add_(A.ones(3))  # broadcast operand is fine
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        (A.ones(3, requires_grad=True) * 1).add_(A.ones(2, 3))


def test_copy_casts_and_broadcasts():
    a = A.zeros(2, 3, dtype=A.int32)
    a.copy_(A.tensor([1.7, 2.2, -3.9]))
    np.testing.assert_array_equal(a.numpy(), [[1, 2, -3], [1, 2, -3]])
    assert a.dtype == A.int32
    src = A.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = A.zeros(2, 3, dtype=A.float64)
    b.copy_(src)
    assert b.dtype == A.float64 and b.requires_grad
    b.sum().backward()
    assert src.grad.dtype == A.float32
    np.testing.assert_array_equal(src.grad.numpy(), [2, 2, 2])


def test_data_is_a_detached_alias():
    p = A.ones(3, requires_grad=True)
    d = p.data
    assert not d.requires_grad and d.is_leaf
    d.mul_(3)  # no error: d does not require grad, and p sees it
    np.testing.assert_array_equal(p.numpy(), [3, 3, 3])
    p.data = A.zeros(3)
    np.testing.assert_array_equal(p.numpy(), [0, 0, 0])
    assert p.requires_grad
    det = p.detach()
    det.add_(1)
    np.testing.assert_array_equal(p.numpy(), [1, 1, 1])


def test_iadd_operators():
    x = A.ones(2)
    x += 1
    x *= A.tensor([2.0, 3.0])
    x -= 1
    x /= 2
    x **= 2
    np.testing.assert_allclose(x.numpy(), [2.25, 6.25])
