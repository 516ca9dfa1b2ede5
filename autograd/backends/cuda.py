"""``torch.backends.cuda`` flags: accepted and kept. ``matmul.allow_tf32`` and the reduced-precision
reduction flags mean nothing here (CuPy's cuBLAS calls use full fp32); the scaled-dot-product-attention
backend switches are accepted as well (there is one implementation)."""
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.backends.cuda")


class _Matmul:
    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True
        self.fp32_precision = "ieee"


matmul = _Matmul()


class _CuFFTPlanCache:
    max_size = 0
    size = 0

    def clear(self):
        pass


cufft_plan_cache = _CuFFTPlanCache()

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built():
    from ..backend import cuda_is_available

    return cuda_is_available()


def flash_sdp_enabled():
    return _sdp["flash"]


def enable_flash_sdp(enabled):
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled():
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled):
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled():
    return _sdp["math"]


def enable_math_sdp(enabled):
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled():
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled):
    _sdp["cudnn"] = bool(enabled)


def preferred_linalg_library(backend=None):
    return "default"
