"""``repr(tensor)`` as torch 2.13 prints it: the 4-decimal / integer / scientific formats, padding, nan and
inf, 0-d values, line wrapping, summaries above 1000 elements, empty tensors, 16-bit and float64 suffixes,
requires_grad and grad_fn."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)

VALUES = [[-1.0, 0.5, 2.0], [1.5, 2.25], [0.1, 100.0], [1e-5, 1.0], [1.0, 2.0], [1e10, 1.0], [float("nan"), 1.5],
          [0.0, 0.0], [float("inf"), -1.0], [float("nan"), 2.0, 3.0], 0.693147, 1.0, 1e-7, 123456.789, -0.5,
          [[1.5, -2.0], [3.0, 4.125]], [1, 2, 300], [True, False], [-7, 0]]


@pytest.mark.parametrize("k", range(len(VALUES)))
def test_values_print_as_torch(k):
    assert repr(ag.tensor(VALUES[k])) == repr(torch.tensor(VALUES[k]))


@pytest.mark.parametrize("shape", [(3, 4, 5), (2000,), (40, 40), (5, 300), (1, 1, 1), (0,), (0, 3), (12,),
                                   (2, 1100)])
def test_layouts_and_summaries_print_as_torch(shape):
    x = R.standard_normal(shape).astype(np.float32)
    assert repr(ag.tensor(x)) == repr(torch.tensor(x))


def test_suffixes_print_as_torch():
    x = R.standard_normal((4, 3))
    assert repr(ag.tensor(x, requires_grad=True)) == repr(torch.tensor(x, requires_grad=True))
    a, t = ag.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    assert repr(a * 2) == repr(t * 2)
    for dt, adt in ((torch.bfloat16, ag.bfloat16), (torch.float16, ag.float16)):
        v = torch.tensor(R.standard_normal(5)).to(dt)
        assert repr(ag.tensor(v.float().numpy()).to(adt)) == repr(v)


def test_empty_tensors_print_size_and_dtype_as_torch():
    for shape, dt, tdt in (((0,), ag.float32, torch.float32), ((0, 3), ag.float32, torch.float32),
                           ((0,), ag.int64, torch.int64), ((2, 0), ag.float64, torch.float64)):
        assert repr(ag.zeros(shape, dtype=dt)) == repr(torch.zeros(shape, dtype=tdt))
