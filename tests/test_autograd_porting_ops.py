"""The ops a torch user porting a model reaches for: values and gradients against torch (float64,
random shapes from hypothesis, broadcasting, non-contiguous inputs, 0-d), plus float64 finite differences."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as A

torch = pytest.importorskip("torch")


def _perm_index(rng, shape, dim, size):
    """Distinct indices along ``dim`` (so scatter without reduction is deterministic)."""
    idx = np.argsort(rng.random(shape[:dim] + (size,) + shape[dim + 1:]), axis=dim)
    sl = [slice(None)] * len(shape)
    sl[dim] = slice(0, shape[dim])
    return idx[tuple(sl)]


def _dim(rng, nd):
    return int(rng.integers(-max(nd, 1), max(nd, 1)))


# each spec: (min ndim, make(rng, shape) -> (float arrays, params), fn(lib, tensors, params) -> output)
SPECS = {
    "flip": (0, lambda r, s: ([r.standard_normal(s)], {"dims": tuple(sorted({_dim(r, len(s)) % max(len(s), 1)
                                                                             for _ in range(2)})) if s else ()}),
             lambda L, t, p: t[0].flip(p["dims"])),
    "roll": (1, lambda r, s: ([r.standard_normal(s)], {"sh": int(r.integers(-3, 4)), "d": _dim(r, len(s))}),
             lambda L, t, p: L.roll(t[0], p["sh"], p["d"])),
    "roll_flat": (0, lambda r, s: ([r.standard_normal(s)], {"sh": int(r.integers(-3, 4))}),
                  lambda L, t, p: t[0].roll(p["sh"])),
    "narrow": (1, lambda r, s: ([r.standard_normal(s)], {"d": len(s) - 1, "st": 0 if s[-1] == 1 else 1}),
               lambda L, t, p: t[0].narrow(p["d"], p["st"], t[0].shape[p["d"]] - p["st"]) * 2),
    "diagonal": (2, lambda r, s: ([r.standard_normal(s)], {"o": int(r.integers(-1, 2))}),
                 lambda L, t, p: t[0].diagonal(p["o"], 0, -1) * 3),
    "movedim": (1, lambda r, s: ([r.standard_normal(s)], {"a": _dim(r, len(s)), "b": _dim(r, len(s))}),
                lambda L, t, p: t[0].movedim(p["a"], p["b"]).exp()),
    "unflatten": (1, lambda r, s: ([r.standard_normal(s)], {}),
                  lambda L, t, p: t[0].unflatten(0, (1, -1)).sin()),
    "tril": (2, lambda r, s: ([r.standard_normal(s)], {"k": int(r.integers(-1, 2))}),
             lambda L, t, p: t[0].tril(p["k"])),
    "triu": (2, lambda r, s: ([r.standard_normal(s)], {"k": int(r.integers(-1, 2))}),
             lambda L, t, p: L.triu(t[0], p["k"])),
    "tile": (0, lambda r, s: ([r.standard_normal(s)], {"reps": (2,) + (1,) * max(len(s) - 1, 0)}),
             lambda L, t, p: t[0].tile(p["reps"])),
    "repeat_interleave": (0, lambda r, s: ([r.standard_normal(s)], {"n": int(r.integers(1, 4))}),
                          lambda L, t, p: t[0].repeat_interleave(p["n"])),
    "repeat_interleave_dim": (1, lambda r, s: ([r.standard_normal(s)], {"rep": r.integers(0, 3, s[0])}),
                              lambda L, t, p: t[0].repeat_interleave(L.tensor(p["rep"]), dim=0)),
    "cumprod": (0, lambda r, s: ([np.where(r.random(s) < 0.2, 0.0, r.standard_normal(s))], {"d": _dim(r, len(s))}),
                lambda L, t, p: t[0].cumprod(p["d"])),
    "sort": (1, lambda r, s: ([r.standard_normal(s)], {"d": _dim(r, len(s)), "desc": bool(r.integers(2))}),
             lambda L, t, p: t[0].sort(p["d"], p["desc"])),
    "argsort": (1, lambda r, s: ([r.standard_normal(s)], {"d": _dim(r, len(s))}),
                lambda L, t, p: (t[0].argsort(p["d"], descending=True),)),
    "topk": (1, lambda r, s: ([r.standard_normal(s)], {"d": _dim(r, len(s)), "largest": bool(r.integers(2))}),
             lambda L, t, p: t[0].topk(min(2, t[0].shape[p["d"]]), p["d"], p["largest"])),
    "median": (0, lambda r, s: ([r.standard_normal(s)], {}), lambda L, t, p: t[0].median()),
    "median_dim": (1, lambda r, s: ([r.standard_normal(s)], {"d": _dim(r, len(s)), "k": bool(r.integers(2))}),
                   lambda L, t, p: t[0].median(p["d"], p["k"])),
    "aminmax": (1, lambda r, s: ([r.standard_normal(s)], {"d": _dim(r, len(s))}),
                lambda L, t, p: tuple(L.aminmax(t[0], dim=p["d"]))),
    "scatter": (1, lambda r, s: ([r.standard_normal(s), r.standard_normal(s)],
                                 {"d": len(s) - 1, "i": _perm_index(r, s, len(s) - 1, s[-1])}),
                lambda L, t, p: t[0].scatter(p["d"], L.tensor(p["i"]), t[1])),
    "scatter_value": (1, lambda r, s: ([r.standard_normal(s)], {"i": _perm_index(r, s, 0, s[0])}),
                      lambda L, t, p: t[0].scatter(0, L.tensor(p["i"][:1]), 1.5)),
    "scatter_add": (1, lambda r, s: ([r.standard_normal(s), r.standard_normal(s)],
                                     {"i": r.integers(0, s[0], s)}),
                    lambda L, t, p: t[0].scatter_add(0, L.tensor(p["i"]), t[1])),
    "index_add": (1, lambda r, s: ([r.standard_normal(s), r.standard_normal((3,) + s[1:])],
                                   {"i": r.integers(0, s[0], 3)}),
                  lambda L, t, p: t[0].index_add(0, L.tensor(p["i"]), t[1], alpha=-2.0)),
    "index_put": (1, lambda r, s: ([r.standard_normal(s), r.standard_normal(s[1:])],
                                   {"i": r.permutation(s[0])[:2], "acc": bool(r.integers(2))}),
                  lambda L, t, p: t[0].index_put((L.tensor(p["i"]),), t[1], accumulate=p["acc"])),
    "masked_fill": (0, lambda r, s: ([r.standard_normal(s), r.standard_normal(())], {"m": r.random(s) < 0.5}),
                    lambda L, t, p: t[0].masked_fill(L.tensor(p["m"]), t[1])),
    "masked_select": (1, lambda r, s: ([r.standard_normal(s)], {"m": r.random(s[-1:]) < 0.5}),
                      lambda L, t, p: t[0].masked_select(L.tensor(p["m"]))),
    "where_method": (0, lambda r, s: ([r.standard_normal(s), r.standard_normal(s[-1:])], {"c": r.random(s) < 0.5}),
                     lambda L, t, p: t[0].where(L.tensor(p["c"]), t[1])),
    "fmod": (0, lambda r, s: ([r.standard_normal(s) * 3, r.uniform(0.5, 2, s[-1:]) * r.choice([-1, 1], s[-1:])],
                              {}), lambda L, t, p: L.fmod(t[0], t[1])),
    "nan_to_num": (1, lambda r, s: ([np.where(r.random(s) < 0.3, np.inf, r.standard_normal(s))], {}),
                   lambda L, t, p: (t[0] * 2).nan_to_num(nan=0.5, posinf=3.0)),
}


def _run(lib, name, arrays, params, noncontig):
    spec = SPECS[name]
    leaves, inputs = [], []
    for a in arrays:
        if noncontig and a.ndim >= 2:
            leaf = lib.tensor(np.ascontiguousarray(a.T), dtype=lib.float64, requires_grad=True)
            inputs.append(leaf.permute(*range(a.ndim - 1, -1, -1)))
        else:
            leaf = lib.tensor(a, dtype=lib.float64, requires_grad=True)
            inputs.append(leaf)
        leaves.append(leaf)
    out = spec[2](lib, inputs, params)
    outs = out if isinstance(out, tuple) else (out,)
    loss = None
    rng = np.random.default_rng(1)
    for o in outs:
        if o.is_floating_point():
            w = lib.tensor(rng.standard_normal(tuple(o.shape)), dtype=lib.float64)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    if loss is not None and loss.requires_grad:
        loss.backward()
    return [o.detach().numpy() for o in outs], [None if t.grad is None else t.grad.numpy() for t in leaves]


def _compare(name, arrays, params, noncontig=False):
    (tv, tg), (ov, og) = (_run(L, name, arrays, params, noncontig) for L in (torch, A))
    for a, b in zip(tv, ov):
        assert a.shape == b.shape, (name, a.shape, b.shape)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
    for a, b in zip(tg, og):
        if a is None:
            assert b is None or not b.any()
        else:
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name + " grad")


SHAPES = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@settings(deadline=None, max_examples=120)
@given(name=st.sampled_from(sorted(SPECS)), shape=SHAPES, noncontig=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_porting_ops_match_torch(name, shape, noncontig, seed):
    if len(shape) < SPECS[name][0]:
        shape = shape + (3,) * (SPECS[name][0] - len(shape))
    rng = np.random.default_rng(seed)
    arrays, params = SPECS[name][1](rng, shape)
    _compare(name, arrays, params, noncontig)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_porting_ops_fixed_shapes(name):
    """Every op at least once on a 2x3 (non-contiguous) input and at its smallest rank."""
    for shape, nc in (((2, 3), True), ((2, 3), False), ((3,) * SPECS[name][0], False)):
        arrays, params = SPECS[name][1](np.random.default_rng(7), shape)
        _compare(name, arrays, params, nc)


FD = ["flip", "roll", "narrow", "diagonal", "movedim", "tril", "tile", "repeat_interleave_dim", "cumprod", "sort",
      "topk", "median_dim", "aminmax", "scatter", "scatter_add", "index_add", "index_put", "masked_fill",
      "masked_select", "where_method", "fmod", "nan_to_num", "median", "unflatten"]


@pytest.mark.parametrize("name", FD)
def test_porting_ops_finite_differences(name):
    """float64 central differences, independent of torch."""
    shape = (3, 4) if SPECS[name][0] <= 2 else (3,) * SPECS[name][0]
    arrays, params = SPECS[name][1](np.random.default_rng(3), shape)
    if name == "cumprod":
        arrays = [np.random.default_rng(4).uniform(0.5, 1.5, shape) * np.array([1, 0, 1, 1])]  # with a zero
    if name == "fmod":
        arrays[0] = arrays[0] * 0 + np.array([0.3, 1.7, -2.2, 0.9])  # away from the jumps
    ts = [A.tensor(a, dtype=A.float64, requires_grad=True) for a in arrays]
    out = SPECS[name][2](A, ts, params)
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.is_floating_point()]
    ws = [np.random.default_rng(5).standard_normal(o.shape) for o in outs]
    sum(((o * A.tensor(w)).sum() for o, w in zip(outs, ws)), A.tensor(0.0, dtype=A.float64)).backward()

    def f(arrs):
        with A.no_grad():
            o = SPECS[name][2](A, [A.tensor(a, dtype=A.float64) for a in arrs], params)
            os_ = [v for v in (o if isinstance(o, tuple) else (o,)) if v.is_floating_point()]
            return sum(float((v.numpy() * w).sum()) for v, w in zip(os_, ws))

    eps = 1e-6
    for i, (t, a) in enumerate(zip(ts, arrays)):
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            hi, lo = [x.copy() for x in arrays], [x.copy() for x in arrays]
            hi[i][idx] += eps
            lo[i][idx] -= eps
            num[idx] = (f(hi) - f(lo)) / (2 * eps)
        got = np.zeros_like(a) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(got, num, atol=1e-6, rtol=1e-5, err_msg=name)


def test_inplace_forms_write_through_views():
    for lib in (torch, A):
        x = lib.zeros(3, 4, dtype=lib.float64)
        x[1].scatter_(0, lib.tensor([2, 0]), lib.tensor([1.0, 2.0], dtype=lib.float64))
        x[:, 0].index_add_(0, lib.tensor([0, 0]), lib.tensor([5.0, 1.0], dtype=lib.float64))
        x.index_put_((lib.tensor([2]), lib.tensor([3])), lib.tensor(7.0, dtype=lib.float64))
        x.masked_fill_(x > 6, -1.0)
        if lib is torch:
            ref = x.numpy().copy()
    np.testing.assert_array_equal(x.numpy(), ref)


def test_errors_as_torch():
    for fn in (lambda L: L.zeros(3).diagonal(), lambda L: L.zeros(3).tril(), lambda L: L.zeros(3).narrow(0, 2, 2),
               lambda L: L.zeros(2, 2).masked_fill(L.zeros(2, 2), 1.0)):
        with pytest.raises((RuntimeError, IndexError)) as ref:
            fn(torch)
        with pytest.raises(ref.type, match=re.escape(str(ref.value)[:30])):
            fn(A)
