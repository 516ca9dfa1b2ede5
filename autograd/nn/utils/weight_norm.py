"""``nn.utils.weight_norm`` / ``remove_weight_norm`` and ``nn.utils.spectral_norm`` / ``remove_spectral_norm``:
torch's hook forms. The parameter ``name`` is replaced by others (``name_g`` and ``name_v``; ``name_orig`` and
the power-iteration buffers ``name_u``, ``name_v``) and recomputed from them by a forward pre-hook, so
``state_dict`` keys, initial values and gradients are torch's (the random ``u``, ``v`` of spectral norm are our
generator's: load torch's buffers to compare)."""
from __future__ import annotations

import warnings

from ...grad_mode import no_grad
from ...ops import linalg as _linalg
from ...ops import reduction as _red
from ...ops import shape as _shape
from ..parameter import Parameter


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002
    """The ``pow``-norm over every dimension but ``dim``, kept as size-1 dimensions; ``dim=-1``: the norm of
    the whole tensor (a 0-d tensor), as torch's ``norm_except_dim``."""
    if dim == -1:
        return _red.norm(v, pow)
    d = dim % v.ndim
    others = tuple(i for i in range(v.ndim) if i != d)
    return _red.norm(v, pow, others, keepdim=True) if others else v.abs()


def _weight_norm(v, g, dim):
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    def __init__(self, name, dim):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module, name, dim):
        warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                      "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, fn.dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """``weight = g * v / ||v||`` with the norm over every dimension but ``dim`` (``None``: the whole tensor)."""
    WeightNorm.apply(module, name, dim)
    return module


def _remove_hook(module, name, kind, what):
    """Undo the ``kind`` reparametrization of ``module.<name>`` (torch's ValueError when there is none)."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")


def remove_weight_norm(module, name="weight"):
    return _remove_hook(module, name, WeightNorm, "weight_norm")


# ---- spectral norm ----------------------------------------------------------------------------------------
def _normalize(x, eps):
    return x / _red.norm(x, 2).clamp(min=eps)


class SpectralNorm:
    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight):
        w = weight
        if self.dim != 0:
            w = _shape.permute(w, (self.dim, *[d for d in range(w.ndim) if d != self.dim]))
        return _shape.reshape(w, (w.shape[0], -1))

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():   # the buffers are updated in place, as torch's ``normalize(..., out=)``
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(_linalg.mv(_shape.t(mat), u), self.eps))
                    u.copy_(_normalize(_linalg.mv(mat, v), self.eps))
                u, v = u.clone(), v.clone()
        sigma = _linalg.dot(u, _linalg.mv(mat, v))
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            mat = fn.reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = _normalize(weight.new_empty(h).normal_(0, 1), fn.eps)
            v = _normalize(weight.new_empty(w).normal_(0, 1), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``weight / sigma(weight)``, ``sigma`` estimated by power iteration (one step per training forward)."""
    if dim is None:
        dim = 1 if type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    return _remove_hook(module, name, SpectralNorm, "spectral_norm")
