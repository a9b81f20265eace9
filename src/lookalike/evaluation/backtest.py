"""The backtest harness: do lookalike segments find future or hidden positives better than rules?

For each of ``n_splits`` random splits of a :class:`~lookalike.evaluation.tasks.Task`, every
method ranks the same population, and the targets are counted at three audience sizes:

- ``N`` = the number of targets in the population (precision@N = recall@N);
- ``M`` = the size of the best rule chosen on the seed side, so rule and lookalike are
  compared at the rule's own size;
- 10% of the population (``precision@10%``).

Methods: the product's scorers through :func:`lookalike.audience.scoring.score_audience` — the
very function ``expand`` calls, with its defaults (``k``, learned feature weights, candidates,
validation) — so the ``auto`` row is the shipped default; then the label-free baselines
``best_rule`` (the rule learned from the seeds, :func:`~lookalike.evaluation.rules.best_rule`)
and ``spend`` (rank by the task's value column), a supervised logistic regression (seeds against
the rest) and random order. Like ``expand``, customers whose ``promo_channel`` is ``none``
(opted out) are never in the audience: they are left out of the ranked population for every
method. Each split draws its own base samples (``random_state`` = the split).

Every split's numbers are kept; the summary gives the mean with a bootstrap CI over splits.
Comparisons of ``auto`` against each other method resample both the splits and the ranked
customers within each split (:func:`~lookalike.evaluation.metrics.paired_customer_difference`):
a difference whose interval covers 0 is a tie. No leakage: the task's label columns are never
features (the task refuses them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lookalike.audience.candidates import _base_sample, score_rule
from lookalike.audience.scoring import CANDIDATES, DEFAULT_K, SCORERS, score_audience, scoring_data
from lookalike.errors import InputError, ParameterError
from lookalike.evaluation.metrics import (
    auc,
    average_precision,
    customer_bootstrap,
    gain_curve,
    paired_customer_difference,
    paired_difference,
    precision_at,
    summarize,
)
from lookalike.evaluation.rules import best_rule, supervised_score
from lookalike.evaluation.tasks import Task
from lookalike.features import make_feature_pipeline

#: The product's rows: the shipped default first, then the candidates it combines.
LOOKALIKE_SCORERS = ("auto", "seed_share", "seed_distance", "classifier", "gbm")
BASELINES = ("best_rule", "spend", "supervised", "random")
METRICS = ("precision@N", "lift@N", "precision@M", "lift@M", "precision@10%", "auc", "ap")


@dataclass(frozen=True)
class BacktestResult:
    """Per-split metrics, their summary with CIs, comparisons, and gain curves of the first split."""

    task: dict
    splits: pd.DataFrame           # one row per (split, method)
    summary: pd.DataFrame          # one row per method: mean and CI of each metric
    comparisons: pd.DataFrame      # the default scorer against each other method (customers + splits resampled)
    gains: pd.DataFrame            # gain curves (method, share_targeted, share_of_positives), split 0
    rules: list[str]               # the rule chosen in each split
    params: dict = field(default_factory=dict)
    validations: list[dict] = field(default_factory=list)   # auto's validation in each split

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "params": self.params,
            "summary": self.summary.round(4).to_dict(orient="records"),
            "comparisons": self.comparisons.round(4).to_dict(orient="records"),
            "rules": self.rules[:5],
            "validation": _validation_summary(self.validations),
        }


def _validation_summary(validations: list[dict]) -> dict:
    """How auto validated and what it combined, over the splits, plus the first split's table."""
    if not validations:
        return {}
    combos = pd.Series([" + ".join(v["chosen"]) for v in validations]).value_counts()
    kinds = pd.Series([v["kind"] for v in validations]).value_counts()
    return {"kinds": kinds.to_dict(), "combined": combos.to_dict(), "first_split": validations[0],
            "seconds_mean": round(float(np.mean([v["seconds"] for v in validations])), 2)}


def _rank_score(similarity: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """One score from (similarity desc, tiebreak asc): minus the rank position."""
    order = np.lexsort((np.arange(len(similarity)), tiebreak, -similarity))
    score = np.empty(len(similarity))
    score[order] = -np.arange(len(similarity), dtype=float)
    return score


def _feature_matrix(task: Task) -> tuple[np.ndarray, list[str]]:
    """Features of every customer (fitted without labels: scaling sees no target)."""
    pipe = make_feature_pipeline(task.spec)
    X = np.ascontiguousarray(pipe.fit_transform(task.customers), dtype=np.float32)
    return X, [str(c) for c in pipe.get_feature_names_out()]


def _contactable(task: Task) -> np.ndarray:
    """Customers ``expand`` may put in an audience by default (opted-out ones never)."""
    c = task.customers
    if "promo_channel" not in c.columns:
        return np.ones(len(c), dtype=bool)
    return ~c["promo_channel"].astype(str).eq("none").to_numpy()


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
             baselines: Sequence[str] = BASELINES, k: int = DEFAULT_K, learn_weights: bool = True,
             seed_size: int | None = None, random_state: int = 0, gain_points: int = 101,
             customer_resamples: int = 1000, progress: Callable[[int, int, float], None] | None = None
             ) -> BacktestResult:
    """Run ``n_splits`` splits of ``task`` and compare every method (see the module docstring).

    ``progress(split, n_splits, seconds)`` is called after each split.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ParameterError(f"n_splits must be >= 1, got {n_splits}")
    unknown = [s for s in scorers if s not in SCORERS]
    if unknown:
        raise ParameterError(f"unknown scorer(s) {', '.join(unknown)}; use {', '.join(SCORERS)}")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ParameterError(f"unknown baseline(s) {', '.join(unknown)}; use {', '.join(BASELINES)}")
    X, names = _feature_matrix(task)
    contactable = _contactable(task)
    order = task.seed_order_values()
    rows: list[dict] = []
    gains: list[pd.DataFrame] = []
    chosen_rules: list[str] = []
    validations: list[dict] = []
    replicates: list[pd.DataFrame] = []
    t_all = time.perf_counter()
    for split in range(n_splits):
        t0 = time.perf_counter()
        rng = np.random.default_rng([random_state, split])
        seeds, population, target = _split(task, rng)
        if seed_size is not None and seeds.sum() > seed_size:
            keep = rng.choice(np.flatnonzero(seeds), size=seed_size, replace=False)
            seeds = np.zeros_like(seeds)
            seeds[keep] = True
            population = population & ~seeds if task.mode != "hide" else ~seeds & (target | ~task.positives)
        population &= contactable
        seed_pos = np.flatnonzero(seeds)
        n_target = int(target[population].sum())
        if n_target == 0 or len(seed_pos) < 2:
            raise InputError(f"task {task.name}, split {split}: {len(seed_pos)} seeds and {n_target} targets among "
                             "the customers that can be contacted; the task needs more positives")
        y = target[population]
        data = scoring_data(X, names, task.spec, task.customers, k=k, learn_weights=learn_weights,
                            random_state=split, value_column=task.value)
        scores: dict[str, np.ndarray] = {}
        for sc in scorers:
            if sc in CANDIDATES and sc not in data.available():
                continue
            s = score_audience(data, seed_pos, scorer=sc, seed_order=order)
            scores[sc] = _rank_score(s.similarity, s.tiebreak)
            if s.validation is not None:
                validations.append(s.validation.to_dict())
        rule_size = None
        if "best_rule" in baselines and "rule" in data.available():
            base = _base_sample(len(X), seed_pos, split)
            rule = best_rule(task.customers, seeds, numeric=data.rule_numeric, categorical=data.rule_categorical,
                             base_mask=np.isin(np.arange(len(X)), base), random_state=split)
            chosen_rules.append(rule.describe())
            r = score_rule(rule, task.customers, data.value_pct)
            scores["best_rule"] = _rank_score(r.similarity, r.tiebreak)
            rule_size = int(rule.mask(task.customers)[population].sum()) or None
        if "spend" in baselines and data.value_pct is not None:
            scores["spend"] = data.value_pct.copy()
        if "supervised" in baselines:
            scores["supervised"] = supervised_score(X, seeds, random_state=split)
        if "random" in baselines:
            scores["random"] = rng.random(len(task.customers))
        base_rate = float(y.mean())
        n_pop = int(population.sum())
        top10 = max(1, int(round(0.1 * n_pop)))
        for method, s in scores.items():
            sp = s[population]
            row = {"split": split, "method": method, "n_seeds": len(seed_pos), "n_population": n_pop,
                   "n_target": n_target, "base_rate": base_rate,
                   "precision@N": precision_at(y, sp, n_target), "precision@10%": precision_at(y, sp, top10),
                   "auc": auc(y, sp), "ap": average_precision(y, sp)}
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
        if customer_resamples:
            replicates.append(customer_bootstrap(y, {m: s[population] for m, s in scores.items()},
                                                 n_resamples=customer_resamples, random_state=split))
        if progress is not None:
            progress(split, n_splits, time.perf_counter() - t0)
    splits = pd.DataFrame(rows)
    summary = _summarize(splits)
    default = scorers[0] if scorers else None
    comparisons = _compare(splits, default, replicates) if default else pd.DataFrame()
    return BacktestResult(task=task.describe(), splits=splits, summary=summary, comparisons=comparisons,
                          gains=pd.concat(gains, ignore_index=True) if gains else pd.DataFrame(), rules=chosen_rules,
                          params={"n_splits": n_splits, "k": k, "learn_weights": learn_weights, "seed_size": seed_size,
                                  "scorers": list(scorers), "baselines": list(baselines), "random_state": random_state,
                                  "customer_resamples": customer_resamples,
                                  "excluded_opted_out": int((~contactable).sum()),
                                  "seconds": round(time.perf_counter() - t_all, 1)},
                          validations=validations)


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
                row[f"{m} sd"] = float(g[m].std(ddof=1)) if g[m].notna().sum() > 1 else 0.0
        out.append(row)
    return pd.DataFrame(out)


def verdict(ci_low: float, ci_high: float) -> str:
    """``better`` / ``worse`` when the interval excludes 0, ``tie`` when it covers it."""
    return "better" if ci_low > 0 else "worse" if ci_high < 0 else "tie"


def _compare(splits: pd.DataFrame, default: str, replicates: list[pd.DataFrame]) -> pd.DataFrame:
    """``default`` against every other method: precision@N with customers and splits resampled; @M over splits."""
    out = []
    wide = {m: splits.pivot(index="split", columns="method", values=m) for m in ("precision@N", "precision@M")
            if m in splits}
    for metric, table in wide.items():
        if default not in table:
            continue
        for other in table.columns:
            if other == default or table[other].isna().all():
                continue
            split_d = paired_difference(table[default].to_numpy(), table[other].to_numpy())
            row = {"metric": metric, "method": default, "versus": other, "mean": split_d["mean"],
                   "split_ci_low": split_d["ci_low"], "split_ci_high": split_d["ci_high"],
                   "share_positive": split_d["share_positive"]}
            if metric == "precision@N" and replicates:
                cust = paired_customer_difference(replicates, default, other, observed=split_d["mean"])
                row.update({"ci_low": cust["ci_low"], "ci_high": cust["ci_high"], "interval": "customers and splits"})
            else:
                row.update({"ci_low": split_d["ci_low"], "ci_high": split_d["ci_high"], "interval": "splits"})
            row["verdict"] = verdict(row["ci_low"], row["ci_high"])
            out.append(row)
    return pd.DataFrame(out)
