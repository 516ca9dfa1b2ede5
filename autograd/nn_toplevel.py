"""The ``torch.<name>`` forms of nn functions (``torch.conv2d``, ``torch.batch_norm``, ``torch.kl_div``, ...).

They are torch's ATen signatures rather than ``nn.functional``'s: positional arguments in ATen's order
(``torch.embedding(weight, indices)``, ``torch.batch_norm(input, weight, bias, running_mean, ...)``),
``reduction`` as torch's integer enum (0 none, 1 mean, 2 sum; any other integer reduces nothing, as ATen),
dropout's ``train`` required, and ATen's errors (a RuntimeError for a bad dropout probability where
``F.dropout`` raises ValueError). Each calls the ``nn.functional`` implementation, looked up when called so
that autocast's wrappers apply.
"""
from __future__ import annotations

import builtins

from .nn import functional as F
from .nn import activations_more_layers as _dropouts

_CANDIDATES = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
               "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
               "feature_alpha_dropout", "feature_alpha_dropout_", "batch_norm", "layer_norm", "group_norm",
               "instance_norm", "embedding", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
               "adaptive_avg_pool1d", "adaptive_max_pool1d", "pixel_shuffle", "pixel_unshuffle",
               "cosine_similarity", "pairwise_distance", "rms_norm", "kl_div", "margin_ranking_loss",
               "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
               "ctc_loss", "binary_cross_entropy_with_logits", "selu", "selu_", "relu_")


def _reduction(value, name):
    """torch's reduction enum as nn.functional's string; ATen reduces nothing for an unknown integer."""
    if not isinstance(value, builtins.int) or isinstance(value, builtins.bool):
        raise TypeError(f"{name}(): argument 'reduction' must be int, not {type(value).__name__}")
    return {1: "mean", 2: "sum"}.get(value, "none")


# ---- convolutions: nn.functional's signatures already are ATen's ------------------------------------------
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    return F.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups, dilation)


# ---- dropouts: (input, p, train), all three required ---------------------------------------------------------
def _check_p(p):
    if p < 0 or p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, train, inplace, feature, alpha):  # noqa: A002
    _check_p(p)
    return _dropouts._dropout_impl(input, p, train, inplace, feature=feature, alpha=alpha)


def dropout(input, p, train):  # noqa: A002
    return _dropout(input, p, train, False, False, False)


def dropout_(input, p, train):  # noqa: A002
    return _dropout(input, p, train, True, False, False)


def alpha_dropout(input, p, train):  # noqa: A002
    return _dropout(input, p, train, False, False, True)


def alpha_dropout_(input, p, train):  # noqa: A002
    return _dropout(input, p, train, True, False, True)


def feature_dropout(input, p, train):  # noqa: A002
    """Whole (sample, channel) slices dropped: the mask has the input's first two sizes."""
    return _dropout(input, p, train, False, True, False)


def feature_dropout_(input, p, train):  # noqa: A002
    return _dropout(input, p, train, True, True, False)


def feature_alpha_dropout(input, p, train):  # noqa: A002
    return _dropout(input, p, train, False, True, True)


def feature_alpha_dropout_(input, p, train):  # noqa: A002
    return _dropout(input, p, train, True, True, True)


# ---- normalisations: ATen's argument order ------------------------------------------------------------------
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):  # noqa: A002
    if not training:   # ATen's check (autograd's F.batch_norm falls back on the batch's statistics instead)
        for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
            if stat is None:
                raise RuntimeError(f"{name} must be defined in evaluation mode")
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,  # noqa: A002
                  cudnn_enabled):
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):  # noqa: A002
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):  # noqa: A002
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    return F.rms_norm(input, normalized_shape, weight, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (first, as ATen); ``padding_idx`` -1 or any negative value means none (ATen takes
    only an already-resolved non-negative index)."""
    return F.embedding(indices, weight, padding_idx if padding_idx >= 0 else None, None, 2.0,
                       scale_grad_by_freq, sparse)


# ---- pooling: no return_indices (ATen's *_with_indices functions are separate) ----------------------------
def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    return F.max_pool1d(input, kernel_size, stride if stride not in ((), []) else None, padding, dilation,
                        ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    return F.max_pool2d(input, kernel_size, stride if stride not in ((), []) else None, padding, dilation,
                        ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    return F.max_pool3d(input, kernel_size, stride if stride not in ((), []) else None, padding, dilation,
                        ceil_mode)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    return F.avg_pool1d(input, kernel_size, stride if stride not in ((), []) else None, padding, ceil_mode,
                        count_include_pad)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """ATen's form returns (values, indices) always."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    return F.pixel_unshuffle(input, downscale_factor)


# ---- distances and losses: the reduction is an integer ----------------------------------------------------
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def kl_div(input, target, reduction=1, *, log_target=False):  # noqa: A002
    """The elementwise loss reduced here: ``F.kl_div``'s warning about 'mean' is torch's Python layer's, which
    ``torch.kl_div`` does not go through."""
    how = _reduction(reduction, "kl_div")
    losses = F.kl_div(input, target, reduction="none", log_target=log_target)
    return losses if how == "none" else (losses.mean() if how == "mean" else losses.sum())


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction(reduction, "margin_ranking_loss"))


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):  # noqa: A002
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction, "hinge_embedding_loss"))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction, "cosine_embedding_loss"))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction=1):
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction, "triplet_margin_loss"))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):  # noqa: A002
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction, "poisson_nll_loss"))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      _reduction(reduction, "ctc_loss"), zero_infinity)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):  # noqa: A002
    """ATen's order: ``pos_weight`` before ``reduction`` (nn.functional has it last)."""
    return F.binary_cross_entropy_with_logits(input, target, weight,
                                              reduction=_reduction(reduction, "binary_cross_entropy_with_logits"),
                                              pos_weight=pos_weight)


# ---- activations ----------------------------------------------------------------------------------------
def selu(input):  # noqa: A002
    return F.selu(input)


def selu_(input):  # noqa: A002
    return F.selu(input, inplace=True)


def relu_(input):  # noqa: A002
    return F.relu(input, inplace=True)


def _not_yet_defined(name):
    """Whether ``autograd`` lacks ``name`` so far (this module is imported while ``autograd`` is being set up:
    a name defined there already is torch's, and kept)."""
    import sys

    package = sys.modules.get(__name__.rpartition(".")[0])
    return package is None or name not in vars(package)


EXPORTS = tuple(n for n in _CANDIDATES if _not_yet_defined(n))
