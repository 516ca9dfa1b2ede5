"""``autograd.set_printoptions`` / ``get_printoptions``: repr and str of tensors under torch 2.13's options
(precision, threshold, edgeitems, linewidth, the three profiles, forced and automatic sci_mode), compared with
torch's output; every test goes back to the defaults."""
import numpy as np
import pytest

import autograd as ag

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _default_options():
    yield
    ag.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


VALUES = [R.standard_normal((30, 40)).astype(np.float32) * 100, R.standard_normal((2, 5)).astype(np.float32),
          np.arange(20), np.arange(2500).reshape(50, 50), np.array([1e-6, 1.0]), np.array([1.0, 2000.0]),
          np.array([[1.0, np.nan], [np.inf, 3.0]]), np.array([0.0, 0.0]), np.array(0.123456789),
          R.standard_normal((3, 4, 5)), R.standard_normal(1500).astype(np.float32), np.array([True, False]),
          np.array([1e10, 1.0, -3.5])]

OPTIONS = [dict(precision=2), dict(precision=8), dict(threshold=5), dict(edgeitems=1, threshold=10),
           dict(edgeitems=5, threshold=20), dict(linewidth=40), dict(linewidth=150), dict(profile="short"),
           dict(profile="full"), dict(sci_mode=True), dict(sci_mode=False), dict(precision=6, sci_mode=True,
                                                                                  linewidth=120),
           dict(profile="short", precision=3), dict(profile="no-such-profile")]


@pytest.mark.parametrize("k", range(len(OPTIONS)))
def test_repr_and_str_follow_the_options_as_torch(k):
    ag.set_printoptions(**OPTIONS[k])
    torch.set_printoptions(**OPTIONS[k])
    for v in VALUES:
        ours, theirs = ag.tensor(v), torch.tensor(v)
        assert repr(ours) == repr(theirs), (OPTIONS[k], v.shape)
        assert str(ours) == str(theirs)


def test_options_apply_to_suffixes_and_16_bit_dtypes():
    ag.set_printoptions(precision=2, linewidth=30)
    torch.set_printoptions(precision=2, linewidth=30)
    x = R.standard_normal((3, 4))
    assert repr(ag.tensor(x, requires_grad=True)) == repr(torch.tensor(x, requires_grad=True))
    assert repr(ag.tensor(x, requires_grad=True) * 2) == repr(torch.tensor(x, requires_grad=True) * 2)
    v = torch.tensor(R.standard_normal(6)).to(torch.float16)
    assert repr(ag.tensor(v.float().numpy()).to(ag.float16)) == repr(v)


def test_get_printoptions_reports_torchs_dict():
    from torch._tensor_str import get_printoptions as torch_get

    for opts in ({}, dict(precision=3, threshold=50), dict(profile="full"), dict(profile="short", sci_mode=True)):
        ag.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        assert ag.get_printoptions() == torch_get()


def test_sci_mode_goes_back_to_automatic_when_left_out():
    ag.set_printoptions(sci_mode=False)
    torch.set_printoptions(sci_mode=False)
    ag.set_printoptions(precision=3)   # torch resets sci_mode to None on every call without it
    torch.set_printoptions(precision=3)
    x = np.array([1e-6, 1.0])
    assert ag.get_printoptions()["sci_mode"] is None
    assert repr(ag.tensor(x)) == repr(torch.tensor(x))


def test_default_profile_restores_every_option():
    ag.set_printoptions(precision=1, threshold=3, edgeitems=1, linewidth=20, sci_mode=True)
    ag.set_printoptions(profile="default")
    assert ag.get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
                                     "sci_mode": None}
    x = R.standard_normal((40, 40)).astype(np.float32)
    assert repr(ag.tensor(x)) == repr(torch.tensor(x))
