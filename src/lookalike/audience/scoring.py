"""Scoring every customer by similarity to a seed set (pure functions on feature arrays).

Scorers
-------
``seed_share`` (density-aware, the default)
    The estimated share of seeds among a customer's nearest neighbours, computed
    the fast way round: each seed looks up its ``K`` nearest customers (a batched
    search of ``S`` queries, not ``n``), and a customer's *reverse count* ``c`` is the
    (weighted) number of seeds that have it among their ``K`` nearest. Because a
    seed's ``K``-neighbourhood is small where customers are crowded and large where
    they are sparse, ``c`` estimates ``S·K·g(x)/(n·f(x))`` — seed density ``g`` over
    base density ``f`` — instead of rewarding crowded, typical customers. With
    ``π = S/n`` it converts to a share ``c/K / (c/K + 1 − π)`` in [0, 1).
    ``K`` grows until at least ``coverage × size`` candidates are reached, so the
    audience is never padded with unscored customers. Ties break on the mean
    distance to the seeds that reached the customer, then on customer id.
``seed_distance`` (naive, for comparison)
    Mean Euclidean distance to the ``k`` nearest seeds, turned into a similarity
    ``exp(−d·ln2/median)``, so a customer at the median distance scores 0.5. On
    real data this mostly measures how crowded a customer's neighbourhood is.
``classifier``
    A logistic regression of seeds against a random sample of the base on the same
    features; similarity is its predicted probability re-based to the sample's
    prior (Pinterest-style seed-versus-base model, strong on large seed sets).

Learned feature weights (``learn_weights``): each feature column is weighted by how
differently the seeds are distributed from the base on it,
``w_j = sqrt((Δμ_j² + max(σ_b² − σ_s², 0)) / σ_b²)`` with one-hot blocks
handled as one feature, clipped to [0.1, 3] and normalised to mean 1: features on
which seeds look like everyone else fade, features that set them apart count more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.errors import ParameterError
from lookalike.index import build_index

SCORERS = ("auto", "seed_share", "seed_distance", "classifier")


@dataclass(frozen=True)
class Scores:
    """Per-customer scores of one scoring run (arrays aligned with the fitted table)."""

    similarity: np.ndarray   # float64 in [0, 1]
    tiebreak: np.ndarray     # float64, smaller is better (distance-like)
    scorer: str
    params: dict


def feature_groups(feature_names: list[str], categorical: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Map each output column to its input feature (one-hot columns ``region_Norte`` → ``region``).

    Returns (group names in order of first appearance, group index per column).
    """
    groups: list[str] = []
    idx = np.empty(len(feature_names), dtype=np.int64)
    for j, name in enumerate(feature_names):
        base = next((c for c in categorical if name.startswith(c + "_")), name)
        if base not in groups:
            groups.append(base)
        idx[j] = groups.index(base)
    return groups, idx


def learned_weights(X: np.ndarray, seed_pos: np.ndarray, group_idx: np.ndarray,
                    sample: np.ndarray | None = None) -> np.ndarray:
    """Per-column weights from how the seeds differ from the base (see module docstring)."""
    base = X if sample is None else X[sample]
    seeds = X[seed_pos].astype(np.float64)
    mu_b, mu_s = base.mean(axis=0, dtype=np.float64), seeds.mean(axis=0)
    var_b, var_s = base.var(axis=0, dtype=np.float64), seeds.var(axis=0)
    n_groups = int(group_idx.max()) + 1
    num = np.bincount(group_idx, weights=(mu_s - mu_b) ** 2 + np.maximum(var_b - var_s, 0.0), minlength=n_groups)
    den = np.bincount(group_idx, weights=var_b, minlength=n_groups)
    w_group = np.sqrt(np.divide(num, den, out=np.zeros(n_groups), where=den > 1e-12))
    w_group = np.clip(w_group, 0.1, 3.0)
    w_group /= w_group.mean()
    return w_group[group_idx].astype(np.float32)


def score_seed_share(X: np.ndarray, seed_pos: np.ndarray, seed_weight: np.ndarray, *,
                     size: int, candidates: np.ndarray, k: int = 50, coverage: float = 1.5) -> Scores:
    """Reverse-kNN share-of-seeds score (see module docstring)."""
    n, s = X.shape[0], len(seed_pos)
    index = build_index(X, "exact")
    want = min(int(np.ceil(coverage * size)), int(candidates.sum()))
    K = min(max(k, int(np.ceil(2.0 * size / max(s, 1)))), n - 1)
    K_big = min(4 * K, n - 1)
    while True:
        dist, idx = index.search(X[seed_pos], K_big + 1)
        valid = (idx >= 0) & (idx != seed_pos[:, None])  # a seed does not vote for itself
        # neighbours come sorted, so the K-neighbourhoods are prefixes: find the smallest K that
        # reaches enough distinct candidates (binary search on K, one search in total)
        rank = np.cumsum(valid, axis=1)
        reached_by = lambda kk: np.unique(idx[valid & (rank <= kk)])  # noqa: E731
        if (candidates[reached_by(K_big)]).sum() >= want or K_big >= n - 1:
            lo, hi = K, K_big
            while lo < hi:
                mid = (lo + hi) // 2
                if candidates[reached_by(mid)].sum() >= want:
                    hi = mid
                else:
                    lo = mid + 1
            K = lo
            break
        K, K_big = K_big, min(4 * K_big, n - 1)
    keep = valid & (rank <= K)
    flat_idx, flat_d = idx[keep], dist[keep]
    flat_w = np.broadcast_to(seed_weight[:, None], idx.shape)[keep]
    count = np.bincount(flat_idx, weights=flat_w, minlength=n)
    reached = np.bincount(flat_idx, minlength=n)
    dsum = np.bincount(flat_idx, weights=flat_d, minlength=n)
    mean_d = np.divide(dsum, reached, out=np.full(n, np.inf), where=reached > 0)
    pi = s / n
    c_over_k = count / K
    similarity = c_over_k / (c_over_k + (1.0 - pi))
    return Scores(similarity, mean_d, "seed_share", {"K": int(K), "k_min": int(k), "coverage": coverage})


def nearest_seeds(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and seed *positions* of the ``k`` nearest seeds of each of ``rows`` (a seed never matches itself)."""
    k_eff = min(k + 1, len(seed_pos))
    index = build_index(X[seed_pos], "exact")
    dist, local = index.search(X[rows], k_eff)
    pos = seed_pos[local]
    own = pos == rows[:, None]
    if k_eff > k or own.any():
        # drop the row itself when it is a seed, keep the first k others
        order = np.argsort(own, axis=1, kind="stable")[:, : min(k, k_eff)]
        dist, pos = np.take_along_axis(dist, order, 1), np.take_along_axis(pos, order, 1)
    return dist, pos


def score_seed_distance(X: np.ndarray, seed_pos: np.ndarray, *, k: int = 10) -> Scores:
    """Mean distance to the ``k`` nearest seeds, as a similarity (see module docstring)."""
    rows = np.arange(X.shape[0])
    dist, _ = nearest_seeds(X, seed_pos, rows, k)
    d = dist.mean(axis=1).astype(np.float64)
    med = float(np.median(d)) or 1.0
    return Scores(np.exp(-d * np.log(2.0) / med), d, "seed_distance", {"k": int(min(k, len(seed_pos)))})


def score_classifier(X: np.ndarray, seed_pos: np.ndarray, seed_weight: np.ndarray, *,
                     random_state: int = 0, max_base: int = 50_000) -> Scores:
    """Logistic regression of seeds against a base sample (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    n = X.shape[0]
    rng = np.random.default_rng(random_state)
    is_seed = np.zeros(n, dtype=bool)
    is_seed[seed_pos] = True
    base = np.flatnonzero(~is_seed)
    if len(base) > max_base:
        base = np.sort(rng.choice(base, max_base, replace=False))
    rows = np.concatenate([seed_pos, base])
    y = np.concatenate([np.ones(len(seed_pos)), np.zeros(len(base))])
    sw = np.concatenate([seed_weight, np.ones(len(base))])
    model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
    model.fit(X[rows], y, sample_weight=sw)
    logit = model.decision_function(X).astype(np.float64)
    # re-base the balanced model to the true seed prior, so scores read as a probability
    prior = len(seed_pos) / n
    logit += np.log(prior / (1 - prior)) if 0 < prior < 1 else 0.0
    similarity = 1.0 / (1.0 + np.exp(-logit))
    return Scores(similarity, -logit, "classifier", {"base_sample": int(len(base)), "C": 1.0})


def check_scorer(scorer: str) -> str:
    """Validate a scorer name and resolve ``auto``."""
    if scorer not in SCORERS:
        raise ParameterError(f"unknown scorer {scorer!r}; choose one of {', '.join(SCORERS)}")
    return "seed_share" if scorer == "auto" else scorer
