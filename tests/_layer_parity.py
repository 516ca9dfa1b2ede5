"""Shared checks for layers against torch: state_dict layout, strict loading, forward values, every gradient."""
import numpy as np

import autograd as ag


def load_torch_state(ours, theirs):
    """Load ``theirs``' (torch) state_dict into ``ours`` with strict=True, after checking keys and shapes."""
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in sd.items()}
    ours.load_state_dict({k: ag.tensor(v.detach().cpu().numpy()) for k, v in sd.items()}, strict=True)


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [t for x in r for t in _flat(x)]
    return [] if r is None else [r]


def assert_matches_torch(ours, theirs, arrays, call_ours=None, call_theirs=None, rtol=1e-7, atol=1e-9, seed=0):
    """Same outputs and same gradients (inputs and parameters) for a random cotangent on every output, in eval
    mode."""
    import torch

    load_torch_state(ours, theirs)
    for m in (ours, theirs):   # dropout off on both sides: random masks cannot be compared
        if hasattr(m, "eval"):
            m.eval()
    call_ours = call_ours or (lambda m, *xs: m(*xs))
    call_theirs = call_theirs or (lambda m, *xs: m(*xs))
    xo = [ag.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays]
    xt = [torch.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays]
    ro, rt = _flat(call_ours(ours, *xo)), _flat(call_theirs(theirs, *xt))
    assert len(ro) == len(rt)
    rng = np.random.default_rng(seed)
    lo, lt = 0, 0
    for a, b in zip(ro, rt):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
        if b.requires_grad:
            w = rng.standard_normal(tuple(b.shape))
            lo = lo + (a * ag.tensor(w, dtype=a.dtype)).sum()
            lt = lt + (b * torch.tensor(w, dtype=b.dtype)).sum()
    lo.backward()
    lt.backward()
    for a, b in zip(xo, xt):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    for (n, p), (n2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == n2
        if q.grad is None:
            assert p.grad is None or not np.any(p.grad.numpy()), n
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol, err_msg=n)
