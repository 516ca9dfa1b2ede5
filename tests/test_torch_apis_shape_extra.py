"""torch's shape / indexing / combination functions of autograd.ops.shape_extra and its topic modules against torch 2.13: values,
dtypes, shapes, which results are views of the input, errors (class and message), first-order gradients
against torch and finite differences (float64), second order where torch has it."""
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
LIBS = (torch, ag)


def _np(t):
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    return t.numpy() if isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def _same(ours, ref, atol=0.0, rtol=0.0):
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b, atol, rtol)
        return
    assert tuple(ours.shape) == tuple(ref.shape)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(ours), _np(ref), atol=atol, rtol=rtol)


def _both(fn, *arrays):
    """``fn(lib, *tensors)`` for torch and autograd on the same data (NumPy values become tensors); returns
    (ours, torch's, our inputs, torch's inputs)."""
    out = []
    for lib in (ag, torch):
        ts = [lib.tensor(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in arrays]
        out.append((fn(lib, *ts), ts))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def _grads_match(fn, *arrays, atol=1e-10, rtol=1e-7, seed=0):
    """fn's gradients for the same random upstream gradient, ours vs torch's (float64)."""
    res = []
    for lib in (ag, torch):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        ys = y if isinstance(y, (tuple, list)) else (y,)
        up = [lib.tensor(np.random.default_rng(seed + k).standard_normal(tuple(t.shape))) for k, t in enumerate(ys)]
        loss = sum((t * u).sum() for t, u in zip(ys, up))
        gs = lib.autograd.grad(loss, xs, allow_unused=True)
        res.append([g if g is not None else lib.zeros_like(x) for g, x in zip(gs, xs)])
    _same(res[0], res[1], atol, rtol)


def _raises_like(fn, *args):
    """Both libraries raise the same error class with the same message."""
    caught = []
    for lib in (torch, ag):
        with pytest.raises(Exception) as info:
            fn(lib, *[lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        caught.append(info.value)
    assert type(caught[1]) is type(caught[0]) or isinstance(caught[1], type(caught[0])), caught
    assert str(caught[1]) == str(caught[0]), caught


RNG = np.random.default_rng(0)
A23 = RNG.standard_normal((2, 3))
A34 = RNG.standard_normal((3, 4))


# ---- broadcasting ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 3), (1,)), (2, (3, 1)), ((4, 1, 3), (2, 1), ()), ((0, 1), (1, 5))])
def test_broadcast_shapes(shapes):
    assert ag.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)
    assert type(ag.broadcast_shapes(*shapes)).__name__ == "Size"


def test_broadcast_errors():
    _raises_like(lambda lib: lib.broadcast_shapes((2, 3), (4, 3)))
    _raises_like(lambda lib, a, b: lib.broadcast_tensors(a, b), np.ones((2, 3)), np.ones((4, 3)))
    _raises_like(lambda lib, a: lib.broadcast_to(a, (4, 2)), np.ones((2, 3)))


@pytest.mark.parametrize("size", [(2, 3), (4, 2, 3), (2, -1)])
def test_broadcast_to_is_a_view_with_torch_values_and_grads(size):
    ours, ref, (a,), (t,) = _both(lambda lib, x: lib.broadcast_to(x, size), A23[:1])
    _same(ours, ref)
    _same(a.broadcast_to(size), t.broadcast_to(size))
    a.mul_(3)
    t.mul_(3)
    _same(ours, ref)    # the base's change shows in the view
    _grads_match(lambda lib, x: lib.broadcast_to(x, size), A23[:1])


def test_broadcast_tensors_views_and_grads():
    ours, ref, _, _ = _both(lambda lib, a, b, c: lib.broadcast_tensors(a, b, c), np.ones((3, 1)), A23[0],
                            np.float64(2.0))
    _same(ours, ref)
    _grads_match(lambda lib, a, b: lib.broadcast_tensors(a, b), A23[:, :1], A23[0])


# ---- atleast / stacking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4), (0,)])
@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(name, shape):
    x = RNG.standard_normal(shape)
    ours, ref, (a,), (t,) = _both(lambda lib, x: getattr(lib, name)(x), x)
    _same(ours, ref)
    assert (ours is a) == (ref is t)
    if shape:
        a.add_(1)
        t.add_(1)
        _same(ours, ref)   # a view of the input
    pair = _both(lambda lib, x, y: getattr(lib, name)(x, y), x, np.float32(1))
    _same(pair[0], pair[1])
    listed = _both(lambda lib, x: getattr(lib, name)([x]), x)
    _same(listed[0], listed[1])


STACK_CASES = {
    "hstack": [[(3,), (3,)], [(2, 3), (2, 1)], [(), ()], [(2, 1, 2), (2, 3, 2)], [(0,), (2,)]],
    "vstack": [[(3,), (3,)], [(2, 3), (1, 3)], [(), ()], [(2, 3, 2), (1, 3, 2)]],
    "dstack": [[(3,), (3,)], [(2, 3), (2, 3)], [(), ()], [(2, 3, 1), (2, 3, 2)]],
    "column_stack": [[(3,), (3,)], [(2, 3), (2, 1)], [(), ()], [(2, 1, 1), (2, 3, 1)], [(2,), (2, 3)]],
}
STACK_CASES["row_stack"] = STACK_CASES["vstack"]


@pytest.mark.parametrize("name,shapes", [(n, c) for n, cases in STACK_CASES.items() for c in cases])
def test_stacks(name, shapes):
    xs = [RNG.standard_normal(s) for s in shapes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch deprecates row_stack
        ours, ref, _, _ = _both(lambda lib, a, b: getattr(lib, name)([a, b]), *xs)
        _same(ours, ref)
        _grads_match(lambda lib, a, b: getattr(lib, name)((a, b)), *xs)
    _raises_like(lambda lib: getattr(lib, name)([]))


def test_stack_promotes_dtypes():
    ours, ref, _, _ = _both(lambda lib, a, b: lib.hstack([a, b.to(lib.int32)]), np.ones(2, np.float32), np.ones(2))
    _same(ours, ref)


# ---- splitting ------------------------------------------------------------------------------------------
SPLITS = [3, 4, 1, [2], [1, 5], [-2, 1, 10, 3], (0, 0)]


@pytest.mark.parametrize("spec", SPLITS)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_tensor_split_values_views_and_grads(spec, dim):
    x = RNG.standard_normal((7, 6))
    ours, ref, (a,), (t,) = _both(lambda lib, x: lib.tensor_split(x, spec, dim), x)
    _same(ours, ref)
    a.mul_(2)
    t.mul_(2)
    _same(ours, ref)
    _same(a.tensor_split(spec, dim), t.tensor_split(spec, dim))
    _grads_match(lambda lib, x: lib.tensor_split(x, spec, dim), x)


@pytest.mark.parametrize("spec", [np.array(3), np.array([1, 4])])
def test_tensor_split_with_tensor_spec(spec):
    ours, ref, _, _ = _both(lambda lib, x, s: lib.tensor_split(x, s), RNG.standard_normal(7), spec)
    _same(ours, ref)


@pytest.mark.parametrize("call", [lambda lib, x: lib.tensor_split(x, sections=3),
                                  lambda lib, x: x.tensor_split(indices=[2], dim=0),
                                  lambda lib, x: lib.tensor_split(x, tensor_indices_or_sections=lib.tensor(2)),
                                  lambda lib, x: lib.hsplit(x, sections=7), lambda lib, x: lib.hsplit(x, indices=[3]),
                                  lambda lib, x: lib.vsplit(x[None], indices=[1]),
                                  lambda lib, x: x[None].vsplit(sections=1)])
def test_split_keyword_spellings(call):
    ours, ref, _, _ = _both(call, np.arange(7))
    _same(ours, ref)


def test_tensor_split_pieces_are_plain_views_writable_in_place():
    res = []
    for lib in LIBS:
        base = lib.arange(6.0, requires_grad=True)
        x = base * 1
        parts = lib.tensor_split(x, 3)
        parts[1].mul_(10)
        (x * lib.arange(6.0)).sum().backward()
        res.append((x, base.grad))
    _same(res[1], res[0])


def test_split_with_sizes_is_multi_output():
    ours, ref, _, _ = _both(lambda lib, x: x.split_with_sizes([2, 4], 1), A23.repeat(2, 1))
    _same(ours, ref)
    _same(ag.split_with_sizes(ag.tensor(A34), [1, 3], 1), torch.split_with_sizes(torch.tensor(A34), [1, 3], 1))
    x = ag.tensor(A34, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="SplitWithSizes is a view"):
        x.split_with_sizes([1, 2])[0].mul_(2)
    _raises_like(lambda lib, x: x.split_with_sizes([1, 1]), A34)


@pytest.mark.parametrize("name,shape,spec", [("hsplit", (6,), 3), ("hsplit", (2, 6), [1, 4]), ("vsplit", (4, 2), 2),
                                             ("vsplit", (4, 2), [3]), ("dsplit", (2, 2, 6), 3),
                                             ("dsplit", (2, 2, 6), [1, 1])])
def test_hvd_split(name, shape, spec):
    x = RNG.standard_normal(shape)
    ours, ref, (a,), (t,) = _both(lambda lib, x: getattr(lib, name)(x, spec), x)
    _same(ours, ref)
    a.add_(1)
    t.add_(1)
    _same(ours, ref)
    _same(getattr(a, name)(spec), getattr(t, name)(spec))
    _grads_match(lambda lib, x: getattr(lib, name)(x, spec), x)


@pytest.mark.parametrize("fn,shape", [
    (lambda lib, x: lib.hsplit(x, 2), ()), (lambda lib, x: lib.hsplit(x, 4), (3, 6)),
    (lambda lib, x: lib.vsplit(x, 4), (3,)), (lambda lib, x: lib.vsplit(x, 2), (3, 6)),
    (lambda lib, x: lib.dsplit(x, 2), (3, 6)), (lambda lib, x: lib.dsplit(x, 3), (3, 6, 4)),
    (lambda lib, x: lib.tensor_split(x, 0), (3, 6)), (lambda lib, x: lib.tensor_split(x, 2), ()),
    (lambda lib, x: lib.tensor_split(x, lib.tensor([[1]])), (7,)),
    (lambda lib, x: lib.tensor_split(x, lib.tensor([1.0])), (7,)),
    (lambda lib, x: lib.tensor_split(x, 2, 2), (7,)),
])
def test_split_errors(fn, shape):
    _raises_like(fn, np.ones(shape))


# ---- simple copies and rotations ------------------------------------------------------------------------
def test_swapdims_and_narrow_copy():
    x = RNG.standard_normal((2, 3, 4))
    for name in ("swapdims", "swapaxes"):
        ours, ref, (a,), (t,) = _both(lambda lib, x: getattr(lib, name)(x, 0, 2), x)
        _same(ours, ref)
        a.add_(1)
        t.add_(1)
        _same(ours, ref)
    ours, ref, (a,), (t,) = _both(lambda lib, x: lib.narrow_copy(x, 1, 1, 2), x)
    _same(ours, ref)
    a.add_(1)
    t.add_(1)
    _same(ours, ref)   # a copy: the base's change does not show
    _same(a.narrow_copy(-1, 0, 3), t.narrow_copy(-1, 0, 3))
    _grads_match(lambda lib, x: lib.narrow_copy(x, 2, 1, 3), x)


@pytest.mark.parametrize("k", [-5, -1, 0, 1, 2, 3, 6])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (2, 1)])
def test_rot90(k, dims):
    x = RNG.standard_normal((2, 3, 4))
    ours, ref, (a,), (t,) = _both(lambda lib, x: lib.rot90(x, k, dims), x)
    _same(ours, ref)
    _same(a.rot90(k, dims), t.rot90(k, dims))
    a.add_(1)
    t.add_(1)
    _same(ours, ref)
    _grads_match(lambda lib, x: lib.rot90(x, k, dims), x)


@pytest.mark.parametrize("fn,shape", [(lambda lib, x: lib.rot90(x), (2,)),
                                      (lambda lib, x: lib.rot90(x, 1, [0]), (2, 2)),
                                      (lambda lib, x: lib.rot90(x, 1, [0, 0]), (2, 2)),
                                      (lambda lib, x: lib.rot90(x, 1, [0, 2]), (2, 2))])
def test_rot90_errors(fn, shape):
    _raises_like(fn, np.ones(shape))


# ---- take, take_along_dim -------------------------------------------------------------------------------
@pytest.mark.parametrize("index", [[[0, -1], [5, 2]], [3], 4, [], [[[1]]]])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_take(index, dtype):
    x = (RNG.standard_normal((2, 3)) > 0) if dtype == "bool" else RNG.standard_normal((2, 3))
    idx = np.array(index, dtype=np.int64)
    ours, ref, _, _ = _both(lambda lib, x, i: lib.take(x.to(getattr(lib, dtype)), i), x, idx)
    _same(ours, ref)
    _same(ag.tensor(x).take(ag.tensor(idx)), torch.tensor(x).take(torch.tensor(idx)))


def test_take_grads_and_errors():
    idx = np.array([[0, 5], [5, -1]])   # repeated positions add up
    x = RNG.standard_normal((2, 3))
    _grads_match(lambda lib, x: lib.take(x, lib.tensor(idx)), x)
    assert gradgradcheck(lambda x: ag.take(x, ag.tensor(idx)) ** 2, (ag.tensor(x, requires_grad=True),))
    for bad in ([6], [-7]):
        _raises_like(lambda lib, x: lib.take(x, lib.tensor(bad)), x)
    _raises_like(lambda lib, x: lib.take(x, lib.tensor([1], dtype=lib.int32)), x)


@pytest.mark.parametrize("xshape,ishape,dim", [((2, 3), (2, 2), 1), ((2, 1, 3), (1, 2, 1), 2), ((4, 3), (2, 3), 0),
                                                ((2, 3), (5,), None), ((3, 1), (1, 4), -1), ((2, 3), (2, 3), None)])
def test_take_along_dim(xshape, ishape, dim):
    x = RNG.standard_normal(xshape)
    size = int(np.prod(xshape)) if dim is None else xshape[dim]
    # along a dim torch takes indices modulo the size; flattened they must be in range
    idx = RNG.integers(0, size, ishape) if dim is None else RNG.integers(-2 * size, 2 * size, ishape)
    ours, ref, _, _ = _both(lambda lib, x, i: lib.take_along_dim(x, i, dim), x, idx)
    _same(ours, ref)
    _same(ag.tensor(x).take_along_dim(ag.tensor(idx), dim), torch.tensor(x).take_along_dim(torch.tensor(idx), dim))
    _grads_match(lambda lib, x: lib.take_along_dim(x, lib.tensor(idx), dim), x)


def test_take_along_dim_errors():
    x = np.ones((2, 3))
    _raises_like(lambda lib, x: lib.take_along_dim(x, lib.tensor([[1]], dtype=lib.int32), 1), x)
    _raises_like(lambda lib, x: lib.take_along_dim(x, lib.tensor([1]), 1), x)
    _raises_like(lambda lib, x: lib.take_along_dim(x, lib.tensor([6])), x)
    _raises_like(lambda lib, x: lib.take_along_dim(x, lib.tensor([-1])), x)


# ---- index_copy / index_fill ----------------------------------------------------------------------------
@pytest.mark.parametrize("xshape,dim,index,sshape", [((4, 3), 0, [3, 0], (2, 3)), ((4, 3), 1, [2], (4, 1)),
                                                      ((2, 3, 4), -1, [1, 0, 3], (2, 3, 3)), ((3,), 0, 1, ()),
                                                      ((), 0, 0, ()), ((4, 3), 0, [], (0, 3))])
def test_index_copy(xshape, dim, index, sshape):
    x, s = RNG.standard_normal(xshape), RNG.standard_normal(sshape)
    idx = np.array(index, dtype=np.int64)
    ours, ref, _, _ = _both(lambda lib, x, i, s: lib.index_copy(x, dim, i, s), x, idx, s)
    _same(ours, ref)
    _same(ag.tensor(x).index_copy(dim, ag.tensor(idx), ag.tensor(s)),
          torch.tensor(x).index_copy(dim, torch.tensor(idx), torch.tensor(s)))
    _grads_match(lambda lib, x, s: lib.index_copy(x, dim, lib.tensor(idx), s), x, s)
    res = []
    for lib in LIBS:     # in place, through a view of a non-leaf
        leaf = lib.tensor(np.stack([x, x]), requires_grad=True)
        base = leaf * 1
        sv = lib.tensor(s, requires_grad=True)
        base[1].index_copy_(dim, lib.tensor(idx), sv * 2)
        (base * base).sum().backward()
        res.append((base, leaf.grad, sv.grad))
    _same(res[0], res[1], 1e-12, 1e-12)


def test_index_copy_second_order_and_errors():
    idx = ag.tensor([2, 0])
    s = ag.tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    assert gradcheck(lambda x, s: ag.index_copy(x, 1, idx, s), (ag.tensor(A34.T.copy(), requires_grad=True), s))
    assert gradgradcheck(lambda x, s: ag.index_copy(x, 0, idx, s) ** 2, (ag.tensor(A34[:, :2], requires_grad=True),
                                                                       ag.tensor(A23[:, :2], requires_grad=True)))
    z = np.zeros((3, 2), np.float32)
    for fn in (lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 2]), lib.ones(2, 3)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 2]), lib.ones(3, 2)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 2], dtype=lib.int32), lib.ones(2, 2)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([[0, 2]]), lib.ones(2, 2)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 3]), lib.ones(2, 2)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, -1]), lib.ones(2, 2)),
               lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 1]), lib.ones(2, 2, dtype=lib.float64))):
        _raises_like(fn, z)


@pytest.mark.parametrize("dim,index,value", [(0, [0, -1], 2.5), (1, [1], -1), (-1, 2, 7), (0, [], 1.0),
                                             (1, [0, 0], "tensor")])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_index_fill(dim, index, value, dtype):
    x = RNG.standard_normal((3, 4)) * 5
    idx = np.array(index, dtype=np.int64)
    res = []
    for lib in (ag, torch):
        t = lib.tensor(x, dtype=getattr(lib, dtype))
        v = lib.tensor(3.0, dtype=getattr(lib, dtype)) if value == "tensor" else value
        res.append((lib.index_fill(t, dim, lib.tensor(idx), v), t.index_fill(dim, lib.tensor(idx), v),
                    t.clone().index_fill_(dim, lib.tensor(idx), v)))
    _same(res[0], res[1])


def test_index_fill_grads_and_errors():
    idx = [1, 3]
    _grads_match(lambda lib, x, v: lib.index_fill(x, 1, lib.tensor(idx), v), RNG.standard_normal((3, 4)),
                 np.float64(2.0))
    assert gradgradcheck(lambda x, v: ag.index_fill(x, 1, ag.tensor(idx), v) ** 2,
                         (ag.tensor(A34, requires_grad=True), ag.tensor(1.5, dtype=ag.float64, requires_grad=True)))
    z = np.zeros((3, 2), np.float32)
    for fn in (lambda lib, x: lib.index_fill(x, 1, lib.tensor([2]), 2),
               lambda lib, x: lib.index_fill(x, 1, lib.tensor([1], dtype=lib.int32), 2),
               lambda lib, x: lib.index_fill(x, 1, lib.tensor([[1]]), 2),
               lambda lib, x: lib.index_fill(x, 1, lib.tensor([1]), lib.tensor([2.0]))):
        _raises_like(fn, z)


# ---- scatter_reduce -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_scatter_reduce_values(reduce, include_self, dtype):
    x = np.round(RNG.standard_normal((3, 4)) * 4)
    s = np.round(RNG.standard_normal((4, 5)) * 4)
    idx = RNG.integers(0, 3, (3, 4))     # smaller than src: only its corner takes part
    res = []
    for lib in (ag, torch):
        dt = getattr(lib, dtype)
        t, st, it = lib.tensor(x, dtype=dt), lib.tensor(s, dtype=dt), lib.tensor(idx)
        res.append((t.scatter_reduce(0, it, st, reduce, include_self=include_self),
                    lib.scatter_reduce(t, 0, it, st, reduce, include_self=include_self),
                    t.clone().scatter_reduce_(0, it, st, reduce, include_self=include_self)))
    _same(res[0], res[1], 1e-12 if dtype != "float32" else 1e-5, 1e-6)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_grads(reduce, include_self):
    # ties (for amax/amin) and zeros (for prod: one and two zeros per position) on purpose
    x = np.array([[1.0, 0.0, 2.0, -1.0], [3.0, 2.0, 0.0, 1.0], [0.5, 4.0, 1.0, 2.0]])
    # src of the index's shape: torch's backward fails for a larger src (its forward is checked above)
    s = np.array([[3.0, 0.0, 2.0, -1.0], [1.0, 5.0, 0.0, 2.0], [3.0, 2.0, 1.0, 0.5]])
    idx = np.array([[0, 0, 1, 2], [0, 1, 1, 2], [2, 0, 1, 0]])
    fn = lambda lib, x, s: lib.scatter_reduce(x, 0, lib.tensor(idx), s, reduce, include_self=include_self)  # noqa: E731
    _grads_match(fn, x, s)
    smooth_x = RNG.uniform(0.5, 2.0, x.shape)
    smooth_s = RNG.uniform(0.5, 2.0, s.shape)
    inputs = (ag.tensor(smooth_x, requires_grad=True), ag.tensor(smooth_s, requires_grad=True))
    f = lambda a, b: fn(ag, a, b)  # noqa: E731
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)
    if reduce == "prod":
        _grads_match(lambda lib, x, s: lib.autograd.grad(fn(lib, x, s).sum(), (x, s), create_graph=True), x, s)


def test_scatter_reduce_errors():
    x = np.zeros((1,))
    for reduce in ("max", "min"):   # the old names still work
        ours, ref, _, _ = _both(lambda lib, x, s: x.scatter_reduce(0, lib.tensor([0, 0], dtype=lib.int32), s, reduce),
                                np.array([5.0, 0.0]), np.array([1.0, 7.0]))
        _same(ours, ref)
    for fn in (lambda lib, x: x.scatter_reduce(0, lib.tensor([0]), lib.tensor([1.0], dtype=lib.float64), "foo"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([0], dtype=lib.int16),
                                               lib.tensor([1.0], dtype=lib.float64), "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([[0]]), lib.tensor([1.0], dtype=lib.float64), "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([0, 0]), lib.tensor([1.0], dtype=lib.float64), "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([0]), 2.0, "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([3]), lib.tensor([1.0], dtype=lib.float64), "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([-1]), lib.tensor([1.0], dtype=lib.float64), "sum"),
               lambda lib, x: x.scatter_reduce(0, lib.tensor([0]), lib.tensor([1.0]), "sum"),
               ):
        _raises_like(fn, x)


# ---- fill_diagonal_, unique_consecutive -----------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (7, 3), (3, 7), (3, 3, 3), (1, 5)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_(shape, wrap):
    x = RNG.standard_normal(shape)
    res = []
    for lib in (ag, torch):
        t = lib.tensor(x)
        view = t[:]
        r = t.fill_diagonal_(-2.0, wrap=wrap)
        assert r is t
        tv = lib.tensor(x).transpose(0, 1).fill_diagonal_(5)   # torch's wrap fails on strided input
        res.append((t, view, tv))
    _same(res[0], res[1])
    _raises_like(lambda lib, x: x.fill_diagonal_(1), np.zeros((2, 3, 4)))
    _raises_like(lambda lib, x: x.fill_diagonal_(1), np.zeros(3))


def test_fill_diagonal_grad_and_leaf_error():
    res = []
    for lib in (ag, torch):
        leaf = lib.tensor(A34, requires_grad=True)
        y = leaf * 2
        y.fill_diagonal_(1.0)
        (y * y).sum().backward()
        res.append((y, leaf.grad))
        with pytest.raises(RuntimeError, match="leaf Variable"):
            leaf.fill_diagonal_(0.0)
    _same(res[0], res[1])


@pytest.mark.parametrize("data", [[1, 1, 2, 2, 3, 1, 1], [], 3, [[1, 1], [1, 1], [2, 3]], [[1.0, np.nan, np.nan]]])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_unique_consecutive(data, dim):
    arr = np.array(data)
    if dim is not None and arr.ndim == 0:
        return
    for inv in (False, True):
        for cnt in (False, True):
            ours, ref, _, _ = _both(lambda lib, x: lib.unique_consecutive(x, return_inverse=inv, return_counts=cnt,
                                                                          dim=dim), arr)
            _same(ours, ref)
    _same(ag.tensor(arr).unique_consecutive(dim=dim), torch.tensor(arr).unique_consecutive(dim=dim))
    _raises_like(lambda lib, x: lib.unique_consecutive(x, dim=2), np.ones((1, 1)))


# ---- vander, combinations -------------------------------------------------------------------------------
@pytest.mark.parametrize("N", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
def test_vander(N, increasing, dtype):
    x = np.array([1.5, -2.0, 0.0, 3.0]) if dtype != "bool" else np.array([True, False, True])
    ours, ref, _, _ = _both(lambda lib, x: lib.vander(x.to(getattr(lib, dtype)), N, increasing), x)
    _same(ours, ref, 0, 1e-6 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("increasing", [False, True])
def test_vander_grads(increasing):
    # torch 2.13's own vander fails in backward (it writes into a tensor its graph saved), so the reference is
    # the same matrix as explicit powers, x[:, None] ** k
    x = np.array([1.5, -2.0, 0.0, 3.0])
    a = ag.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    powers = torch.arange(4.0, dtype=torch.float64)
    ref = t[:, None] ** (powers if increasing else powers.flip(0))
    ours = ag.vander(a, 4, increasing)
    _same(ours, ref, 1e-15, 1e-15)
    up = RNG.standard_normal((4, 4))
    (ours * ag.tensor(up)).sum().backward()
    (ref * torch.tensor(up)).sum().backward()
    _same(a.grad, t.grad, 1e-12, 1e-12)
    assert gradcheck(lambda x: ag.vander(x, 3, increasing), (ag.tensor(x, requires_grad=True),))


def test_vander_second_order_and_errors():
    x = ag.tensor([1.5, -0.5, 2.0], dtype=ag.float64, requires_grad=True)
    assert gradgradcheck(lambda x: ag.vander(x, 4), (x,))
    _raises_like(lambda lib, x: lib.vander(x), np.ones((2, 2)))
    _raises_like(lambda lib, x: lib.vander(x, -1), np.ones(2))


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_combinations(r, with_replacement, n):
    x = RNG.standard_normal(n)
    ours, ref, _, _ = _both(lambda lib, x: lib.combinations(x, r, with_replacement), x)
    _same(ours, ref)
    if n and r and ours.numel():
        _grads_match(lambda lib, x: lib.combinations(x, r, with_replacement), x)


def test_combinations_errors():
    _raises_like(lambda lib, x: lib.combinations(x), np.ones((2, 2)))
    _raises_like(lambda lib, x: lib.combinations(x, -1), np.ones(2))


# ---- tensordot, addr ----------------------------------------------------------------------
@pytest.mark.parametrize("ashape,bshape,dims", [((2, 3), (3, 4), 1), ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (4, 5), 0),
                                                ((2, 3, 4), (4, 2, 3), ([0, 1], [1, 2])),
                                                ((3, 4), (4, 3), [[1, 0], [0, 1]]),
                                                ((2, 3), (3,), "tensor")])
def test_tensordot(ashape, bshape, dims):
    a, b = RNG.standard_normal(ashape), RNG.standard_normal(bshape)
    ours, ref, _, _ = _both(lambda lib, a, b: lib.tensordot(a, b, lib.tensor(1) if dims == "tensor" else dims), a, b)
    _same(ours, ref, 1e-12, 1e-12)
    _grads_match(lambda lib, a, b: lib.tensordot(a, b, lib.tensor(1) if dims == "tensor" else dims), a, b)


def test_tensordot_errors():
    for fn, bshape in ((lambda lib, a, b: lib.tensordot(a, b, 1), (4, 3)),
                       (lambda lib, a, b: lib.tensordot(a, b, -1), (3, 3)),
                       (lambda lib, a, b: lib.tensordot(a, b, ([1], [0, 1])), (3, 3)),
                       (lambda lib, a, b: lib.tensordot(a, b.double(), 1), (3, 3)),
                       (lambda lib, a, b: lib.tensordot(a, b, 3), (3, 3))):
        _raises_like(fn, np.ones((2, 3), np.float32), np.ones(bshape, np.float32))


@pytest.mark.parametrize("ishape", [(2, 3), (3,), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1), (2, 0)])
def test_addr(ishape, beta, alpha):
    inp = RNG.standard_normal(ishape)
    if beta == 0:
        inp = np.full(ishape, np.nan)   # beta=0 ignores input, NaNs included
    v1, v2 = RNG.standard_normal(2), RNG.standard_normal(3)
    f = lambda lib, i, a, b: lib.addr(i, a, b, beta=beta, alpha=alpha)  # noqa: E731
    ours, ref, _, _ = _both(f, inp, v1, v2)
    _same(ours, ref, 1e-15, 1e-15)
    _same(ag.tensor(inp).addr(ag.tensor(v1), ag.tensor(v2), beta=beta, alpha=alpha),
          torch.tensor(inp).addr(torch.tensor(v1), torch.tensor(v2), beta=beta, alpha=alpha))
    if beta != 0:
        _grads_match(f, inp, v1, v2)
    if ishape == (2, 3):
        t, a = torch.tensor(inp), ag.tensor(inp)
        t.addr_(torch.tensor(v1), torch.tensor(v2), beta=beta, alpha=alpha)
        a.addr_(ag.tensor(v1), ag.tensor(v2), beta=beta, alpha=alpha)
        _same(a, t, 1e-15, 1e-15)


def test_addr_dtypes_and_errors():
    for dts in (("float32", "float32", "float64"), ("int64", "int64", "int64"), ("bool", "bool", "bool"),
                ("int32", "float32", "int64")):
        ours, ref, _, _ = _both(lambda lib, i, a, b: lib.addr(*(t.to(getattr(lib, d)) for t, d in zip((i, a, b), dts))),
                                np.ones((2, 3)), np.array([1.0, 0.0]), np.array([2.0, 0.0, 1.0]))
        _same(ours, ref)
    ours, ref, _, _ = _both(lambda lib, i, a, b: lib.addr(i, a, b, beta=True, alpha=False), np.array([[True, False]]),
                            np.array([True]), np.array([False, True]))
    _same(ours, ref)
    assert gradgradcheck(lambda i, a, b: ag.addr(i, a, b, beta=0.5, alpha=2.0) ** 2,
                         tuple(ag.tensor(RNG.standard_normal(s), requires_grad=True) for s in ((2, 3), (2,), (3,))))
    for fn in (lambda lib, i, a, b: lib.addr(i.long(), a.long(), b.long(), beta=0.5),
               lambda lib, i, a, b: lib.addr(i, a.reshape(2, 1), b),
               lambda lib, i, a, b: lib.addr(i, a, b.reshape(1, 3)),
               lambda lib, i, a, b: lib.addr(i.repeat(2, 1)[:3], a, b)):
        _raises_like(fn, np.ones((2, 3), np.float32), np.ones(2, np.float32), np.ones(3, np.float32))


# ---- cdist ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
@pytest.mark.parametrize("rows", [(4, 3), (30, 2)])
def test_cdist_values_and_grads(p, mode, rows):
    # repeated rows and equal coordinates: zero distances and zero differences, where the gradient is special
    x1 = np.round(RNG.standard_normal((2, rows[0], 3)), 1)
    x2 = np.round(RNG.standard_normal((rows[1], 3)), 1)
    x2[0] = x1[0, 0]
    x2[1, 0] = x1[1, 1, 0]
    f = lambda lib, a, b: lib.cdist(a, b, p=p, compute_mode=mode)  # noqa: E731
    ours, ref, _, _ = _both(f, x1, x2)
    _same(ours, ref, 1e-12, 1e-12)
    o32, r32, _, _ = _both(lambda lib, a, b: f(lib, a.float(), b.float()), x1, x2)
    _same(o32, r32, 1e-5, 1e-5)
    uses_mm = p == 2.0 and (mode == "use_mm_for_euclid_dist" or (mode.endswith("necessary") and max(rows) > 25))
    if not uses_mm:    # the matrix-product form has an infinite slope at zero distances (in torch too)
        _grads_match(f, x1, x2, atol=1e-9)
    else:
        x1[:, :, 0] += 10.0   # away from zero distances
        _grads_match(f, x1, x2, atol=1e-9)


def test_cdist_shapes_second_order_and_errors():
    _same(ag.cdist(ag.ones(2, 3, 2), ag.ones(4, 1, 3, 2)), torch.cdist(torch.ones(2, 3, 2), torch.ones(4, 1, 3, 2)))
    _same(ag.cdist(ag.ones(0, 2), ag.ones(3, 2)), torch.cdist(torch.ones(0, 2), torch.ones(3, 2)))
    a = ag.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    b = ag.tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    for p in (1.5, 2.0, 3.0):
        assert gradcheck(lambda a, b: ag.cdist(a, b, p), (a, b))
        assert gradgradcheck(lambda a, b: ag.cdist(a, b, p), (a, b))
    assert gradgradcheck(lambda a, b: ag.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), (a, b))
    for fn, s1, s2 in ((lambda lib, a, b: lib.cdist(a.long(), b), (3, 2), (3, 2)),
                       (lambda lib, a, b: lib.cdist(a, b), (3,), (3, 2)),
                       (lambda lib, a, b: lib.cdist(a, b), (3, 2), (3, 4)),
                       (lambda lib, a, b: lib.cdist(a, b, p=-1), (3, 2), (3, 2)),
                       (lambda lib, a, b: lib.cdist(a, b, compute_mode="x"), (3, 2), (3, 2)),
                       (lambda lib, a, b: lib.cdist(a, b.double()), (3, 2), (3, 2))):
        _raises_like(fn, np.ones(s1, np.float32), np.ones(s2, np.float32))


# ---- edge cases: the same values (dtype, shape) or the same error as torch ------------------------------
EDGE_CASES = {
    "scatter_reduce_0d": lambda l: l.zeros(()).scatter_reduce(0, l.tensor([0]), l.tensor([5.0]), "amax",
                                                              include_self=False),
    "scatter_reduce_0d_index": lambda l: l.zeros(()).scatter_reduce(0, l.tensor(0), l.tensor(5.0), "sum"),
    "scatter_reduce_empty": lambda l: l.zeros(3).scatter_reduce(0, l.tensor([], dtype=l.int64), l.tensor([]), "prod"),
    "scatter_reduce_bool": lambda l: l.tensor([True, False]).scatter_reduce(0, l.tensor([1, 1]),
                                                                           l.tensor([True, True]), "amax",
                                                                           include_self=False),
    "scatter_reduce_int32_mean": lambda l: l.tensor([1, -2], dtype=l.int32).scatter_reduce(
        0, l.tensor([1, 1]), l.tensor([3, -4], dtype=l.int32), "mean"),
    "scatter_reduce_nan": lambda l: l.tensor([1.0, 2]).scatter_reduce(0, l.tensor([1, 1]),
                                                                     l.tensor([float("nan"), 4]), "amax").isnan(),
    "scatter_reduce_half_mean": lambda l: l.tensor([1.0, 2], dtype=l.float16).scatter_reduce(
        0, l.tensor([1, 1]), l.tensor([3.3, 4.1], dtype=l.float16), "mean"),
    "scatter_reduce_src_number": lambda l: l.zeros(2).scatter_reduce(0, l.tensor([0]), 2.0, "sum"),
    "unique_consecutive_empty_dim": lambda l: l.unique_consecutive(l.zeros(2, 0, 3), dim=1, return_counts=True,
                                                                   return_inverse=True),
    "unique_consecutive_empty_other": lambda l: l.unique_consecutive(l.zeros(0, 3), dim=1),
    "unique_consecutive_0d": lambda l: l.unique_consecutive(l.tensor(3), return_counts=True, return_inverse=True),
    "tensor_split_bool": lambda l: l.tensor_split(l.arange(6).reshape(2, 3).bool(), 2, 1),
    "take_empty": lambda l: l.take(l.zeros(0), l.tensor([], dtype=l.int64)),
    "take_0d": lambda l: l.take(l.tensor(3.0), l.tensor(0)),
    "broadcast_to_write": lambda l: l.broadcast_to(l.ones(3), (2, 3)).add_(1),
    "broadcast_tensors_one": lambda l: l.broadcast_tensors(l.ones(3)),
    "broadcast_tensors_none": lambda l: l.broadcast_tensors(),
    "broadcast_shapes_none": lambda l: l.broadcast_shapes(),
    "hstack_promotes": lambda l: l.hstack([l.ones(2, dtype=l.int64), l.ones(2, dtype=l.bool)]),
    "vstack_1d_2d": lambda l: l.vstack([l.ones(2, 3), l.ones(3)]),
    "combinations_int": lambda l: l.combinations(l.tensor([1, 2, 3]), 2),
    "combinations_bool": lambda l: l.combinations(l.tensor([True, False]), 2, True),
    "vander_half": lambda l: l.vander(l.tensor([1.0, 2, 3], dtype=l.float16), 3),
    "index_copy_int": lambda l: l.index_copy(l.zeros(3, dtype=l.int64), 0, l.tensor([0]), l.tensor([5])),
    "index_fill_bool": lambda l: l.index_fill(l.zeros(3, dtype=l.bool), 0, l.tensor([0]), True),
    "index_fill_0d": lambda l: l.index_fill(l.zeros(()), 0, l.tensor(0), 2.0),
    "index_fill_tensor_value_cast": lambda l: l.zeros(2, 2).index_fill_(0, l.tensor([0]),
                                                                        l.tensor(1.5, dtype=l.float64)),
    "tensordot_int": lambda l: l.tensordot(l.ones(2, 3, dtype=l.int64), l.ones(3, 2, dtype=l.int64), 1),
    "tensordot_broadcast_a": lambda l: l.tensordot(l.ones(2, 1), l.arange(6.0).reshape(3, 2), ([1], [0])),
    "tensordot_broadcast_b": lambda l: l.tensordot(l.arange(6.0).reshape(2, 3), l.ones(1, 2), ([1], [0])),
    "tensordot_out": lambda l: l.tensordot(l.ones(2, 3), l.ones(3, 2), dims=([1], [0]), out=l.zeros(2, 2)),
    "cdist_half_direct": lambda l: l.cdist(l.ones(2, 3, dtype=l.float16), l.ones(2, 3, dtype=l.float16),
                                           compute_mode="donot_use_mm_for_euclid_dist"),
    "cdist_bf16_direct": lambda l: l.cdist(l.ones(2, 3, dtype=l.bfloat16), l.ones(2, 3, dtype=l.bfloat16), p=1),
    "cdist_half_mm": lambda l: l.cdist(l.ones(2, 3, dtype=l.float16), l.zeros(2, 3, dtype=l.float16),
                                       compute_mode="use_mm_for_euclid_dist"),
    "cdist_no_columns": lambda l: l.cdist(l.ones(2, 0), l.ones(3, 0)),
    "addr_half": lambda l: l.addr(l.zeros(2, 3, dtype=l.float16), l.tensor([1.0, 2.0], dtype=l.float16),
                                  l.tensor([1.5, 2.5, 3.0], dtype=l.float16), beta=0.5, alpha=1.5),
    "fill_diagonal_bool_value": lambda l: l.zeros(3, 3).fill_diagonal_(True),
    "fill_diagonal_int": lambda l: l.zeros(3, 3, dtype=l.int64).fill_diagonal_(2.7),
    "fill_diagonal_empty": lambda l: l.zeros(0, 0).fill_diagonal_(1),
    "narrow_copy_negative_start": lambda l: l.narrow_copy(l.arange(5), 0, -2, 2),
    "atleast_none": lambda l: l.atleast_2d(),
    "split_with_sizes_fn": lambda l: l.split_with_sizes(l.arange(5), [2, 3]),
    "take_along_dim_bad_dim": lambda l: l.take_along_dim(l.ones(2, 3), l.tensor([[0]]), 2),
    "rot90_int": lambda l: l.rot90(l.arange(6).reshape(2, 3), -1, (1, 0)),
    "hsplit_zero_sections": lambda l: l.hsplit(l.ones(2, 4), 0),
    "broadcast_to_varargs": lambda l: l.ones(3).broadcast_to(2, 3),
    "broadcast_to_keyword": lambda l: l.broadcast_to(l.ones(3), size=l.Size([2, 3])),
    "cdist_mode_none": lambda l: l.cdist(l.ones(2, 2), l.ones(2, 2), 2, None),
    "cdist_positional": lambda l: l.cdist(l.ones(2, 2), l.zeros(3, 2), 1.0, "use_mm_for_euclid_dist"),
    "vander_keywords": lambda l: l.vander(l.tensor([2.0, 3.0]), N=3, increasing=True),
    "atleast_three": lambda l: l.atleast_1d(l.tensor(1.0), l.ones(2), l.ones(2, 2)),
    "take_along_dim_method": lambda l: l.ones(3).take_along_dim(l.tensor([0])),
}


def _outcome(fn, lib):
    try:
        res = fn(lib)
    except Exception as e:  # noqa: BLE001 - the error itself is compared
        return ("error", type(e).__name__, str(e))
    return res


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, ours = _outcome(EDGE_CASES[name], torch), _outcome(EDGE_CASES[name], ag)
    if isinstance(ref, tuple) and ref and ref[0] == "error":
        assert ours == ref
    elif isinstance(ref, (tuple, list)):
        _same(list(ours), list(ref))
    else:
        _same(ours, ref)


# ---- in-place forms through views, and second order of the compositions ---------------------------------
INPLACE = {
    "index_copy_": lambda lib, v, w: v.index_copy_(1, lib.tensor([2, 0]), w[:, :2]),
    "index_fill_": lambda lib, v, w: v.index_fill_(1, lib.tensor([1]), w[0, 0]),
    "scatter_reduce_": lambda lib, v, w: v.scatter_reduce_(1, lib.tensor([[0, 0, 2], [1, 1, 1], [2, 0, 1]]), w,
                                                           "prod", include_self=True),
    "scatter_reduce_amax": lambda lib, v, w: v.scatter_reduce_(0, lib.tensor([[0, 2, 2], [1, 1, 1]]), w[:2],
                                                               "amax", include_self=False),
    "addr_": lambda lib, v, w: v.addr_(w[0], w[1], beta=0.5, alpha=2.0),
    "fill_diagonal_": lambda lib, v, w: v.fill_diagonal_(3.0),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_through_a_view_as_torch(name):
    x, w = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((3, 3))
    res = []
    for lib in (ag, torch):
        leaf = lib.tensor(x, requires_grad=True)
        wl = lib.tensor(w, requires_grad=True)
        base = leaf * 1.5
        view = base[1]
        before = view._version
        out = INPLACE[name](lib, view, wl * 1)
        assert out is view and view._version > before
        (base * base).sum().backward()
        res.append((base, leaf.grad, wl.grad if wl.grad is not None else lib.zeros_like(wl)))
        with pytest.raises(RuntimeError, match="leaf Variable"):
            INPLACE[name](lib, lib.tensor(x[0], requires_grad=True), wl)
    _same(res[0], res[1], 1e-12, 1e-12)


SECOND_ORDER = {
    "broadcast_to": (lambda x: ag.broadcast_to(x, (2, 3, 4)) ** 2, [(3, 1)]),
    "hstack": (lambda a, b: ag.hstack([a, b]) ** 2, [(2, 3), (2, 1)]),
    "column_stack": (lambda a, b: ag.column_stack([a, b]) ** 2, [(3,), (3, 2)]),
    "tensor_split": (lambda x: [p ** 2 for p in ag.tensor_split(x, [1, 3], 1)], [(2, 5)]),
    "rot90": (lambda x: ag.rot90(x, 3, (1, 0)) ** 2, [(2, 3)]),
    "take_along_dim": (lambda x: ag.take_along_dim(x, ag.tensor([[0, 2, 2]]), 1) ** 2, [(2, 3)]),
    "combinations": (lambda x: ag.combinations(x, 2, True) ** 2, [(3,)]),
    "tensordot": (lambda a, b: ag.tensordot(a, b, ([0, 2], [1, 0])) ** 2, [(2, 3, 4), (4, 2)]),
    "cdist_inf": (lambda a, b: ag.cdist(a, b, float("inf")) ** 2, [(3, 2), (2, 2)]),
    "cdist_half_p": (lambda a, b: ag.cdist(a, b, 0.5), [(3, 2), (2, 2)]),
    "scatter_reduce_mean": (lambda x, s: ag.scatter_reduce(x, 1, ag.tensor([[0, 0], [1, 0]]), s, "mean") ** 2,
                            [(2, 2), (2, 2)]),
    "scatter_reduce_amin": (lambda x, s: ag.scatter_reduce(x, 1, ag.tensor([[0, 0], [1, 0]]), s, "amin") ** 2,
                            [(2, 2), (2, 2)]),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes = SECOND_ORDER[name]
    inputs = tuple(ag.tensor(RNG.uniform(0.5, 2.0, s) * RNG.choice([-1, 1], s), requires_grad=True) for s in shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)
