"""Module API beyond the basics, each compared with torch 2.13: state_dict and load_state_dict hooks (call order,
prefixes, metadata, in-place edits, strict errors), extra state, set_submodule, to_empty, share_memory, compile,
and the global hooks of ``nn.modules.module``."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import autograd as ag  # noqa: E402
import autograd.nn as nn  # noqa: E402
import autograd.nn.modules.module as ag_module_mod  # noqa: E402


def make(lib):
    """The same small tree in either library: a Sequential holding a Linear, a BatchNorm1d and a nested one."""
    n = lib.nn
    return n.Sequential(n.Linear(3, 4), n.BatchNorm1d(4), n.Sequential(n.ReLU(), n.Linear(4, 2)))


def both(fn):
    return fn(torch), fn(ag)


def test_state_dict_metadata_matches_torch():
    t, a = both(make)
    assert dict(a.state_dict()._metadata) == dict(t.state_dict()._metadata)
    assert list(a.state_dict()) == list(t.state_dict())


def test_state_dict_pre_and_post_hooks_run_per_module_with_prefixes():
    def record(lib):
        m, calls = make(lib), []
        for name, sub in m.named_modules():
            sub.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(
                ("pre", type(mod).__name__, prefix, keep_vars)))
            sub.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(
                ("post", type(mod).__name__, prefix, dict(meta), len(sd))))
        m.state_dict(keep_vars=True)
        return calls

    t, a = both(record)
    assert a == t and len(a) == 12


def test_state_dict_post_hook_edits_in_place_and_must_return_none():
    def run(lib):
        m = make(lib)
        h = m[2].register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd.pop(prefix + "1.bias"))
        with pytest.raises(RuntimeError) as ei:
            m.state_dict()
        h.remove()
        m[2].register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd.__setitem__(prefix + "note", 7))
        m[2][1].register_state_dict_post_hook(lambda mod, sd, prefix, meta: (sd.pop(prefix + "bias"), None)[1])
        return str(ei.value), list(m.state_dict())

    t, a = both(run)
    assert a == t and "2.note" in a[1] and "2.1.bias" not in a[1]


def test_private_state_dict_hook_result_replaces_the_root_result():
    def run(lib):
        m = lib.nn.Linear(2, 2)
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"only": 1})
        return m.state_dict()

    t, a = both(run)
    assert a == t == {"only": 1}


def test_load_state_dict_pre_hook_arguments_and_key_renaming():
    def run(lib):
        m, calls = make(lib), []
        for name, sub in m.named_modules():
            sub.register_load_state_dict_pre_hook(
                lambda mod, sd, prefix, meta, strict, missing, unexpected, errors: calls.append(
                    (type(mod).__name__, prefix, dict(meta), strict, sorted(sd), list(missing))))
        sd = make(lib).state_dict()
        sd["2.1.old_weight"] = sd.pop("2.1.weight")  # a checkpoint from an older layout

        def rename(mod, sd, prefix, *rest):
            if prefix + "old_weight" in sd:
                sd[prefix + "weight"] = sd.pop(prefix + "old_weight")

        m[2][1].register_load_state_dict_pre_hook(rename)
        res = m.load_state_dict(sd)
        return calls, repr(res), m[2][1].weight.detach().numpy().tolist() == sd["2.1.old_weight"].numpy().tolist()

    t, a = both(run)
    assert a == t and a[2]


def test_private_load_pre_hook_without_module():
    def run(lib):
        m, seen = lib.nn.Linear(2, 2), []
        m._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: seen.append((sorted(sd), prefix, len(rest))))
        m.load_state_dict(m.state_dict())
        return seen

    t, a = both(run)
    assert a == t


def test_load_post_hook_can_silence_or_add_strict_errors():
    def run(lib):
        m = make(lib)
        sd = m.state_dict()
        del sd["0.bias"]
        sd["stray"] = sd["0.weight"]
        seen = []

        def forgive(mod, keys):
            seen.append((type(mod).__name__, list(keys.missing_keys), list(keys.unexpected_keys)))
            keys.missing_keys.clear()
            keys.unexpected_keys.clear()

        h = m.register_load_state_dict_post_hook(forgive)
        ok = repr(m.load_state_dict(sd))
        h.remove()
        m[0].register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.append("invented"))
        with pytest.raises(RuntimeError) as e1:
            m.load_state_dict(m.state_dict())
        m2 = make(lib)
        m2.register_load_state_dict_post_hook(lambda mod, keys: 1)
        with pytest.raises(AssertionError) as e2:
            m2.load_state_dict(m2.state_dict())
        return seen, ok, str(e1.value), str(e2.value)

    t, a = both(run)
    assert a == t and a[1] == "<All keys matched successfully>"


def test_post_hook_sees_loaded_values_and_failed_loads_write_nothing():
    src = make(ag)
    dst = make(ag)
    seen = []
    dst[0].register_load_state_dict_post_hook(lambda mod, keys: seen.append(mod.weight.detach().numpy().copy()))
    dst.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(seen[-1], src[0].weight.detach().numpy())
    before = dst[0].weight.detach().numpy().copy()
    bad = {k: v + 1 for k, v in src.state_dict().items()}
    bad["2.1.weight"] = ag.zeros(3, 3)
    with pytest.raises(RuntimeError, match="size mismatch for 2.1.weight"):
        dst.load_state_dict(bad)
    np.testing.assert_array_equal(dst[0].weight.detach().numpy(), before)


def test_override_of_load_from_state_dict_is_honoured():
    def run(lib):
        class Renaming(lib.nn.Linear):
            def _load_from_state_dict(self, sd, prefix, meta, strict, missing, unexpected, errors):
                if prefix + "w" in sd:
                    sd[prefix + "weight"] = sd.pop(prefix + "w")
                super()._load_from_state_dict(sd, prefix, meta, strict, missing, unexpected, errors)

        m = lib.nn.Sequential(Renaming(2, 2))
        res = m.load_state_dict({"0.w": lib.ones(2, 2), "0.bias": lib.zeros(2)})
        return repr(res), m[0].weight.detach().numpy().tolist()

    t, a = both(run)
    assert a == t


class _Counter:
    @staticmethod
    def make(lib):
        class Counter(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(2, 2)
                self.calls = 0

            def get_extra_state(self):
                return {"calls": self.calls}

            def set_extra_state(self, state):
                self.calls = state["calls"]

        return lib.nn.Sequential(Counter(), lib.nn.Linear(2, 1))


def test_extra_state_is_saved_and_loaded_as_torch():
    def run(lib):
        m = _Counter.make(lib)
        m[0].calls = 5
        sd = m.state_dict()
        m2 = _Counter.make(lib)
        m2.load_state_dict(sd)
        without = {k: v for k, v in sd.items() if k != "0._extra_state"}
        with pytest.raises(RuntimeError) as e_missing:
            m2.load_state_dict(without)
        res = repr(m2.load_state_dict(without, strict=False))
        plain = lib.nn.Sequential(lib.nn.Linear(2, 2))
        psd = plain.state_dict()
        psd["0._extra_state"] = 3
        with pytest.raises(RuntimeError) as e_unexpected:
            plain.load_state_dict(psd)
        return list(sd), sd["0._extra_state"], m2[0].calls, str(e_missing.value), res, str(e_unexpected.value)

    t, a = both(run)
    assert a == t and a[2] == 5


def test_extra_state_round_trips_through_save_and_load(tmp_path):
    m = _Counter.make(ag)
    m[0].calls = 9
    ag.save(m.state_dict(), tmp_path / "ck.pt")
    m2 = _Counter.make(ag)
    m2.load_state_dict(ag.load(tmp_path / "ck.pt"))
    assert m2[0].calls == 9


def test_base_extra_state_methods_raise_as_torch():
    def run(lib):
        out = []
        for call in (lambda m: m.get_extra_state(), lambda m: m.set_extra_state(1)):
            with pytest.raises(RuntimeError) as ei:
                call(lib.nn.Linear(1, 1))
            out.append(str(ei.value))
        return out

    t, a = both(run)
    assert a == t


def test_set_submodule_as_torch():
    def run(lib):
        m = make(lib)
        out = []
        m.set_submodule("2.0", lib.nn.Tanh())
        m.set_submodule("2.extra", lib.nn.Identity())
        out.append([type(x).__name__ for x in m.modules()])
        for args, kw in [(("2.missing", lib.nn.Identity()), {"strict": True}), (("", lib.nn.Identity()), {}),
                         (("2.0", 3), {}), (("nope.x", lib.nn.Identity()), {}), (("0.weight", lib.nn.Identity()), {}),
                         (("0.weight.x", lib.nn.Identity()), {})]:
            with pytest.raises(Exception) as ei:
                m.set_submodule(*args, **kw)
            out.append((type(ei.value).__name__, str(ei.value)))
        m.set_submodule("2.0", lib.nn.ReLU(), strict=True)
        out.append(type(m[2][0]).__name__)
        return out

    t, a = both(run)
    assert a == t


def test_to_empty_gives_fresh_storage_with_the_same_shapes():
    m = make(ag)
    old = {k: v for k, v in m.state_dict(keep_vars=True).items()}
    old_arrays = {k: v._data for k, v in old.items()}
    assert m.to_empty(device="cpu") is m
    for k, v in m.state_dict(keep_vars=True).items():
        assert v is old[k] and v._data is not old_arrays[k]
        assert v._data.shape == old_arrays[k].shape and v._data.dtype == old_arrays[k].dtype
    top = nn.Sequential(nn.Linear(1, 1))
    top.register_buffer("b", ag.zeros(2))
    inner = top[0].weight._data
    top.to_empty(device="cpu", recurse=False)
    assert top[0].weight._data is inner
    with pytest.raises(TypeError):
        top.to_empty("cpu")   # keyword-only, as torch


def test_share_memory_and_compile():
    m = make(ag)
    assert m.share_memory() is m
    with pytest.raises(AttributeError, match="autograd does not support torch.nn.Module.compile"):
        m.compile()


def test_global_forward_hooks_run_before_the_module_hooks():
    def run(lib, mod):
        calls = []
        m = lib.nn.Linear(2, 2)
        m.register_forward_pre_hook(lambda mo, args: calls.append("own pre"))
        m.register_forward_hook(lambda mo, args, out: calls.append("own post"))
        hs = [mod.register_module_forward_pre_hook(lambda mo, args: calls.append(("global pre", type(mo).__name__))),
              mod.register_module_forward_hook(lambda mo, args, kwargs, out: calls.append(
                  ("global post", sorted(kwargs))), with_kwargs=True),
              mod.register_module_forward_hook(lambda mo, args, out: out * 0)]
        try:
            out = m(lib.ones(1, 2))
        finally:
            for h in hs:
                h.remove()
        m(lib.ones(1, 2))
        return calls, out.detach().numpy().tolist()

    t, a = run(torch, torch.nn.modules.module), run(ag, ag_module_mod)
    assert a == t and a[1] == [[0.0, 0.0]]


def test_always_call_forward_hooks_run_when_forward_raises():
    def run(lib, mod):
        calls = []

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        m.register_forward_hook(lambda mo, args, out: calls.append(("own", out)), always_call=True)
        m.register_forward_hook(lambda mo, args, out: calls.append("never"))
        h = mod.register_module_forward_hook(lambda mo, args, out: calls.append(("global", out)), always_call=True)
        try:
            with pytest.raises(ValueError):
                m(1)
        finally:
            h.remove()
        return calls

    t, a = run(torch, torch.nn.modules.module), run(ag, ag_module_mod)
    assert a == t


def test_global_registration_hooks_can_replace_what_is_registered():
    def run(lib, mod):
        seen = []

        def on_buffer(m, name, b):
            seen.append(("buffer", type(m).__name__, name))
            return b * 2 if b is not None else None

        def on_param(m, name, p):
            seen.append(("param", type(m).__name__, name))

        def on_module(m, name, sub):
            seen.append(("module", type(m).__name__, name))
            return lib.nn.Tanh() if isinstance(sub, lib.nn.ReLU) else None

        hs = [mod.register_module_buffer_registration_hook(on_buffer),
              mod.register_module_parameter_registration_hook(on_param),
              mod.register_module_module_registration_hook(on_module)]
        try:
            s = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.ReLU())
            s.register_buffer("b", lib.ones(1))
            s.b = lib.ones(1) * 3
            s.extra = lib.nn.ReLU()
        finally:
            for h in hs:
                h.remove()
        s.register_buffer("c", lib.ones(1))
        return seen, [type(x).__name__ for x in s.children()], s.b.numpy().tolist(), s.c.numpy().tolist()

    t, a = run(torch, torch.nn.modules.module), run(ag, ag_module_mod)
    assert a == t
