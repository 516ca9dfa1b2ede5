"""Every CPU configuration of the installed torch's own ``optim_db`` (torch/testing/_internal/
common_optimizers.py), run on our optimizer and on torch's with identical gradients: parameters and state
after each step. Follows whichever torch is installed (2.13 on CI, 2.14.1 where it is), so a configuration
torch adds shows up here without editing the test.
"""
import pickle
import subprocess
import sys

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from _nonelementwise_helpers import _assert_state_equal

CLASSES = ["Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "ASGD", "LBFGS", "Muon", "NAdam",
           "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam"]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-5, atol=2e-6)}


# torch's test helpers change global torch state when imported (they freeze torch.backends flags and
# patch TorchScript calls), so the configurations are read in a child process and sent back as plain data
_READ_DB = r"""
import pickle, sys, types, unittest
try:
    import expecttest  # noqa: F401
except ImportError:  # (torch's helpers import it only for a TestCase base class; not a torch dependency)
    stub = types.ModuleType("expecttest"); stub.TestCase = unittest.TestCase; sys.modules["expecttest"] = stub
import torch
from torch.testing._internal.common_optimizers import optim_db

def plain(v):
    if isinstance(v, torch.Tensor):
        return ("__tensor__", v.detach().cpu().numpy())
    if isinstance(v, (list, tuple)):
        return type(v)(plain(x) for x in v)
    return v

out = {}
for info in optim_db:
    for dt in ("float64", "float32"):
        inputs = info.optim_inputs_func(device="cpu", dtype=getattr(torch, dt))
        out[(info.optim_cls.__name__, dt)] = [(i.desc, {k: plain(v) for k, v in i.kwargs.items()}) for i in inputs]
sys.stdout.buffer.write(pickle.dumps(out))
"""


@pytest.fixture(scope="module")
def optim_db():
    torch = pytest.importorskip("torch")
    run = subprocess.run([sys.executable, "-c", _READ_DB], capture_output=True, timeout=300)
    if run.returncode != 0:
        pytest.fail("reading torch's optim_db failed:\n" + run.stderr.decode(errors="replace")[-2000:])
    return torch, pickle.loads(run.stdout)


def _side(lib, v):
    """A configuration value for one side: plain-data tensors become ``lib``'s tensors, recursively."""
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "__tensor__":
        return lib.tensor(v[1])
    if isinstance(v, (list, tuple)):
        return type(v)(_side(lib, x) for x in v)
    return v


def _shapes(name):
    return [(4, 3), (3, 5)] if name == "Muon" else [(4, 3), (3,)]


def _set_grads(torch, name, pt, pm, rng, dtype):
    for a, b in zip(pt, pm):
        if name == "SparseAdam":
            idx = rng.integers(0, a.shape[0], size=(1, 3))
            val = rng.normal(size=(3,) + tuple(a.shape[1:])).astype(dtype)
            a.grad = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), tuple(a.shape))
            b.grad = ag.sparse_coo_tensor(idx, val, tuple(b.shape))
        else:
            g = rng.normal(size=a.shape).astype(dtype)
            a.grad, b.grad = torch.tensor(g), ag.tensor(g)


def _lbfgs_closure(opt, ps, lib, dtype, sign):
    """Loss and gradient computed in NumPy from the parameters: the same bits on both sides (``sign=-1``
    turns the minimum into a maximum, for ``maximize=True``)."""
    def closure():
        opt.zero_grad()
        x = np.concatenate([np.array(p.detach().numpy()).reshape(-1) for p in ps])
        w = np.linspace(1, 3, x.size).astype(dtype)
        r = x - np.linspace(-1, 1, x.size).astype(dtype)
        off = 0
        g = 2 * w * r + r ** 3
        for p in ps:
            n = int(np.prod(p.shape))
            p.grad = lib.tensor(sign * g[off:off + n].reshape(p.shape))
            off += n
        return lib.tensor(sign * (w * r * r + 0.25 * r ** 4).sum())
    return closure


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", CLASSES)
def test_torch_optim_db_configuration(optim_db, name, dtype):
    torch, db = optim_db
    key = (name, np.dtype(dtype).name)
    if key not in db:
        pytest.skip(f"torch {torch.__version__} has no {name} in optim_db")
    inputs = db[key]
    assert inputs, name
    tol = TOL[dtype]
    for k, (desc, kwargs) in enumerate(inputs):
        rng = np.random.default_rng(k)
        arrays = [rng.uniform(-1, 1, size=s).astype(dtype) for s in _shapes(name)]
        pt = [torch.tensor(a, requires_grad=True) for a in arrays]
        pm = [ag.tensor(a, requires_grad=True) for a in arrays]
        ot = getattr(torch.optim, name)(pt, **{key_: _side(torch, v) for key_, v in kwargs.items()})
        om = getattr(optim, name)(pm, **{key_: _side(ag, v) for key_, v in kwargs.items()})
        for _ in range(3):
            if name == "LBFGS":
                sign = -1 if kwargs.get("maximize") else 1
                lt = ot.step(_lbfgs_closure(ot, pt, torch, dtype, sign))
                lm = om.step(_lbfgs_closure(om, pm, ag, dtype, sign))
                assert float(lm) == pytest.approx(float(lt), rel=tol["rtol"], abs=tol["atol"]), desc
            else:
                _set_grads(torch, name, pt, pm, rng, dtype)
                ot.step()
                om.step()
            ptol = tol
            if name == "Muon":  # bf16 Newton-Schulz: a rounding tie may fall the other way (two bf16 steps)
                lr = kwargs.get("lr", 1e-3)
                ptol = dict(rtol=0, atol=float(np.asarray(lr[1] if isinstance(lr, tuple) else lr)) * 2 ** -6)
            for a, b in zip(pt, pm):
                np.testing.assert_allclose(b.numpy(), a.detach().numpy(), **ptol, err_msg=f"{name}: {desc}")
            if name != "LBFGS":  # (LBFGS's whole state is checked in test_optim_lbfgs.py)
                for a, b in zip(pt, pm):
                    _assert_state_equal(ot.state[a], om.state[b], dict(rtol=1e-5, atol=1e-6))
                    if hasattr(ot.state[a].get("step"), "dtype"):  # the scalar state keeps torch's dtype
                        assert str(om.state[b]["step"].dtype).split(".")[-1] == \
                            str(ot.state[a]["step"].dtype).split(".")[-1], f"{name}: {desc}"
