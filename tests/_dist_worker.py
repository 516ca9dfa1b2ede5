"""Run under ``mpirun -np 2``: many distributed checks in one launch (tests/test_distributed.py reads the
results). Usage: ``python tests/_dist_worker.py MODE OUTDIR``; MODE is ``main``, ``fail`` or ``timeout``.
Each check of ``main`` writes its outcome (``ok`` or the traceback) to OUTDIR/rank<r>.json."""
from __future__ import annotations

import datetime
import json
import os
import sys
import time
import traceback

import numpy as np

import autograd as ag
import autograd.distributed as dist
import minitorch_optim as optim
from autograd import nn
from autograd.nn.parallel import DistributedDataParallel as DDP
from minitorch_optim.distributed import ZeroRedundancyOptimizer

STEPS, BATCH = 10, 16


def data(seed=1, steps=STEPS, nin=5, nout=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((steps, BATCH, nin)), rng.standard_normal((steps, BATCH, nout))


def mlp(bn=False):
    ag.manual_seed(0)
    layers = [nn.Linear(5, 7)] + ([nn.BatchNorm1d(7)] if bn else []) + [nn.Tanh(), nn.Linear(7, 3)]
    return nn.Sequential(*layers).double()


def maxdiff(a_params, b_params):
    return max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(a_params, b_params))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# ---- collectives ------------------------------------------------------------------------------------
def c_collectives(r, w):
    base = np.arange(6.0).reshape(2, 3)
    total = sum(base + k for k in range(w))
    expect = {dist.ReduceOp.SUM: total, dist.ReduceOp.AVG: total / w, dist.ReduceOp.MAX: base + w - 1,
              dist.ReduceOp.MIN: base, dist.ReduceOp.PRODUCT: np.prod([base + k for k in range(w)], axis=0)}
    for op, want in expect.items():
        t = ag.tensor(base + r)
        dist.all_reduce(t, op=op)
        check(np.array_equal(t.numpy(), want), f"all_reduce {op}")
    t = ag.tensor((base + r).T.copy()).t()  # non-contiguous: written back through the view
    dist.all_reduce(t)
    check(np.array_equal(t.numpy(), expect[dist.ReduceOp.SUM]), "all_reduce non-contiguous")
    i = ag.tensor(np.array([r + 1, 2], dtype=np.int64))
    dist.all_reduce(i, op=dist.ReduceOp.PRODUCT)
    check(i.numpy().tolist() == [2, 4] and i.dtype == ag.int64, "all_reduce int64")
    b = ag.tensor([float(r)] * 3)
    dist.broadcast(b, src=1)
    check(b.numpy().tolist() == [1.0] * 3, "broadcast")
    outs = [ag.zeros(2, dtype=ag.float64) for _ in range(w)]
    dist.all_gather(outs, ag.tensor([r, r + 10.0], dtype=ag.float64))
    check([o.numpy().tolist() for o in outs] == [[k, k + 10.0] for k in range(w)], "all_gather")
    big = ag.zeros(2 * w, dtype=ag.float64)
    dist.all_gather_into_tensor(big, ag.tensor([r, -r], dtype=ag.float64))
    check(big.numpy().tolist() == [v for k in range(w) for v in (k, -k)], "all_gather_into_tensor")
    o = ag.zeros(2, dtype=ag.float64)
    dist.reduce_scatter(o, [ag.tensor([1.0, 2.0], dtype=ag.float64) * (r + 1) * (k + 1) for k in range(w)])
    s = sum(range(1, w + 1))
    check(o.numpy().tolist() == [s * (r + 1), 2 * s * (r + 1)], "reduce_scatter")
    o = ag.zeros(1, dtype=ag.float64)
    dist.reduce_scatter_tensor(o, ag.tensor(np.arange(w, dtype=np.float64)), op=dist.ReduceOp.AVG)
    check(o.numpy().tolist() == [float(r)], "reduce_scatter_tensor AVG")
    work = dist.all_reduce(ag.ones(4), async_op=True)
    work.wait()
    check(work.is_completed(), "async work completes")
    dist.barrier()
    for fn, exc in ((lambda: dist.all_gather([ag.zeros(1)], ag.zeros(1)), ValueError),
                    (lambda: dist.init_process_group("mpi"), ValueError),
                    (lambda: dist.broadcast(ag.zeros(1), src=w), ValueError),
                    (lambda: dist.all_reduce(ag.zeros(1), op="sum"), ValueError)):
        try:
            fn()
        except exc:
            pass
        else:
            raise AssertionError(f"expected {exc.__name__}")
    check(dist.get_world_size() == w and dist.get_rank() == r and dist.is_initialized(), "rank/size")


# ---- DDP == one process on the whole batch --------------------------------------------------------
def _ddp_vs_single(r, w, make_opt, accumulate, bucket_cap_mb):
    X, Y = data()
    ref, model = mlp(), mlp()
    if r == 1:  # rank 0's initial parameters must win
        for p in model.parameters():
            p._data += 1.0
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    o_ref, o = make_opt(ref.parameters()), make_opt(ddp.parameters())
    h = BATCH // w
    for s in range(STEPS):
        x, y = ag.tensor(X[s]), ag.tensor(Y[s])
        o_ref.zero_grad()
        o.zero_grad()
        if not accumulate:
            ((ref(x) - y) ** 2).mean().backward()
            xs, ys = x[r * h:(r + 1) * h], y[r * h:(r + 1) * h]
            ((ddp(xs) - ys) ** 2).mean().backward()
        else:  # two micro-batches: rank r sees quarters r and w + r
            q = BATCH // (2 * w)
            for k in range(2):
                lo = k * BATCH // 2
                ((ref(x[lo:lo + BATCH // 2]) - y[lo:lo + BATCH // 2]) ** 2).mean().mul(0.5).backward()
                xs, ys = x[lo + r * q:lo + (r + 1) * q], y[lo + r * q:lo + (r + 1) * q]
                if k == 0:
                    with ddp.no_sync():
                        ((ddp(xs) - ys) ** 2).mean().mul(0.5).backward()
                    if s == 0:  # inside no_sync the gradients stay local
                        g = ag.tensor(model[0].weight.grad.numpy())
                        dist.all_reduce(g, op=dist.ReduceOp.MAX)
                        check(not np.allclose(g.numpy(), model[0].weight.grad.numpy()), "no_sync kept local")
                else:
                    ((ddp(xs) - ys) ** 2).mean().mul(0.5).backward()
        o_ref.step()
        o.step()
    d = maxdiff(ref.parameters(), model.parameters())
    check(d < 1e-12, f"DDP differs from one process by {d}")
    check(list(ddp.state_dict())[0] == "module.0.weight" and ddp.module is model, "state_dict keys")


def c_ddp_sgd(r, w):
    _ddp_vs_single(r, w, lambda p: optim.SGD(p, lr=0.1, momentum=0.9), False, None)


def c_ddp_sgd_no_sync(r, w):
    _ddp_vs_single(r, w, lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), True, 0.0001)


def c_ddp_adamw(r, w):
    _ddp_vs_single(r, w, lambda p: optim.AdamW(p, lr=0.01), False, 0.0001)


def c_ddp_adamw_no_sync(r, w):
    _ddp_vs_single(r, w, lambda p: optim.AdamW(p, lr=0.01), True, None)


def c_ddp_unused(r, w):
    x = ag.tensor(np.ones((2, 5)))
    ddp = DDP(mlp())
    ddp.module[0](x).sum().backward()  # not after a forward through ddp: nothing to reduce
    out = ddp(x)
    try:
        ddp.module[0](x).sum().backward()  # the last layer got no gradient
    except RuntimeError as e:
        check("find_unused_parameters=True" in str(e), "unused-parameter error message")
    else:
        raise AssertionError("expected RuntimeError for unused parameters")
    del out
    ddp2 = DDP(mlp(), find_unused_parameters=True)
    ddp2(x)
    ddp2.module[0](x * (r + 1)).sum().backward()
    g = ddp2.module[0].weight.grad.numpy()
    check(np.allclose(g, (1 + w) / 2 * 2), "unused: used grads averaged")
    check(ddp2.module[2].weight.grad is None, "unused everywhere: grad stays None")


# ---- BatchNorm buffers as torch's DDP leaves them (torch over gloo in the same processes) -------------
def c_ddp_batchnorm_vs_torch(r, w):
    import torch
    import torch.distributed as tdist

    port = ag.tensor(np.array([0], dtype=np.int64))
    if r == 0:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port._data[0] = s.getsockname()[1]
        s.close()
    dist.broadcast(port, 0)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(int(port.item())))
    tdist.init_process_group("gloo", rank=r, world_size=w)
    try:
        model = mlp(bn=True)
        tmodel = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7), torch.nn.Tanh(),
                                     torch.nn.Linear(7, 3)).double()
        with torch.no_grad():
            for tp, p in zip(tmodel.parameters(), model.parameters()):
                tp.copy_(torch.from_numpy(p.numpy()))
        ddp, tddp = DDP(model), torch.nn.parallel.DistributedDataParallel(tmodel)
        o, to = optim.SGD(ddp.parameters(), lr=0.1), torch.optim.SGD(tddp.parameters(), lr=0.1)
        X, Y = data(seed=3 + r, steps=6)
        for s in range(6):
            x, y = X[s], Y[s]
            if s == 2:  # an evaluation pass without grad: the next forward does not sync buffers
                ddp.eval(), tddp.eval()
                with ag.no_grad():
                    ddp(ag.tensor(x))
                with torch.no_grad():
                    tddp(torch.from_numpy(x))
                ddp.train(), tddp.train()
            ctx_a = ddp.no_sync() if s == 4 else _null()
            ctx_b = tddp.no_sync() if s == 4 else _null()
            o.zero_grad(), to.zero_grad()
            with ctx_a:
                ((ddp(ag.tensor(x)) - ag.tensor(y)) ** 2).mean().backward()
            with ctx_b:
                ((tddp(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean().backward()
            o.step(), to.step()
        ours, theirs = model.state_dict(), tmodel.state_dict()
        for k in theirs:
            d = float(np.abs(ours[k].numpy() - theirs[k].numpy()).max())
            check(d < 1e-12, f"{k} differs from torch's DDP by {d}")
    finally:
        tdist.destroy_process_group()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---- ZeRO-1 ---------------------------------------------------------------------------------------
def c_zero_adam(r, w, outdir):
    X, Y = data(seed=5, steps=STEPS + 5)
    ref, model = mlp(), mlp()
    ddp = DDP(model)
    o_ref = optim.Adam(ref.parameters(), lr=0.01)
    zero = ZeroRedundancyOptimizer(ddp.parameters(), optim.Adam, lr=0.01)
    h = BATCH // w

    def run(steps, pairs):
        for s in steps:
            x, y = ag.tensor(X[s]), ag.tensor(Y[s])
            o_ref.zero_grad()
            ((ref(x) - y) ** 2).mean().backward()
            o_ref.step()
            for net, opt in pairs:
                opt.zero_grad()
                ((net(x[r * h:(r + 1) * h]) - y[r * h:(r + 1) * h]) ** 2).mean().backward()
                opt.step()

    run(range(STEPS), [(ddp, zero)])
    d = maxdiff(ref.parameters(), model.parameters())
    check(d < 1e-12, f"ZeRO differs from unsharded by {d}")
    full = sum(v._data.nbytes for st in o_ref.state.values() for v in st.values() if hasattr(v, "_data"))
    mine = zero.state_nbytes()
    check(0.3 * full < mine < 0.7 * full, f"rank {r} holds {mine} of {full} state bytes")
    check(set(zero.param_groups[0]) == set(o_ref.param_groups[0]), "param_groups keys")
    zero.consolidate_state_dict(to=0)
    if r == 0:
        from minitorch_optim.distributed import _wire

        sd = zero.state_dict()
        rsd = o_ref.state_dict()
        check(sorted(sd["state"]) == sorted(rsd["state"]), "consolidated keys")
        for i in rsd["state"]:
            for k in ("exp_avg", "exp_avg_sq", "step"):
                check(np.allclose(sd["state"][i][k].numpy(), rsd["state"][i][k].numpy(), rtol=0, atol=1e-12), k)
        meta, buf, _ = _wire.encode({"sd": sd, "params": [p.detach() for p in model.parameters()]})
        open(os.path.join(outdir, "zero_sd.json"), "wb").write(meta)
        np.save(os.path.join(outdir, "zero_sd.npy"), buf)
    else:
        try:
            zero.state_dict()
        except RuntimeError as e:
            check("consolidate_state_dict(to=1)" in str(e), "unconsolidated message")
        else:
            raise AssertionError("state_dict without consolidation must raise")
    # a plain optimizer's state dict loads into ZeRO (each rank keeps its shard) and continues identically
    model2 = mlp()
    for p, q in zip(model2.parameters(), ref.parameters()):
        p._data[...] = q._data
    ddp2 = DDP(model2)
    zero2 = ZeroRedundancyOptimizer(ddp2.parameters(), optim.Adam, lr=0.01)
    zero2.load_state_dict(o_ref.state_dict())
    check(zero2.state_nbytes() == mine, "reloaded shard size")
    run(range(STEPS, STEPS + 5), [(ddp, zero), (ddp2, zero2)])
    if r == 0:
        np.save(os.path.join(outdir, "zero_final.npy"),
                np.concatenate([p.numpy().ravel() for p in model.parameters()]))
    d = maxdiff(ref.parameters(), model2.parameters())
    check(d < 1e-12, f"ZeRO loaded from a plain optimizer's state continues differently by {d}")


def c_zero_reduce_gradients(r, w):
    """ZeRO(reduce_gradients=True) on a model without DDP == unsharded; and the torch-named dist.reduce."""
    t = ag.tensor(np.array([1.0, 2.0]) * (r + 1))
    dist.reduce(t, dst=1, op=dist.ReduceOp.SUM)
    s = sum(range(1, w + 1))
    check(t.numpy().tolist() == ([s, 2.0 * s] if r == 1 else [r + 1.0, 2.0 * (r + 1)]), "reduce")
    X, Y = data(seed=13)
    ref, model = mlp(), mlp()
    o_ref = optim.Adam(ref.parameters(), lr=0.01)
    zero = ZeroRedundancyOptimizer(model.parameters(), optim.Adam, lr=0.01, reduce_gradients=True)
    h = BATCH // w
    for s in range(STEPS):
        x, y = ag.tensor(X[s]), ag.tensor(Y[s])
        o_ref.zero_grad(), zero.zero_grad()
        ((ref(x) - y) ** 2).mean().backward()
        ((model(x[r * h:(r + 1) * h]) - y[r * h:(r + 1) * h]) ** 2).mean().backward()
        o_ref.step(), zero.step()
    d = maxdiff(ref.parameters(), model.parameters())
    check(d < 1e-12, f"ZeRO(reduce_gradients=True) differs from unsharded by {d}")


def c_zero_groups(r, w):
    X, Y = data(seed=7)
    for cls, kw in ((optim.SGD, {"lr": 0.05, "momentum": 0.9}), (optim.Adagrad, {"lr": 0.05})):
        ref, model = mlp(), mlp()
        ddp = DDP(model)
        o_ref = cls([{"params": ref[0].parameters()}], **kw)
        zero = ZeroRedundancyOptimizer([{"params": model[0].parameters()}], cls, **kw)
        h = BATCH // w
        for s in range(STEPS):
            if s == 3:
                o_ref.add_param_group({"params": ref[2].parameters(), "lr": 0.02})
                zero.add_param_group({"params": model[2].parameters(), "lr": 0.02})
            if s == 6:
                o_ref.param_groups[0]["lr"] = zero.param_groups[0]["lr"] = 0.01  # as a scheduler does
            x, y = ag.tensor(X[s]), ag.tensor(Y[s])
            o_ref.zero_grad(), zero.zero_grad()
            ((ref(x) - y) ** 2).mean().backward()
            ((ddp(x[r * h:(r + 1) * h]) - y[r * h:(r + 1) * h]) ** 2).mean().backward()

            def closure():
                return 1.5
            o_ref.step()
            check(zero.step(closure) == 1.5, "closure loss")
        d = maxdiff(ref.parameters(), model.parameters())
        check(d < 1e-12, f"ZeRO {cls.__name__} with groups differs by {d}")


def c_zero_contrib(r, w):
    """ZeRO over contrib optimizers (the first few that take ``lr`` and step without a closure) == unsharded."""
    try:
        import minitorch_optim.contrib as contrib
    except ImportError:
        return "skip"
    names = sorted(n for n in getattr(contrib, "__all__", dir(contrib))
                   if isinstance(getattr(contrib, n, None), type) and issubclass(getattr(contrib, n), optim.Optimizer))
    X, Y = data(seed=11, steps=3)
    h, tried = BATCH // w, []
    for name in names:
        if len(tried) == 4:
            break
        cls = getattr(contrib, name)
        if name in ("AdaHessian", "SophiaH"):   # their step needs loss.backward(create_graph=True)
            continue
        try:
            cls(mlp().parameters(), lr=1e-2)
        except Exception:
            continue
        ref, model = mlp(), mlp()
        ddp = DDP(model)
        o_ref, zero = cls(ref.parameters(), lr=1e-2), ZeroRedundancyOptimizer(ddp.parameters(), cls, lr=1e-2)
        for s in range(3):
            x, y = ag.tensor(X[s]), ag.tensor(Y[s])
            o_ref.zero_grad(), zero.zero_grad()
            ((ref(x) - y) ** 2).mean().backward()
            ((ddp(x[r * h:(r + 1) * h]) - y[r * h:(r + 1) * h]) ** 2).mean().backward()
            o_ref.step(), zero.step()
        d = maxdiff(ref.parameters(), model.parameters())
        check(d < 1e-10, f"ZeRO over contrib.{name} differs by {d}")
        tried.append(name)
    return "ok" if tried else "skip"


def c_sampler(r, w):
    s = ag.data.DistributedSampler(list(range(11)))
    check(s.num_replicas == w and s.rank == r and len(s) == 6, "sampler defaults from the process group")
    mine = ag.tensor(np.array(sorted(s), dtype=np.int64))
    outs = [ag.zeros(6, dtype=ag.int64) for _ in range(w)]
    dist.all_gather(outs, mine)
    allidx = sorted(int(v) for o in outs for v in o.numpy())
    check(set(allidx) == set(range(11)) and len(allidx) == 12, "sampler covers the dataset once (+1 pad)")


CHECKS = [c_collectives, c_ddp_sgd, c_ddp_sgd_no_sync, c_ddp_adamw, c_ddp_adamw_no_sync, c_ddp_unused,
          c_ddp_batchnorm_vs_torch, c_zero_adam, c_zero_reduce_gradients, c_zero_groups, c_zero_contrib,
          c_sampler]


def single(outdir):
    """One process: the state consolidated on 2 ranks reloads into a plain Adam and into a world-size-1 ZeRO,
    and both continue exactly as the 2-rank run did."""
    from minitorch_optim.distributed import _wire

    blob = _wire.decode(open(os.path.join(outdir, "zero_sd.json"), "rb").read(),
                        np.load(os.path.join(outdir, "zero_sd.npy")))
    final = np.load(os.path.join(outdir, "zero_final.npy"))
    X, Y = data(seed=5, steps=STEPS + 5)
    results = {}
    for kind in ("plain", "zero1"):
        model = mlp()
        for p, saved in zip(model.parameters(), blob["params"]):
            p._data[...] = saved.numpy()
        if kind == "plain":
            opt = optim.Adam(model.parameters(), lr=0.01)
        else:
            dist.init_process_group("mpi")
            opt = ZeroRedundancyOptimizer(model.parameters(), optim.Adam, lr=0.01)
        opt.load_state_dict(blob["sd"])
        for s in range(STEPS, STEPS + 5):
            opt.zero_grad()
            ((model(ag.tensor(X[s])) - ag.tensor(Y[s])) ** 2).mean().backward()
            opt.step()
        got = np.concatenate([p.numpy().ravel() for p in model.parameters()])
        d = float(np.abs(got - final).max())
        results[kind] = "ok" if d < 1e-12 else f"continues differently: {d}"
        if kind == "zero1":
            opt.consolidate_state_dict()
            results["zero1_state_dict"] = "ok" if sorted(opt.state_dict()["state"]) == [0, 1, 2, 3] else "bad"
            dist.destroy_process_group()
    with open(os.path.join(outdir, "single.json"), "w") as f:
        json.dump(results, f)


def main(mode, outdir):
    if mode == "single":
        return single(outdir)
    if mode == "timeout":
        dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
        if dist.get_rank() == 1:
            time.sleep(3)
        dist.all_reduce(ag.ones(3))
        return
    dist.init_process_group("mpi")
    r, w = dist.get_rank(), dist.get_world_size()
    if mode == "fail":
        model = DDP(mlp())
        x = ag.tensor(np.ones((4, 5)))
        for step in range(5):
            if r == 1 and step == 2:
                raise ValueError("boom on rank 1 in step 2")
            model(x).sum().backward()
        return
    results = {}
    for c in CHECKS:
        try:
            if c is c_ddp_batchnorm_vs_torch:
                try:
                    import torch  # noqa: F401
                except ImportError:
                    results[c.__name__] = "skip"
                    continue
            t0 = time.perf_counter()
            res = c(r, w, outdir) if c is c_zero_adam else c(r, w)
            results[c.__name__] = res or "ok"
            if os.environ.get("DIST_WORKER_TIMES"):
                print(f"rank {r} {c.__name__} {time.perf_counter() - t0:.2f}s", flush=True)
        except Exception:
            results[c.__name__] = traceback.format_exc()
        dist.barrier()
    with open(os.path.join(outdir, f"rank{r}.json"), "w") as f:
        json.dump(results, f)
    dist.destroy_process_group()
    run_docs_recipe()
    from minitorch_optim.app.main import main as cli_main

    print("---- cli ----", flush=True)
    cli_main(["train", "--distributed", "--zero", "--epochs", "2", "--samples", "100", "--no-progress"])


def run_docs_recipe():
    """Recipe 1 of docs/src/distributed.md, as written (in this launch: one mpirun start is saved)."""
    import re

    text = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "src",
                             "distributed.md")).read()
    recipe = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    exec(compile(recipe, "docs/src/distributed.md (recipe 1)", "exec"), {"__name__": "__main__"})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
