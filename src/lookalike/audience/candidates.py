"""The candidate scorers: each ranks every customer by how much they look like the seeds.

Used through :func:`lookalike.audience.scoring.score_audience` (the one scoring path); this
module holds the pieces.

Candidates
----------
Each is fitted on the seeds against a random sample of the base (at most ``FIT_BASE`` customers)
and scores every customer:

``seed_share``
    The share of seeds among a customer's ``k`` nearest neighbours in the seeds plus the base
    sample (seed weights count; a customer is not its own neighbour). With the whole base as the
    sample (tables up to ``FIT_BASE`` customers) it is the share among the k nearest customers;
    on a sample, ``k`` shrinks with the sample so the neighbourhood covers the same share of
    the base. The share estimates seed density over base density, so crowded, typical
    customers are not favoured. Ties break on the mean distance to the seed neighbours.
``seed_distance``
    Mean Euclidean distance to the ``min(k, 10)`` nearest seeds, turned into a similarity
    ``exp(−d·ln2/median)`` (a customer at the median distance scores 0.5).
``classifier``
    A logistic regression of seeds against the base sample (Pinterest-style seed-versus-base
    model); similarity is its probability re-based to the true seed prior.
``gbm``
    The same with scikit-learn's ``HistGradientBoostingClassifier`` (bounded: ``GBM_ITER``
    trees of ``GBM_LEAVES`` leaves, ``GBM_BINS`` bins, one thread). Both models are
    cross-fitted: the base sample is cut in two halves and each is scored by a model fitted
    against the other half, so no customer is scored by a model that learned it as a negative;
    every other customer is scored by the model fitted against the whole sample (the kind of
    model validation measured). One model scores the millions: two averaged cost twice the
    prediction, the slowest step at 10M customers, and were no more precise
    (bench/results/evaluation/).
``value``
    Rank by the table's value column (``total_spent`` unless told otherwise), the marketer's
    label-free "best customers first" rule.
``rule``
    The rule a marketer would write for these seeds (:mod:`lookalike.audience.seed_rule`,
    a depth-2 tree on the table's own columns), its leaves as a ranking, ties by value.

Feature relevance (``learn_weights``): each input feature (a one-hot block counts as one) is
weighted by how differently the seeds are distributed from the base (:func:`separation`: a
rank-based shift-and-spread measure for numbers, the chi-square divergence for categories, on one
scale), minus what random customer sets of the same size show (``NULL_DRAWS`` draws: their mean
plus ``NULL_Z`` standard deviations): ``w = sqrt(max(T − T_null, 0))``, capped at ``3×`` the median
non-zero weight and normalised to mean 1 over the features kept. A feature on which the seeds
look like a random sample of the base gets weight **0** and drives no distance, no model and no
explanation.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from lookalike.audience.seed_rule import learn_seed_rule
from lookalike.audience.trees import compile_trees, decision as tree_decision
from lookalike.errors import ParameterError
from lookalike.index import build_index
from lookalike.features import to_number

if TYPE_CHECKING:  # pragma: no cover
    from lookalike.audience.auto import Validation

#: The candidates, simplest first (the order breaks ties in ``auto``).
CANDIDATES = ("value", "rule", "seed_distance", "seed_share", "classifier", "gbm")
#: Neighbours of ``seed_share`` (and the cap of ``seed_distance``'s 10) when nobody says otherwise.
DEFAULT_K = 100
#: Base customers the models are fitted against (and ``seed_share``'s reference sample).
FIT_BASE = 20_000
#: ``seed_share`` above this many customers uses a reference sample of this size (cost: n × sample).
SHARE_REFERENCE = 10_000
GBM_ITER = 100
GBM_LEAVES = 15
#: 63 bins instead of 255: as accurate on the study's tasks, a tenth faster
GBM_BINS = 63
NULL_DRAWS = 20
NULL_Z = 2.0


@dataclass(frozen=True)
class Scores:
    """Per-customer scores of one scoring run (arrays aligned with the fitted table)."""

    similarity: np.ndarray   # float64 in [0, 1]
    tiebreak: np.ndarray     # float64, smaller is better (distance-like)
    scorer: str
    params: dict
    weights: np.ndarray | None = None          # per column feature weights used (None: unweighted)
    validation: "Validation | None" = None     # auto: how the candidates were validated and combined
    members: dict = field(default_factory=dict)  # auto: the combined candidates' similarities


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


class WeightedFeatures:
    """The feature matrix with per-column weights applied to the rows that are read.

    ``W[rows]`` is ``(X * weights)[rows]``, value for value, without the weighted copy of the
    whole matrix (10M customers × 31 columns is 1.2 GB per copy). The scorers and the
    explanations only ever read rows (``X[rows]``, ``X.shape``), so they take this in place of
    the product.
    """

    def __init__(self, X: np.ndarray, weights: np.ndarray):
        self.X = X
        self.weights = np.asarray(weights, dtype=X.dtype)
        self.shape = X.shape
        self.dtype = X.dtype

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        out = self.X[rows]
        if np.shares_memory(out, self.X):  # a slice is a view: never weight the matrix itself
            return out * self.weights
        out *= self.weights
        return out


def weighted(X: np.ndarray, weights: np.ndarray | None) -> "np.ndarray | WeightedFeatures":
    """``X`` read through ``weights`` (``X`` itself when there are none)."""
    return X if weights is None else WeightedFeatures(X, weights)


# --------------------------------------------------------------------------- feature relevance


def _mean_cdf(base: np.ndarray, values: np.ndarray) -> float:
    """Mean over ``values`` of the mid-rank empirical CDF of the sorted ``base`` (ties count half).

    The counts are whole numbers, so their sum is exact in any order: ``values`` are sorted first,
    which lets each binary search start where the last one ended (the null draws' thousands of
    searches took most of a weight fit: 0.40 -> 0.1 s for 5,677 seeds at 100k).

    >>> _mean_cdf(np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 0.0, 2.0]))  # (7/8 + 0 + 3/8) / 3
    0.4166666666666667
    """
    keys = np.sort(values)
    below = int(np.searchsorted(base, keys, "left").sum()) + int(np.searchsorted(base, keys, "right").sum())
    return below / (2.0 * len(base) * len(keys))


class _Separation:
    """The base side of :func:`separation`, computed once (sorted columns, medians, category shares)."""

    def __init__(self, X: np.ndarray, base_rows: np.ndarray, group_idx: np.ndarray, is_categorical: np.ndarray):
        B = X[base_rows]
        self.groups = [np.flatnonzero(group_idx == g) for g in range(len(is_categorical))]
        self.is_cat = is_categorical
        self.n_base = len(base_rows)
        self.sorted, self.med, self.spread, self.pb = {}, {}, {}, {}
        for g, cols in enumerate(self.groups):  # features, not customers
            if is_categorical[g]:
                self.pb[g] = (B[:, cols] != 0).mean(axis=0)
            else:
                b = np.sort(B[:, cols[0]])
                self.sorted[g], self.med[g] = b, b[len(b) // 2]
                self.spread[g] = np.sort(np.abs(b - b[len(b) // 2]))

    def __call__(self, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
        S = X[rows]
        out = np.zeros(len(self.groups))
        for g, cols in enumerate(self.groups):
            if self.is_cat[g]:
                ps = (S[:, cols] != 0).mean(axis=0)
                out[g] = float(np.sum((ps - self.pb[g]) ** 2 / np.maximum(self.pb[g], 1.0 / self.n_base)))
            else:
                x = S[:, cols[0]]
                shift = 2 * _mean_cdf(self.sorted[g], x) - 1
                spread = 2 * _mean_cdf(self.spread[g], np.abs(x - self.med[g])) - 1
                out[g] = np.pi * (shift**2 + spread**2)
        return out


def separation(X: np.ndarray, seed_rows: np.ndarray, base_rows: np.ndarray, group_idx: np.ndarray,
               is_categorical: np.ndarray) -> np.ndarray:
    """How differently the seeds are distributed from the base on each input feature (0 = alike).

    Numeric feature: ``π·((2·AUC − 1)² + (2·AUC_spread − 1)²)``, where AUC is the chance a seed's
    value exceeds a base customer's (a shift) and AUC_spread the same for the distance to the
    base median (seeds tighter or wider than the base); rank-based, so an outlier cannot fake
    a difference. Categorical feature (its one-hot block): the chi-square divergence
    ``Σ_c (p_seeds,c − p_base,c)² / p_base,c``. Both are ≈ d² for a shift of d standard deviations,
    so numeric and categorical features compare on one scale.
    """
    return _Separation(X, base_rows, group_idx, is_categorical)(X, seed_rows)


def learned_weights(X: np.ndarray, seed_pos: np.ndarray, group_idx: np.ndarray,
                    sample: np.ndarray | None = None, *, is_categorical: np.ndarray | None = None,
                    random_state: int = 0) -> np.ndarray:
    """Per-column weights from how the seeds differ from the base, zero when no more than chance.

    ``sample`` (row positions) is the base side (default: every row); the null draws come from
    it too. ``is_categorical`` marks the features that are one-hot blocks (default: features of
    more than one column). See the module docstring for the formula.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5000, 3)).astype(np.float32)
    >>> seeds = np.flatnonzero(X[:, 0] > 1.5)             # set apart on column 0 only
    >>> w = learned_weights(X, seeds, np.arange(3))
    >>> bool(w[0] > 1.5), bool((w[1:] < 0.1).all())       # the noise columns get (almost) nothing
    (True, True)
    """
    base = np.arange(X.shape[0]) if sample is None else np.asarray(sample)
    n_groups = int(group_idx.max()) + 1
    if is_categorical is None:
        is_categorical = np.bincount(group_idx, minlength=n_groups) > 1
    sep = _Separation(X, base, group_idx, is_categorical)
    T = sep(X, seed_pos)
    rng = np.random.default_rng(random_state)
    m = min(len(seed_pos), max(1, len(base) // 2))
    null = np.array([sep(X, rng.choice(base, m, replace=False)) for _ in range(NULL_DRAWS)])
    w = np.sqrt(np.maximum(T - (null.mean(axis=0) + NULL_Z * null.std(axis=0)), 0.0))
    if not (w > 0).any():  # nothing sets the seeds apart: every feature counts the same
        return np.ones(len(group_idx), dtype=np.float32)
    w = np.minimum(w, 3.0 * np.median(w[w > 0]))
    w /= w[w > 0].mean()
    return w[group_idx].astype(np.float32)


# --------------------------------------------------------------------------- kernels


def seed_index_kind(n_queries: int, n_seeds: int) -> str:
    """Exact search over the seeds while it is cheap, IVF when every customer of a large base queries many seeds.

    >>> seed_index_kind(100_000, 600), seed_index_kind(10_000_000, 60_000)
    ('exact', 'ivf')
    """
    return "exact" if n_queries * n_seeds <= EXACT_SEED_SEARCH_MAX or n_seeds < 2_000 else "ivf"


#: Above this many query × seed distance computations, the seed index is approximate (IVF, recall measured).
EXACT_SEED_SEARCH_MAX = 20_000_000_000


def seed_distances(X: np.ndarray, index, k: int, batch: int = 200_000) -> np.ndarray:
    """Mean distance from each row of ``X`` to its ``k`` nearest indexed seeds, searched in batches.

    The one scoring kernel shared by the single-machine and the Spark paths
    (:func:`score_frame_against_seeds`): customers query the (small) seed index, so the
    work is one batched search per block of customers, not a loop over seeds.
    """
    out = np.empty(X.shape[0], dtype=np.float64)
    k_eff = min(k, index.ntotal)
    for start in range(0, X.shape[0], batch):
        dist, idx = index.search(X[start : start + batch], k_eff)
        valid = idx >= 0
        out[start : start + batch] = np.where(valid, dist, 0.0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    return out


def score_frame_against_seeds(frame: pd.DataFrame, *, pipeline, index, k: int,
                              id_column: str = "customer_id") -> pd.DataFrame:
    """Score one batch of clean customer rows against a seed index: pandas in, pandas out.

    ``pipeline`` is a fitted feature pipeline (``finder.pipeline_``), ``index`` a
    :class:`~lookalike.index.NeighborIndex` over the seed vectors. Returns ``customer_id`` and
    ``distance`` (mean distance to the ``k`` nearest seeds; smaller is more alike). Pure and
    row-wise, so Spark's ``mapInPandas`` and the single-machine path give the same numbers.
    """
    if len(frame) == 0:
        return pd.DataFrame({id_column: pd.Series([], dtype=object), "distance": pd.Series([], dtype="float64")})
    X = np.ascontiguousarray(pipeline.transform(frame), dtype=np.float32)
    return pd.DataFrame({id_column: frame[id_column].astype(str).to_numpy(dtype=object),
                         "distance": seed_distances(X, index, k)})


def nearest_seeds(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, k: int,
                  kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distances and seed *positions* of the ``k`` nearest seeds of each of ``rows`` (a seed never matches itself).

    ``kind``: the seed index (``"exact"``, ``"ivf"``); default :func:`seed_index_kind`.
    """
    return _nearest(X, seed_pos, rows, k, kind)


def _nearest(X: np.ndarray, ref: np.ndarray, rows: np.ndarray, k: int,
             kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of ``ref`` (row positions) for each of ``rows``, the row itself left out."""
    k_eff = min(k + 1, len(ref))
    kind = seed_index_kind(len(rows), len(ref)) if kind is None else kind
    index = build_index(np.ascontiguousarray(X[ref]), kind)
    dist, local = index.search(np.ascontiguousarray(X[rows]), k_eff)
    pos = np.where(local >= 0, ref[np.maximum(local, 0)], -1)
    own = pos == rows[:, None]
    if k_eff > k or own.any():
        # drop the row itself when it is in the reference, keep the first k others
        order = np.argsort(own, axis=1, kind="stable")[:, : min(k, k_eff)]
        dist, pos = np.take_along_axis(dist, order, 1), np.take_along_axis(pos, order, 1)
    return dist, pos


def _prior_logit(n_seeds: int, n: int) -> float:
    prior = n_seeds / n
    return float(np.log(prior / (1 - prior))) if 0 < prior < 1 else 0.0


# --------------------------------------------------------------------------- candidates


def score_seed_share(X: np.ndarray, seed_pos: np.ndarray, seed_weight: np.ndarray | None = None, *,
                     k: int = DEFAULT_K, reference: np.ndarray | None = None,
                     rows: np.ndarray | None = None) -> Scores:
    """Share of seeds among each customer's ``k`` nearest neighbours (see module docstring).

    ``reference`` = base rows the neighbours are drawn from besides the seeds (default: every
    non-seed); ``rows`` = customers to score (default: all; the others get 0).
    """
    n = X.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    is_seed = np.zeros(n, dtype=bool)
    is_seed[seed_pos] = True
    ref = np.flatnonzero(~is_seed) if reference is None else np.setdiff1d(reference, seed_pos)
    ref = np.concatenate([seed_pos, ref])
    k_eff = int(np.clip(round(k * len(ref) / n), min(10, len(ref) - 1), min(k, len(ref) - 1)))
    dist, pos = _nearest(X, ref, rows, k_eff)
    w = np.zeros(n)
    w[seed_pos] = 1.0 if seed_weight is None else np.asarray(seed_weight, dtype=float) / np.mean(seed_weight)
    valid = pos >= 0
    hits = np.where(valid, w[np.maximum(pos, 0)], 0.0)
    sim = np.zeros(n)
    sim[rows] = np.clip(hits.sum(axis=1) / k_eff, 0.0, 1.0)
    is_hit = hits > 0
    n_hits = is_hit.sum(axis=1)
    tie = np.full(n, np.inf)
    # ties (same share) break on how close the seed neighbours are
    tie[rows] = np.divide(np.where(is_hit, dist, 0.0).sum(axis=1), n_hits,
                          out=np.full(len(rows), np.inf), where=n_hits > 0)
    return Scores(sim, tie, "seed_share", {"k": k_eff, "reference": int(len(ref) - len(seed_pos))})


def score_seed_distance(X: np.ndarray, seed_pos: np.ndarray, *, k: int = 10,
                        rows: np.ndarray | None = None) -> Scores:
    """Mean distance to the ``k`` nearest seeds, as a similarity (see module docstring)."""
    n = X.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    dist, _ = _nearest(X, seed_pos, rows, k)
    d = np.full(n, np.inf)
    d[rows] = dist.mean(axis=1)
    med = float(np.median(d[rows])) or 1.0
    sim = np.zeros(n)  # exp(-inf) elsewhere: computed on the scored rows only
    sim[rows] = np.exp(-d[rows] * np.log(2.0) / med)
    return Scores(sim, d, "seed_distance", {"k": int(min(k, len(seed_pos)))})


#: the trees' predictions use every core, and boosted trees their compiled tables, from this many
#: rows on (fits stay on one thread)
PARALLEL_PREDICT_ROWS = 200_000
PREDICT_THREADS = max(1, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: rows predicted at a time: a block stays in cache while every tree walks it
PREDICT_BLOCK = 8_192


def _fit_model(kind: str, X, seed_pos: np.ndarray, seed_weight: np.ndarray | None, base: np.ndarray,
               random_state: int) -> tuple[object, float]:
    """One seed-vs-base model fitted on ``seed_pos`` + ``base``, and the shift of its log-odds to 1:1.

    The logistic model weighs both classes the same in total (``class_weight="balanced"``). The
    boosted trees are fitted unweighted: weighted fitting makes scikit-learn bin every feature
    with weighted percentiles (3–5× slower) and was no better (bench/results/evaluation/auto.md);
    their log-odds are shifted by the training prior instead, which keeps the ranking.
    """
    fit_rows = np.concatenate([seed_pos, base])
    y = np.concatenate([np.ones(len(seed_pos)), np.zeros(len(base))])
    sw = None
    if seed_weight is not None and not np.allclose(seed_weight, seed_weight[0]):
        sw = np.concatenate([seed_weight / seed_weight.mean(), np.ones(len(base))])
    # one thread: fits of a few thousand rows gain little from a second one, and OpenMP/BLAS
    # spin-waiting makes them 10-50x slower when another process shares the cores
    with threadpool_limits(1):
        if kind == "classifier":
            model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced")
            model.fit(X[fit_rows], y, sample_weight=sw)
            return model, 0.0
        model = HistGradientBoostingClassifier(max_iter=GBM_ITER, learning_rate=0.1, max_leaf_nodes=GBM_LEAVES,
                                               max_bins=GBM_BINS, min_samples_leaf=20, l2_regularization=1.0,
                                               early_stopping=False, random_state=random_state)
        model.fit(X[fit_rows], y, sample_weight=sw)
        return model, -float(np.log(len(seed_pos) / len(base)))


def one_openmp_thread() -> None:
    """Run this (worker) thread's OpenMP regions on one thread.

    OpenMP's thread count is per thread: a ``threadpool_limits`` in the caller does not reach a
    pool's workers, whose scikit-learn calls would each start every core's worth of threads (and
    spin-wait on them). Meant as a pool ``initializer``; the setting dies with the worker.
    """
    threadpool_limits(1, user_api="openmp")


def _fit_models(kind: str, X, seed_pos: np.ndarray, seed_weight: np.ndarray | None, bases: list[np.ndarray],
                random_state: int, *, parallel: bool) -> list[tuple[object, float]]:
    """:func:`_fit_model` against each of ``bases``; with ``parallel``, the fits share the cores (one thread each).

    A large scoring spends seconds on three one-thread fits in a row; the fits are independent and
    seeded, so side by side they give the same models.
    """
    if not parallel or len(bases) < 2 or PREDICT_THREADS == 1:
        return [_fit_model(kind, X, seed_pos, seed_weight, b, random_state) for b in bases]
    # the caller's limit first: each fit's own threadpool_limits then saves and restores that same
    # one-thread setting, whatever order the threads finish in
    with threadpool_limits(1), ThreadPoolExecutor(min(len(bases), PREDICT_THREADS),
                                                  initializer=one_openmp_thread) as pool:
        return list(pool.map(lambda b: _fit_model(kind, X, seed_pos, seed_weight, b, random_state), bases))


def _predict(fitted: tuple[object, float], X, rows: np.ndarray) -> np.ndarray:
    """A fitted model's log-odds (re-based to 1:1) on ``rows``, block by block.

    Prediction is per row, so blocks change no number. Each block stays in cache while every
    tree walks it (scikit-learn's own loop walks the whole matrix once per tree: memory-bound at
    millions of rows); from :data:`PARALLEL_PREDICT_ROWS` rows the blocks run on every core, one
    thread each, and boosted trees are scored from their QuickScorer tables
    (:mod:`lookalike.audience.trees`: the same numbers, about 7× faster).
    """
    model, shift = fitted
    out = np.empty(len(rows))
    large = len(rows) >= PARALLEL_PREDICT_ROWS
    compiled = compile_trees(model) if large and isinstance(model, HistGradientBoostingClassifier) else None

    def block(start: int) -> None:
        part = slice(start, start + PREDICT_BLOCK)
        raw = (tree_decision(compiled, X[rows[part]]) if compiled is not None
               else model.decision_function(X[rows[part]]))
        out[part] = raw.astype(np.float64) + shift

    starts = range(0, len(rows), PREDICT_BLOCK)
    with threadpool_limits(1):
        if not large or PREDICT_THREADS == 1:
            for start in starts:
                block(start)
        else:  # scikit-learn's predictors release the GIL: the threads share the model, no copies
            with ThreadPoolExecutor(PREDICT_THREADS, initializer=one_openmp_thread) as pool:
                list(pool.map(block, starts))
    return out


def _seed_vs_base(kind: str, X, seed_pos: np.ndarray, seed_weight: np.ndarray | None,
                  base: np.ndarray, *, rows: np.ndarray | None = None, crossfit: bool = True,
                  random_state: int = 0) -> Scores:
    n = X.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    sw = None if seed_weight is None else np.asarray(seed_weight, dtype=float)
    logit = np.zeros(n)
    if not crossfit:
        logit[rows] = _predict(_fit_model(kind, X, seed_pos, sw, base, random_state), X, rows)
    else:
        perm = np.random.default_rng(random_state).permutation(base)
        halves = (np.sort(perm[: len(perm) // 2]), np.sort(perm[len(perm) // 2:]))
        # each half of the base is scored by the model fitted against the other half; the rest by the
        # model fitted against the whole sample
        in_half = np.full(n, -1, dtype=np.int8)
        in_half[halves[0]], in_half[halves[1]] = 0, 1
        h = in_half[rows]
        jobs = [(rows[h == own], halves[other]) for own, other in ((0, 1), (1, 0))] + [(rows[h < 0], base)]
        jobs = [(part, against) for part, against in jobs if len(part)]
        fitted = _fit_models(kind, X, seed_pos, sw, [against for _, against in jobs], random_state,
                             parallel=True)
        for (part, _), model in zip(jobs, fitted):
            logit[part] = _predict(model, X, part)
    # the log-odds are for seeds and base 1:1; re-base to the true seed prior so the similarity reads as a probability
    logit[rows] += _prior_logit(len(seed_pos), n)
    sim = np.zeros(n)
    sim[rows] = 1.0 / (1.0 + np.exp(-logit[rows]))
    return Scores(sim, -logit, kind, {"base_sample": int(len(base)), "cross_fitted": bool(crossfit)})


def score_classifier(X: np.ndarray, seed_pos: np.ndarray, seed_weight: np.ndarray | None = None, *,
                     base: np.ndarray | None = None, rows: np.ndarray | None = None, crossfit: bool = True,
                     random_state: int = 0) -> Scores:
    """Logistic regression of seeds against a base sample (see module docstring)."""
    base = _base_sample(X.shape[0], seed_pos, random_state) if base is None else base
    return _seed_vs_base("classifier", X, seed_pos, seed_weight, base, rows=rows, crossfit=crossfit,
                         random_state=random_state)


def score_gbm(X: np.ndarray, seed_pos: np.ndarray, seed_weight: np.ndarray | None = None, *,
              base: np.ndarray | None = None, rows: np.ndarray | None = None, crossfit: bool = True,
              random_state: int = 0) -> Scores:
    """Gradient-boosted trees of seeds against a base sample, cross-fitted (see module docstring)."""
    base = _base_sample(X.shape[0], seed_pos, random_state) if base is None else base
    return _seed_vs_base("gbm", X, seed_pos, seed_weight, base, rows=rows, crossfit=crossfit,
                         random_state=random_state)


def score_value(value_pct: np.ndarray) -> Scores:
    """Rank by value: the percentile of the value column (missing values last)."""
    return Scores(np.asarray(value_pct, dtype=np.float64), -np.asarray(value_pct, dtype=np.float64), "value", {})


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, ties sharing their mean rank: ``scipy.stats.rankdata(x, "average")``.

    The same numbers in a third of the time at 10M values (one SIMD quicksort, no stable sort);
    with NaNs present, scipy's own (its NaN policy). Without ties (a model's continuous scores)
    the ranks are the positions in the sorted order: no run lengths to build.

    >>> average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
    [3.5, 1.0, 3.5, 2.0]
    """
    x = np.asarray(x)
    if x.dtype.kind != "f" or np.isnan(x).any() or len(x) == 0:
        return rankdata(x, method="average")
    order = np.argsort(x)
    y = x[order]
    new = np.empty(len(x), dtype=bool)
    new[0] = True
    np.not_equal(y[1:], y[:-1], out=new[1:])
    ranks = np.empty(len(x))
    if new.all():
        ranks[order] = np.arange(1, len(x) + 1, dtype=np.float64)
        return ranks
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(x)]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def value_percentile(column: pd.Series) -> np.ndarray:
    """Percentile rank of a value column in (0, 1], missing values 0.

    >>> value_percentile(pd.Series([10.0, None, 30.0, 20.0])).round(3).tolist()
    [0.333, 0.0, 1.0, 0.667]
    """
    return value_percentile_ranks(column)[0]


def value_percentile_ranks(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`value_percentile` and its own :func:`average_ranks`, from one sort.

    The percentiles are the known values' ranks over their count, missing values 0: the missing
    values tie first, and a known value's rank among all is theirs plus its rank among the known
    (distinct ranks stay distinct percentiles). ``rank_average`` reads these instead of sorting
    10M percentiles again.

    >>> [a.tolist() for a in value_percentile_ranks(pd.Series([10.0, None, 30.0, 10.0]))]
    [[0.5, 0.0, 1.0, 0.5], [2.5, 1.0, 4.0, 2.5]]
    """
    num = to_number(column).astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(num)
    out = np.zeros(len(num))
    missing = len(num) - int(known.sum())
    ranks = np.full(len(num), (missing + 1) / 2.0)
    if missing < len(num):  # the mean rank of ties over the known values: pandas' rank(pct=True), in half the time
        r = average_ranks(num[known])
        out[known] = r / (len(num) - missing)
        ranks[known] = missing + r
    return out, ranks


def _base_sample(n: int, seed_pos: np.ndarray, random_state: int, size: int = FIT_BASE,
                 exclude: np.ndarray | None = None) -> np.ndarray:
    """A random sample of the non-seed rows (all of them up to ``size``), sorted."""
    keep = np.ones(n, dtype=bool)
    keep[seed_pos] = False
    if exclude is not None:
        keep[exclude] = False
    base = np.flatnonzero(keep)
    if len(base) > size:
        base = np.sort(np.random.default_rng([random_state, 17]).choice(base, size, replace=False))
    return base


def rank_average(similarities: list[np.ndarray], rows: np.ndarray | None = None,
                 ranks: list[np.ndarray | None] | None = None) -> np.ndarray:
    """Mean percentile rank of several scorers' similarities (ties share their rank).

    ``ranks``: per similarity, its :func:`average_ranks` when already known (e.g. the value
    candidate's, :func:`value_percentile_ranks`), else None; read only without ``rows``.

    >>> rank_average([np.array([0.9, 0.1, 0.5]), np.array([3.0, 1.0, 2.0])]).round(3).tolist()
    [1.0, 0.333, 0.667]
    """
    n = len(similarities[0])
    picked = similarities if rows is None else [s[rows] for s in similarities]
    m = len(picked[0])
    known = list(ranks) if ranks is not None and rows is None else [None] * len(picked)
    todo = [s for s, r in zip(picked, known) if r is None]

    if m >= PARALLEL_PREDICT_ROWS and len(todo) > 1 and PREDICT_THREADS > 1:
        with ThreadPoolExecutor(min(len(todo), PREDICT_THREADS)) as pool:  # numpy sorts without the GIL
            done = iter(pool.map(average_ranks, todo))
    else:
        done = iter([average_ranks(s) for s in todo])
    ranked = [r if r is not None else next(done) for r in known]
    total = np.zeros(m)
    for r in ranked:
        total += r / m
    total /= len(similarities)
    if rows is None:
        return total
    out = np.zeros(n)
    out[rows] = total
    return out


def score_rule(rule, customers: pd.DataFrame, value_pct: np.ndarray | None) -> Scores:
    """A learned :class:`~lookalike.audience.seed_rule.SeedRule` as a ranking: its leaves, ties by value."""
    sim = rule.score(customers)
    tie = -value_pct if value_pct is not None else np.zeros(len(sim))
    return Scores(sim, tie, "rule", {"rule": rule.describe()})


@dataclass
class ScoringData:
    """Everything the candidates read: the feature matrix, the table's own columns, the options.

    ``X`` is the unweighted feature matrix; each fit learns its own feature weights from its
    own seeds (:meth:`weights`), so a validation fold never sees the seeds it is scored on.
    ``customers`` with ``rule_numeric``/``rule_categorical`` feed the rule candidate and
    ``value_pct`` (a :func:`value_percentile`) the value candidate; without them those
    candidates are not available.
    """

    X: np.ndarray
    group_idx: np.ndarray | None = None
    is_categorical: np.ndarray | None = None   # per input feature: a one-hot block
    customers: pd.DataFrame | None = None
    rule_numeric: tuple[str, ...] = ()
    rule_categorical: tuple[str, ...] = ()
    value_pct: np.ndarray | None = None
    value_column: str | None = None
    value_ranks: np.ndarray | None = None   # average_ranks(value_pct), from value_percentile_ranks
    k: int = DEFAULT_K
    learn_weights: bool = True
    random_state: int = 0

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def available(self) -> tuple[str, ...]:
        """The candidates this data can feed, simplest first."""
        out = []
        for name in CANDIDATES:
            if name == "value" and self.value_pct is None:
                continue
            if name == "rule" and (self.customers is None or not (self.rule_numeric or self.rule_categorical)):
                continue
            out.append(name)
        return tuple(out)

    def weights(self, seed_pos: np.ndarray, base: np.ndarray) -> np.ndarray | None:
        """Feature weights learned from ``seed_pos`` against ``base`` (None when not learned)."""
        if not self.learn_weights or self.group_idx is None or len(seed_pos) < 2:
            return None
        return learned_weights(self.X, seed_pos, self.group_idx, sample=base, is_categorical=self.is_categorical,
                               random_state=self.random_state)

    def score(self, name: str, seed_pos: np.ndarray, base: np.ndarray, *, seed_weight: np.ndarray | None = None,
              weights: np.ndarray | None = None, rows: np.ndarray | None = None, crossfit: bool = True,
              reference: np.ndarray | None = None, Xw=None) -> Scores:
        """Fit candidate ``name`` on ``seed_pos`` against ``base`` and score ``rows`` (default all).

        ``weights`` multiply the feature columns (``Xw`` passes the weighted features already
        made: :func:`weighted`); ``reference`` is ``seed_share``'s neighbour pool besides the seeds
        (default ``base``).
        """
        if Xw is None:
            Xw = weighted(self.X, weights)
        if name == "seed_share":
            return score_seed_share(Xw, seed_pos, seed_weight, k=self.k, rows=rows,
                                    reference=base if reference is None else reference)
        if name == "seed_distance":
            return score_seed_distance(Xw, seed_pos, k=min(self.k, 10), rows=rows)
        if name == "classifier":
            return score_classifier(Xw, seed_pos, seed_weight, base=base, rows=rows, crossfit=crossfit,
                                    random_state=self.random_state)
        if name == "gbm":
            return score_gbm(Xw, seed_pos, seed_weight, base=base, rows=rows, crossfit=crossfit,
                             random_state=self.random_state)
        if name == "value":
            if self.value_pct is None:
                raise ParameterError("the value candidate needs a value column (e.g. total_spent)")
            return score_value(self.value_pct)
        if name == "rule":
            from_rows = base if len(base) <= FIT_BASE else np.sort(
                np.random.default_rng(self.random_state).choice(base, FIT_BASE, replace=False))
            rule = learn_seed_rule(self.customers, self.rule_numeric, self.rule_categorical, seed_pos, from_rows,
                                   random_state=self.random_state)
            if rows is None:
                return score_rule(rule, self.customers, self.value_pct)
            # a rule scores each row on its own: a validation fold reads its few thousand rows only
            # (the whole table's text columns cost seconds per fold at 10M)
            rows = np.asarray(rows)
            part = score_rule(rule, self.customers.iloc[rows], None if self.value_pct is None else self.value_pct[rows])
            sim = np.zeros(self.n)
            sim[rows] = part.similarity
            tie = -self.value_pct if self.value_pct is not None else np.zeros(self.n)
            return Scores(sim, tie, part.scorer, part.params)
        raise ParameterError(f"unknown candidate {name!r}; use one of {', '.join(CANDIDATES)}")
