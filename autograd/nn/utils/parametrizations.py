"""``torch.nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm`` as parametrizations (the forms
torch recommends), with torch's ``state_dict`` keys (``parametrizations.weight.original0`` / ``original1``;
``parametrizations.weight.original`` with ``parametrizations.weight.0._u`` / ``_v``)."""
from __future__ import annotations

from ...grad_mode import no_grad
from ...ops import linalg as _linalg
from ...ops import reduction as _red
from ...ops import shape as _shape
from ...tensor import Tensor
from ..module import Module
from . import parametrize
from .weight_norm import _weight_norm, norm_except_dim


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """``weight = g * v / ||v||`` (norm over every dimension but ``dim``; ``None``: the whole tensor), with
    ``g`` and ``v`` as ``parametrizations.<name>.original0`` / ``original1``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _normalize(x, eps):
    return x / _red.norm(x, 2).clamp(min=eps)


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        nd = weight.ndim
        if dim >= nd or dim < -nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{nd}, {nd - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + nd
        self.eps = eps
        if nd > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            with no_grad():
                self.register_buffer("_u", _normalize(mat.new_empty(h).normal_(0, 1), eps))
                self.register_buffer("_v", _normalize(mat.new_empty(w).normal_(0, 1), eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = _shape.permute(weight, (self.dim, *[d for d in range(weight.ndim) if d != self.dim]))
        return _shape.reshape(weight, (weight.shape[0], -1))

    def _power_method(self, mat, n):
        with no_grad():   # the buffers are updated in place, as torch's ``normalize(..., out=)``
            for _ in range(n):
                self._u.copy_(_normalize(_linalg.mv(mat, self._v), self.eps))
                self._v.copy_(_normalize(_linalg.mv(_shape.t(mat), self._u), self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return _normalize(weight, self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        return weight / _linalg.dot(u, _linalg.mv(mat, v))

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``weight / sigma(weight)`` with ``sigma`` estimated by power iteration (one step per training
    forward); the buffers ``_u`` / ``_v`` live in the parametrization module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
