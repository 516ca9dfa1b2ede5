"""The ``reduction=`` argument of the losses: torch's legacy ``size_average`` / ``reduce`` mapping and the
reduction itself, shared by every loss in ``nn.functional``."""
from __future__ import annotations

import warnings

from ..ops.nn_act import check_reduction


def legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='...' instead.",
                  UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "mean" if (size_average and reduce) else "sum" if reduce else "none"


def apply_reduction(loss, reduction):
    check_reduction(reduction)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
