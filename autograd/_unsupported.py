"""The error for a torch name that ``autograd`` does not provide, so a ported script stops at the name it
needs (``AttributeError: autograd does not support torch.compile``) instead of somewhere deep inside."""
from __future__ import annotations


def module_getattr(module_name, torch_name):
    """A module ``__getattr__`` for ``module_name`` that stands for ``torch_name`` (``"torch.cuda"``)."""
    def __getattr__(name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module '{module_name}' has no attribute '{name}'")
        raise AttributeError(f"module '{module_name}' has no attribute '{name}': autograd does not support "
                             f"{torch_name}.{name} (see the 'Porting a torch script' page of the docs)")

    return __getattr__
