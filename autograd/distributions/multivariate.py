"""``MultivariateNormal`` (by ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``) and
``LowRankMultivariateNormal`` (covariance ``W W^T + diag(D)``), with torch's shapes, validation, formulas
(log-densities through the Cholesky factor, the low-rank one through its capacitance matrix
``I + W^T D^-1 W``), reparameterised samples and the KL divergence between two MultivariateNormals."""
from __future__ import annotations

import math

import numpy as np

from .. import creation, linalg as _linalg
from ..ops import reduction as _red, shape as _shape
from ..ops.linalg import matmul as _matmul
from ..ops.linalg_solvers import cholesky_inverse as _cholesky_inverse
from ..ops.matrix_more import diag_embed as _diag_embed
from .basic import KL_RULES
from ._shared_more import (LocIsMeanAndMode, Rebuilt, lower_cholesky, positive_definite, positive_vector, real_matrix,
                           real_vector)

_LOG_2PI = math.log(2 * math.pi)


def _batch_mv(mat, vec):
    return _matmul(mat, _shape.unsqueeze(vec, -1)).squeeze(-1)


def _solve_lower(L, rhs_vectors):
    """``L^-1 x`` for the vectors ``x`` on the last dimension, ``L`` broadcast against their batch."""
    shape = np.broadcast_shapes(L.shape[:-2], rhs_vectors.shape[:-1])
    n = L.shape[-1]
    Lb = L.expand(shape + (n, n)) if L.shape[:-2] != shape else L
    xb = rhs_vectors.expand(shape + (n,)) if rhs_vectors.shape[:-1] != shape else rhs_vectors
    return _linalg.solve_triangular(Lb, _shape.unsqueeze(xb, -1), upper=False).squeeze(-1)


def _mahalanobis(L, diff):
    """``diff^T (L L^T)^-1 diff``."""
    return _red.sum(_solve_lower(L, diff).pow(2), -1)


def _half_log_det(L):
    return _red.sum(L.diagonal(dim1=-2, dim2=-1).log(), -1)


def _eye_like(t, n):
    return creation.eye(n, dtype=t.dtype, device=t.device)


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of ``P^-1`` without inverting P: with ``flip`` reversing rows and columns,
    ``flip(chol(flip(P)))^T`` is ``U`` with ``P = U U^T``, U upper (reverse Cholesky), and ``P^-1 = L L^T`` for
    the lower triangular ``L = U^-T``."""
    Lf = _linalg.cholesky(P.flip((-2, -1)))
    L_inv = Lf.flip((-2, -1)).mT
    return _linalg.solve_triangular(L_inv, _eye_like(P, P.shape[-1]), upper=False)


class MultivariateNormal(LocIsMeanAndMode, Rebuilt):
    arg_constraints = {"loc": real_vector, "covariance_matrix": positive_definite,
                       "precision_matrix": positive_definite, "scale_tril": lower_cholesky}
    support = real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                 if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, mat = given[0]
        if mat.ndim < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = tuple(np.broadcast_shapes(tuple(mat.shape[:-2]), tuple(loc.shape[:-1])))
        self._given = name
        self.__dict__[name] = mat.expand(batch_shape + tuple(mat.shape[-2:]))
        self.loc = loc.expand(batch_shape + tuple(loc.shape[-1:]))
        super().__init__(batch_shape, tuple(self.loc.shape[-1:]), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = mat
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _linalg.cholesky(mat)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(mat)

    def _full(self, mat):
        return mat.expand(self._batch_shape + self._event_shape + self._event_shape)

    @property
    def scale_tril(self):
        if "scale_tril" in self.__dict__:
            return self.__dict__["scale_tril"]
        return self._full(self._unbroadcasted_scale_tril)

    @property
    def covariance_matrix(self):
        if "covariance_matrix" in self.__dict__:
            return self.__dict__["covariance_matrix"]
        L = self._unbroadcasted_scale_tril
        return self._full(_matmul(L, L.mT))

    @property
    def precision_matrix(self):
        if "precision_matrix" in self.__dict__:
            return self.__dict__["precision_matrix"]
        return self._full(_cholesky_inverse(self._unbroadcasted_scale_tril))

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        n = self._event_shape[0]
        mat = self.__dict__[self._given].expand(shape + (n, n))
        new = MultivariateNormal(self.loc.expand(shape + (n,)), **{self._given: mat}, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def variance(self):
        return _red.sum(self._unbroadcasted_scale_tril.pow(2), -1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + M) - _half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + _LOG_2PI) + _half_log_det(self._unbroadcasted_scale_tril)
        return H.expand(self._batch_shape) if tuple(H.shape) != self._batch_shape else H


class LowRankMultivariateNormal(LocIsMeanAndMode, Rebuilt):
    arg_constraints = {"loc": real_vector, "cov_factor": real_matrix, "cov_diag": positive_vector}
    support = real_vector
    has_rsample = True
    _params = ("loc", "cov_factor", "cov_diag")

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape torch.Size({list(event_shape)})")
        n, m = event_shape[0], cov_factor.shape[-1]
        batch_shape = tuple(np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                                tuple(cov_diag.shape[:-1])))
        self.loc = loc.expand(batch_shape + (n,))
        self.cov_factor = cov_factor.expand(batch_shape + (n, m))
        self.cov_diag = cov_diag.expand(batch_shape + (n,))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        W_over_D = cov_factor / _shape.unsqueeze(cov_diag, -1)
        capacitance = _matmul(W_over_D.mT, cov_factor) + _eye_like(cov_factor, m)
        self._capacitance_tril = _linalg.cholesky(capacitance)
        super().__init__(batch_shape, event_shape, validate_args)

    @property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (_red.sum(W.pow(2), -1) + D).expand(self._batch_shape + self._event_shape)

    def _full(self, mat):
        return mat.expand(self._batch_shape + self._event_shape + self._event_shape)

    @property
    def covariance_matrix(self):
        W = self._unbroadcasted_cov_factor
        return self._full(_matmul(W, W.mT) + _diag_embed(self._unbroadcasted_cov_diag))

    @property
    def scale_tril(self):
        return self._full(_linalg.cholesky(self.covariance_matrix))

    @property
    def precision_matrix(self):
        # Woodbury: (W W^T + D)^-1 = D^-1 - D^-1 W C^-1 W^T D^-1, C the capacitance matrix
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        W_over_D = W / _shape.unsqueeze(D, -1)
        A = _linalg.solve_triangular(self._capacitance_tril, W_over_D.mT, upper=False)
        return self._full(_diag_embed(D.reciprocal()) - _matmul(A.mT, A))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        W = self._unbroadcasted_cov_factor
        eps_W = creation.randn(*(shape[:-1] + (W.shape[-1],)), dtype=self.loc.dtype, device=self.loc.device)
        eps_D = creation.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(W, eps_W) + self._unbroadcasted_cov_diag.sqrt() * eps_D

    def _log_det(self):
        return 2 * _half_log_det(self._capacitance_tril) + _red.sum(self._unbroadcasted_cov_diag.log(), -1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        Wt_Dinv_diff = _batch_mv((W / _shape.unsqueeze(D, -1)).mT, diff)
        M = _red.sum(diff.pow(2) / D, -1) - _red.sum(_solve_lower(self._capacitance_tril, Wt_Dinv_diff).pow(2), -1)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + self._log_det() + M)

    def entropy(self):
        H = 0.5 * (self._event_shape[0] * (1.0 + _LOG_2PI) + self._log_det())
        return H.expand(self._batch_shape) if tuple(H.shape) != self._batch_shape else H


def _kl_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    shape = tuple(np.broadcast_shapes(Lp.shape[:-2], Lq.shape[:-2]))
    Lpb, Lqb = Lp.expand(shape + (n, n)), Lq.expand(shape + (n, n))
    # trace(Sq^-1 Sp) = ||Lq^-1 Lp||_F^2
    term = _red.sum(_linalg.solve_triangular(Lqb, Lpb, upper=False).pow(2), (-2, -1))
    half_term1 = _half_log_det(Lq) - _half_log_det(Lp)
    return half_term1 + 0.5 * (term + _mahalanobis(Lq, q.loc - p.loc) - n)


KL_RULES.update({(MultivariateNormal, MultivariateNormal): _kl_mvn})

EXPORTS = ("MultivariateNormal", "LowRankMultivariateNormal")
