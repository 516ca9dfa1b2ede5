"""Datasets, samplers and DataLoader."""
import numpy as np
import pytest

import autograd as ag
import autograd.nn as nn
from autograd.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, SequentialSampler,
                           Subset, TensorDataset, default_collate, random_split)


def ds(n=10):
    return TensorDataset(ag.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2)), ag.arange(n))


def test_tensor_dataset():
    d = ds()
    assert len(d) == 10
    x, y = d[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(ag.zeros(3), ag.zeros(4))


def test_batching_in_order_and_len():
    loader = DataLoader(ds(), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list) and batches[0][0].shape == (4, 2) and batches[0][0].dtype == np.float32
    for x, y in loader:  # unpacking as in torch
        assert x.shape[0] == y.shape[0]


def test_drop_last():
    loader = DataLoader(ds(), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(y) for _, y in loader] == [4, 4]
    assert len(DataLoader(ds(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_reproducible_with_generator():
    def order(seed):
        loader = DataLoader(ds(), batch_size=3, shuffle=True, generator=ag.Generator().manual_seed(seed))
        return [y.tolist() for _, y in loader]

    a, b, c = order(5), order(5), order(6)
    assert a == b and a != c
    assert sorted(sum(a, [])) == list(range(10))
    loader = DataLoader(ds(), batch_size=10, shuffle=True, generator=ag.Generator().manual_seed(1))
    e1, e2 = [next(iter(loader))[1].tolist() for _ in range(2)]
    assert e1 != e2  # a new permutation each epoch
    ag.manual_seed(3)
    d1 = [y.tolist() for _, y in DataLoader(ds(), batch_size=5, shuffle=True)]
    ag.manual_seed(3)
    d2 = [y.tolist() for _, y in DataLoader(ds(), batch_size=5, shuffle=True)]
    assert d1 == d2  # the default generator drives shuffling when none is given


def test_collate_kinds():
    out = default_collate([(1.5, 2, np.ones(2), {"k": ag.zeros(3)}), (2.5, 3, np.zeros(2), {"k": ag.ones(3)})])
    assert out[0].dtype == np.float64 and out[0].tolist() == [1.5, 2.5]
    assert out[1].dtype == np.int64 and out[2].shape == (2, 2) and out[3]["k"].shape == (2, 3)


def test_batch_size_none_and_custom_dataset():
    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.array([i * i], dtype=np.float64)

    items = list(DataLoader(Squares(), batch_size=None))
    assert len(items) == 4 and isinstance(items[2], ag.Tensor) and items[2].tolist() == [4.0]
    assert [b.shape for b in DataLoader(Squares(), batch_size=3)] == [(3, 1), (1, 1)]


def test_samplers_and_splits():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    rs = list(RandomSampler(range(6), generator=ag.Generator().manual_seed(0)))
    assert sorted(rs) == list(range(6))
    assert list(BatchSampler(range(5), 2, False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(range(5), 2, True)) == 2
    parts = random_split(ds(), [7, 3], generator=ag.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [7, 3]
    idx = sorted(int(p[i][1].item()) for p in parts for i in range(len(p)))
    assert idx == list(range(10))
    assert len(ConcatDataset([ds(3), ds(4)])) == 7 and ConcatDataset([ds(3), ds(4)])[4][1].item() == 1
    assert isinstance(Subset(ds(), [1, 2]), Dataset)
    with pytest.raises(ValueError):
        DataLoader(ds(), sampler=SequentialSampler(ds()), shuffle=True)


def test_update_bn_style_loop_recomputes_running_stats():
    """What swa_utils.update_bn does: reset stats, momentum=None, one pass over the loader in train mode."""
    x = np.random.default_rng(0).standard_normal((12, 3)) * 2 + 1
    loader = DataLoader(TensorDataset(ag.tensor(x), ag.zeros(12)), batch_size=4)
    bn = nn.BatchNorm1d(3).double()
    bn.reset_running_stats()
    bn.momentum = None
    for inp in loader:
        if isinstance(inp, (list, tuple)):
            inp = inp[0]
        bn(inp)
    np.testing.assert_allclose(bn.running_mean.numpy(), x.mean(0), atol=1e-12)
    want_var = np.mean([x[i:i + 4].var(0, ddof=1) for i in range(0, 12, 4)], axis=0)
    np.testing.assert_allclose(bn.running_var.numpy(), want_var, atol=1e-12)


def test_swa_update_bn_with_our_loader_matches_torch():
    swa_utils = pytest.importorskip("minitorch_optim.swa_utils")
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((10, 3, 4, 4))
    ours = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.Flatten()).double()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten()).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    swa_utils.update_bn(DataLoader(TensorDataset(ag.tensor(x), ag.zeros(10)), batch_size=4), ours)
    torch.optim.swa_utils.update_bn(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.zeros(10)), batch_size=4), theirs)
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
