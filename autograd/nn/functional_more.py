"""``hardswish`` (its own backward rule, ``ops.nn_act_more``) and ``gumbel_softmax`` (composed from recorded
ops, so its gradient is those ops' rules)."""
from __future__ import annotations

from .. import creation
from ..ops import nn_act_more as _act
from ..grad_mode import no_grad


def hardswish(input, inplace=False):  # noqa: A002
    out = _act.hardswish(input)
    if not inplace:
        return out
    input.copy_(out)
    return input


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax distribution over ``dim``: ``softmax((logits + g) / tau)`` with
    ``g = -log(Exponential(1))``; ``hard``: the one-hot of its argmax, with the soft sample's gradient
    (straight-through)."""
    with no_grad():
        gumbels = -creation.empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft

