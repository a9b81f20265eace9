"""Uplift curves: does a ranking concentrate the *incremental* response?

Small numpy implementations (scikit-uplift is unmaintained). Inputs follow the
``(y_true, score, treatment)`` convention: outcome per customer, a score (higher = target first),
and 1 for treated, 0 for control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.errors import InputError


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


def qini_curve(y: object, score: object, treatment: object) -> pd.DataFrame:
    """Qini curve: ``Q(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` over the top-k customers by score.

    Returns one row per cut point (ties in score are kept together) with the share targeted, the
    incremental outcome ``qini`` and the random-targeting line ``random``.

    >>> q = qini_curve([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], [1, 0, 0, 1])
    >>> q["qini"].round(3).tolist()
    [0.0, 0.0, 1.0, 0.5, 0.0]
    """
    y, s, t = _check(y, score, treatment)
    order = np.argsort(-s, kind="stable")
    y, s, t = y[order], s[order], t[order]
    nt, nc = np.cumsum(t), np.cumsum(~t)
    yt, yc = np.cumsum(y * t), np.cumsum(y * ~t)
    # Cut only where the score changes, so tied customers are never split by their arbitrary order.
    last = np.r_[s[1:] != s[:-1], True]
    nt, nc, yt, yc = nt[last], nc[last], yt[last], yc[last]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(nc > 0, yt - yc * nt / np.maximum(nc, 1), 0.0)
    n = np.flatnonzero(last) + 1
    total = q[-1] if len(q) else 0.0
    return pd.DataFrame({"n": np.r_[0, n], "share": np.r_[0.0, n / len(y)], "qini": np.r_[0.0, q],
                         "random": np.r_[0.0, total * n / len(y)]})


def qini_coefficient(y: object, score: object, treatment: object) -> float:
    """Area between the Qini curve and the random line over the share targeted (trapezoids), in outcome units."""
    q = qini_curve(y, score, treatment)
    return float(np.trapezoid(q["qini"] - q["random"], q["share"]))


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
