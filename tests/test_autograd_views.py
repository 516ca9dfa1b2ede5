"""Views, in-place ops and version counters against torch (float64): values, gradients of every leaf, errors."""
import numpy as np
import pytest

import autograd as A

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

LIBS = (torch, A)


def _run(fn):
    """``fn(lib)`` for torch and for us: the arrays it returns, or the error class it raised."""
    out = []
    for lib in LIBS:
        try:
            res = fn(lib)
            out.append([np.asarray(r.detach().numpy() if hasattr(r, "detach") else r, dtype=np.float64)
                        if r is not None else None for r in res])
        except (RuntimeError, ValueError, IndexError) as e:
            out.append(type(e).__name__ + ": " + str(e).split("\n")[0][:60])
    return out


def _same(fn):
    t, o = _run(fn)
    if isinstance(t, str) or isinstance(o, str):
        assert isinstance(t, str) and isinstance(o, str), (t, o)
        assert t.split(":")[0] == o.split(":")[0], (t, o)
        return t
    assert len(t) == len(o)
    for a, b in zip(t, o):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    return None


def _leaf(lib, a):
    return lib.tensor(np.asarray(a, dtype=np.float64), dtype=lib.float64, requires_grad=True)


VIEWS = {
    "view": lambda b: b.view(2, 3)[1],
    "reshape": lambda b: b.reshape(3, 2)[:, 1],
    "t": lambda b: b.view(2, 3).t()[1:],
    "transpose": lambda b: b.view(2, 3).transpose(0, 1),
    "permute": lambda b: b.view(1, 2, 3).permute(2, 0, 1)[1],
    "unsqueeze": lambda b: b.unsqueeze(0)[:, 1:4],
    "squeeze": lambda b: b.view(1, 6).squeeze(0)[2:5],
    "flatten": lambda b: b.view(2, 3).flatten()[1:5],
    "index_int": lambda b: b[4],
    "index_slice": lambda b: b[1:6:2],
    "index_none": lambda b: b[None, 2:4],
    "ellipsis": lambda b: b.view(2, 3)[..., 0],
    "view_of_view": lambda b: b[1:][0],
    "narrow": lambda b: b.narrow(0, 1, 3),
    "diagonal": lambda b: b.view(2, 3).diagonal(),
    "movedim": lambda b: b.view(2, 3).movedim(0, 1)[0],
    "unflatten": lambda b: b.unflatten(0, (3, 2))[1],
}

INPLACE = {
    "mul_": lambda v, u: v.mul_(u),
    "add_alpha": lambda v, u: v.add_(u, alpha=-2.0),
    "div_": lambda v, u: v.div_(u * u + 1),
    "exp_": lambda v, u: v.exp_(),
    "sigmoid_": lambda v, u: v.sigmoid_(),
    "copy_": lambda v, u: v.copy_(u * 3),
    "fill_": lambda v, u: v.fill_(1.5),
    "zero_": lambda v, u: v.zero_(),
    "setitem": lambda v, u: v.__setitem__(..., u.sin()),
    "clamp_": lambda v, u: v.clamp_(-0.5, 0.5),
    "addcmul_": lambda v, u: v.addcmul_(u, u, value=0.5),
    "lerp_": lambda v, u: v.lerp_(u, 0.3),
    "pow_": lambda v, u: v.pow_(2),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_inplace_on_a_view_of_a_non_leaf_reaches_the_base(view):
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal(6), rng.standard_normal(6)

    def fn(lib):
        x, w = _leaf(lib, x0), _leaf(lib, w0)
        b = x * w
        v = VIEWS[view](b)
        u = _leaf(lib, np.linspace(-1, 1, v.numel()).reshape(v.shape))
        v.mul_(u).add_(w.sum())
        loss = (b * b).sum() + (v * v * 3).sum()
        loss.backward()
        return [b, v, x.grad, w.grad, u.grad]

    _same(fn)


def test_issue_example_and_chained_index_assignment():
    def fn(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        b = x * 1
        b[0:2].mul_(10)
        (b * b).sum().backward()
        y = x * 2
        y[1:][0] = 0
        y.sum().backward()
        return [b, y, x.grad]

    _same(fn)


def test_out_into_a_view_and_base_changed_after_a_view():
    def fn(lib):
        z = lib.zeros(4, dtype=lib.float64)
        lib.mul(lib.ones(2, dtype=lib.float64), 3, out=z[1:3])
        x = _leaf(lib, [1.0, 2.0, 3.0])
        b = x * 1
        v = b[1:]
        e = b.expand(2, 3)
        b.mul_(x)  # base changed in place after the views were taken
        ((v * v).sum() + (e * 2).sum()).backward()
        return [z, v, x.grad]

    _same(fn)
    # out= refuses to record, as torch
    _same(lambda lib: [lib.mul(_leaf(lib, [1.0, 2.0]), 2, out=lib.zeros(2, dtype=lib.float64))])


@pytest.mark.parametrize("case", ["chunk", "unbind", "split", "leaf_view", "leaf", "expand", "nograd_view",
                                  "negative_step", "view_strides"])
def test_inplace_errors_as_torch(case):
    def fn(lib):
        x = _leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
        b = x * 1
        if case == "chunk":
            b.chunk(2)[0].mul_(2)
        elif case == "unbind":
            b.unbind(1)[1].add_(1)
        elif case == "split":
            b.split(1)[0].exp_()
        elif case == "leaf_view":
            x[0].mul_(2)
        elif case == "leaf":
            x.add_(1)
        elif case == "expand":
            b[0].expand(3, 2).add_(1)
        elif case == "nograd_view":
            with lib.no_grad():
                v = b[0]
            v.mul_(2)
        elif case == "negative_step":
            b[::-1]
        elif case == "view_strides":
            b.t().view(4)
        return [b]

    assert _same(fn) is not None  # both raise, same class
    # nothing was written by the failed op
    x = _leaf(A, [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError):
        x[0].mul_(2)
    np.testing.assert_array_equal(x.detach().numpy(), [[1, 2], [3, 4]])


def test_multi_output_views_may_be_written_without_grad():
    b = A.zeros(4)
    for c in b.chunk(2):
        c.add_(1)
    b.unbind()[3].fill_(5)
    np.testing.assert_array_equal(b.numpy(), [1, 1, 1, 5])


# ---- version counters -------------------------------------------------------------------------------------
def test_version_counter_is_shared_by_views_and_aliases():
    x = A.ones(4)
    v, d, data = x[1:], x.detach(), x.data
    assert x._version == 0
    v.add_(1)
    d.mul_(2)
    data[0] = 3
    with A.no_grad():
        x.sub_(1)
    assert x._version == v._version == d._version == 3  # .data has its own counter, as torch
    assert v._base is x and d._base is None
    t = torch.ones(4)
    tv, td, tdata = t[1:], t.detach(), t.data
    tv.add_(1)
    td.mul_(2)
    tdata[0] = 3
    with torch.no_grad():
        t.sub_(1)
    assert t._version == 3


@pytest.mark.parametrize("how", ["no_grad", "detach", "view_no_grad", "output"])
def test_saved_tensor_changed_before_backward_raises(how):
    def fn(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        w = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64)
        h = x * 1
        y = (x * w).sum() + h.sin().sum()
        if how == "no_grad":
            with lib.no_grad():
                w.mul_(2)
        elif how == "detach":
            h.detach().add_(1)
        elif how == "view_no_grad":
            with lib.no_grad():
                h[1:].zero_()
        elif how == "output":
            y.mul_(2)  # y = sum(...) is not saved by anything: fine
            e = x.exp()
            y = y + e.sum()
            e.add_(1)  # exp saved its output
        y.backward()
        return [x.grad]

    msg = _same(fn)
    assert msg is not None and msg.startswith("RuntimeError: one of the variables needed for gradient")
    x = _leaf(A, [1.0, 2.0, 3.0])
    w = A.tensor([0.5, 1.0, 2.0], dtype=A.float64)
    y = (x * w).sum()
    with A.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match=r"\[torch.DoubleTensor \[3\]\] is at version 1; expected version 0 "
                                           r"instead. Hint:"):
        y.backward()


def test_unsaved_tensor_changed_before_backward_is_fine():
    def fn(lib):
        x = _leaf(lib, [1.0, 2.0, 3.0])
        w = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64)
        y = (x + w).sum() + (x * 2).relu().sum()
        with lib.no_grad():
            w.mul_(2)
        y.backward()
        return [x.grad]

    assert _same(fn) is None


@pytest.mark.parametrize("path", [{"foreach": False}, {"foreach": True}, {}])
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_optimizer_step_between_forward_and_backward_raises(name, path):
    """The GAN / two-optimizer pattern: D steps, then G backpropagates through D's old graph."""
    import autograd.nn as nn
    import minitorch_optim as optim

    A.manual_seed(0)
    G, D = nn.Linear(3, 3), nn.Linear(3, 1)
    opt_d = getattr(optim, name)(D.parameters(), lr=0.1, **path)
    fake = G(A.randn(4, 3))
    loss_d = D(fake.detach()).mean()
    loss_g = -D(fake).mean()
    opt_d.zero_grad()
    loss_d.backward()
    before = [p._version for p in D.parameters()]
    opt_d.step()
    assert [p._version for p in D.parameters()] == [v + 1 for v in before]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss_g.backward()
    # the usual order is fine
    fake = G(A.randn(4, 3))
    opt_d.zero_grad()
    D(fake).mean().backward()
    opt_d.step()


# ---- hypothesis: views x in-place ops x later uses ----------------------------------------------------------
@settings(deadline=None, max_examples=60)
@given(view=st.sampled_from(sorted(VIEWS)), view2=st.sampled_from(sorted(VIEWS)), op=st.sampled_from(sorted(INPLACE)),
       before=st.sampled_from(["none", "view2", "saved", "detached"]),
       after=st.sampled_from(["base", "view", "view2", "new_view", "all"]), no_grad_op=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_views_inplace_later_uses_match_torch(view, view2, op, before, after, no_grad_op, seed):
    rng = np.random.default_rng(seed)
    x0, w0 = rng.standard_normal(6), rng.standard_normal(6)
    wt = rng.standard_normal(6)

    def fn(lib):
        x, w = _leaf(lib, x0), _leaf(lib, w0)
        b = x * w
        v2 = VIEWS[view2](b) if before == "view2" else None
        pre = b.tanh() if before == "saved" else None  # tanh saves its output, not b: fine in torch
        pre2 = (b * w).sum() if before == "saved" else None  # mul saves b: an error if b changes
        v = VIEWS[view](b)
        u = _leaf(lib, np.linspace(-0.9, 0.8, v.numel()).reshape(v.shape))
        if no_grad_op:
            with lib.no_grad():
                INPLACE[op](v, u.detach())
        else:
            INPLACE[op](v, u)
        if before == "detached":
            b.detach()[0] = 0.25
        uses = {"base": lambda: (b * lib.tensor(wt, dtype=lib.float64)).sum(),
                "view": lambda: (v * v).sum(),
                "view2": lambda: (VIEWS[view2](b) if v2 is None else v2).exp().sum(),
                "new_view": lambda: VIEWS[view2](b).sum() * 2}
        names = list(uses) if after == "all" else [after]
        loss = sum(uses[n]() for n in names)
        if pre is not None:
            loss = loss + pre.sum() + pre2
        loss.backward()
        return [b, v, x.grad, w.grad, u.grad]

    _same(fn)
