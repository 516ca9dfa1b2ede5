"""``ZeroRedundancyOptimizer``: ZeRO stage 1 as ``torch.distributed.optim.ZeroRedundancyOptimizer``.

Parameters are partitioned across ranks like torch (per group, largest first, each to the rank with the
fewest elements so far). Every rank builds ``optimizer_class`` over its shard only, so it holds only that
shard's state; ``step`` runs the local optimizer and then broadcasts each rank's updated parameters from it
(one flat buffer per owner and dtype). Gradients must already be averaged (wrap the model in
``DistributedDataParallel``), as torch requires, unless ``reduce_gradients=True`` (not in torch): then
``step`` first averages each gradient onto the rank that owns its parameter (a reduce per owner, the
ZeRO-1 way), so the model needs no DDP. The local optimizer is driven only through the public
Optimizer API (``step``, ``param_groups``, ``state_dict``/``load_state_dict``), so any optimizer of ours works,
contrib ones included.

``state_dict()`` (after ``consolidate_state_dict(to)``) has the layout of a plain ``optimizer_class`` over all
parameters, so it reloads at any world size, into a plain optimizer too.
"""
from __future__ import annotations

import numpy as np

from autograd import Tensor
from autograd.backend import array_module
from autograd.distributed import _state

from ..optimizer import Optimizer
from . import _wire


class ZeroRedundancyOptimizer(Optimizer):
    def __init__(self, params, optimizer_class, process_group=None, parameters_as_bucket_view=False,
                 overlap_with_ddp=False, reduce_gradients=False, **defaults):
        if overlap_with_ddp:
            raise NotImplementedError("ZeroRedundancyOptimizer(overlap_with_ddp=True) is not supported: call "
                                      "step() after backward")
        self.initialized = False
        super().__init__(params, defaults)
        self._be = _state.get()  # ValueError before init_process_group, as torch
        self.world_size, self.rank = self._be.size, self._be.rank
        self.process_group = process_group
        self.parameters_as_bucket_view = parameters_as_bucket_view  # parameters stay the user's tensors
        self.reduce_gradients = reduce_gradients
        self._optim_defaults = defaults
        self._optim_constructor = optimizer_class
        self._partition_cache = None
        self._all_state_dicts = []
        self.optim = optimizer_class(self._partition_parameters()[self.rank], **defaults)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self.initialized = True

    # ---- partition ----------------------------------------------------------------------------------
    def _partition_parameters(self):
        """``[rank] -> list of param groups`` (every rank computes the same partition)."""
        if self._partition_cache is None:
            parts = [[] for _ in range(self.world_size)]
            sizes = [0] * self.world_size
            for group in self.param_groups:
                per_rank = [[] for _ in range(self.world_size)]
                for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                    r = sizes.index(min(sizes))
                    per_rank[r].append(p)
                    sizes[r] += p.numel()
                for r in range(self.world_size):
                    g = {k: v for k, v in group.items() if k not in ("params", "param_names")}
                    g["params"] = per_rank[r]
                    parts[r].append(g)
            self._partition_cache = parts
        return self._partition_cache

    @property
    def _param_to_rank(self):
        return {id(p): r for r, groups in enumerate(self._partition_parameters())
                for g in groups for p in g["params"]}

    def _index_to_param(self):
        return [p for g in self.param_groups for p in g["params"]]

    @staticmethod
    def _sync_param_groups(src, dst):
        for s, d in zip(src, dst):
            for k, v in s.items():
                if k not in ("params", "param_names"):
                    d[k] = v

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if getattr(self, "initialized", False):
            self._partition_cache = None
            groups = self._partition_parameters()[self.rank]
            if len(groups) == len(self.optim.param_groups) + 1:
                self.optim.add_param_group(groups[-1])
                self._sync_param_groups(self.optim.param_groups[-1:], self.param_groups[-1:])

    # ---- step ---------------------------------------------------------------------------------------
    def step(self, closure=None, **kwargs):
        """Step this rank's shard, then give every rank the updated parameters."""
        if self.reduce_gradients and self.world_size > 1:
            self._reduce_gradients()
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        loss = self.optim.step(**kwargs) if closure is None else self.optim.step(closure=closure, **kwargs)
        self._sync_param_groups(self.optim.param_groups, self.param_groups)
        self._sync_params()
        return loss

    def _reduce_gradients(self):
        """Average each parameter's gradient onto the rank that owns it (one reduce per owner and dtype);
        a gradient that is None on every rank stays None."""
        params = self._index_to_param()
        for p in params:
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("ZeroRedundancyOptimizer(reduce_gradients=True) needs dense gradients")
        has = np.array([p.grad is not None for p in params], dtype=np.int32)
        self._be.allreduce(has, "max", "ZeroRedundancyOptimizer gradient map").wait()
        owner = self._param_to_rank
        jobs = []
        for r in range(self.world_size):
            by_dtype = {}
            for k, p in enumerate(params):
                if has[k] and owner[id(p)] == r:
                    by_dtype.setdefault((str(p._data.dtype), type(p._data).__module__), []).append(p)
            for key in sorted(by_dtype):
                ps = by_dtype[key]
                xp = array_module(ps[0]._data)
                flat = xp.concatenate([(p.grad._data if p.grad is not None else xp.zeros_like(p._data)).reshape(-1)
                                       for p in ps])
                jobs.append((r, ps, flat, self._be.reduce(flat, r, "avg")))
        for r, ps, flat, work in jobs:
            work.wait()
            if r != self.rank:
                continue
            off = 0
            for p in ps:
                g = flat[off:off + p._data.size].reshape(p._data.shape)
                off += p._data.size
                if p.grad is None:
                    p.grad = Tensor._wrap(g.copy())
                else:
                    p.grad._data[...] = g

    def _sync_params(self):
        if self.world_size == 1:
            return
        jobs = []
        for r, groups in enumerate(self._partition_parameters()):
            by_dtype = {}
            for g in groups:
                for p in g["params"]:
                    by_dtype.setdefault((str(p._data.dtype), type(p._data).__module__), []).append(p)
            for key in sorted(by_dtype):
                ps = by_dtype[key]
                xp = array_module(ps[0]._data)
                if r == self.rank:
                    flat = xp.concatenate([p._data.reshape(-1) for p in ps])
                else:
                    flat = xp.empty(sum(p._data.size for p in ps), dtype=ps[0]._data.dtype)
                jobs.append((r, ps, flat, self._be.broadcast(flat, r)))
        for r, ps, flat, work in jobs:
            work.wait()
            if r != self.rank:
                off = 0
                for p in ps:
                    p._data[...] = flat[off:off + p._data.size].reshape(p._data.shape)
                    off += p._data.size

    # ---- state ---------------------------------------------------------------------------------------
    def _local_state_global_keys(self):
        """This rank's local optimizer state, keyed by global parameter index."""
        local = self.optim.state_dict()
        index = {id(p): i for i, p in enumerate(self._index_to_param())}
        mine = [p for g in self._partition_parameters()[self.rank] for p in g["params"]]
        out = {}
        for li, p in enumerate(mine):
            if li in local["state"]:
                out[index[id(p)]] = local["state"][li]
        return out

    def consolidate_state_dict(self, to=0):
        """Collect every rank's shard of the state on rank ``to`` (call it on all ranks)."""
        self._sync_param_groups(self.param_groups, self.optim.param_groups)
        self._all_state_dicts = []
        if self.rank == to:
            merged = dict(_wire.decode(*_wire.encode(self._local_state_global_keys())[:2]))  # a copy, as torch
            for r in range(self.world_size):
                if r != to:
                    merged.update(_wire.recv(r, self._be))
            self._all_state_dicts = [merged]
        else:
            _wire.send(self._local_state_global_keys(), to, self._be)

    def state_dict(self):
        """The global state gathered by the last ``consolidate_state_dict`` (plain-optimizer layout)."""
        if not self._all_state_dicts:
            raise RuntimeError("Optimizer state has not been consolidated on this rank. Please call "
                               f"`consolidate_state_dict(to={self.rank})` on all ranks beforehand if you meant "
                               "to save the global state.")
        sd = Optimizer.state_dict(self)
        sd["state"] = dict(sorted(self._all_state_dicts[0].items()))
        return sd

    def load_state_dict(self, state_dict):
        """Load a global state dict (from ``state_dict()`` at any world size, or a plain optimizer's); each rank
        keeps only its shard."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        saved_ids = [i for s in groups for i in s["params"]]
        params = self._index_to_param()
        gid = {id(p): saved_ids[k] for k, p in enumerate(params)}
        local_groups, local_state, li = [], {}, 0
        for s, lg in zip(groups, self._partition_parameters()[self.rank]):
            ids = []
            for p in lg["params"]:
                if gid[id(p)] in state_dict["state"]:
                    local_state[li] = state_dict["state"][gid[id(p)]]
                ids.append(li)
                li += 1
            g = {k: v for k, v in s.items() if k not in ("params", "param_names")}
            g["params"] = ids
            local_groups.append(g)
        self.optim.load_state_dict({"state": local_state, "param_groups": local_groups})
        for s, g in zip(groups, self.param_groups):
            for k, v in s.items():
                if k not in ("params", "param_names"):
                    g[k] = v
        self._sync_param_groups(self.optim.param_groups, self.param_groups)

    def state_nbytes(self):
        """Bytes of optimizer state this rank holds (its shard)."""
        n = 0
        for st in self.optim.state.values():
            for v in st.values():
                d = getattr(v, "_data", v)
                n += getattr(d, "nbytes", 0)
        return n
