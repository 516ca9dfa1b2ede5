"""Autocast's dtype for the 3-D convolutions and pools, grid sampling, the newer losses, the linear-algebra
factorisations (``autograd.*`` and ``autograd.linalg.*``), torch's GEMM composites and the modules built on
them, as torch's CPU autocast gives it."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as AF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

_RNG = np.random.default_rng(0)
_M = _RNG.standard_normal((4, 4))
_M = (_M @ _M.T + 4 * np.eye(4)).astype(np.float32)
_V = _RNG.standard_normal((6, 5)).astype(np.float32)
_X = _RNG.standard_normal((2, 3, 4, 4, 4)).astype(np.float32)
_W = _RNG.standard_normal((2, 3, 2, 2, 2)).astype(np.float32)
_LP = _RNG.standard_normal((5, 2, 4)).astype(np.float32)

CASES = {   # each from float32 inputs (the ``lower`` ops) or bfloat16 inputs (the float32 ops)
    "conv3d": lambda T, F: F.conv3d(T.tensor(_X), T.tensor(_W)),
    "conv_transpose3d": lambda T, F: F.conv_transpose3d(T.tensor(_X), T.tensor(_W).transpose(0, 1)),
    "prelu": lambda T, F: F.prelu(T.tensor(_V), T.tensor([0.25])),
    "tensordot": lambda T, F: T.tensordot(T.tensor(_V), T.tensor(_V), ([0], [0])),
    "linalg.multi_dot": lambda T, F: T.linalg.multi_dot([T.tensor(_M), T.tensor(_M)]),
    "linalg.matrix_power": lambda T, F: T.linalg.matrix_power(T.tensor(_M), 3),
    "linalg.vecdot": lambda T, F: T.linalg.vecdot(T.tensor(_V), T.tensor(_V)),
    "affine_grid": lambda T, F: F.affine_grid(T.tensor(np.ones((2, 2, 3), np.float32)), (2, 3, 4, 4),
                                              align_corners=False),
    "max_pool3d": lambda T, F: F.max_pool3d(T.tensor(_X).bfloat16(), 2),
    "avg_pool3d": lambda T, F: F.avg_pool3d(T.tensor(_X).bfloat16(), 2),
    "adaptive_avg_pool3d": lambda T, F: F.adaptive_avg_pool3d(T.tensor(_X).bfloat16(), 2),
    "grid_sample": lambda T, F: F.grid_sample(T.tensor(_X[:, :, 0]).bfloat16(),
                                              T.tensor(np.zeros((2, 3, 3, 2), np.float32)).bfloat16(),
                                              align_corners=False),
    "inverse": lambda T, F: T.inverse(T.tensor(_M).bfloat16()),
    "linalg.inv": lambda T, F: T.linalg.inv(T.tensor(_M).bfloat16()),
    "linalg.solve": lambda T, F: T.linalg.solve(T.tensor(_M).bfloat16(), T.tensor(_M).bfloat16()),
    "linalg.svd": lambda T, F: T.linalg.svd(T.tensor(_M).bfloat16())[1],
    "linalg.eigh": lambda T, F: T.linalg.eigh(T.tensor(_M).bfloat16())[0],
    "cdist": lambda T, F: T.cdist(T.tensor(_V).bfloat16(), T.tensor(_V).bfloat16()),
    "quantile": lambda T, F: T.quantile(T.tensor(_V).bfloat16(), 0.3),
    "trace": lambda T, F: T.trace(T.tensor(_M).bfloat16()),
    "ctc_loss": lambda T, F: F.ctc_loss(T.tensor(_LP).log_softmax(2).bfloat16(), T.tensor([[1, 2], [1, 1]]),
                                        [5, 5], [2, 2]),
    "poisson_nll_loss": lambda T, F: F.poisson_nll_loss(T.tensor(_V).bfloat16(), T.tensor(_V).abs().bfloat16()),
    "soft_margin_loss": lambda T, F: F.soft_margin_loss(T.tensor(_V).bfloat16(), T.tensor(_V).sign().bfloat16()),
    "multi_margin_loss": lambda T, F: F.multi_margin_loss(T.tensor(_V).bfloat16(), T.tensor([0, 1, 2, 3, 4, 0])),
    # the modules reach the same policies (they call their function through nn.functional)
    "nn.Conv3d": lambda T, F: T.nn.Conv3d(3, 2, 2)(T.tensor(_X)),
    "nn.ConvTranspose3d": lambda T, F: T.nn.ConvTranspose3d(3, 2, 2)(T.tensor(_X)),
    "nn.PReLU": lambda T, F: T.nn.PReLU()(T.tensor(_V)),
    "nn.MaxPool3d": lambda T, F: T.nn.MaxPool3d(2)(T.tensor(_X).bfloat16()),
    "nn.AdaptiveMaxPool3d": lambda T, F: T.nn.AdaptiveMaxPool3d(2)(T.tensor(_X).bfloat16()),
    "nn.FractionalMaxPool2d": lambda T, F: T.nn.FractionalMaxPool2d(2, output_size=2)(T.tensor(_X[:, :, 0]).bfloat16()),
    "nn.CTCLoss": lambda T, F: T.nn.CTCLoss()(T.tensor(_LP).log_softmax(2).bfloat16(), T.tensor([[1, 2], [1, 1]]),
                                              [5, 5], [2, 2]),
    "nn.PoissonNLLLoss": lambda T, F: T.nn.PoissonNLLLoss()(T.tensor(_V).bfloat16(), T.tensor(_V).abs().bfloat16()),
    "nn.MultiMarginLoss": lambda T, F: T.nn.MultiMarginLoss()(T.tensor(_V).bfloat16(), T.tensor([0, 1, 2, 3, 4, 0])),
}


@pytest.mark.parametrize("name", CASES)
def test_autocast_cpu_dtype_equals_torch(name):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = CASES[name](torch, TF)
    with ag.autocast("cpu", dtype=ag.bfloat16):
        got = CASES[name](ag, AF)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
