"""torch.linalg factorisations and solvers (and the torch-level names) against torch 2.13: values, dtypes,
shapes, return types, errors, first-order gradients against torch, and gradcheck / gradgradcheck in float64.

Factors determined only up to sign (eigenvectors, singular vectors, Q and R of QR) are compared through what
torch documents as unique: reconstructions, |R|, the projectors v v^T, the products u_i v_i^T."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as ag  # noqa: E402
from autograd.autograd import gradcheck, gradgradcheck  # noqa: E402

DTYPES = [np.float32, np.float64]
BATCHES = [(), (2,)]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _general(batch, n, dtype, seed=0):
    return (_rng(seed).standard_normal(batch + (n, n)) + 0.5 * np.eye(n)).astype(dtype)


def _spd(batch, n, dtype, seed=0):
    X = _rng(seed).standard_normal(batch + (n, n))
    return (X @ X.swapaxes(-1, -2) + n * np.eye(n)).astype(dtype)


def _rect(batch, m, n, dtype, seed=0):
    return _rng(seed).standard_normal(batch + (m, n)).astype(dtype)


def _mine(x, grad=False):
    return ag.tensor(x, requires_grad=grad)


def _theirs(x, grad=False):
    return torch.tensor(x, requires_grad=grad)


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _close(a, b, dtype=np.float64, scale=1.0):
    tol = TOL[np.dtype(dtype).type]
    np.testing.assert_allclose(_np(a), _np(b), rtol=tol["rtol"] * scale, atol=tol["atol"] * scale)


def _compare(fn_mine, fn_torch, X, dtype, project=None, grad=True, scale=1.0):
    """Values (through ``project``) and the gradient of a random linear functional of them, against torch."""
    a, t = _mine(X, grad), _theirs(X, grad)
    ra, rt = fn_mine(a), fn_torch(t)
    ra = ra if isinstance(ra, tuple) else (ra,)
    rt = rt if isinstance(rt, tuple) else (rt,)
    pa, pt = (project(*ra), project(*rt)) if project else (ra, rt)
    for x, y in zip(pa, pt):
        assert tuple(x.shape) == tuple(y.shape)
        assert _np(x).dtype == _np(y).dtype
        _close(x, y, dtype, scale)
    if grad:
        rng = _rng(7)
        ws = [rng.standard_normal(tuple(y.shape)).astype(dtype) for y in pt]
        sum(((x * ag.tensor(w)).sum() for x, w in zip(pa, ws)), ag.tensor(0.0, dtype=dtype)).backward()
        sum(((y * torch.tensor(w)).sum() for y, w in zip(pt, ws)), torch.tensor(0.0, dtype=torch.float64
                                                                                 if dtype == np.float64 else
                                                                                 torch.float32)).backward()
        _close(a.grad, t.grad, dtype, scale * (20 if dtype == np.float32 else 1))
    return ra, rt


def _mT(x):
    return x.swapaxes(-1, -2) if isinstance(x, np.ndarray) else x.transpose(-1, -2)


# ---- determinants, inverses, solvers -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_det_slogdet_inv(dtype, batch):
    X = _general(batch, 4, dtype)
    _compare(ag.linalg.det, torch.linalg.det, X, dtype)
    _compare(ag.det, torch.det, X, dtype)
    _compare(lambda a: tuple(ag.linalg.slogdet(a)), lambda t: tuple(torch.linalg.slogdet(t)), X, dtype)
    _compare(ag.linalg.inv, torch.linalg.inv, X, dtype, scale=5)
    _compare(lambda a: a.inverse(), lambda t: t.inverse(), X, dtype, scale=5)
    P = _spd(batch, 4, dtype)
    _compare(ag.logdet, torch.logdet, P, dtype)
    r = ag.linalg.slogdet(_mine(X))
    assert type(r).__name__ == "linalg_slogdet" and r.sign.dtype == ag.tensor(X).dtype


def test_logdet_negative_and_singular():
    X = np.diag([-1.0, 2.0])
    assert np.isnan(ag.logdet(_mine(X)).item()) and np.isnan(torch.logdet(_theirs(X)).item())
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    sign, logabs = ag.linalg.slogdet(_mine(S))
    tsign, tlogabs = torch.linalg.slogdet(_theirs(S))
    assert sign.item() == tsign.item() == 0 and logabs.item() == tlogabs.item() == -np.inf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_solve(dtype, batch):
    A = _general(batch, 3, dtype)
    B = _rect(batch, 3, 2, dtype, 1)
    _compare(lambda a: ag.linalg.solve(a, _mine(B)), lambda t: torch.linalg.solve(t, _theirs(B)), A, dtype, scale=5)
    _compare(lambda b: ag.linalg.solve(_mine(A), b), lambda b: torch.linalg.solve(_theirs(A), b), B, dtype, scale=5)
    v = B[..., 0]   # a vector right-hand side (1-D, or A's batch without a column)
    _compare(lambda a: ag.linalg.solve(a, _mine(v)), lambda t: torch.linalg.solve(t, _theirs(v)), A, dtype, scale=5)
    Bt = _mT(B)
    _compare(lambda a: ag.linalg.solve(a, _mine(Bt), left=False),
             lambda t: torch.linalg.solve(t, _theirs(Bt), left=False), A, dtype, scale=5)


def test_solve_broadcasts_batches():
    A = _general((3,), 2, np.float64)
    B = _rect((), 2, 4, np.float64)
    _compare(lambda a: ag.linalg.solve(a, _mine(B)), lambda t: torch.linalg.solve(t, _theirs(B)), A, np.float64)
    _compare(lambda b: ag.linalg.solve(_mine(A), b), lambda b: torch.linalg.solve(_theirs(A), b), B, np.float64)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_triangular(upper, left, unitriangular, dtype):
    A = _general((2,), 3, dtype) + 3 * np.eye(3, dtype=dtype)
    B = _rect((2,), 3, 2, dtype, 1)
    B = B if left else _mT(B).copy()
    _compare(lambda a: ag.linalg.solve_triangular(a, _mine(B), upper=upper, left=left, unitriangular=unitriangular),
             lambda t: torch.linalg.solve_triangular(t, _theirs(B), upper=upper, left=left,
                                                     unitriangular=unitriangular), A, dtype)


def test_solve_triangular_zero_pivot_gives_inf_not_error():
    A, B = np.zeros((2, 2)), np.ones((2, 1))
    mine = ag.linalg.solve_triangular(_mine(A), _mine(B), upper=True).numpy()
    theirs = torch.linalg.solve_triangular(_theirs(A), _theirs(B), upper=True).numpy()
    np.testing.assert_array_equal(np.isinf(mine), np.isinf(theirs))
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs))


@pytest.mark.parametrize("upper,transpose", [(True, False), (False, True), (False, False)])
def test_triangular_solve_torch_level(upper, transpose):
    A = _general((), 3, np.float64) + 3 * np.eye(3)
    B = _rect((), 3, 2, np.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(lambda a: tuple(ag.triangular_solve(_mine(B), a, upper, transpose)),
                 lambda t: tuple(torch.triangular_solve(_theirs(B), t, upper, transpose)), A, np.float64)


# ---- Cholesky ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(dtype, batch, upper):
    P = _spd(batch, 4, dtype)
    _compare(lambda a: ag.linalg.cholesky(a, upper=upper), lambda t: torch.linalg.cholesky(t, upper=upper), P, dtype)
    L, info = ag.linalg.cholesky_ex(_mine(P), upper=upper)
    assert info.dtype == ag.int32 and tuple(info.shape) == batch and not info.numpy().any()
    F = np.linalg.cholesky(P.astype(np.float64)).astype(dtype)
    F = _mT(F).copy() if upper else F
    B = _rect(batch, 4, 2, dtype, 3)
    _compare(lambda f: ag.cholesky_solve(_mine(B), f, upper), lambda f: torch.cholesky_solve(_theirs(B), f, upper),
             F, dtype, scale=5)
    _compare(lambda f: ag.cholesky_inverse(f, upper), lambda f: torch.cholesky_inverse(f, upper), F, dtype, scale=5)


def test_cholesky_errors():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ag.linalg.LinAlgError, match=r"^linalg.cholesky: The factorization could not be completed "
                       r"because the input is not positive-definite \(the leading minor of order 2 is not"):
        ag.linalg.cholesky(_mine(A))
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): The factorization"):
        ag.linalg.cholesky(_mine(np.stack([np.eye(2), A])))
    L, info = ag.linalg.cholesky_ex(_mine(A))
    tL, tinfo = torch.linalg.cholesky_ex(_theirs(A))
    assert info.item() == tinfo.item() == 2
    np.testing.assert_allclose(L.numpy(), tL.numpy())
    # upper=True reads the upper triangle, as torch
    U = np.array([[4.0, 5.0], [1.0, 3.0]])
    with pytest.raises(ag.linalg.LinAlgError):
        ag.linalg.cholesky(_mine(U), upper=True)
    assert issubclass(ag.linalg.LinAlgError, RuntimeError)


# ---- QR, eigh, SVD ------------------------------------------------------------------------------------------
def _qr_unique(Q, R):
    return Q @ R, _mT(Q) @ Q, R.abs()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5)])
def test_qr(dtype, batch, shape):
    X = _rect(batch, *shape, dtype)
    _compare(lambda a: tuple(ag.linalg.qr(a)), lambda t: tuple(torch.linalg.qr(t)), X, dtype, _qr_unique)
    Q, R = ag.linalg.qr(_mine(X), mode="complete")
    tQ, tR = torch.linalg.qr(_theirs(X), mode="complete")
    assert Q.shape == tQ.shape and R.shape == tR.shape
    _close(R.abs(), tR.abs(), dtype)
    e, r = ag.linalg.qr(_mine(X), mode="r")
    te, tr = torch.linalg.qr(_theirs(X), mode="r")
    assert tuple(e.shape) == tuple(te.shape) == (0,) and r.shape == tr.shape
    _close(r.abs(), tr.abs(), dtype)
    tq, tr = ag.qr(_mine(X)), torch.qr(_theirs(X))
    assert type(tq).__name__ == "qr" and tq.Q.shape == tr.Q.shape


def test_qr_backward_errors_as_torch():
    X = _mine(_rect((), 4, 3, np.float64), True)
    Q, R = ag.linalg.qr(X, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        (Q.sum() + R.sum()).backward()
    _, R = ag.linalg.qr(X, mode="r")
    with pytest.raises(RuntimeError, match="which is not computed when mode='r'"):
        R.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode 'x'"):
        ag.linalg.qr(X, mode="x")


def _eigh_unique(w, V):
    # each eigenvector up to sign: compare the rank-1 projectors
    return (w,) + tuple(V[..., :, i:i + 1] * _mT(V[..., :, i:i + 1]) for i in range(V.shape[-1]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(dtype, batch, uplo):
    X = _general(batch, 4, dtype)   # not symmetric: only the UPLO triangle is read
    _compare(lambda a: tuple(ag.linalg.eigh(a, uplo)), lambda t: tuple(torch.linalg.eigh(t, uplo)), X, dtype,
             _eigh_unique, scale=5)
    _compare(lambda a: ag.linalg.eigvalsh(a, uplo), lambda t: torch.linalg.eigvalsh(t, uplo), X, dtype)
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        ag.linalg.eigh(_mine(X), "X")


def _svd_unique(U, S, Vh):
    k = S.shape[-1]
    return (S, (U[..., :, :k] * S[..., None, :]) @ Vh[..., :k, :]) + tuple(
        U[..., :, i:i + 1] * Vh[..., i:i + 1, :] for i in range(k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
def test_svd(dtype, batch, shape):
    X = _rect(batch, *shape, dtype)
    _compare(lambda a: tuple(ag.linalg.svd(a, full_matrices=False)),
             lambda t: tuple(torch.linalg.svd(t, full_matrices=False)), X, dtype, _svd_unique, scale=5)
    _compare(lambda a: tuple(ag.linalg.svd(a)), lambda t: tuple(torch.linalg.svd(t)), X, dtype, _svd_unique, scale=5)
    _compare(ag.linalg.svdvals, torch.linalg.svdvals, X, dtype)
    U, S, V = ag.svd(_mine(X))
    tU, tS, tV = torch.svd(_theirs(X))
    assert U.shape == tU.shape and V.shape == tV.shape
    _close((U * S[..., None, :]) @ _mT(V), _theirs(X), dtype, 5)
    U, S, V = ag.svd(_mine(X), some=False)
    assert V.shape == torch.svd(_theirs(X), some=False).V.shape
    U, S, V = ag.svd(_mine(X), compute_uv=False)
    tU, tS, tV = torch.svd(_theirs(X), compute_uv=False)
    assert U.shape == tU.shape and V.shape == tV.shape and not U.numpy().any()
    _close(S, tS, dtype)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_matrix_norm_spectral_nuclear(ord):  # noqa: A002
    X = _rect((2,), 3, 4, np.float64)
    _compare(lambda a: ag.linalg.matrix_norm(a, ord), lambda t: torch.linalg.matrix_norm(t, ord), X, np.float64)
    _compare(lambda a: ag.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
             lambda t: torch.linalg.matrix_norm(t, ord, dim=(0, 2), keepdim=True), X, np.float64)


# ---- pinv, rank, lstsq, cond --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
def test_pinv(dtype, batch, shape):
    X = _rect(batch, *shape, dtype)
    _compare(ag.linalg.pinv, torch.linalg.pinv, X, dtype, scale=5)
    _compare(lambda a: a.pinverse(), lambda t: t.pinverse(), X, dtype, scale=5)


def test_pinv_hermitian_tolerances_and_rank():
    P = _spd((2,), 3, np.float64)
    _compare(lambda a: ag.linalg.pinv(a, hermitian=True), lambda t: torch.linalg.pinv(t, hermitian=True), P,
             np.float64)
    D = np.diag([3.0, 1e-3, 0.0])
    for kw in [{}, dict(atol=1e-2), dict(rtol=1e-2), dict(atol=1e-4, rtol=0.0)]:
        np.testing.assert_allclose(ag.linalg.pinv(_mine(D), **kw).numpy(), torch.linalg.pinv(_theirs(D), **kw).numpy())
        for herm in (False, True):
            r = ag.linalg.matrix_rank(_mine(D), hermitian=herm, **kw)
            tr = torch.linalg.matrix_rank(_theirs(D), hermitian=herm, **kw)
            assert r.dtype == ag.int64 and r.item() == tr.item()
    X = _rect((3,), 4, 2, np.float32) @ _rect((3,), 2, 4, np.float32, 1)   # rank 2
    np.testing.assert_array_equal(ag.linalg.matrix_rank(_mine(X)).numpy(), torch.linalg.matrix_rank(_theirs(X)).numpy())


@pytest.mark.parametrize("driver", [None, "gels", "gelsd", "gelss"])
@pytest.mark.parametrize("batch", BATCHES)
def test_lstsq(driver, batch):
    A = _rect(batch, 5, 3, np.float64)
    B = _rect(batch, 5, 2, np.float64, 1)
    mine = ag.linalg.lstsq(_mine(A), _mine(B), driver=driver)
    theirs = torch.linalg.lstsq(_theirs(A), _theirs(B), driver=driver)
    assert type(mine).__name__ == "linalg_lstsq"
    for x, y in zip(mine, theirs):
        assert tuple(x.shape) == tuple(y.shape) and x.numpy().dtype == y.numpy().dtype
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-9, atol=1e-10)
    _compare(lambda a: ag.linalg.lstsq(a, _mine(B), driver=driver).solution,
             lambda t: torch.linalg.lstsq(t, _theirs(B), driver=driver).solution, A, np.float64)
    v = B[..., 0]   # vectors: B with one dim less than A
    for x, y in zip(ag.linalg.lstsq(_mine(A), _mine(v), driver=driver),
                    torch.linalg.lstsq(_theirs(A), _theirs(v), driver=driver)):
        assert tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-9, atol=1e-10)
    W, Bw = _rect(batch, 3, 5, np.float64, 2), _rect(batch, 3, 2, np.float64, 3)   # wide: minimum-norm solution
    for x, y in zip(ag.linalg.lstsq(_mine(W), _mine(Bw), driver=driver),
                    torch.linalg.lstsq(_theirs(W), _theirs(Bw), driver=driver)):
        assert tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-9, atol=1e-10)
    with pytest.raises(RuntimeError, match="parameter `driver` should be one of"):
        ag.linalg.lstsq(_mine(A), _mine(B), driver="foo")
    with pytest.raises(RuntimeError, match=r"input.dim\(\) must be greater or equal to other.dim\(\)"):
        ag.linalg.lstsq(_mine(A), _mine(B[None]))


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", np.inf, -np.inf, 1, -1])
def test_cond(p):
    X = _general((2,), 3, np.float64)
    _compare(lambda a: ag.linalg.cond(a, p), lambda t: torch.linalg.cond(t, p), X, np.float64,
             grad=p in (None, 2, -2, "nuc"))   # torch's own backward of cond(p='fro' / inf / 1) fails
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    if p not in (None, 2, -2, "nuc"):   # from the singular values, torch's is rounding noise there
        assert ag.linalg.cond(_mine(S), p).item() == torch.linalg.cond(_theirs(S), p).item() == np.inf


# ---- LU -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_lu_factor_and_lu(dtype, batch):
    X = _general(batch, 4, dtype)
    _compare(lambda a: tuple(ag.linalg.lu(a)), lambda t: tuple(torch.linalg.lu(t)), X, dtype, scale=5)
    LU, piv = ag.linalg.lu_factor(_mine(X))
    tLU, tpiv = torch.linalg.lu_factor(_theirs(X))
    assert piv.dtype == ag.int32
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    _compare(lambda a: ag.linalg.lu_factor(a).LU, lambda t: torch.linalg.lu_factor(t).LU, X, dtype, scale=5)
    for shape in [(3, 5), (5, 3)]:   # rectangular: values and pivots
        R = _rect(batch, *shape, dtype)
        P, L, U = ag.linalg.lu(_mine(R))
        tP, tL, tU = torch.linalg.lu(_theirs(R))
        for x, y in [(P, tP), (L, tL), (U, tU)]:
            _close(x, y, dtype, 5)
        np.testing.assert_array_equal(ag.linalg.lu_factor(_mine(R)).pivots.numpy(),
                                      torch.linalg.lu_factor(_theirs(R)).pivots.numpy())


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve(left, adjoint):
    X = _general((2,), 3, np.float64)
    tLU, tpiv = torch.linalg.lu_factor(_theirs(X))
    B = _rect((2,), 3, 2, np.float64, 1)
    B = B if left else _mT(B).copy()
    piv = ag.tensor(tpiv.numpy())
    _compare(lambda lu: ag.linalg.lu_solve(lu, piv, _mine(B), left=left, adjoint=adjoint),
             lambda lu: torch.linalg.lu_solve(lu, tpiv, _theirs(B), left=left, adjoint=adjoint), tLU.numpy(),
             np.float64)
    _compare(lambda b: ag.linalg.lu_solve(_mine(tLU.numpy()), piv, b, left=left, adjoint=adjoint),
             lambda b: torch.linalg.lu_solve(tLU, tpiv, b, left=left, adjoint=adjoint), B, np.float64)


def test_lu_errors_and_info():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"torch.linalg.lu_factor: U\[2,2\] is zero") as info:
        ag.linalg.lu_factor(_mine(S))
    assert not isinstance(info.value, ag.linalg.LinAlgError)   # as torch's
    with pytest.raises(RuntimeError, match=r"torch.linalg.lu_factor: \(Batch element 1\): U\[2,2\] is zero"):
        ag.linalg.lu_factor(_mine(np.stack([np.eye(2), S])))
    LU, piv, info = ag.linalg.lu_factor_ex(_mine(S))
    tLU, tpiv, tinfo = torch.linalg.lu_factor_ex(_theirs(S))
    assert info.item() == tinfo.item() == 2 and info.dtype == ag.int32
    np.testing.assert_allclose(LU.numpy(), tLU.numpy())
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented on the CPU"):
        ag.linalg.lu_factor(_mine(S), pivot=False)


# ---- powers, exponential, products ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 5, -1, -3])
@pytest.mark.parametrize("batch", BATCHES)
def test_matrix_power(n, batch):
    X = _general(batch, 3, np.float64)
    _compare(lambda a: ag.linalg.matrix_power(a, n), lambda t: torch.linalg.matrix_power(t, n), X, np.float64,
             grad=n != 0, scale=10)
    _compare(lambda a: a.matrix_power(n), lambda t: t.matrix_power(n), X, np.float64, grad=False, scale=10)


def test_matrix_power_integer():
    M = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(ag.linalg.matrix_power(ag.tensor(M), 3).numpy(),
                                  torch.linalg.matrix_power(torch.tensor(M), 3).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("size", [0.1, 3.0, 20.0])
def test_matrix_exp(dtype, batch, size):
    X = (_rect(batch, 3, 3, dtype) * size / 3).astype(dtype)
    _compare(ag.linalg.matrix_exp, torch.linalg.matrix_exp, X, dtype, scale=50 if size > 10 else 5)
    _compare(ag.matrix_exp, torch.matrix_exp, X, dtype, grad=False, scale=50 if size > 10 else 5)


def test_multi_dot_vecdot_diagonal():
    rng = _rng(3)
    mats = [rng.standard_normal(4), rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)]
    np.testing.assert_allclose(ag.linalg.multi_dot([ag.tensor(m) for m in mats]).numpy(),
                               torch.linalg.multi_dot([torch.tensor(m) for m in mats]).numpy())
    _compare(lambda a: ag.linalg.multi_dot([a, _mine(mats[2])]), lambda t: torch.linalg.multi_dot([t, _theirs(mats[2])]),
             mats[1], np.float64)
    with pytest.raises(RuntimeError, match="expected at least 2 tensors but got 1"):
        ag.linalg.multi_dot([ag.tensor(mats[1])])
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(3)
    _compare(lambda a: ag.linalg.vecdot(a, _mine(y)), lambda t: torch.linalg.vecdot(t, _theirs(y)), x, np.float64)
    X = rng.standard_normal((2, 3, 4))
    _compare(lambda a: ag.linalg.diagonal(a, offset=1), lambda t: torch.linalg.diagonal(t, offset=1), X, np.float64)


# ---- errors --------------------------------------------------------------------------------------------------
def test_singular_inverse_and_solve_raise_linalg_error():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ag.linalg.LinAlgError, match=r"^linalg.inv: The diagonal element 2 is zero, the inversion "
                       r"could not be completed because the input matrix is singular."):
        ag.linalg.inv(_mine(S))
    with pytest.raises(ag.linalg.LinAlgError, match=r"^linalg.inv: \(Batch element 1\): The diagonal element 2"):
        ag.linalg.inv(_mine(np.stack([np.eye(2), S])))
    with pytest.raises(ag.linalg.LinAlgError, match="torch.linalg.solve: The solver failed because the input matrix "
                       "is singular."):
        ag.linalg.solve(_mine(S), _mine(np.ones(2)))
    with pytest.raises(ag.linalg.LinAlgError, match=r"^torch.linalg.solve: \(Batch element 1\): The solver failed"):
        ag.linalg.solve(_mine(np.stack([np.eye(2), S])), _mine(np.ones((2, 2))))
    with pytest.raises(ag.linalg.LinAlgError, match="^torch.linalg.solve_ex: The solver failed"):
        ag.linalg.solve_ex(_mine(S), _mine(np.ones(2)), check_errors=True)
    with pytest.raises(ag.linalg.LinAlgError, match="^linalg.inv_ex: The diagonal element 2 is zero"):
        ag.linalg.inv_ex(_mine(S), check_errors=True)
    inv, info = ag.linalg.inv_ex(_mine(np.stack([np.eye(2), S])))
    np.testing.assert_array_equal(info.numpy(), torch.linalg.inv_ex(_theirs(np.stack([np.eye(2), S]))).info.numpy())
    np.testing.assert_allclose(inv.numpy()[0], np.eye(2))


@pytest.mark.parametrize("name", ["det", "slogdet", "inv", "cholesky", "eigh", "eigvalsh", "matrix_power"])
def test_input_checks(name):
    fn = getattr(ag.linalg, name)
    tfn = getattr(torch.linalg, name)
    args = (2,) if name == "matrix_power" else ()
    for bad in [np.zeros((2, 3)), np.zeros(3)]:
        with pytest.raises(RuntimeError) as mine:
            fn(ag.tensor(bad), *args)
        with pytest.raises(RuntimeError) as theirs:
            tfn(torch.tensor(bad), *args)
        assert str(mine.value) == str(theirs.value)
    if name != "matrix_power":   # torch's messages here vary by op (some are dispatch errors): the class only
        for bad in [np.zeros((2, 2), np.int64), np.zeros((2, 2), np.float16)]:
            with pytest.raises(RuntimeError):
                fn(ag.tensor(bad))
            with pytest.raises(RuntimeError):
                tfn(torch.tensor(bad))


def test_solve_shape_errors():
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation AX = B \(2x2 and 3x1\)"):
        ag.linalg.solve(ag.eye(2), ag.ones(3))
    with pytest.raises(RuntimeError, match="The input tensor B must have at least 2 dimensions"):
        ag.linalg.solve_triangular(ag.eye(2), ag.ones(2), upper=True)


# ---- gradcheck / gradgradcheck in float64 --------------------------------------------------------------------
def _gg(fn, *inputs, second=True):
    ts = tuple(ag.tensor(x, requires_grad=True) for x in inputs)
    assert gradcheck(fn, ts, eps=1e-6, atol=1e-5, rtol=1e-3)
    if second:
        assert gradgradcheck(fn, ts, eps=1e-6, atol=1e-5, rtol=1e-3)


def _sym(fn):
    return lambda a: fn(a + a.transpose(-1, -2))


GRAD_CASES = {
    "det": (lambda a: ag.linalg.det(a), lambda: (_general((2,), 3, np.float64),)),
    "slogdet": (lambda a: ag.linalg.slogdet(a).logabsdet, lambda: (_general((2,), 3, np.float64),)),
    "inv": (ag.linalg.inv, lambda: (_general((), 3, np.float64),)),
    "solve": (ag.linalg.solve, lambda: (_general((2,), 3, np.float64), _rect((2,), 3, 2, np.float64, 1))),
    "solve_triangular": (lambda a, b: ag.linalg.solve_triangular(a, b, upper=False),
                         lambda: (_general((), 3, np.float64) + 3 * np.eye(3), _rect((), 3, 2, np.float64, 1))),
    "cholesky": (_sym(lambda a: ag.linalg.cholesky(a + 6 * ag.eye(3, dtype=ag.float64))),
                 lambda: (_rect((2,), 3, 3, np.float64),)),
    # the factor's upper triangle is not read: torch's gradient there is that of F F^T, so check through tril
    "cholesky_solve": (lambda b, f: ag.cholesky_solve(b, f.tril()), lambda: (_rect((), 3, 2, np.float64),
                                                                     np.tril(_general((), 3, np.float64, 1)) +
                                                                     3 * np.eye(3))),
    "qr_tall": (lambda a: tuple(ag.linalg.qr(a)), lambda: (_rect((), 4, 3, np.float64),)),
    "qr_wide": (lambda a: tuple(ag.linalg.qr(a)), lambda: (_rect((), 2, 4, np.float64),)),
    "eigh": (_sym(lambda a: _eigh_unique(*ag.linalg.eigh(a))), lambda: (_rect((2,), 3, 3, np.float64),)),
    "svd": (lambda a: _svd_unique(*ag.linalg.svd(a, full_matrices=False)), lambda: (_rect((), 4, 3, np.float64),)),
    "svd_wide": (lambda a: _svd_unique(*ag.linalg.svd(a, full_matrices=False)), lambda: (_rect((), 2, 3, np.float64),)),
    "pinv": (ag.linalg.pinv, lambda: (_rect((), 4, 3, np.float64),)),
    "lu": (lambda a: tuple(ag.linalg.lu(a))[1:], lambda: (_general((), 3, np.float64),)),
    "matrix_exp": (ag.linalg.matrix_exp, lambda: (_rect((2,), 3, 3, np.float64),)),
    "lstsq": (lambda a, b: ag.linalg.lstsq(a, b).solution,
              lambda: (_rect((), 4, 3, np.float64), _rect((), 4, 2, np.float64, 1))),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, make = GRAD_CASES[name]
    _gg(fn, *make())


# ---- the rest of the namespace, rectangular LU, eig, torch-level names -------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
@pytest.mark.parametrize("batch", BATCHES)
def test_lu_rectangular_gradients(shape, batch):
    X = _rect(batch, *shape, np.float64)
    _compare(lambda a: tuple(ag.linalg.lu(a)), lambda t: tuple(torch.linalg.lu(t)), X, np.float64)
    _compare(lambda a: ag.linalg.lu_factor(a).LU, lambda t: torch.linalg.lu_factor(t).LU, X, np.float64)
    if not batch:
        _gg(lambda a: tuple(ag.linalg.lu(a))[1:], X)


def test_lu_unpack_and_torch_lu():
    X = _general((2,), 3, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LU, piv = ag.lu(_mine(X))
        tLU, tpiv = torch.lu(_theirs(X))
        _, _, info = ag.lu(_mine(X), get_infos=True)
    np.testing.assert_allclose(LU.numpy(), tLU.numpy(), rtol=1e-12)
    assert not info.numpy().any()
    _compare(lambda lu: tuple(ag.lu_unpack(lu, piv)), lambda lu: tuple(torch.lu_unpack(lu, tpiv)), tLU.numpy(),
             np.float64)
    B = _rect((2,), 3, 1, np.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(_mine(B).lu_solve(LU, piv).numpy(), _theirs(B).lu_solve(tLU, tpiv).numpy(),
                                   rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_eig_eigvals(dtype, batch):
    X = _rect(batch, 4, 4, dtype)
    w, V = ag.linalg.eig(_mine(X))
    tw, tV = torch.linalg.eig(_theirs(X))
    assert w.numpy().dtype == tw.numpy().dtype and V.numpy().dtype == tV.numpy().dtype
    np.testing.assert_allclose(np.sort_complex(w.numpy().reshape(-1)), np.sort_complex(tw.numpy().reshape(-1)),
                               **TOL[dtype])
    np.testing.assert_allclose(X @ V.numpy(), V.numpy() * w.numpy()[..., None, :], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(V.numpy(), axis=-2), 1, rtol=1e-5)
    np.testing.assert_allclose(ag.linalg.eigvals(_mine(X)).numpy(), w.numpy())
    y = ag.linalg.eigvals(_mine(X, True))
    with pytest.raises(NotImplementedError, match="linalg.eig"):
        y.backward(ag.tensor(np.ones(tuple(y.shape), y.numpy().dtype)))


def test_householder_product():
    A = _rect((2,), 5, 3, np.float64)
    a, tau = torch.geqrf(_theirs(A))
    _compare(lambda x: ag.linalg.householder_product(x, _mine(tau.numpy())),
             lambda x: torch.linalg.householder_product(x, tau), a.numpy(), np.float64)
    _compare(lambda t_: ag.linalg.householder_product(_mine(a.numpy()), t_),
             lambda t_: torch.linalg.householder_product(a, t_), tau.numpy(), np.float64)
    with pytest.raises(RuntimeError, match="input.shape\\[-2\\] must be greater than or equal to input.shape\\[-1\\]"):
        ag.linalg.householder_product(ag.ones(2, 3), ag.ones(1))


def test_vander_tensorinv_tensorsolve_matmul():
    x = np.array([0.0, 1.5, -2.0])
    _compare(lambda a: ag.linalg.vander(a, N=4), lambda t: torch.linalg.vander(t, N=4), x, np.float64)
    np.testing.assert_array_equal(ag.linalg.vander(ag.tensor([1, 2, 3])).numpy(),
                                  torch.linalg.vander(torch.tensor([1, 2, 3])).numpy())
    T = _rect((), 6, 6, np.float64).reshape(2, 3, 6) + np.eye(6).reshape(2, 3, 6)
    _compare(lambda a: ag.linalg.tensorinv(a, 2), lambda t: torch.linalg.tensorinv(t, 2), T, np.float64)
    B = _rect((), 2, 3, np.float64, 1)
    _compare(lambda a: ag.linalg.tensorsolve(a, _mine(B)), lambda t: torch.linalg.tensorsolve(t, _theirs(B)), T,
             np.float64)
    Tm = np.moveaxis(T, 2, 0).copy()
    _compare(lambda a: ag.linalg.tensorsolve(a, _mine(B), dims=(0,)),
             lambda t: torch.linalg.tensorsolve(t, _theirs(B), dims=(0,)), Tm, np.float64)
    M = _rect((), 3, 2, np.float64)
    _compare(lambda a: ag.linalg.matmul(a, _mine(M.T.copy())), lambda t: torch.linalg.matmul(t, _theirs(M.T.copy())),
             M, np.float64)


def test_solve_ex_singular_reports_info():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    X, info = ag.linalg.solve_ex(_mine(S), _mine(np.ones(2)))
    tX, tinfo = torch.linalg.solve_ex(_theirs(S), _theirs(np.ones(2)))
    assert info.item() == tinfo.item() == 2 and not np.isfinite(X.numpy()).all()
    X, info = ag.linalg.solve_ex(_mine(np.eye(2) * 2), _mine(np.ones(2)))
    np.testing.assert_allclose(X.numpy(), [0.5, 0.5])
    assert info.item() == 0


def test_det_gradient_of_singular_matrix_is_torchs():
    S = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    _compare(ag.linalg.det, torch.linalg.det, S, np.float64)


def test_tensor_methods():
    P = _spd((), 3, np.float64)
    F = np.linalg.cholesky(P)
    B = _rect((), 3, 2, np.float64, 1)
    for name in ["det", "logdet", "inverse", "pinverse", "matrix_exp"]:
        np.testing.assert_allclose(getattr(_mine(P), name)().numpy(), getattr(_theirs(P), name)().numpy(), rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(_mine(P).cholesky().numpy(), _theirs(P).cholesky().numpy(), rtol=1e-12)
        np.testing.assert_allclose(_mine(B).triangular_solve(_mine(F), upper=False).solution.numpy(),
                                   _theirs(B).triangular_solve(_theirs(F), upper=False).solution.numpy(), rtol=1e-10)
        Q, R = _mine(P).qr()
    np.testing.assert_allclose((Q @ R).numpy(), P, rtol=1e-10)
    np.testing.assert_allclose(_mine(B).cholesky_solve(_mine(F)).numpy(),
                               _theirs(B).cholesky_solve(_theirs(F)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(_mine(F).cholesky_inverse().numpy(), _theirs(F).cholesky_inverse().numpy(), rtol=1e-10)
    np.testing.assert_allclose(_mine(P).slogdet().logabsdet.numpy(), _theirs(P).slogdet().logabsdet.numpy())
    np.testing.assert_allclose(_mine(P).svd().S.numpy(), _theirs(P).svd().S.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_mine(P).matrix_power(3).numpy(), _theirs(P).matrix_power(3).numpy(), rtol=1e-12)


def test_deprecated_names_warn_and_chain_matmul():
    with pytest.warns(UserWarning, match="deprecated"):
        ag.chain_matmul(ag.eye(2), ag.ones(2, 2))
    mats = [_rect((), 2, 3, np.float64), _rect((), 3, 4, np.float64, 1), _rect((), 4, 2, np.float64, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(ag.chain_matmul(*map(_mine, mats)).numpy(),
                                   torch.chain_matmul(*map(_theirs, mats)).numpy(), rtol=1e-12)


def test_factors_under_saved_tensor_hooks():
    from autograd.autograd.graph import saved_tensors_hooks

    X = _rect((), 3, 3, np.float64)
    packed = []
    results = []
    for lib, hooks in [(ag, saved_tensors_hooks), (torch, torch.autograd.graph.saved_tensors_hooks)]:
        a = lib.tensor(X, requires_grad=True)
        with hooks(lambda t: (packed.append(lib), t)[1], lambda t: t):
            w, V = lib.linalg.eigh(a + a.transpose(-1, -2))
            U, S, Vh = lib.linalg.svd(a)
        (w.sum() + (V[:, :1] * V[:, :1].transpose(0, 1)).sum() + S.sum()).backward()
        results.append(a.grad.numpy())
    assert ag in packed and torch in packed
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-12)


GRAD_CASES.update({
    "householder_product": (ag.linalg.householder_product,
                            lambda: tuple(t.numpy() for t in torch.geqrf(torch.tensor(_rect((), 4, 3, np.float64))))),
    "vander": (lambda x: ag.linalg.vander(x, N=4), lambda: (np.array([0.0, 1.5, -2.0]),)),
    "cond": (ag.linalg.cond, lambda: (_general((), 3, np.float64),)),
    "matrix_norm_nuc": (lambda a: ag.linalg.matrix_norm(a, "nuc"), lambda: (_rect((), 3, 4, np.float64),)),
    "lu_solve": (lambda lu, b: ag.linalg.lu_solve(lu, ag.tensor(np.array([2, 3, 3], np.int32)), b),
                 lambda: (_general((), 3, np.float64) + 3 * np.eye(3), _rect((), 3, 2, np.float64, 1))),
})


# ---- CuPy: the same functions on a real GPU (the CuPy stand-in has no cupy.linalg) -------------------------
def _real_gpu():
    from conftest import FAKE_CUPY  # noqa: PLC0415

    return not FAKE_CUPY and ag.cuda.is_available()


GPU_CASES = {
    "det": lambda L, a, b: L.linalg.det(a),
    "inv": lambda L, a, b: L.linalg.inv(a),
    "solve": lambda L, a, b: L.linalg.solve(a, b),
    "cholesky": lambda L, a, b: L.linalg.cholesky(a @ a.transpose(-1, -2) + 3 * L.eye(3, dtype=a.dtype,
                                                                                       device=a.device)),
    "qr": lambda L, a, b: _qr_unique(*L.linalg.qr(a))[0],
    "eigh": lambda L, a, b: L.linalg.eigh(a + a.transpose(-1, -2)).eigenvalues,
    "svd": lambda L, a, b: _svd_unique(*L.linalg.svd(a, full_matrices=False))[1],
    "pinv": lambda L, a, b: L.linalg.pinv(a),
    "lu_factor": lambda L, a, b: L.linalg.lu_factor(a).LU,
    "solve_triangular": lambda L, a, b: L.linalg.solve_triangular(a + 3 * L.eye(3, dtype=a.dtype, device=a.device),
                                                                  b, upper=True),
    "matrix_exp": lambda L, a, b: L.linalg.matrix_exp(a),
}


@pytest.mark.skipif(not _real_gpu(), reason="needs CuPy and a CUDA GPU")
@pytest.mark.parametrize("name", sorted(GPU_CASES))
def test_cuda_matches_cpu(name):
    A_, B_ = _general((2,), 3, np.float64), _rect((2,), 3, 2, np.float64, 1)
    out = []
    for dev in ("cpu", "cuda"):
        a = ag.tensor(A_, device=dev, requires_grad=True)
        r = GPU_CASES[name](ag, a, ag.tensor(B_, device=dev))
        r.sum().backward()
        assert r.device.type == dev
        out.append((r.detach().cpu().numpy(), a.grad.cpu().numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-8, atol=1e-9)
    S = ag.tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), device="cuda")
    with pytest.raises(ag.linalg.LinAlgError):
        ag.linalg.inv(S)
