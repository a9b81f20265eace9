"""Rule baselines: the segments a marketer would write instead of a lookalike.

A lookalike has to beat what a marketer would do without it. The baselines:

- **the best rule from the seeds** (:func:`best_rule`): the rule a marketer would write for
  these seeds — thresholds on any numeric feature × any category of any categorical feature,
  at most two conditions, learned by a depth-2 decision tree of the seeds against the base
  (:func:`lookalike.audience.seed_rule.learn_seed_rule`, the same learner as ``auto``'s
  ``rule`` candidate). It is chosen on the **seed side only**: the learner gets the customer
  table and the seed mask, never the hidden positives. It prints with the dataset's own column
  names ("Contract = Month-to-month and tenure <= 12"). As a ranking its members come first,
  then the tree's next-most seed-like leaf, …, ties by value; compare it at its own size.
- **rank by value** (:func:`spend_rank_score`): the task's value column (past spend by
  default), which needs no labels at all.
- **a supervised classifier** of seeds against the rest (:func:`supervised_score`).

Rules are data: :class:`RuleSpec` holds ``{column, op, value}`` conditions joined by AND and is
evaluated with :func:`lookalike.audience.seeds.rule_mask`, the same evaluator as rule-based seed
sets, so a rule can be pasted into a TOML playbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lookalike.audience.candidates import FIT_BASE, value_percentile
from lookalike.audience.seed_rule import SeedRule, learn_seed_rule
from lookalike.audience.seeds import OPS, rule_mask
from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.evaluation.metrics import _check_y
from lookalike.features import to_number

__all__ = [
    "RuleSpec",
    "best_rule",
    "rule_score",
    "spend_rank_score",
    "supervised_score",
]


# --------------------------------------------------------------------------- RuleSpec


def _fmt(value: object) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    v = float(value)
    return f"{int(v):,}" if v.is_integer() else f"{v:,.6g}"


@dataclass(frozen=True)
class RuleSpec:
    """A rule: ``{column, op, value}`` conditions joined by AND, plus a readable description.

    Conditions are copied into a tuple of dicts (the spec cannot be changed after it is
    made; it is not hashable). An empty rule selects everybody.

    >>> r = RuleSpec(({"column": "age", "op": ">=", "value": 35}, {"column": "age", "op": "<=", "value": 54},
    ...               {"column": "region", "op": "in", "value": ["Norte", "Sur"]},
    ...               {"column": "total_spent", "op": ">=", "value": 1200}))
    >>> r.describe()
    'age 35-54 and region in {Norte, Sur} and total_spent >= 1,200'
    >>> r.mask(pd.DataFrame({"age": [40, 60], "region": ["Sur", "Sur"], "total_spent": [1500, 2000]})).tolist()
    [True, False]
    """

    conditions: tuple[dict, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        conds = []
        for cond in self.conditions:
            if not isinstance(cond, Mapping) or "column" not in cond or "op" not in cond:
                raise ParameterError(f"rule condition {cond!r} needs 'column' and 'op' (and 'value')")
            if cond["op"] not in OPS:
                raise ParameterError(f"rule operator {cond['op']!r} is not supported; use one of {' '.join(OPS)}")
            conds.append(dict(cond))
        object.__setattr__(self, "conditions", tuple(conds))

    def mask(self, customers: pd.DataFrame) -> np.ndarray:
        """Boolean array: which customers meet every condition."""
        return rule_mask(customers, self.conditions).to_numpy(dtype=bool)

    def describe(self) -> str:
        """The description if one was given, else one built from the conditions."""
        if self.description:
            return self.description
        if not self.conditions:
            return "everyone"
        parts, conds, i = [], self.conditions, 0
        while i < len(conds):
            c = conds[i]
            nxt = conds[i + 1] if i + 1 < len(conds) else None
            if (nxt is not None and c["op"] == ">=" and nxt["op"] == "<=" and nxt["column"] == c["column"]):
                parts.append(f"{c['column']} {_fmt(c['value'])}-{_fmt(nxt['value'])}")
                i += 2
                continue
            op, value = c["op"], c.get("value")
            if op in ("in", "not_in"):
                values = value if isinstance(value, (list, tuple, set)) else [value]
                word = "in" if op == "in" else "not in"
                parts.append(f"{c['column']} {word} {{{', '.join(map(str, values))}}}")
            elif op in ("top_pct", "bottom_pct"):
                parts.append(f"{c['column']} {op.split('_')[0]} {value}")
            else:
                parts.append(f"{c['column']} {op} {_fmt(value)}")
            i += 1
        return " and ".join(parts)

    def __str__(self) -> str:
        return self.describe()


# --------------------------------------------------------------------------- checks


def _check_table(customers: object) -> pd.DataFrame:
    if not isinstance(customers, pd.DataFrame):
        raise ParameterError(f"customers must be a pandas DataFrame, got {type(customers).__name__}")
    return customers


def _as_mask(mask: object, n_rows: int, name: str) -> np.ndarray:
    try:
        m = _check_y(mask).astype(bool)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("y_true", name)) from None
    if m.size != n_rows:
        raise ParameterError(f"{name} must have one value per customer: got {m.size} values for {n_rows} customers")
    return m


def _seed_and_base(customers: pd.DataFrame, seed_mask: object, base_mask: object | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    seed = _as_mask(seed_mask, len(customers), "seed_mask")
    base = ~seed if base_mask is None else _as_mask(base_mask, len(customers), "base_mask") & ~seed
    if not seed.any():
        raise ParameterError(f"seed_mask selects no customer (of {len(customers)}); at least one seed is needed")
    if not base.any():
        raise ParameterError(f"the base is empty: no non-seed customer to target ({int(seed.sum())} seeds of "
                             f"{len(customers)} customers)")
    return seed, base


# --------------------------------------------------------------------------- the best rule


def best_rule(customers: pd.DataFrame, seed_mask: object, *, numeric: Sequence[str], categorical: Sequence[str],
              base_mask: object | None = None, max_base: int = FIT_BASE, random_state: int = 0) -> SeedRule:
    """The rule a marketer could write for these seeds, chosen on the seed side only.

    A depth-2 tree of the seeds against (a sample of at most ``max_base`` of) the base — every
    non-seed, or ``base_mask`` minus the seeds — on the ``numeric`` (thresholds) and
    ``categorical`` (``column = value``) columns; see :mod:`lookalike.audience.seed_rule`. The
    function receives no hidden positives or targets, by design. ``rule.describe()`` is the
    rule, ``rule.mask(customers)`` its members, ``rule.score(customers)`` the ranking by leaf.
    """
    customers = _check_table(customers)
    seed, base = _seed_and_base(customers, seed_mask, base_mask)
    cols = [c for c in (*numeric, *categorical) if c not in customers.columns]
    if cols:
        raise MissingColumnsError(cols, customers.columns, where="best_rule")
    base_rows = np.flatnonzero(base)
    if len(base_rows) > max_base:
        base_rows = np.sort(np.random.default_rng(random_state).choice(base_rows, max_base, replace=False))
    return learn_seed_rule(customers, tuple(numeric), tuple(categorical), np.flatnonzero(seed), base_rows,
                           random_state=random_state)


# --------------------------------------------------------------------------- scores

_DEFAULT = object()


def rule_score(customers: pd.DataFrame, rule: RuleSpec | Sequence[Mapping], *,
               tie_break: str | None | object = _DEFAULT) -> np.ndarray:
    """Score a rule as a ranking: members first.

    ``1 + 0.5·r`` for customers matching the rule and ``0.5·r`` for the others, where
    ``r`` in [0, 1] is the percentile rank of ``tie_break`` (default ``total_spent``
    when present; missing values rank last; ``None`` = no tie-break, so equal scores go
    by position as in :func:`lookalike.evaluation.metrics.top_n_mask`). Members always
    rank before non-members, so **compare a rule at n = its own size**
    (``int(rule.mask(customers).sum())`` on the ranked rows): the top n is then exactly
    the rule's members, whatever the tie-break; smaller n takes the highest spenders of
    the rule, larger n adds the highest-spending non-members.

    >>> df = pd.DataFrame({"region": ["Sur", "Norte", "Norte"], "total_spent": [900, 100, 300]})
    >>> rule_score(df, [{"column": "region", "op": "in", "value": ["Norte"]}]).round(3).tolist()
    [0.5, 1.167, 1.333]
    """
    customers = _check_table(customers)
    spec = rule if isinstance(rule, RuleSpec) else RuleSpec(tuple(rule))
    member = spec.mask(customers).astype(np.float64)
    column = "total_spent" if tie_break is _DEFAULT else tie_break
    if column is None or (tie_break is _DEFAULT and column not in customers.columns):
        return member
    if column not in customers.columns:
        raise MissingColumnsError([column], customers.columns, where="rule_score tie_break")
    num = to_number(customers[column])
    pct = num.rank(method="average", pct=True).fillna(0.0).to_numpy(dtype=np.float64)
    return member + 0.5 * pct


def spend_rank_score(customers: pd.DataFrame, column: str = "total_spent") -> np.ndarray:
    """The label-free "rank by value" rule: percentile rank of ``column`` (missing last).

    The same ranking as ``auto``'s ``value`` candidate (:func:`lookalike.audience.candidates.value_percentile`).
    Equal values share a rank (ties then go by position in the metrics).

    >>> spend_rank_score(pd.DataFrame({"total_spent": [10.0, None, 30.0, 20.0]})).round(3).tolist()
    [0.333, 0.0, 1.0, 0.667]
    """
    customers = _check_table(customers)
    if column not in customers.columns:
        raise MissingColumnsError([column], customers.columns, where="spend_rank_score")
    if to_number(customers[column]).notna().sum() == 0:
        raise InputError(f"column {column!r} has no numeric value in {len(customers)} rows; rank by another column")
    return value_percentile(customers[column])


def supervised_score(X: object, seed_mask: object, *, random_state: int | None = 0) -> np.ndarray:
    """The supervised baseline: a classifier of seeds against every other row.

    A scikit-learn pipeline ``StandardScaler → LogisticRegression(class_weight="balanced",
    max_iter=1000)`` fitted on the feature matrix ``X`` (rows = customers) with the seeds
    as positives, returning ``decision_function`` for every row (higher = more seed-like;
    rank the non-seed rows with it).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    try:
        Xa = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("X must be a numeric matrix (e.g. the output of the feature pipeline)") from None
    if Xa.ndim != 2 or Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ParameterError(f"X must be a non-empty 2-D matrix (customers × features), got shape {Xa.shape}")
    if not np.isfinite(Xa).all():
        raise ParameterError(f"X has {int((~np.isfinite(Xa)).sum())} NaN or infinite value(s); impute them first")
    seed = _as_mask(seed_mask, Xa.shape[0], "seed_mask")
    n_seed = int(seed.sum())
    if n_seed == 0 or n_seed == seed.size:
        raise ParameterError(f"the supervised baseline needs seeds and non-seeds, got {n_seed} seeds of {seed.size} rows")
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000,
                                                              random_state=random_state))
    model.fit(Xa, seed.astype(np.int8))
    return model.decision_function(Xa).astype(np.float64)
