"""Rule baselines: the segments a marketer would write instead of a lookalike.

A lookalike has to beat what a marketer would do without it. Three baselines:

- **the best simple rule** (:func:`best_rule`): the grid of rules a marketer writes —
  an age band × the regions where the seeds are over-represented × a minimum average
  ticket × a minimum total spend (:func:`candidate_rules`) — and the one that best
  describes the seeds, chosen on the **seed side only**: the chooser gets the customer
  table and the seed mask, never the hidden positives, so it cannot peek at the answer.
  Score it with :func:`rule_score` and compare at the rule's own size.
- **rank by past spend** (:func:`spend_rank_score`), which needs no labels at all.
- **a supervised classifier** of seeds against the rest (:func:`supervised_score`).

Rules are data — a :class:`RuleSpec` holds ``{column, op, value}`` conditions joined by
AND and is evaluated with :func:`lookalike.audience.seeds.rule_mask`, the same evaluator
as rule-based seed sets, so a chosen rule can be pasted into a TOML playbook.

Definitions used by :func:`best_rule` (``base`` = the customers that can be targeted,
by default every non-seed):

- ``size``: base customers the rule selects;
- ``seed_coverage``: seeds the rule selects / all seeds;
- ``seed_precision``: seeds selected / (seeds selected + base customers selected), i.e.
  how seed-like the rule's members are;
- ``f1``: harmonic mean of seed precision and seed coverage.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from lookalike.audience.seeds import OPS, rule_mask
from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.evaluation.metrics import _check_y

__all__ = [
    "RuleSpec",
    "candidate_rules",
    "best_rule",
    "rule_score",
    "spend_rank_score",
    "supervised_score",
    "AGE_BANDS",
    "TICKET_QUANTILES",
    "SPEND_QUANTILES",
    "REGION_TOP",
]

AGE_BANDS: tuple[tuple[int, int], ...] = ((18, 34), (35, 54), (55, 120))
TICKET_QUANTILES: tuple[float, ...] = (0, 0.5, 0.75, 0.9)
SPEND_QUANTILES: tuple[float, ...] = (0, 0.5, 0.75, 0.9)
REGION_TOP: tuple[int, ...] = (0, 1, 2, 3)
OBJECTIVES = ("f1", "precision")


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


def _nice(x: float) -> float | int:
    """Round to two significant figures (85, 1,200, 0.46): thresholds a marketer would write."""
    if x == 0 or not math.isfinite(x):
        return x
    v = round(x, 1 - int(math.floor(math.log10(abs(x)))))
    return int(v) if float(v).is_integer() else v


def _numeric(customers: pd.DataFrame, column: str) -> pd.Series | None:
    if column not in customers.columns:
        return None
    num = pd.to_numeric(customers[column], errors="coerce")
    return None if num.notna().sum() == 0 else num.astype("float64")


# --------------------------------------------------------------------------- the grid

Option = tuple[tuple[dict, ...], "np.ndarray | None"]  # conditions, mask (None = everyone)


def _age_options(customers: pd.DataFrame, age_bands: Sequence) -> list[Option]:
    options: list[Option] = [((), None)]
    age = _numeric(customers, "age")
    if age is None:
        return options
    for band in age_bands:
        try:
            lo, hi = band
        except (TypeError, ValueError):
            raise ParameterError(f"age band {band!r} must be a (low, high) pair, e.g. (35, 54)") from None
        if lo > hi:
            raise ParameterError(f"age band {band!r} has low {lo} > high {hi}")
        conds = ({"column": "age", "op": ">=", "value": lo}, {"column": "age", "op": "<=", "value": hi})
        options.append((conds, ((age >= lo) & (age <= hi)).to_numpy(dtype=bool)))
    return options


def _region_options(customers: pd.DataFrame, seed: np.ndarray, base: np.ndarray,
                    region_top: Sequence[int]) -> list[Option]:
    for k in region_top:
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 0:
            raise ParameterError(f"region_top values must be integers >= 0 (0 = any region), got {k!r}")
    if "region" not in customers.columns:
        return [((), None)] if 0 in region_top or not region_top else []
    region = customers["region"].astype(object)
    known = region.notna().to_numpy()
    seed_counts = region[seed & known].value_counts()
    base_counts = region[base & known].value_counts()
    n_seed, n_base = max(int((seed & known).sum()), 1), max(int((base & known).sum()), 1)
    table = pd.DataFrame({"seeds": seed_counts}).join(pd.DataFrame({"base": base_counts}), how="left").fillna(0)
    with np.errstate(divide="ignore"):
        table["ratio"] = (table["seeds"] / n_seed) / (table["base"] / n_base)  # inf: seeds only
    table["name"] = table.index.map(str)
    ranked = table.sort_values(["ratio", "seeds", "name"], ascending=[False, False, True]).index.tolist()
    options: list[Option] = []
    for k in dict.fromkeys(int(k) for k in region_top):
        if k == 0:
            options.append(((), None))
        elif k <= len(ranked):
            chosen = sorted(ranked[:k], key=str)
            cond = ({"column": "region", "op": "in", "value": chosen},)
            options.append((cond, region.isin(chosen).to_numpy(dtype=bool)))
    return options


def _threshold_options(customers: pd.DataFrame, column: str, base: np.ndarray,
                       quantiles: Sequence[float]) -> list[Option]:
    for q in quantiles:
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q < 1:
            raise ParameterError(f"{column} quantiles must be in [0, 1) (0 = no minimum), got {q!r}")
    num = _numeric(customers, column)
    if num is None or num[base].notna().sum() == 0:
        return [((), None)] if 0 in quantiles or not quantiles else []
    values = num[base].dropna()
    options: list[Option] = []
    seen: set = set()
    for q in quantiles:
        t = None if q == 0 else _nice(float(values.quantile(q)))
        if t in seen:
            continue
        seen.add(t)
        if t is None:
            options.append(((), None))
        else:
            options.append((({"column": column, "op": ">=", "value": t},), (num >= t).fillna(False).to_numpy(dtype=bool)))
    return options


def _grid(customers, seed, base, age_bands, ticket_quantiles, spend_quantiles, region_top) -> list[list[Option]]:
    dims = [
        _age_options(customers, age_bands),
        _region_options(customers, seed, base, region_top),
        _threshold_options(customers, "avg_ticket", base, ticket_quantiles),
        _threshold_options(customers, "total_spent", base, spend_quantiles),
    ]
    return [d for d in dims if d]


def _rules(dims: list[list[Option]]):
    """(conditions, mask or None) for every combination; masks ANDed, never per customer."""
    for combo in itertools.product(*dims):
        conds = tuple(c for opt in combo for c in opt[0])
        masks = [m for _, m in combo if m is not None]
        yield conds, (functools.reduce(np.logical_and, masks) if masks else None)


def candidate_rules(customers: pd.DataFrame, seed_mask: object, *, base_mask: object | None = None,
                    age_bands: Sequence[tuple[int, int]] = AGE_BANDS,
                    ticket_quantiles: Sequence[float] = TICKET_QUANTILES,
                    spend_quantiles: Sequence[float] = SPEND_QUANTILES,
                    region_top: Sequence[int] = REGION_TOP) -> list[RuleSpec]:
    """The grid of simple rules a marketer would write for these seeds.

    Age band (or any age; bands are inclusive) × region set (``region_top``: 0 = any
    region, k = the k regions where seeds are most over-represented relative to the
    base) × minimum ``avg_ticket`` × minimum ``total_spent`` (at the given quantiles of
    the base, rounded to two significant figures; quantile 0 = no minimum). Thresholds
    and region choice use only the base (every non-seed, or ``base_mask`` minus the
    seeds) and the seeds — no outcome labels. A dimension whose column is missing (or
    empty) is skipped; duplicate thresholds are dropped. With the defaults on a full
    table the grid has 4 × 4 × 4 × 4 = 256 rules, the first being "everyone".

    >>> df = pd.DataFrame({"age": [30, 40, 50, 60], "total_spent": [100, 500, 900, 2000]})
    >>> [r.describe() for r in candidate_rules(df, [0, 0, 1, 1], age_bands=[(35, 54)], spend_quantiles=[0, 0.5])]
    ['everyone', 'total_spent >= 300', 'age 35-54', 'age 35-54 and total_spent >= 300']
    """
    customers = _check_table(customers)
    seed, base = _seed_and_base(customers, seed_mask, base_mask)
    dims = _grid(customers, seed, base, age_bands, ticket_quantiles, spend_quantiles, region_top)
    return [RuleSpec(conds, RuleSpec(conds).describe()) for conds in
            (tuple(c for opt in combo for c in opt[0]) for combo in itertools.product(*dims))]


def best_rule(customers: pd.DataFrame, seed_mask: object, *, min_size: int, max_size: int | None = None,
              objective: str = "f1", base_mask: object | None = None,
              age_bands: Sequence[tuple[int, int]] = AGE_BANDS,
              ticket_quantiles: Sequence[float] = TICKET_QUANTILES,
              spend_quantiles: Sequence[float] = SPEND_QUANTILES,
              region_top: Sequence[int] = REGION_TOP) -> tuple[RuleSpec, pd.DataFrame]:
    """The candidate rule that best describes the seeds, chosen on the seed side only.

    For each rule of :func:`candidate_rules`: ``size`` (base customers selected),
    ``seeds_matched``, ``seed_coverage``, ``seed_precision`` and ``f1`` (definitions in
    the module docstring). Rules whose size lies in ``[min_size, max_size]`` are
    eligible; the best by ``objective`` wins — ``"f1"`` (ties: higher seed precision)
    or ``"precision"`` (ties: higher coverage); then the smaller size, then grid order.
    The function receives no hidden positives or targets, by design.

    ``base_mask`` restricts the base (e.g. a time split's future population); seeds
    are never part of it. Returns the rule and the table of all candidates, eligible
    first and best first (columns ``rule, size, seeds_matched, seed_coverage,
    seed_precision, f1, eligible, spec``; ``spec`` holds the :class:`RuleSpec`).
    Raises :class:`ParameterError` when no rule has an eligible size.
    """
    customers = _check_table(customers)
    seed, base = _seed_and_base(customers, seed_mask, base_mask)
    n_base, n_seed = int(base.sum()), int(seed.sum())
    if isinstance(min_size, bool) or not isinstance(min_size, Integral) or not 1 <= min_size <= n_base:
        raise ParameterError(f"Expected 1 <= min_size <= base size, but min_size = {min_size!r}, base size = {n_base}")
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, Integral)
                                 or max_size < min_size):
        raise ParameterError(f"max_size must be an integer >= min_size = {min_size}, got {max_size!r}")
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    upper = n_base if max_size is None else int(max_size)

    dims = _grid(customers, seed, base, age_bands, ticket_quantiles, spend_quantiles, region_top)
    conds_list, sizes, matched = [], [], []
    for conds, m in _rules(dims):  # a few hundred rules; each a vectorized AND and two counts
        conds_list.append(conds)
        if m is None:
            sizes.append(n_base)
            matched.append(n_seed)
        else:
            sizes.append(int(np.count_nonzero(m & base)))
            matched.append(int(np.count_nonzero(m & seed)))
    size = np.asarray(sizes, dtype=np.int64)
    hit = np.asarray(matched, dtype=np.int64)
    coverage = hit / n_seed
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(hit + size > 0, hit / (hit + size), 0.0)
        f1 = np.where(precision + coverage > 0, 2 * precision * coverage / (precision + coverage), 0.0)
    eligible = (size >= min_size) & (size <= upper)
    specs = [RuleSpec(c, RuleSpec(c).describe()) for c in conds_list]
    table = pd.DataFrame({"rule": [s.description for s in specs], "size": size, "seeds_matched": hit,
                          "seed_coverage": coverage, "seed_precision": precision, "f1": f1,
                          "eligible": eligible, "spec": specs})
    first, second = ("f1", "seed_precision") if objective == "f1" else ("seed_precision", "seed_coverage")
    table = table.sort_values(["eligible", first, second, "size"], ascending=[False, False, False, True],
                              kind="stable").reset_index(drop=True)
    if not eligible.any():
        raise ParameterError(f"no candidate rule selects between {min_size} and {upper} base customers: the "
                             f"{len(specs)} rules select {int(size.min())} to {int(size.max())} of {n_base}; "
                             "change min_size/max_size or the grid")
    return table.loc[0, "spec"], table


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
    num = pd.to_numeric(customers[column], errors="coerce")
    pct = num.rank(method="average", pct=True).fillna(0.0).to_numpy(dtype=np.float64)
    return member + 0.5 * pct


def spend_rank_score(customers: pd.DataFrame, column: str = "total_spent") -> np.ndarray:
    """The label-free "rank by past spend" rule: percentile rank of ``column`` (missing last).

    Equal values share a rank (ties then go by position in the metrics).

    >>> spend_rank_score(pd.DataFrame({"total_spent": [10.0, None, 30.0, 20.0]})).round(3).tolist()
    [0.333, 0.0, 1.0, 0.667]
    """
    customers = _check_table(customers)
    if column not in customers.columns:
        raise MissingColumnsError([column], customers.columns, where="spend_rank_score")
    num = pd.to_numeric(customers[column], errors="coerce")
    if num.notna().sum() == 0:
        raise InputError(f"column {column!r} has no numeric value in {len(customers)} rows; rank by another column")
    return num.rank(method="average", pct=True).fillna(0.0).to_numpy(dtype=np.float64)


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
