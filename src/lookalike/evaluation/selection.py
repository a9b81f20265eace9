"""Model selection by evidence, without peeking: choose on validation splits, report on test splits.

:func:`select_model` runs every configuration of a grid (scorer × ``k`` × learned weights)
through :func:`~lookalike.evaluation.backtest.backtest` on ``n_validation`` *validation*
splits, picks the configuration with the highest mean of ``metric`` there, and only then
evaluates that one configuration — next to the product default and the rule baselines —
on ``n_test`` *test* splits. The two sets of splits never share a random seed: backtest
split ``i`` draws from ``numpy.random.default_rng([random_state, i])``, and validation uses
``random_state + VALIDATION_OFFSET``, test ``random_state + TEST_OFFSET``.

Disjoint seeds are not enough when the targets are fixed by the data (``given`` and
``time`` tasks: a split only re-draws which seeds are used, the targets stay the same).
There, with ``holdout=True`` (the default), the rankable population is cut once into two
halves, stratified by target: validation splits count targets in one half only, test
splits in the other, so no target that decided the choice is counted in the reported
number. (Every customer is still ranked, and seeds are drawn as usual.) ``hide`` tasks
draw fresh hidden positives in every split, so their test splits are fresh draws.

Grid notes, from the product's scorers: ``k`` does not affect the classifier, and
``seed_distance`` caps ``k`` at 10 (``min(k, 10)`` in the product and the harness), so
``k = 20, 50, 100`` are the same model there. Each distinct model is run once; the table
keeps every grid row and says which model it was evaluated as (``effective_k``).

:func:`seed_size_table` measures lift@N by seed-set size for each scorer and the
supervised baseline. A size the task cannot reach (more seeds than it has) is skipped
and said so, never relabelled with the all-seeds result; the table reports how many seeds
were actually used, and ``None`` asks for all of them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError
from lookalike.evaluation.backtest import BASELINES, LOOKALIKE_SCORERS, backtest
from lookalike.evaluation.metrics import paired_difference
from lookalike.evaluation.tasks import Task

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_GRID",
    "SelectionResult",
    "config_label",
    "expand_grid",
    "holdout_halves",
    "seed_size_table",
    "select_model",
]

#: The grid of the brief: every scorer, three neighbourhood sizes, with and without learned weights.
DEFAULT_GRID: dict[str, tuple] = {
    "scorer": LOOKALIKE_SCORERS,
    "k": (20, 50, 100),
    "learn_weights": (True, False),
}
#: The product's default (``scorer="auto"`` resolves to seed_share, k = 50, learned weights).
DEFAULT_CONFIG = {"scorer": "seed_share", "k": 50, "learn_weights": True}
#: Offsets added to ``random_state`` for the validation and the test splits (disjoint seeds).
VALIDATION_OFFSET = 1_000
TEST_OFFSET = 2_000
#: Metrics a choice can be made on (precision@M needs the rule baseline, which the grid does not run).
SELECTION_METRICS = ("precision@N", "lift@N", "auc", "ap")
SEED_DISTANCE_MAX_K = 10


@dataclass(frozen=True)
class SelectionResult:
    """The validation table of every configuration, the choice, and its test-split evidence.

    ``table``: one row per grid configuration (``config``, ``scorer``, ``k``, ``learn_weights``,
    ``effective_k``, the mean and bootstrap CI of ``metric`` on the validation splits, the
    means of the other metrics, ``rank`` and ``chosen``). ``test``: one row per method on the
    test splits (``role`` = chosen, default or baseline) with mean and CI of each metric.
    ``comparisons``: paired differences of ``metric`` (and precision@M) on the test splits,
    chosen configuration minus each other row.
    """

    task: dict
    metric: str
    table: pd.DataFrame
    chosen: dict
    test: pd.DataFrame
    comparisons: pd.DataFrame
    validation_seeds: tuple[tuple[int, int], ...]
    test_seeds: tuple[tuple[int, int], ...]
    params: dict = field(default_factory=dict)

    @property
    def chosen_label(self) -> str:
        return config_label(self.chosen)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "metric": self.metric,
            "chosen": {**self.chosen, "label": self.chosen_label},
            "params": self.params,
            "validation": self.table.round(4).to_dict(orient="records"),
            "test": self.test.round(4).to_dict(orient="records"),
            "comparisons": self.comparisons.round(4).to_dict(orient="records"),
            "validation_seeds": [list(s) for s in self.validation_seeds],
            "test_seeds": [list(s) for s in self.test_seeds],
        }


# --------------------------------------------------------------------------- grid


def _effective_k(scorer: str, k: int) -> int | None:
    if scorer == "classifier":
        return None
    if scorer == "seed_distance":
        return min(int(k), SEED_DISTANCE_MAX_K)
    return int(k)


def config_label(config: Mapping) -> str:
    """Short readable name of a configuration, e.g. ``seed_share k=50, learned weights``."""
    name, k = str(config["scorer"]), int(config["k"])
    if name == "seed_distance" and k > SEED_DISTANCE_MAX_K:
        name += f" k={SEED_DISTANCE_MAX_K} (capped from {k})"
    elif name != "classifier":
        name += f" k={k}"
    return f"{name}, {'learned weights' if config['learn_weights'] else 'unweighted'}"


def expand_grid(grid: Mapping[str, Iterable] | Sequence[Mapping]) -> list[dict]:
    """Configurations of a grid: a mapping of value lists (all combinations) or a list of dicts.

    Every configuration gets ``effective_k`` (the ``k`` the scorer really uses: ``None`` for
    the classifier, at most 10 for seed_distance).

    >>> [c["effective_k"] for c in expand_grid({"scorer": ["seed_distance", "classifier"], "k": [50]})]
    [10, None]
    """
    if isinstance(grid, Mapping):
        unknown = set(grid) - set(DEFAULT_GRID)
        if unknown:
            raise ParameterError(f"unknown grid key(s) {', '.join(sorted(unknown))}; use {', '.join(DEFAULT_GRID)}")
        values = {key: tuple(grid.get(key, (DEFAULT_CONFIG[key],))) for key in DEFAULT_GRID}
        configs = [dict(zip(values, combo)) for combo in itertools.product(*values.values())]
    else:
        configs = [{**DEFAULT_CONFIG, **dict(c)} for c in grid]
    if not configs:
        raise ParameterError("the grid is empty; give at least one configuration")
    out = []
    for c in configs:
        if c["scorer"] not in LOOKALIKE_SCORERS:
            raise ParameterError(f"unknown scorer {c['scorer']!r} in the grid; use {', '.join(LOOKALIKE_SCORERS)}")
        if isinstance(c["k"], bool) or not isinstance(c["k"], (int, np.integer)) or c["k"] < 1:
            raise ParameterError(f"k must be a positive integer, got {c['k']!r}")
        out.append({"scorer": c["scorer"], "k": int(c["k"]), "learn_weights": bool(c["learn_weights"]),
                    "effective_k": _effective_k(c["scorer"], c["k"])})
    return out


# --------------------------------------------------------------------------- holdout


def holdout_halves(task: Task, random_state: int = 0) -> tuple[Task, Task, dict]:
    """(validation task, test task, description): disjoint halves of the population.

    For ``given``/``time`` tasks the rankable population is cut in two halves, stratified
    by target; each task counts targets in its half only. ``hide`` tasks are returned as
    they are (every split hides fresh positives).
    """
    if task.mode == "hide":
        return task, task, {"holdout": "none (hide task: fresh hidden positives per split)"}
    rng = np.random.default_rng([random_state, 7_919])
    pop = np.flatnonzero(task.population)
    is_target = task.target[pop]
    val = np.zeros(len(task.customers), dtype=bool)
    for group in (pop[is_target], pop[~is_target]):
        pick = rng.permutation(group)[: len(group) // 2]
        val[pick] = True
    test = task.population & ~val
    tasks = []
    for half in (val, test):
        tasks.append(dataclasses.replace(task, population=half.copy(), target=task.target & half))
    desc = {"holdout": "population halves stratified by target",
            "validation_population": int(val.sum()), "validation_targets": int((task.target & val).sum()),
            "test_population": int(test.sum()), "test_targets": int((task.target & test).sum())}
    return tasks[0], tasks[1], desc


# --------------------------------------------------------------------------- selection


def _run(task: Task, config: Mapping, *, n_splits: int, random_state: int,
         baselines: Sequence[str] = ()) -> pd.DataFrame:
    res = backtest(task, n_splits=n_splits, scorers=(config["scorer"],), baselines=tuple(baselines),
                   k=int(config["k"]), learn_weights=bool(config["learn_weights"]), random_state=random_state)
    return res.splits


def _mean_ci(values: np.ndarray) -> dict:
    from lookalike.evaluation.metrics import summarize

    return summarize(np.asarray(values, dtype=float))


def _summary_row(splits: pd.DataFrame, metrics: Sequence[str]) -> dict:
    row: dict = {"splits": int(splits["split"].nunique())}
    for m in metrics:
        if m in splits and splits[m].notna().any():
            s = _mean_ci(splits[m].dropna().to_numpy())
            row[m], row[f"{m} ci_low"], row[f"{m} ci_high"] = s["mean"], s["ci_low"], s["ci_high"]
    return row


def select_model(task: Task, grid: Mapping[str, Iterable] | Sequence[Mapping] = DEFAULT_GRID, *,
                 n_validation: int = 10, n_test: int = 20, metric: str = "precision@N", random_state: int = 0,
                 holdout: bool = True, baselines: Sequence[str] = BASELINES,
                 include_default: bool = True) -> SelectionResult:
    """Choose a configuration on validation splits, then report it on disjoint test splits.

    Steps: (1) every distinct model of ``grid`` (see :func:`expand_grid`) runs
    ``n_validation`` backtest splits with ``random_state + VALIDATION_OFFSET``, without
    baselines; (2) the configuration with the highest validation mean of ``metric`` is
    chosen (ties: the first in grid order); (3) only the chosen configuration runs
    ``n_test`` splits with ``random_state + TEST_OFFSET``, together with the baselines
    (computed once, there) and — with ``include_default`` — the product default on the same
    splits. With ``holdout`` a ``given``/``time`` task also uses disjoint population halves
    (see the module docstring). Test numbers never influence the choice.
    """
    if metric not in SELECTION_METRICS:
        raise ParameterError(f"metric {metric!r} cannot drive the selection; use one of {', '.join(SELECTION_METRICS)}")
    for name, n in (("n_validation", n_validation), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"{name} must be a positive integer, got {n!r}")
    configs = expand_grid(grid)
    rs_val, rs_test = random_state + VALIDATION_OFFSET, random_state + TEST_OFFSET
    val_task, test_task, holdout_desc = (holdout_halves(task, random_state) if holdout
                                         else (task, task, {"holdout": "none"}))

    # (1) validation: each distinct model once
    metrics = ("precision@N", "lift@N", "auc", "ap")
    cache: dict[tuple, dict] = {}
    rows = []
    for c in configs:
        key = (c["scorer"], c["effective_k"], c["learn_weights"])
        if key not in cache:
            run_cfg = {**c, "k": c["effective_k"] or c["k"]}
            cache[key] = _summary_row(_run(val_task, run_cfg, n_splits=n_validation, random_state=rs_val), metrics)
        s = cache[key]
        row = {"config": config_label(c), **c, metric: s.get(metric), "ci_low": s.get(f"{metric} ci_low"),
               "ci_high": s.get(f"{metric} ci_high")}
        row.update({m: s.get(m) for m in metrics if m != metric})
        rows.append(row)
    table = pd.DataFrame(rows)
    # (2) the choice: argmax of the validation mean (stable: first in grid order on ties)
    values = table[metric].to_numpy(dtype=float)
    if np.isnan(values).all():
        raise ParameterError(f"{metric} is undefined on every validation split; choose another metric")
    best = int(np.nanargmax(values))
    table["rank"] = table[metric].rank(ascending=False, method="min", na_option="bottom").astype(int)
    table["chosen"] = np.arange(len(table)) == best
    chosen = {key: table.loc[best, key] for key in ("scorer", "k", "learn_weights")}
    chosen = {"scorer": str(chosen["scorer"]), "k": int(chosen["k"]), "learn_weights": bool(chosen["learn_weights"])}

    # (3) test: the chosen configuration with the baselines; the default on the same splits
    test_splits = _run(test_task, chosen, n_splits=n_test, random_state=rs_test, baselines=baselines)
    test_splits["role"] = np.where(test_splits["method"] == chosen["scorer"], "chosen", "baseline")
    test_splits["config"] = np.where(test_splits["role"] == "chosen", config_label(chosen), test_splits["method"])
    parts = [test_splits]
    default_cfg = {**DEFAULT_CONFIG}
    same_as_default = (chosen["scorer"], _effective_k(chosen["scorer"], chosen["k"]), chosen["learn_weights"]) == (
        default_cfg["scorer"], _effective_k(default_cfg["scorer"], default_cfg["k"]), default_cfg["learn_weights"])
    if include_default and not same_as_default:
        # with the rule in the same run, so the default also gets precision@M (the rule rows are dropped)
        d = _run(test_task, default_cfg, n_splits=n_test, random_state=rs_test,
                 baselines=("best_rule",) if "best_rule" in baselines else ())
        d = d[d["method"] == default_cfg["scorer"]].copy()
        d["role"], d["config"] = "default", config_label(default_cfg)
        parts.append(d)
    all_test = pd.concat(parts, ignore_index=True)
    test_metrics = ("precision@N", "lift@N", "precision@M", "lift@M", "auc", "ap")
    test_rows = []
    for (role, cfg, method), g in all_test.groupby(["role", "config", "method"], sort=False):
        test_rows.append({"role": role, "config": cfg, "method": method, **_summary_row(g, test_metrics)})
    order = {"chosen": 0, "default": 1, "baseline": 2}
    test = pd.DataFrame(test_rows).sort_values("role", key=lambda s: s.map(order), kind="stable")
    test = test.reset_index(drop=True)

    comparisons = []
    mine = all_test[all_test["role"] == "chosen"].set_index("split")
    for m in dict.fromkeys((metric, "precision@N", "precision@M")):
        if m not in all_test:
            continue
        for (role, cfg), g in all_test[all_test["role"] != "chosen"].groupby(["role", "config"], sort=False):
            other = g.set_index("split")[m]
            if other.isna().all() or mine[m].isna().all():
                continue
            d = paired_difference(mine[m].to_numpy(), other.reindex(mine.index).to_numpy())
            comparisons.append({"metric": m, "chosen": config_label(chosen), "versus": cfg, "role": role, **d})

    val_seeds = tuple((rs_val, i) for i in range(n_validation))
    test_seeds = tuple((rs_test, i) for i in range(n_test))
    assert not set(val_seeds) & set(test_seeds)
    return SelectionResult(
        task=task.describe(), metric=metric, table=table, chosen=chosen,
        test=test, comparisons=pd.DataFrame(comparisons), validation_seeds=val_seeds, test_seeds=test_seeds,
        params={"n_validation": n_validation, "n_test": n_test, "random_state": random_state,
                "validation_random_state": rs_val, "test_random_state": rs_test, "grid_size": len(configs),
                "models_run": len(cache), "baselines": list(baselines),
                "n_seeds": float(test_splits["n_seeds"].mean()), **holdout_desc},
    )


# --------------------------------------------------------------------------- seed size


def seed_size_table(task: Task, sizes: Sequence[int | None] = (50, 200, 1000, None), *, n_splits: int = 10,
                    scorers: Sequence[str] = LOOKALIKE_SCORERS, k: int = 50, learn_weights: bool = True,
                    random_state: int = 0) -> pd.DataFrame:
    """Lift@N (and precision@N, AP) of each scorer and the supervised baseline by seed-set size.

    ``None`` (or ``"all"``) = every seed the split offers. Each size uses the same splits
    (same hidden targets); a smaller size keeps a random subset of that split's seeds. A
    requested size at or above the seeds available is skipped (not relabelled) and listed in
    ``DataFrame.attrs["skipped"]``. Columns: ``seed_size`` ("all" or the number), ``n_seeds``
    (mean actually used), ``seed_density`` (seeds / customers: with ``k`` neighbours a customer
    has ``k · seed_density`` seeds among them on average), ``n_target``, ``method``, then mean,
    ``ci_low`` and ``ci_high`` of
    ``lift@N`` and ``precision@N``, and the mean ``ap``.
    """
    norm = []
    for s in sizes:
        if s is None or s == "all":
            norm.append(None)
        elif isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 2:
            raise ParameterError(f"seed sizes must be integers >= 2 or None/'all', got {s!r}")
        else:
            norm.append(int(s))
    if not norm:
        raise ParameterError("sizes is empty")
    baselines = ("supervised", "random")
    runs: dict[int | None, pd.DataFrame] = {}
    full = backtest(task, n_splits=n_splits, scorers=scorers, baselines=baselines, k=k, learn_weights=learn_weights,
                    random_state=random_state).splits
    available = int(full["n_seeds"].min())
    skipped = []
    for s in dict.fromkeys(norm):
        if s is None:
            runs[None] = full
        elif s >= available:
            skipped.append(s)
        else:
            runs[s] = backtest(task, n_splits=n_splits, scorers=scorers, baselines=baselines, k=k,
                               learn_weights=learn_weights, seed_size=s, random_state=random_state).splits
    rows = []
    for s in sorted(runs, key=lambda v: np.inf if v is None else v):
        sp = runs[s]
        for method, g in sp.groupby("method", sort=False):
            lift, prec = _mean_ci(g["lift@N"].to_numpy()), _mean_ci(g["precision@N"].to_numpy())
            rows.append({"seed_size": "all" if s is None else s, "n_seeds": float(g["n_seeds"].mean()),
                         "seed_density": float(g["n_seeds"].mean()) / len(task.customers),
                         "n_target": float(g["n_target"].mean()), "method": method,
                         "lift@N": lift["mean"], "lift@N ci_low": lift["ci_low"], "lift@N ci_high": lift["ci_high"],
                         "precision@N": prec["mean"], "precision@N ci_low": prec["ci_low"],
                         "precision@N ci_high": prec["ci_high"], "ap": float(g["ap"].mean())})
    out = pd.DataFrame(rows)
    out.attrs["skipped"] = skipped
    out.attrs["available_seeds"] = available
    out.attrs["task"] = task.name
    out.attrs["n_customers"] = len(task.customers)
    out.attrs["params"] = {"n_splits": n_splits, "k": k, "learn_weights": learn_weights, "random_state": random_state}
    return out
