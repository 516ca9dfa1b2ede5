"""Scalar optimizer state (``step``) is kept in torch's dtype: the default dtype, and float32 for a
``fused=True`` group (torch's fused kernels count in float32), on every path that creates it."""
import pytest

import autograd as A
import minitorch_optim as optim

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adagrad"])
@pytest.mark.parametrize("fused", [None, False, True])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_step_dtype_as_torch(name, fused, default):
    torch.set_default_dtype(getattr(torch, default))
    A.set_default_dtype(getattr(A, default))
    try:
        ours, theirs = A.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
        kw = {} if fused is None else {"fused": fused}
        opts = getattr(optim, name)([ours], **kw), getattr(torch.optim, name)([theirs], **kw)
        for p, opt in zip((ours, theirs), opts):
            (p * p).sum().backward()
            opt.step()
        assert str(opts[0].state[ours]["step"].dtype) == str(opts[1].state[theirs]["step"].dtype).split(".")[1]
        assert float(opts[0].state[ours]["step"]) == 1.0
    finally:
        torch.set_default_dtype(torch.float32)
        A.set_default_dtype(A.float32)
