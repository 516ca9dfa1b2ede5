"""The op vocabulary the backward rules are written in, declared once.

Every backward rule is ``rule(o, grad, *saved)`` (see :mod:`autograd.graph.nodes`). Arithmetic is written
with Python operators, which arrays and Tensors both have; everything else goes through ``o``. The table
below gives each name two implementations: on raw NumPy/CuPy arrays (``ARRAYS``, a first-order backward, as
fast as hand-written array code) and on Tensors (``TENSORS``, ``create_graph=True``: each call is an op of
this library, recorded with its own backward rule, so gradients of gradients follow). Adding a name is one
row. Arguments named ``shape``, ``axes``, ``key`` and ``mask`` are never differentiated: plain Python values
or raw arrays in both modes.
"""
from __future__ import annotations

import types

import numpy as np

from .. import backend
from ..dtypes import LOW_PRECISION
from ..tensor import Tensor
from . import elementwise as ew
from . import cascade_sum as _cascade, einsum as _einsum, linalg, nn_conv, nn_pool, reduction, selection, shape
from .basic import unbroadcast
from . import nn_act as _nn_act, nn_norm as _nn_norm, nn_rnn as _nn_rnn
from . import special_kernels as _sk, special_ops as _sp
from . import linalg_solvers as _la
from . import complex_ops as _cx


def _xp(a):
    return np if type(a) is np.ndarray else backend.array_module(a)


def _fit_array(g, shape_, dtype):
    """``g`` summed over broadcast dimensions down to ``shape_`` and cast to ``dtype``."""
    if not hasattr(g, "shape") or isinstance(g, np.generic):
        g = np.asarray(g, dtype=dtype)
    if g.shape != shape_:
        g = unbroadcast(g, shape_)
        if g.shape != shape_:   # a gradient narrower than its input (a number, a broadcast row)
            g = _xp(g).broadcast_to(g, shape_)
    if g.dtype.kind == "c" and dtype.kind != "c":    # a real input of a complex op: the real part (torch)
        g = g.real
    return g if g.dtype == dtype else g.astype(dtype)


def _fit_tensor(g, shape_, dtype):
    if not isinstance(g, Tensor):
        g = Tensor._wrap(np.asarray(g, dtype=dtype))
    if g.shape != shape_:
        g = _sum_to_tensor(g, shape_)
        if g.shape != shape_:
            g = shape.expand(g, shape_)
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = _cx.real(g)
    return g if g.dtype == dtype else g.to(dtype)


def _sum_to_tensor(g, shape_):
    lead = g.ndim - len(shape_)
    if lead > 0:
        g = reduction.sum(g, tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape_) if s == 1 and g.shape[i] != 1)
    return reduction.sum(g, axes, keepdim=True) if axes else g


def _accumulate(reduce, low):
    """A NumPy/CuPy reduction that, on float16/bfloat16, sums in float32 as torch does (``low``)."""
    def run(x, axes, keepdim=False):
        dt = x.dtype
        if dt.itemsize == 2 and dt in LOW_PRECISION:
            return low(x, axes, keepdim)
        return getattr(x, reduce)(axis=axes, keepdims=keepdim)
    return run


def _low_cr(f, x):
    """``f(x)``; on float16/bfloat16 NumPy arrays its correctly rounded float32 value (from float64) rounded to
    the dtype, as torch's vectorised float32 functions give it (NumPy's float32 ones are off more often)."""
    if type(x) is np.ndarray and x.dtype.itemsize == 2 and x.dtype in LOW_PRECISION:
        with np.errstate(all="ignore"):
            return f(x.astype(np.float64)).astype(np.float32).astype(x.dtype)
    return getattr(_xp(x), f.__name__)(x)


def _where_array(mask, a, b):
    like = a if hasattr(a, "shape") else b
    return _xp(like).where(mask, a, b)


def _to_tensor(mask):
    return mask if isinstance(mask, Tensor) else Tensor._wrap(mask)


ARRAY_CONJ = _cx.conj_array
# name: (on arrays, on Tensors)
TABLE = {
    # bookkeeping
    "fit": (_fit_array, _fit_tensor),
    "clone": (lambda x: _xp(x).array(x, copy=True), shape.clone),
    "add": (lambda a, b: a + b, ew.add),
    "cast": (lambda x, dtype: x if x.dtype == dtype else x.astype(dtype), lambda x, dtype: x.to(dtype)),
    "to_device": (backend.to_device, lambda x, device: x.to(device)),
    "zeros_like": (lambda x: _xp(x).zeros_like(x), lambda x: x.new_zeros(x.shape)),
    # complex numbers (identities on real values)
    "conj": (_cx.conj_array, _cx.conj_any),
    "real": (_cx.real_array, _cx.real),
    "imag": (_cx.imag_array, _cx.imag_tensor),
    "view_as_real": (_cx.view_as_real_array, _cx.view_as_real),
    "view_as_complex": (_cx.view_as_complex_array, _cx.view_as_complex),
    # elementwise
    "exp": (lambda x: _low_cr(np.exp, x), ew.exp),
    "log": (lambda x: _low_cr(np.log, x), ew.log),
    "sqrt": (lambda x: _xp(x).sqrt(x), ew.sqrt),
    "sin": (lambda x: _xp(x).sin(x), ew.sin),
    "cos": (lambda x: _xp(x).cos(x), ew.cos),
    "cosh": (lambda x: _xp(x).cosh(x), ew.cosh),
    "sinh": (lambda x: _xp(x).sinh(x), ew.sinh),
    "tanh": (lambda x: _xp(x).tanh(x), ew.tanh),
    "sigmoid": (ew.sigmoid_array, ew.sigmoid),
    "abs": (lambda x: _xp(x).abs(x), ew.abs_),
    "sign": (lambda x: ew.torch_sign(_xp(x), x), ew.sign),
    "pow": (lambda x, p: x ** p, ew.pow_),
    "floor_divide": (lambda a, b: _xp(a).floor_divide(a, b), lambda a, b: selection.floor_divide(a, b)),
    "maximum": (lambda a, b: _xp(a).maximum(a, b), ew.maximum),
    "minimum": (lambda a, b: _xp(a).minimum(a, b), ew.minimum),
    "where": (_where_array, lambda mask, a, b: ew.where(_to_tensor(mask), a, b)),
    # reductions and shapes
    "sum": (_accumulate("sum", _cascade.sum16), lambda x, axes, keepdim=False: reduction.sum(x, axes, keepdim)),
    "sum_to": (unbroadcast, _sum_to_tensor),
    "expand": (lambda x, shape_: _xp(x).broadcast_to(x, shape_), shape.expand),
    "reshape": (lambda x, shape_: x.reshape(shape_), shape.reshape),
    "permute": (lambda x, axes: x.transpose(axes), shape.permute),
    "swapaxes": (lambda x, a, b: x.swapaxes(a, b), shape.transpose),
    "getitem": (lambda x, key: x[key], shape._getitem),
    "take": (lambda x, positions: x.reshape(-1)[positions],
             lambda x, positions: shape._getitem(shape.reshape(x, -1), positions)),
    "index_backward": (lambda g, shape_, key: shape.index_backward_array(_xp(g).zeros(shape_, g.dtype), key, g),
                       shape.index_backward),
    # linear algebra
    "matmul": (lambda a, b: a @ b, linalg.matmul),
    "einsum": (_einsum._einsum_array, _einsum.einsum),
    "linalg_solve": (_la.solve_array, _la.solve),
    "linalg_inv": (_la.inv_array, _la.inv),
    "solve_triangular": (_la.solve_triangular_array, _la.solve_triangular),

    # reductions, selection, scatter
    "mean": (_accumulate("mean", _cascade.mean16), lambda x, axes, keepdim=False: reduction.mean(x, axes, keepdim)),
    "cumsum": (lambda x, dim: _xp(x).cumsum(x, axis=dim, dtype=np.float32).astype(x.dtype)
               if x.dtype.itemsize == 2 and x.dtype in LOW_PRECISION else _xp(x).cumsum(x, axis=dim),
               lambda x, dim: x.cumsum(dim)),
    "flip": (lambda x, axes: _xp(x).flip(x, axes), lambda x, axes: x.flip(axes)),
    "roll": (lambda x, shifts, axes: _xp(x).roll(x, shifts, axes), lambda x, shifts, axes: x.roll(shifts, axes)),
    "tril": (lambda x, k: _xp(x).tril(x, k), lambda x, k: x.tril(k)),
    "triu": (lambda x, k: _xp(x).triu(x, k), lambda x, k: x.triu(k)),
    "take_along": (lambda x, key, dim: _xp(x).take_along_axis(x, key, dim), selection.take_along),
    "scatter_along": (selection.scatter_along_array, selection.scatter_along),
    "put": (selection.put_array, selection.put),
    "zero_at": (selection.zero_at_array, selection.zero_at),
    "prod_others": (selection.prod_others_array, selection.prod_others),
    "cumprod_backward": (_cx.holomorphic_adjoint(selection.cumprod_backward_array, ARRAY_CONJ),
                         _cx.holomorphic_adjoint(selection.cumprod_backward, _cx.conj_any)),

    # nn: activations, linear, normalization, dropout, embedding, losses
    "log1p": (lambda x: _xp(x).log1p(x), ew.log1p),
    "gelu_backward": (_nn_act.gelu_backward_array, _nn_act.gelu_backward_tensor),
    "masked_grad": (_nn_act.masked_grad_array, _nn_act.masked_grad),
    "batch_norm_backward": (_nn_norm.batch_norm_backward_array, _nn_norm.batch_norm_backward_tensor),
    "layer_norm_backward": (_nn_norm.layer_norm_backward_array, _nn_norm.layer_norm_backward_tensor),
    "embedding_backward": (_nn_norm.embedding_backward_array, _nn_norm.embedding_backward_tensor),
    "lstm_cell_backward": (_nn_rnn.lstm_cell_backward_array, _nn_rnn.lstm_cell_backward_tensor),

    # nn: convolution and pooling
    "conv2d": (nn_conv.conv2d_array, nn_conv.conv2d_op),
    "conv2d_channels_first": (nn_conv.channels_first_array, nn_conv.channels_first),
    "conv2d_input_grad": (nn_conv.conv2d_input_grad_array, nn_conv.conv2d_input_grad),
    "conv2d_weight_grad": (nn_conv.conv2d_weight_grad_array, nn_conv.conv2d_weight_grad),
    "pool_apply": (lambda x, m: m.apply(x), nn_pool.pool_apply),
    "pool_adjoint": (lambda g, m: m.adjoint(g), nn_pool.pool_adjoint),

    # special functions, for their own backward rules (polygamma(n, x): the order n an int in both modes)
    "digamma": (_sk.digamma_array, _sp.digamma),
    "polygamma": (_sk.polygamma_array, _sp.polygamma),
    "i0": (_sk.i0_array, _sp.i0),
    "i0e": (_sk.i0e_array, _sp.i0e),
    "i1": (_sk.i1_array, _sp.i1),
    "i1e": (_sk.i1e_array, _sp.i1e),
    "xlogy": (_sk.xlogy_array, _sp.xlogy),
    "xlog1py": (_sk.xlog1py_array, _sp.xlog1py),
    "zeta": (_sk.zeta_array, _sp.zeta),
}


def _namespace(column):
    ns = types.SimpleNamespace(**{name: impls[column] for name, impls in TABLE.items()})
    return ns


ARRAYS = _namespace(0)
TENSORS = _namespace(1)
ARRAYS.arrays = TENSORS.arrays = ARRAYS   # where a rule that works on arrays only is run under create_graph
# the float32 arithmetic of a 16-bit gradient (``opmath.float32_rule``): torch's vectorised float32 exp is the
# correctly rounded value far more often than NumPy's float32 exp, and float64 rounded to float32 gives that
ARRAYS.opmath = types.SimpleNamespace(**vars(ARRAYS))
ARRAYS.opmath.exp = lambda x: _xp(x).exp(x.astype(np.float64)).astype(x.dtype) if x.dtype == np.float32 else _xp(x).exp(x)
