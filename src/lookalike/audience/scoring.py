"""Scoring every customer by similarity to a seed set: the one scoring path of the product.

:func:`score_audience` is what ``expand``/``build_audience``, the backtest (``evaluate``),
playbooks and the API/UI call, with the same defaults (``k``, feature weights, candidates,
validation), so a published number is the shipped product. Spark scores partitions with
:func:`score_frame_against_seeds`, the ``seed_distance`` kernel.

Scorers: the candidates of :mod:`lookalike.audience.candidates` (``seed_share``,
``seed_distance``, ``classifier``, ``gbm``, ``value``, ``rule``) and ``auto`` (the default):
the candidates validated on the seeds only, the way the task is shaped, and the leaders
combined by rank averaging (:mod:`lookalike.audience.auto`). Feature weights (relevance that
can reach zero, see :func:`learned_weights`) are learned from the seeds against the base sample
and used by every candidate that reads the features.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from lookalike.audience.auto import Validation, validate
from lookalike.audience.candidates import (  # noqa: F401  (re-exported: the scoring API lives here)
    CANDIDATES,
    DEFAULT_K,
    FIT_BASE,
    SHARE_REFERENCE,
    Scores,
    ScoringData,
    _base_sample,
    feature_groups,
    learned_weights,
    nearest_seeds,
    rank_average,
    score_classifier,
    score_frame_against_seeds,
    score_gbm,
    score_seed_distance,
    score_seed_share,
    seed_distances,
    seed_index_kind,
    value_percentile,
    value_percentile_ranks,
    weighted,
)
from lookalike.errors import ParameterError

#: Scorers a user can ask for; ``auto`` validates the candidates and combines the leaders.
SCORERS = ("auto", *CANDIDATES)


def check_scorer(scorer: str) -> str:
    """Validate a scorer name."""
    if scorer not in SCORERS:
        raise ParameterError(f"unknown scorer {scorer!r}; choose one of {', '.join(SCORERS)}")
    return scorer


def value_column_of(customers: pd.DataFrame, value_column: str | None = None) -> str | None:
    """The value column the scorers rank by: ``value_column``, else ``total_spent`` when it holds numbers.

    >>> value_column_of(pd.DataFrame({"total_spent": [1.0, None]})), value_column_of(pd.DataFrame({"x": [1]}))
    ('total_spent', None)
    """
    if value_column is not None:
        if value_column not in customers.columns:
            raise ParameterError(f"value column {value_column!r} is not in the customer table; name a numeric "
                                 "column such as total_spent")
        return value_column
    if "total_spent" in customers.columns and pd.to_numeric(customers["total_spent"], errors="coerce").notna().any():
        return "total_spent"
    return None


def scoring_data(X: np.ndarray, feature_names: list[str], spec, customers: pd.DataFrame, *, k: int = DEFAULT_K,
                 learn_weights: bool = True, random_state: int = 0, value_column: str | None = None,
                 values: Callable[[str], tuple[np.ndarray, np.ndarray]] | None = None) -> ScoringData:
    """What the candidates read: the features, the table's own columns for the rule, the value column.

    ``spec`` is the :class:`~lookalike.features.FeatureSpec` behind ``X``; ``value_column``
    defaults to ``total_spent`` when the table has numbers in it (:func:`value_column_of`; no value
    candidate otherwise). ``values(column)`` gives that column's :func:`value_percentile_ranks` when
    they are already known (a fitted finder keeps them); by default they are computed here.
    The backtest and ``build_audience`` both build their data here, with the same defaults.
    """
    groups, group_idx = feature_groups(list(feature_names), tuple(spec.categorical))
    column = value_column_of(customers, value_column)
    if column is None:
        value_pct = value_ranks = None
    else:
        value_pct, value_ranks = values(column) if values is not None else value_percentile_ranks(customers[column])
    return ScoringData(
        X=X, group_idx=group_idx, is_categorical=np.array([g in spec.categorical for g in groups]),
        customers=customers,
        rule_numeric=tuple(c for c in tuple(spec.numeric) + tuple(spec.boolean) if c in customers.columns),
        rule_categorical=tuple(c for c in spec.categorical if c in customers.columns),
        value_pct=value_pct, value_ranks=value_ranks, value_column=column,
        k=int(k), learn_weights=bool(learn_weights), random_state=int(random_state))


def score_audience(data: ScoringData, seed_pos: np.ndarray, *, scorer: str = "auto",
                   seed_weight: np.ndarray | None = None, seed_order: np.ndarray | None = None,
                   outcomes: tuple[np.ndarray, np.ndarray] | None = None) -> Scores:
    """Score every customer of ``data`` against the seeds at ``seed_pos``.

    ``scorer``: ``auto`` or one candidate. ``seed_order`` (one number per customer, NaN when
    unknown; only the seeds' values are read) lets ``auto`` validate forward in time;
    ``outcomes`` = (responder rows, other contacted rows) of an earlier campaign from the same kind
    of seeds lets it validate on real responders. Returns :class:`Scores` with the feature weights
    used and, for ``auto``, the :class:`~lookalike.audience.auto.Validation`.
    """
    check_scorer(scorer)
    seed_pos = np.asarray(seed_pos, dtype=np.int64)
    n = data.n
    if len(seed_pos) == 0 or len(seed_pos) >= n:
        raise ParameterError(f"scoring needs between 1 and {n - 1} seeds, got {len(seed_pos)}")
    if scorer != "auto" and scorer not in data.available():
        raise ParameterError(f"scorer {scorer!r} is not available on this table: "
                             + ("it needs a value column such as total_spent" if scorer == "value"
                                else "it needs the customer table"))
    base = _base_sample(n, seed_pos, data.random_state)
    # seed_share's neighbour pool: the whole base while small, else a sample (cost n × pool)
    reference = base if n - len(seed_pos) <= FIT_BASE else _base_sample(n, seed_pos, data.random_state,
                                                                         size=SHARE_REFERENCE)
    weights = data.weights(seed_pos, base)
    Xw = weighted(data.X, weights)
    params = {"k": int(data.k), "base_sample": int(len(base)), "learn_weights": bool(weights is not None)}
    if scorer != "auto":
        s = data.score(scorer, seed_pos, base, seed_weight=seed_weight, reference=reference, Xw=Xw)
        return Scores(s.similarity, s.tiebreak, s.scorer, {**params, **s.params}, weights=weights)
    t0 = time.perf_counter()
    validation = validate(data, seed_pos, seed_weight=seed_weight, seed_order=seed_order, outcomes=outcomes,
                          random_state=data.random_state)
    members, member_params = {}, {}
    first = None
    for name in validation.chosen:
        s = data.score(name, seed_pos, base, seed_weight=seed_weight, reference=reference, Xw=Xw)
        members[name] = s.similarity
        member_params[name] = s.params
        first = first or s
    similarity = (rank_average(list(members.values()),
                               ranks=[data.value_ranks if name == "value" else None for name in members])
                  if len(members) > 1 else first.similarity)
    params.update({"combined": list(validation.chosen), "validation": validation.kind,
                   "members": member_params, "seconds": round(time.perf_counter() - t0, 3)})
    return Scores(similarity, first.tiebreak, "auto", params, weights=weights, validation=validation,
                  members=members)


__all__ = ["SCORERS", "CANDIDATES", "DEFAULT_K", "Scores", "ScoringData", "Validation", "check_scorer",
           "score_audience", "scoring_data", "value_column_of", "feature_groups", "learned_weights", "nearest_seeds", "rank_average",
           "score_classifier", "score_gbm", "score_seed_distance", "score_seed_share", "seed_distances",
           "score_frame_against_seeds", "seed_index_kind", "value_percentile", "weighted"]
