"""Campaign statistics: uplift of proportions and of revenue per customer, with intervals and p-values.

Proportions use statsmodels (``confint_proportions_2indep`` with Newcombe's score interval for the
difference and the log-ratio interval for the relative uplift; ``test_proportions_2indep`` for the
p-value). Revenue per customer uses Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) and
its interval; ``scipy.stats.bootstrap`` gives a percentile interval as a heavy-tail check.
No winsorising: revenue is used as imported (say so in reports).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from lookalike.errors import InputError, ParameterError


@dataclass(frozen=True)
class Uplift:
    """Treatment minus control for one metric: absolute and relative, with a (1 - alpha) interval."""

    metric: str
    treatment: float
    control: float
    diff: float
    diff_low: float
    diff_high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    p_value: float
    method: str
    alpha: float

    @property
    def significant(self) -> bool:
        """True when the interval of the difference excludes zero."""
        return self.diff_low > 0 or self.diff_high < 0

    def to_dict(self) -> dict:
        """Plain values, JSON-ready."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


def _check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be between 0 and 1 (e.g. 0.05 for 95% intervals), got {alpha!r}")
    return float(alpha)


def proportion_uplift(count_t: int, n_t: int, count_c: int, n_c: int, *, alpha: float = 0.05,
                      metric: str = "conversion_rate") -> Uplift:
    """Uplift of a rate (conversions / customers) with Newcombe difference and log-ratio intervals.

    >>> u = proportion_uplift(120, 1000, 90, 1000)
    >>> round(u.diff, 3), u.diff_low < 0.03 < u.diff_high
    (0.03, True)
    """
    _check_alpha(alpha)
    if n_t <= 0 or n_c <= 0:
        raise InputError(f"{metric}: both arms need customers (treatment {n_t}, control {n_c})")
    if not (0 <= count_t <= n_t and 0 <= count_c <= n_c):
        raise InputError(f"{metric}: counts must be between 0 and the arm size "
                         f"(treatment {count_t}/{n_t}, control {count_c}/{n_c})")
    pt, pc = count_t / n_t, count_c / n_c
    lo, hi = confint_proportions_2indep(count_t, n_t, count_c, n_c, compare="diff", method="newcomb", alpha=alpha)
    if count_c > 0 and count_t > 0:
        rlo, rhi = confint_proportions_2indep(count_t, n_t, count_c, n_c, compare="ratio", method="log-adjusted",
                                              alpha=alpha)
        rel, rel_lo, rel_hi = pt / pc - 1, float(rlo) - 1, float(rhi) - 1
    else:  # a ratio to (or of) zero has no finite interval
        rel = rel_lo = rel_hi = None
    if count_t + count_c in (0, n_t + n_c):
        p = 1.0  # no variation at all: nothing to test
    else:
        with warnings.catch_warnings():  # statsmodels also computes ratio/odds ratio, which divide by a zero rate
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(test_proportions_2indep(count_t, n_t, count_c, n_c, compare="diff",
                                              method="agresti-caffo").pvalue)
    return Uplift(metric, pt, pc, pt - pc, float(lo), float(hi), rel, rel_lo, rel_hi, p,
                  "Newcombe score interval; Agresti-Caffo test (statsmodels)", alpha)


def mean_uplift(values_t: np.ndarray, values_c: np.ndarray, *, alpha: float = 0.05,
                metric: str = "revenue_per_customer") -> Uplift:
    """Uplift of a mean (revenue per customer) with Welch's t interval and p-value.

    The relative interval is the Welch interval divided by the control mean (control treated as known),
    which is a first-order approximation; use :func:`bootstrap_diff_ci` for a heavy-tail check.
    """
    _check_alpha(alpha)
    t = np.asarray(values_t, dtype=float)
    c = np.asarray(values_c, dtype=float)
    if len(t) < 2 or len(c) < 2:
        raise InputError(f"{metric}: each arm needs at least 2 customers (treatment {len(t)}, control {len(c)})")
    mt, mc = float(t.mean()), float(c.mean())
    if t.var() == 0 and c.var() == 0:
        lo = hi = mt - mc
        p = 1.0 if mt == mc else 0.0
    else:
        res = stats.ttest_ind(t, c, equal_var=False)
        ci = res.confidence_interval(confidence_level=1 - alpha)
        lo, hi, p = float(ci.low), float(ci.high), float(res.pvalue)
    rel = rel_lo = rel_hi = None
    if mc > 0:
        rel, rel_lo, rel_hi = mt / mc - 1, lo / mc, hi / mc
    return Uplift(metric, mt, mc, mt - mc, lo, hi, rel, rel_lo, rel_hi, p, "Welch t-test (scipy)", alpha)


def bootstrap_diff_ci(values_t: np.ndarray, values_c: np.ndarray, *, alpha: float = 0.05, n_resamples: int = 2000,
                      random_state: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(t) - mean(c) (``scipy.stats.bootstrap``, arms resampled independently).

    Percentile rather than BCa: BCa's jackknife costs O(n²) on campaign-sized arms.
    """
    _check_alpha(alpha)
    t = np.asarray(values_t, dtype=float)
    c = np.asarray(values_c, dtype=float)
    if t.var() == 0 and c.var() == 0:
        d = float(t.mean() - c.mean())
        return d, d
    res = stats.bootstrap((t, c), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis),
                          confidence_level=1 - alpha, n_resamples=n_resamples, method="percentile",
                          vectorized=True, batch=50, random_state=np.random.default_rng(random_state))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
