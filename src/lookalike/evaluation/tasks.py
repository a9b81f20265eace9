"""Evaluation tasks: which customers are seeds, which are targets, on which features.

A task is data, not code: a TOML file next to the dataset (see ``datasets/real/*/task.toml``)
or the built-in synthetic task. Fields:

``name``, ``title``, ``file`` (relative to the TOML), ``[read]`` (pandas ``read_csv``
options such as ``sep``), ``id`` (id column; default the row number), ``[columns]``
(derived columns as ``DataFrame.eval`` expressions, e.g. ``total_spent = "MntWines + MntFruits"``),
``[features]`` (``numeric``, ``log``, ``categorical``, ``boolean``; ``label`` lists the columns
that define or leak the label — never features, and the harness refuses a spec that uses them),
and ``[task]``:

- ``mode = "hide"``: ``positives`` is an expression; each split hides ``hide_share`` of them at
  random, the rest are seeds, the hidden ones are the targets among all non-seeds.
- ``mode = "given"``: ``seeds`` and ``target`` expressions; targets are counted among non-seeds;
  each split uses a random ``seed_share`` of the seeds (the others stay out of the ranking).
- ``mode = "time"``: rows are ordered by ``order`` (default: file order); the first ``split_at``
  share is the past (``seeds`` evaluated there), the rest is the future population whose
  ``target`` customers must be found.

A task whose data is a transaction log (order lines) has a ``[transactions]`` section:
``as_of`` (the cut-off: the customer table is built from lines up to that date only, with
:func:`lookalike.transactions.customers_from_transactions`), optionally ``label_end`` (end of
the future window, default the last line), ``top_share`` (default 0.05) and ``mapping`` (a
transaction mapping TOML, relative to the task file). It adds two label columns, computed
from the lines in (``as_of``, ``label_end``] only: ``future_spent`` (net spend in the window,
0 for a customer who bought nothing) and ``future_top`` (the customer's window spend is in
the top ``top_share`` of every customer active in the window, new customers included). Only
customers known at the cut-off are in the table: newcomers cannot be ranked.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike.errors import InputError, ParameterError
from lookalike.features import FeatureSpec

MODES = ("hide", "given", "time")


@dataclass(frozen=True)
class Task:
    """A ready evaluation task: a customer table, a feature spec and the label masks."""

    name: str
    title: str
    customers: pd.DataFrame
    spec: FeatureSpec
    mode: str
    positives: np.ndarray | None = None       # mode hide
    seeds: np.ndarray | None = None           # modes given/time
    target: np.ndarray | None = None          # modes given/time
    population: np.ndarray | None = None      # rows that can be ranked (time: the future)
    hide_share: float = 0.3
    seed_share: float = 0.8
    label_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        """Counts for the report."""
        d = {"name": self.name, "title": self.title, "mode": self.mode, "customers": int(len(self.customers)),
             "features": list(self.spec.columns), "label_columns_excluded": list(self.label_columns)}
        if self.mode == "hide":
            d["positives"] = int(self.positives.sum())
            d["hide_share"] = self.hide_share
        else:
            d["seeds"] = int(self.seeds.sum())
            d["targets"] = int(self.target.sum())
            d["population"] = int(self.population.sum())
        return d


def _eval_mask(df: pd.DataFrame, expr: str, what: str) -> np.ndarray:
    try:
        out = df.eval(expr, engine="python")
    except Exception as exc:
        raise InputError(f"cannot evaluate {what} expression {expr!r}: {exc}") from None
    return np.asarray(pd.Series(out).fillna(False).astype(bool))


def load_task(path: str | os.PathLike[str], *, nrows: int | None = None) -> Task:
    """Load a task TOML and its data file."""
    p = Path(path)
    try:
        cfg = tomllib.loads(p.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read task {p}: {exc}") from None
    data_file = p.parent / cfg["file"]
    notes: list[str] = []
    if "transactions" in cfg:
        df, notes = _transactions_frame(cfg["transactions"], data_file, p)
    else:
        try:
            df = pd.read_csv(data_file, nrows=nrows, **cfg.get("read", {}))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the task's data {data_file}: {exc}") from None
        id_col = cfg.get("id")
        df["customer_id"] = (df[id_col].astype(str) if id_col
                             else pd.Series(np.arange(1, len(df) + 1)).astype(str).radd("R"))
    for name, expr in cfg.get("columns", {}).items():
        try:
            df[name] = df.eval(expr, engine="python")
        except Exception as exc:
            raise InputError(f"task {p}: cannot derive column {name!r} = {expr!r}: {exc}") from None
    task = task_from_frame(df, cfg, source=str(p))
    task.notes.extend(notes)
    return task


def _transactions_frame(tx: dict, data_file: Path, task_path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Customer table as of the cut-off, plus ``future_spent`` / ``future_top`` from the window after it."""
    from lookalike.transactions import (
        TransactionConfig,
        customers_from_transactions,
        parse_as_of,
        read_transactions,
    )

    if "as_of" not in tx:
        raise InputError(f"task {task_path}: [transactions] needs as_of (the cut-off date, e.g. 2011-06-30)")
    top_share = float(tx.get("top_share", 0.05))
    if not 0 < top_share < 1:
        raise ParameterError(f"task {task_path}: top_share must be between 0 and 1, got {top_share}")
    config = TransactionConfig.load(task_path.parent / tx["mapping"] if tx.get("mapping") else None)
    lines = read_transactions(data_file, config=config)
    past = customers_from_transactions(lines, as_of=tx["as_of"], config=config)
    end = customers_from_transactions(lines, as_of=tx.get("label_end"), config=config)
    # net spend of the window = spend up to its end minus spend up to the cut-off (same line rules)
    total_end = end.customers.set_index("customer_id")["total_spent"]
    total_past = past.customers.set_index("customer_id")["total_spent"].reindex(total_end.index, fill_value=0.0)
    window = total_end - total_past
    cutoff, _ = parse_as_of(tx["as_of"])
    bought = end.customers.set_index("customer_id")["last_purchase"] > cutoff
    in_window = window[bought | (window != 0)]   # bought in the window, or returned something in it
    threshold = float(in_window.quantile(1 - top_share))
    df = past.customers.copy()
    df["future_spent"] = window.reindex(df["customer_id"]).fillna(0.0).to_numpy()
    df["future_top"] = (df["future_spent"] >= threshold) & (df["future_spent"] > 0)
    notes = [f"features from {past.report.lines_used:,} lines up to {past.report.as_of} "
             f"({past.report.customers:,} customers); labels from the window after it up to {end.report.as_of}: "
             f"{len(in_window):,} customers active, top {top_share:.0%} spend at least {threshold:,.2f}"]
    return df, notes


def task_from_frame(df: pd.DataFrame, cfg: dict, *, source: str = "") -> Task:
    """Build a task from a prepared table and the parsed TOML config."""
    feats = cfg.get("features", {})
    label = tuple(feats.get("label", ()))
    spec = FeatureSpec(
        numeric=tuple(feats.get("numeric", ())), log=tuple(feats.get("log", ())),
        categorical=tuple(feats.get("categorical", ())), boolean=tuple(feats.get("boolean", ())),
        excluded=label, groups={},
    )
    spec.validate()  # refuses label columns used as features
    leaking = sorted(set(spec.columns) & set(label))
    if leaking:
        raise ParameterError(f"feature(s) {', '.join(leaking)} define the label; remove them from the features")
    t = cfg.get("task", {})
    mode = t.get("mode", "hide")
    if mode not in MODES:
        raise ParameterError(f"task mode {mode!r} is not one of {', '.join(MODES)}")
    common = dict(name=cfg.get("name", source), title=cfg.get("title", ""), customers=df.reset_index(drop=True),
                  spec=spec, mode=mode, label_columns=label)
    df = common["customers"]
    if mode == "hide":
        pos = _eval_mask(df, t["positives"], "positives")
        return Task(**common, positives=pos, hide_share=float(t.get("hide_share", 0.3)))
    if mode == "given":
        seeds = _eval_mask(df, t["seeds"], "seeds")
        target = _eval_mask(df, t["target"], "target") & ~seeds
        return Task(**common, seeds=seeds, target=target, population=~seeds,
                    seed_share=float(t.get("seed_share", 0.8)))
    order = df[t["order"]].rank(method="first").to_numpy() - 1 if t.get("order") else np.arange(len(df))
    past = order < float(t.get("split_at", 0.5)) * len(df)
    seeds = _eval_mask(df, t["seeds"], "seeds") & past
    target = _eval_mask(df, t["target"], "target") & ~past
    return Task(**common, seeds=seeds, target=target, population=~past, seed_share=float(t.get("seed_share", 0.8)))


def synthetic_task(customers: pd.DataFrame, truth: pd.DataFrame | None = None) -> Task:
    """VIP tasks on generated data: hide VIPs (no truth), or VIPs as seeds → VIP-like targets (truth)."""
    spec = FeatureSpec.default()
    if truth is None:
        cfg = {"name": "synthetic-vip-hide", "title": "Find hidden VIPs from the other VIPs",
               "task": {"mode": "hide", "positives": "vip_flag == 1"}}
    else:
        customers = customers.merge(truth[["customer_id", "vip_like"]], on="customer_id", how="left")
        cfg = {"name": "synthetic-vip-like", "title": "Find the unflagged VIP-like customers from the VIPs",
               "task": {"mode": "given", "seeds": "vip_flag == 1", "target": "vip_like == True", "seed_share": 0.8}}
    cfg["features"] = {"numeric": list(spec.numeric), "log": list(spec.log), "categorical": list(spec.categorical),
                       "boolean": list(spec.boolean), "label": ["vip_flag", "vip_score", "vip_like"]}
    return task_from_frame(customers, cfg, source="synthetic")
