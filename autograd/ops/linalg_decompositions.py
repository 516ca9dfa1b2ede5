"""The factorisations: ``linalg.cholesky`` / ``cholesky_ex``, ``qr``, ``eigh`` / ``eigvalsh``, ``svd`` /
``svdvals``, ``eig`` / ``eigvals``, with torch's arguments, result types and errors, and the torch-level
``torch.cholesky``, ``torch.qr`` and ``torch.svd`` (also Tensor methods).

Each is computed by LAPACK through ``xp.linalg`` (NumPy, or CuPy on the GPU) in a private recorded primitive
(``_cholesky``, ``_qr``, ...) with ONE backward rule written in the op vocabulary, so that a rule run on
Tensors (``create_graph=True``) is itself differentiable. A factorisation with several differentiable outputs
(``eigh``, ``svd``, ``qr``, and ``lu`` in :mod:`.linalg_lu`) records each output as its own node on the same
input: the gradient is linear in the output gradients, so the nodes' contributions add up to the joint rule.
The helpers for that (:func:`save_joint`, and :func:`cat_last` / :func:`zeros_block` to assemble a gradient
from blocks) are here. Real inputs (float32 / float64) are differentiated; the rules use transposes, not
conjugate transposes. ``eig`` (complex results) is forward only.
"""
from __future__ import annotations

import collections

import numpy as np

from .. import backend, grad_mode
from ..tensor import Tensor
from ..graph import saved_hooks as _saved_hooks
from ..graph.record import packed_entry
from .basic import OUT, record, register
from .linalg_common import check_matrix, deprecated, device_failed, int32_tensor, raise_first_failure
from .linalg_common import array_namespace as _xp, transpose_array as _mT_array, transpose as _mT, raw as _raw


def _nt(name, fields):
    return collections.namedtuple(name, fields)


CholeskyExResult = _nt("linalg_cholesky_ex", ["L", "info"])
QRResult = _nt("linalg_qr", ["Q", "R"])
EighResult = _nt("linalg_eigh", ["eigenvalues", "eigenvectors"])
EigResult = _nt("linalg_eig", ["eigenvalues", "eigenvectors"])
SVDResult = _nt("linalg_svd", ["U", "S", "Vh"])
TorchQR = _nt("qr", ["Q", "R"])
TorchSVD = _nt("svd", ["U", "S", "V"])


# ---- several outputs of one factorisation, gradients assembled from blocks ---------------------------------
def save_joint(outputs, extra=()):
    """Make each output's node save all ``outputs`` (then ``extra``), as one node of torch would: the rules
    read the factors as recorded outputs, so that a double backward differentiates through them too.
    Saved-tensor hooks see each of them, as for any saved tensor."""
    if not any(t._node is not None for t in outputs):
        return
    hooked = _saved_hooks.active()
    for t in outputs:
        if t._node is None:
            continue
        entries = []
        for s in tuple(outputs) + tuple(extra):
            if hooked:
                entries.append(_saved_hooks.PackedSaved(s, s._node, None) if s._node is not None else packed_entry(s))
                continue
            c = s._ctr
            if c is None:
                c = s._ctr = [0]
            entries.append((c, c[0], s, s._node, s._data))
        t._node.saved = tuple(entries)


def cat_last(o, a, b):
    """``[a | b]`` along the last dim, written with the vocabulary (zero-padding and adding)."""
    na, nb = a.shape[-1], b.shape[-1]
    pad_a = o.matmul(a, _selector(a, na, na + nb, 0))
    pad_b = o.matmul(b, _selector(b, nb, na + nb, na))
    return pad_a + pad_b


def _selector(like, rows, cols, offset):
    data = like._data if isinstance(like, Tensor) else like
    xp = _xp(data)
    S = xp.zeros((rows, cols), data.dtype)
    S[xp.arange(rows), offset + xp.arange(rows)] = 1
    return Tensor._wrap(S) if isinstance(like, Tensor) else S


def zeros_block(o, like, shape_):
    """Zeros with ``like``'s batch dims and dtype and ``shape_`` as the last two dims (a Tensor if ``like`` is)."""
    data = _raw(like)
    z = _xp(data).zeros(data.shape[:-2] + shape_, data.dtype)
    return Tensor._wrap(z) if isinstance(like, Tensor) else z


def _offdiag_reciprocal(o, E, like):
    """``1 / E`` off the diagonal, 0 on it (the diagonal is replaced before dividing, so no inf/nan leaks
    into a double backward)."""
    data = like._data if isinstance(like, Tensor) else like
    n = E.shape[-1]
    diag = _xp(data).eye(n, dtype=bool)
    with np.errstate(divide="ignore"):   # equal values give inf (then nan), as torch's, without NumPy's warning
        return o.where(~diag, 1 / o.where(diag, 1.0, E), 0.0)


# ---- Cholesky ----------------------------------------------------------------------------------------------
def _cholesky_info(A):
    """Per matrix, the order of the first leading minor that is not positive-definite (0: none), and the
    factor as potrf leaves it (the failed pivot holds the value whose root could not be taken)."""
    xp = _xp(A)
    n = A.shape[-1]
    L = xp.tril(A).astype(A.dtype, copy=True)
    info = xp.zeros(A.shape[:-2], np.int32)
    for j in range(n):
        d = L[..., j, j] - (L[..., j, :j] ** 2).sum(-1)
        bad = ~(d > 0) & (info == 0)
        info = xp.where(bad, j + 1, info).astype(np.int32)
        ok = info == 0
        root = xp.sqrt(xp.where(ok, d, 1))
        L[..., j, j] = xp.where(ok, root, xp.where(bad, d, L[..., j, j]))
        below = (L[..., j + 1:, j] - (L[..., j + 1:, :j] * L[..., j:j + 1, :j]).sum(-1)) / root[..., None]
        L[..., j + 1:, j] = xp.where(ok[..., None], below, L[..., j + 1:, j])
    return L, info


def _cholesky(A, upper=False, check=True, name="linalg.cholesky"):
    """The Cholesky factor of ``A``'s lower triangle (its upper one when ``upper``), and potrf's ``info``."""
    X = A._data
    xp = _xp(X)
    src = _mT_array(X) if upper else X    # potrf with uplo='U' reads the upper triangle: the lower one of A^T
    try:
        L = xp.linalg.cholesky(src)
        info = xp.zeros(X.shape[:-2], np.int32)
        if device_failed(L):
            raise np.linalg.LinAlgError("not positive-definite")
    except np.linalg.LinAlgError:
        L, info = _cholesky_info(src)
        if check:
            raise_first_failure(info, X.shape, name, lambda i: (
                f"The factorization could not be completed because the input is not positive-definite "
                f"(the leading minor of order {i} is not positive-definite)."))
        L = xp.where((info == 0)[..., None, None], xp.tril(L), L)
    out = _mT_array(L) if upper else L

    def rule(o, g, F):
        Lo = o.swapaxes(F, -1, -2) if upper else F
        gL = o.swapaxes(g, -1, -2) if upper else g
        # A = L L^T: dL = L Phi(L^-1 dA L^-T) with Phi the lower triangle, diagonal halved; its adjoint gives
        # gA = L^-T sym(Phi(L^T gL)) L^-1
        M = o.tril(o.matmul(o.swapaxes(Lo, -1, -2), gL), 0)
        P = M - 0.5 * o.tril(o.triu(M, 0), 0)
        S = 0.5 * (P + o.swapaxes(P, -1, -2))
        Y = o.solve_triangular(o.swapaxes(Lo, -1, -2), S, True, True, False)
        return (o.solve_triangular(Lo, Y, False, False, False),)

    return record(xp.ascontiguousarray(out), (A,), rule, "LinalgCholeskyEx", saved=(OUT,)), info


def linalg_cholesky(A, *, upper=False):
    check_matrix("linalg.cholesky", A)
    return _cholesky(A, upper)[0]


def linalg_cholesky_ex(A, *, upper=False, check_errors=False):
    check_matrix("linalg.cholesky_ex", A)
    L, info = _cholesky(A, upper, check=check_errors, name="linalg.cholesky_ex")
    return CholeskyExResult(L, int32_tensor(info))


@register("cholesky")
def cholesky(input, upper=False):  # noqa: A002
    deprecated("cholesky", "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
                "future PyTorch release.")
    check_matrix("cholesky", input)
    return _cholesky(input, upper, name="cholesky")[0]


# ---- QR ----------------------------------------------------------------------------------------------------
def _copyltu(o, M):
    """The symmetric matrix with ``M``'s lower triangle."""
    low = o.tril(M, -1)
    return low + o.swapaxes(low, -1, -2) + (M - o.tril(M, -1) - o.triu(M, 1))


def _qr_square_grad(o, gQ, gR, Q, R):
    """gA for A = QR with ``R`` square (m >= n): (gQ + Q copyltu(R gR^T - gQ^T Q)) R^-T."""
    M = None
    if gR is not None:
        M = o.matmul(R, o.swapaxes(gR, -1, -2))
    if gQ is not None:
        t = -o.matmul(o.swapaxes(gQ, -1, -2), Q)
        M = t if M is None else M + t
    X = o.matmul(Q, _copyltu(o, M))
    if gQ is not None:
        X = X + gQ
    return o.solve_triangular(o.swapaxes(R, -1, -2), X, False, False, False)


def _qr(A, mode="reduced"):
    X = A._data
    xp = _xp(X)
    m, n = X.shape[-2:]
    if mode == "r":
        R = xp.linalg.qr(X, mode="r")

        def refuse(o, g, *saved):
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        return Tensor._wrap(xp.zeros((0,), X.dtype)), record(xp.ascontiguousarray(R), (A,), refuse, "LinalgQr",
                                                              saved=())
    Q, R = xp.linalg.qr(X, mode="complete" if mode == "complete" else "reduced")
    Q, R = xp.ascontiguousarray(Q), xp.ascontiguousarray(R)

    def grad(o, gQ, gR, Q_, R_, A_):
        if mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if m >= n:
            return (_qr_square_grad(o, gQ, gR, Q_, R_),)
        # wide: A = [X | Y] with X = Q R1 square, Y = Q R2
        R1 = o.getitem(R_, (Ellipsis, slice(None), slice(0, m)))
        Y = o.getitem(A_, (Ellipsis, slice(None), slice(m, None)))
        gX_Q = gQ
        gY = None
        gR1 = None
        if gR is not None:
            gR1 = o.getitem(gR, (Ellipsis, slice(None), slice(0, m)))
            gR2 = o.getitem(gR, (Ellipsis, slice(None), slice(m, None)))
            gY = o.matmul(Q_, gR2)
            extra = o.matmul(Y, o.swapaxes(gR2, -1, -2))
            gX_Q = extra if gX_Q is None else gX_Q + extra
        gX = _qr_square_grad(o, gX_Q, gR1, Q_, R1)
        if gY is None:
            gY = o.zeros_like(o.getitem(A_, (Ellipsis, slice(None), slice(m, None))))
        return (cat_last(o, gX, gY),)

    Qr = record(Q, (A,), lambda o, g, Q_, R_, A_: grad(o, g, None, Q_, R_, A_), "LinalgQr", saved=())
    Rr = record(R, (A,), lambda o, g, Q_, R_, A_: grad(o, None, g, Q_, R_, A_), "LinalgQr", saved=())
    save_joint((Qr, Rr), (A,))
    return Qr, Rr


def linalg_qr(A, mode="reduced"):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    check_matrix("linalg.qr", A, square=False)
    return QRResult(*_qr(A, mode))


@register("qr")
def qr(input, some=True):  # noqa: A002
    deprecated("qr", "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                "release.")
    return TorchQR(*linalg_qr(input, "reduced" if some else "complete"))


# ---- symmetric and general eigendecompositions -------------------------------------------------------------
def _eigh(A, UPLO="L"):
    X = A._data
    w, V = _xp(X).linalg.eigh(X, UPLO=UPLO)
    V = _xp(X).ascontiguousarray(V)

    def sym(o, G):
        return 0.5 * (G + o.swapaxes(G, -1, -2))

    def rule_w(o, g, w_, V_):
        # A = V diag(w) V^T: dw = diag(V^T dA V)
        return (sym(o, o.matmul(V_ * o.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1])),
                                o.swapaxes(V_, -1, -2))),)

    def rule_V(o, g, w_, V_):
        # dV = V (F o V^T dA V), F_ij = 1 / (w_j - w_i): gA = V (F o V^T gV) V^T, made symmetric as torch's
        E = o.reshape(w_, tuple(w_.shape[:-1]) + (1, w_.shape[-1])) - o.reshape(w_, tuple(w_.shape) + (1,))
        F = _offdiag_reciprocal(o, E, w_)
        inner = F * o.matmul(o.swapaxes(V_, -1, -2), g)
        return (sym(o, o.matmul(o.matmul(V_, inner), o.swapaxes(V_, -1, -2))),)

    wr = record(w, (A,), rule_w, "LinalgEigh", saved=())
    Vr = record(V, (A,), rule_V, "LinalgEigh", saved=())
    save_joint((wr, Vr))
    return wr, Vr


def _check_uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def linalg_eigh(A, UPLO="L"):
    """Eigenvalues ascending and orthonormal eigenvectors of the symmetric matrix in ``A``'s ``UPLO`` triangle.
    Each eigenvector is determined up to sign."""
    _check_uplo(UPLO)
    check_matrix("linalg.eigh", A)
    return EighResult(*_eigh(A, UPLO))


def linalg_eigvalsh(A, UPLO="L"):
    _check_uplo(UPLO)
    check_matrix("linalg.eigh", A)   # torch's messages name eigh
    if not (A.requires_grad and grad_mode.is_grad_enabled()):
        w = backend.array_module(A._data).linalg.eigvalsh(A._data, UPLO=UPLO)
        return Tensor._wrap(w)
    return _eigh(A, UPLO)[0]


def _eig(A, vectors=True):
    """Eigenvalues (and unit eigenvectors) of a general matrix, complex as torch's always are, in geev's
    order. Forward only: this library's complex autograd is not complete enough for eig's backward."""
    X = A._data
    xp = _xp(X)
    if xp is not np:   # CuPy has no general eigensolver: geev on the host
        w, V = np.linalg.eig(backend.to_device(X, "cpu"))
        w, V = backend.to_device(w, backend.device_of(X)), backend.to_device(V, backend.device_of(X))
    else:
        w, V = np.linalg.eig(X)
    ctype = np.complex64 if X.dtype in (np.float32, np.complex64) else np.complex128

    def refuse(o, g, *saved):
        raise NotImplementedError("autograd: the derivative of linalg.eig / linalg.eigvals (complex) is not "
                                  "implemented")

    w = record(w.astype(ctype), (A,), refuse, "LinalgEig", saved=())
    return (w, record(xp.ascontiguousarray(V.astype(ctype)), (A,), refuse, "LinalgEig", saved=())) if vectors else w


def linalg_eig(A):
    """Complex eigenvalues and unit eigenvectors (each up to a complex phase), forward only."""
    check_matrix("linalg.eig", A)
    return EigResult(*_eig(A))


def linalg_eigvals(A):
    check_matrix("linalg.eigvals", A)
    return _eig(A, vectors=False)


# ---- SVD ---------------------------------------------------------------------------------------------------
def _svd(A, full_matrices=True):
    """``(U, S, Vh)``; with ``full_matrices`` the gradient reads the first ``min(m, n)`` columns of U / rows of
    Vh (the rest is not determined by A), as torch."""
    X = A._data
    xp = _xp(X)
    m, n = X.shape[-2:]
    k = min(m, n)
    U, S, Vh = xp.linalg.svd(X, full_matrices=full_matrices)
    U, Vh = xp.ascontiguousarray(U), xp.ascontiguousarray(Vh)

    def parts(o, U_, S_, Vh_):
        Uk = o.getitem(U_, (Ellipsis, slice(None), slice(0, k))) if U_.shape[-1] != k else U_
        Vk = o.swapaxes(o.getitem(Vh_, (Ellipsis, slice(0, k), slice(None))) if Vh_.shape[-2] != k else Vh_, -1, -2)
        row = o.reshape(S_, tuple(S_.shape[:-1]) + (1, k))
        col = o.reshape(S_, tuple(S_.shape) + (1,))
        F = _offdiag_reciprocal(o, row * row - col * col, S_)   # F_ij = 1 / (s_j^2 - s_i^2)
        return Uk, Vk, row, col, F

    def rule_S(o, g, U_, S_, Vh_):
        Uk, Vk, *_ = parts(o, U_, S_, Vh_)
        return (o.matmul(Uk * o.reshape(g, tuple(g.shape[:-1]) + (1, k)), o.swapaxes(Vk, -1, -2)),)

    def rule_U(o, g, U_, S_, Vh_):
        Uk, Vk, row, col, F = parts(o, U_, S_, Vh_)
        gU = o.getitem(g, (Ellipsis, slice(None), slice(0, k))) if g.shape[-1] != k else g
        J = o.matmul(o.swapaxes(Uk, -1, -2), gU)
        inner = o.matmul(Uk, (F * (J - o.swapaxes(J, -1, -2))) * row)
        if m > k:   # the part of gU outside the span of U
            inner = inner + (gU - o.matmul(Uk, J)) / row
        return (o.matmul(inner, o.swapaxes(Vk, -1, -2)),)

    def rule_Vh(o, g, U_, S_, Vh_):
        Uk, Vk, row, col, F = parts(o, U_, S_, Vh_)
        gV = o.swapaxes(o.getitem(g, (Ellipsis, slice(0, k), slice(None))) if g.shape[-2] != k else g, -1, -2)
        K = o.matmul(o.swapaxes(Vk, -1, -2), gV)
        inner = o.matmul(col * (F * (K - o.swapaxes(K, -1, -2))), o.swapaxes(Vk, -1, -2))
        if n > k:
            inner = inner + o.swapaxes(gV - o.matmul(Vk, K), -1, -2) / col
        return (o.matmul(Uk, inner),)

    rec = (record(U, (A,), rule_U, "LinalgSvd", saved=()), record(S, (A,), rule_S, "LinalgSvd", saved=()),
           record(Vh, (A,), rule_Vh, "LinalgSvd", saved=()))
    save_joint(rec)
    return rec


def linalg_svd(A, full_matrices=True, *, driver=None):
    """``A = U diag(S) Vh``; singular vectors are determined up to a common sign per pair (U's column i with
    Vh's row i)."""
    check_matrix("linalg.svd", A, square=False)
    return SVDResult(*_svd(A, full_matrices))


def linalg_svdvals(A, *, driver=None):
    check_matrix("linalg.svdvals", A, square=False)
    if not (A.requires_grad and grad_mode.is_grad_enabled()):
        s = backend.array_module(A._data).linalg.svd(A._data, compute_uv=False)
        return Tensor._wrap(s)
    return _svd(A, False)[1]


@register("svd")
def svd(input, some=True, compute_uv=True):  # noqa: A002
    """torch.svd: ``(U, S, V)`` with V (not Vh); without ``compute_uv`` U and V are zero matrices."""
    if not compute_uv:
        m, n = input.shape[-2:]
        xp = backend.array_module(input._data)
        batch = tuple(input.shape[:-2])
        return TorchSVD(Tensor._wrap(xp.zeros(batch + (m, m), input.dtype)), linalg_svdvals(input),
                        Tensor._wrap(xp.zeros(batch + (n, n), input.dtype)))
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return TorchSVD(U, S, _mT(Vh))
