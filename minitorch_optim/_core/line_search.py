"""Strong-Wolfe line search with cubic interpolation (used by ``LBFGS(line_search_fn="strong_wolfe")``).

Scalars stay NumPy/CuPy 0-d values of the parameters' dtype where they come from array reductions, so
float32 problems round as torch does (Python floats mixed in are "weak" under NumPy 2's promotion).
The search follows the classic bracket-then-zoom scheme (Nocedal & Wright, Algorithms 3.5/3.6).
"""
from __future__ import annotations

import math

from autograd.backend import array_module


def _sqrt(x):
    if isinstance(x, (int, float)):
        return math.sqrt(x)
    return array_module(x).sqrt(x)


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, f1'=g1) and (x2, f2, f2'=g2), clipped to ``bounds``.

    Without ``bounds`` the interval between the two points is used. When the cubic has no real
    stationary point the midpoint of the interval is returned.
    """
    if bounds is None:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    else:
        lo, hi = bounds
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = _sqrt(disc)
    # step from the right-hand point towards the left one
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """A trial step: its length ``t``, loss ``f``, flat gradient ``g`` and slope ``gtd`` along d."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Search along ``d`` from the current point (loss ``f``, flat gradient ``g``, slope ``gtd``).

    ``evaluate(t)`` returns (loss, flat gradient) at ``x + t d`` and leaves the parameters at ``x``.
    Returns ``(loss, flat_grad, t, number_of_evaluations)`` for the accepted step.
    """
    d_norm = abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new.dot(d)
    prev = _Point(0, f, g.copy(), gtd)
    done = False
    it = 0
    bracket = None
    # phase 1: grow the step until an interval holding an acceptable point is found
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= prev.f):
            bracket = [prev, _Point(t, f_new, g_new.copy(), gtd_new)]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [_Point(t, f_new, g_new, gtd_new)]
            done = True
            break
        if gtd_new >= 0:
            bracket = [prev, _Point(t, f_new, g_new.copy(), gtd_new)]
            break
        # extrapolate: the cubic's minimiser, kept within [t + 0.01 (t - t_prev), 10 t]
        t_next = cubic_minimizer(prev.t, prev.f, prev.gtd, t, f_new, gtd_new,
                                 bounds=(t + 0.01 * (t - prev.t), t * 10))
        prev = _Point(t, f_new, g_new.copy(), gtd_new)
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
    if it == max_ls:  # out of evaluations: fall back on the start and the last trial
        bracket = [_Point(0, f, g.copy(), None), _Point(t, f_new, g_new, None)]

    # phase 2 (zoom): shrink the interval until a point meets the strong Wolfe conditions
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while not done and it < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = cubic_minimizer(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        t_hi = max(a.t, b.t)
        t_lo = min(a.t, b.t)
        margin = 0.1 * (t_hi - t_lo)
        if min(t_hi - t, t - t_lo) < margin:
            # too close to an end: accept once, then (or when outside) move a tenth of the way in
            if stalled or t >= t_hi or t <= t_lo:
                t = t_hi - margin if abs(t - t_hi) < abs(t - t_lo) else t_lo + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(d)
        it += 1
        trial = _Point(t, f_new, g_new.copy(), gtd_new)
        if f_new > f + c1 * t * gtd or f_new >= bracket[low].f:
            bracket[high] = trial          # sufficient decrease fails: new upper end
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = trial
    best = bracket[low]
    return best.f, best.g, best.t, evals
