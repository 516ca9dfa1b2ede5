"""SOAP (Vyas et al., 2024): Adam in the eigenbasis of Shampoo's preconditioners (pytorch_optimizer 4.1.0).

Paths: for-loop only (eigen/QR decompositions per tensor). Like the reference, the first step only
initialises the preconditioners (no parameter change) and the QR refresh runs in float32 for every dtype;
eigenvector signs and the LAPACK in use (NumPy's vs torch's) can differ, the update does not depend on them
except through rounding.
"""
from __future__ import annotations

import math
from itertools import chain

import numpy as np

from autograd import Tensor
from autograd.backend import array_module

from .._core.fma import lerp_
from ._loop import (debias, LoopOptimizer, lr_of, validate_betas, validate_learning_rate, validate_non_negative,
                        validate_positive, wrap)


def merge_small_dims(shape, max_dim):
    """Merge neighbouring dims while their product stays <= ``max_dim`` (``[1]`` if one dim remains)."""
    merged, product = [], 1
    for dim in shape:
        product *= dim
        if product > max_dim:
            merged.append(product // dim)
            product = dim
    merged.append(product)
    return merged if len(merged) > 1 else [1]


class SOAP(LoopOptimizer):
    r"""SOAP: preconditioners ``GG_i`` (EMAs with ``shampoo_beta``, default ``beta2``, of the gradient's
    mode-``i`` outer products; dims above ``max_precondition_dim`` and, unless ``precondition_1d``, vectors
    are left unrotated), their eigenvectors ``Q`` (refreshed every ``precondition_frequency`` steps by one
    power iteration + QR, which also re-sorts ``exp_avg_sq``); Adam's second moment lives in the rotated
    basis: ``p -= lr' Q^T((Q m) / (sqrt(v) + eps))`` with ``lr' = lr sqrt(bc2) / bc1`` (``correct_bias``),
    then decoupled weight decay ``p *= 1 - lr wd``. ``merge_dims`` merges small dims first
    (``data_format='channels_last'`` permutes 4-d tensors to channels-first for it); ``normalize_gradient``
    divides the update by its RMS. State: ``exp_avg``, ``exp_avg_sq``, ``GG``, ``Q`` (lists; ``[]`` for an
    unrotated dim), ``precondition_frequency``, ``shampoo_beta``. Paths: for-loop.
    """

    def __init__(self, params, lr=3e-3, betas=(0.95, 0.95), shampoo_beta=None, weight_decay=1e-2,
                 precondition_frequency=10, max_precondition_dim=10000, merge_dims=False, precondition_1d=False,
                 correct_bias=True, normalize_gradient=False, data_format="channels_first", eps=1e-8,
                 maximize=False, **kwargs):
        validate_learning_rate(lr)
        validate_betas(betas)
        validate_non_negative(shampoo_beta, "shampoo_beta")
        validate_non_negative(weight_decay, "weight_decay")
        validate_positive(precondition_frequency, "precondition_frequency")
        validate_positive(max_precondition_dim, "max_precondition_dim")
        validate_non_negative(eps, "eps")
        self.data_format = data_format
        self.maximize = maximize
        defaults = dict(lr=lr, betas=betas, shampoo_beta=shampoo_beta, weight_decay=weight_decay,
                        precondition_frequency=precondition_frequency, max_precondition_dim=max_precondition_dim,
                        merge_dims=merge_dims, precondition_1d=precondition_1d, correct_bias=correct_bias,
                        normalize_gradient=normalize_gradient, eps=eps)
        super().__init__(params, defaults)

    # ---- shapes ------------------------------------------------------------------------------------------
    def _channels_last(self, a):
        return self.data_format == "channels_last" and a.ndim == 4

    def merge_dims(self, a, max_dim):
        if self._channels_last(a):
            a = a.transpose(0, 3, 1, 2)
        return a.reshape(merge_small_dims(a.shape, max_dim))

    def _unmerge(self, a, original_shape, like):
        if self._channels_last(like):
            permuted = (original_shape[0], original_shape[3], original_shape[1], original_shape[2])
            return a.reshape(permuted).transpose(0, 2, 3, 1)
        return a.reshape(original_shape)

    def project(self, g, st, merge_dims=False, max_dim=10000, project_type="forward"):
        xp = array_module(g)
        original = g
        if merge_dims:
            g = self.merge_dims(g, max_dim)
        for mat in _arrays(st["Q"]):
            if len(mat) > 0:
                g = xp.tensordot(g, mat, axes=([0], [0 if project_type == "forward" else 1]))
            else:
                g = g.transpose([*range(1, g.ndim), 0])
        if merge_dims:
            g = self._unmerge(g, original.shape, original)
        return g

    # ---- preconditioners -----------------------------------------------------------------------------------
    @staticmethod
    def get_orthogonal_matrix(mats):
        out = []
        for m in mats:
            if len(m) == 0:
                out.append([])
                continue
            xp = array_module(m)
            _, q = xp.linalg.eigh(m + 1e-30 * xp.eye(m.shape[0], dtype=m.dtype))
            out.append(q[:, ::-1].copy())
        return out

    def get_orthogonal_matrix_qr(self, st, max_dim, merge_dims):
        v = st["exp_avg_sq"]._data
        original = v
        if merge_dims:
            v = self.merge_dims(v, max_dim)
        mats = []
        for ind, (m, o) in enumerate(zip(_arrays(st["GG"]), _arrays(st["Q"]))):
            if len(m) == 0:
                mats.append([])
                continue
            xp = array_module(m)
            product = m @ o
            est = (o * product).sum(axis=0)
            order = xp.argsort(-est, kind="stable")
            v = xp.take(v, order, axis=ind)
            power_iter = product[:, order]
            q, _ = xp.linalg.qr(power_iter.astype(np.float32))
            mats.append(q.astype(power_iter.dtype))
        if merge_dims:
            v = self._unmerge(v, original.shape, original)
        st["exp_avg_sq"]._data[...] = v
        return mats

    def _init_pre_conditioner(self, g, st, group, shampoo_beta):
        xp = array_module(g)
        gg = []
        max_dim = group["max_precondition_dim"]
        if g.ndim == 1:
            gg.append(xp.zeros((g.shape[0],) * 2, dtype=g.dtype)
                      if group["precondition_1d"] and g.shape[0] <= max_dim else [])
        else:
            a = self.merge_dims(g, max_dim) if group["merge_dims"] else g
            gg.extend(xp.zeros((s, s), dtype=g.dtype) if s <= max_dim else [] for s in a.shape)
        st["GG"] = _tensors(gg)
        st["Q"] = None
        st["precondition_frequency"] = group["precondition_frequency"]
        st["shampoo_beta"] = shampoo_beta

    def _update_pre_conditioner(self, g, st, step, group):
        xp = array_module(g)
        max_dim, gg = group["max_precondition_dim"], _arrays(st["GG"])
        w = 1.0 - st["shampoo_beta"]
        if g.ndim == 1:
            if group["precondition_1d"] and g.shape[0] <= max_dim:
                lerp_(gg[0], xp.outer(g, g).astype(gg[0].dtype), w)
        else:
            a = self.merge_dims(g, max_dim) if group["merge_dims"] else g
            for idx, dim in enumerate(a.shape):
                if dim <= max_dim:
                    axes = [*chain(range(idx), range(idx + 1, a.ndim))]
                    lerp_(gg[idx], xp.tensordot(a, a, axes=(axes, axes)).astype(gg[idx].dtype), w)
        if st["Q"] is None:
            st["Q"] = _tensors(self.get_orthogonal_matrix(gg))
        if step > 0 and step % st["precondition_frequency"] == 0:
            st["Q"] = _tensors(self.get_orthogonal_matrix_qr(st, max_dim, group["merge_dims"]))

    # ---- step ------------------------------------------------------------------------------------------------
    def _step_group(self, group):
        group.setdefault("step", 0)
        active = self._active(group)
        beta1, beta2 = group["betas"]
        for p in active:
            st = self.state[p]
            if len(st) == 0:
                st["exp_avg"] = self._zeros(p)
                st["exp_avg_sq"] = self._zeros(p)
                sb = group["shampoo_beta"] if group["shampoo_beta"] is not None else beta2
                self._init_pre_conditioner(p.grad._data, st, group, sb)
                self._update_pre_conditioner(p.grad._data, st, group["step"], group)
        group["step"] += 1
        if group["step"] == 1:
            return
        step = group["step"] - 1
        step_size = lr_of(group)
        if group["correct_bias"]:
            step_size *= math.sqrt(debias(beta2, step)) / debias(beta1, step)
        md, mx = group["merge_dims"], group["max_precondition_dim"]
        for p in active:
            st = self.state[p]
            x, g = p._data, self._grad(p, self.maximize)
            xp = array_module(x)
            gp = self.project(g, st, md, mx)
            m = st["exp_avg"]._data
            lerp_(m, g, 1.0 - beta1)
            v = st["exp_avg_sq"]._data
            lerp_(v, gp * gp, 1.0 - beta2)
            denom = xp.sqrt(v) + group["eps"]
            mp = self.project(m, st, md, mx)
            upd = self.project(mp / denom, st, md, mx, project_type="backward")
            if group["normalize_gradient"]:
                upd = upd / (xp.sqrt(xp.mean(upd * upd)) + group["eps"])
            x -= step_size * upd
            if group["weight_decay"] != 0.0:
                x *= 1.0 - group["weight_decay"] * lr_of(group)
            self._update_pre_conditioner(g, st, step, group)


def _arrays(lst):
    """The arrays of a state list of Tensors (``[]`` placeholders kept)."""
    return [t._data if isinstance(t, Tensor) else [] for t in lst]


def _tensors(lst):
    return [wrap(a) if not isinstance(a, list) else [] for a in lst]
