"""``torch.backends``: the flags scripts set are accepted and kept, so a torch script runs unchanged.

None of them changes how we compute: our CPU path is NumPy/BLAS and our GPU path CuPy, with no cuDNN
autotuner, no TF32 matmuls and no MPS/MKLDNN backends (see the 'Porting a torch script' docs page).
"""
from . import cpu, cuda, cudnn, mkldnn, mps, openmp  # noqa: F401
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.backends")
