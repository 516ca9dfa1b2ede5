"""Distributed pieces that need no second process: the sampler against torch's index lists, errors before
init_process_group, the NCCL backend and the docs' GPU recipe (compile/import check; no GPU here)."""
import ast
import os

import numpy as np
import pytest

import autograd as ag
import autograd.distributed as dist
from autograd.data import DistributedSampler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sampler_matches_torch_index_lists():
    torch_data = pytest.importorskip("torch.utils.data")
    for n in (1, 2, 7, 33):
        for reps in (1, 3, 4):
            for shuffle in (True, False):
                for drop_last in (True, False):
                    for seed, epoch in ((0, 0), (5, 3), (2 ** 33 + 7, 1)):
                        for rank in range(reps):
                            a = torch_data.DistributedSampler(range(n), reps, rank, shuffle, seed, drop_last)
                            b = DistributedSampler(range(n), reps, rank, shuffle, seed, drop_last)
                            a.set_epoch(epoch)
                            b.set_epoch(epoch)
                            assert list(b) == list(a) and len(b) == len(a), (n, reps, rank, shuffle, drop_last)
    big = torch_data.DistributedSampler(range(5000), 3, 1, seed=9)
    assert list(DistributedSampler(range(5000), 3, 1, seed=9)) == list(big)


def test_sampler_errors_and_epochs():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    # as torch: without a distributed backend (no mpi4py here) the sampler cannot ask for the world size
    err, msg = ((ValueError, "Default process group has not been initialized") if dist.is_available()
                else (RuntimeError, "Requires distributed package to be available"))
    with pytest.raises(err, match=msg):
        DistributedSampler(range(4))
    s = DistributedSampler(range(20), 2, 0)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    other = DistributedSampler(range(20), 2, 1)
    other.set_epoch(1)
    assert list(s) != first and sorted(list(s) + list(other)) == list(range(20))


def test_use_before_init_raises_as_torch():
    assert not dist.is_initialized()
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(ag.ones(2)),
               lambda: dist.broadcast(ag.ones(2), 0)):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            fn()
    with pytest.raises(AssertionError):
        dist.destroy_process_group()
    from autograd.nn.parallel import DistributedDataParallel
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(ag.nn.Linear(2, 2))
    pytest.importorskip("mpi4py")
    from minitorch_optim.distributed import ZeroRedundancyOptimizer
    import minitorch_optim as optim
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        ZeroRedundancyOptimizer(ag.nn.Linear(2, 2).parameters(), optim.Adam, lr=0.1)
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_reduce_op_names():
    assert [op.name for op in dist.ReduceOp] == ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]


def test_nccl_backend_imports_and_reports_missing_nccl():
    """Without NCCL (no GPU here) the backend module imports and says clearly what is missing."""
    pytest.importorskip("mpi4py")
    from autograd.distributed import _nccl

    assert _nccl.NCCLBackend.name == "nccl"
    if dist.is_nccl_available():
        pytest.skip("NCCL is available: the GPU check script runs the NCCL recipe")
    with pytest.raises(RuntimeError, match="'nccl' backend needs"):
        _nccl._nccl()


def _recipes():
    text = open(os.path.join(ROOT, "docs", "src", "distributed.md")).read()
    blocks, cur = [], None
    for line in text.splitlines():
        if line.startswith("```python"):
            cur = []
        elif line.startswith("```") and cur is not None:
            blocks.append("\n".join(cur))
            cur = None
        elif cur is not None:
            cur.append(line)
    return blocks


def test_docs_recipes_compile_and_import():
    """Both recipes compile; every name they import exists (the GPU one cannot run here)."""
    blocks = _recipes()
    assert len(blocks) >= 2
    import importlib

    for src in blocks:
        tree = ast.parse(src)
        compile(tree, "distributed.md", "exec")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("autograd", "minitorch_optim"):
                mod = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(mod, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                        f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in ("autograd", "minitorch_optim"):
                        importlib.import_module(alias.name)
    assert any('backend="nccl"' in b for b in blocks) and any('backend="mpi"' in b for b in blocks)


def test_post_accumulate_grad_hook_and_final_callback_as_torch():
    """The two engine hooks DDP uses: ``register_post_accumulate_grad_hook`` sees the accumulated ``.grad``
    (as torch), and ``queue_callback`` runs once after the whole backward (torch's execution-engine callback)."""
    torch = pytest.importorskip("torch")
    from autograd import engine as function

    seen, tseen = [], []
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    order = []

    def hook(p):
        seen.append(p.grad.numpy().copy())
        order.append("hook")
        if len(order) == 1:
            function.queue_callback(lambda: order.append("final"))
    w.register_post_accumulate_grad_hook(hook)
    tw.register_post_accumulate_grad_hook(lambda p: tseen.append(p.grad.numpy().copy()))
    for _ in range(2):  # the second backward accumulates: the hook sees the sum
        ((w * w).sum() + w.sum()).backward()
        ((tw * tw).sum() + tw.sum()).backward()
    assert [s.tolist() for s in seen] == [s.tolist() for s in tseen]
    assert order == ["hook", "final", "hook"]
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
        function.queue_callback(lambda: None)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(hook)
    import copy

    assert "_post_acc_hooks" not in copy.deepcopy(ag.nn.Parameter(w.detach())).__dict__
