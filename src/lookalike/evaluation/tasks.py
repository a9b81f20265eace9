"""Evaluation tasks: which customers are seeds, which are targets, on which features.

A task is data, not code: a TOML file next to the dataset (see ``datasets/real/*/task.toml``)
or the built-in synthetic task. Every key is listed in :data:`TASK_KEYS` and documented in
``docs/evaluation.md``; a key that is not there, a column that does not exist or an expression
that selects nobody stops the load with one line that names the key and the fix
(:class:`~lookalike.errors.InputError`, exit code 3 on the command line).

Top level: ``name``, ``title``, ``file`` (relative to the TOML), ``id`` (id column; default the
row number), ``[read]`` (pandas ``read_csv`` options such as ``sep``), ``[columns]`` (derived
columns as ``DataFrame.eval`` expressions, e.g. ``total_spent = "MntWines + MntFruits"``),
``[features]`` (``numeric``, ``log``, ``categorical``, ``boolean``; ``label`` lists the columns
that define or leak the label — never features, and a spec that uses them is refused), and
``[task]``:

- ``mode = "hide"``: ``positives`` is an expression; each split hides ``hide_share`` (default
  0.3) of them at random, the rest are seeds, the hidden ones are the targets among all non-seeds.
- ``mode = "given"``: ``seeds`` and ``target`` expressions; targets are counted among non-seeds;
  each split uses a random ``seed_share`` (default 0.8) of the seeds (the others stay out of the
  ranking).
- ``mode = "time"``: rows are ordered by ``order`` (a column; default: file order); the first
  ``split_at`` share (default 0.5) is the past (``seeds`` evaluated there), the rest is the future
  population whose ``target`` customers must be found.

Optional in every mode: ``value`` (the value column of the ``spend`` baseline and of the value
candidate of ``auto``; default ``total_spent`` when the table has it) and ``seed_order`` (a
column giving the seeds' order in time — a date, or successive groups such as the first
campaign a customer accepted — which ``auto`` uses to validate forward, as ``expand
--seed-order`` does).

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

from lookalike.audience.auto import order_values
from lookalike.errors import InputError, LookalikeError
from lookalike.features import FeatureSpec, to_number
from lookalike.transactions import TransactionConfig, customers_from_transactions, parse_as_of, read_transactions

MODES = ("hide", "given", "time")

#: Every key a task TOML may hold, by section ("" = top level).
TASK_KEYS: dict[str, tuple[str, ...]] = {
    "": ("name", "title", "file", "id", "read", "columns", "features", "task", "transactions"),
    "features": ("numeric", "log", "categorical", "boolean", "label"),
    "task": ("mode", "positives", "hide_share", "seeds", "target", "seed_share", "order", "split_at", "value",
             "seed_order"),
    "transactions": ("as_of", "label_end", "top_share", "mapping"),
}
#: Keys each mode needs in ``[task]``.
MODE_KEYS = {"hide": ("positives",), "given": ("seeds", "target"), "time": ("seeds", "target")}


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
    value: str | None = None                  # value column (spend baseline, value candidate)
    seed_order: str | None = None             # column with the seeds' order in time

    def describe(self) -> dict:
        """Counts for the report."""
        d = {"name": self.name, "title": self.title, "mode": self.mode, "customers": int(len(self.customers)),
             "features": list(self.spec.columns), "label_columns_excluded": list(self.label_columns),
             "value": self.value, "seed_order": self.seed_order}
        if self.mode == "hide":
            d["positives"] = int(self.positives.sum())
            d["hide_share"] = self.hide_share
        else:
            d["seeds"] = int(self.seeds.sum())
            d["targets"] = int(self.target.sum())
            d["population"] = int(self.population.sum())
            d["seed_share"] = self.seed_share
        return d

    def seed_order_values(self) -> np.ndarray | None:
        """The ``seed_order`` column as sortable numbers (dates as nanoseconds; missing = NaN)."""
        if self.seed_order is None:
            return None
        return order_values(self.customers[self.seed_order])


class _Where:
    """Names the task file and key in every error."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str, fix: str) -> InputError:
        return InputError(f"task {self.source}: {key} {problem}; {fix}")


def _check_keys(cfg: dict, where: _Where) -> None:
    for section, allowed in TASK_KEYS.items():
        table = cfg if section == "" else cfg.get(section, {})
        label = section and f"[{section}] "
        if not isinstance(table, dict):
            raise where.fail(f"[{section}]", "is not a table", f"write it as a [{section}] section")
        for key in table:
            if key not in allowed:
                raise where.fail(f"{label}{key}", "is not a task key",
                                 f"use one of {', '.join(allowed)} (see docs/evaluation.md)")


def _eval_mask(df: pd.DataFrame, expr: object, key: str, where: _Where) -> np.ndarray:
    if not isinstance(expr, str) or not expr.strip():
        raise where.fail(key, f"must be an expression over the columns, got {expr!r}",
                         'write e.g. "y == \'yes\'"')
    try:
        out = df.eval(expr, engine="python")
    except Exception as exc:
        raise where.fail(key, f"= {expr!r} cannot be evaluated ({type(exc).__name__}: {str(exc)[:120]})",
                         f"use the data's columns ({_columns(df)}) or derive one in [columns]") from None
    mask = np.asarray(pd.Series(out).fillna(False).astype(bool))
    if mask.shape != (len(df),):
        raise where.fail(key, f"= {expr!r} does not give one true/false value per row",
                         "write a comparison such as \"Response == 1\"")
    return mask


def _columns(df: pd.DataFrame, limit: int = 15) -> str:
    cols = [str(c) for c in df.columns]
    return ", ".join(cols[:limit]) + (" ..." if len(cols) > limit else "")


def _share(t: dict, key: str, default: float, where: _Where) -> float:
    value = t.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < 1:
        raise where.fail(f"[task] {key}", f"must be a number between 0 and 1, got {value!r}",
                         f"e.g. {key} = {default}")
    return float(value)


def load_task(path: str | os.PathLike[str], *, nrows: int | None = None) -> Task:
    """Load a task TOML and its data file (every mistake: one line naming the key, :class:`InputError`)."""
    p = Path(path)
    where = _Where(str(p))
    try:
        cfg = tomllib.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read task {p}: {exc.strerror or exc}; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"task {p} is not valid TOML ({exc}); fix the syntax at that line") from None
    _check_keys(cfg, where)
    if "file" not in cfg:
        raise where.fail("file", "is missing", 'name the data file next to the TOML, e.g. file = "data.csv"')
    data_file = p.parent / str(cfg["file"])
    if not data_file.is_file():
        raise where.fail("file", f"= {cfg['file']!r} does not exist ({data_file})",
                         "give the data file's path relative to the task TOML")
    notes: list[str] = []
    if "transactions" in cfg:
        df, notes = _transactions_frame(cfg["transactions"], data_file, p)
    else:
        try:
            df = pd.read_csv(data_file, nrows=nrows, **cfg.get("read", {}))
        except TypeError as exc:
            raise where.fail("[read]", f"has an option pandas.read_csv does not take ({exc})",
                             "keep only read_csv options such as sep") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"task {p}: cannot read the data {data_file}: {str(exc)[:200]}; "
                             "check file and the [read] options (e.g. sep)") from None
        id_col = cfg.get("id")
        if id_col is not None and id_col not in df.columns:
            raise where.fail("id", f"= {id_col!r} is not a column of {data_file.name}",
                             f"use one of {_columns(df)}, or drop the key to number the rows")
        df["customer_id"] = (df[id_col].astype(str) if id_col
                             else pd.Series(np.arange(1, len(df) + 1)).astype(str).radd("R"))
    for name, expr in cfg.get("columns", {}).items():
        try:
            df[name] = df.eval(str(expr), engine="python")
        except Exception as exc:
            raise where.fail(f"[columns] {name}", f"= {expr!r} cannot be evaluated ({type(exc).__name__}: "
                             f"{str(exc)[:120]})", f"use the data's columns ({_columns(df)})") from None
    task = task_from_frame(df, cfg, source=str(p))
    task.notes.extend(notes)
    return task


def _transactions_frame(tx: dict, data_file: Path, task_path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Customer table as of the cut-off, plus ``future_spent`` / ``future_top`` from the window after it."""
    where = _Where(str(task_path))
    if "as_of" not in tx:
        raise where.fail("[transactions] as_of", "is missing", "give the cut-off date, e.g. as_of = \"2011-06-30\"")
    top_share = tx.get("top_share", 0.05)
    if isinstance(top_share, bool) or not isinstance(top_share, (int, float)) or not 0 < float(top_share) < 1:
        raise where.fail("[transactions] top_share", f"must be a number between 0 and 1, got {top_share!r}",
                         "e.g. top_share = 0.05")
    top_share = float(top_share)
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
    if in_window.empty:
        raise where.fail("[transactions] label_end", "leaves no line after the cut-off",
                         "choose an as_of before the last order date")
    threshold = float(in_window.quantile(1 - top_share))
    df = past.customers.copy()
    df["future_spent"] = window.reindex(df["customer_id"]).fillna(0.0).to_numpy()
    df["future_top"] = (df["future_spent"] >= threshold) & (df["future_spent"] > 0)
    notes = [f"features from {past.report.lines_used:,} lines up to {past.report.as_of} "
             f"({past.report.customers:,} customers); labels from the window after it up to {end.report.as_of}: "
             f"{len(in_window):,} customers active, top {top_share:.0%} spend at least {threshold:,.2f}"]
    return df, notes


def _spec(df: pd.DataFrame, feats: dict, where: _Where) -> tuple[FeatureSpec, tuple[str, ...]]:
    lists = {}
    for key in TASK_KEYS["features"]:
        value = feats.get(key, ())
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise where.fail(f"[features] {key}", f"must be a list of column names, got {value!r}",
                             f'write e.g. {key} = ["age", "income"]')
        lists[key] = tuple(value)
    label = lists["label"]
    for key in ("numeric", "categorical", "boolean"):
        leaking = [c for c in lists[key] if c in label]
        if leaking:
            raise where.fail(f"[features] {key}", f"uses {', '.join(leaking)}, which [features] label says define "
                             "the label", "remove them from the features (they would leak the answer)")
        missing = [c for c in lists[key] if c not in df.columns]
        # frequency and avg_ticket are derived by the feature pipeline when their inputs exist
        missing = [c for c in missing if not (c == "frequency" and {"total_orders", "tenure_months"} <= set(df.columns))
                   and not (c == "avg_ticket" and {"total_spent", "total_orders"} <= set(df.columns))]
        if missing:
            raise where.fail(f"[features] {key}", f"lists {', '.join(map(repr, missing))}, not a column of the data",
                             f"fix the name or derive it in [columns]; columns: {_columns(df)}")
    not_numeric = [c for c in lists["log"] if c not in lists["numeric"]]
    if not_numeric:
        raise where.fail("[features] log", f"lists {', '.join(not_numeric)}, which numeric does not",
                         "add them to numeric or remove them from log")
    used = lists["numeric"] + lists["categorical"] + lists["boolean"]
    if not used:
        raise where.fail("[features]", "lists no feature", 'give at least numeric = ["..."] or categorical = ["..."]')
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        raise where.fail("[features]", f"lists {', '.join(twice)} more than once",
                         "keep each column in one of numeric, categorical, boolean")
    spec = FeatureSpec(numeric=lists["numeric"], log=lists["log"], categorical=lists["categorical"],
                       boolean=lists["boolean"], excluded=label, groups={})
    sensitive = sorted(set(used) & set(spec.sensitive))
    if sensitive:
        raise where.fail("[features]", f"uses {', '.join(sensitive)}, a sensitive or contact column",
                         "remove it: gender, contact data and ids are never features")
    try:
        spec.validate()
    except LookalikeError as exc:  # anything validate() adds later, still one line
        raise where.fail("[features]", str(exc).split(";")[0], "fix the feature lists") from None
    return spec, label


def task_from_frame(df: pd.DataFrame, cfg: dict, *, source: str = "") -> Task:
    """Build a task from a prepared table and the parsed TOML config (errors name the key)."""
    where = _Where(source or cfg.get("name", "task"))
    _check_keys(cfg, where)
    spec, label = _spec(df, cfg.get("features", {}), where)
    t = cfg.get("task", {})
    mode = t.get("mode", "hide")
    if mode not in MODES:
        raise where.fail("[task] mode", f"= {mode!r} is not a mode", f"use one of {', '.join(MODES)}")
    for key in MODE_KEYS[mode]:
        if key not in t:
            raise where.fail(f"[task] {key}", f"is missing (mode {mode!r} needs {' and '.join(MODE_KEYS[mode])})",
                             "add the expression that selects them")
    ignored = sorted(set(t) & {"positives", "hide_share", "seeds", "target", "seed_share", "order", "split_at"}
                     - set(MODE_KEYS[mode]) - {"hide": {"hide_share"}, "given": {"seed_share"},
                                               "time": {"seed_share", "order", "split_at"}}[mode])
    if ignored:
        raise where.fail(f"[task] {ignored[0]}", f"has no meaning in mode {mode!r}",
                         "remove it or change the mode (see docs/evaluation.md)")
    df = df.reset_index(drop=True)
    value = t.get("value", "total_spent" if "total_spent" in df.columns else None)
    if value is not None and (value not in df.columns or to_number(df[value]).notna().sum() == 0):
        raise where.fail("[task] value", f"= {value!r} is not a numeric column of the data",
                         f"name a numeric column ({_columns(df)}) or derive one in [columns]")
    seed_order = t.get("seed_order")
    if seed_order is not None:
        if seed_order not in df.columns:
            raise where.fail("[task] seed_order", f"= {seed_order!r} is not a column of the data",
                             f"name a date or number column ({_columns(df)}) or derive one in [columns]")
        if np.isnan(order_values(df[seed_order])).all():
            raise where.fail("[task] seed_order", f"= {seed_order!r} holds no date or number",
                             "name a column of dates or numbers")
    common = dict(name=cfg.get("name", source), title=cfg.get("title", ""), customers=df, spec=spec, mode=mode,
                  label_columns=label, value=value, seed_order=seed_order)
    if mode == "hide":
        pos = _eval_mask(df, t["positives"], "[task] positives", where)
        _enough(pos, pos, "[task] positives", where)
        return Task(**common, positives=pos, hide_share=_share(t, "hide_share", 0.3, where))
    if mode == "given":
        seeds = _eval_mask(df, t["seeds"], "[task] seeds", where)
        target = _eval_mask(df, t["target"], "[task] target", where) & ~seeds
        _enough(seeds, target, "[task] seeds", where)
        return Task(**common, seeds=seeds, target=target, population=~seeds,
                    seed_share=_share(t, "seed_share", 0.8, where))
    if t.get("order"):
        if t["order"] not in df.columns:
            raise where.fail("[task] order", f"= {t['order']!r} is not a column of the data",
                             "name the column that orders the rows in time, or drop the key for file order")
        order = pd.Series(order_values(df[t["order"]])).rank(method="first").to_numpy() - 1
    else:
        order = np.arange(len(df))
    past = order < _share(t, "split_at", 0.5, where) * len(df)
    seeds = _eval_mask(df, t["seeds"], "[task] seeds", where) & past
    target = _eval_mask(df, t["target"], "[task] target", where) & ~past
    _enough(seeds, target, "[task] seeds", where)
    return Task(**common, seeds=seeds, target=target, population=~past,
                seed_share=_share(t, "seed_share", 0.8, where))


def _enough(seeds: np.ndarray, target: np.ndarray, key: str, where: _Where) -> None:
    """A task needs seeds (a hide task at least two positives: one to hide, one to keep) and a target."""
    need = 2 if target is seeds else 1
    if seeds.sum() < need:
        raise where.fail(key, f"selects {int(seeds.sum())} customer(s)",
                         f"a task needs at least {need}; check the expression against the data's values")
    if target is not seeds and target.sum() == 0:
        raise where.fail("[task] target", "selects no customer to find among the non-seeds",
                         "check the expression (and split_at in mode time) against the data's values")


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
