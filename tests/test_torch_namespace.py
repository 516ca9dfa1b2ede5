"""torch's namespace for ``import autograd as torch``: module layout, randint/multinomial forms and errors,
``Tensor.__format__``/``type()``, inference_mode, flags, and unsupported names failing by name; values and
messages compared with torch 2.13."""
import subprocess
import sys

import numpy as np
import pytest

import autograd as A

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        r = fn()
    except Exception as e:          # noqa: BLE001 - the class and message are what is compared
        return type(e).__name__, str(e).split("\n")[0]
    return r


def test_import_forms_and_module_layout():
    import autograd.optim as optim
    import autograd.optim.lr_scheduler as sched
    import autograd.utils.data.dataloader as dl
    import autograd.backends.cudnn as cudnn
    from autograd.autograd.function import once_differentiable  # noqa: F401
    from autograd.optim import lr_scheduler, swa_utils  # noqa: F401
    from autograd.utils.data import DataLoader, TensorDataset  # noqa: F401
    from autograd.utils.data.sampler import BatchSampler, WeightedRandomSampler  # noqa: F401
    import minitorch_optim

    assert optim.SGD is minitorch_optim.SGD and A.optim is optim and sched is minitorch_optim.lr_scheduler
    assert A.optim.lr_scheduler.StepLR is minitorch_optim.lr_scheduler.StepLR
    assert dl.DataLoader is A.data.DataLoader is A.utils.data.DataLoader
    assert A.utils.data.dataset.TensorDataset is A.data.TensorDataset
    assert A.autograd.grad is A.grad and A.autograd.Function is A.Function
    assert A.autograd.functional.jacobian is A.functional.jacobian
    assert A.autograd.graph.increment_version is A.increment_version
    assert cudnn is A.backends.cudnn


def test_autograd_imports_without_minitorch_optim_and_either_order_works():
    code = ("import sys, autograd; assert 'minitorch_optim' not in sys.modules; import autograd.optim as o; "
            "assert o.Adam; import minitorch_optim, autograd.optim.swa_utils")
    subprocess.run([sys.executable, "-c", code], check=True)
    subprocess.run([sys.executable, "-c", "import minitorch_optim, autograd; autograd.optim.SGD"], check=True)


@pytest.mark.parametrize("path", ["compile", "jit", "cuda.Stream", "backends.cudnn.foo", "utils.checkpoint.foo",
                                  "autograd.forward_ad", "optim.NoSuchOptimizer", "utils.data.StackDatasetX"])
def test_unsupported_names_fail_by_name(path):
    obj = A
    *parents, last = path.split(".")
    for p in parents:
        obj = getattr(obj, p)
    with pytest.raises(AttributeError, match=f"autograd does not support torch.{path}"):
        getattr(obj, last)
    assert not hasattr(obj, last)


RANDINT_FORMS = [
    ((10, (3,)), {}), ((3, 10, (2, 2)), {}), ((), {"high": 5, "size": (2,)}), ((), {"low": 2, "high": 5, "size": (4,)}),
    ((10,), {"size": (3,)}), ((2, 10), {"size": [3]}), ((10, (3,)), {"dtype": "int32"}),
    ((10, (3,)), {"dtype": "float32"}), ((-3, 3, (50,)), {}), ((10, ()), {}), ((1, (2, 3)), {}),
]


@pytest.mark.parametrize("args,kw", RANDINT_FORMS)
def test_randint_forms_shape_dtype_range_as_torch(args, kw):
    def call(lib):
        k = dict(kw)
        if "dtype" in k:
            k["dtype"] = getattr(lib, k["dtype"])
        return lib.randint(*args, **k)

    ours, theirs = call(A), call(torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).replace("torch.", "") == str(theirs.dtype).replace("torch.", "")
    low, high = (args[0], args[1]) if len(args) >= 3 or (len(args) == 2 and "size" in kw) else \
        (kw.get("low", 0), kw.get("high", args[0] if args else None))
    v = ours.numpy()
    assert v.size == 0 or (v.min() >= low and v.max() < high)


def test_randint_generator_and_requires_grad():
    a = A.randint(100, (5,), generator=A.Generator().manual_seed(3))
    b = A.randint(100, (5,), generator=A.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()
    assert A.randint(10, (2,), dtype=A.float32, requires_grad=True).requires_grad


@pytest.mark.parametrize("call", [
    lambda L: L.randint(10), lambda L: L.randint(5, 5, (2,)), lambda L: L.randint(5, 2, (2,)),
    lambda L: L.randint(0, (2,)), lambda L: L.randint(300, (2,), dtype=L.uint8),
    lambda L: L.randint(10, (2,), requires_grad=True), lambda L: L.randint(10, (2,), dtype=L.bool),
    lambda L: L.randint(-1, 10, (2,), dtype=L.uint8),
])
def test_randint_errors_as_torch(call):
    ours, theirs = _outcome(lambda: call(A)), _outcome(lambda: call(torch))
    assert ours[0] == theirs[0]
    if ours[0] == "RuntimeError":
        assert ours[1] == theirs[1]


@pytest.mark.parametrize("call", [
    lambda L: L.multinomial(L.tensor([-1.0, 1.0]), 1), lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    lambda L: L.multinomial(L.tensor([float("nan"), 1.0]), 1), lambda L: L.multinomial(L.tensor([0.1, 0.9]), 0),
    lambda L: L.multinomial(L.tensor(1.0), 1), lambda L: L.multinomial(L.rand(2, 2, 2), 1),
    lambda L: L.multinomial(L.tensor([1, 2]), 1), lambda L: L.multinomial(L.tensor([0.1, 0.9]), 3),
    lambda L: L.multinomial(L.tensor([-1.0, 2.0]), 3, True), lambda L: L.multinomial(L.tensor([float("nan"), 1.0]), 2, True),
    lambda L: L.multinomial(L.tensor([float("inf"), 1.0]), 2, True), lambda L: L.multinomial(L.tensor([0.0, 0.0]), 2, True),
])
def test_multinomial_errors_as_torch(call):
    assert _outcome(lambda: call(A)) == _outcome(lambda: call(torch))


def test_multinomial_semantics():
    p = A.tensor([0.1, 0.0, 0.9])
    s = A.multinomial(p, 3)                          # the zero-weight category comes last, as torch
    assert sorted(s.tolist()) == [0, 1, 2] and s.tolist()[2] == 1 and s.dtype == A.int64
    r = A.multinomial(p, 4000, replacement=True, generator=A.Generator().manual_seed(0))
    counts = np.bincount(r.numpy(), minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 4000 - 0.9) < 0.03
    rows = A.multinomial(A.rand(4, 6), 3)
    assert tuple(rows.shape) == (4, 3) and all(len(set(x)) == 3 for x in rows.tolist())
    g1, g2 = A.Generator().manual_seed(5), A.Generator().manual_seed(5)
    assert A.multinomial(p, 2, generator=g1).tolist() == A.multinomial(p, 2, generator=g2).tolist()


@pytest.mark.parametrize("value,spec", [(1.23456, ".4f"), (1.23456, ""), (2.5, "8.2e"), (3, "d"), (3, "5"),
                                        (True, ""), (-0.5, "+.3g"), (7, ".2f")])
def test_format_as_torch(value, spec):
    assert format(A.tensor(value), spec) == format(torch.tensor(value), spec)


def test_format_of_non_scalar_tensors_as_torch():
    for lib in (A, torch):
        with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
            f"{lib.tensor([1.5]):.2f}"
        assert f"{lib.tensor([1.5])}" == str(lib.tensor([1.5]))


@pytest.mark.parametrize("dt", ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"])
def test_type_strings_as_torch(dt):
    assert A.zeros(2, dtype=getattr(A, dt)).type() == torch.zeros(2, dtype=getattr(torch, dt)).type()


def test_type_casts_as_torch():
    for lib in (A, torch):
        x = lib.zeros(2)
        assert x.type(lib.float32) is x
        assert str(x.type(lib.float64).dtype).endswith("float64")
        assert str(x.type("torch.LongTensor").dtype).endswith("int64")
        assert str(x.type("torch.IntTensor").dtype).endswith("int32")
    assert _outcome(lambda: A.zeros(2).type("torch.Foo")) == _outcome(lambda: torch.zeros(2).type("torch.Foo"))


def test_device_flags_as_torch():
    for name in ("is_cuda", "is_cpu", "is_xpu", "is_mps"):
        assert getattr(A.zeros(1), name) == getattr(torch.zeros(1), name)


def test_inference_mode_forms():
    with A.inference_mode():
        assert not A.is_grad_enabled() and A.is_inference_mode_enabled()
        y = A.ones(2, requires_grad=True) * 2
        assert y.grad_fn is None
    with A.inference_mode(False):
        assert A.is_grad_enabled()

    @A.inference_mode
    def bare():
        return A.is_grad_enabled()

    @A.inference_mode()
    def called():
        return A.is_grad_enabled()

    assert bare() is False and called() is False and A.is_grad_enabled() and not A.is_inference_mode_enabled()


def test_default_device():
    assert A.get_default_device() == "cpu" == str(torch.get_default_device())
    A.set_default_device("cpu")
    try:
        assert A.zeros(2).device == "cpu" and A.tensor([1.0]).device == "cpu"
    finally:
        A.set_default_device(None)


def test_generator_api_as_torch():
    g = A.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7 and g.device == "cpu"
    s = g.get_state()
    a = A.rand(3, generator=g).tolist()
    g.set_state(s)
    assert A.rand(3, generator=g).tolist() == a
    assert isinstance(g.seed(), int)
    ours = {n for n in dir(A.Generator()) if not n.startswith("_")}
    theirs = {n for n in dir(torch.Generator()) if not n.startswith("_")}
    missing = theirs - ours - {"get_offset", "set_offset", "graphsafe_get_state", "graphsafe_set_state"}
    assert not missing


def test_cuda_accelerator_backends_without_errors():
    A.backends.cudnn.benchmark = True
    A.backends.cudnn.deterministic = True
    A.backends.cuda.matmul.allow_tf32 = True
    A.backends.cudnn.allow_tf32 = True
    try:
        assert A.backends.cudnn.benchmark and A.backends.cuda.matmul.allow_tf32
        assert A.backends.mps.is_available() is False
        A.cuda.manual_seed(0)
        A.cuda.manual_seed_all(0)
        assert A.accelerator.is_available() == A.cuda.is_available()
        assert A.accelerator.device_count() == A.cuda.device_count()
        if not A.cuda.is_available():
            assert A.accelerator.current_accelerator() is None
            assert A.cuda.memory_allocated() == A.cuda.memory_reserved() == 0
        else:
            assert A.accelerator.current_accelerator() == "cuda"
            assert A.cuda.memory_allocated() >= 0 and isinstance(A.cuda.get_device_name(), str)
            A.cuda.synchronize()
    finally:
        A.backends.cudnn.benchmark = False
        A.backends.cudnn.deterministic = False
        A.backends.cuda.matmul.allow_tf32 = False
    with A.backends.cudnn.flags(enabled=False):
        assert A.backends.cudnn.enabled is False
    assert A.backends.cudnn.enabled is True
    A.autograd.set_detect_anomaly(True)
    assert A.autograd.is_anomaly_enabled()
    A.autograd.set_detect_anomaly(False)
    with A.autograd.detect_anomaly():
        assert A.autograd.is_anomaly_enabled()
    A.use_deterministic_algorithms(True)
    assert A.are_deterministic_algorithms_enabled()
    A.use_deterministic_algorithms(False)
    A.set_float32_matmul_precision("high")
    assert A.get_float32_matmul_precision() == "high"
    A.set_float32_matmul_precision("highest")
