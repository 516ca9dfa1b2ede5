"""torch's stride-level Tensor API (autograd/ops/strided.py) against torch 2.13: strides, storage offsets,
storages, dim_order, unfold and as_strided views (values, layout, memory sharing, gradients, errors)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as A  # noqa: E402
from autograd.autograd import gradcheck, gradgradcheck  # noqa: E402

BOTH = (torch, A)


def layout(t):
    return tuple(t.shape), t.stride(), t.storage_offset(), t.is_contiguous()


def same(t, a):
    assert layout(t) == layout(a)
    np.testing.assert_array_equal(t.detach().numpy(), a.detach().numpy())


# views whose layout torch and this library agree on (see the report for the ones they do not)
VIEWS = {
    "contiguous": lambda m: m.arange(12.).view(3, 1, 4),
    "empty": lambda m: m.zeros(3, 0, 2),
    "empty_slice": lambda m: m.zeros(3, 4)[:, 0:0],
    "t": lambda m: m.arange(12.).view(3, 4).t(),
    "t_row": lambda m: m.arange(4.).view(1, 4).t(),
    "permute": lambda m: m.arange(24.).view(2, 3, 4).permute(2, 0, 1),
    "transpose": lambda m: m.arange(24.).view(2, 3, 4).transpose(0, 2),
    "mT": lambda m: m.arange(24.).view(2, 3, 4).mT,
    "expand": lambda m: m.arange(3.).view(3, 1).expand(3, 4),
    "expand_new_dims": lambda m: m.arange(3.).expand(2, 1, 3),
    "expand_new_size1": lambda m: m.arange(3.).expand(1, 3),
    "expand_size1_from_1": lambda m: m.zeros(1).expand(1, 4),
    "narrow": lambda m: m.arange(30.).view(5, 6).narrow(1, 2, 3),
    "slice_steps": lambda m: m.arange(30.).view(5, 6)[::2, 1::3],
    "slice_size1_step": lambda m: m.arange(30.).view(5, 6)[1:2, ::4],
    "slice_step_past_end": lambda m: m.arange(30.).view(5, 6)[::5],
    "select": lambda m: m.arange(30.).view(5, 6)[2],
    "select_0d": lambda m: m.arange(3.)[1],
    "none_index": lambda m: m.arange(30.).view(5, 6)[:, None],
    "none_index_last": lambda m: m.arange(3.)[:, None],
    "diagonal": lambda m: m.arange(16.).view(4, 4).diagonal(),
    "diagonal_offset": lambda m: m.arange(60.).view(3, 4, 5).diagonal(1, 0, 2),
    "unsqueeze0": lambda m: m.arange(12.).view(3, 4).unsqueeze(0),
    "unsqueeze_mid": lambda m: m.arange(12.).view(3, 4).unsqueeze(1),
    "unsqueeze_last": lambda m: m.arange(12.).view(3, 4).unsqueeze(2),
    "unsqueeze_t0": lambda m: m.arange(12.).view(3, 4).t().unsqueeze(0),
    "unsqueeze_t1": lambda m: m.arange(12.).view(3, 4).t().unsqueeze(1),
    "squeeze": lambda m: m.arange(12.).view(3, 1, 4).squeeze(1),
    "squeeze_t": lambda m: m.arange(12.).view(3, 1, 4).permute(2, 1, 0).squeeze(1),
    "flatten_t": lambda m: m.arange(12.).view(3, 1, 4).transpose(0, 2).flatten(1),
    "unbind": lambda m: m.arange(12.).view(3, 4).unbind(1)[2],
    "chunk": lambda m: m.arange(24.).view(6, 4).chunk(3)[1],
    "split_dim1": lambda m: m.arange(24.).view(6, 4).split(2, 1)[1],
    "movedim": lambda m: m.arange(24.).view(2, 3, 4).movedim(0, 2),
    "chain": lambda m: m.arange(24.).view(2, 3, 4)[:, 1:, ::2],
    "ellipsis": lambda m: m.arange(24.).view(2, 3, 4)[..., 1],
    "scalar": lambda m: m.tensor(1.5),
    "elementwise_t": lambda m: m.arange(12.).view(3, 4).t() + 1,
    "matmul": lambda m: m.ones(3, 4) @ m.ones(4, 5),
    "sum_keepdim": lambda m: m.ones(3, 4).sum(1, keepdim=True),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_strides_and_offsets_as_torch(name):
    same(VIEWS[name](torch), VIEWS[name](A))


def test_stride_of_one_dim_and_errors():
    for m in BOTH:
        x = m.zeros(3, 4).t()
        assert x.stride(0) == 1 and x.stride(-1) == 4 and x.stride(dim=1) == 4
    for call in (lambda m: m.zeros(3, 4).stride(2), lambda m: m.zeros(()).stride(0), lambda m: m.zeros(()).stride(-1)):
        with pytest.raises(IndexError) as et:
            call(torch)
        with pytest.raises(IndexError) as ea:
            call(A)
        assert str(et.value) == str(ea.value)


def test_storage_offset_of_views_of_views_and_non_views():
    for m in BOTH:
        b = m.arange(20.)
        v = b[3:][2:].view(3, 5)[1:, 1:]
        assert v.storage_offset() == 11
        assert (b * 1).storage_offset() == 0
        assert v.untyped_storage().data_ptr() == b.data_ptr()
        assert v.untyped_storage().nbytes() == 80 and len(v.untyped_storage()) == 80
        assert v.untyped_storage().size() == 80
        assert v.data_ptr() == b.data_ptr() + 11 * 4
    p, q = A.zeros(3), A.zeros(3)
    assert p.untyped_storage().data_ptr() != q.untyped_storage().data_ptr()
    assert p.detach().untyped_storage().data_ptr() == p.untyped_storage().data_ptr()
    # a tensor a NumPy slice backs is a storage of its own (torch.from_numpy does the same)
    base = np.zeros(6, np.float32)
    for m in BOTH:
        t = m.from_numpy(base[2:])
        assert t.storage_offset() == 0 and t.untyped_storage().nbytes() == 16
    assert str(A.zeros(3).untyped_storage().device) == str(torch.zeros(3).untyped_storage().device)


def test_nbytes_itemsize_element_size_is_signed():
    pairs = [(torch.bool, A.bool), (torch.uint8, A.uint8), (torch.int8, A.int8), (torch.int16, A.int16),
             (torch.int32, A.int32), (torch.int64, A.int64), (torch.float16, A.float16),
             (torch.bfloat16, A.bfloat16), (torch.float32, A.float32), (torch.float64, A.float64),
             ]
    for dt, da in pairs:
        t, a = torch.zeros(3, 4, dtype=dt), A.zeros(3, 4, dtype=da)
        assert (a.nbytes, a.itemsize, a.element_size(), a.is_signed()) == \
            (t.nbytes, t.itemsize, t.element_size(), t.is_signed()), dt
    for m in BOTH:   # nbytes counts elements, not storage: a slice and an expansion as torch
        assert m.zeros(3, 4)[:, ::2].nbytes == 24 and m.zeros(3, 1).expand(3, 4).nbytes == 48


DIM_ORDER = {
    "contiguous": lambda m: m.zeros(2, 3),
    "t_row": lambda m: m.zeros(1, 4).t(),
    "size1": lambda m: m.zeros(2, 1, 4),
    "permute": lambda m: m.zeros(2, 3, 4).permute(2, 0, 1),
    "expand": lambda m: m.zeros(3, 1).expand(3, 4),
    "expand_all": lambda m: m.zeros(1).expand(3, 4),
    "slice": lambda m: m.zeros(4, 6)[:, ::2],
    "empty": lambda m: m.zeros(0, 3),
    "scalar": lambda m: m.zeros(()),
    "vector": lambda m: m.zeros(5),
    "one": lambda m: m.zeros(1),
    "equal_strides": lambda m: m.zeros(4).as_strided((2, 2), (1, 1)),
    "equal_strides_sizes": lambda m: m.zeros(30).as_strided((2, 3, 2), (6, 6, 1)),
    "column_major": lambda m: m.zeros(30).as_strided((2, 3), (1, 5)),
    "reversed": lambda m: m.zeros(30).as_strided((2, 3, 2), (1, 2, 6)),
    "size1_big_stride": lambda m: m.zeros(12).as_strided((3, 1, 4), (4, 100, 1)),
    "size1_small_stride": lambda m: m.zeros(12).as_strided((3, 1, 4), (1, 1, 3)),
    "size1_zero_stride": lambda m: m.zeros(12).as_strided((3, 1, 4), (1, 0, 3)),
    "unsqueeze_t": lambda m: m.zeros(3, 4).t().unsqueeze(1),
    "expand_mid": lambda m: m.zeros(3, 1, 2).expand(3, 4, 2),
    "channels_last": lambda m: m.zeros(2, 4, 5, 3).permute(0, 3, 1, 2),
    "diagonal": lambda m: m.zeros(4, 4).diagonal(),
}


def _dim_order(t, check):
    try:
        return t.dim_order(ambiguity_check=check)
    except RuntimeError as e:
        return type(e), str(e)


@pytest.mark.parametrize("name", sorted(DIM_ORDER))
def test_dim_order_as_torch(name):
    t, a = DIM_ORDER[name](torch), DIM_ORDER[name](A)
    assert a.dim_order() == t.dim_order()
    assert _dim_order(a, True) == _dim_order(t, True)
    assert _dim_order(a, [A.contiguous_format]) == _dim_order(t, [torch.contiguous_format])


def test_dim_order_random_layouts_as_torch():
    rng = np.random.default_rng(0)
    for _ in range(200):
        nd = int(rng.integers(2, 5))
        shape = tuple(int(s) for s in rng.integers(1, 4, nd))
        strides = tuple(int(s) for s in rng.integers(0, 7, nd))
        t = torch.zeros(200).as_strided(shape, strides)
        a = A.zeros(200).as_strided(shape, strides)
        assert a.stride() == t.stride()
        assert a.dim_order() == t.dim_order(), (shape, strides)
        assert _dim_order(a, True) == _dim_order(t, True), (shape, strides)
    with pytest.raises(TypeError, match="must be a bool or a list of memory formats"):
        A.zeros(2).dim_order(ambiguity_check=3)


# ---- unfold -------------------------------------------------------------------------------------------
UNFOLDS = {
    "last": lambda m: m.arange(24.).view(4, 6).unfold(1, 3, 2),
    "negative_dim": lambda m: m.arange(24.).view(4, 6).unfold(-1, 2, 2),
    "transposed": lambda m: m.arange(24.).view(4, 6).t().unfold(0, 2, 1),
    "of_slice": lambda m: m.arange(24.).view(4, 6)[1:, ::2].unfold(0, 2, 2),
    "twice": lambda m: m.arange(24.).view(4, 6).unfold(1, 2, 1).unfold(0, 2, 1),
    "window_is_dim": lambda m: m.arange(5.).unfold(0, 5, 1),
    "step_past": lambda m: m.arange(7.).unfold(0, 2, 4),
    "scalar": lambda m: m.tensor(3.).unfold(0, 1, 1),
    "scalar_empty": lambda m: m.tensor(3.).unfold(0, 0, 1),
    "empty_window": lambda m: m.arange(5.).unfold(0, 0, 1),
    "expanded": lambda m: m.arange(3.).expand(2, 3).unfold(1, 2, 1),
}


@pytest.mark.parametrize("name", sorted(UNFOLDS))
def test_unfold_as_torch(name):
    t, a = UNFOLDS[name](torch), UNFOLDS[name](A)
    same(t, a)
    assert a._is_view() and t._is_view()


def test_unfold_shares_memory_both_ways():
    for m in BOTH:
        x = m.arange(6.)
        v = x.unfold(0, 3, 1)
        x[1] = 100.
        assert v[0, 1].item() == 100. and v[1, 0].item() == 100.
        w = x.unfold(0, 2, 2)
        w.add_(1)
        assert x.tolist() == [1., 101., 3., 4., 5., 6.]
        assert w._base is x and v.data_ptr() == x.data_ptr()


def test_unfold_errors_as_torch():
    calls = [lambda m: m.zeros(5).unfold(0, 6, 1), lambda m: m.zeros(5).unfold(0, 6, 0),
             lambda m: m.zeros(5).unfold(0, -1, 1), lambda m: m.zeros(5).unfold(0, 2, 0),
             lambda m: m.zeros(5).unfold(0, 2, -1), lambda m: m.zeros(()).unfold(0, 2, 1),
             lambda m: m.zeros(5).unfold(1, 2, 1), lambda m: m.zeros(2, 5).unfold(-3, 2, 1)]
    for call in calls:
        with pytest.raises((RuntimeError, IndexError)) as et:
            call(torch)
        with pytest.raises(et.type) as ea:
            call(A)
        assert str(ea.value) == str(et.value)
    for call in (lambda m: m.zeros(5).unfold(0.0, 2, 1), lambda m: m.zeros(5).unfold(0, 2, 1.0),
                 lambda m: m.zeros(5).stride(1.0)):
        with pytest.raises(TypeError) as et:
            call(torch)
        with pytest.raises(TypeError) as ea:
            call(A)
        assert str(ea.value) == str(et.value)


def _grads(f, shape, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    outs = []
    for m in BOTH:
        x = m.tensor(x0, dtype=m.float64, requires_grad=True)
        y = f(m, x)
        w = m.tensor(np.random.default_rng(seed + 1).standard_normal(tuple(y.shape)), dtype=m.float64)
        (y * w).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy(), y.grad_fn.name()))
    (yt, gt, nt), (ya, ga, na) = outs
    np.testing.assert_allclose(ya, yt)
    np.testing.assert_allclose(ga, gt, rtol=1e-12, atol=1e-12)
    assert na == nt


@pytest.mark.parametrize("args", [(0, 3, 1), (0, 2, 2), (1, 2, 3), (0, 1, 1), (-1, 4, 1), (1, 0, 1)])
def test_unfold_gradient_as_torch(args):
    _grads(lambda m, x: x.unfold(*args), (5, 4))


def test_unfold_gradcheck_and_double_backward():
    x = A.tensor(np.random.default_rng(1).standard_normal((5, 3)), dtype=A.float64, requires_grad=True)
    assert gradcheck(lambda t: t.unfold(0, 3, 1), (x,))
    assert gradcheck(lambda t: t.t().unfold(1, 2, 2).unfold(0, 2, 1), (x,))
    assert gradgradcheck(lambda t: t.unfold(0, 3, 1) ** 2, (x,))
    assert gradgradcheck(lambda t: (t.unfold(1, 2, 1) ** 3).sum(-1), (x,))


def test_inplace_through_unfold_and_base_with_autograd_as_torch():
    x0 = np.arange(1., 7.)
    outs = []
    for m in BOTH:
        leaf = m.tensor(x0, dtype=m.float64, requires_grad=True)
        x = leaf * 1
        v = x.unfold(0, 2, 2)                # non-overlapping windows: a write through the view is defined
        v.mul_(leaf[:2])                     # each window times (leaf0, leaf1)
        w = x.unfold(0, 3, 1)                # overlapping windows of the modified base
        x[0] = 3.                            # then the base changes under the view
        (w * m.arange(12., dtype=m.float64).view(4, 3)).sum().backward()
        outs.append((w.detach().numpy(), leaf.grad.numpy(), x._version))
    np.testing.assert_allclose(outs[1][0], outs[0][0])
    np.testing.assert_allclose(outs[1][1], outs[0][1])
    assert outs[1][2] == outs[0][2]


def test_unfold_saved_then_modified_raises_as_torch():
    for m in BOTH:
        x = m.arange(4., requires_grad=True) * 1
        y = x.unfold(0, 2, 1)
        z = (y * y).sum()
        x.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_unfold_copy_is_a_copy():
    for m in BOTH:
        x = m.arange(6.)
        c = m.unfold_copy(x, 0, 3, 1)
        x[1] = 100.
        assert c[0, 1].item() == 1. and c.is_contiguous() and not c._is_view()


# ---- as_strided ---------------------------------------------------------------------------------------
AS_STRIDED = {
    "window": lambda m: m.arange(24.).as_strided((3, 3), (4, 1), 2),
    "default_offset": lambda m: m.arange(24.)[5:].as_strided((3, 3), (1, 1)),
    "storage_offset_0": lambda m: m.arange(24.)[5:].as_strided((3, 3), (1, 1), 0),
    "of_transposed": lambda m: m.arange(24.).view(4, 6).t().as_strided((2, 2), (6, 1)),
    "of_expanded": lambda m: m.arange(6.).expand(2, 6).as_strided((2, 2), (1, 1)),
    "zero_stride": lambda m: m.arange(6.).as_strided((2, 3), (0, 2), 1),
    "scalar": lambda m: m.arange(6.).as_strided((), (), 4),
    "empty": lambda m: m.arange(5.).as_strided((0, 2), (1, 1), 3),
    "list_args": lambda m: m.arange(5.).as_strided([2], [2]),
    "size_arg": lambda m: m.arange(5.).as_strided(m.zeros(2).shape, [2]),
    "function": lambda m: m.as_strided(m.arange(5.), (2,), (2,), 1),
    "copy": lambda m: m.as_strided_copy(m.arange(5.), (2,), (2,), 1),
    "int": lambda m: m.arange(10).as_strided((2, 2), (3, 1), 1),
}


@pytest.mark.parametrize("name", sorted(AS_STRIDED))
def test_as_strided_as_torch(name):
    same(AS_STRIDED[name](torch), AS_STRIDED[name](A))


def test_as_strided_shares_memory_both_ways():
    for m in BOTH:
        b = m.arange(10.)
        x = b[2:]
        v = x.as_strided((2, 2), (1, 3), 0)     # reaches storage before x's first element, as torch allows
        assert v.tolist() == [[0., 3.], [1., 4.]]
        b[3] = 30.
        assert v[0, 1].item() == 30.
        v[1, 1] = 40.
        assert b[4].item() == 40. and v._base is b
        c = m.as_strided_copy(b, (2,), (1,))
        b[0] = -1.
        assert c[0].item() == 0.


def test_as_strided_errors_as_torch():
    calls = [lambda m: m.zeros(5).as_strided((2,), (-1,)), lambda m: m.zeros(5).as_strided((6,), (1,)),
             lambda m: m.zeros(5).as_strided((2,), (1,), -1), lambda m: m.zeros(5).as_strided((2, 2), (1,)),
             lambda m: m.zeros(5).as_strided((-2,), (1,)), lambda m: m.zeros(5).as_strided((2,), (1,), 4),
             lambda m: m.zeros(5).as_strided((-1,), (-1,)), lambda m: m.zeros(5)[3:].as_strided((3,), (1,)),
             lambda m: m.zeros(5).as_strided(3, 1), lambda m: m.zeros(5).as_strided((1,), 1),
             lambda m: m.zeros(5).as_strided((1,), (1,), 1.0)]
    for call in calls:
        with pytest.raises((RuntimeError, TypeError)) as et:
            call(torch)
        with pytest.raises(et.type) as ea:
            call(A)
        assert str(ea.value) == str(et.value)


@pytest.mark.parametrize("f", [
    lambda m, x: x.as_strided((3, 3), (1, 1)),                       # overlapping windows add up
    lambda m, x: x.as_strided((2, 3), (3, 1), 1),
    lambda m, x: x.view(2, 6).t().as_strided((4, 2), (2, 1)),
    lambda m, x: x.expand(3, 12).as_strided((2, 2), (1, 1)),         # the input repeats its locations
    lambda m, x: (x * 1)[4:].as_strided((2,), (1,), 0),             # locations outside the input get none
    lambda m, x: (x * 1)[4:].as_strided((3,), (1,), 3),
    lambda m, x: x.as_strided((2, 2), (0, 1), 2),
    lambda m, x: x.as_strided((0, 3), (1, 1)),
], ids=["overlap", "offset", "of_transposed", "of_expanded", "outside", "partly_outside", "zero_stride", "empty"])
def test_as_strided_gradient_as_torch(f):
    _grads(f, (12,))


def test_as_strided_gradcheck_and_double_backward():
    x = A.tensor(np.random.default_rng(2).standard_normal(8), dtype=A.float64, requires_grad=True)
    assert gradcheck(lambda t: t.as_strided((3, 3), (1, 2)), (x,))
    assert gradcheck(lambda t: t.expand(2, 8).as_strided((3, 2), (1, 1), 1), (x,))
    assert gradgradcheck(lambda t: t.as_strided((3, 3), (2, 1)) ** 2, (x,))


def test_inplace_through_as_strided_with_autograd_as_torch():
    x0 = np.arange(1., 9.)
    outs = []
    for m in BOTH:
        leaf = m.tensor(x0, dtype=m.float64, requires_grad=True)
        x = leaf * 2
        v = x[1:].as_strided((2, 2), (3, 1), 2)    # a view of a view, by storage positions
        v.mul_(leaf[:2])
        (x * m.arange(8., dtype=m.float64)).sum().backward()
        outs.append((x.detach().numpy(), leaf.grad.numpy(), v.grad_fn.name()))
    np.testing.assert_allclose(outs[1][0], outs[0][0])
    np.testing.assert_allclose(outs[1][1], outs[0][1])
    assert outs[1][2] == outs[0][2]


def test_as_strided_scatter_values_as_torch_and_gradients_by_gradcheck():
    rng = np.random.default_rng(3)
    base0, src0 = rng.standard_normal(8), rng.standard_normal((2, 2))
    takes = {"whole": lambda b: b, "slice": lambda b: b[2:], "transposed": lambda b: b.view(2, 4).t()}
    for name, offset in [("whole", 1), ("slice", None), ("slice", 0), ("transposed", 0), ("transposed", 3)]:
        t = torch.as_strided_scatter(takes[name](torch.tensor(base0)), torch.tensor(src0), (2, 2), (1, 2), offset)
        a = A.as_strided_scatter(takes[name](A.tensor(base0)), A.tensor(src0), (2, 2), (1, 2), offset)
        np.testing.assert_array_equal(a.numpy(), t.numpy(), err_msg=f"{name} {offset}")
        # torch 2.13's own backward fails its gradcheck here (it sends the gradient of the kept elements to
        # the overwritten ones), so the gradient is checked against finite differences, not against torch
        b = A.tensor(base0, dtype=A.float64, requires_grad=True)
        src = A.tensor(src0, dtype=A.float64, requires_grad=True)
        assert gradcheck(lambda b, s: A.as_strided_scatter(takes[name](b * 1), s, (2, 2), (1, 2), offset), (b, src))
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice of self"):
        A.as_strided_scatter(A.zeros(4), A.zeros(3), (2,), (1,))


def test_random_unfold_and_as_strided_as_torch():
    rng = np.random.default_rng(5)
    for _ in range(60):
        shape = tuple(int(s) for s in rng.integers(1, 5, int(rng.integers(1, 4))))
        x0 = rng.standard_normal(shape)
        d = int(rng.integers(0, len(shape)))
        size = int(rng.integers(0, shape[d] + 1))
        step = int(rng.integers(1, 4))
        n = x0.size
        vshape = tuple(int(s) for s in rng.integers(0, 4, int(rng.integers(0, 3))))
        vstride = tuple(int(s) for s in rng.integers(0, 4, len(vshape)))
        reach = sum((k - 1) * s for k, s in zip(vshape, vstride)) if all(vshape) else 0
        offset = int(rng.integers(0, max(n - reach, 1)))
        if reach + offset >= n:
            continue
        perm = tuple(int(i) for i in rng.permutation(len(shape)))
        outs = []
        for m in BOTH:
            leaf = m.tensor(x0, dtype=m.float64, requires_grad=True)
            x = leaf.permute(perm)                       # a non-contiguous input
            u = x.unfold(d, min(size, x.shape[d]), step)
            v = leaf.as_strided(vshape, vstride, offset)
            wu = m.tensor(np.linspace(-1, 1, u.numel()).reshape(tuple(u.shape)), dtype=m.float64)
            wv = m.tensor(np.linspace(2, 3, v.numel()).reshape(tuple(v.shape)), dtype=m.float64)
            ((u * wu).sum() + (v * wv).sum()).backward()
            outs.append((layout(u), layout(v), u.detach().numpy(), v.detach().numpy(), leaf.grad.numpy()))
        (lu_t, lv_t, u_t, v_t, g_t), (lu_a, lv_a, u_a, v_a, g_a) = outs
        assert (lu_a, lv_a) == (lu_t, lv_t)
        np.testing.assert_array_equal(u_a, u_t)
        np.testing.assert_array_equal(v_a, v_t)
        np.testing.assert_allclose(g_a, g_t, rtol=1e-12, atol=1e-12)


def test_inplace_through_as_strided_outside_its_input_is_refused_not_wrong():
    # torch follows such a write; here the view cannot say which base elements it reached, so it refuses
    b = A.arange(6., requires_grad=True)
    v = (b * 1)[2:].as_strided((2,), (1,), 0)
    with pytest.raises(RuntimeError, match="outside the tensor it was taken from"):
        v.mul_(2)


def test_as_strided_view_follows_base_changed_in_place_as_torch():
    x0 = np.arange(1., 9.)
    outs = []
    for m in BOTH:
        leaf = m.tensor(x0, dtype=m.float64, requires_grad=True)
        x = leaf * 1
        v = x.as_strided((3, 2), (2, 1), 1)        # overlapping rows, taken before the base changes
        x.mul_(leaf)                                # the base changes in place: v now reads leaf ** 2
        (v * m.arange(6., dtype=m.float64).view(3, 2)).sum().backward()
        outs.append((v.detach().numpy(), leaf.grad.numpy(), v._version))
    for k in range(3):
        np.testing.assert_allclose(outs[1][k], outs[0][k])


def test_cuda_views_match_the_cpu(cuda_env):
    # on a GPU (or the strict CuPy stand-in): the same layouts, shared memory and gradients as on the CPU
    x0 = np.arange(1., 13.)
    outs = []
    for device in ("cpu", "cuda"):
        leaf = A.tensor(x0, dtype=A.float32, device=device, requires_grad=True)
        x = leaf * 1
        base = x.view(3, 4)[1:]
        u = base.t().unfold(0, 2, 1)
        v = base.as_strided((2, 3), (1, 2), 1)
        info = (layout(u), layout(v), v.untyped_storage().nbytes(), u.data_ptr() - x.data_ptr())
        x[5] = 50.                                   # the views see the base's change
        (u.sum() + (v * v).sum()).backward()
        outs.append((info, u.detach().cpu().numpy(), v.detach().cpu().numpy(), leaf.grad.cpu().numpy()))
    assert outs[1][0] == outs[0][0]
    for k in (1, 2, 3):
        np.testing.assert_array_equal(outs[1][k], outs[0][k])
