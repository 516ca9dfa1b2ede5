"""AdaHessian and SophiaH against pytorch_optimizer 4.1.0: several steps of a small non-quadratic model trained
with ``loss.backward(create_graph=True)`` (two param groups, float64 and float32, weight decay variants, update
periods, several noise samples, maximize, an external ``step(hessian=...)``); state layout; state_dict resume;
constructor and step errors.

Identical noise on both sides: the reference draws z with ``torch.randint_like(p, 0, 2) * 2 - 1`` (Rademacher)
or ``torch.randn_like(p)`` (Gaussian) inside ``compute_hutchinson_hessian``; ours draws through the one function
``minitorch_optim.contrib.hessian.hutchinson_noise``. ``SharedNoise`` replaces both for the test's duration (with
pytest's monkeypatch): the torch side takes its values from one seeded NumPy generator and records each z it
produced (for Rademacher, the +-1 the reference forms from the 0/1 bits), and our side then consumes the
recorded z in the same order, checking the distribution asked for and the shape. The reference steps first
each step, so the queue must be empty after ours.

The model uses ops that are twice differentiable in autograd today (indexing, broadcasting mul/add, tanh,
exp, full sums).
"""
from collections import deque

import numpy as np
import pytest

import autograd as ag
from minitorch_optim import contrib as C
from minitorch_optim.contrib import hessian as H
from _contrib_reference import as_np, check_resume  # noqa: F401

pytestmark = pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True")

TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=2e-5, atol=1e-6)}
SHAPES = [(3, 4), (4,), (4,)]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def PO():
    po = pytest.importorskip("pytorch_optimizer")
    if getattr(po, "__version__", "4.1.0") != "4.1.0":
        pytest.skip("reference numbers are pytorch_optimizer 4.1.0's")
    return po


class SharedNoise:
    """The same z for the reference (through torch's draws) and for ours (through ``hutchinson_noise``)."""

    def __init__(self, torch, monkeypatch, seed=5):
        self.torch, self.rng, self.queue = torch, np.random.default_rng(seed), deque()
        monkeypatch.setattr(torch, "randn_like", self._randn_like)
        monkeypatch.setattr(torch, "randint_like", self._randint_like)
        monkeypatch.setattr(H, "hutchinson_noise", self._ours)

    def _randn_like(self, p, *args, **kwargs):
        z = self.rng.standard_normal(tuple(p.shape))
        self.queue.append(("gaussian", z))
        return self.torch.tensor(z, dtype=p.dtype)

    def _randint_like(self, p, low, high, *args, **kwargs):
        assert (low, high) == (0, 2)
        bits = self.rng.integers(low, high, tuple(p.shape))
        self.queue.append(("rademacher", bits * 2.0 - 1.0))
        return self.torch.tensor(bits, dtype=p.dtype)

    def _ours(self, p, distribution):
        kind, z = self.queue.popleft()
        assert kind == distribution and z.shape == tuple(p.shape)
        return ag.tensor(z.astype(p.numpy().dtype))


def loss_of(ps, k, as_t):
    """A small tanh layer with a quartic and an exponential term: every gradient depends on every param."""
    r = np.random.default_rng(100 + k)
    x, y = as_t(r.standard_normal((5, 3))), as_t(r.standard_normal((5, 4)))
    w, b, v = ps
    h = x[:, 0:1] * w[0] + x[:, 1:2] * w[1] + x[:, 2:3] * w[2] + b
    o = h.tanh() * v - y
    return (o * o).sum() * 0.5 + (w * w * w * w).sum() * 0.05 + b.exp().sum() * 0.1


def loss_mlp(ps, k, as_t):
    """The same layer through matmul and per-row reductions (twice differentiable since the reduction and
    matmul rules moved to the op vocabulary)."""
    r = np.random.default_rng(100 + k)
    x, y = as_t(r.standard_normal((5, 3))), as_t(r.standard_normal((5,)))
    w, b, v = ps
    o = ((x @ w + b).tanh() * v).sum(1) - y
    return (o * o).mean() + (w * w * w * w).sum() * 0.05


def init(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def groups(ps, two):
    return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.03}] if two else list(ps)


class Run:
    """Ours and the reference from the same start, the same batches, the same noise."""

    def __init__(self, torch, PO, name, kw, dtype=np.float64, two=True, loss=loss_of):
        self.torch, self.dtype, self.loss = torch, dtype, loss
        tdt = torch.float64 if dtype == np.float64 else torch.float32
        a = init(dtype)
        self.tp = [torch.tensor(x.copy(), dtype=tdt, requires_grad=True) for x in a]
        self.op = [ag.nn.Parameter(ag.tensor(x.copy())) for x in a]
        self.ref = getattr(PO, name)(groups(self.tp, two), **kw)
        self.ours = getattr(C, name)(groups(self.op, two), **kw)
        self.tdt, self.k = tdt, 0

    def step(self, noise, n=1, hessian=None):
        for _ in range(n):
            self.k += 1
            self.loss(self.tp, self.k, lambda x: self.torch.tensor(x, dtype=self.tdt)).backward(create_graph=True)
            self.ref.step(hessian=None if hessian is None else [self.torch.tensor(h) for h in hessian])
            self.ref.zero_grad(set_to_none=True)
            self.loss(self.op, self.k, lambda x: ag.tensor(x.astype(self.dtype))).backward(create_graph=True)
            self.ours.step(hessian=None if hessian is None else [ag.tensor(h) for h in hessian])
            self.ours.zero_grad(set_to_none=True)
            assert not noise.queue, "ours drew fewer noise tensors than the reference"

    def check(self):
        tol = TOL[self.dtype]
        for i, (t, o) in enumerate(zip(self.tp, self.op)):
            np.testing.assert_allclose(as_np(o), as_np(t), **tol, err_msg=f"param {i} step {self.k}")
            rs, os_ = self.ref.state[t], self.ours.state[o]
            assert list(os_) == list(rs), (list(os_), list(rs))
            for key in rs:
                np.testing.assert_allclose(as_np(os_[key]), as_np(rs[key]), **tol, err_msg=f"{key} param {i}")
        for rg, og in zip(self.ref.param_groups, self.ours.param_groups):
            assert {k: v for k, v in og.items() if k != "params"} == {k: v for k, v in rg.items() if k != "params"}


CASES = [
    ("AdaHessian", {}),
    ("AdaHessian", dict(update_period=3, weight_decay=0.1)),
    ("AdaHessian", dict(weight_decay=0.1, weight_decouple=False, maximize=True, foreach=False)),
    ("AdaHessian", dict(weight_decay=0.1, fixed_decay=True, hessian_power=0.7, num_samples=2,
                        hessian_distribution="gaussian", adam_debias=True)),
    ("AdaHessian", dict(update_period=2, num_samples=3, betas=(0.8, 0.99), lr=0.05, foreach=True)),
    ("SophiaH", {}),
    ("SophiaH", dict(update_period=1, weight_decay=0.1, p=0.5)),
    ("SophiaH", dict(update_period=3, weight_decay=0.1, weight_decouple=False, maximize=True,
                     hessian_distribution="rademacher", num_samples=2, foreach=False)),
    ("SophiaH", dict(update_period=2, weight_decay=0.1, fixed_decay=True, eps=1e-3, p=10.0, betas=(0.9, 0.9))),
]


@pytest.mark.parametrize("name,kw", CASES)
def test_matches_pytorch_optimizer_float64(torch, PO, monkeypatch, name, kw):
    noise = SharedNoise(torch, monkeypatch)
    run = Run(torch, PO, name, kw)
    for _ in range(3):
        run.step(noise, 3)
        run.check()


@pytest.mark.parametrize("name,kw", [("AdaHessian", dict(weight_decay=0.1)), ("SophiaH", dict(update_period=2))])
def test_matches_pytorch_optimizer_through_matmul(torch, PO, monkeypatch, name, kw):
    noise = SharedNoise(torch, monkeypatch)
    run = Run(torch, PO, name, kw, loss=loss_mlp)
    run.step(noise, 5)
    run.check()


@pytest.mark.parametrize("name,kw", [("AdaHessian", dict(update_period=2)), ("SophiaH", dict(update_period=2))])
def test_matches_pytorch_optimizer_float32(torch, PO, monkeypatch, name, kw):
    noise = SharedNoise(torch, monkeypatch)
    run = Run(torch, PO, name, kw, dtype=np.float32, two=False)
    run.step(noise, 6)
    run.check()


@pytest.mark.parametrize("name", ["AdaHessian", "SophiaH"])
def test_external_hessian_matches_reference(torch, PO, monkeypatch, name):
    """``step(hessian=...)`` uses the given estimates (no noise drawn) and stores them as they are."""
    noise = SharedNoise(torch, monkeypatch)
    run = Run(torch, PO, name, dict(update_period=4))
    rng = np.random.default_rng(7)
    run.step(noise, 2)
    run.step(noise, 1, hessian=[np.abs(rng.standard_normal(s)) for s in SHAPES])
    run.step(noise, 3)
    run.check()
    given = ag.tensor(np.ones(4))
    H.AdaHessian.set_hessian([{"params": run.op[1:2]}], run.ours.state, [given])
    assert run.ours.state[run.op[1]]["hessian"] is given
    with pytest.raises(ValueError, match=r"does not match. torch.Size\(\[4\]\) vs torch.Size\(\[2\]\)"):
        run.ours.step(hessian=[ag.zeros(3, 4), ag.zeros(2), ag.zeros(4)])


def test_compute_hutchinson_hessian_entry_point(torch, PO, monkeypatch):
    """The static entry points on their own give the reference's estimate (alpha, several samples)."""
    noise = SharedNoise(torch, monkeypatch)
    a = init(np.float64)
    tp = [torch.tensor(x.copy(), requires_grad=True) for x in a]
    op = [ag.nn.Parameter(ag.tensor(x.copy())) for x in a]
    loss_of(tp, 0, torch.tensor).backward(create_graph=True)
    loss_of(op, 0, ag.tensor).backward(create_graph=True)
    rstate, ostate = {p: {} for p in tp}, {p: {} for p in op}
    PO.AdaHessian.zero_hessian([{"params": tp}], rstate)
    C.AdaHessian.zero_hessian([{"params": op}], ostate)
    PO.AdaHessian.compute_hutchinson_hessian([{"params": tp}], rstate, num_samples=3, alpha=0.5)
    C.SophiaH.compute_hutchinson_hessian([{"params": op}], ostate, num_samples=3, alpha=0.5)
    assert not noise.queue
    for t, o in zip(tp, op):
        np.testing.assert_allclose(as_np(ostate[o]["hessian"]), as_np(rstate[t]["hessian"]), **TOL[np.float64])
    with pytest.raises(NotImplementedError, match="hessian with distribution uniform is not implemented."):
        C.AdaHessian.compute_hutchinson_hessian([{"params": op}], ostate, distribution="uniform")


def test_hutchinson_estimate_is_unbiased():
    """Without patching: Rademacher z are +-1, and the mean estimate approaches the exact Hessian diagonal."""
    ag.manual_seed(0)
    w = ag.nn.Parameter(ag.tensor(np.array([0.3, -0.8, 1.2, 0.5])))
    z = H.hutchinson_noise(w, "rademacher")
    assert set(np.unique(z.numpy())) <= {-1.0, 1.0} and z.dtype == w.dtype
    assert H.hutchinson_noise(w, "gaussian").shape == w.shape
    y = (w * w * w).sum() + (w[0] * w[1] * w[2] * w[3])
    y.backward(create_graph=True)
    state = {w: {}}
    C.AdaHessian.zero_hessian([{"params": [w]}], state)
    C.AdaHessian.compute_hutchinson_hessian([{"params": [w]}], state, num_samples=400, distribution="rademacher")
    # diag(H) = 6 w exactly for this function; off-diagonal terms average out
    np.testing.assert_allclose(state[w]["hessian"].numpy(), 6 * w.numpy(), atol=0.15)


@pytest.mark.parametrize("name,kw", [("AdaHessian", dict(update_period=3, weight_decay=0.1)),
                                     ("SophiaH", dict(update_period=3, num_samples=2))])
def test_state_dict_resume_continues_exactly(name, kw):
    def make():
        ps = [ag.nn.Parameter(ag.tensor(x)) for x in init(np.float64)]
        opt = getattr(C, name)(groups(ps, True), **kw)
        return opt, ps, stepper

    def stepper(opt, ps):
        k = opt.param_groups[0].get("step", 0)
        ag.manual_seed(1000 + k)   # the noise of step k, whatever happened before
        loss_of(ps, k, ag.tensor).backward(create_graph=True)
        opt.step()
        opt.zero_grad(set_to_none=True)

    check_resume(make, steps=7, half=4)   # saved mid-period: the kept `hessian` and step count carry over


@pytest.mark.parametrize("name,kw,err", [
    ("AdaHessian", dict(lr=-1.0), C.NegativeLRError), ("AdaHessian", dict(betas=(1.0, 0.9)), ValueError),
    ("AdaHessian", dict(weight_decay=-1.0), ValueError), ("AdaHessian", dict(eps=-1.0), ValueError),
    ("AdaHessian", dict(hessian_power=0.0), ValueError), ("AdaHessian", dict(hessian_power=1.5), ValueError),
    ("SophiaH", dict(lr=-1.0), C.NegativeLRError), ("SophiaH", dict(betas=(0.9, 1.0)), ValueError),
    ("SophiaH", dict(weight_decay=-1.0), ValueError), ("SophiaH", dict(p=-1.0), ValueError),
    ("SophiaH", dict(update_period=0), C.NegativeStepError), ("SophiaH", dict(num_samples=0), ValueError),
    ("SophiaH", dict(hessian_distribution="uniform"), ValueError), ("SophiaH", dict(eps=-1.0), ValueError),
])
def test_constructor_errors_as_reference(torch, PO, name, kw, err):
    w = ag.nn.Parameter(ag.zeros(2))
    with pytest.raises(err) as ours:
        getattr(C, name)([w], **kw)
    with pytest.raises(Exception) as ref:
        getattr(PO, name)([torch.zeros(2, requires_grad=True)], **kw)
    assert type(ref.value).__name__ == type(ours.value).__name__
    assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("name", ["AdaHessian", "SophiaH"])
def test_paths_flags_and_grad_checks(name):
    w = ag.nn.Parameter(ag.zeros(2))
    for flag in ("fused", "differentiable"):
        with pytest.raises(RuntimeError, match=f"`{flag}=True` is not available for {name}"):
            getattr(C, name)([w], **{flag: True})
    ps = [ag.nn.Parameter(ag.tensor(x)) for x in init(np.float64)]
    runs = []
    for foreach in (None, True, False):   # one per-tensor loop whatever foreach says: bitwise the same
        qs = [ag.nn.Parameter(ag.tensor(p.numpy().copy())) for p in ps]
        opt = getattr(C, name)(qs, foreach=foreach, update_period=2)
        assert opt.param_groups[0]["foreach"] is foreach
        for k in range(3):
            ag.manual_seed(k)
            loss_of(qs, k, ag.tensor).backward(create_graph=True)
            opt.step()
            opt.zero_grad()
        runs.append([q.numpy() for q in qs])
    for r in runs[1:]:
        for a, b in zip(r, runs[0]):
            np.testing.assert_array_equal(a, b)
    # a gradient without its graph cannot be differentiated again (autograd's error, as torch's)
    w.grad = ag.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        getattr(C, name)([w]).step()
    w.grad = ag.sparse_coo_tensor(np.array([[0]]), np.array([1.0], dtype=np.float32), (2,))
    with pytest.raises(C.NoSparseGradientError, match=f"{name} does not support sparse gradient."):
        getattr(C, name)([w]).step()
