"""Random sampling with tensor parameters: ``normal`` (its four forms), ``bernoulli`` / ``bernoulli_``,
``exponential_`` and the ``multinomial`` method, with torch's argument checks.

The numbers come from our generator (NumPy's PCG64), never torch's stream. As in torch, a sample does not
carry a gradient to its parameters: ``normal`` and ``bernoulli`` record an op whose gradient is zero
(torch's ``NormalBackward`` / ``BernoulliBackward``), so ``mean.grad`` is zeros rather than ``None``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend, creation, dtypes
from ..tensor import Tensor
from .basic import record, register
from .elementwise import _check_broadcast
from .inplace import copy_


def _is_float(dt):
    return dt.kind == "f" or dt == dtypes.bfloat16


def _number(x):
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _draws(kind, shape, dtype, device, generator, **kw):
    return creation.random_array(kind, shape, dtype, device, generator, **kw)


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           pin_memory=False, requires_grad=False):
    """``normal(Tensor, Tensor)``, ``normal(Tensor, float)``, ``normal(float, Tensor)`` (the broadcast shape of
    the tensors, their dtype) and ``normal(float, float, size)`` (a factory: ``dtype``, ``device``)."""
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mt and not st:
        if size is None or not _number(mean) or not _number(std):
            raise TypeError(f"normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected one of: (Tensor mean, "
                            "Tensor std), (Tensor mean, float std), (float mean, Tensor std), "
                            "(float mean, float std, tuple of ints size)")
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        dt = dtypes.as_dtype(dtype) or dtypes.get_default_dtype()
        if not _is_float(dt):
            raise NotImplementedError(f'"normal_kernel_cpu" not implemented for \'{dtypes.torch_name(dt)}\'')
        shape = creation._shape((size,) if isinstance(size, int) else tuple(size))
        res = Tensor._wrap(_draws("normal", shape, dt, device, generator, loc=float(mean), scale=float(std)))
        if requires_grad:
            res.requires_grad_(True)
        return _into(res, out)
    if size is not None:
        raise TypeError("normal(): a size is given only with a number mean and a number std")
    like = mean if mt else std
    dt = like.dtype   # the mean's dtype when both are tensors, as torch
    if not _is_float(dt):
        raise NotImplementedError(f'"normal_kernel_cpu" not implemented for \'{dtypes.torch_name(dt)}\'')
    if st:
        if not (std._data >= 0).all():   # NaN included, as torch
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not std >= 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    M = mean._data if mt else mean
    S = std._data if st else std
    shapes = [t.shape for t in (mean, std) if isinstance(t, Tensor)]
    _check_broadcast([t._data for t in (mean, std) if isinstance(t, Tensor)])
    shape = np.broadcast_shapes(*shapes)
    z = _draws("standard_normal", shape, dt, like.device, generator)
    work = np.dtype(np.float32) if dt.itemsize == 2 else dt   # 16-bit: computed in float32, one rounding
    val = (_cast(M, work) + _cast(S, work) * z.astype(work)).astype(dt, copy=False)
    m_shape, s_shape = (mean.shape if mt else None), (std.shape if st else None)

    def rule(o, g):   # a draw does not depend on its parameters' values: zero gradients, as torch
        return tuple(None if sh is None else o.fit(o.zeros_like(g), sh, g.dtype) for sh in (m_shape, s_shape))

    res = record(val, (mean if mt else None, std if st else None), rule, "Normal", saved=())
    return _into(res, out)


def _cast(x, dt):
    return x.astype(dt, copy=False) if hasattr(x, "astype") else x


def _into(res, out):
    if out is None:
        return res
    if out.shape != res.shape:
        out._data = res._data.astype(out.dtype)
    else:
        out.copy_(res.detach())
    return out


def _check_p_tensor(P):
    if not ((P >= 0) & (P <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def _uniform_like(shape, device, generator):
    return _draws("random", shape, np.float64, device, generator)


@register("bernoulli")
def bernoulli(input, p=None, *, generator=None, out=None):  # noqa: A002
    """0/1 draws with probabilities ``input`` (or the number ``p`` for every element), in ``input``'s dtype."""
    if not _is_float(input.dtype):
        raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for '
                                  f"'{dtypes.torch_name(input.dtype)}'")
    if p is not None:
        res = Tensor._wrap(backend.array_module(input._data).empty_like(input._data))
        bernoulli_(res, p, generator=generator)
        return _into(res, out)
    P = input._data
    _check_p_tensor(P)
    u = _uniform_like(P.shape, input.device, generator)
    val = (u < P.astype(np.float64)).astype(P.dtype)
    res = record(val, (input,), lambda o, g: (o.zeros_like(g),), "Bernoulli", saved=())
    return _into(res, out)


@register("bernoulli_")
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws; ``p`` a number in [0, 1] or a tensor of probabilities broadcast to ``self``."""
    if isinstance(p, Tensor):
        P = p._data
        _check_p_tensor(P)
        P = backend.array_module(P).broadcast_to(P, self.shape)
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        P = p
    u = _uniform_like(self.shape, self.device, generator)
    P = backend.to_device(P, self.device) if hasattr(P, "shape") and backend.device_of(P) != self.device else P
    return copy_(self, Tensor._wrap((u < (P.astype(np.float64) if hasattr(P, "astype") else P))
                                    .astype(self.dtype)))


@register("exponential_")
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with draws of density ``lambd * exp(-lambd * x)``."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    if not _is_float(self.dtype):
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {dtypes.torch_name(self.dtype)}")
    u = _uniform_like(self.shape, self.device, generator)
    xp = backend.array_module(u)
    return copy_(self, Tensor._wrap((-xp.log1p(-u) / float(lambd)).astype(self.dtype)))


@register("multinomial")
def multinomial(self, num_samples, replacement=False, *, generator=None):
    return creation.multinomial(self, num_samples, replacement, generator=generator)


def _checked_uniform_(self, a=0.0, b=1.0, generator=None):
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    return _unchecked_uniform(self, a, b, generator)


def _checked_normal_(self, mean=0.0, std=1.0, generator=None):
    if not std >= 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return _unchecked_normal(self, mean, std, generator)


# torch's range checks in front of the existing fills (their draws are unchanged)
_unchecked_uniform, _unchecked_normal = Tensor.uniform_, Tensor.normal_
_checked_uniform_.__name__, _checked_normal_.__name__ = "uniform_", "normal_"
register("uniform_")(_checked_uniform_)
register("normal_")(_checked_normal_)
