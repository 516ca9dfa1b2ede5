"""``einsum``: one op whose backward is einsum again.

The gradient of operand ``i`` contracts the output gradient with every other operand onto operand ``i``'s
subscripts, so its rule is ``o.einsum`` (first order on arrays, recorded on Tensors for ``create_graph``).
Letters only operand ``i`` carries (summed away inside it) come back by broadcasting; dimensions that
broadcast from size 1 are summed back by ``o.fit``. Ellipses are spelled out as letters first.
"""
from __future__ import annotations

import string

import numpy as np

from .. import backend, dtypes
from .basic import check_same_device, needs, record


def _parse(equation, shapes):
    """(list of operand subscripts, output subscripts), ellipses replaced by letters none of them uses."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(shapes) > len(ins) else
                           "einsum(): fewer operands were provided than specified in the equation")
    used = set(eq) - set(".,->")
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = 0
    for sub, shp in zip(ins, shapes):
        letters = len(sub.replace("...", ""))
        if "..." in sub:
            n_ell = max(n_ell, len(shp) - letters)
        elif letters != len(shp):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({letters}) does not match "
                               f"the number of dimensions ({len(shp)}) for operand {ins.index(sub)} and no "
                               f"ellipsis was given")
    ell = "".join(free[:n_ell])
    out_ins = []
    for sub, shp in zip(ins, shapes):
        if "..." in sub:
            k = len(shp) - len(sub.replace("...", ""))
            sub = sub.replace("...", ell[n_ell - k:] if k else "")
        out_ins.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for s in out_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return out_ins, out


def _einsum_array(equation, *arrays):
    xp = backend.array_module(arrays[0])
    dtype = arrays[0].dtype
    if dtype.kind not in "fcbiu":   # bfloat16 (an ml_dtypes type): einsum has no loop for it; float32 and back
        arrays = [a.astype(np.float32) for a in arrays]
    out = xp.einsum(equation, *arrays, optimize=len(arrays) > 2)
    return out if out.dtype == dtype else out.astype(dtype)


def einsum(equation, *operands):
    """torch.einsum(equation, *operands) (operands also as one list), differentiable in every operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    check_same_device(*operands)
    ins, out_sub = _parse(equation, [tuple(t.shape) for t in operands])
    for i, s in enumerate(ins):
        if len(set(s)) != len(s) and operands[i].requires_grad:
            raise NotImplementedError("einsum(): a subscript repeated within one operand (a diagonal) is not "
                                      "differentiable here yet")
    dt = operands[0].dtype
    for t in operands[1:]:
        if t.dtype != dt:
            raise RuntimeError(f"expected scalar type {dtypes.torch_name(dt)} but found "
                               f"{dtypes.torch_name(t.dtype)}")
    eq = ",".join(ins) + "->" + out_sub
    out = _einsum_array(eq, *[t._data for t in operands])
    flags = needs(operands)
    sizes = {}
    for s, t in zip(ins, operands):
        for c, n in zip(s, t.shape):
            sizes[c] = max(sizes.get(c, 1), n)

    meta = [(tuple(t.shape), t.dtype) for t in operands]

    def rule(o, g, *xs):
        grads = []
        for i, (s, (shp, dt_)) in enumerate(zip(ins, meta)):
            if not flags[i]:
                grads.append(None)
                continue
            others = [ins[j] for j in range(len(ins)) if j != i]
            seen = set(out_sub).union(*others)
            keep = "".join(c for c in s if c in seen)
            gi = o.einsum(",".join([out_sub] + others) + "->" + keep, g, *[xs[j] for j in range(len(xs)) if j != i])
            if keep != s:   # letters only this operand has: the gradient is constant along them
                gi = o.reshape(gi, _with_ones(gi, keep, s))
                gi = o.expand(gi, tuple(sizes[c] for c in s))
            grads.append(o.fit(gi, shp, dt_))
        return tuple(grads)

    return record(out, tuple(operands), rule, "Einsum", saved=tuple(operands))


def _with_ones(gi, keep, s):
    """``gi`` (laid out as ``keep``) reshaped to ``s``'s order with 1 for the letters ``keep`` lacks."""
    shape = dict(zip(keep, gi.shape))
    return tuple(shape.get(c, 1) for c in s)


__all__ = ["einsum"]
