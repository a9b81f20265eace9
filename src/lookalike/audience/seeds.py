"""Seed sets: where they come from, and whether they are worth expanding.

Seeds come from all VIPs (``vip_flag == 1``), a list of ids (a file or an
iterable), or a *rule*: a list of conditions ``{column, op, value}`` evaluated
with vectorized pandas (``op`` in ``== != > >= < <= in not_in top_pct bottom_pct``),
so rules are data (a TOML table), not code.

Diagnostics (:func:`diagnose_seeds`), each defined here and in ``docs/audiences.md``:

- **size / effective size**: seeds found in the table, and Kish's effective size
  ``(Σw)²/Σw²`` when seeds carry weights.
- **tightness**: median distance between two random seeds divided by the median
  distance between two random base customers (same features). Below 1 the
  seeds are more alike than customers in general; near 1 they are as spread out as
  a random sample of the base and a lookalike of them is a lookalike of everybody.
- **distinctive features**: standardised mean difference ``(μ_seeds − μ_base)/σ_base``
  of each feature (one-hot blocks: the largest category gap), largest first.
- **outliers**: seeds whose distance to their nearest other seeds is far beyond the
  other seeds' (robust z-score above 3.5 on the median absolute deviation).

Warnings: fewer than 20 seeds (too small to describe a profile), tightness above
0.85 (too heterogeneous: looks like a random sample), more than 10% outliers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike.cleaning.ids import canonical_ids
from lookalike.errors import InputError, ParameterError, ResultWarning

OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "top_pct", "bottom_pct")
MIN_SEEDS = 20
MAX_TIGHTNESS = 0.85
MAX_OUTLIER_SHARE = 0.10


#: Columns that rules may use without them being stored in the clean table.
DERIVED_RULE_COLUMNS = ("purchase_interval_days", "recency_ratio")


def with_rule_columns(customers: pd.DataFrame) -> pd.DataFrame:
    """The table plus derived rule columns.

    ``purchase_interval_days`` = 30.44 × tenure_months / total_orders, the customer's own
    typical time between purchases; ``recency_ratio`` = days_since_last_purchase /
    purchase_interval_days: above 1 the customer is later than usual (early churn risk),
    far above it they have lapsed.
    """
    out = customers.copy(deep=False)
    orders = pd.to_numeric(out.get("total_orders"), errors="coerce")
    tenure = pd.to_numeric(out.get("tenure_months"), errors="coerce")
    interval = 30.44 * tenure / orders.where(orders > 0)
    out["purchase_interval_days"] = interval
    out["recency_ratio"] = pd.to_numeric(out.get("days_since_last_purchase"), errors="coerce") / interval.where(interval > 0)
    return out


def rule_mask(customers: pd.DataFrame, conditions: Sequence[Mapping]) -> pd.Series:
    """Boolean mask of customers meeting every condition (AND).

    Rules may also use the derived columns of :func:`with_rule_columns`.

    >>> df = pd.DataFrame({"vip_score": [0.9, 0.5, 0.85], "region": ["Sur", "Sur", "Norte"]})
    >>> rule_mask(df, [{"column": "vip_score", "op": ">=", "value": 0.8},
    ...                {"column": "region", "op": "in", "value": ["Sur"]}]).tolist()
    [True, False, False]
    """
    mask = pd.Series(True, index=customers.index)
    if any(isinstance(c, Mapping) and c.get("column") in DERIVED_RULE_COLUMNS for c in conditions):
        customers = with_rule_columns(customers)
    for cond in conditions:
        try:
            col, op, value = cond["column"], cond["op"], cond.get("value")
        except (KeyError, TypeError):
            raise ParameterError(f"rule condition {cond!r} needs 'column' and 'op' (and 'value')") from None
        if col not in customers.columns:
            raise ParameterError(f"rule column {col!r} is not in the customer table; "
                                 f"available: {', '.join(map(str, customers.columns[:20]))}")
        if op not in OPS:
            raise ParameterError(f"rule operator {op!r} is not supported; use one of {' '.join(OPS)}")
        s = customers[col]
        if op in ("in", "not_in"):
            values = list(value) if isinstance(value, (list, tuple, set)) else [value]
            m = s.astype(object).isin(values)
            mask &= m if op == "in" else ~m
        elif op in ("top_pct", "bottom_pct"):
            pct = _pct(value)
            # float64: a nullable Int64 column (age) would make the mask nullable; missing is never in
            num = pd.to_numeric(s, errors="coerce").astype("float64")
            cut = num.quantile(1 - pct if op == "top_pct" else pct)
            mask &= (num >= cut) if op == "top_pct" else (num <= cut)
        else:
            ordering = op in (">", ">=", "<", "<=")
            if (ordering and (isinstance(value, bool) or not isinstance(value, (int, float)))) or not isinstance(
                    value, (str, int, float)):
                raise ParameterError(f"rule '{col} {op} {value!r}' needs a number to compare with"
                                     f"{'' if ordering else ' or a text value'}; e.g. '{col} {op} 10'")
            num = pd.to_numeric(s, errors="coerce") if not isinstance(value, str) else s.astype(object)
            cmp = {"==": num.__eq__, "!=": num.__ne__, ">": num.__gt__, ">=": num.__ge__,
                   "<": num.__lt__, "<=": num.__le__}[op](value)
            mask &= cmp.fillna(False).astype(bool)
    return mask


_RULE_CMP = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$")
_RULE_TOP = re.compile(r"^\s*([A-Za-z_][\w]*)\s+(top|bottom)\s+([\d.]+%?)\s*$", re.IGNORECASE)
_RULE_IN = re.compile(r"^\s*([A-Za-z_][\w]*)\s+(in|not in)\s+(.+?)\s*$", re.IGNORECASE)


def parse_rule(text: str) -> list[dict]:
    """Parse a rule written on one line into conditions.

    Conditions are joined by ``and``; each is ``column OP value`` (``>= <= == != > <``),
    ``column top 5%`` / ``column bottom 10%``, or ``column in A|B|C``.

    >>> parse_rule("vip_score >= 0.8 and region in Norte|Sur")
    [{'column': 'vip_score', 'op': '>=', 'value': 0.8}, {'column': 'region', 'op': 'in', 'value': ['Norte', 'Sur']}]
    >>> parse_rule("total_spent top 5%")
    [{'column': 'total_spent', 'op': 'top_pct', 'value': '5%'}]
    """
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        if m := _RULE_TOP.match(part):
            conditions.append({"column": m[1], "op": f"{m[2].lower()}_pct", "value": m[3]})
        elif m := _RULE_IN.match(part):
            op = "in" if m[2].lower() == "in" else "not_in"
            conditions.append({"column": m[1], "op": op, "value": [v.strip() for v in m[3].split("|")]})
        elif m := _RULE_CMP.match(part):
            conditions.append({"column": m[1], "op": "==" if m[2] == "=" else m[2], "value": _literal(m[3])})
        else:
            raise ParameterError(f"cannot read rule condition {part!r}; write e.g. 'vip_score >= 0.8', "
                                 "'total_spent top 5%' or 'region in Norte|Sur', joined by 'and'")
    return conditions


def _literal(text: str) -> object:
    text = text.strip().strip("'\"")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _pct(value: object) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        value = float(value.strip()[:-1]) / 100
    try:
        pct = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"percentage {value!r} must be a number like 0.05 or '5%'") from None
    if not 0 < pct <= 1:
        raise ParameterError(f"percentage {value!r} must be in (0, 100%]")
    return pct


def read_id_file(path: str | os.PathLike[str]) -> list[str]:
    """Customer ids from a file: one per line, or a CSV with a ``customer_id`` column."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read ids from {p}: the file does not exist")
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{p} has no customer ids; put one id per line or a customer_id column")
    header = [h.strip().lower() for h in lines[0].replace(";", ",").split(",")]
    if "customer_id" in header:
        col = header.index("customer_id")
        fields = [ln.replace(";", ",").split(",") for ln in lines[1:]]
        short = [i for i, f in enumerate(fields) if len(f) <= col or not f[col].strip()]
        if short:
            raise InputError(f"{p} line {short[0] + 2} has no customer_id (column {col + 1}); "
                             f"{len(short)} line(s) like it: fill in the id or remove the line")
        if not fields:
            raise InputError(f"{p} has a customer_id header but no ids; add one id per line below it")
        return [f[col].strip() for f in fields]
    return lines


def select_seeds(customers: pd.DataFrame, seeds: object) -> pd.Series:
    """Resolve a seed spec to a boolean mask over ``customers``.

    ``seeds`` is ``"vip"``, a rule (list of condition mappings), a path to an id
    file, or an iterable of ids. Ids that are not in the table raise an error that
    names them.
    """
    if isinstance(seeds, str) and seeds.lower() in ("vip", "vips"):
        if "vip_flag" not in customers.columns:
            raise InputError("seeds 'vip' need a vip_flag column; give seed ids or a rule instead")
        return pd.to_numeric(customers["vip_flag"], errors="coerce").fillna(0).eq(1)
    if isinstance(seeds, (list, tuple)) and seeds and all(isinstance(c, Mapping) for c in seeds):
        return rule_mask(customers, seeds)
    if isinstance(seeds, (str, os.PathLike)) and Path(seeds).is_file():
        seeds = read_id_file(seeds)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ParameterError("seeds must be 'vip', a rule, an id file or a list of customer ids")
    wanted = canonical_ids(seeds)
    ids = customers["customer_id"].astype(str)
    unknown = wanted.difference(pd.Index(ids))
    if len(unknown):
        from lookalike.errors import UnknownCustomerError

        raise UnknownCustomerError(list(unknown), len(customers))
    return ids.isin(wanted)


@dataclass(frozen=True)
class SeedDiagnostics:
    """Is this seed set worth expanding? (See the module docstring for definitions.)"""

    size: int
    effective_size: float
    tightness: float
    distinctive: pd.DataFrame
    outliers: list[str]
    warnings: list[ResultWarning] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """False when a warning says the seed set is too small or too heterogeneous."""
        return not any(w.code in ("too_small", "too_heterogeneous") for w in self.warnings)

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "effective_size": round(self.effective_size, 1),
            "tightness": round(self.tightness, 3),
            "distinctive": self.distinctive.head(8).round(3).to_dict(orient="records"),
            "outliers": self.outliers[:50],
            "n_outliers": len(self.outliers),
            "warnings": self.warnings,
        }


def diagnose_seeds(X: np.ndarray, seed_pos: np.ndarray, ids: np.ndarray, group_names: list[str],
                   group_idx: np.ndarray, *, seed_weight: np.ndarray | None = None,
                   random_state: int = 0, pairs: int = 20_000) -> SeedDiagnostics:
    """Diagnostics of a seed set on the feature matrix ``X``."""
    rng = np.random.default_rng(random_state)
    s = len(seed_pos)
    w = np.ones(s) if seed_weight is None else np.asarray(seed_weight, dtype=float)
    eff = float(w.sum() ** 2 / (w**2).sum()) if s else 0.0
    warnings: list[ResultWarning] = []
    if s < MIN_SEEDS:
        warnings.append(ResultWarning("too_small", f"too small: {s} seed(s); at least {MIN_SEEDS} are needed to "
                                      "describe a profile (add seeds, e.g. widen the rule)", seeds=s, minimum=MIN_SEEDS))
    if s < 2:
        return SeedDiagnostics(s, eff, float("nan"), pd.DataFrame(columns=["feature", "smd"]), [], warnings)

    def median_pair_dist(rows: np.ndarray) -> float:
        a, b = rng.choice(rows, pairs), rng.choice(rows, pairs)
        keep = a != b
        return float(np.median(np.linalg.norm(X[a[keep]] - X[b[keep]], axis=1)))

    tight = median_pair_dist(seed_pos) / (median_pair_dist(np.arange(X.shape[0])) or 1.0)
    if tight > MAX_TIGHTNESS:
        warnings.append(ResultWarning(
            "too_heterogeneous", f"too heterogeneous: seeds are {tight:.2f}× as spread out as the base "
            f"(above {MAX_TIGHTNESS}); they look like a random sample, so their lookalikes "
            "will be ordinary customers — narrow the seed set", tightness=tight, maximum=MAX_TIGHTNESS))

    mu_b = X.mean(axis=0, dtype=np.float64)
    sd_b = X.std(axis=0, dtype=np.float64)
    smd_col = np.divide(X[seed_pos].mean(axis=0, dtype=np.float64) - mu_b, sd_b, out=np.zeros_like(mu_b), where=sd_b > 1e-12)
    n_groups = len(group_names)
    # per input feature: the column with the largest gap (a one-hot block's most over/under-represented category)
    best = np.zeros(n_groups)
    for j in np.argsort(-np.abs(smd_col)):  # columns, not customers
        g = group_idx[j]
        if best[g] == 0:
            best[g] = smd_col[j]
    distinctive = pd.DataFrame({"feature": group_names, "smd": best})
    distinctive = distinctive.reindex(distinctive["smd"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    # outliers: distance to the 5th nearest other seed, robust z-score
    from lookalike.audience.scoring import nearest_seeds

    k = min(5, s - 1)
    d, _ = nearest_seeds(X, seed_pos, seed_pos, k)
    dk = d[:, -1].astype(np.float64)
    med = np.median(dk)
    mad = np.median(np.abs(dk - med)) * 1.4826 or 1e-12
    outl = seed_pos[(dk - med) / mad > 3.5]
    outliers = [str(ids[p]) for p in outl]
    if s >= MIN_SEEDS and len(outliers) > MAX_OUTLIER_SHARE * s:
        warnings.append(ResultWarning("many_outliers", f"many outliers: {len(outliers)} of {s} seeds are far from the "
                                      "other seeds; check that the seed set mixes no unrelated groups",
                                      outliers=len(outliers), seeds=s))
    return SeedDiagnostics(s, eff, tight, distinctive, outliers, warnings)
