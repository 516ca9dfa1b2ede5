"""The public way to write an elementwise optimizer that gets every path (docs/src/extending.md).

Subclass ``ElementwiseOptimizer`` and give three methods (four with extra scalar state):

* ``state_buffers(group) -> {name: fill}``: the parameter-shaped state, e.g. ``{"exp_avg": 0.0}``;
* ``scalar_state(group) -> {name: initial}``: per-parameter 0-d state (default ``{"step": 0.0}``);
* ``step_scalars(group, lr, state) -> (scalars, new_state)``: the per-step scalars (Python floats, e.g.
  bias corrections) from the current scalar state, and the advanced scalar state;
* ``update(o, p, g, state, group, scalars)``: the elementwise update, written with the op vocabulary
  ``o`` (``OPS``), in place on ``p`` and ``state[name]``.

The for-loop, foreach, fused CPU (Numba), fused CUDA and ``differentiable=True`` paths all run or are
generated from ``update``: the fused kernels are traced from it (flags and other Python branches on
scalars are resolved per step; branching on array values must use ``o.where``).
"""
from __future__ import annotations

from ._core.elementwise import ElementwiseOptimizer

OPS = ("mul_", "div_", "add_", "sub_", "addcmul_", "addcdiv_", "lerp_", "copy_", "maximum_", "clamp_", "sqrt_",
       "add_scalar_", "neg", "add", "sub", "mul", "div", "sqrt", "abs", "sign", "maximum", "clone", "where", "gt",
       "lt")

__all__ = ["ElementwiseOptimizer", "OPS"]
