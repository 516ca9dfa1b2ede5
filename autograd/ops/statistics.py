"""torch's statistics functions, gathered: this front module only collects their torch-level names into
``EXPORTS`` (which :mod:`autograd.functional_api` makes ``torch.<name>``); importing it imports the modules
that hold them, and those attach the Tensor methods. Where each lives:

- :mod:`.moments`: nansum, nanmean, var_mean, std_mean, cov, corrcoef
- :mod:`.order_statistics`: quantile, nanquantile, nanmedian, kthvalue, mode; the replays of torch's
  quickselect, ``std::sort`` and ``std::nth_element`` that decide their indices among equal values are in
  :mod:`.selection_replay`
- :mod:`.cumulative`: cummax, cummin, logcumsumexp, trapezoid, trapz, cumulative_trapezoid
- :mod:`.histograms`: histc, bincount, bucketize, searchsorted
- :mod:`.renorm`: renorm (and the Tensor method ``renorm_``)
- :mod:`.statistics_helpers`: the small pieces they share (dtype test, torch's dtype names, 0-d rules)"""
from .moments import corrcoef, cov, nanmean, nansum, std_mean, var_mean
from .order_statistics import kthvalue, mode, nanmedian, nanquantile, quantile
from .cumulative import cummax, cummin, cumulative_trapezoid, logcumsumexp, trapezoid, trapz
from .histograms import bincount, bucketize, histc, searchsorted
from .renorm import renorm

EXPORTS = __all__ = ("nansum", "nanmean", "var_mean", "std_mean", "cov", "corrcoef", "nanmedian", "kthvalue", "mode",
                     "quantile", "nanquantile", "cummax", "cummin", "logcumsumexp", "trapezoid", "trapz",
                     "cumulative_trapezoid", "histc", "bincount", "bucketize", "searchsorted", "renorm")
