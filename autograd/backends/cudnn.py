"""``torch.backends.cudnn`` flags: accepted and kept; our GPU kernels are CuPy's and ours (no cuDNN), so
``benchmark`` (autotuning) and ``allow_tf32`` change nothing; ``deterministic`` is already true of our
kernels except where CuPy uses atomics (scatter-add in some backward rules)."""
from .._unsupported import module_getattr

__getattr__ = module_getattr(__name__, "torch.backends.cudnn")

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None


class flags:
    """``with torch.backends.cudnn.flags(enabled=..., benchmark=..., deterministic=...):`` sets them for a
    block."""

    def __init__(self, enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
        self.new = dict(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
                        deterministic=deterministic, allow_tf32=allow_tf32)

    def __enter__(self):
        g = globals()
        self.old = {k: g[k] for k in self.new}
        g.update(self.new)

    def __exit__(self, *exc):
        globals().update(self.old)
        return False
