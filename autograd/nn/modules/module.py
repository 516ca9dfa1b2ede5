"""``torch.nn.modules.module``: Module and the hooks registered for every module at once."""
from ..module import Module  # noqa: F401
from ..module_hooks import (RemovableHandle, register_module_buffer_registration_hook,  # noqa: F401
                            register_module_forward_hook, register_module_forward_pre_hook,
                            register_module_module_registration_hook, register_module_parameter_registration_hook)

__all__ = ["Module", "RemovableHandle", "register_module_buffer_registration_hook", "register_module_forward_hook",
           "register_module_forward_pre_hook", "register_module_module_registration_hook",
           "register_module_parameter_registration_hook"]
