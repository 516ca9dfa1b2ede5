"""Module backward hooks (register_full_backward_hook / register_full_backward_pre_hook) against torch 2.13:
what the hooks see, replaced gradients, tensor and non-tensor arguments, tuple outputs, no argument that
requires a gradient, ordering (prepend) and removal, nested modules, and a second derivative through them."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")


class TwoIn:
    """A module of two tensor arguments and a number, with two outputs (made in each library)."""

    @staticmethod
    def make(lib):
        nn = lib.nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(3, 3)

            def forward(self, x, y, scale):
                h = self.lin(x) * scale
                return h + y, (h * y).sum(1)

        m = M()
        with lib.no_grad():
            m.lin.weight.copy_(lib.tensor(np.arange(9.0).reshape(3, 3) / 10, dtype=lib.float32))
            m.lin.bias.copy_(lib.tensor([0.1, -0.2, 0.3]))
        return m


def _rounded(gs):
    return tuple(None if g is None else np.round(g.detach().numpy().astype(np.float64), 4).tolist() for g in gs)


def _run(lib, y_requires_grad=True, x_requires_grad=True, replace=False, pre_replace=False):
    m = TwoIn.make(lib)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(("hook", _rounded(gi), _rounded(go))))
    if replace:
        m.register_full_backward_hook(lambda mod, gi, go: tuple(None if g is None else g * 2 for g in gi))
    if pre_replace:
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3, go[1]))
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", _rounded(go))))
    x = lib.tensor([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]], requires_grad=x_requires_grad)
    y = lib.tensor([[0.5, 1.0, -1.5], [2.0, 0.1, 0.4]], requires_grad=y_requires_grad)
    a, b = m(x, y, 1.5)
    ((a ** 2).sum() + b.sum()).backward()
    grads = [None if t.grad is None else t.grad.numpy().round(4).tolist() for t in (x, y, m.lin.weight)]
    return seen, grads


@pytest.mark.parametrize("kw", [{}, {"y_requires_grad": False}, {"replace": True}, {"pre_replace": True},
                                {"replace": True, "pre_replace": True}])
def test_hooks_see_and_replace_what_torchs_do(kw):
    assert _run(ag, **kw) == _run(torch, **kw)


def test_no_argument_requiring_grad_calls_the_hook_with_none_warns_and_refuses_a_gradient():
    with pytest.warns(UserWarning, match="no inputs require gradients") as ours:
        got = _run(ag, x_requires_grad=False, y_requires_grad=False)
    with pytest.warns(UserWarning, match="no inputs require gradients") as theirs:
        want = _run(torch, x_requires_grad=False, y_requires_grad=False)
    assert got == want and str(ours[0].message) == str(theirs[0].message)
    for lib in (ag, torch):
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (lib.ones(1, 2),))
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"), \
                pytest.warns(UserWarning):
            m(lib.ones(1, 2)).sum().backward()


def test_wrong_number_of_gradients_is_refused_as_torch():
    for lib in (ag, torch):
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="returned an invalid number of grad_input, got 2, but expected 1"):
            m(lib.ones(1, 2, requires_grad=True)).sum().backward()
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        with pytest.raises(RuntimeError, match="returned an invalid number of grad_output, got 2, but expected 1"):
            m(lib.ones(1, 2, requires_grad=True)).sum().backward()


def test_order_prepend_remove_and_nested_modules():
    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1))
        with lib.no_grad():
            for p in net.parameters():
                p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(p.shape), dtype=lib.float32))
        order = []
        net[0].register_full_backward_hook(lambda m, gi, go: order.append("first0"))
        net[2].register_full_backward_hook(lambda m, gi, go: order.append("last2"))
        net[2].register_full_backward_hook(lambda m, gi, go: order.append("prepended2"), prepend=True)
        h = net.register_full_backward_hook(lambda m, gi, go: order.append("outer"))
        x = lib.tensor([[0.5, -1.0]], requires_grad=True)
        net(x).sum().backward()
        h.remove()
        net(x).sum().backward()
        return order, x.grad.numpy()

    (order, grad), (torch_order, torch_grad) = run(ag), run(torch)
    assert order == torch_order
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-6)


def test_second_derivative_flows_through_the_hooks():
    def run(lib):
        m = lib.nn.Linear(2, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[0.5, -1.0], [2.0, 0.25]]))
            m.bias.zero_()
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
        x = lib.tensor([[1.0, 2.0]], requires_grad=True)
        (g,) = lib.autograd.grad((m(x) ** 3).sum(), x, create_graph=True)
        g.sum().backward()
        return g.detach().numpy().round(5).tolist(), x.grad.numpy().round(5).tolist()

    assert run(ag) == run(torch)


def test_hooks_do_not_fire_without_grad_mode_and_leave_values_alone():
    for lib in (ag, torch):
        m = lib.nn.Linear(2, 2)
        calls = []
        m.register_full_backward_hook(lambda mod, gi, go: calls.append(1))
        x = lib.ones(1, 2, requires_grad=True)
        with lib.no_grad():
            y = m(x)
        assert not y.requires_grad and calls == []
        np.testing.assert_array_equal(m(x).detach().numpy(), y.numpy())
