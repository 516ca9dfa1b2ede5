"""``logsigmoid``, ``selu`` and ``hardswish``: elementwise activations with their own backward rule (written in the op
vocabulary, so second derivatives follow), computed in float32 for float16/bfloat16 inputs and rounded once,
as torch's kernels."""
from __future__ import annotations

from .nn_act import _elementwise

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def logsigmoid(x):
    """``log(sigmoid(x))`` without overflow: ``min(x, 0) - log1p(exp(-|x|))``."""
    def rule(o, g, x_):   # d/dx log sigmoid(x) = sigmoid(-x)
        return (g * o.sigmoid(-x_),)

    return _elementwise(x, lambda xp, X: xp.minimum(X, 0) - xp.log1p(xp.exp(-xp.abs(X))), rule, "LogSigmoid")


def selu(x):
    """``scale * (x if x > 0 else alpha * (exp(x) - 1))`` with torch's constants."""
    X = x._data
    neg = SELU_ALPHA * SELU_SCALE

    def rule(o, g, x_):   # from the input, as torch (the rounded 16-bit output would lose digits)
        return (g * o.where(X > 0, SELU_SCALE, neg * o.exp(o.minimum(x_, 0.0))),)

    return _elementwise(x, lambda xp, X: xp.where(X > 0, SELU_SCALE * X, neg * xp.expm1(xp.minimum(X, 0))),
                        rule, "Elu")


def hardswish(x):
    """``x * min(max(x + 3, 0), 6) / 6`` in torch's order (NaN propagates)."""
    X = x._data

    def rule(o, g, x_):   # torch's: 0 up to -3, g (x/3 + 1/2) below 3, g from 3 on (and for NaN)
        return (o.where(X <= -3, 0.0, o.where(X < 3, g * (x_ / 3 + 0.5), g)),)

    return _elementwise(x, lambda xp, X: X * xp.minimum(xp.maximum(X + 3, 0), 6) / 6, rule, "Hardswish")
