"""The differentiating function transforms of ``torch.func`` (``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``linearize``, ``jacrev``, ``jacfwd``, ``hessian``) and the machinery they share (the traced call with fresh
differentiable inputs, output checks), built on this library's tape-based reverse mode rather than on torch's
functorch levels. ``vmap`` and ``stack_module_state`` live in :mod:`.func_vmap`, the pytree and ``argnums``
helpers in :mod:`.func_pytree`; :mod:`autograd.func` re-exports them all.

How each transform works:

* Differentiating transforms replace each differentiated input by a fresh tensor that requires grad (a
  detached leaf; or, for an input already in a graph, ``x.view_as(x)``, so the graph reaching back to ``x``
  is kept), call the function with grad mode on, and ask :func:`autograd.grad` for the gradients. Outputs
  that do not depend on an input get zeros for it, as torch.func does.
* Nesting (``grad(grad(f))``, ``jacrev(jacrev(f))``, ``grad`` of a closure over a tensor that requires
  grad) works because the backward pass is recorded (``create_graph=True``) whenever its result can be
  differentiated by someone outside the transform: when a differentiated input is itself in a graph, or the
  function's output reaches a leaf requiring grad that the transform did not create. Otherwise the pass is
  not recorded and the results are plain tensors, as torch's are at top level. A tape with explicit
  inputs cannot confuse the perturbations of two nested transforms, so no level bookkeeping is needed.
* ``jvp``/``linearize``/``jacfwd`` are forward mode computed in reverse mode: ``jvp`` is the derivative of a
  vector-Jacobian product with respect to its (dummy) cotangent ("double vjp"), exact, not a finite
  difference; ``jacfwd`` returns the same matrix as ``jacrev`` (one vjp per output element).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from . import grad_mode
from .creation import zeros, zeros_like
from .func_pytree import _describe, _fill, _leaves, _map, _normalize_argnums, _same_structure
from .func_vmap import _RANDOM_IN_ERROR_MODE, _check_randomness, _random_state
from .graph.nodes import AccumulateGrad, grad_node
from .ops.differentiate import grad as _autograd_grad
from .ops.shape import stack as _stack
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian"]


# ------------------------------------------------------------------------------------ shared machinery

def _check_input_leaf(x):
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if not (x.is_floating_point() or x.is_complex()):
        raise RuntimeError("only Tensors of floating point dtype can require gradients")


# The leaf nodes of the tensors the transforms create for themselves (fresh inputs, jvp's dummy cotangents).
# Nothing outside a transform differentiates with respect to them, so a graph reaching one of them does not
# make the transform's results differentiable from outside.
_PRIVATE_LEAF_NODES = weakref.WeakSet()


def _private_leaf(t):
    t.requires_grad_(True)
    _PRIVATE_LEAF_NODES.add(grad_node(t))
    return t


def _fresh_input(x, keep_graph):
    """The tensor the function sees in place of ``x``: one whose gradient can be asked for, ``x`` itself
    untouched (a detached leaf, so in-place writes to it raise torch's leaf error instead of changing
    ``x``; or, with ``keep_graph``, a view keeping ``x``'s graph so an outer derivative sees through it)."""
    if keep_graph:
        with grad_mode.enable_grad():
            return x.view_as(x)
    return _private_leaf(x.detach())


def _reaches_foreign_leaf(outputs, own_nodes):
    """True when the graph of ``outputs`` reaches a leaf requiring grad that the transform did not make:
    then someone outside can differentiate the transform's results, so its backward must be recorded."""
    stack = [grad_node(t) for t in outputs if isinstance(t, Tensor) and t.requires_grad]
    seen = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in own_nodes or node in _PRIVATE_LEAF_NODES:
            continue
        if isinstance(node, AccumulateGrad):
            return True
        stack.extend(node.inputs)
    return False


class _Traced:
    """One call of the function with the chosen inputs replaced by fresh differentiable tensors.

    ``inputs``: the fresh tensors (flat); ``input_trees``: the replaced arguments with the fresh tensors in
    place; ``output``: what the function returned; ``record``: whether backward passes over this call must
    be recorded (see the module docstring)."""

    def __init__(self, func, args, kwargs, positions):
        args = list(args)
        self.input_trees = []
        self.inputs = []
        # under the caller's no_grad the results are cut from every outer graph, as torch's are
        grad_was_enabled = grad_mode.is_grad_enabled()
        outer_graph = False
        for p in positions:
            for leaf in _leaves(args[p]):
                _check_input_leaf(leaf)
            keep = grad_was_enabled and any(leaf.requires_grad for leaf in _leaves(args[p]))
            outer_graph = outer_graph or keep
            fresh = _map(lambda x: _fresh_input(x, keep and x.requires_grad), args[p])
            args[p] = fresh
            self.input_trees.append(fresh)
            self.inputs.extend(_leaves(fresh))
        own = {id(grad_node(t)) for t in self.inputs}
        with grad_mode.enable_grad():
            self.output = func(*args, **kwargs)
        self.record = grad_was_enabled and (outer_graph or _reaches_foreign_leaf(_leaves(self.output), own))

    def finish(self, tree):
        """Outputs handed back to the caller: cut from the transform's private inputs unless they may be
        differentiated further from outside."""
        if self.record:
            return tree
        return _map(lambda t: t.detach() if isinstance(t, Tensor) else t, tree)

    def grads(self, outputs, grad_outputs=None, retain_graph=None, create_graph=None):
        """Gradients of ``outputs`` (flat list of tensors) w.r.t. every fresh input; zeros where unused."""
        if create_graph is None:
            create_graph = self.record
        used = [i for i, o in enumerate(outputs) if o.requires_grad]
        if not used:
            return [zeros_like(x) for x in self.inputs]
        outs = [outputs[i] for i in used]
        gos = None if grad_outputs is None else [grad_outputs[i] for i in used]
        with grad_mode.enable_grad():
            got = _autograd_grad(outs, self.inputs, gos, retain_graph=retain_graph, create_graph=create_graph,
                                 allow_unused=True)
        return [zeros_like(x) if g is None else g for g, x in zip(got, self.inputs)]

    def split(self, flat):
        """Flat per-input values arranged as the replaced arguments (one tree per argument)."""
        it = iter(flat)
        return [_fill(tree, it) for tree in self.input_trees]


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    aux = output[1]
    for leaf in _leaves(aux):
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return output[0], aux


def _check_outputs(flat, api):
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type {type(o)}")
        if not (o.is_floating_point() or o.is_complex()):
            raise RuntimeError(f"{api.split('(')[0]}(f, ...): All outputs of f must be floating-point or complex "
                               f"Tensors, got Tensor with dtype {_dtype_name(o)}")


def _dtype_name(t):
    return f"torch.{np.dtype(t.dtype).name}"


# ------------------------------------------------------------------------------------------ grad family

def grad_and_value(func, argnums=0, has_aux=False):
    """``f`` -> a function returning ``(gradient, value)`` (``((gradient, (value, aux))`` with ``has_aux``).
    ``f`` must return a 0-dim tensor; the gradient has the structure of the argument(s) named by
    ``argnums`` (a tuple of them for a tuple ``argnums``); keyword arguments are passed, not differentiated."""
    api = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        positions, single = _normalize_argnums(argnums, len(args))
        traced = _Traced(func, args, kwargs, positions)
        value, aux = _split_aux(traced.output, has_aux, api)
        if not isinstance(value, Tensor):
            raise RuntimeError(f"{api}: Expected f(*args) to return a Tensor, got {type(value)}")
        if value.dim() != 0:
            raise RuntimeError(f"{api}: Expected f(*args) to return a scalar Tensor, got tensor with "
                               f"{value.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        per_arg = traced.split(traced.grads([value]))
        gradient = per_arg[0] if single else tuple(per_arg)
        value = traced.finish(value)
        if has_aux:
            return gradient, (value, traced.finish(aux))
        return gradient, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``f`` -> its gradient function (``torch.func.grad``); with ``has_aux``, ``(gradient, aux)``."""
    with_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = with_value(*args, **kwargs)
        if has_aux:
            return gradient, value[1]
        return gradient

    return wrapper


# ------------------------------------------------------------------------------------------ vjp and jvp

def vjp(func, *primals, has_aux=False):
    """``(f(*primals), vjp_fn)`` (plus ``aux`` with ``has_aux``); ``vjp_fn(cotangents)`` returns a tuple with
    one vector-Jacobian product per primal and can be called repeatedly."""
    traced = _Traced(func, primals, {}, range(len(primals)))
    output, aux = _split_aux(traced.output, has_aux, "vjp(f, *primals)")
    flat_out = _leaves(output)
    _check_outputs(flat_out, "vjp(f, *primals)")

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if not _same_structure(cotangents, output):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {_describe(cotangents)}, primal output: "
                               f"{_describe(output)}")
        flat_cot = _leaves(cotangents)
        for i, (c, o) in enumerate(zip(flat_cot, flat_out)):
            if not isinstance(c, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(c)}")
            if c.shape != o.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {c.shape} and output[{i}] "
                                   f"has a shape of {o.shape}.")
        if create_graph is None:
            create_graph = traced.record or any(c.requires_grad for c in flat_cot)
        flat = traced.grads(flat_out, flat_cot, retain_graph=retain_graph, create_graph=create_graph)
        return tuple(traced.split(flat))

    if has_aux:
        return traced.finish(output), vjp_fn, traced.finish(aux)
    return traced.finish(output), vjp_fn


def _check_primals_tangents(primals, tangents, api):
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    if not _same_structure(primals, tangents):
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python structure. For example, "
                           f"if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{_describe(primals)} and tangents with structure {_describe(tangents)}")
    for p, t in zip(_leaves(primals), _leaves(tangents)):
        _check_input_leaf(p)
        if not isinstance(t, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if p.shape != t.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                               f"Tensor, this is not supported. Tensor is of size {list(p.shape)} while the given "
                               f"forward gradient is of size {list(t.shape)}.")


class _Linearized:
    """``f`` traced at the primals, with one vector-Jacobian product ``J^T u`` recorded for a dummy
    cotangent ``u`` per output; a Jacobian-vector product ``J t`` is then the gradient of ``<J^T u, t>``
    with respect to ``u``, exact (``J^T u`` is linear in ``u``)."""

    def __init__(self, func, primals, has_aux, api):
        self.traced = _Traced(func, primals, {}, range(len(primals)))
        self.output, self.aux = _split_aux(self.traced.output, has_aux, api)
        self.flat_out = _leaves(self.output)
        for o in self.flat_out:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                                   f"{type(o)}")
        # outputs that do not depend on the primals get no dummy (their tangent is zeros)
        self.dummies = [_private_leaf(zeros_like(o)) if o.requires_grad else None for o in self.flat_out]
        self.live = [i for i, u in enumerate(self.dummies) if u is not None]
        self.vjps, self.vjp_inputs = [], []   # the J^T u that depend on u, and which primal leaf each is for
        if self.live:
            with grad_mode.enable_grad():
                got = _autograd_grad([self.flat_out[i] for i in self.live], self.traced.inputs,
                                     [self.dummies[i] for i in self.live], retain_graph=True, create_graph=True,
                                     allow_unused=True)
            for i, g in enumerate(got):
                if g is not None and g.requires_grad:
                    self.vjps.append(g)
                    self.vjp_inputs.append(i)

    def jvp(self, flat_tangents, retain_graph=None):
        """``J t`` per output leaf for the flat tangents ``t`` (one per primal leaf)."""
        if not self.vjps:
            return [zeros_like(o) for o in self.flat_out]
        create = self.traced.record or any(t.requires_grad for t in flat_tangents)
        with grad_mode.enable_grad():
            got = _autograd_grad(self.vjps, [self.dummies[i] for i in self.live],
                                 [flat_tangents[i] for i in self.vjp_inputs], retain_graph=retain_graph,
                                 create_graph=create, allow_unused=True)
        by_output = dict(zip(self.live, got))
        return [zeros_like(o) if by_output.get(i) is None else by_output[i] for i, o in enumerate(self.flat_out)]

    def outputs(self, flat):
        return _fill(self.output, iter(flat))


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(f(*primals), J @ tangents)`` (plus ``aux`` with ``has_aux``), the Jacobian-vector product exact."""
    api = "jvp(f, primals, tangents)"
    _check_primals_tangents(primals, tangents, api)
    flat_tangents = _leaves(tangents)
    lin = _Linearized(func, primals, has_aux, api)
    if strict and any(u is None for u in lin.dummies):
        raise RuntimeError(f"{api[:-1]}, strict=True): The output of f is independent of the inputs. This is not "
                           f"allowed with strict=True.")
    result = lin.outputs(lin.jvp(flat_tangents))
    finish = lin.traced.finish
    if has_aux:
        return finish(lin.output), result, finish(lin.aux)
    return finish(lin.output), result


def linearize(func, *primals):
    """``(f(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at the primals, reusing
    one recorded trace of ``f``."""
    lin = _Linearized(func, primals, False, "linearize(f, *primals)")

    def jvp_fn(*tangents):
        if not _same_structure(tangents, tuple(primals)):
            raise RuntimeError(f"Expected the tangents {_describe(tangents)} to have the same argspec as the primals "
                               f"{_describe(tuple(primals))}")
        flat = _leaves(tangents)
        for i, (tangent, primal) in enumerate(zip(flat, _leaves(tuple(primals)))):
            if not isinstance(tangent, Tensor) or tangent.shape != primal.shape:
                shape = tangent.shape if isinstance(tangent, Tensor) else type(tangent)
                raise RuntimeError(f"tangent:{i} with shape {shape} in flattened pytree doesn't match the shape "
                                   f"{primal.shape} of the corresponding primal.")
        return lin.outputs(lin.jvp(flat, retain_graph=True))   # jvp_fn may be called again

    return lin.traced.finish(lin.output), jvp_fn


# ----------------------------------------------------------------------------------------------- Jacobians

def _one_hot(o, k):
    e = zeros(o.numel(), dtype=o.dtype, device=o.device)
    e[k] = 1
    return e.reshape(o.shape)


def _jacobian(func, argnums, has_aux, chunk_size, api, randomness=None):
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"{api}: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        positions, single = _normalize_argnums(argnums, len(args))
        before = _random_state()
        traced = _Traced(func, args, kwargs, positions)
        if randomness is not None and randomness != "same" and _random_state() != before:
            # torch's jacfwd runs f under vmap over the basis tangents; here f runs once, which is 'same'
            if randomness == "error":
                raise RuntimeError(_RANDOM_IN_ERROR_MODE)
            raise NotImplementedError("jacfwd(randomness='different'): f drew random numbers, and this jacfwd "
                                      "evaluates f once (reverse mode), so every Jacobian column would see the same "
                                      "draws; use randomness='same' for that, or draw outside jacfwd")
        output, aux = _split_aux(traced.output, has_aux, f"{api}(f, ...)(*args)")
        flat_out = _leaves(output)
        _check_outputs(flat_out, "vjp(f, *primals)")
        blocks = []   # per output leaf: one Jacobian block per fresh input
        for n_out, o in enumerate(flat_out):
            if not o.requires_grad or o.numel() == 0:
                blocks.append([zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                               for x in traced.inputs])
                continue
            last = n_out == len(flat_out) - 1
            rows = []   # one vector-Jacobian product per element of o, with a one-hot cotangent
            for k in range(o.numel()):
                keep = traced.record or not (last and k == o.numel() - 1)
                rows.append(traced.grads([o], [_one_hot(o, k)], retain_graph=keep))
            blocks.append([_stack([r[j] for r in rows], 0).reshape(tuple(o.shape) + tuple(x.shape))
                           for j, x in enumerate(traced.inputs)])
        per_output = []
        for block in blocks:
            per_arg = traced.split(block)
            per_output.append(per_arg[0] if single else tuple(per_arg))
        jac = _fill(output, iter(per_output))
        if has_aux:
            return jac, traced.finish(aux)
        return jac

    return wrapper


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``f`` by reverse mode: for each output leaf (of shape O) and input leaf (shape I) a
    tensor of shape O + I, arranged as the outputs of ``f`` with the arguments' structure at each leaf.
    ``chunk_size`` only bounds memory in torch; the values are the same here for any valid value."""
    return _jacobian(func, argnums, has_aux, chunk_size, "jacrev")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``f``, as torch's forward-mode ``jacfwd`` returns it; computed here by reverse mode
    (the same matrix, one vector-Jacobian product per output element)."""
    _check_randomness(randomness)
    return _jacobian(func, argnums, has_aux, None, "jacfwd", randomness)


def hessian(func, argnums=0):
    """The Hessian of a scalar ``f``: ``jacfwd(jacrev(f, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)
