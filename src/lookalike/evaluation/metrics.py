"""Ranking metrics for lookalike back-tests, as pure vectorized functions.

Signatures follow scikit-learn / scikit-uplift: ``(y_true, score, ...)`` with
``y_true`` binary (1 = a customer we hoped to find) and ``score`` the ranking
score, higher first. Every function checks its inputs first and raises
:class:`~lookalike.errors.ParameterError` with the offending numbers.

**Ranking and ties.** Customers are ranked by ``score`` descending; equal scores
are ordered by position (the earlier row first), so every result is
deterministic and "the top n" is always exactly ``n`` customers
(:func:`top_n_mask`). Shuffle the rows beforehand if position carries meaning.

Definitions, for the top ``n`` of ``N`` customers holding ``P`` positives:

- ``precision@n`` = positives in the top n / n
- ``recall@n`` = positives in the top n / P
- ``lift@n`` = precision@n / (P / N), the base rate; 1 is no better than random.
- cumulative gain at share ``s`` = recall at ``n = round(s·N)``.

Undefined values are ``nan`` with an :class:`~sklearn.exceptions.UndefinedMetricWarning`
saying why: recall, lift and gain when there are no positives, AUC and average
precision when ``y_true`` has one class only.

Across evaluation splits, :func:`summarize` and :func:`paired_difference` give the
mean with a percentile-bootstrap confidence interval of the mean. Those intervals only
cover split-to-split variation (which seeds were drawn); the targets are a finite sample of
customers too. :func:`customer_bootstrap` resamples the ranked customers (Poisson weights,
the same draw for every method of a split) and :func:`paired_customer_difference` combines
both sources — splits resampled, and customers resampled within each split — into the interval
behind every "A beats B" sentence.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from lookalike.errors import ParameterError

__all__ = [
    "top_n_mask",
    "precision_at",
    "recall_at",
    "lift_at",
    "ranking_report",
    "gain_curve",
    "decile_table",
    "auc",
    "average_precision",
    "summarize",
    "paired_difference",
    "customer_bootstrap",
    "paired_customer_difference",
]


# --------------------------------------------------------------------------- checks


def _as_1d(values: object, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):  # nullable dtypes: NA -> NaN
        numeric = pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
        values = values.to_numpy(dtype=np.float64, na_value=np.nan) if numeric and values.hasnans else values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    return arr


def _check_score(score: object, name: str = "score") -> np.ndarray:
    arr = _as_1d(score, name)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ParameterError(f"{name} must be finite: {int(bad.sum())} of {arr.size} value(s) are NaN or "
                             f"infinite (first at position {first}: {arr[first]}); fill or drop them")
    return arr


def _check_y(y_true: object) -> np.ndarray:
    arr = _as_1d(y_true, "y_true")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"y_true must be binary (0/1 or bool), got dtype {arr.dtype}") from None
    bad = ~((num == 0) | (num == 1))
    if bad.any():
        shown = ", ".join(map(str, pd.unique(arr[bad])[:5]))
        raise ParameterError(f"y_true must be binary (0/1 or bool): {int(bad.sum())} of {arr.size} value(s) "
                             f"are not, e.g. {shown}")
    return num.astype(np.int8)


def _check_pair(y_true: object, score: object) -> tuple[np.ndarray, np.ndarray]:
    y = _check_y(y_true)
    s = _check_score(score)
    if y.size != s.size:
        raise ParameterError(f"y_true and score must have the same length, got {y.size} and {s.size}")
    if y.size == 0:
        raise ParameterError("y_true and score are empty; at least one customer is needed")
    return y, s


def _check_n(n: object, size: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise ParameterError(f"{name} must be an integer, got {n!r}")
    n = int(n)
    if not 1 <= n <= size:
        raise ParameterError(f"Expected 1 <= {name} <= n_customers, but {name} = {n}, n_customers = {size}")
    return n


def _undefined(what: str, why: str) -> float:
    warnings.warn(f"{what} is undefined: {why}; returning nan", UndefinedMetricWarning, stacklevel=3)
    return float("nan")


# --------------------------------------------------------------------------- ranking


def _top_n(score: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the top n (validated inputs): O(N) partition, ties by position."""
    size = score.size
    if n == size:
        return np.ones(size, dtype=bool)
    kth = np.partition(score, size - n)[size - n]  # the n-th largest value
    mask = score > kth
    need = n - int(mask.sum())
    mask[np.flatnonzero(score == kth)[:need]] = True
    return mask


def _ranked_hits(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Cumulative positives down the ranking (stable: ties by position)."""
    order = np.argsort(-score, kind="stable")
    return np.cumsum(y[order], dtype=np.int64)


def top_n_mask(score: object, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` highest scores; ties go to the earlier position.

    >>> top_n_mask([0.2, 0.9, 0.5, 0.9], 2).tolist()
    [False, True, False, True]
    >>> top_n_mask([1, 1, 1, 1], 2).tolist()
    [True, True, False, False]
    """
    s = _check_score(score)
    return _top_n(s, _check_n(n, s.size))


def _found(y_true: object, score: object, n: int) -> tuple[int, int, int, int]:
    y, s = _check_pair(y_true, score)
    n = _check_n(n, y.size)
    return int(y[_top_n(s, n)].sum()), n, int(y.sum()), y.size


def precision_at(y_true: object, score: object, n: int) -> float:
    """Share of positives among the ``n`` highest-scored customers.

    >>> precision_at([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.1, 0.2], 2)
    0.5
    """
    found, n, _, _ = _found(y_true, score, n)
    return found / n


def recall_at(y_true: object, score: object, n: int) -> float:
    """Share of all positives found among the ``n`` highest-scored customers.

    ``nan`` (with a warning) when ``y_true`` has no positives.

    >>> recall_at([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.1, 0.2], 2)
    0.5
    """
    found, n, pos, _ = _found(y_true, score, n)
    if pos == 0:
        return _undefined("recall", "y_true has no positives")
    return found / pos


def lift_at(y_true: object, score: object, n: int) -> float:
    """``precision@n`` divided by the base rate (share of positives among all customers).

    ``nan`` (with a warning) when ``y_true`` has no positives.

    >>> round(lift_at([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.1, 0.2], 2), 3)
    1.25
    """
    found, n, pos, size = _found(y_true, score, n)
    if pos == 0:
        return _undefined("lift", "y_true has no positives")
    return (found / n) / (pos / size)


def ranking_report(y_true: object, score: object, sizes: Iterable[int]) -> pd.DataFrame:
    """precision, recall, lift and positives found at several audience sizes (one sort).

    Columns ``size, precision, recall, lift, positives_found``, one row per size in
    the order given. Recall and lift are ``nan`` when there are no positives.

    >>> ranking_report([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.1, 0.2], [1, 3]).round(3).to_dict("list")
    {'size': [1, 3], 'precision': [1.0, 0.667], 'recall': [0.5, 1.0], 'lift': [2.5, 1.667], 'positives_found': [1, 2]}
    """
    y, s = _check_pair(y_true, score)
    if isinstance(sizes, Integral):
        sizes = [sizes]
    sizes = np.array([_check_n(n, y.size, "size") for n in sizes], dtype=np.int64)
    if sizes.size == 0:
        raise ParameterError("sizes is empty; give at least one audience size")
    hits = _ranked_hits(y, s)[sizes - 1]
    pos = int(y.sum())
    precision = hits / sizes
    if pos == 0:
        _undefined("recall and lift", "y_true has no positives")
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = hits / pos if pos else np.full(sizes.size, np.nan)
        lift = precision / (pos / y.size) if pos else np.full(sizes.size, np.nan)
    return pd.DataFrame({"size": sizes, "precision": precision, "recall": recall,
                         "lift": lift, "positives_found": hits})


def gain_curve(y_true: object, score: object, points: int = 101) -> pd.DataFrame:
    """Cumulative gain: share of positives found against share of customers targeted.

    ``points`` shares evenly spaced from 0 to 1, each rounded to a whole number of
    customers (``share_targeted`` is that exact share, so the curve passes through
    (0, 0) and (1, 1) and is non-decreasing). ``lift`` = share_of_positives /
    share_targeted (``nan`` at 0).

    >>> gain_curve([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], points=3).round(3).to_dict("list")
    {'share_targeted': [0.0, 0.5, 1.0], 'share_of_positives': [0.0, 1.0, 1.0], 'lift': [nan, 2.0, 1.0]}
    """
    y, s = _check_pair(y_true, score)
    if isinstance(points, bool) or not isinstance(points, Integral) or points < 2:
        raise ParameterError(f"points must be an integer >= 2, got {points!r}")
    pos = int(y.sum())
    if pos == 0:
        _undefined("the gain curve", "y_true has no positives")
    counts = np.rint(np.linspace(0.0, 1.0, int(points)) * y.size).astype(np.int64)
    hits = np.concatenate([[0], _ranked_hits(y, s)])[counts]
    share_t = counts / y.size
    with np.errstate(divide="ignore", invalid="ignore"):
        share_p = hits / pos if pos else np.full(counts.size, np.nan)
        lift = np.where(counts > 0, share_p / share_t, np.nan)
    return pd.DataFrame({"share_targeted": share_t, "share_of_positives": share_p, "lift": lift})


def decile_table(y_true: object, score: object) -> pd.DataFrame:
    """Customers cut into ten equal-count groups by score (decile 1 = highest scores).

    Columns ``decile`` (1..10), ``customers``, ``positives``, ``rate`` (positives /
    customers), ``lift`` (rate / base rate) and ``cumulative_gain`` (share of all
    positives in deciles 1..d). Customer at rank ``r`` (0-based) falls in decile
    ``floor(10·r / N) + 1``; needs at least 10 customers.

    >>> t = decile_table([1] * 10 + [0] * 90, list(range(100, 0, -1)))
    >>> t[["decile", "positives", "lift", "cumulative_gain"]].head(2).to_dict("list")
    {'decile': [1, 2], 'positives': [10, 0], 'lift': [10.0, 0.0], 'cumulative_gain': [1.0, 1.0]}
    """
    y, s = _check_pair(y_true, score)
    if y.size < 10:
        raise ParameterError(f"a decile table needs at least 10 customers, got {y.size}")
    order = np.argsort(-s, kind="stable")
    decile = np.arange(y.size) * 10 // y.size  # by rank
    customers = np.bincount(decile, minlength=10)
    positives = np.bincount(decile, weights=y[order], minlength=10).astype(np.int64)
    pos = int(y.sum())
    if pos == 0:
        _undefined("lift and cumulative gain", "y_true has no positives")
    rate = positives / customers
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = rate / (pos / y.size) if pos else np.full(10, np.nan)
        gain = np.cumsum(positives) / pos if pos else np.full(10, np.nan)
    return pd.DataFrame({"decile": np.arange(1, 11), "customers": customers, "positives": positives,
                         "rate": rate, "lift": lift, "cumulative_gain": gain})


# --------------------------------------------------------------------------- threshold-free


def auc(y_true: object, score: object) -> float:
    """ROC AUC (:func:`sklearn.metrics.roc_auc_score`); ``nan`` with a warning if one class only.

    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y, s = _check_pair(y_true, score)
    pos = int(y.sum())
    if pos in (0, y.size):
        return _undefined("AUC", f"y_true has one class only ({pos} positives of {y.size})")
    return float(roc_auc_score(y, s))


def average_precision(y_true: object, score: object) -> float:
    """Average precision (:func:`sklearn.metrics.average_precision_score`).

    ``nan`` with a warning when ``y_true`` has one class only (sklearn would
    return a misleading 0 or 1 there).

    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    from sklearn.metrics import average_precision_score

    y, s = _check_pair(y_true, score)
    pos = int(y.sum())
    if pos in (0, y.size):
        return _undefined("average precision", f"y_true has one class only ({pos} positives of {y.size})")
    return float(average_precision_score(y, s))


# --------------------------------------------------------------------------- across splits


def _check_ci_args(level: object, n_resamples: object) -> None:
    if not isinstance(level, Real) or not 0 < float(level) < 1:
        raise ParameterError(f"level must be in (0, 1), e.g. 0.95; got {level!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise ParameterError(f"n_resamples must be a positive integer, got {n_resamples!r}")


def _split_values(values: object, name: str) -> np.ndarray:
    arr = _as_1d(values, name)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be numeric, got dtype {arr.dtype}") from None
    if np.isinf(arr).any():
        raise ParameterError(f"{name} has {int(np.isinf(arr).sum())} infinite value(s) of {arr.size}")
    return arr


def _mean_ci(v: np.ndarray, level: float, n_resamples: int, random_state: int | None) -> dict:
    from scipy.stats import bootstrap

    n = int(v.size)
    if n == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "n": 0}
    mean = float(v.mean())
    if n < 2:
        return {"mean": mean, "ci_low": float("nan"), "ci_high": float("nan"), "n": n}
    if np.ptp(v) == 0:  # every resample has the same mean
        return {"mean": mean, "ci_low": mean, "ci_high": mean, "n": n}
    res = bootstrap((v,), np.mean, n_resamples=int(n_resamples), confidence_level=float(level),
                    method="percentile", vectorized=True, rng=np.random.default_rng(random_state))
    ci = res.confidence_interval
    return {"mean": mean, "ci_low": float(ci.low), "ci_high": float(ci.high), "n": n}


def summarize(values: object, *, level: float = 0.95, n_resamples: int = 2000,
              random_state: int | None = 0) -> dict:
    """Mean of a metric over evaluation splits, with a percentile-bootstrap CI of the mean.

    Returns ``{"mean", "ci_low", "ci_high", "n"}``. NaN values (a metric undefined on
    a split) are dropped with a warning and ``n`` counts the values used; with fewer
    than 2 values the interval is ``(nan, nan)``; identical values give a zero-width
    interval. Uses :func:`scipy.stats.bootstrap` (``method="percentile"``) seeded by
    ``random_state``.

    >>> summarize([0.30, 0.30, 0.30])
    {'mean': 0.3, 'ci_low': 0.3, 'ci_high': 0.3, 'n': 3}
    >>> r = summarize([0.2, 0.3, 0.4, 0.5]); r["ci_low"] < r["mean"] < r["ci_high"]
    True
    """
    _check_ci_args(level, n_resamples)
    v = _split_values(values, "values")
    nan = np.isnan(v)
    if nan.any():
        warnings.warn(f"summarize: dropped {int(nan.sum())} NaN value(s) of {v.size} (metric undefined on "
                      "those splits)", UndefinedMetricWarning, stacklevel=2)
    return _mean_ci(v[~nan], level, n_resamples, random_state)


def paired_difference(a: object, b: object, *, level: float = 0.95, n_resamples: int = 2000,
                      random_state: int | None = 0) -> dict:
    """Compare two methods on the same splits: :func:`summarize` of ``a − b`` per split.

    Adds ``share_positive``, the share of splits where ``a > b``. Splits where either
    value is NaN are dropped with a warning.

    >>> d = paired_difference([0.5, 0.6, 0.7], [0.4, 0.4, 0.8])
    >>> round(d["mean"], 4), round(d["share_positive"], 4), d["n"]
    (0.0667, 0.6667, 3)
    """
    _check_ci_args(level, n_resamples)
    va, vb = _split_values(a, "a"), _split_values(b, "b")
    if va.size != vb.size:
        raise ParameterError(f"a and b must have one value per split each, got {va.size} and {vb.size} values")
    d = va - vb
    nan = np.isnan(d)
    if nan.any():
        warnings.warn(f"paired_difference: dropped {int(nan.sum())} split(s) of {d.size} with a NaN value",
                      UndefinedMetricWarning, stacklevel=2)
    d = d[~nan]
    out = _mean_ci(d, level, n_resamples, random_state)
    out["share_positive"] = float((d > 0).mean()) if d.size else float("nan")
    return out


# --------------------------------------------------------------------------- customers resampled


def customer_bootstrap(y_true: object, scores: Mapping[str, object], *, n: int | None = None,
                       n_resamples: int = 1000, random_state: int | None = 0, chunk: int = 100) -> pd.DataFrame:
    """precision@n of several rankings of the same customers under resampled customers.

    Each replicate gives every customer a Poisson(1) weight (the Poisson bootstrap: a
    customer drawn 0, 1, 2… times), the **same weights for every method**, so differences
    between methods are paired. The top n of a replicate is the best-ranked customers until
    their weights reach n (``n`` defaults to the weighted number of positives of the replicate:
    precision@N with N = targets). Returns one row per replicate, one column per method.

    >>> y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    >>> r = customer_bootstrap(y, {"good": [8, 1, 7, 2, 3, 6, 4, 5], "bad": [1, 8, 2, 7, 6, 3, 5, 4]},
    ...                        n_resamples=200)
    >>> bool((r["good"] >= r["bad"]).all()), r.shape
    (True, (200, 2))
    """
    y = _check_y(y_true).astype(np.float64)
    if not isinstance(scores, Mapping) or not scores:
        raise ParameterError("scores must be a mapping of method name to one score per customer")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) or n_resamples < 1:
        raise ParameterError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    orders = {}
    for name, sc in scores.items():
        s = _check_score(sc, f"score of {name}")
        if s.size != y.size:
            raise ParameterError(f"score of {name} has {s.size} values for {y.size} customers")
        orders[name] = np.argsort(-s, kind="stable")
    if n is not None:
        n = _check_n(n, y.size)
    rng = np.random.default_rng(random_state)
    out = {name: np.empty(n_resamples) for name in orders}
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        w = rng.poisson(1.0, size=(b, y.size)).astype(np.float32)
        want = (w @ y.astype(np.float32)) if n is None else np.full(b, float(n), dtype=np.float32)
        want = np.maximum(want, 1.0)
        for name, order in orders.items():
            wo = w[:, order]
            cum_w = np.cumsum(wo, axis=1)
            cum_hit = np.cumsum(wo * y[order].astype(np.float32), axis=1)
            # the first position whose cumulative weight reaches n: the replicate's top n
            k = np.minimum((cum_w < want[:, None]).sum(axis=1), y.size - 1)
            rows = np.arange(b)
            out[name][start : start + b] = cum_hit[rows, k] / np.maximum(cum_w[rows, k], 1.0)
    return pd.DataFrame(out)


def paired_customer_difference(replicates: Sequence[pd.DataFrame], a: str, b: str, *, level: float = 0.95,
                               observed: float | None = None, random_state: int | None = 0) -> dict:
    """CI of mean(a − b) over splits, resampling both the splits and the customers within each.

    ``replicates`` holds one :func:`customer_bootstrap` frame per split (the same number of
    replicates each). Replicate r draws the splits with replacement and takes, for each drawn
    split, its r-th customer replicate of ``a − b``. Precision at the top of a resampled ranking is
    biased (the replicates' mean is not the observed difference), so with ``observed`` (the
    difference measured on the data) the percentile interval is re-centred on it by that bias.
    Returns ``{"mean", "ci_low", "ci_high", "n", "share_positive"}`` like :func:`paired_difference`.
    """
    _check_ci_args(level, 1)
    if not replicates:
        raise ParameterError("replicates is empty: give one customer_bootstrap frame per split")
    diff = np.stack([np.asarray(r[a], dtype=np.float64) - np.asarray(r[b], dtype=np.float64) for r in replicates])
    n_splits, n_rep = diff.shape
    rng = np.random.default_rng(random_state)
    pick = rng.integers(0, n_splits, size=(n_rep, n_splits))
    means = diff[pick, np.arange(n_rep)[:, None]].mean(axis=1)
    alpha = (1 - float(level)) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    centre = float(diff.mean()) if observed is None else float(observed)
    shift = centre - float(means.mean())
    return {"mean": centre, "ci_low": float(lo + shift), "ci_high": float(hi + shift), "n": int(n_splits),
            "share_positive": float((means + shift > 0).mean())}
