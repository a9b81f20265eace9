"""The backtest harness: do lookalike segments find future or hidden positives better than rules?

For each of ``n_splits`` random splits of a :class:`~lookalike.evaluation.tasks.Task`, every
method ranks the same population, and the targets are counted at two audience sizes:

- ``N`` = the number of targets in the population (precision@N = recall@N);
- ``M`` = the size of the best rule chosen on the seed side, so rule and lookalike are
  compared at the rule's own size.

Methods: the product's scorers (``seed_share``, ``seed_distance``, ``classifier``, each with
learned feature weights), the best rule of the grid age band × region × minimum ticket ×
minimum spend (chosen on the seeds only), ranking by past spend, a supervised logistic
regression (seeds against the rest), and random order. Every split's numbers are kept;
the summary gives the mean with a bootstrap CI over splits, and paired differences.
No leakage: the task's label columns are never features (the task refuses them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lookalike.audience.scoring import (
    feature_groups,
    learned_weights,
    score_classifier,
    score_seed_distance,
    score_seed_share,
)
from lookalike.errors import InputError, ParameterError
from lookalike.evaluation.metrics import auc, average_precision, gain_curve, paired_difference, precision_at, summarize
from lookalike.evaluation.rules import best_rule, rule_score, spend_rank_score, supervised_score
from lookalike.evaluation.tasks import Task
from lookalike.features import make_feature_pipeline
from lookalike.index import knn_graph

LOOKALIKE_SCORERS = ("seed_share", "seed_distance", "classifier")
BASELINES = ("best_rule", "spend", "supervised", "random")


@dataclass(frozen=True)
class BacktestResult:
    """Per-split metrics, their summary with CIs, and gain curves of the first split."""

    task: dict
    splits: pd.DataFrame           # one row per (split, method)
    summary: pd.DataFrame          # one row per method: mean and CI of each metric
    comparisons: pd.DataFrame      # paired differences of the default scorer against each baseline
    gains: pd.DataFrame            # gain curves (method, share_targeted, share_of_positives), split 0
    rules: list[str]               # the rule chosen in each split
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "params": self.params,
            "summary": self.summary.round(4).to_dict(orient="records"),
            "comparisons": self.comparisons.round(4).to_dict(orient="records"),
            "rules": self.rules[:5],
        }


def _rank_score(similarity: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """One score from (similarity desc, tiebreak asc): minus the rank position."""
    order = np.lexsort((np.arange(len(similarity)), tiebreak, -similarity))
    score = np.empty(len(similarity))
    score[order] = -np.arange(len(similarity), dtype=float)
    return score


def lookalike_scores(X: np.ndarray, seed_pos: np.ndarray, *, scorer: str = "seed_share", k: int = 50,
                     group_idx: np.ndarray | None = None, graph=None, random_state: int = 0) -> np.ndarray:
    """Rank scores of one of the product's scorers for every row (higher is better).

    With ``group_idx`` (input feature of each column), feature weights are learned from the
    seeds first, as the product does; ``None`` uses the features unweighted.
    """
    Xw = X * learned_weights(X, seed_pos, group_idx) if group_idx is not None else X
    if scorer == "seed_share":
        s = score_seed_share(Xw, seed_pos, np.ones(len(seed_pos)), k=k,
                             graph=graph if group_idx is None else None)
    elif scorer == "seed_distance":
        s = score_seed_distance(Xw, seed_pos, k=min(k, 10))
    elif scorer == "classifier":
        s = score_classifier(Xw, seed_pos, np.ones(len(seed_pos)), random_state=random_state)
    else:
        raise ParameterError(f"unknown scorer {scorer!r}; use one of {', '.join(LOOKALIKE_SCORERS)}")
    return _rank_score(s.similarity, s.tiebreak)


def _feature_matrix(task: Task) -> tuple[np.ndarray, list[str]]:
    """Features of every customer (fitted without labels: scaling sees no target)."""
    pipe = make_feature_pipeline(task.spec)
    X = np.ascontiguousarray(pipe.fit_transform(task.customers), dtype=np.float32)
    return X, [str(c) for c in pipe.get_feature_names_out()]


def _split(task: Task, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seed mask, population mask, target mask) of one split."""
    n = len(task.customers)
    if task.mode == "hide":
        pos = np.flatnonzero(task.positives)
        hidden = rng.choice(pos, size=max(1, int(round(task.hide_share * len(pos)))), replace=False)
        target = np.zeros(n, bool)
        target[hidden] = True
        seeds = task.positives & ~target
        return seeds, ~seeds, target
    pos = np.flatnonzero(task.seeds)
    keep = rng.choice(pos, size=max(2, int(round(task.seed_share * len(pos)))), replace=False)
    seeds = np.zeros(n, bool)
    seeds[keep] = True
    return seeds, task.population.copy(), task.target & task.population


def backtest(task: Task, *, n_splits: int = 20, scorers: Sequence[str] = LOOKALIKE_SCORERS,
             baselines: Sequence[str] = BASELINES, k: int = 50, learn_weights: bool = True,
             seed_size: int | None = None, random_state: int = 0, gain_points: int = 101) -> BacktestResult:
    """Run ``n_splits`` splits of ``task`` and compare every method (see the module docstring)."""
    if n_splits < 1:
        raise ParameterError(f"n_splits must be >= 1, got {n_splits}")
    X, names = _feature_matrix(task)
    cat_groups = tuple(task.spec.categorical)
    _, group_idx = feature_groups(names, cat_groups)
    rows: list[dict] = []
    graph = None
    gains: list[pd.DataFrame] = []
    chosen_rules: list[str] = []
    for split in range(n_splits):
        rng = np.random.default_rng([random_state, split])
        seeds, population, target = _split(task, rng)
        if seed_size is not None and seeds.sum() > seed_size:
            keep = rng.choice(np.flatnonzero(seeds), size=seed_size, replace=False)
            seeds = np.zeros_like(seeds)
            seeds[keep] = True
            population = population & ~seeds if task.mode != "hide" else ~seeds & (target | ~task.positives)
        seed_pos = np.flatnonzero(seeds)
        n_target = int(target[population].sum())
        if n_target == 0 or len(seed_pos) < 2:
            raise InputError(f"split {split}: {len(seed_pos)} seeds and {n_target} targets; the task needs more positives")
        y = target[population]
        scores: dict[str, np.ndarray] = {}
        for sc in scorers:
            if sc == "seed_share" and not learn_weights and graph is None:
                graph = knn_graph(X, k)  # unweighted features: one graph serves every split
            scores[sc] = lookalike_scores(X, seed_pos, scorer=sc, k=k, group_idx=group_idx if learn_weights else None,
                                          graph=graph, random_state=split)
        rule_size = None
        if "best_rule" in baselines:
            rule, table = best_rule(task.customers.loc[population | seeds].reset_index(drop=True),
                                    np.asarray(seeds[population | seeds]), min_size=max(10, n_target // 4),
                                    max_size=max(n_target * 4, 20))
            chosen_rules.append(rule.describe())
            scores["best_rule"] = rule_score(task.customers, rule)
            rule_size = int(rule.mask(task.customers)[population].sum())
        if "spend" in baselines and "total_spent" in task.customers.columns:
            scores["spend"] = spend_rank_score(task.customers)
        if "supervised" in baselines:
            scores["supervised"] = supervised_score(X, seeds, random_state=split)
        if "random" in baselines:
            scores["random"] = rng.random(len(task.customers))
        base_rate = float(y.mean())
        for method, s in scores.items():
            sp = s[population]
            row = {"split": split, "method": method, "n_seeds": len(seed_pos), "n_population": int(population.sum()),
                   "n_target": n_target, "base_rate": base_rate,
                   "precision@N": precision_at(y, sp, n_target), "auc": auc(y, sp), "ap": average_precision(y, sp)}
            row["lift@N"] = row["precision@N"] / base_rate
            if rule_size:
                row["rule_size"] = rule_size
                row["precision@M"] = precision_at(y, sp, rule_size)
                row["lift@M"] = row["precision@M"] / base_rate
            rows.append(row)
            if split == 0:
                g = gain_curve(y, sp, points=gain_points)
                g.insert(0, "method", method)
                gains.append(g)
    splits = pd.DataFrame(rows)
    summary = _summarize(splits)
    default = scorers[0] if scorers else None
    comparisons = _compare(splits, default) if default else pd.DataFrame()
    return BacktestResult(task=task.describe(), splits=splits, summary=summary, comparisons=comparisons,
                          gains=pd.concat(gains, ignore_index=True) if gains else pd.DataFrame(), rules=chosen_rules,
                          params={"n_splits": n_splits, "k": k, "learn_weights": learn_weights, "seed_size": seed_size,
                                  "scorers": list(scorers), "baselines": list(baselines), "random_state": random_state})


METRICS = ("precision@N", "lift@N", "precision@M", "lift@M", "auc", "ap")


def _summarize(splits: pd.DataFrame) -> pd.DataFrame:
    out = []
    for method, g in splits.groupby("method", sort=False):
        row = {"method": method, "splits": len(g)}
        for m in METRICS:
            if m in g and g[m].notna().any():
                s = summarize(g[m].dropna().to_numpy())
                row[m] = s["mean"]
                row[f"{m} ci_low"] = s["ci_low"]
                row[f"{m} ci_high"] = s["ci_high"]
        out.append(row)
    return pd.DataFrame(out)


def _compare(splits: pd.DataFrame, default: str) -> pd.DataFrame:
    wide = {m: splits.pivot(index="split", columns="method", values=m) for m in ("precision@N", "precision@M")
            if m in splits}
    out = []
    for metric, table in wide.items():
        if default not in table:
            continue
        for other in table.columns:
            if other == default or table[other].isna().all():
                continue
            d = paired_difference(table[default].to_numpy(), table[other].to_numpy())
            out.append({"metric": metric, "method": default, "versus": other, **d})
    return pd.DataFrame(out)
