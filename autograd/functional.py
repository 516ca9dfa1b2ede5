"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``, with torch's
signatures, result structure and errors.

Everything is reverse mode on top of :func:`autograd.grad`: a Jacobian is one vector-Jacobian product per
output element, a Jacobian-vector product is the derivative of a vector-Jacobian product with respect to
its (dummy) vector (the "double-vjp" trick torch uses too), and a Hessian is the Jacobian of the gradient.
``vectorize=True`` is accepted and computes the same values row by row (torch batches the rows with vmap).
"""
from __future__ import annotations

from . import grad_mode
from .creation import zeros_like
from .ops.differentiate import grad as _grad
from .ops.shape import reshape as _reshape, stack as _stack
from .tensor import Tensor


def _as_tuple(x, arg_name, fn_name):
    """``(tuple_of_tensors, was_a_tensor)``; torch's TypeError for anything else."""
    if isinstance(x, Tensor):
        return (x,), True
    if not isinstance(x, (tuple, list)):
        raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                        f"value given is of type {type(x).__name__}.")
    for i, el in enumerate(x):
        if not isinstance(el, Tensor):
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the"
                            f" element {i} of the {arg_name} given is of type {type(el).__name__}.")
    return tuple(x), False


def _prepare_inputs(inputs, create_graph, need_graph):
    """Inputs to differentiate with respect to: detached leaves, or (with ``create_graph``, for inputs already
    in a graph) views that keep that graph, so the result can be differentiated further."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(results, create_graph):
    """Results handed back to the caller: detached unless ``create_graph``."""
    if create_graph:
        return tuple(results)
    return tuple(None if r is None else r.detach() for r in results)


def _fill_unused(grads, refs, strict, what, create_graph):
    """Zeros where a gradient is None (torch's non-strict mode); torch's error in strict mode."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(what(i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        out.append(g)
    return out


def _check_outputs(outputs, fn_name):
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"The outputs of the user-provided function given to {fn_name} must be either a Tensor "
                            f"or a tuple of Tensors but the element {i} of the outputs given is of type "
                            f"{type(o).__name__}.")


def _check_v(v, refs, v_name, ref_name, fn_name):
    if len(v) != len(refs):
        raise RuntimeError(f"{v_name} is a tuple of invalid length: should be {len(refs)} but got {len(v)}.")
    for i, (a, b) in enumerate(zip(v, refs)):
        if a.shape != b.shape:
            raise RuntimeError(f"Entry {i} in {v_name} has invalid size: should be {list(b.shape)} but got "
                               f"{list(a.shape)}.")


_NONE_FOR_OUTPUT = ("The vector v can only be None if the user-provided function returns a single Tensor with a "
                    "single element.")
_NONE_FOR_INPUT = ("The vector v can only be None if the input to the user-provided function is a single Tensor "
                   "with a single element.")


def _vector(v, refs, fn_name, none_message):
    """The vector ``v`` of a product, checked against ``refs`` (ones for a single one-element ``refs``)."""
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            raise RuntimeError(none_message)
        return (refs[0].new_ones(refs[0].shape),)
    v, _ = _as_tuple(v, "v", fn_name)
    _check_v(v, refs, "v", "inputs" if none_message is _NONE_FOR_INPUT else "outputs", fn_name)
    return v


def _independent(i):
    return f"The output of the user-provided function is independent of input {i}. This is not allowed in strict mode."


def _vjp_of(outputs, inputs, v, create_graph, retain_graph=True):
    differentiable = [(o, g) for o, g in zip(outputs, v) if o.requires_grad]
    if not differentiable:
        return [None] * len(inputs)
    outs, gs = zip(*differentiable)
    return list(_grad(list(outs), list(inputs), list(gs), retain_graph=retain_graph, create_graph=create_graph,
                      allow_unused=True))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product of ``func`` at ``inputs``."""
    with grad_mode.enable_grad():
        inputs, single_in = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare_inputs(inputs, create_graph, True)
        outputs = func(*inputs)
        outputs, single_out = _as_tuple(outputs, "outputs of the user-provided function", "vjp")
        _check_outputs(outputs, "vjp")
        v = _vector(v, outputs, "vjp", _NONE_FOR_OUTPUT)
        grads = _vjp_of(outputs, inputs, v, create_graph)
        grads = _fill_unused(grads, inputs, strict,
                             _independent, create_graph)
    outputs = _finish(outputs, create_graph)
    grads = _finish(grads, create_graph)
    return (outputs[0] if single_out else outputs), (grads[0] if single_in else grads)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the Jacobian-vector product, as the derivative of a vector-Jacobian product
    with respect to its vector."""
    with grad_mode.enable_grad():
        inputs, single_in = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare_inputs(inputs, create_graph, True)
        v = _vector(v, inputs, "jvp", _NONE_FOR_INPUT)
        outputs = func(*inputs)
        outputs, single_out = _as_tuple(outputs, "outputs of the user-provided function", "jvp")
        _check_outputs(outputs, "jvp")
        dummies = tuple(o.new_zeros(o.shape).requires_grad_(True) for o in outputs)
        vjps = _vjp_of(outputs, inputs, dummies, True)
        pairs = [(g, vi) for g, vi in zip(vjps, v) if g is not None and g.requires_grad]
        if pairs:
            gs, vs = zip(*pairs)
            result = list(_grad(list(gs), list(dummies), list(vs), retain_graph=True, create_graph=create_graph,
                                allow_unused=True))
        else:
            result = [None] * len(outputs)
        result = _fill_unused(result, outputs, strict,
                              _independent, create_graph)
    outputs = _finish(outputs, create_graph)
    result = _finish(result, create_graph)
    return (outputs[0] if single_out else outputs), (result[0] if single_out else result)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one output and one input a Tensor of shape
    ``output.shape + input.shape``; tuples (of tuples) when ``func`` takes or returns several."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function '
                         'has more outputs than inputs, "forward-mode" tends to be more performant. Otherwise, '
                         'prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if not vectorize:
            raise NotImplementedError("torch.autograd.functional.jacobian: `strategy=\"forward-mode\"` is only "
                                      "implemented for `vectorize=True`.")
        raise NotImplementedError('jacobian(strategy="forward-mode") is not supported: there is no forward-mode '
                                  'AD here; "reverse-mode" gives the same Jacobian')
    with grad_mode.enable_grad():
        inputs, single_in = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare_inputs(inputs, create_graph, True)
        outputs = func(*inputs)
        outputs, single_out = _as_tuple(outputs, "outputs of the user-provided function", "jacobian")
        _check_outputs(outputs, "jacobian")
        table = []
        for i, out in enumerate(outputs):
            flat = _reshape(out, (-1,))
            rows = [[] for _ in inputs]
            for k in range(flat.shape[0]):
                if out.requires_grad:
                    grads = _grad(flat[k], list(inputs), retain_graph=True, create_graph=create_graph,
                                  allow_unused=True)
                else:
                    grads = [None] * len(inputs)
                for j, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{j}. This is not allowed in strict mode.")
                        g = zeros_like(x)
                    rows[j].append(g)
            entry = []
            for j, x in enumerate(inputs):
                block = _stack(rows[j], 0) if rows[j] else x.new_zeros((0,) + x.shape)
                entry.append(_reshape(block, out.shape + x.shape))
            table.append(_finish(entry, create_graph))
    if single_out and single_in:
        return table[0][0]
    if single_out:
        return table[0]
    if single_in:
        return tuple(row[0] for row in table)
    return tuple(table)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar-valued ``func`` at ``inputs`` (for one input: ``input.shape + input.shape``)."""
    if outer_jacobian_strategy != "reverse-mode" and outer_jacobian_strategy != "forward-mode":
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    inputs_tuple, single_in = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = func(*xs)
        outs, _ = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or not isinstance(outs[0], Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        out = _reshape(outs[0], ())
        if not out.requires_grad:
            grads = [None] * len(xs)
        else:
            grads = _grad(out, list(xs), create_graph=True, allow_unused=True)
        grads = _fill_unused(grads, xs, strict,
                             _independent, False)
        return grads[0] if single_in else tuple(grads)

    return jacobian(gradient, inputs_tuple[0] if single_in else inputs_tuple, create_graph=create_graph,
                    strict=strict, vectorize=vectorize,
                    strategy=outer_jacobian_strategy)


def _second_order_product(func, inputs, v, create_graph, strict, fn_name):
    with grad_mode.enable_grad():
        inputs, single_in = _as_tuple(inputs, "inputs", fn_name)
        inputs = _prepare_inputs(inputs, create_graph, True)
        v = _vector(v, inputs, fn_name, _NONE_FOR_INPUT)
        outputs = func(*inputs)
        outputs, single_out = _as_tuple(outputs, "outputs of the user-provided function", fn_name)
        _check_outputs(outputs, fn_name)
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor with a single element.")
        out = outputs[0]
        if out.requires_grad:
            jac = list(_grad(out, list(inputs), create_graph=True, allow_unused=True))
        else:
            jac = [None] * len(inputs)
        jac = _fill_unused(jac, inputs, strict,
                           _independent, False)
        pairs = [(g, vi) for g, vi in zip(jac, v) if g.requires_grad]
        if pairs:
            gs, vs = zip(*pairs)
            # the Hessian is symmetric, so v^T H and H v are the same vector-Jacobian product of the gradient
            result = list(_grad(list(gs), list(inputs), list(vs), create_graph=create_graph, allow_unused=True))
        else:
            result = [None] * len(inputs)
        result = _fill_unused(result, inputs, strict,
                              lambda i: f"The jacobian of the user-provided function is independent of input {i}. "
                                        "This is not allowed in strict mode.", create_graph)
    outputs = _finish(outputs, create_graph)
    result = _finish(result, create_graph)
    return outputs[0] if single_out else outputs, (result[0] if single_in else result)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)`` for a scalar-valued ``func``."""
    return _second_order_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)`` for a scalar-valued ``func``."""
    return _second_order_product(func, inputs, v, create_graph, strict, "hvp")

