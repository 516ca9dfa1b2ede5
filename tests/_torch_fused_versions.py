"""Where torch 2.14.1 changed its fused CPU kernels on float16/bfloat16 parameters, which we follow.

torch 2.13's fused SGD stepped only the scalar tail (the last ``numel % 32`` elements) of a 16-bit
parameter; 2.14.1 steps them all.

torch 2.13's fused Adagrad took ``clr``/``eps``/``weight_decay`` in the parameter's type in its 16-element
vector body and in float32 in its scalar tail (the last ``numel % 16`` elements); torch 2.14.1 keeps them
in float32 throughout, as we do. Each element's trajectory is its own, so against an installed 2.13 the
tail elements stay comparable bit for bit over any number of steps, and against 2.14.1 all of them.
"""
import numpy as np

VECTOR = 16


def torch_keeps_float32_scalars(torch):
    """Whether the installed torch has 2.14.1's fused kernels (float32 scalars, every element stepped)."""
    major, minor = (int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    return (major, minor) >= (2, 14)


def comparable(torch, shape):
    """A flat boolean mask of the elements the installed torch steps with float32 scalars."""
    n = int(np.prod(shape))
    mask = np.ones(n, bool)
    if not torch_keeps_float32_scalars(torch):
        mask[:n - n % VECTOR] = False
    return mask
