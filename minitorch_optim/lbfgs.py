"""L-BFGS: limited-memory quasi-Newton steps on the flattened parameter vector."""
from __future__ import annotations

from autograd import Tensor, grad_mode
from autograd.backend import array_module

from ._core.fma import axpy_, torch_scalar
from ._core.line_search import strong_wolfe
from .optimizer import Optimizer, closure_loss


def _box(v):
    """State value for a scalar: 0-d Tensor for array scalars (as torch keeps tensors), else as is."""
    if v is None or type(v) in (int, float):  # (np.float64 is a float subclass: it gets boxed)
        return v
    return Tensor._wrap(array_module(v).asarray(v))


def _unbox(v):
    """Inverse of ``_box``: 0-d Tensors become array scalars of their dtype."""
    if isinstance(v, Tensor):
        return v._data[()]
    return v


def two_loop_direction(flat_grad, dirs, steps, rho, h_diag, alphas):
    """The L-BFGS search direction ``-H g`` by the two-loop recursion.

    ``dirs`` are the gradient differences y_i, ``steps`` the parameter steps s_i, ``rho`` 1/(y_i.s_i),
    ``h_diag`` the scale of the initial inverse Hessian; ``alphas`` (length >= len(dirs)) receives the
    first-loop coefficients (kept in the optimizer state as ``al``).
    """
    n = len(dirs)
    q = -flat_grad
    for i in range(n - 1, -1, -1):
        alphas[i] = steps[i].dot(q) * rho[i]
        axpy_(q, -alphas[i], dirs[i])
    r = q * h_diag
    for i in range(n):
        beta = dirs[i].dot(r) * rho[i]
        axpy_(r, alphas[i] - beta, steps[i])
    return r


class LBFGS(Optimizer):
    """L-BFGS (limited-memory BFGS), optionally with a strong-Wolfe line search.

    ``step(closure)`` runs up to ``max_iter`` iterations (``max_eval`` closure calls) on the concatenation
    of all parameters: the closure must zero the gradients, compute the loss, call ``backward`` and return
    the loss. Only one parameter group is allowed. The whole algorithm state is stored under the first
    parameter (``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``,
    ``prev_flat_grad``, ``prev_loss``, ``al``), as in torch.

    ``maximize=True`` (torch 2.14.1) minimises the negated loss: every evaluation negates the loss and the
    flat gradient, while ``step`` still returns the closure's own loss. A group without parameters only
    evaluates the closure and returns its loss (torch 2.14.1).

    Paths: for-loop only (the algorithm works on one flat vector; there is no foreach/fused variant).
    Memory: about ``history_size * 2 + 3`` copies of the parameters.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None, *, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn, maximize=maximize)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    # state dicts saved by torch 2.13 have no "maximize"; torch 2.14.1 reads it with .get(..., False)
    _filled_on_load = {"maximize": False}

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    # ---- flat views of the parameters ---------------------------------------------------------------
    def _xp(self):
        return array_module(self._params[0]._data)

    def _flat_grad(self):
        xp = self._xp()
        parts = []
        for p in self._params:
            g = p.grad
            if g is None:
                parts.append(xp.zeros(p._data.size, dtype=p._data.dtype))
            elif getattr(g, "is_sparse", False):
                parts.append(g.to_dense()._data.reshape(-1))
            else:
                parts.append(g._data.reshape(-1))
        flat = xp.concatenate(parts)
        if self.param_groups[0].get("maximize", False):
            xp.negative(flat, out=flat)
        return flat

    def _loss(self, loss):
        """The loss the algorithm minimises: the closure's, negated under ``maximize``."""
        return -float(loss) if self.param_groups[0].get("maximize", False) else float(loss)

    def _move(self, t, d):
        """Parameters += t * d (in place, so views and flat buffers stay valid)."""
        offset = 0
        for p in self._params:
            n = p._data.size
            axpy_(p._data, t, d[offset:offset + n].reshape(p._data.shape))
            offset += n

    def _snapshot(self):
        return [p._data.copy() for p in self._params]

    def _restore(self, saved):
        for p, x in zip(self._params, saved):
            p._data[...] = x

    def _evaluate_at(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are put back to ``x`` afterwards."""
        self._move(t, d)
        loss = self._loss(closure_loss(closure))
        g = self._flat_grad()
        self._restore(x)
        return loss, g

    # ---- the step ---------------------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call."""
        with grad_mode.no_grad():
            return self._run(closure)

    def _run(self, closure):
        group = self.param_groups[0]
        if len(self._params) == 0:  # nothing to optimise (and no first parameter to keep the state under)
            return closure_loss(closure)
        lr = torch_scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure_loss(closure)
        loss = self._loss(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= tol_grad:
            return orig_loss

        def data(key):
            v = state.get(key)
            return v._data if isinstance(v, Tensor) else v

        d, prev_flat_grad = data("d"), data("prev_flat_grad")
        t, h_diag, prev_loss = _unbox(state.get("t")), _unbox(state.get("H_diag")), state.get("prev_loss")
        old_dirs = [v._data for v in state.get("old_dirs") or []]
        old_stps = [v._data for v in state.get("old_stps") or []]
        ro = [_unbox(v) for v in state.get("ro") or []]

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # -- search direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # curvature condition holds: remember the pair
                    if len(old_dirs) == history_size:
                        del old_dirs[0], old_stps[0], ro[0]
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = [None] * history_size
                alphas = [_unbox(a) for a in state["al"]]
                d = two_loop_direction(flat_grad, old_dirs, old_stps, ro, h_diag, alphas)
                state["al"] = [_box(a) for a in alphas]
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # -- step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:
                break

            ls_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x0 = self._snapshot()
                loss, flat_grad, t, ls_evals = strong_wolfe(
                    lambda step, x0=x0, d=d: self._evaluate_at(closure, x0, step, d),
                    t, d, loss, flat_grad, gtd, max_ls=max_eval - evals)
                self._move(t, d)
                converged = abs(flat_grad).max() <= tol_grad
            else:
                self._move(t, d)
                converged = False
                if n_iter != max_iter:  # the last iteration skips the (unused) re-evaluation
                    loss = self._loss(closure_loss(closure))
                    flat_grad = self._flat_grad()
                    converged = abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            # -- stopping tests
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if abs(d * t).max() <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

        state["d"] = None if d is None else Tensor._wrap(d)
        state["t"] = _box(t)
        state["old_dirs"] = [Tensor._wrap(v) for v in old_dirs]
        state["old_stps"] = [Tensor._wrap(v) for v in old_stps]
        state["ro"] = [_box(v) for v in ro]
        state["H_diag"] = _box(h_diag)
        state["prev_flat_grad"] = None if prev_flat_grad is None else Tensor._wrap(prev_flat_grad)
        state["prev_loss"] = prev_loss
        return orig_loss
