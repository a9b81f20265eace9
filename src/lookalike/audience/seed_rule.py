"""The rule a marketer would write for these seeds, learned from the seeds only.

A depth-2 decision tree (scikit-learn ``DecisionTreeClassifier``, class-balanced) of the seeds
against a sample of the base, on the table's own columns: every numeric and boolean feature
(thresholds) and every category of every categorical feature (``column = value``). Its leaves
are rules of at most two conditions — "tenure_months <= 12.5 and Contract = Month-to-month" —
ranked by how seed-like their customers are; the first leaf is *the* rule.

It is both the ``best_rule`` baseline of the backtest (chosen on the seed side only: the learner
never sees a target) and the ``rule`` candidate of ``auto`` (the leaves as a ranking). Thresholds
are the roundest number that splits the fitting sample the same way (``total_spent > 1,200``,
not ``> 1,187.235``). Missing numeric values count as the column's median and missing
categories as ``Unknown``, as in the feature pipeline.

>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"tenure": rng.integers(1, 72, 2000), "plan": rng.choice(["month", "year"], 2000)})
>>> seeds = np.flatnonzero((df.tenure < 12) & (df.plan == "month"))[:80]
>>> rule = learn_seed_rule(df, ("tenure",), ("plan",), seeds, np.setdiff1d(np.arange(2000), seeds))
>>> rule.describe()
'plan = month and tenure <= 11'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from lookalike.errors import ParameterError
from lookalike.features import to_number

#: Categories per categorical column offered to the tree (the most frequent in the fitting sample).
MAX_CATEGORIES = 30
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Leaf:
    """One leaf of the tree as a rule: its conditions and how seed-like its customers are."""

    conditions: tuple[dict, ...]
    seed_share: float     # class-balanced share of seeds in the leaf (0.5 = like the base)
    seeds: int            # seeds of the fitting sample in the leaf
    base: int             # base customers of the fitting sample in the leaf

    def describe(self) -> str:
        return " and ".join(_describe(c) for c in self.conditions) or "everyone"


@dataclass(frozen=True)
class SeedRule:
    """A learned rule: leaves best first; ``conditions`` and ``describe`` are the first leaf's."""

    leaves: tuple[Leaf, ...]
    medians: dict

    @property
    def conditions(self) -> tuple[dict, ...]:
        return self.leaves[0].conditions

    def describe(self) -> str:
        """The rule in the dataset's own column names, e.g. ``plan = month and tenure <= 12``."""
        return self.leaves[0].describe()

    def leaf_of(self, customers: pd.DataFrame) -> np.ndarray:
        """Index of each customer's leaf in :attr:`leaves` (vectorized over the table)."""
        out = np.full(len(customers), -1, dtype=np.int64)
        cache: dict[str, np.ndarray] = {}
        for i, leaf in enumerate(self.leaves):
            m = np.ones(len(customers), dtype=bool)
            for cond in leaf.conditions:
                m &= _condition_mask(customers, cond, self.medians, cache)
            out[m & (out < 0)] = i
        return out

    def mask(self, customers: pd.DataFrame) -> np.ndarray:
        """Customers the rule (the first leaf) selects."""
        return self.leaf_of(customers) == 0

    def score(self, customers: pd.DataFrame) -> np.ndarray:
        """Each customer's leaf ``seed_share``: the rule's members first, then the next leaf's, …"""
        shares = np.array([leaf.seed_share for leaf in self.leaves] + [0.0])
        return shares[self.leaf_of(customers)]

    def to_dict(self) -> dict:
        return {"rule": self.describe(), "leaves": [{"rule": leaf.describe(), "seed_share": round(leaf.seed_share, 4),
                                                     "seeds": leaf.seeds, "base": leaf.base} for leaf in self.leaves]}


def _describe(cond: dict) -> str:
    op, value = cond["op"], cond["value"]
    if op == "==" and isinstance(value, str):
        return f"{cond['column']} = {value}"
    if op == "!=" and isinstance(value, str):
        return f"{cond['column']} ≠ {value}"
    return f"{cond['column']} {op} {_fmt(value)}"


def _fmt(v: float) -> str:
    if isinstance(v, str):
        return v
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.6g}"


def _numeric(customers: pd.DataFrame, column: str) -> np.ndarray:
    return to_number(customers[column]).astype("float64").to_numpy()


def _text(customers: pd.DataFrame, column: str) -> np.ndarray:
    s = customers[column]
    return s.astype(object).where(s.notna(), UNKNOWN).astype(str).to_numpy(dtype=object)


def _condition_mask(customers: pd.DataFrame, cond: dict, medians: dict, cache: dict) -> np.ndarray:
    col, op, value = cond["column"], cond["op"], cond["value"]
    if isinstance(value, str):
        if col not in cache:
            cache[col] = _text(customers, col)
        eq = cache[col] == value
        return eq if op == "==" else ~eq
    if col not in cache:
        v = _numeric(customers, col)
        cache[col] = np.where(np.isnan(v), medians.get(col, 0.0), v)
    x = cache[col]
    return x <= value if op == "<=" else x > value


def _round_between(lo: float, hi: float) -> float:
    """The roundest number r with lo <= r < hi (same split of the fitting sample as any in between)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return lo
    mid = (lo + hi) / 2
    for digits in range(1, 16):
        scale = 10 ** (digits - 1 - math.floor(math.log10(abs(mid)))) if mid else 1.0
        for r in (math.floor(mid * scale) / scale, math.ceil(mid * scale) / scale, round(mid * scale) / scale):
            if lo <= r < hi:
                return float(int(r)) if float(r).is_integer() else float(r)
    return lo


def learn_seed_rule(customers: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                    seed_rows: np.ndarray, base_rows: np.ndarray, *, max_depth: int = 2,
                    min_leaf_share: float = 0.01, random_state: int = 0) -> SeedRule:
    """Fit the depth-``max_depth`` tree of ``seed_rows`` against ``base_rows`` and read its leaves as rules.

    ``numeric`` lists numeric and boolean columns (thresholds), ``categorical`` the columns whose
    values become ``column = value`` conditions. Leaves hold at least ``min_leaf_share`` of the
    fitting rows (and 20). Only the seeds and the base sample are seen: never a target.
    """
    seed_rows, base_rows = np.asarray(seed_rows), np.asarray(base_rows)
    if len(seed_rows) == 0 or len(base_rows) == 0:
        raise ParameterError("a seed rule needs seeds and base customers to tell apart")
    rows = np.concatenate([seed_rows, base_rows])
    fit = customers.iloc[rows]
    cols, names, medians = [], [], {}
    for c in numeric:
        v = _numeric(fit, c)
        med = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
        medians[c] = med
        cols.append(np.where(np.isnan(v), med, v))
        names.append((c, None))
    for c in categorical:
        t = _text(fit, c)
        values, counts = np.unique(t, return_counts=True)
        for v in values[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]:
            cols.append((t == v).astype(np.float64))
            names.append((c, str(v)))
    if not cols:
        raise ParameterError("a seed rule needs at least one numeric or categorical column")
    R = np.column_stack(cols)
    y = np.r_[np.ones(len(seed_rows)), np.zeros(len(base_rows))]
    tree = DecisionTreeClassifier(max_depth=max_depth, class_weight="balanced", random_state=random_state,
                                  min_samples_leaf=max(20, int(min_leaf_share * len(rows))))
    tree.fit(R, y)
    t = tree.tree_
    leaves: list[Leaf] = []

    def walk(node: int, conds: tuple[dict, ...], mask: np.ndarray) -> None:
        if t.children_left[node] < 0:
            n_seed, n_base = int(mask[: len(seed_rows)].sum()), int(mask[len(seed_rows):].sum())
            # class-balanced share: seeds and base weigh the same in total
            ws, wb = n_seed / len(seed_rows), n_base / len(base_rows)
            leaves.append(Leaf(conds, ws / (ws + wb) if ws + wb else 0.0, n_seed, n_base))
            return
        j, thr = int(t.feature[node]), float(t.threshold[node])
        col, cat = names[j]
        x = R[:, j]
        left = x <= thr
        if cat is not None:  # one-hot: left = not this category
            lc, rc = {"column": col, "op": "!=", "value": cat}, {"column": col, "op": "==", "value": cat}
        else:
            below, above = x[mask & left], x[mask & ~left]
            lo = float(below.max()) if below.size else thr
            hi = float(above.min()) if above.size else thr
            cut = _round_between(lo, hi) if below.size and above.size else thr
            lc, rc = {"column": col, "op": "<=", "value": cut}, {"column": col, "op": ">", "value": cut}
        walk(int(t.children_left[node]), _merge(conds, lc), mask & left)
        walk(int(t.children_right[node]), _merge(conds, rc), mask & ~left)

    walk(0, (), np.ones(len(rows), dtype=bool))
    leaves.sort(key=lambda leaf: (-leaf.seed_share, -leaf.seeds))
    return SeedRule(tuple(leaves), medians)


def _merge(conds: tuple[dict, ...], new: dict) -> tuple[dict, ...]:
    """Add a condition; a second threshold on the same column and side keeps the tighter one."""
    out = []
    for c in conds:
        if c["column"] == new["column"] and c["op"] == new["op"] and new["op"] in ("<=", ">"):
            continue
        out.append(c)
    out.append(new)
    # categories first, then thresholds: reads like a marketer's rule
    return tuple(sorted(out, key=lambda c: (not isinstance(c["value"], str), c["column"])))
