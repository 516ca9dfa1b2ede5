"""update_bn (closed-form statistics and torch parity) and SWALR (torch parity, state, errors)."""
import warnings

import numpy as np
import pytest

import autograd
import autograd.nn as nn
from autograd.data import DataLoader, TensorDataset
import minitorch_optim as optim
from minitorch_optim.swa_utils import SWALR, AveragedModel, update_bn


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return 3.0 + 2.0 * rng.standard_normal(shape) * np.arange(1, shape[1] + 1).reshape((1, -1) + (1,) * (len(shape) - 2))


def _batch_stats(batches, axes):
    """Plain averages over batches of the batch means and unbiased batch variances (momentum None)."""
    means = [b.mean(axis=axes) for b in batches]
    varis = [b.var(axis=axes, ddof=1) for b in batches]
    return np.mean(means, axis=0), np.mean(varis, axis=0)


def _mlp():
    return nn.Sequential(nn.BatchNorm1d(4, momentum=0.3), nn.Linear(4, 2), nn.BatchNorm1d(2)).double()


def _scramble(model):
    for name, b in model.named_buffers():
        if "running" in name:
            b._data[...] = 7.0


@pytest.mark.parametrize("batches", ["tensors", "tuples"])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_update_bn_gives_closed_form_statistics(batches, mode):
    X = _data((24, 4))
    model = _mlp()
    _scramble(model)
    model.train(mode == "train")
    if batches == "tensors":
        loader = [autograd.tensor(X[i:i + 8]) for i in range(0, 24, 8)]
    else:
        loader = DataLoader(TensorDataset(autograd.tensor(X), autograd.tensor(np.zeros(24))), batch_size=8)
    update_bn(loader, model)
    mean, var = _batch_stats([X[i:i + 8] for i in range(0, 24, 8)], 0)
    np.testing.assert_allclose(mean, X.mean(0), rtol=1e-13)          # equal batches: the data mean
    np.testing.assert_allclose(model[0].running_mean.numpy(), mean, rtol=1e-13)
    np.testing.assert_allclose(model[0].running_var.numpy(), var, rtol=1e-13)
    assert model[0].num_batches_tracked.item() == 3
    assert model[0].momentum == 0.3 and model[2].momentum == 0.1
    assert model.training == (mode == "train") and model[0].training == (mode == "train")


def test_update_bn_single_batch_is_the_data_variance_and_device_argument():
    X = _data((16, 4), seed=1)
    model = _mlp()
    update_bn([autograd.tensor(X)], model, device="cpu")
    np.testing.assert_allclose(model[0].running_mean.numpy(), X.mean(0), rtol=1e-13)
    np.testing.assert_allclose(model[0].running_var.numpy(), X.var(0, ddof=1), rtol=1e-13)


def test_update_bn_matches_torch_on_a_cnn():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    X = _data((12, 2, 5, 5), seed=2)
    ours = nn.Sequential(nn.BatchNorm2d(2), nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=0.05), nn.ReLU(),
                         nn.Flatten(), nn.Linear(27, 4), nn.BatchNorm1d(4)).double()
    theirs = tnn.Sequential(tnn.BatchNorm2d(2), tnn.Conv2d(2, 3, 3), tnn.BatchNorm2d(3, momentum=0.05), tnn.ReLU(),
                            tnn.Flatten(), tnn.Linear(27, 4), tnn.BatchNorm1d(4)).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    t_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.zeros(12)),
                                           batch_size=5)   # batches of 5, 5, 2
    o_loader = DataLoader(TensorDataset(autograd.tensor(X), autograd.zeros(12)), batch_size=5)
    torch.optim.swa_utils.update_bn(t_loader, theirs)
    update_bn(o_loader, ours)
    got, want = ours.state_dict(), theirs.state_dict()
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-12, atol=1e-13, err_msg=k)
    mean, var = _batch_stats([X[0:5], X[5:10], X[10:]], (0, 2, 3))
    np.testing.assert_allclose(ours[0].running_mean.numpy(), mean, rtol=1e-13)
    np.testing.assert_allclose(ours[0].running_var.numpy(), var, rtol=1e-13)
    assert ours[2].momentum == 0.05 and not ours.training


def test_update_bn_without_batchnorm_changes_nothing():
    model = nn.Sequential(nn.Linear(3, 2))
    model.eval()
    update_bn([autograd.ones(2, 3)], model)
    assert not model.training


def test_update_bn_on_an_averaged_model():
    model = _mlp()
    swa = AveragedModel(model)
    swa.update_parameters(model)
    X = _data((10, 4), seed=3)
    update_bn([autograd.tensor(X)], swa)
    np.testing.assert_allclose(swa.module[0].running_var.numpy(), X.var(0, ddof=1), rtol=1e-13)
    assert model[0].num_batches_tracked.item() == 0      # the source model is untouched


# ---- SWALR -----------------------------------------------------------------------------------------

def _optimizers(torch):
    w = [np.ones((2, 2)), np.ones(3)]
    t_opt = torch.optim.SGD([{"params": [torch.tensor(w[0], requires_grad=True)]},
                             {"params": [torch.tensor(w[1], requires_grad=True)], "lr": 0.02}], lr=0.1)
    o_opt = optim.SGD([{"params": [nn.Parameter(autograd.tensor(w[0]))]},
                       {"params": [nn.Parameter(autograd.tensor(w[1]))], "lr": 0.02}], lr=0.1)
    return t_opt, o_opt


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 7])
@pytest.mark.parametrize("swa_lr", [0.05, [0.01, 0.3]])
def test_swalr_matches_torch(strategy, anneal_epochs, swa_lr):
    torch = pytest.importorskip("torch")
    t_opt, o_opt = _optimizers(torch)
    ts = torch.optim.swa_utils.SWALR(t_opt, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    os_ = SWALR(o_opt, swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    np.testing.assert_allclose(_lrs(o_opt), _lrs(t_opt), rtol=1e-14)
    for _ in range(32):
        t_opt.step()
        o_opt.step()
        ts.step()
        os_.step()
        np.testing.assert_allclose(_lrs(o_opt), _lrs(t_opt), rtol=1e-13)
        np.testing.assert_allclose(os_.get_last_lr(), ts.get_last_lr(), rtol=1e-13)
    np.testing.assert_allclose(_lrs(o_opt), [g["swa_lr"] for g in t_opt.param_groups], rtol=1e-12)


def test_swalr_after_cosine_schedule_and_state_dict():
    torch = pytest.importorskip("torch")
    t_opt, o_opt = _optimizers(torch)
    tc = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=20)
    oc = optim.lr_scheduler.CosineAnnealingLR(o_opt, T_max=20)
    ts = torch.optim.swa_utils.SWALR(t_opt, 0.03, anneal_epochs=6, anneal_strategy="linear")
    os_ = SWALR(o_opt, 0.03, anneal_epochs=6, anneal_strategy="linear")
    resumed = None
    for epoch in range(30):
        t_opt.step()
        o_opt.step()
        if epoch > 8:
            ts.step()
            os_.step()
        else:
            tc.step()
            oc.step()
        np.testing.assert_allclose(_lrs(o_opt), _lrs(t_opt), rtol=1e-12)
        if resumed is not None:         # a scheduler restored from a state_dict follows the same schedule
            o_opt2.step()
            resumed.step()
            np.testing.assert_allclose(_lrs(o_opt2), _lrs(o_opt), rtol=1e-12)
        if epoch == 10:
            sd = os_.state_dict()
            assert "anneal_func" not in sd and "optimizer" not in sd
            assert sd["_anneal_strategy"] == "linear" and sd["anneal_epochs"] == 6
            assert set(ts.state_dict()) <= set(sd)
            _, o_opt2 = _optimizers(torch)
            resumed = SWALR(o_opt2, 0.5, anneal_strategy="cos")
            resumed.load_state_dict(sd)
            assert resumed.anneal_func is SWALR._linear_anneal
            for g, g2 in zip(o_opt.param_groups, o_opt2.param_groups):
                g2.update({k: v for k, v in g.items() if k != "params"})
    assert _lrs(o_opt) == pytest.approx([0.03, 0.03])


def test_swalr_get_lr_outside_step_warns():
    torch = pytest.importorskip("torch")
    _, o_opt = _optimizers(torch)
    sched = SWALR(o_opt, 0.05)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o_opt.step()
        sched.step()


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.1, anneal_strategy="exp"), dict(swa_lr=0.1, anneal_epochs=-1),
                                    dict(swa_lr=0.1, anneal_epochs=2.5), dict(swa_lr=[0.1, 0.2, 0.3])])
def test_swalr_errors_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    t_opt, o_opt = _optimizers(torch)
    with pytest.raises(Exception) as want:
        torch.optim.swa_utils.SWALR(t_opt, **kwargs)
    with pytest.raises(type(want.value)) as got:
        SWALR(o_opt, **kwargs)
    assert str(got.value) == str(want.value)
