"""Samplers as torch's: lazy draws with replacement (a huge ``num_samples`` costs nothing up front),
``generator=`` streams, lengths, replacement semantics, and torch's error classes and messages. Our numbers
come from another RNG, so sequences are compared with themselves (same seed, same sequence), not torch's."""
import time

import numpy as np
import pytest

import autograd as A
from autograd.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler, SubsetRandomSampler,
                                 TensorDataset, WeightedRandomSampler)

torch = pytest.importorskip("torch")
tud = torch.utils.data


def _outcome(fn):
    try:
        fn()
    except Exception as e:          # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e)
    return None


def test_replacement_draws_lazily():
    s = RandomSampler(range(10), replacement=True, num_samples=10 ** 10)
    assert len(s) == 10 ** 10 == len(tud.RandomSampler(range(10), replacement=True, num_samples=10 ** 10))
    t0 = time.perf_counter()
    first = next(iter(BatchSampler(s, batch_size=64, drop_last=False)))
    assert time.perf_counter() - t0 < 1.0
    assert len(first) == 64 and all(0 <= i < 10 for i in first)


@pytest.mark.parametrize("n,num_samples", [(7, None), (7, 3), (7, 20), (5, 33), (5, 64)])
def test_random_sampler_semantics(n, num_samples):
    g = A.Generator().manual_seed(0)
    perm = list(RandomSampler(range(n), num_samples=num_samples, generator=g))
    ref = list(tud.RandomSampler(range(n), num_samples=num_samples))
    assert len(perm) == len(ref)
    full, rest = divmod(len(perm), n)
    for k in range(full):                        # whole epochs are permutations, the rest distinct
        assert sorted(perm[k * n:(k + 1) * n]) == list(range(n))
    assert len(set(perm[full * n:])) == rest
    rep = list(RandomSampler(range(n), replacement=True, num_samples=num_samples, generator=g))
    assert len(rep) == len(ref) and all(0 <= i < n for i in rep)


def test_generator_streams_are_reproducible():
    def draw(seed, **kw):
        return list(RandomSampler(range(50), generator=A.Generator().manual_seed(seed), **kw))

    assert draw(1) == draw(1) and draw(1) != draw(2)
    assert draw(1, replacement=True, num_samples=70) == draw(1, replacement=True, num_samples=70)
    g = A.Generator().manual_seed(4)
    s = RandomSampler(range(50), generator=g)
    assert list(s) != list(s)                    # the stream moves on between epochs, as torch's
    a = [b[0].tolist() for b in DataLoader(TensorDataset(A.arange(20)), batch_size=5, shuffle=True,
                                           generator=A.Generator().manual_seed(9))]
    b = [b[0].tolist() for b in DataLoader(TensorDataset(A.arange(20)), batch_size=5, shuffle=True,
                                           generator=A.Generator().manual_seed(9))]
    assert a == b and sorted(sum(a, [])) == list(range(20))


def test_subset_random_sampler():
    idx = [3, 8, 11, 20, 4]
    out = list(SubsetRandomSampler(idx, generator=A.Generator().manual_seed(0)))
    assert sorted(out) == sorted(idx) and len(SubsetRandomSampler(idx)) == len(tud.SubsetRandomSampler(idx))
    assert out == list(SubsetRandomSampler(idx, generator=A.Generator().manual_seed(0)))


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0, 0.0, 6.0]
    with_rep = list(WeightedRandomSampler(w, 5000, generator=A.Generator().manual_seed(0)))
    counts = np.bincount(with_rep, minlength=5) / 5000
    assert len(with_rep) == 5000 and counts[0] == counts[3] == 0
    assert abs(counts[4] - 0.6) < 0.03 and abs(counts[2] - 0.3) < 0.03
    no_rep = list(WeightedRandomSampler(w, 3, replacement=False))
    assert sorted(no_rep) == [1, 2, 4]
    assert len(WeightedRandomSampler(w, 3)) == len(tud.WeightedRandomSampler(w, 3)) == 3
    assert isinstance(WeightedRandomSampler(A.tensor(w), 2).weights, A.Tensor)


@pytest.mark.parametrize("make", [
    lambda d: d.RandomSampler(range(5), num_samples=0), lambda d: d.RandomSampler(range(5), num_samples=-1),
    lambda d: d.RandomSampler(range(5), num_samples=2.5), lambda d: d.RandomSampler(range(5), replacement=1),
    lambda d: d.WeightedRandomSampler([1.0, 2.0], 0), lambda d: d.WeightedRandomSampler([1.0, 2.0], True),
    lambda d: d.WeightedRandomSampler([1.0, 2.0], 2.0), lambda d: d.WeightedRandomSampler([1.0, 2.0], 2, replacement=1),
    lambda d: d.WeightedRandomSampler([[1.0, 2.0]], 2), lambda d: d.BatchSampler(range(3), 0, False),
    lambda d: d.BatchSampler(range(3), True, False), lambda d: d.BatchSampler(range(3), 2, 0),
    lambda d: list(d.WeightedRandomSampler([-1.0, 2.0], 2)), lambda d: list(d.WeightedRandomSampler([0.0, 0.0], 2)),
    lambda d: list(d.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)),
])
def test_errors_as_torch(make):
    import autograd.utils.data as ours

    assert _outcome(lambda: make(ours)) == _outcome(lambda: make(tud))


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False)])
def test_batch_sampler_as_torch(n, bs, drop):
    ours = list(BatchSampler(SequentialSampler(range(n)), bs, drop))
    theirs = list(tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop))
    assert ours == theirs and len(BatchSampler(range(n), bs, drop)) == len(tud.BatchSampler(range(n), bs, drop))
