"""Every float op of the layer that torch has, on float16 and bfloat16 inputs (non-contiguous ones and
reductions over dims other than the last among them), forward and backward, against torch 2.13 on the CPU:
bitwise equal, or, for the few ops whose torch kernel we do not reproduce exactly, within the number of ulps
recorded below with the reason. The cases live in tests/_low_precision_cases.py (scripts/audit_low_precision.py
lists the same comparison as a table)."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _low_precision_cases import CASES, compare  # noqa: E402

# name: ({dtype: most ulps in any output or gradient}, why it is not bitwise)
KNOWN = {
    "matmul_noncontig": ({"float16": 1, "bfloat16": 0}, "float32 GEMM accumulation order (BLAS vs torch)"),
    "layer_norm_nowb": ({"float16": 1, "bfloat16": 0}, "one element: a float32 order of operations not pinned down"),
    "sdpa": ({"float16": 250, "bfloat16": 1098}, "torch's CPU flash-attention kernel (blocked online softmax)"),
    # 1 to 3 elements in ~10^4: float32 sums in an order we do not reproduce everywhere (ulps count relative
    # to the value, so a result near zero after cancellation shows several)
    "layer_norm_768": ({"float16": 1, "bfloat16": 2}, "one element: a float32 order of operations not pinned down"),
    "batch_norm_big": ({"float16": 1, "bfloat16": 0}, "one element of the input gradient"),
    "conv2d_big": ({"float16": 8, "bfloat16": 1}, "float32 GEMM accumulation order (BLAS vs torch's)"),
    "linear_768": ({"float16": 4, "bfloat16": 1}, "float32 GEMM accumulation order over 768 terms (BLAS vs torch's)"),
    "gelu_big": ({"float16": 0, "bfloat16": 12939},
                 "torch sends bfloat16 GELU to oneDNN, whose erf is its own (3% of elements, near-zero results)"),
}


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_torch(name, dt):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        rows = compare(name, dt)
    assert all(n >= 0 for _, n, _, _ in rows), rows       # same shapes, same gradients present
    worst = max((u for _, n, _, u in rows), default=0)
    allowed = KNOWN.get(name, ({}, ""))[0].get(dt, 0)
    assert worst <= allowed, [r for r in rows if r[1]]


def test_known_differences_are_still_real():
    """A bound above stays only while the op still differs: once it is bitwise, it moves out of KNOWN."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        stale = [(n, dt) for n, (bounds, _) in KNOWN.items() for dt, u in bounds.items()
                 if u and not any(c for _, c, _, _ in compare(n, dt))]
    assert not stale


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_dropout_scaling_matches_torch(dt, p):
    """The masks are random on both sides: where both keep an element, output and gradient are bitwise equal
    (torch rounds 1 / (1 - p) to the dtype, then multiplies)."""
    import autograd as ag
    import autograd.nn.functional as F

    ours_dt, theirs_dt = {"float16": (ag.float16, torch.float16), "bfloat16": (ag.bfloat16, torch.bfloat16)}[dt]
    x = np.random.default_rng(2).standard_normal(4096).astype(np.float32)
    a = ag.tensor(x).to(ours_dt).requires_grad_()
    t = torch.tensor(x).to(theirs_dt).requires_grad_()
    ya, yt = F.dropout(a, p), torch.nn.functional.dropout(t, p)
    g = np.random.default_rng(3).standard_normal(4096).astype(np.float32)
    ya.backward(ag.tensor(g).to(ours_dt))
    yt.backward(torch.tensor(g).to(theirs_dt))
    oa, ot = ya.detach().to(ag.float32).numpy(), yt.detach().float().numpy()
    both = (oa != 0) & (ot != 0) & (x != 0)
    assert both.sum() > 500
    np.testing.assert_array_equal(oa[both], ot[both])
    np.testing.assert_array_equal(a.grad.to(ag.float32).numpy()[both], t.grad.float().numpy()[both])
