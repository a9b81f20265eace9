"""Uplift curves: does a ranking concentrate the *incremental* response?

Small numpy implementations (scikit-uplift is unmaintained). Inputs follow the
``(y_true, score, treatment)`` convention: outcome per customer, a score (higher = target first),
and 1 for treated, 0 for control.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lookalike.errors import InputError, ParameterError


def _check(y: object, score: object, treatment: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    t = np.asarray(treatment)
    if not (len(y) == len(s) == len(t)):
        raise InputError(f"y, score and treatment must have the same length ({len(y)}, {len(s)}, {len(t)})")
    if not np.isin(t, [0, 1]).all():
        raise InputError("treatment must hold only 0 (control) and 1 (treated)")
    if np.isnan(s).any() or np.isnan(y).any():
        raise InputError("y and score must not contain missing values")
    return y, s, t.astype(bool)


def _cumulative(y: np.ndarray, s: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Cumulative counts at every cut point of the ranking (ties kept together), with the 0 cut first.

    ``w`` (optional, shape ``(B, n)``) weights the customers, e.g. bootstrap resample counts; every
    array then has one row per weighting. Keys: n (customers), nt, nc (per arm), yt, yc (outcomes).
    """
    order = np.argsort(-s, kind="stable")
    y, s, t = y[order], s[order], t[order]
    # Cut only where the score changes, so tied customers are never split by their arbitrary order.
    last = np.r_[s[1:] != s[:-1], True]
    w = np.ones((1, len(y))) if w is None else np.asarray(w, dtype=float)[:, order]
    out = {"n": w, "nt": w * t, "nc": w * ~t, "yt": w * (y * t), "yc": w * (y * ~t)}
    return {k: np.concatenate([np.zeros((len(w), 1)), np.cumsum(v, axis=1)[:, last]], axis=1)
            for k, v in out.items()}


def _qini(c: dict[str, np.ndarray]) -> np.ndarray:
    """Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k) (0 while the control side is empty)."""
    return np.where(c["nc"] > 0, c["yt"] - c["yc"] * c["nt"] / np.maximum(c["nc"], 1e-300), 0.0)


def _gain(c: dict[str, np.ndarray]) -> np.ndarray:
    """Uplift curve G(k) = (Y_t(k)/N_t(k) - Y_c(k)/N_c(k)) * k: incremental outcomes if the top k are treated."""
    ok = (c["nt"] > 0) & (c["nc"] > 0)
    rate_t = c["yt"] / np.maximum(c["nt"], 1e-300)
    rate_c = c["yc"] / np.maximum(c["nc"], 1e-300)
    return np.where(ok, (rate_t - rate_c) * c["n"], 0.0)


def _area_above_random(curve: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Trapezoid area between a curve and the straight line to its end point, over the share targeted."""
    diff = curve - curve[:, -1:] * share
    return np.sum((diff[:, 1:] + diff[:, :-1]) * np.diff(share, axis=1), axis=1) / 2


def _at_share(curve: np.ndarray, share: np.ndarray, at: float) -> np.ndarray:
    """A curve read at one share targeted, linear between cut points (= the mean over orders of tied customers)."""
    return np.array([np.interp(at, sh, cu) for sh, cu in zip(share, curve)])


def qini_curve(y: object, score: object, treatment: object) -> pd.DataFrame:
    """Qini curve: ``Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` over the top-k customers by score.

    Returns one row per cut point (ties in score are kept together) with the share targeted, the
    incremental outcome ``qini`` and the random-targeting line ``random``.

    >>> q = qini_curve([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1])
    >>> q["qini"].round(3).tolist()
    [0.0, 0.0, 1.0, 0.5, 0.0]
    """
    y, s, t = _check(y, score, treatment)
    c = _cumulative(y, s, t)
    n, q = c["n"][0], _qini(c)[0]
    return pd.DataFrame({"n": n.astype(int), "share": n / len(y), "qini": q, "random": q[-1] * n / len(y)})


def qini_coefficient(y: object, score: object, treatment: object) -> float:
    """Area between the Qini curve and the random line over the share targeted (trapezoids), in outcome units."""
    return uplift_metrics(y, score, treatment)["qini"]


def uplift_metrics(y: object, score: object, treatment: object, *, top: float = 0.3) -> dict[str, float]:
    """Qini coefficient, AUUC and the incremental outcome in the ``top`` share of one ranking.

    - ``qini``: area between the Qini curve and the random line (outcome units x share targeted);
    - ``auuc``: the same area for the uplift curve ``G(k) = (rate_t(k) - rate_c(k)) * k``, which
      counts the incremental outcomes if *all* of the top k were treated;
    - ``incremental_top``: ``G`` at the ``top`` share: the incremental outcomes from treating the
      best ``top`` of these customers (0 for a ranking no better than treating a random ``top``
      share would give ``top`` x the total effect, see ``incremental_random``).

    >>> m = uplift_metrics([1, 0, 0, 1, 0, 0], [6, 5, 4, 3, 2, 1], [1, 0, 1, 0, 1, 0], top=0.5)
    >>> {k: round(v, 3) for k, v in m.items()}
    {'qini': 0.25, 'auuc': 0.444, 'incremental_top': 1.5, 'incremental_random': 0.0}
    """
    y, s, t = _check(y, score, treatment)
    return {k: float(v[0]) for k, v in _metrics(_cumulative(y, s, t), top).items()}


def _metrics(c: dict[str, np.ndarray], top: float) -> dict[str, np.ndarray]:
    share = c["n"] / c["n"][:, -1:]
    gain = _gain(c)
    return {"qini": _area_above_random(_qini(c), share), "auuc": _area_above_random(gain, share),
            "incremental_top": _at_share(gain, share, top), "incremental_random": gain[:, -1] * top}


@dataclass(frozen=True)
class UpliftBootstrap:
    """Uplift metrics of several rankings of the same customers, with percentile bootstrap intervals.

    ``table``: method, metric, value, ci_low, ci_high. ``samples[method][metric]``: the resampled
    values (the same resamples for every method, so differences between methods can be read pairwise).
    """

    table: pd.DataFrame
    samples: dict[str, dict[str, np.ndarray]]
    n_resamples: int
    alpha: float

    def interval(self, method: str, metric: str = "qini") -> dict[str, float]:
        """``{"value", "ci_low", "ci_high"}`` of one method and metric."""
        row = self.table[(self.table["method"] == method) & (self.table["metric"] == metric)].iloc[0]
        return {"value": float(row["value"]), "ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"])}

    def difference(self, method: str, reference: str, metric: str = "qini") -> dict[str, float]:
        """Paired bootstrap interval of ``metric(method) - metric(reference)``."""
        d = self.samples[method][metric] - self.samples[reference][metric]
        value = self.interval(method, metric)["value"] - self.interval(reference, metric)["value"]
        lo, hi = np.quantile(d, [self.alpha / 2, 1 - self.alpha / 2])
        return {"value": value, "ci_low": float(lo), "ci_high": float(hi)}


def _resample_counts(n: int, n_resamples: int, batch: int, random_state: int):
    """Bootstrap resamples of ``n`` customers as count matrices ``(batch, n)`` (how often each is drawn)."""
    rng = np.random.default_rng(random_state)
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n)


def uplift_at_shares(y: object, score: object, treatment: object, shares: object, *, n_resamples: int = 1000,
                     alpha: float = 0.05, batch: int = 100, random_state: int = 0) -> pd.DataFrame:
    """Uplift per customer (treated rate minus control rate) among the top ``share`` by score, for each
    share, with a percentile bootstrap interval: what targeting the best ``share`` gains per customer.

    >>> r = uplift_at_shares([1, 0, 0, 0] * 50, [4, 3, 2, 1] * 50, [1, 0, 1, 0] * 50, [0.5, 1.0], n_resamples=100)
    >>> r["uplift"].tolist()
    [1.0, 0.5]
    """
    y, s, t = _check(y, score, treatment)
    sh = np.asarray(shares, dtype=float)
    if sh.ndim != 1 or len(sh) == 0 or (sh <= 0).any() or (sh > 1).any():
        raise ParameterError(f"shares must be between 0 (excluded) and 1, e.g. 0.1, 0.2, ... 1.0; got {shares!r}")

    def per_customer(c: dict[str, np.ndarray]) -> np.ndarray:
        share = c["n"] / c["n"][:, -1:]
        gain = _gain(c)
        return np.stack([_at_share(gain, share, a) / a for a in sh], axis=1) / c["n"][:, -1:]

    point = per_customer(_cumulative(y, s, t))[0]
    boot = np.concatenate([per_customer(_cumulative(y, s, t, w))
                           for w in _resample_counts(len(y), n_resamples, batch, random_state)])
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return pd.DataFrame({"share": sh, "uplift": point, "ci_low": lo, "ci_high": hi})


def bootstrap_uplift_metrics(y: object, scores: dict[str, object], treatment: object, *, top: float = 0.3,
                             n_resamples: int = 1000, alpha: float = 0.05, batch: int = 100,
                             random_state: int = 0) -> UpliftBootstrap:
    """Qini, AUUC and incremental outcome in the ``top`` share for each ranking in ``scores``, with
    percentile intervals from ``n_resamples`` resamples of the customers (with replacement).

    Each resample is a vector of counts per customer, so the rankings are never re-sorted: the
    cumulative sums of the counted customers give every curve of a whole batch at once.
    """
    if not scores:
        raise ParameterError("scores must name at least one ranking")
    if n_resamples < 100:
        raise ParameterError(f"n_resamples must be at least 100 for a percentile interval, got {n_resamples}")
    checked = {m: _check(y, s, treatment) for m, s in scores.items()}
    yv, _, tv = next(iter(checked.values()))
    n = len(yv)
    parts: dict[str, dict[str, list[np.ndarray]]] = {m: {} for m in scores}
    for w in _resample_counts(n, n_resamples, batch, random_state):
        for m, (_, s, _) in checked.items():
            for k, v in _metrics(_cumulative(yv, s, tv, w), top).items():
                parts[m].setdefault(k, []).append(v)
    samples = {m: {k: np.concatenate(v) for k, v in d.items()} for m, d in parts.items()}
    rows = []
    for m, (_, s, _) in checked.items():
        point = _metrics(_cumulative(yv, s, tv), top)
        for k, v in point.items():
            lo, hi = np.quantile(samples[m][k], [alpha / 2, 1 - alpha / 2])
            rows.append({"method": m, "metric": k, "value": float(v[0]), "ci_low": float(lo), "ci_high": float(hi)})
    return UpliftBootstrap(pd.DataFrame(rows), samples, n_resamples, alpha)


def uplift_by_bin(y: object, score: object, treatment: object, n_bins: int = 10) -> pd.DataFrame:
    """Outcome rate per arm and uplift (treated minus control) in score bins, best bin first.

    Bins are quantiles of the score (1 = highest scores); returns bin, n_treatment, n_control,
    rate_treatment, rate_control, uplift.
    """
    y, s, t = _check(y, score, treatment)
    ranks = pd.Series(s).rank(method="first", ascending=False).to_numpy()
    b = np.minimum((ranks - 1) * n_bins // len(s), n_bins - 1).astype(int) + 1
    df = pd.DataFrame({"bin": b, "y": y, "t": t})
    g = df.groupby(["bin", "t"])["y"].agg(["size", "mean"]).unstack("t")
    out = pd.DataFrame({
        "bin": g.index.to_numpy(),
        "n_treatment": g[("size", True)].fillna(0).astype(int).to_numpy(),
        "n_control": g[("size", False)].fillna(0).astype(int).to_numpy(),
        "rate_treatment": g[("mean", True)].to_numpy(),
        "rate_control": g[("mean", False)].to_numpy(),
    })
    out["uplift"] = out["rate_treatment"] - out["rate_control"]
    return out
