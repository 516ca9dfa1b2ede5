"""``torch.func``: ``functional_call`` and the function transforms (``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``linearize``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap``, ``stack_module_state``), built on this
library's reverse mode (see :mod:`autograd.func_transforms` for the differentiating transforms and
:mod:`autograd.func_vmap` for ``vmap`` and ``stack_module_state``). Other torch.func names fail by name."""
from ._unsupported import module_getattr as _module_getattr
from .func_transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from .func_vmap import stack_module_state, vmap
from .nn.utils.stateless import functional_call

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "vmap", "stack_module_state"]

__getattr__ = _module_getattr(__name__, "torch.func")
