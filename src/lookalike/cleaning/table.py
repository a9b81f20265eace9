"""The table cleaner: raw CRM export in, ``CleanResult(customers, quarantine, report)`` out.

Rules, in order:

1. **Column names** are mapped to the contract's with the column-name config
   (``lookalike/config/columns.toml``); unknown columns are kept out of the clean
   table and listed in the report.
2. **Every column is parsed** by its single-column parser (one module per kind
   of dirt). Each cell gets a status (clean, fixed, ambiguous, code, missing,
   invalid) and the counts go to the report. A value that cannot be parsed
   becomes missing and is counted; it is never invented.
3. **Twins**: where a clean column and its dirty twin both exist (``age`` /
   ``age_str_dirty``, ``days_since_last_purchase`` / ``..._dirty``,
   ``pct_reordered`` / ``..._dirty``, ``region`` / ``region_dirty``), the clean value
   wins where it parses, the dirty one fills the gaps. Cells where both parse
   but disagree are counted as conflicts.
4. **Quarantine**: rows without a customer id, and rows with no usable value at
   all, go to ``quarantine`` with their original values and a ``reason``. Rows that are
   not customers at all are quarantined before their cells are parsed (so they count in
   no column): a **repeated header** (the id cell is the id column's name or an alias of
   it, ``customer_id`` / ``CUSTOMER_ID`` / ``Id Cliente``; reason ``repeated_header: …``)
   and a **total row** (the id cell - or, without an id, the first column - says
   ``Total``, ``TOTAL:``, ``Totales``, ``Suma``, ``Grand total``, ``Gesamt``, ... (see
   :data:`TOTAL_LABELS`); reason ``total_row: …``). A row without an id whose
   ``total_orders``, ``total_spent`` or ``income`` is the sum of the rows with an id above
   it (all of them, or those since the previous such row, within 0.1%) is a total row too.
5. **Duplicates**: rows with the same canonical id (trimmed, upper-cased) are
   merged: the most complete row wins (ties: the later row in the file, taken as
   the newer record) and its gaps are filled from the other rows in the same
   order (a placeholder such as "Unknown" does not count as a value). Merged rows are
   counted; ids whose rows disagree are counted as conflicts.
6. **Money** (``total_spent``, ``income``) is kept to the cent; negative amounts and
   amounts above ``MAX_MONEY`` are invalid (counted as ``negative`` / ``out_of_range``).
   Counts above ``MAX_ORDERS`` orders or ``MAX_ITEMS_PER_ORDER`` items are out of range.

Invariant: ``rows_in == len(customers) + len(quarantine) + duplicates_merged``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lookalike.cleaning._base import AMBIGUOUS, CLEAN, FIXED, INVALID, MISSING, ColumnParse
from lookalike.cleaning._common import first_positions
from lookalike.cleaning.dates import as_of_day, parse_date
from lookalike.cleaning.money import parse_money
from lookalike.cleaning.numbers import parse_age, parse_bool, parse_number
from lookalike.cleaning.percent import parse_percent
from lookalike.cleaning.prefs import parse_prefs
from lookalike.cleaning.recency import parse_recency
from lookalike.cleaning.text import clean_text, load_vocabulary, normalize_category, normalize_id
from lookalike.config import ColumnMapping, normalize_name
from lookalike.errors import EmptyDataError, MissingColumnsError, ParameterError
from lookalike.io import to_jsonable

#: Columns of the clean table (contract section 2), in order.
CLEAN_COLUMNS: tuple[str, ...] = (
    "customer_id", "age", "gender", "income", "tenure_months", "total_orders",
    "days_since_last_purchase", "never_purchased", "pct_reordered", "avg_items_per_order",
    "avg_ticket", "region", "fav_category", "signup_channel", "signup_date", "total_spent",
    "vip_score", "vip_flag", "promo_channel", "promo_level", "notes",
)
CONTACT_COLUMNS: tuple[str, ...] = ("email", "phone", "first_name", "last_name", "country", "zip")
CONSENT_COLUMNS: tuple[str, ...] = ("consent_email", "consent_sms", "consent_push", "consent_ads")
#: (clean column, dirty twin) pairs of the contract.
TWINS: tuple[tuple[str, str], ...] = (
    ("age", "age_str_dirty"),
    ("days_since_last_purchase", "days_since_last_purchase_dirty"),
    ("pct_reordered", "pct_reordered_dirty"),
    ("region", "region_dirty"),
)
#: Output columns that count as "a usable value" for the quarantine rule.
_USABLE = ("age", "income", "tenure_months", "total_orders", "days_since_last_purchase",
           "pct_reordered", "avg_items_per_order", "total_spent", "region", "fav_category", "signup_channel")
#: Bounds beyond any retail customer, far above the reference export (2-35 orders, 1-14 items):
#: values past them are typing or export errors (1e308), counted as out of range, not used.
#: Money above 2**53 / 100 can no longer be held to the cent by a float64.
MAX_MONEY = 2.0**53 / 100
MAX_ORDERS = 1_000_000
MAX_ITEMS_PER_ORDER = 10_000
_INT_COLUMNS = ("age", "tenure_months", "total_orders", "vip_flag")
#: What a total or footer row says in its id (or first) cell, compared upper-case without spaces
#: or punctuation ("Grand total:" -> GRANDTOTAL).
TOTAL_LABELS: frozenset[str] = frozenset(
    "TOTAL TOTALS TOTALES TOTALE TOTAUX TOTALGENERAL TOTALGERAL TOTALGLOBAL GRANDTOTAL GRANTOTAL SUBTOTAL "
    "SUBTOTALS SUBTOTALES SUMA SUMAS SUMATOTAL SUM SUMTOTAL SUMME GESAMT GESAMTSUMME INSGESAMT OVERALLTOTAL "
    "TOTALCLIENTES TOTALCUSTOMERS TOTALGENERALES".split()
)
REPEATED_HEADER = "repeated_header: the row repeats the column names (a header inside the data), not a customer"
TOTAL_ROW = "total_row: a total or footer row (a Total label, or the sum of the rows above), not a customer"
#: Columns a total row adds up.
_SUMMED = ("total_orders", "total_spent", "income")
_CATEGORY_COLUMNS = ("gender", "region", "fav_category", "signup_channel", "promo_channel")
_OK = (CLEAN, FIXED, AMBIGUOUS)


@dataclass(frozen=True)
class QualityReport:
    """What cleaning saw and did: row accounting, per-column counts, read details."""

    rows_in: int
    rows_kept: int
    rows_quarantined: int
    duplicates_merged: int
    duplicate_ids: int
    duplicate_conflicts: int
    quarantine_reasons: dict[str, int]
    columns: dict[str, dict]
    twins: dict[str, dict]
    ignored_columns: list[str]
    missing_columns: list[str]
    read: dict = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """The row-accounting invariant: rows in = kept + quarantined + merged."""
        return self.rows_in == self.rows_kept + self.rows_quarantined + self.duplicates_merged

    @classmethod
    def from_dict(cls, d: dict) -> "QualityReport":
        """Rebuild a report from :meth:`to_dict` output (e.g. a cached ``quality.json``)."""
        return cls(
            rows_in=d["rows"]["in"],
            rows_kept=d["rows"]["kept"],
            rows_quarantined=d["rows"]["quarantined"],
            duplicates_merged=d["rows"]["duplicates_merged"],
            duplicate_ids=d["duplicates"]["ids"],
            duplicate_conflicts=d["duplicates"]["conflicting_ids"],
            quarantine_reasons=dict(d["quarantine_reasons"]),
            columns=dict(d["columns"]),
            twins=dict(d["twins"]),
            ignored_columns=list(d["ignored_columns"]),
            missing_columns=list(d["missing_columns"]),
            read=dict(d.get("read", {})),
        )

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of the report."""
        return {
            "rows": {
                "in": self.rows_in,
                "kept": self.rows_kept,
                "quarantined": self.rows_quarantined,
                "duplicates_merged": self.duplicates_merged,
                "balanced": self.balanced,
            },
            "duplicates": {"ids": self.duplicate_ids, "conflicting_ids": self.duplicate_conflicts},
            "quarantine_reasons": self.quarantine_reasons,
            "columns": self.columns,
            "twins": self.twins,
            "ignored_columns": self.ignored_columns,
            "missing_columns": self.missing_columns,
            "read": self.read,
        }


@dataclass(frozen=True)
class CleanResult:
    """Output of :func:`clean_customers`."""

    customers: pd.DataFrame
    quarantine: pd.DataFrame
    report: QualityReport


def _column_parsers(vocab: dict, as_of: object = None) -> dict[str, Callable[[pd.Series], ColumnParse]]:
    return {
        "customer_id": normalize_id,
        "age": parse_age,
        "age_str_dirty": parse_age,
        "gender": lambda s: normalize_category(s, vocab["gender"]),
        "income": _parse_amount,
        "tenure_months": lambda s: parse_number(s, integer=True, lo=0, hi=1200, units=("months", "month", "meses", "mes", "m")),
        "total_orders": lambda s: parse_number(s, integer=True, lo=0, hi=MAX_ORDERS, units=("orders", "order", "pedidos", "pedido")),
        "days_since_last_purchase": parse_recency,
        "days_since_last_purchase_dirty": parse_recency,
        "pct_reordered": parse_percent,
        "pct_reordered_dirty": parse_percent,
        "avg_items_per_order": lambda s: parse_number(s, lo=0, hi=MAX_ITEMS_PER_ORDER, units=("items", "item", "articulos", "artículos", "uds")),
        "region": lambda s: normalize_category(s, vocab["region"]),
        "region_dirty": lambda s: normalize_category(s, vocab["region"]),
        "fav_category": lambda s: normalize_category(s, vocab["fav_category"]),
        "signup_channel": lambda s: normalize_category(s, vocab["signup_channel"]),
        "signup_date_dirty": lambda s: parse_date(s, as_of=as_of),
        "total_spent_dirty": _parse_amount,
        "vip_score": lambda s: parse_number(s, lo=0, hi=1),
        "vip_flag": parse_bool,
        "notes": clean_text,
        "json_prefs": parse_prefs,
        **{c: clean_text for c in CONTACT_COLUMNS},
        **{c: parse_bool for c in CONSENT_COLUMNS},
    }


def _parse_amount(s: pd.Series) -> ColumnParse:
    """Income and lifetime spend are money (symbols, codes, separators); a negative amount is
    invalid (a refund balance is not a customer's spend) and so is one above ``MAX_MONEY``."""
    p = parse_money(s)
    negative = (p.values < 0).to_numpy()
    absurd = (p.values.abs() > MAX_MONEY).to_numpy()
    if not (negative.any() or absurd.any()):
        return p
    status = p.status.copy()
    status[negative | absurd] = INVALID
    notes = {**p.notes, "negative": int(negative.sum()), "out_of_range": int(absurd.sum())}
    return ColumnParse(p.values.where(~(negative | absurd)), status, notes, p.extra)


def clean_customers(
    raw: pd.DataFrame,
    *,
    columns: ColumnMapping | None = None,
    as_of: object = None,
) -> CleanResult:
    """Clean a raw CRM export (see the module docstring for the rules).

    ``raw`` may come from :func:`lookalike.read_customers` (already mapped) or be any
    DataFrame; column names are mapped again, which is idempotent. ``as_of`` is the export
    date (a date or "YYYY-MM-DD"; default: today): signup dates after it are flagged
    (:func:`~lookalike.cleaning.dates.parse_date`).
    """
    if not isinstance(raw, pd.DataFrame):
        raise ParameterError(f"clean_customers expects a pandas DataFrame, got {type(raw).__name__}")
    mapping = columns or ColumnMapping.load()
    read_meta = dict(raw.attrs.get("read", {}))
    df, renamed = mapping.apply(raw)
    if renamed:
        read_meta["renamed_columns"] = {**read_meta.get("renamed_columns", {}), **renamed}
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise ParameterError(f"column(s) {', '.join(map(str, dup))} appear more than once; rename or drop the copies")
    _check_required(df, mapping)
    rows_in = len(df)
    if rows_in == 0:
        raise EmptyDataError("the export has a header but no rows; export the customer table again")
    df = df.reset_index(drop=True)

    vocab = load_vocabulary()
    # the export date: a signup after it is flagged. Today, not the file's modification time:
    # copies, downloads and uploads reset that, and the result would depend on more than the bytes
    export_day = as_of_day(as_of if as_of is not None else pd.Timestamp.today())
    parsers = _column_parsers(vocab, as_of=export_day)
    ids = parsers["customer_id"](df["customer_id"])
    # ids as Arrow text from here on (the clean table's dtype): the checks and the merge below
    # hash and test them in Arrow instead of going through 100k Python strings again
    id_text = ids.values.astype(str)
    # repeated headers and total rows are not data: quarantined before any cell is parsed
    held = _header_and_total_rows(df, id_text, mapping)
    held_rows = df.loc[held.notna()]
    if len(held_rows):
        df = df.loc[held.isna()]
        ids = parsers["customer_id"](df["customer_id"])
        id_text = ids.values.astype(str)
    parsed: dict[str, ColumnParse] = {"customer_id": ids, **{c: parsers[c](df[c]) for c in parsers
                                                              if c in df.columns and c != "customer_id"}}
    known = set(parsers) | {"avg_ticket", "never_purchased", "signup_date", "total_spent", "promo_channel", "promo_level"}
    ignored = [str(c) for c in df.columns if c not in known]

    out: dict[str, pd.Series] = {}
    twin_report: dict[str, dict] = {}
    n = len(df)  # the data rows: held rows count in no column
    nan = pd.Series(np.nan, index=df.index, dtype="float64")

    def value(col: str) -> pd.Series | None:
        p = parsed.get(col)
        return None if p is None else p.values.where(p.ok())

    out["customer_id"] = id_text
    for clean_col, dirty_col in TWINS:
        merged, info = _merge_twin(parsed.get(clean_col), parsed.get(dirty_col))
        if info is not None:
            twin_report[clean_col] = info
        out[clean_col] = merged if merged is not None else nan
    # recency codes ("never", 9999) from either twin mark never_purchased
    never = pd.Series(False, index=df.index)
    for col in ("days_since_last_purchase", "days_since_last_purchase_dirty"):
        p = parsed.get(col)
        if p is not None and "never_purchased" in p.extra:
            never |= p.extra["never_purchased"].fillna(False).astype(bool)
    has_recency = out["days_since_last_purchase"].notna()
    out["never_purchased"] = never & ~has_recency
    for col in ("gender", "income", "tenure_months", "total_orders", "avg_items_per_order",
                "fav_category", "signup_channel", "vip_score", "vip_flag", "notes"):
        v = parsed[col].values if col in ("gender", "fav_category", "signup_channel", "notes") and col in parsed else value(col)
        out[col] = v if v is not None else (pd.Series("Unknown", index=df.index) if col in _CATEGORY_COLUMNS else nan)
    out["signup_date"] = value("signup_date_dirty") if "signup_date_dirty" in parsed else pd.Series(pd.NaT, index=df.index)
    # money is kept to the cent: an export's "25706.401475" is the same spend as "$25,706.40"
    out["total_spent"] = (value("total_spent_dirty") if "total_spent_dirty" in parsed else nan).round(2)
    out["income"] = pd.to_numeric(out["income"], errors="coerce").round(2)
    orders = pd.to_numeric(out["total_orders"], errors="coerce")
    out["avg_ticket"] = pd.to_numeric(out["total_spent"], errors="coerce") / orders.where(orders > 0)
    if "json_prefs" in parsed:
        out["promo_channel"] = parsed["json_prefs"].values
        out["promo_level"] = parsed["json_prefs"].extra.get("promo_level", nan)
    else:
        out["promo_channel"], out["promo_level"] = pd.Series("unknown", index=df.index), nan
    for col in CONTACT_COLUMNS + CONSENT_COLUMNS:
        if col in parsed:
            out[col] = parsed[col].values
    # copy=False: one block per column, no consolidating copy of the whole table
    table = pd.DataFrame({c: out[c] for c in (*CLEAN_COLUMNS, *CONTACT_COLUMNS, *CONSENT_COLUMNS) if c in out},
                         copy=False)

    # quarantine: rows that cannot be used, with their original values and a reason
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    usable_any = table["never_purchased"].to_numpy(dtype=bool).copy()
    for c in _USABLE:
        if c in table.columns:
            has = table[c].notna().to_numpy().copy()
            if not pd.api.types.is_numeric_dtype(table[c]):  # only text can be the placeholder
                has &= table[c].to_numpy(dtype=object) != "Unknown"
            usable_any |= has
    reason[~usable_any] = "no usable values: every customer field is empty or unparseable"
    no_id = table["customer_id"].isna().to_numpy()
    reason[no_id] = "missing customer_id"
    reason[no_id & _summing_rows(table, no_id, held.index[held == TOTAL_ROW])] = TOTAL_ROW
    bad = reason.notna()
    quarantine, why = df.loc[bad].copy(), reason[bad]
    if len(held_rows):  # in file order with the rows held before parsing
        quarantine = pd.concat([quarantine, held_rows]).sort_index(kind="stable")
        why = pd.concat([why, held[held.notna()]]).sort_index(kind="stable")
    quarantine.insert(0, "row_number", (quarantine.index + 1).astype("int64"))
    quarantine["reason"] = why.astype(str).to_numpy()
    quarantine = quarantine.reset_index(drop=True)

    kept = table.loc[~bad]
    customers, merged_rows, dup_ids, conflicts = _merge_duplicates(kept)
    customers = _finalize_dtypes(customers)

    col_report = {c: _column_report(p, n) for c, p in parsed.items()}
    report = QualityReport(
        rows_in=rows_in,
        rows_kept=len(customers),
        rows_quarantined=len(quarantine),
        duplicates_merged=merged_rows,
        duplicate_ids=dup_ids,
        duplicate_conflicts=conflicts,
        quarantine_reasons={str(k): int(v) for k, v in quarantine["reason"].value_counts().items()},
        columns=col_report,
        twins=twin_report,
        ignored_columns=ignored,
        missing_columns=[c for c in parsers if c not in df.columns and c not in CONTACT_COLUMNS + CONSENT_COLUMNS],
        read=read_meta,
    )
    return CleanResult(customers=customers, quarantine=quarantine, report=report)


def _label_keys(texts: np.ndarray | pd.Series) -> pa.Array:
    """Texts (str or None; or a str Series) upper-case without spaces or punctuation ("Grand total:" ->
    "GRANDTOTAL")."""
    arr = pa.array(texts, pa.string(), from_pandas=True) if isinstance(texts, np.ndarray) else pa.array(texts)
    upper = pc.utf8_upper(arr.cast(pa.string()) if arr.type != pa.string() else arr)
    # ASCII letters and digits only (most ids): nothing to remove; the others through the regex
    plain = pc.fill_null(pc.and_(pc.string_is_ascii(upper), pc.ascii_is_alnum(upper)), True)
    strip = pc.invert(plain)
    if not pc.any(strip).as_py():
        return upper
    return pc.replace_with_mask(upper, strip, pc.replace_substring_regex(upper.filter(strip), r"[^\p{L}\p{N}]+", ""))


def _is_label(keys: pa.Array, labels: object) -> np.ndarray:
    """Which keys (from :func:`_label_keys`) are one of ``labels``."""
    return pc.fill_null(pc.is_in(keys, value_set=pa.array(sorted(labels), pa.string())), False).to_numpy(
        zero_copy_only=False)


def _header_and_total_rows(df: pd.DataFrame, ids: pd.Series, mapping: ColumnMapping) -> pd.Series:
    """The quarantine reason of rows that are not customers (else NA): a repeated header (the id
    cell is a name of the id column) or a total row (a :data:`TOTAL_LABELS` label in the id cell,
    or in the first column when the row has no id). ``ids`` are the canonical ids of ``df``."""
    reason = np.full(len(df), None, dtype=object)
    names = [normalize_name(a) for a in ("customer_id", *mapping.aliases.get("customer_id", ()))]
    header_keys = _label_keys(np.array(names, dtype=object)).to_pylist()
    keys = _label_keys(ids)
    reason[_is_label(keys, TOTAL_LABELS)] = TOTAL_ROW
    reason[_is_label(keys, header_keys)] = REPEATED_HEADER
    first = df.columns[0]
    no_id = keys.is_null().to_numpy(zero_copy_only=False)
    if first != "customer_id" and no_id.any():
        cells = df[first].to_numpy(dtype=object)[no_id]  # the rows without an id: few
        first_keys = _label_keys(np.array([v if isinstance(v, str) else None for v in cells], dtype=object))
        reason[np.flatnonzero(no_id)[_is_label(first_keys, TOTAL_LABELS)]] = TOTAL_ROW
    return pd.Series(reason, index=df.index, dtype=object)


def _summing_rows(table: pd.DataFrame, candidates: np.ndarray, held_totals: pd.Index) -> np.ndarray:
    """Candidate rows (no id) whose ``_SUMMED`` value is the sum of the rows with an id above them:
    all of them, or those since the previous candidate or total row (``held_totals``: file rows held
    before parsing), within 0.1%, over 2+ rows. ``table``'s index is the file row (ascending)."""
    out = np.zeros(len(table), dtype=bool)
    if not candidates.any():
        return out
    pos = np.flatnonzero(candidates)
    rows_at = table.index.to_numpy()
    bounds = np.union1d(rows_at[pos], held_totals.to_numpy())
    previous = bounds[np.searchsorted(bounds, rows_at[pos]) - 1]  # the boundary before each candidate
    start = np.where(np.searchsorted(bounds, rows_at[pos]) > 0, np.searchsorted(rows_at, previous, side="right"), 0)
    for col in _SUMMED:
        if col not in table:
            continue
        v = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=np.float64)
        counted = ~candidates & ~np.isnan(v)
        total = np.concatenate([[0.0], np.cumsum(np.where(counted, v, 0.0))])  # sum of the rows before i: total[i]
        count = np.concatenate([[0], np.cumsum(counted)])
        for above, rows in ((total[pos], count[pos]), (total[pos] - total[start], count[pos] - count[start])):
            out[pos] |= (rows >= 2) & np.isclose(v[pos], above, rtol=1e-3, atol=0.005) & (above > 0)
    return out


def _check_required(df: pd.DataFrame, mapping: ColumnMapping) -> None:
    missing = [c for c in mapping.required if c not in df.columns]
    for group in mapping.any_of:
        if not any(c in df.columns for c in group):
            missing.append(" or ".join(group))
    if missing:
        raise MissingColumnsError(missing, [str(c) for c in df.columns], where="the export")


def _merge_twin(clean: ColumnParse | None, dirty: ColumnParse | None) -> tuple[pd.Series | None, dict | None]:
    """Clean value where it parses, else the dirty twin's; count fills and conflicts."""
    if clean is None and dirty is None:
        return None, None
    if clean is None or dirty is None:
        only = clean if clean is not None else dirty
        return only.values.where(only.ok()), {"source": "clean" if clean is not None else "dirty",
                                                        "filled_from_dirty": 0, "conflicts": 0}
    c_ok, d_ok = clean.ok(), dirty.ok()
    merged = clean.values.where(c_ok, dirty.values.where(d_ok))
    both = c_ok & d_ok
    cv, dv = clean.values.to_numpy()[both], dirty.values.to_numpy()[both]
    if pd.api.types.is_numeric_dtype(clean.values) and pd.api.types.is_numeric_dtype(dirty.values):
        differ = ~np.isclose(cv.astype(float), dv.astype(float), rtol=1e-6, atol=1e-9)
    elif _all_text(cv) and _all_text(dv):  # category names: compared as they are
        differ = cv != dv
    else:
        differ = cv.astype(str) != dv.astype(str)
    return merged, {
        "source": "both",
        "filled_from_dirty": int((~c_ok & d_ok).sum()),
        "conflicts": int(np.asarray(differ).sum()),
    }


def _all_text(values: np.ndarray) -> bool:
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty")


def _merge_duplicates(kept: pd.DataFrame) -> tuple[pd.DataFrame, int, int, int]:
    """Merge rows sharing a customer id (most complete row first, ties: later row; gaps filled).

    The merged row of an id takes the place of its first row; the other rows of the id go.
    """
    codes = _id_codes(kept["customer_id"])
    later = np.ones(codes.size, dtype=bool)
    later[first_positions(codes)] = False
    if not later.any():
        return kept.reset_index(drop=True), 0, 0, 0
    dup_mask = np.bincount(codes)[codes] > 1
    dups = kept.loc[dup_mask].copy()
    # "Unknown"/"unknown" and never_purchased=False are placeholders, not values: a copy that
    # has the real value must be able to fill them
    for c in _CATEGORY_COLUMNS:
        if c in dups:
            dups[c] = dups[c].astype(object).mask(dups[c].astype(object).isin(["Unknown", "unknown"]))
    dups["never_purchased"] = dups["never_purchased"].astype(object).where(dups["never_purchased"].astype(bool))
    dups["_filled"] = dups.notna().sum(axis=1)
    dups["_pos"] = np.arange(len(dups))
    dups = dups.sort_values(["customer_id", "_filled", "_pos"], ascending=[True, False, False], kind="stable")
    value_cols = [c for c in kept.columns if c != "customer_id"]
    conflicts = _conflicting_ids(dups, value_cols)
    # groupby.first turns all-NA groups into NA; _finalize_dtypes makes never_purchased boolean again
    merged = dups.drop(columns=["_filled", "_pos"]).groupby("customer_id", sort=False).first()
    # the kept rows: every row but the later copies of an id, in file order (one take per
    # column); the merged values are written over the first copy of each id
    keep = np.flatnonzero(~later)
    first = np.flatnonzero(dup_mask[~later])
    merged = merged.reindex(kept["customer_id"].take(keep[first]).to_numpy())
    out = {}
    for c in kept.columns:
        col = kept[c]
        if c == "customer_id":
            out[c] = col.take(keep).reset_index(drop=True)
            continue
        new = merged[c]
        if c == "never_purchased":  # True where a copy says so (False was masked as a placeholder)
            values = col.to_numpy(dtype=bool)[keep]
            values[first] = pd.array(new.to_numpy(dtype=object), dtype="boolean").fillna(False).to_numpy(dtype=bool)
        elif col.dtype == new.dtype:
            values = col.array.take(keep)
            values[first] = new.array
        else:  # placeholders masked, NA from groupby.first: _finalize_dtypes types the column again
            values = col.to_numpy(dtype=object)[keep]
            values[first] = new.to_numpy(dtype=object)
        out[c] = pd.Series(values, dtype=values.dtype)  # object stays object (no inference of str)
    n_ids = int(merged.shape[0])
    return pd.DataFrame(out, columns=kept.columns, copy=False), int(later.sum()), n_ids, conflicts


def _id_codes(ids: pd.Series) -> np.ndarray:
    """``pd.factorize(ids)[0]`` of the Arrow-text ids, through one contiguous Arrow string array
    (pandas' route, a chunked array, can cost 20x more on its first call in a process)."""
    if not isinstance(ids.dtype, pd.StringDtype) or ids.dtype.storage != "pyarrow":
        return pd.factorize(ids)[0]
    enc = pa.array(ids).dictionary_encode()  # first appearance order, as pd.factorize
    return pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.intp)


def _conflicting_ids(dups: pd.DataFrame, value_cols: list[str]) -> int:
    """Ids whose copies hold two different values in some column (missing values aside)."""
    id_codes = pd.factorize(dups["customer_id"])[0]
    conflict = np.zeros(int(id_codes.max()) + 1, dtype=bool)
    for c in value_cols:
        codes = pd.factorize(dups[c], use_na_sentinel=True)[0]
        has = codes >= 0
        if not has.any():
            continue
        pairs = np.unique(id_codes[has].astype(np.int64) * (int(codes.max()) + 1) + codes[has])
        per_id = np.bincount(pairs // (int(codes.max()) + 1), minlength=conflict.size)
        conflict |= per_id > 1
    return int(conflict.sum())


def _as_category(values: pd.Series, fill: str) -> pd.Categorical:
    """``values.astype(object).where(notna, fill).astype(str).astype("category")``, factorized once."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    texts = np.array([str(v) for v in uniques] + [fill], dtype=object)  # few distinct values; the last: missing
    codes = np.where(codes < 0, len(uniques), codes)
    used = np.bincount(codes, minlength=texts.size) > 0
    if not used[-1]:  # no missing value: the fill is not a category
        texts = texts[:-1]
    categories, inverse = np.unique(texts, return_inverse=True)
    return pd.Categorical.from_codes(inverse[codes], dtype=pd.CategoricalDtype(pd.Index(categories, dtype="str")))


def _finalize_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy(deep=False)
    out["customer_id"] = out["customer_id"].astype(str)
    for c in _INT_COLUMNS:
        if c in out:
            num = pd.to_numeric(out[c], errors="coerce")
            out[c] = num.round().astype("Int64")
    for c in ("income", "days_since_last_purchase", "pct_reordered", "avg_items_per_order", "avg_ticket",
              "total_spent", "vip_score", "promo_level"):
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    never = out["never_purchased"]
    never = never.to_numpy() if never.dtype == bool else never.astype("boolean").fillna(False).to_numpy(dtype=bool)
    out["never_purchased"] = never & out["days_since_last_purchase"].isna().to_numpy()
    for c in _CATEGORY_COLUMNS:
        if c in out:
            out[c] = _as_category(out[c], "unknown" if c == "promo_channel" else "Unknown")
    if "signup_date" in out:
        out["signup_date"] = pd.to_datetime(out["signup_date"], errors="coerce")
    for c in ("notes", *CONTACT_COLUMNS):
        if c in out:
            out[c] = out[c].astype("string")
    for c in CONSENT_COLUMNS:
        if c in out:
            out[c] = out[c].astype("boolean")
    return out


def _column_report(p: ColumnParse, n: int) -> dict:
    counts = p.counts()
    rep: dict = {
        **counts,
        "parsed": counts[CLEAN] + counts[FIXED] + counts[AMBIGUOUS],
        "rejected": counts[INVALID],
        "parsed_share": round((counts[CLEAN] + counts[FIXED] + counts[AMBIGUOUS]) / n, 6) if n else 0.0,
    }
    notes = {k: to_jsonable(v, f"notes.{k}") for k, v in p.notes.items()}
    if notes:
        rep["notes"] = notes
    if n and counts[MISSING] == n:
        rep["all_missing"] = True
    return rep
