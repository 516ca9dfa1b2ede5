"""Complex tensors: real/imag views, conj, angle, sgn, complex/polar, view_as_real/complex, and the backward
rules of the core ops on complex inputs.

torch's convention for a real loss L of a complex z = x + iy: the gradient is dL/dx + i dL/dy. For a
holomorphic f, that makes the input gradient ``g * conj(f'(z))``; :func:`conjugated` turns a real-tensor rule
``g * f'(z)`` (complex-linear in ``g``) into that form: ``conj(rule(conj(g)))``. The non-holomorphic ops (abs,
angle, sgn, real, imag, conj) have rules of their own here.

Conjugation is not lazy here: ``conj()`` copies (torch returns a view sharing storage), so writing into the
result does not change its input. ``is_conj()`` still answers as torch would for the result of ``conj()`` (True
for a complex input, until ``resolve_conj()``/``conj_physical()``/``clone``-like copies), and ``is_neg()`` is
always False (we keep no lazily negated tensors).
"""
from __future__ import annotations

import numpy as np

from .. import backend, grad_mode
from ..graph.views import make_view
from ..tensor import Tensor
from .basic import OUT, record, register

_PY_COMPLEX = type(1j)    # (``complex`` below is torch.complex)

EXPORTS = ("real", "imag", "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "angle",
           "sgn", "complex", "polar", "view_as_real", "view_as_complex", "isreal", "is_complex")


def _is_c(x):
    return x.dtype.kind == "c"


def _xp(a):
    return np if type(a) is np.ndarray else backend.array_module(a)


def conjugated(rule):
    """The complex form of a backward rule written as ``g * f'(z)`` for real tensors (see the module notes)."""
    def complex_rule(o, g, *saved):
        return tuple(None if r is None else o.conj(r) for r in rule(o, o.conj(g), *saved))
    complex_rule.__name__ = getattr(rule, "__name__", "rule")
    return complex_rule


def refuse(x, name, error=NotImplementedError, message=None):
    """torch's refusal of a complex input to an op that does not support complex numbers (in the forward)."""
    if isinstance(x, Tensor) and _is_c(x):
        raise error(message or f"\"{name}\" not implemented for '{_torch_complex_name(x.dtype)}'")


def refuse_grad(x, name):
    """For ops whose forward handles complex input but whose backward rule here is written for real tensors only:
    refuse to record a gradient for complex input rather than return a wrong one."""
    if isinstance(x, Tensor) and _is_c(x) and x.requires_grad and grad_mode.is_grad_enabled():
        raise NotImplementedError(f"{name}: automatic differentiation is not implemented here for inputs with "
                                  "complex dtype.")


def _torch_complex_name(dt):
    return {"complex64": "ComplexFloat", "complex128": "ComplexDouble"}.get(np.dtype(dt).name, np.dtype(dt).name)


# ---- views of the parts ---------------------------------------------------------------------------------
def _real_part(a):
    # also what an in-place write through the view would replay on an integer position map (torch's CopySlices):
    # a part of a complex element has no position of its own, so that is refused rather than mis-attributed
    if a.dtype.kind != "c":
        raise NotImplementedError("in-place operations on .real / .imag of a complex tensor that requires grad are "
                                  "not supported: write into a clone instead")
    return a.real


def _imag_part(a):
    if a.dtype.kind != "c":
        _real_part(a)
    return a.imag


@register("real")
def _real_method(x):
    return real(x)


def real(x):
    """The real part as a view (writes through it change ``x``); a real tensor is its own real part (torch)."""
    if not _is_c(x):
        return x
    return make_view(x, x._data.real, _real_part, _real_grad, "Select", True)


def _real_grad(o, g):
    return g     # (the engine widens the real gradient to x's complex dtype: zero imaginary part)


def imag(x):
    if not _is_c(x):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return make_view(x, x._data.imag, _imag_part, _imag_grad, "Select", True)


def _imag_grad(o, g):
    return g * 1j     # dL/dy of z = x + iy lands in the imaginary part


Tensor.real = property(_real_method, lambda self, v: real(self).copy_(v))
Tensor.imag = property(imag, lambda self, v: imag(self).copy_(v))


# ---- conjugation ------------------------------------------------------------------------------------------
def conj(x):
    if not _is_c(x):
        return x
    out = record(_xp(x._data).conj(x._data), (x,), _conj_rule, "Conj", saved=())
    if not x.__dict__.get("_conj_bit"):    # torch's conjugate bit: conj(conj(x)) is an ordinary tensor again
        out.__dict__["_conj_bit"] = True
    return out


def _conj_rule(o, g):
    return (o.conj(g),)


def conj_physical(x):
    if not _is_c(x):
        return x     # torch returns a real input itself as well
    return record(_xp(x._data).conj(x._data), (x,), _conj_rule, "ConjPhysical", saved=())


def resolve_conj(x):
    """A tensor without the conjugate bit: a copy of a conjugated tensor (its values are already resolved)."""
    if not x.__dict__.get("_conj_bit"):
        return x
    return record(x._data.copy(), (x,), lambda o, g: (g,), "Clone", saved=())


def resolve_neg(x):
    return x     # no lazily negated tensors here


def is_conj(x):
    return bool(x.__dict__.get("_conj_bit", False))


def is_neg(x):
    return False


def is_complex(x):
    return _is_c(x)


def isreal(x):
    X = x._data
    xp = _xp(X)
    if not _is_c(x):
        return Tensor._wrap(xp.ones(X.shape, dtype=bool))
    return Tensor._wrap(X.imag == 0)


for _n, _f in {"conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
               "is_conj": is_conj, "is_neg": is_neg, "isreal": isreal}.items():
    register(_n)(_f)


# ---- angle, abs, sgn ---------------------------------------------------------------------------------------
@register("angle")
def angle(x):
    X = x._data
    xp = _xp(X)
    if not _is_c(x):     # 0 or pi (NaN stays NaN); a piecewise constant: zero gradient
        if X.dtype.kind in "biu":
            X = X.astype(np.float32)
        Y = xp.where(X < 0, np.pi, 0).astype(X.dtype)
        Y = xp.where(xp.isnan(X), X, Y)
        return record(Y, (x,), lambda o, g: (o.zeros_like(g),), "Angle", saved=())
    return record(xp.angle(X), (x,), _angle_rule, "Angle", saved=(x,))


def _angle_rule(o, g, z):
    # theta = atan2(y, x): (d/dx + i d/dy) theta = (-y + ix) / |z|^2 = i z / |z|^2; zero at z = 0 (torch)
    r2 = o.real(z * o.conj(z))
    return (o.where(r2 == 0, 0, g * (z * 1j) / o.where(r2 == 0, 1, r2)),)


def complex_abs(x):
    X = x._data
    return record(_xp(X).abs(X), (x,), _abs_rule, "Abs", saved=(x, OUT))


def _abs_rule(o, g, z, r):
    # (d/dx + i d/dy) |z| = z / |z|: g * sgn(z), zero at z = 0 (torch)
    return (o.where(r == 0, 0, g * (z / o.where(r == 0, 1, r))),)


def _sgn_array(X):
    xp = _xp(X)
    r = xp.abs(X)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(r == 0, 0, X / xp.where(r == 0, 1, r)).astype(X.dtype)


@register("sgn")
def sgn(x):
    if not _is_c(x):
        return x.sign()
    X = x._data
    return record(_sgn_array(X), (x,), _sgn_rule, "Sgn", saved=(x, OUT))


def _sgn_rule(o, g, z, s):
    # s = z / |z|: the adjoint of dz -> (dz - s Re(conj(s) dz)) / |z| is g -> (g - s Re(conj(s) g)) / |z|
    r = o.real(z * o.conj(s))
    return (o.where(r == 0, 0, (g - s * o.real(o.conj(s) * g)) / o.where(r == 0, 1, r)),)


@register("sgn_")
def sgn_(x):
    return x.copy_(sgn(x)) if _is_c(x) else x.sign_()


# ---- building complex tensors -------------------------------------------------------------------------------
_COMPLEX_OF = {"float32": np.complex64, "float64": np.complex128}


def complex(real, imag):  # noqa: A001  torch's name
    if real.dtype != imag.dtype:
        raise RuntimeError(f"Expected object of scalar type {_short(real.dtype)} but got scalar type "
                           f"{_short(imag.dtype)} for second argument")
    if real.dtype.name not in _COMPLEX_OF:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got {_short(real.dtype)} "
                           f"and {_short(imag.dtype)}")
    R, I = real._data, imag._data
    out = _xp(R).empty(np.broadcast_shapes(R.shape, I.shape), dtype=_COMPLEX_OF[real.dtype.name])
    out.real, out.imag = R, I
    return record(out, (real, imag), lambda o, g: (o.real(g), o.imag(g)), "Complex", saved=())


def polar(abs, angle):  # noqa: A002
    out = complex(abs * angle.cos(), abs * angle.sin())
    return out


def _short(dt):
    from ..dtypes import torch_name
    return torch_name(dt)


def view_as_real(x):
    if not _is_c(x):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    X = x._data
    return make_view(x, _as_real_array(X), _as_real_array, _view_as_complex_grad, "ViewAsReal", True)


def _as_real_array(a):
    if a.dtype.kind != "c":
        _real_part(a)
    return a[..., None].view(a.real.dtype)     # (the new unit axis is contiguous whatever a's strides)


def _view_as_complex_grad(o, g):
    return o.view_as_complex(g)


def view_as_complex(x):
    X = x._data
    if X.dtype.name not in _COMPLEX_OF:
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a tensor of "
                           f"scalar type: {_short(X.dtype)}")
    if X.ndim == 0 or X.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if X.strides[-1] != X.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    out = _as_complex_array(X)
    return make_view(x, out, _as_complex_array, _view_as_real_grad, "ViewAsComplex", True)


def _as_complex_array(a):
    return a.view(_COMPLEX_OF[a.dtype.name])[..., 0]


def _view_as_real_grad(o, g):
    return o.view_as_real(g)


register("view_as_real")(view_as_real)
register("view_as_complex")(view_as_complex)


# ---- arrays-mode helpers for the vocabulary ------------------------------------------------------------------
def view_as_real_array(a):
    return _as_real_array(a if a.dtype.kind == "c" else a.astype(np.complex128))


def view_as_complex_array(a):
    return _as_complex_array(a)


def real_array(a):
    return a.real if getattr(a, "dtype", None) is not None and a.dtype.kind == "c" else a


def imag_array(a):
    return a.imag if a.dtype.kind == "c" else _xp(a).zeros_like(a)


def imag_tensor(x):
    return imag(x) if _is_c(x) else x.new_zeros(x.shape)


# ---- the elementwise ops on complex input (called by :mod:`autograd.ops.elementwise`) -----------------------
_UNSUPPORTED = {"sign": "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use torch.sgn "
                        "instead.",
                "relu": "clamp is not supported for complex types"}
_HOLOMORPHIC_FORWARD = {"sigmoid": lambda xp, z: 1 / (1 + xp.exp(-z))}   # the real one compares z with 0


def unary(name, x, X, fwd, dfn, saved):
    """``name`` (one of elementwise's unary ops) on a complex tensor: holomorphic ones get the conjugated
    derivative, abs its own rule, the rest torch's refusal."""
    if name == "abs":
        return complex_abs(x)
    if name in _UNSUPPORTED:
        raise NotImplementedError(_UNSUPPORTED[name])
    if name in ("floor", "ceil", "round", "trunc"):
        raise NotImplementedError(f"{name} is not supported for complex inputs")
    if name == "erf":
        raise NotImplementedError(f"\"erf_vml_cpu\" not implemented for '{_torch_complex_name(X.dtype)}'")
    xp = _xp(X)
    with np.errstate(all="ignore"):
        Y = _HOLOMORPHIC_FORWARD.get(name, fwd)(xp, X)
    if Y.dtype != X.dtype:
        Y = Y.astype(X.dtype)
    if saved == ():
        return record(Y, (x,), lambda o, g: (g * o.conj(dfn(o, g)),), name.capitalize(), saved=())
    return record(Y, (x,), lambda o, g, v: (g * o.conj(dfn(o, v)),), name.capitalize(), saved=saved)


def mul_rule(o, g, b, a):
    return None if b is None else g * o.conj(b), None if a is None else g * o.conj(a)


def div_rule(o, g, b, a, needs_a):
    return (g / o.conj(b) if needs_a else None), (None if a is None else -g * o.conj((a / b) / b))


def pow_rule(needs_a, needs_b):
    def rule(o, g, a, b, y):
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if needs_a:    # torch: zero where the exponent is 0
                ga = g * 0 if _is_zero_number(b) else g * o.conj(b * a ** (b - 1))
                if not _is_number(b):
                    ga = o.where(b == 0, 0, ga)
            if needs_b:
                log_a = np.log(a + 0j) if _is_number(a) else o.log(a)
                gb = g * o.conj(y * log_a)
        return ga, gb
    return rule


def _is_number(v):
    return not hasattr(v, "shape") or isinstance(v, np.generic)


def _is_zero_number(v):
    return _is_number(v) and v == 0


# ---- the vocabulary's conjugation (numbers included: a Python number enters a rule as itself) -------------------
def conj_array(x):
    if isinstance(x, (_PY_COMPLEX, np.complexfloating)):
        return x.conjugate()
    return x.conj() if getattr(x, "dtype", None) is not None and x.dtype.kind == "c" else x


def conj_any(x):
    return conj(x) if isinstance(x, Tensor) else conj_array(x)


def holomorphic_adjoint(adjoint, conj_fn):
    """``adjoint(g, z, ...)``, written as ``g * f'(z)`` for real tensors, in torch's complex convention."""
    def run(g, x, *args):
        if getattr(x, "dtype", None) is None or x.dtype.kind != "c":
            return adjoint(g, x, *args)
        return conj_fn(adjoint(conj_fn(g), x, *args))
    return run

