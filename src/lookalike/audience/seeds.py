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
from lookalike.config import ColumnMapping, normalize_name
from lookalike.errors import EmptyDataError, InputError, ParameterError, ResultWarning, UnknownCustomerError
from lookalike.io import read_csv, unescape_formula
from lookalike.features import to_number

OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "top_pct", "bottom_pct")
MIN_SEEDS = 20
MAX_TIGHTNESS = 0.85
MAX_OUTLIER_SHARE = 0.10
#: A seed is an outlier when its distance to its 5th nearest other seed is this many robust z above the median.
OUTLIER_Z = 3.5
#: Above this many seed pairs (about 20,000 seeds: 0.6 s of exact search on one core at 31 features; 60,000
#: seeds take 5.5 s), the outliers' distances come from an IVF over the seeds and the flagged seeds are re-measured exactly.
EXACT_OUTLIER_PAIRS = 400_000_000


#: Columns that rules may use without them being stored in the clean table.
DERIVED_RULE_COLUMNS = ("purchase_interval_days", "recency_ratio", "category_high_ticket", "ticket_gap")
#: ``category_high_ticket`` is this quantile of the average ticket within each favourite category.
HIGH_TICKET_QUANTILE = 0.8


def with_rule_columns(customers: pd.DataFrame) -> pd.DataFrame:
    """The table plus derived rule columns.

    ``purchase_interval_days`` = 30.44 × tenure_months / total_orders, the customer's own
    typical time between purchases; ``recency_ratio`` = days_since_last_purchase /
    purchase_interval_days: above 1 the customer is later than usual (early churn risk),
    far above it they have lapsed. ``category_high_ticket``: the average ticket of the top 20% of
    the customer's favourite category (its 80th percentile, :data:`HIGH_TICKET_QUANTILE`);
    ``ticket_gap`` = category_high_ticket − avg_ticket: above 0 the customer buys below the high
    ticket of their own category (upsell room), at or below 0 they are one of its high-ticket buyers.

    >>> df = pd.DataFrame({"fav_category": ["A"] * 5 + ["B"] * 5, "avg_ticket": [10, 20, 30, 40, 50] * 2,
    ...                    "total_orders": [1] * 10, "tenure_months": [12] * 10})
    >>> with_rule_columns(df)["ticket_gap"].tolist()[:5]
    [32.0, 22.0, 12.0, 2.0, -8.0]
    """
    out = customers.copy(deep=False)
    orders = to_number(out.get("total_orders"))
    tenure = to_number(out.get("tenure_months"))
    interval = 30.44 * tenure / orders.where(orders > 0)
    out["purchase_interval_days"] = interval
    out["recency_ratio"] = to_number(out.get("days_since_last_purchase")) / interval.where(interval > 0)
    if "avg_ticket" in out or "total_spent" in out:
        ticket = (to_number(out["avg_ticket"]) if "avg_ticket" in out
                  else to_number(out["total_spent"]) / orders.where(orders > 0)).astype("float64")
        group = out["fav_category"].astype(str) if "fav_category" in out else pd.Series("", index=out.index)
        high = ticket.groupby(group.to_numpy()).quantile(HIGH_TICKET_QUANTILE)  # one value per category
        out["category_high_ticket"] = group.map(high).astype("float64").to_numpy()
        out["ticket_gap"] = out["category_high_ticket"] - ticket
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
            num = to_number(s).astype("float64")
            cut = num.quantile(1 - pct if op == "top_pct" else pct)
            mask &= (num >= cut) if op == "top_pct" else (num <= cut)
        else:
            ordering = op in (">", ">=", "<", "<=")
            if (ordering and (isinstance(value, bool) or not isinstance(value, (int, float)))) or not isinstance(
                    value, (str, int, float)):
                raise ParameterError(f"rule '{col} {op} {value!r}' needs a number to compare with"
                                     f"{'' if ordering else ' or a text value'}; e.g. '{col} {op} 10'")
            num = to_number(s) if not isinstance(value, str) else s.astype(object)
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
    ``column top 5%`` / ``column bottom 10%``, or ``column in A|B|C`` (also written as a list:
    ``('A', 'B')``, ``[A, B]``; quoted values stay text, unquoted numbers become numbers).

    >>> parse_rule("vip_score >= 0.8 and region in Norte|Sur")
    [{'column': 'vip_score', 'op': '>=', 'value': 0.8}, {'column': 'region', 'op': 'in', 'value': ['Norte', 'Sur']}]
    >>> parse_rule("region in ('Norte', 'Sur') and vip_flag in [1]")[0]["value"], parse_rule("vip_flag in [1]")[0]["value"]
    (['Norte', 'Sur'], [1])
    >>> parse_rule("total_spent top 5%")
    [{'column': 'total_spent', 'op': 'top_pct', 'value': '5%'}]
    """
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        if m := _RULE_TOP.match(part):
            conditions.append({"column": m[1], "op": f"{m[2].lower()}_pct", "value": m[3]})
        elif m := _RULE_IN.match(part):
            op = "in" if m[2].lower() == "in" else "not_in"
            conditions.append({"column": m[1], "op": op, "value": _list(m[3])})
        elif m := _RULE_CMP.match(part):
            conditions.append({"column": m[1], "op": "==" if m[2] == "=" else m[2], "value": _literal(m[3])})
        else:
            raise ParameterError(f"cannot read rule condition {part!r}; write e.g. 'vip_score >= 0.8', "
                                 "'total_spent top 5%' or 'region in Norte|Sur', joined by 'and'")
    return conditions


_LIST_ITEM = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)"|([^|,]+))\s*""")


def _list(text: str) -> list:
    """``A|B``, ``A, B``, ``('A', 'B')`` or ``["A", "B"]`` as values (quoted: text; else :func:`_literal`)."""
    inner = text.strip()
    if len(inner) >= 2 and inner[0] in "([{" and inner[-1] in ")]}":
        inner = inner[1:-1]
    values: list = []
    for single, double, bare in _LIST_ITEM.findall(inner):
        if single or double:
            values.append(single or double)
        elif bare.strip():
            values.append(_literal(bare))
    return values


def rule_literal_warnings(customers: pd.DataFrame, conditions: object) -> list[ResultWarning]:
    """Warnings for text values of a rule (``==``, ``!=``, ``in``, ``not in``) that no customer has.

    A rule such as ``region in ('Nrte', 'Sur')`` would otherwise quietly match fewer customers, or
    none; the warning names the values the column has.

    >>> df = pd.DataFrame({"region": ["Norte", "Sur"]})
    >>> print(rule_literal_warnings(df, parse_rule("region in Nrte|Sur"))[0])
    rule 'region in ...': 'Nrte' is not a value of region, so it matches no customer; region has: Norte, Sur
    """
    if not (isinstance(conditions, (list, tuple)) and conditions and all(isinstance(c, Mapping) for c in conditions)):
        return []
    out = []
    for cond in conditions:
        col, op, value = cond.get("column"), cond.get("op"), cond.get("value")
        if op not in ("==", "!=", "in", "not_in") or col not in customers.columns:
            continue
        texts = [v for v in (value if isinstance(value, (list, tuple, set)) else [value]) if isinstance(v, str)]
        s = customers[col]
        if not texts or pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        present = pd.Index(s.dropna().astype(str).unique())
        absent = [v for v in texts if v not in present]
        if absent:
            shown = sorted(present.tolist())
            have = ", ".join(shown[:15]) + (f" … ({len(shown)} values)" if len(shown) > 15 else "")
            out.append(ResultWarning(
                "rule_value_not_found", f"rule '{col} {op.replace('_', ' ')} ...': "
                f"{', '.join(repr(v) for v in absent)} {'is' if len(absent) == 1 else 'are'} not a value of {col}, "
                f"so it matches no customer; {col} has: {have or 'no values'}", column=col, values=absent))
    return out


#: Quantiles a condition builder offers as typical values of a numeric column.
RULE_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: A text column with more distinct values than this is not offered as a rule column (free text, ids).
MAX_RULE_CATEGORIES = 50


@dataclass(frozen=True)
class RuleColumn:
    """A column a rule may use, described for a point-and-click condition builder.

    ``kind`` is ``number`` (ordered values: compare, top/bottom %), ``category`` (values to pick
    from, most frequent first, with their counts) or ``flag`` (0/1, true/false). ``quantiles`` maps
    each share of :data:`RULE_QUANTILES` to the column's value there.
    """

    name: str
    kind: str
    values: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    quantiles: tuple[tuple[float, float], ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "values": list(self.values), "counts": list(self.counts),
                "quantiles": [list(q) for q in self.quantiles], "minimum": self.minimum, "maximum": self.maximum}


def rule_columns(customers: pd.DataFrame, exclude: Iterable[str] = ()) -> list[RuleColumn]:
    """The columns of a customer table a rule can use (derived ones included), from the data itself:
    categories with their counts, numeric quantiles and range. ``exclude``: columns never offered
    (personal and sensitive data: a rule on them would target people by who they are).

    >>> df = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "region": ["Sur", "Sur", "Norte"],
    ...                    "total_spent": [10.0, 20.0, 30.0], "vip_flag": [0, 1, 0]})
    >>> [(c.name, c.kind) for c in rule_columns(df)][:3]
    [('region', 'category'), ('total_spent', 'number'), ('vip_flag', 'flag')]
    >>> rule_columns(df)[0].values, rule_columns(df)[0].counts
    (('Sur', 'Norte'), (2, 1))
    """
    skip = {"customer_id", "notes", *exclude}
    table = with_rule_columns(customers) if {"total_orders", "tenure_months"} <= set(customers.columns) else customers
    out = []
    for col in table.columns:  # columns, not customers
        if col in skip or str(col).startswith("consent_"):
            continue
        s = table[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out.append(RuleColumn(str(col), "flag"))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            num = to_number(s).astype("float64").dropna()
            if num.empty:
                continue
            if num.isin([0.0, 1.0]).all():
                out.append(RuleColumn(str(col), "flag"))
                continue
            q = num.quantile(list(RULE_QUANTILES)).to_numpy()
            out.append(RuleColumn(str(col), "number", quantiles=tuple((float(a), float(b)) for a, b in
                                                                      zip(RULE_QUANTILES, q)),
                                  minimum=float(num.min()), maximum=float(num.max())))
        elif isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            counts = s.dropna().astype(str).value_counts()
            if 0 < len(counts) <= MAX_RULE_CATEGORIES:
                out.append(RuleColumn(str(col), "category", tuple(counts.index), tuple(int(c) for c in counts)))
    return out


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


#: Column names (besides customer_id's aliases in columns.toml) that hold customer ids in an id file:
#: Meta's ``extern_id`` column of a Lookalike export.
EXTRA_ID_COLUMNS = ("extern_id", "external_id")
#: Below this share of listed ids found among the customers, an id list is reported (``check_id_list``).
MIN_ID_MATCH = 0.5


def read_id_file(path: str | os.PathLike[str]) -> list[str]:
    """Customer ids from a file: one per line, or a CSV whose id column is named.

    Read with the CSV reader (:func:`lookalike.io.read_csv`: encoding, delimiter, quotes). When the
    first row names columns (any name of ``columns.toml``), the ids are the column named
    ``customer_id`` or one of its aliases (``id``, ``Id Cliente`` ...) or ``extern_id``; a header
    without such a column is refused. Otherwise every row is an id, from the first column. Cells
    escaped against spreadsheet formulas by Lookalike (``'-C1``) are read back as written (``-C1``),
    so an audience or export file of Lookalike is itself an id list.

    >>> import tempfile, os
    >>> from lookalike.io import write_text
    >>> p = write_text(os.path.join(tempfile.mkdtemp(), "ids.csv"), '"email","customer_id"\\n"a@x.es","C1"\\n"b@x.es","\\'-C2"\\n')
    >>> read_id_file(p)
    ['C1', '-C2']
    """

    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read ids from {p}: the file does not exist")
    empty = f"{p} has no customer ids; put one id per line or a customer_id column"
    try:
        df, _ = read_csv(p, dtype=str, na="blank", what="the id list", header=False)
    except EmptyDataError:
        raise InputError(empty) from None
    df = df.apply(lambda col: unescape_formula(col.str.strip()))
    names = ColumnMapping.load().lookup()
    first = [normalize_name(v) if isinstance(v, str) else "" for v in df.iloc[0]] if len(df) else []
    if any(n in names or n in EXTRA_ID_COLUMNS for n in first):  # a header row
        cols = [j for j, n in enumerate(first) if names.get(n) == "customer_id" or n in EXTRA_ID_COLUMNS]
        if not cols:
            raise InputError(f"{p} has a header ({', '.join(map(str, df.iloc[0].dropna()))[:200]}) but no customer "
                             "id column; name the column customer_id (or id)")
        col = cols[0]
        ids = df.iloc[1:, col]
        short = np.flatnonzero(ids.isna().to_numpy() | ids.eq("").to_numpy(dtype=bool, na_value=True))
        if len(ids) and len(short):
            raise InputError(f"{p} line {short[0] + 2} has no customer_id (column {col + 1}); "
                             f"{len(short)} line(s) like it: fill in the id or remove the line")
        if not len(ids):
            raise InputError(f"{p} has a customer_id header but no ids; add one id per line below it")
    else:
        ids = df.iloc[:, 0] if df.shape[1] else pd.Series([], dtype=object)
        ids = ids[ids.notna() & ids.ne("")]
    if not len(ids):
        raise InputError(empty)
    return ids.astype(str).tolist()


def check_id_list(listed: Iterable[str], known: Iterable[str], *, what: str, strict: bool = False,
                  known_canonical: bool = False) -> ResultWarning | None:
    """How many ids of a list (suppression, exclusion) are customers; a warning when few or none are.

    Ids are compared by the cleaner's rule (trimmed, upper-cased); ``known_canonical``: ``known`` is
    already canonical (a clean table's ids), which saves normalising a large table again. Below :data:`MIN_ID_MATCH`
    of the listed ids (or none), returns a ``ResultWarning`` (code ``few_ids_match``) naming the
    counts and a few unmatched ids, or with ``strict`` raises :class:`~lookalike.errors.InputError`:
    a suppression list that matches nobody is a consent promise broken silently.

    >>> check_id_list(["c1", "C2"], ["C1", "C2", "C3"], what="suppression list") is None
    True
    >>> print(check_id_list(["X1", "X2", "C1"], ["C1"], what="suppression list s.csv"))  # doctest: +ELLIPSIS
    suppression list s.csv: only 1 of 3 listed ids are customers (33%; e.g. 'X1', 'X2') ...
    """
    wanted = canonical_ids(listed).unique()
    matched = wanted.isin(pd.Index(known) if known_canonical else canonical_ids(known))
    n, hit = len(wanted), int(matched.sum())
    if n and hit >= MIN_ID_MATCH * n:
        return None
    missing = ", ".join(repr(i) for i in wanted[~matched][:3])
    text = (f"{what}: only {hit:,} of {n:,} listed ids are customers ({hit / n if n else 0:.0%}; e.g. {missing}) — "
            "check that the file's id column holds customer ids of this data")
    if strict:
        raise InputError(text + " (refused: --strict)")
    return ResultWarning("few_ids_match", text, listed=n, matched=hit)


def flag_set(column: pd.Series) -> np.ndarray:
    """Rows whose flag is 1 (missing or not a number: not set), as a boolean array.

    ``pd.to_numeric(column, errors="coerce").fillna(0).eq(1)``, without pandas' slow path for
    nullable integers (1.3 s on a 10M-row ``Int64`` column, against milliseconds).

    >>> flag_set(pd.Series([1, None, 0, 1], dtype="Int64")).tolist(), flag_set(pd.Series(["1", "x"])).tolist()
    ([True, False, False, True], [True, False])
    """
    if pd.api.types.is_bool_dtype(column) or (pd.api.types.is_numeric_dtype(column)
                                              and not pd.api.types.is_complex_dtype(column)):
        return column.to_numpy(dtype="float64", na_value=np.nan) == 1
    return pd.to_numeric(column, errors="coerce").fillna(0).eq(1).to_numpy(dtype=bool)


def select_seeds(customers: pd.DataFrame, seeds: object) -> pd.Series:
    """Resolve a seed spec to a boolean mask over ``customers``.

    ``seeds`` is ``"vip"``, a rule (list of condition mappings), a path to an id
    file, or an iterable of ids. Ids that are not in the table raise an error that
    names them.
    """
    if isinstance(seeds, str) and seeds.lower() in ("vip", "vips"):
        if "vip_flag" not in customers.columns:
            raise InputError("seeds 'vip' need a vip_flag column; give seed ids or a rule instead")
        return pd.Series(flag_set(customers["vip_flag"]), index=customers.index, name="vip_flag")
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


def _robust_z(x: np.ndarray) -> np.ndarray:
    """Robust z-scores: distance from the median in MADs (scaled to a normal's standard deviation)."""
    med = np.median(x)
    mad = np.median(np.abs(x - med)) * 1.4826 or 1e-12
    return (x - med) / mad


def _column_mean_std(X: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of float32 ``X`` in float64, a block of rows at a time
    (``X.std(dtype=float64)`` would hold a float64 copy of the whole matrix: 2.5 GiB at 10M rows)."""
    mu = X.mean(axis=0, dtype=np.float64)  # a buffered reduction: no copy
    ss = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk] - mu  # float64, one block
        ss += np.einsum("ij,ij->j", block, block)
    return mu, np.sqrt(ss / max(X.shape[0], 1))


def diagnose_seeds(X: np.ndarray, seed_pos: np.ndarray, ids: np.ndarray | pd.Index, group_names: list[str],
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

    mu_b, sd_b = _column_mean_std(X)
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
    approximate = s * s > EXACT_OUTLIER_PAIRS
    d, _ = nearest_seeds(X, seed_pos, seed_pos, k, kind="ivf" if approximate else "exact")
    dk = d[:, -1].astype(np.float64)
    if approximate:
        # an IVF misses neighbours, never invents them: its k-th distance is at least the exact one, so the
        # seeds an exact search flags are among those near or over the line here (the margin covers the
        # median and MAD moving with the approximation); only those are searched exactly
        check = np.flatnonzero(_robust_z(dk) > OUTLIER_Z - 0.5)
        if len(check):
            dk[check] = nearest_seeds(X, seed_pos, seed_pos[check], k, kind="exact")[0][:, -1]
    outl = seed_pos[_robust_z(dk) > OUTLIER_Z]
    outliers = [str(ids[p]) for p in outl]
    if s >= MIN_SEEDS and len(outliers) > MAX_OUTLIER_SHARE * s:
        warnings.append(ResultWarning("many_outliers", f"many outliers: {len(outliers)} of {s} seeds are far from the "
                                      "other seeds; check that the seed set mixes no unrelated groups",
                                      outliers=len(outliers), seeds=s))
    return SeedDiagnostics(s, eff, tight, distinctive, outliers, warnings)
