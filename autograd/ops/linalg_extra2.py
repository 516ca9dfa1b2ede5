"""The linear-algebra primitives: each factorisation or solver computed by LAPACK through ``xp.linalg`` (NumPy,
or CuPy on the GPU) and recorded with ONE backward rule written in the op vocabulary, so that a rule run on
Tensors (``create_graph=True``) is itself differentiable. A factorisation with several differentiable outputs
(``eigh``, ``svd``, ``qr``, ``lu``) records each output as its own node on the same input: the gradient is
linear in the output gradients, so the nodes' contributions add up to the joint rule.

Real inputs (float32 / float64) are differentiated; the rules use transposes, not conjugate transposes.
The LU factorisation with partial pivoting is written here (NumPy has none), vectorised over the batch.
"""
from __future__ import annotations

import numpy as np

from .. import backend, dtypes, grad_mode
from ..tensor import Tensor
from ..graph import saved_hooks as _saved_hooks
from ..graph.record import packed_entry
from .basic import OUT, record

EXPORTS = ()   # the torch-level names live in :mod:`autograd.ops.linalg_extra`


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a factorisation failed (singular, not positive-definite)."""


def _xp(a):
    return backend.array_module(a)


def _mT(x):
    return x.swapaxes(-1, -2)


def batch_prefix(shape, flat_index):
    """torch's ``(Batch element i): `` prefix of an error about one matrix of a batch."""
    return f"(Batch element {flat_index}): " if len(shape) > 2 else ""


def check_matrix(name, A, square=True):
    """torch's checks of a linalg input: at least 2-D, floating (not 16-bit), square when asked."""
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    dt = A.dtype
    if dt.kind not in "fc" and dt != dtypes.bfloat16:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {dtypes.torch_name(dt)}")
    if dt.itemsize == 2:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {dtypes.torch_name(dt)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if dt.kind == "c" and A.requires_grad and grad_mode.is_grad_enabled():
        # the rules are written with transposes: a complex input would get a wrong gradient, not none
        raise NotImplementedError(f"autograd: {name} of a complex tensor that requires grad is not supported "
                                  f"(complex inputs work without grad)")


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _eye_like(X, n=None):
    n = X.shape[-1] if n is None else n
    return _xp(X).eye(n, dtype=X.dtype)


# ---- LU with partial pivoting (getrf), vectorised over the batch -------------------------------------------
def lu_array(A):
    """``(LU, pivots, info)`` as LAPACK's getrf: the unit lower and the upper factor packed in one matrix,
    1-based int32 row swaps, and per matrix the 1-based index of the first zero pivot (0 when none). The pivot
    is the first entry of largest magnitude in its column, as getrf's idamax picks it."""
    xp = _xp(A)
    m, n = A.shape[-2:]
    batch = A.shape[:-2]
    count = int(np.prod(batch, dtype=np.int64))
    LU = xp.array(A, copy=True).reshape((count, m, n))
    k = min(m, n)
    rows = xp.arange(LU.shape[0])
    piv = xp.zeros((LU.shape[0], k), np.int32)
    info = xp.zeros(LU.shape[0], np.int32)
    for j in range(k):
        p = j + xp.argmax(xp.abs(LU[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        row_j, row_p = LU[rows, j, :].copy(), LU[rows, p, :].copy()
        LU[rows, p, :] = row_j
        LU[rows, j, :] = row_p
        d = LU[:, j, j]
        zero = d == 0
        info = xp.where(zero & (info == 0), j + 1, info).astype(np.int32)
        with np.errstate(divide="ignore", invalid="ignore"):
            # a zero pivot leaves its column as it is (getrf skips the scaling) and the factorisation goes on
            scale = xp.where(zero, 1, d)
            LU[:, j + 1:, j] /= scale[:, None]
            LU[:, j + 1:, j + 1:] -= LU[:, j + 1:, j:j + 1] * LU[:, j:j + 1, j + 1:]
    return LU.reshape(batch + (m, n)), piv.reshape(batch + (k,)), info.reshape(batch)


def pivots_to_permutation(piv, m):
    """The permutation matrix ``P`` with ``A = P L U`` from getrf's 1-based row swaps."""
    xp = _xp(piv)
    batch = piv.shape[:-1]
    flat = piv.reshape((int(np.prod(batch, dtype=np.int64)), piv.shape[-1])) - 1
    order = xp.broadcast_to(xp.arange(m), (flat.shape[0], m)).copy()
    rows = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        oj, op = order[rows, j].copy(), order[rows, p].copy()
        order[rows, j], order[rows, p] = op, oj
    # row j of P^T A is row order[j] of A, so P[order[j], j] = 1
    P = xp.zeros((flat.shape[0], m, m))
    P[rows[:, None], order, xp.arange(m)[None, :]] = 1
    return P.reshape(batch + (m, m))


def first_zero_pivot(A):
    """Per matrix, the 1-based index of the first zero diagonal element of U (0: invertible)."""
    return lu_array(A)[2]


def raise_first_failure(info, shape, name, message, error=None):
    """torch's error for the first failed matrix: ``name: (Batch element i): message(info)``, a
    :class:`LinAlgError` unless ``error`` names another class."""
    flat = info.reshape(-1)
    bad = int(np.flatnonzero(backend.to_device(flat, "cpu") if not isinstance(flat, np.ndarray) else flat)[0])
    raise (error or LinAlgError)(f"{name}: {batch_prefix(shape, bad)}{message(int(flat[bad]))}")


# ---- array-level kernels (the vocabulary's array column) ----------------------------------------------------
def _broadcast_batch(A, B):
    xp = _xp(A)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return xp.broadcast_to(A, batch + A.shape[-2:]), xp.broadcast_to(B, batch + B.shape[-2:])


def solve_array(A, B):
    """``A^-1 B`` for matrices ``B`` (batch dims broadcast)."""
    A, B = _broadcast_batch(A, B)
    return _xp(A).linalg.solve(A, B)


def inv_array(A):
    return _xp(A).linalg.inv(A)


def _substitute(T, B, upper):
    """Forward / back substitution (trsm): zero pivots give inf/nan as LAPACK does, no error."""
    xp = _xp(T)
    n = T.shape[-1]
    X = xp.zeros(np.broadcast_shapes(T.shape[:-2], B.shape[:-2]) + B.shape[-2:], np.result_type(T, B))
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            acc = B[..., i, :] - (T[..., i:i + 1, :] @ X)[..., 0, :]
            X[..., i, :] = acc / T[..., i, i][..., None]
    return X


def solve_triangular_array(A, B, upper, left=True, unitriangular=False):
    """The solution of ``T X = B`` (``X T = B`` when not ``left``), ``T`` the upper / lower triangle of ``A``,
    with a unit diagonal when ``unitriangular``."""
    xp = _xp(A)
    T = xp.triu(A) if upper else xp.tril(A)
    if unitriangular:
        n = T.shape[-1]
        T = T * (1 - xp.eye(n, dtype=T.dtype)) + xp.eye(n, dtype=T.dtype)
    if not left:
        return _mT(solve_triangular_array(_mT(T), _mT(B), not upper))
    T, B = _broadcast_batch(T, B)
    try:
        return xp.linalg.solve(T, B)
    except np.linalg.LinAlgError:
        return _substitute(T, B, upper)


# ---- recorded primitives -----------------------------------------------------------------------------------
def _device_failed(result):
    """On CuPy, whether a factorisation may have failed: cuSOLVER reports through ``info``, which CuPy does not
    check by default, so a failure shows as non-finite values (confirmed, or not, on the input)."""
    xp = _xp(result)
    return xp is not np and not bool(xp.isfinite(result).all())


def solve(A, B, name="torch.linalg.solve"):
    """``X`` with ``A X = B`` for batches of matrices ``B`` (the caller turns vectors into columns)."""
    def singular(info):
        raise_first_failure(info, A.shape, name, lambda i: "The solver failed because the input matrix is singular.")

    try:
        X = solve_array(A._data, B._data)
    except np.linalg.LinAlgError:
        singular(first_zero_pivot(A._data))
    if _device_failed(X):
        info = first_zero_pivot(A._data)
        if info.any():
            singular(info)

    def rule(o, g, A_, X_):
        gB = o.linalg_solve(o.swapaxes(A_, -1, -2), g)
        return -o.matmul(gB, o.swapaxes(X_, -1, -2)), gB

    return record(X, (A, B), rule, "LinalgSolveEx", saved=(A, OUT))


def inv(A, name="linalg.inv"):
    def singular(info):
        raise_first_failure(info, A.shape, name, lambda i: (
            f"The diagonal element {i} is zero, the inversion could not be completed because the input "
            f"matrix is singular."))

    try:
        Ai = inv_array(A._data)
    except np.linalg.LinAlgError:
        singular(first_zero_pivot(A._data))
    if _device_failed(Ai):
        info = first_zero_pivot(A._data)
        if info.any():
            singular(info)

    def rule(o, g, Ai_):
        AiT = o.swapaxes(Ai_, -1, -2)
        return (-o.matmul(o.matmul(AiT, g), AiT),)

    return record(Ai, (A,), rule, "LinalgInvEx", saved=(OUT,))


def _expand_last2(o, x):
    return o.reshape(x, tuple(x.shape) + (1, 1))


def det(A):
    d = _xp(A._data).linalg.det(A._data)

    def rule(o, g, A_, d_):
        # d det / dA = det * A^-T (the adjugate's transpose); an exactly singular matrix gets a zero gradient,
        # as torch's (det times a finite matrix), from the inverse of the identity put in its place
        singular = _raw(d_) == 0
        if singular.any():
            A_ = o.where(singular[..., None, None], _eye_like(_raw(A_)), A_)
        return (_expand_last2(o, g * d_) * o.swapaxes(o.linalg_inv(A_), -1, -2),)

    return record(d, (A,), rule, "LinalgDet", saved=(A, OUT))


def slogdet(A):
    """``(sign, logabsdet)``; only ``logabsdet`` is differentiable (the sign of a real determinant is constant)."""
    sign, logabs = _xp(A._data).linalg.slogdet(A._data)

    def rule(o, g, A_):
        return (_expand_last2(o, g) * o.swapaxes(o.linalg_inv(A_), -1, -2),)

    return Tensor._wrap(_xp(sign).asarray(sign, A.dtype)), record(logabs, (A,), rule, "LinalgSlogdet", saved=(A,))


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


def cholesky(A, upper=False, check=True, name="linalg.cholesky"):
    """The Cholesky factor of ``A``'s lower triangle (its upper one when ``upper``), and potrf's ``info``."""
    X = A._data
    xp = _xp(X)
    src = _mT(X) if upper else X    # potrf with uplo='U' reads the upper triangle: the lower one of A^T
    try:
        L = xp.linalg.cholesky(src)
        info = xp.zeros(X.shape[:-2], np.int32)
        if _device_failed(L):
            raise np.linalg.LinAlgError("not positive-definite")
    except np.linalg.LinAlgError:
        L, info = _cholesky_info(src)
        if check:
            raise_first_failure(info, X.shape, name, lambda i: (
                f"The factorization could not be completed because the input is not positive-definite "
                f"(the leading minor of order {i} is not positive-definite)."))
        L = xp.where((info == 0)[..., None, None], xp.tril(L), L)
    out = _mT(L) if upper else L

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


def solve_triangular(A, B, upper, left=True, unitriangular=False):
    X = solve_triangular_array(A._data, B._data, upper, left, unitriangular)

    def rule(o, g, A_, X_):
        gB = o.solve_triangular(o.swapaxes(A_, -1, -2), g, not upper, left, unitriangular)
        gA = -o.matmul(gB, o.swapaxes(X_, -1, -2)) if left else -o.matmul(o.swapaxes(X_, -1, -2), gB)
        off = 1 if unitriangular else 0
        gA = o.triu(gA, off) if upper else o.tril(gA, -off)
        return gA, gB

    return record(X, (A, B), rule, "LinalgSolveTriangular", saved=(A, OUT))


def lu(A):
    """``(P, L, U, pivots, info)`` with ``A = P L U`` (L m x k unit lower, U k x n upper, k = min(m, n)) and
    getrf's pivots and info; L and U are differentiable."""
    X = A._data
    xp = _xp(X)
    m, n = X.shape[-2:]
    k = min(m, n)
    LUp, piv, info = lu_array(X)
    L = xp.tril(LUp[..., :, :k], -1) + xp.eye(m, k, dtype=X.dtype)
    U = xp.triu(LUp[..., :k, :])
    P = Tensor._wrap(pivots_to_permutation(piv, m).astype(X.dtype))

    def rule(o, gL, gU, L_, U_, P_):
        return (o.matmul(P_, _lu_grad(o, gL, gU, L_, U_, m, n)),)

    Lr = record(L, (A,), lambda o, g, L_, U_, P_: rule(o, g, None, L_, U_, P_), "LinalgLuBackward", saved=())
    Ur = record(U, (A,), lambda o, g, L_, U_, P_: rule(o, None, g, L_, U_, P_), "LinalgLuBackward", saved=())
    _save_joint((Lr, Ur), (P,))
    return P, Lr, Ur, piv, info


def _rows(o, X, lo, hi):
    return o.getitem(X, (Ellipsis, slice(lo, hi), slice(None)))


def _cols(o, X, lo, hi):
    return o.getitem(X, (Ellipsis, slice(None), slice(lo, hi)))


def _lu_grad(o, gL, gU, L, U, m, n):
    """The gradient of ``P^T A`` for ``P^T A = L U`` given those of L and U (either may be None).

    Square: L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T. Tall (m > n): the rows below, L2 = A2 U^-1, give
    gA2 = gL2 U^-T and add -L2^T gA2 to gU. Wide (m < n): the columns right, U2 = L^-1 A2, give
    gA2 = L^-T gU2 and add -gA2 U2^T to gL. The square block then takes the rest."""
    k = min(m, n)
    tail = None
    if m > n:
        L1, L2 = _rows(o, L, 0, k), _rows(o, L, k, m)
        if gL is not None:
            gL1, gL2 = _rows(o, gL, 0, k), _rows(o, gL, k, m)
            tail = o.solve_triangular(o.swapaxes(U, -1, -2), gL2, False, False, False)
            extra = -o.matmul(o.swapaxes(L2, -1, -2), tail)
            gL, gU = gL1, extra if gU is None else gU + extra
        L = L1
    elif m < n:
        U1, U2 = _cols(o, U, 0, k), _cols(o, U, k, n)
        if gU is not None:
            gU1, gU2 = _cols(o, gU, 0, k), _cols(o, gU, k, n)
            tail = o.solve_triangular(o.swapaxes(L, -1, -2), gU2, True, True, True)
            extra = -o.matmul(tail, o.swapaxes(U2, -1, -2))
            gU, gL = gU1, extra if gL is None else gL + extra
        U = U1
    inner = None
    if gL is not None:
        inner = o.tril(o.matmul(o.swapaxes(L, -1, -2), gL), -1)
    if gU is not None:
        part = o.triu(o.matmul(gU, o.swapaxes(U, -1, -2)), 0)
        inner = part if inner is None else inner + part
    Y = o.solve_triangular(o.swapaxes(L, -1, -2), inner, True, True, True)
    Y = o.solve_triangular(o.swapaxes(U, -1, -2), Y, False, False, False)
    if m == n:
        return Y
    if m > n:
        tail = tail if tail is not None else _zeros_block(o, Y, (m - n, n))
        return o.swapaxes(_cat_last(o, o.swapaxes(Y, -1, -2), o.swapaxes(tail, -1, -2)), -1, -2)
    tail = tail if tail is not None else _zeros_block(o, Y, (m, n - m))
    return _cat_last(o, Y, tail)


def _zeros_block(o, like, shape_):
    data = _raw(like)
    z = _xp(data).zeros(data.shape[:-2] + shape_, data.dtype)
    return Tensor._wrap(z) if isinstance(like, Tensor) else z


def _save_joint(outputs, extra=()):
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


def qr(A, mode="reduced"):
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
        return (_cat_last(o, gX, gY),)

    Qr = record(Q, (A,), lambda o, g, Q_, R_, A_: grad(o, g, None, Q_, R_, A_), "LinalgQr", saved=())
    Rr = record(R, (A,), lambda o, g, Q_, R_, A_: grad(o, None, g, Q_, R_, A_), "LinalgQr", saved=())
    _save_joint((Qr, Rr), (A,))
    return Qr, Rr


def _cat_last(o, a, b):
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


def _offdiag_reciprocal(o, E, like):
    """``1 / E`` off the diagonal, 0 on it (the diagonal is replaced before dividing, so no inf/nan leaks
    into a double backward)."""
    data = like._data if isinstance(like, Tensor) else like
    n = E.shape[-1]
    diag = _xp(data).eye(n, dtype=bool)
    with np.errstate(divide="ignore"):   # equal values give inf (then nan), as torch's, without NumPy's warning
        return o.where(~diag, 1 / o.where(diag, 1.0, E), 0.0)


def eigh(A, UPLO="L"):
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
    _save_joint((wr, Vr))
    return wr, Vr


def svd(A, full_matrices=True):
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
    _save_joint(rec)
    return rec


def pinv(A, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse, singular values (|eigenvalues| when ``hermitian``) at most
    ``max(atol, rtol * largest)`` treated as zero."""
    X = A._data
    xp = _xp(X)
    if hermitian:
        w, V = xp.linalg.eigh(X)
        s = xp.abs(w)
    else:
        U, s, Vh = xp.linalg.svd(X, full_matrices=False)
    keep = s > cutoff(X, s, atol, rtol)[..., None]
    with np.errstate(divide="ignore"):
        if hermitian:
            P = (V * xp.where(keep, 1 / xp.where(keep, w, 1), 0)[..., None, :]) @ _mT(V)
        else:
            P = (_mT(Vh) * xp.where(keep, 1 / xp.where(keep, s, 1), 0)[..., None, :]) @ _mT(U)

    def rule(o, g, A_, P_):
        # fixed-rank derivative: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
        PT = o.swapaxes(P_, -1, -2)
        gT = o.swapaxes(g, -1, -2)
        first = -o.matmul(o.matmul(PT, g), PT)
        left = o.matmul(gT, o.matmul(P_, PT))
        second = left - o.matmul(A_, o.matmul(P_, left))
        right = o.matmul(o.matmul(PT, P_), gT)
        third = right - o.matmul(o.matmul(right, P_), A_)
        return (first + second + third,)

    return record(xp.ascontiguousarray(P.astype(X.dtype)), (A,), rule, "LinalgPinv", saved=(A, OUT))


def cutoff(X, s, atol, rtol):
    """torch's threshold for pinv / matrix_rank: ``max(atol, rtol * s_max)``, per matrix; with neither given
    ``rtol = eps * max(m, n)``, with only ``atol`` given ``rtol = 0``."""
    xp = _xp(X)
    if rtol is None:
        rtol = 0.0 if atol is not None and not _is_zero(atol) else np.finfo(X.dtype).eps * max(X.shape[-2:])
    atol = 0.0 if atol is None else atol
    smax = s.max(-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    rt = rtol._data if isinstance(rtol, Tensor) else rtol
    at = atol._data if isinstance(atol, Tensor) else atol
    return xp.maximum(at, rt * smax)


def _is_zero(v):
    return not isinstance(v, Tensor) and v == 0


def cholesky_solve(B, F, upper=False):
    """``A^-1 B`` for ``A = L L^T`` (``U^T U`` when ``upper``) with the factor ``F``: potrs's two triangular
    solves. As torch, the gradient treats ``F`` as a full matrix in ``A = F F^T`` (``F^T F``)."""
    L = _mT(F._data) if upper else F._data
    X = solve_triangular_array(_mT(L), solve_triangular_array(L, B._data, False), True)

    def rule(o, g, F_, X_):
        Lo = o.swapaxes(F_, -1, -2) if upper else F_
        gB = o.solve_triangular(o.swapaxes(Lo, -1, -2), o.solve_triangular(Lo, g, False, True, False), True, True,
                                False)
        C = o.matmul(gB, o.swapaxes(X_, -1, -2))
        C = -(C + o.swapaxes(C, -1, -2))
        return (o.matmul(F_, C) if upper else o.matmul(C, F_)), gB

    return record(X, (F, B), rule, "CholeskySolve", saved=(F, OUT))


def eig(A, vectors=True):
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
