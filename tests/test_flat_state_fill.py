"""New flat state of a large group is filled over the chunk pool's threads (``_core.flat.FlatGroup``):
the fill values, and every step after, are those of the per-tensor state (for-loop path) bit for bit."""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from autograd.threads import get_num_threads, set_num_threads
from minitorch_optim._core.flat import CHUNK

N = CHUNK + 12_345          # two of these: more than 2 chunks in all, and a part that is not whole


@pytest.fixture
def two_threads():
    old = get_num_threads()
    set_num_threads(2)
    yield
    set_num_threads(old)


def _run(name, kw, foreach, steps=2):
    rng = np.random.default_rng(3)
    ps = [ag.tensor(rng.standard_normal(N).astype(np.float32), requires_grad=True) for _ in range(2)]
    opt = getattr(optim, name)(ps, foreach=foreach, **kw)
    for k in range(steps):
        for p in ps:
            p.grad = ag.tensor(rng.standard_normal(N).astype(np.float32))
        opt.step()
    return ps, opt


@pytest.mark.parametrize("name, kw", [("Adam", {}), ("Adadelta", {}), ("Rprop", {"lr": 0.03})])
def test_parallel_fill_matches_the_per_tensor_state(two_threads, name, kw):
    ps_f, of = _run(name, kw, foreach=True)
    ps_l, ol = _run(name, kw, foreach=False)
    for a, b in zip(ps_f, ps_l):
        np.testing.assert_array_equal(a._data, b._data)
        assert set(of.state[a]) == set(ol.state[b])
        for k, v in ol.state[b].items():
            np.testing.assert_array_equal(of.state[a][k]._data, v._data, err_msg=k)

