"""Which ops autocast runs in which dtype: torch's lists (ATen's autocast registrations, CPU and CUDA),
restricted to the ops this layer has, named as they are reached from Python.

Policies, as torch's:
- ``lower``: floating inputs (not float64) are cast to the autocast dtype (GEMMs and convolutions).
- ``fp32``: floating inputs are cast to float32 (ops whose range or accuracy needs it: losses, exp/log...).
- ``fp32_opt``: torch's ``fp32_set_opt_dtype``: without an explicit ``dtype=``, a floating first input is
  computed in float32 (reductions and softmax); an explicit dtype is left alone.
- ``promote``: floating inputs are cast to the widest floating type among them, starting from the
  autocast dtype (ops that need matching input dtypes).
- ``banned``: the op refuses to run under autocast (torch: binary_cross_entropy on CUDA).

A few entries are torch composites whose pieces are on the lists (einsum runs bmm; softmin runs softmax;
cross_entropy runs log_softmax and nll_loss): the entry gives the dtype torch's decomposition ends in,
because ours are single ops that would otherwise not see autocast at all.
"""

# where each op name is reachable: Tensor methods (incl. operators), ``autograd.<name>`` free functions,
# ``autograd.nn.functional.<name>``, ``autograd.linalg.<name>``; aliases point at the op whose policy they share
ALIASES = {
    "__matmul__": "matmul", "__rmatmul__": "matmul", "__pow__": "pow", "__rpow__": "pow",
    "concat": "cat", "concatenate": "cat",
}

CPU = {
    "lower": ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "bmm",
              "mm", "linear", "matmul", "scaled_dot_product_attention", "einsum", "addmm", "addbmm", "baddbmm",
              "prelu",
              # composites of mm/bmm in torch (the entry gives the dtype their GEMMs end in)
              "tensordot", "chain_matmul", "affine_grid", "multi_dot", "matrix_power", "vecdot"),
    "fp32": ("binary_cross_entropy", "prod", "mse_loss", "nll_loss", "smooth_l1_loss", "cross_entropy",
             "l1_loss", "huber_loss", "kl_div", "binary_cross_entropy_with_logits", "margin_ranking_loss",
             "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
             "soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "ctc_loss",
             "avg_pool3d", "max_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "max_unpool1d",
             "max_unpool2d", "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool3d", "grid_sample",
             "quantile", "nanquantile", "cdist", "trace",
             # the factorisations and solvers (torch.* and torch.linalg.* names)
             "cholesky", "cholesky_inverse", "cholesky_solve", "inverse", "pinverse", "qr", "svd",
             "triangular_solve", "lu_solve", "inv", "inv_ex", "solve", "cholesky_ex", "svdvals", "eigh",
             "eigvalsh", "eig", "eigvals", "matrix_rank", "cond", "lstsq", "householder_product", "tensorinv",
             "tensorsolve"),
    "promote": ("cat", "stack"),
}

CUDA = {
    "lower": ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "matmul",
              "einsum", "mm", "mv", "linear", "bmm", "scaled_dot_product_attention", "addmm", "addmv", "addbmm",
              "baddbmm", "prelu"),
    "fp32": ("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
             "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm", "group_norm", "nll_loss", "kl_div",
             "l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss", "binary_cross_entropy_with_logits",
             "logsumexp", "cross_entropy", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
             "triplet_margin_loss"),
    "fp32_opt": ("prod", "softmax", "log_softmax", "softmin", "cumprod", "cumsum", "sum", "norm"),
    "promote": ("addcdiv", "addcmul", "atan2", "dot", "index_put", "scatter_add"),
    "banned": ("binary_cross_entropy",),
}

# CPU pads in float32 only in the reflect / replicate modes (reflection_padNd, replication_padNd)
CPU_CONDITIONAL = {"pad": lambda args, kwargs: (kwargs.get("mode", args[2] if len(args) > 2 else "constant")
                                                in ("reflect", "replicate"))}

BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")


def table(device_type):
    """``{op name: policy}`` for ``"cpu"`` or ``"cuda"``."""
    lists = CPU if device_type == "cpu" else CUDA
    out = {name: policy for policy, names in lists.items() for name in names}
    if device_type == "cpu":
        out.update({name: "fp32_if" for name in CPU_CONDITIONAL})
    return out


def all_names():
    """Every op name some device has a policy for, and the aliases that reach them."""
    names = set(table("cpu")) | set(table("cuda"))
    return names | {a for a, n in ALIASES.items() if n in names}


def canonical(name):
    return ALIASES.get(name, name)
