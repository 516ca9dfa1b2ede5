"""Mixed precision as torch.amp: ``autocast`` regions and the ``GradScaler`` that keeps float16
gradients from underflowing."""
from .autocast_mode import (autocast, clear_autocast_cache, get_autocast_dtype, is_autocast_available,  # noqa: F401
                            is_autocast_cache_enabled, is_autocast_enabled, set_autocast_cache_enabled,
                            set_autocast_dtype, set_autocast_enabled)
from .grad_scaler import GradScaler, OptState  # noqa: F401


def install(package_namespace):
    """Route the public entry points (Tensor methods, ``autograd.*`` given as the package's namespace,
    ``autograd.nn.functional.*``, ``autograd.linalg.*``) through autocast's wrappers; ``autograd`` calls
    this once, at the end of its import."""
    from .. import linalg
    from ..nn import functional
    from ..tensor import Tensor
    from .autocast_mode import install as _install

    _install([Tensor, package_namespace, vars(functional), vars(linalg)])
