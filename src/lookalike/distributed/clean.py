"""Cleaning a raw customer export inside Spark with the single-machine cleaner.

:func:`spark_clean` runs :func:`lookalike.clean_customers` (the very same function) on
every partition of a raw export with ``mapInPandas``. For that to give the table the
single-machine cleaner gives, two things must hold:

* **every copy of a customer id sits in one partition**: the canonical id is computed
  with the cleaner's own :func:`lookalike.cleaning.text.normalize_id` (a pandas UDF) and
  the table is repartitioned by it, so duplicate rows are merged exactly as on one machine;
* **the file order is known**: the cleaner breaks ties between equally complete copies
  by "the later row in the file", so each row carries its position in the export
  (from ``monotonically_increasing_id`` on the input, made contiguous) and each
  partition is sorted by it before cleaning. The quarantine's ``row_number`` is this
  position (1-based), as in the single-machine quarantine.

One ``mapInPandas`` pass emits the clean rows, the quarantined rows and one counts row
per partition, tagged with a kind column; the result is persisted and split. The report
counts are Spark sums. The table is never collected to the driver; only a small head
(``sample_rows``) is cleaned there to check the columns and derive the output schema.

Parsing conventions that the cleaner infers from a column's values (day-first vs.
month-first dates, decimal comma vs. point in money) are inferred per partition: a
column whose partitions disagree (an export that mixes conventions, with too few
unambiguous values in some partitions) may be read differently than on one machine.
The per-column status counts of the single-machine report are not summed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lookalike.cleaning.ids import normalize_id
from lookalike.cleaning.table import clean_customers
from lookalike.config import ColumnMapping
from lookalike.errors import EmptyDataError, InputError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql.types import DataType

_KIND = "_lk_kind"
_ROW = "_lk_row"
_CID = "_lk_cid"
_C, _Q = "c__", "q__"  # prefixes of clean / quarantine columns in the combined output
_STATS = ("rows_in", "duplicates_merged", "duplicate_ids", "duplicate_conflicts")
#: bits of monotonically_increasing_id that hold the row's position within its input partition
_POS_BITS = 33


@dataclass(frozen=True)
class SparkClean:
    """What :func:`spark_clean` produced: the clean table, the quarantine and summed counts."""

    customers: "SparkFrame"
    quarantine: "SparkFrame"
    counts: dict[str, int]
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    #: the persisted cleaning output both tables are read from
    cached: "SparkFrame | None" = field(default=None, repr=False)

    @property
    def balanced(self) -> bool:
        """The row-accounting invariant: rows in = kept + quarantined + merged duplicates."""
        c = self.counts
        return c["rows_in"] == c["rows_kept"] + c["rows_quarantined"] + c["duplicates_merged"]

    def unpersist(self) -> None:
        """Release the cached cleaning output once the tables have been written or used."""
        if self.cached is not None:
            self.cached.unpersist()


def _spark_type(dtype: object) -> "DataType":
    """The Spark type for a clean-table pandas dtype."""
    from pyspark.sql import types as T

    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return T.TimestampNTZType()  # dates without a time zone, as the cleaner gives them
    return T.StringType()


def _plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text, category and Arrow-backed columns as plain objects: Spark's Arrow writer takes no chunked arrays."""
    for c in frame.columns:
        dtype = frame[c].dtype
        if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype, pd.ArrowDtype)) or dtype == object:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _canonical_ids(s: pd.Series) -> pd.Series:
    """The cleaner's canonical customer id (None where there is none)."""

    return normalize_id(s).values.astype(object)


def spark_clean(raw: "SparkFrame", *, columns: ColumnMapping | None = None, partitions: int | None = None,
                sample_rows: int = 1000) -> SparkClean:
    """Clean a raw export (a Spark DataFrame) with :func:`lookalike.clean_customers` per partition.

    ``columns``: the column-name mapping (default: the packaged one). ``partitions``:
    partitions to clean in (default: ``spark.sql.shuffle.partitions``); each is cleaned
    in one piece, so choose enough for a partition to fit a worker's memory.
    Returns a :class:`SparkClean`; its counts are ``rows_in``, ``rows_kept``,
    ``rows_quarantined``, ``duplicates_merged``, ``duplicate_ids``, ``duplicate_conflicts``.
    """
    from lookalike.distributed import require_pyspark

    require_pyspark()
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql import types as T


    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer))
                                   or partitions < 1):
        raise ParameterError(f"partitions must be a whole number >= 1, got {partitions!r}")
    mapping = columns or ColumnMapping.load()
    taken = [c for c in raw.columns if c.startswith("_lk_")]
    if taken:
        raise InputError(f"column(s) {', '.join(taken)} use the reserved prefix _lk_; rename them")
    # the raw column that the cleaner will read as customer_id (names are mapped as it maps them)
    renamed_empty, _ = mapping.apply(pd.DataFrame(columns=raw.columns))
    names = [str(c) for c in renamed_empty.columns]
    # cleaning the head on the driver checks the columns (a friendly error, not a worker
    # traceback) and gives the output columns and dtypes
    head = raw.limit(sample_rows).toPandas()
    if head.empty:
        raise EmptyDataError("the export has a header but no rows; export the customer table again")
    probe = clean_customers(head, columns=mapping)
    if "customer_id" not in names:  # clean_customers accepted it, so this cannot happen; stay explicit
        raise InputError("the export has no customer id column; name it customer_id")
    id_col = raw.columns[names.index("customer_id")]
    clean_cols = list(probe.customers.columns)
    clean_types = {c: _spark_type(probe.customers[c].dtype) for c in clean_cols}
    raw_types = {f.name: f.dataType for f in raw.schema.fields}
    q_cols = list(probe.quarantine.columns)  # row_number, the (renamed) raw columns, reason
    q_types = {c: T.LongType() if c == "row_number" else T.StringType() if c == "reason"
               else raw_types[raw.columns[names.index(c)]] for c in q_cols}

    # file order: monotonically_increasing_id is (input partition << 33) + position; make it contiguous
    indexed = raw.withColumn(_ROW, F.monotonically_increasing_id())
    part = F.shiftright(F.col(_ROW), _POS_BITS)
    sizes = indexed.groupBy(part.alias("p")).count().collect()  # one row per input partition
    offsets, start = {}, 0
    for r in sorted(sizes, key=lambda r: r["p"]):
        offsets[int(r["p"])], start = start, start + int(r["count"])
    offset = F.create_map(*[x for p, o in offsets.items() for x in (F.lit(p), F.lit(o).cast("long"))])
    indexed = indexed.withColumn(_ROW, F.element_at(offset, part) + F.col(_ROW).bitwiseAND((1 << _POS_BITS) - 1))

    canonical = F.pandas_udf(_canonical_ids, T.StringType())
    keyed = indexed.withColumn(_CID, canonical(F.col(id_col).cast("string") if raw_types[id_col] != T.StringType()
                                               else F.col(id_col)))
    # rows without an id are all quarantined: spread them by position instead of piling them in one partition
    key = F.coalesce(F.col(_CID), F.concat(F.lit("\u0000"), F.col(_ROW).cast("string")))
    n_parts = partitions or int(raw.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    shuffled = keyed.repartition(n_parts, key).drop(_CID)

    out_fields = [T.StructField(_KIND, T.StringType())]
    out_fields += [T.StructField(_C + c, clean_types[c]) for c in clean_cols]
    out_fields += [T.StructField(_Q + c, q_types[c]) for c in q_cols]
    out_fields += [T.StructField(s, T.LongType()) for s in _STATS]
    schema = T.StructType(out_fields)
    raw_names = list(raw.columns)
    out_names = schema.fieldNames()[1:]

    def clean_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # a partition arrives in Arrow batches; copies of an id may straddle two: clean it whole
        frames = [b for b in batches if len(b)]
        if not frames:
            return
        part_df = pd.concat(frames, ignore_index=True).sort_values(_ROW, kind="stable")
        rows = part_df[_ROW].to_numpy()
        res = clean_customers(part_df[raw_names].reset_index(drop=True), columns=mapping)
        cust = res.customers.add_prefix(_C)
        quar = res.quarantine.copy()
        quar["row_number"] = rows[quar["row_number"].to_numpy() - 1] + 1  # the row's position in the export
        quar = quar.add_prefix(_Q)
        rep = res.report
        stats = pd.DataFrame({s: [v] for s, v in zip(_STATS, (rep.rows_in, rep.duplicates_merged,
                                                               rep.duplicate_ids, rep.duplicate_conflicts))})
        for kind, frame in (("customer", cust), ("quarantine", quar), ("stats", stats)):
            if len(frame):
                # the other kinds' columns are None (not NaN: Arrow cannot turn a float NaN into a string)
                none = pd.Series(None, index=frame.index, dtype=object)
                frame = pd.DataFrame({_KIND: kind, **{c: frame[c] if c in frame else none for c in out_names}})
                yield _plain_text(frame)

    combined = shuffled.mapInPandas(clean_partition, schema=schema).persist(StorageLevel.MEMORY_AND_DISK)
    kinds = {r[_KIND]: r for r in combined.groupBy(_KIND).agg(
        F.count(F.lit(1)).alias("n"), *[F.sum(s).alias(s) for s in _STATS]).collect()}
    stats = kinds.get("stats")
    counts = {
        "rows_in": int(stats["rows_in"]) if stats else 0,
        "rows_kept": int(kinds["customer"]["n"]) if "customer" in kinds else 0,
        "rows_quarantined": int(kinds["quarantine"]["n"]) if "quarantine" in kinds else 0,
        **{s: int(stats[s] or 0) if stats else 0 for s in _STATS[1:]},
    }
    customers = combined.filter(F.col(_KIND) == "customer").select(*[F.col(_C + c).alias(c) for c in clean_cols])
    quarantine = combined.filter(F.col(_KIND) == "quarantine").select(*[F.col(_Q + c).alias(c) for c in q_cols])
    reasons = {str(r["reason"]): int(r["count"]) for r in quarantine.groupBy("reason").count().collect()}
    result = SparkClean(customers, quarantine, counts, reasons, combined)
    if not result.balanced:  # a cleaner invariant; fail loudly rather than hand on a table that lost rows
        raise InputError(f"Spark cleaning lost rows: {counts}; report this with the export's schema")
    return result
