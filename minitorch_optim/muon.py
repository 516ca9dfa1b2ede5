"""Muon: momentum whose update is orthogonalised by a Newton–Schulz iteration (2-D params only)."""
from __future__ import annotations

import math

import numpy as np

from autograd import Tensor

from ._core.fma import axpy_, lerp_, torch_scalar
from ._core.ops import ops_for
from .optimizer import GroupwiseOptimizer

DEFAULT_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
DEFAULT_NS_STEPS = 5
DEFAULT_EPS = 1e-7
ADJUST_LR_FNS = ("original", "match_rms_adamw", "spectral_unclamped")


def round_bf16(xp, x):
    """float32 array -> float32 array holding the nearest bfloat16 values (ties to even).

    torch runs the Newton–Schulz iteration in bfloat16; NumPy has no bfloat16, so each result is
    computed in float32 (matmuls accumulate in float32, as torch's CPU bf16 kernels do) and rounded.
    """
    x = xp.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    keep_lsb = (bits >> np.uint32(16)) & np.uint32(1)
    rounded = ((bits + np.uint32(0x7FFF) + keep_lsb) & np.uint32(0xFFFF0000)).view(np.float32)
    return xp.where(xp.isnan(x), x, rounded)


def newton_schulz(xp, g, coefficients, steps, eps):
    """Approximately orthogonalise the 2-D array ``g`` (its singular values pushed towards ~1).

    Quintic iteration X <- a X + (b A + c A^2) X with A = X X^T, on the wide orientation of ``g`` after
    scaling it to unit Frobenius norm; arithmetic is bfloat16 as in torch. Returns float32 values.
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (float(v) for v in coefficients)
    bf = lambda v: round_bf16(xp, v)  # noqa: E731
    x = bf(g.astype(np.float32))
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = xp.ascontiguousarray(x.T)
    norm = bf(xp.sqrt(xp.sum(x * x, dtype=np.float32)))
    norm = xp.maximum(norm, bf(xp.asarray(eps, dtype=np.float32)))
    x = bf(x / norm)
    for _ in range(steps):
        gram = bf(x @ x.T)
        poly = bf(b * gram + c * (gram @ gram))
        x = bf(a * x + poly @ x)
    return x.T if tall else x


def adjusted_lr(lr, adjust_lr_fn, shape):
    """Learning rate scaled for the matrix shape: sqrt(max(1, A/B)) ("original"), 0.2 sqrt(max(A, B))
    ("match_rms_adamw") or sqrt(A/B) ("spectral_unclamped", torch 2.14.1)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    elif adjust_lr_fn == "spectral_unclamped":
        ratio = math.sqrt(rows / cols)
    else:
        ratio = 1.0
    return lr * ratio


def muon_update(p, g, buf, *, lr, weight_decay, momentum, nesterov, ns_coefficients, ns_steps, eps,
                adjust_lr_fn):
    """One Muon step on arrays: momentum, (Nesterov) look-ahead, orthogonalisation, decoupled decay."""
    o = ops_for(p)
    lerp_(buf, g, 1 - momentum)
    if nesterov:
        direction = lerp_(g.copy(), buf, momentum)
    else:
        direction = buf
    ortho = newton_schulz(o.xp, direction, ns_coefficients, ns_steps, eps)
    step_lr = adjusted_lr(lr, adjust_lr_fn, p.shape)
    o.mul_(p, 1 - lr * weight_decay)
    axpy_(p, -step_lr, ortho)


class Muon(GroupwiseOptimizer):
    r"""Muon (Jordan et al.) as in ``torch.optim.Muon`` (2.13; 2.14.1 for "spectral_unclamped"), for 2-D parameters.

    .. math::
        B_t = \mu B_{t-1} + (1-\mu) g_t,\quad \tilde B_t = \text{lerp}(g_t, B_t, \mu)\ \text{(nesterov) or } B_t,
        \quad \theta_t = (1-\gamma\lambda)\theta_{t-1} - \gamma' \,\mathrm{NS}_k(\tilde B_t)

    ``NS_k`` is ``ns_steps`` quintic Newton–Schulz iterations with ``ns_coefficients`` (computed in
    bfloat16 like torch), ``\gamma'`` is ``lr`` adjusted for the shape by ``adjust_lr_fn``
    ("original": ``sqrt(max(1, rows/cols))``, "match_rms_adamw": ``0.2 sqrt(max(rows, cols))``,
    "spectral_unclamped": ``sqrt(rows/cols)``, as torch 2.14.1).
    Use another optimizer (e.g. AdamW) for biases, embeddings and other non-matrix parameters.
    State: ``momentum_buffer``.

    Paths: for-loop only (the orthogonalisation is a per-matrix iteration; there is no foreach/fused).
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=DEFAULT_NS_COEFFICIENTS, eps=DEFAULT_EPS, ns_steps=DEFAULT_NS_STEPS,
                 adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def _state_spec(self, param, group):
        return {"momentum_buffer": "param"}

    def _step_group(self, group):
        active = []
        for p in self._dense_grad_params(group):
            st = self.state[p]
            if "momentum_buffer" not in st:
                st["momentum_buffer"] = Tensor._wrap(p.xp.zeros_like(p.grad._data))
            active.append((p, st["momentum_buffer"]))
        lr = torch_scalar(group["lr"])
        for p, buf in active:
            g = p.grad._data
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            muon_update(p._data, g, buf._data, lr=lr, weight_decay=group["weight_decay"],
                        momentum=group["momentum"], nesterov=group["nesterov"],
                        ns_coefficients=group["ns_coefficients"], ns_steps=group["ns_steps"], eps=group["eps"],
                        adjust_lr_fn=group["adjust_lr_fn"])

