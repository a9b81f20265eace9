"""Cleaning an export too large to hold as raw strings: batch by batch, same rules, one result.

:func:`clean_in_chunks` runs :func:`~lookalike.cleaning.table.clean_customers` on each
batch (e.g. from :func:`lookalike.io.iter_parquet_batches`), keeps only the clean table
(numbers, categoricals, Arrow-backed strings) and the quarantine of each batch, and drops
the raw strings before the next batch is read. Then:

* **duplicates across batches** are merged with the cleaner's own rule (most complete row
  wins, ties: the later row, gaps filled from the others): an id repeated within a batch
  is merged there, its merged row is merged again with copies from other batches;
* the **quarantine** keeps the file row numbers (``row_number`` is offset by the batch's
  first row);
* the **report** sums every count over batches (per column, twins, quarantine reasons)
  and the row invariant holds: ``rows_in = kept + quarantined + duplicates_merged``.

Differences from one-shot cleaning, on purpose and reported: conventions a parser infers
from a column's unambiguous values (decimal separator, day-first dates, percent scale) are inferred per
batch, and the report lists every value seen (``notes`` values that differ between batches
become a list); ``duplicate_ids`` counts an id once per batch it repeats in, plus once if
it also repeats across batches.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from lookalike.cleaning.dates import as_of_day
from lookalike.cleaning.table import (
    _CATEGORY_COLUMNS,
    CleanResult,
    QualityReport,
    _finalize_dtypes,
    _merge_duplicates,
    clean_customers,
)
from lookalike.config import ColumnMapping
from lookalike.errors import EmptyDataError, ParameterError
from lookalike.io import iter_parquet_batches


def clean_in_chunks(batches: Iterable[pd.DataFrame], *, columns: ColumnMapping | None = None,
                    as_of: object = None) -> CleanResult:
    """Clean raw batches one at a time and combine them into one :class:`CleanResult`.

    ``as_of``: the export date of every batch (:func:`~lookalike.cleaning.table.clean_customers`; default today).

    >>> from lookalike.synth import generate
    >>> raw = generate(1200, seed=4).raw
    >>> r = clean_in_chunks(raw.iloc[i : i + 400] for i in range(0, len(raw), 400))
    >>> r.report.balanced, r.report.rows_in == len(raw)
    (True, True)
    """
    mapping = columns or ColumnMapping.load()
    as_of = as_of_day(as_of if as_of is not None else pd.Timestamp.today())  # one day for every batch

    def cleaned() -> Iterator[CleanResult]:
        offset = 0
        for batch in batches:
            if len(batch) == 0:
                continue
            first_row = int(batch.attrs.get("read", {}).get("first_row", offset + 1))
            offset = first_row - 1 + len(batch)
            yield _clean_batch(batch, first_row, mapping, as_of)

    return _combine(cleaned())


def clean_parquet(path: str | os.PathLike[str], *, batch_size: int = 1_000_000, workers: int = 1,
                  columns: ColumnMapping | None = None, as_of: object = None) -> CleanResult:
    """Clean a parquet export in batches of about ``batch_size`` rows, in ``workers`` processes.

    With ``workers > 1`` each process reads and cleans whole row groups itself (no raw
    strings cross process boundaries); results are combined in file order, so the output
    is the same as with one worker.
    """
    mapping = columns or ColumnMapping.load()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a whole number >= 1, got {workers!r}")
    as_of = as_of_day(as_of if as_of is not None else pd.Timestamp.today())
    if workers == 1:
        return clean_in_chunks(iter_parquet_batches(path, batch_size, columns=mapping), columns=mapping, as_of=as_of)
    import pyarrow.parquet as pq

    next(iter_parquet_batches(path, 1, columns=mapping), None)  # same checks and errors as one worker
    meta = pq.ParquetFile(path).metadata
    tasks, group, rows, first = [], [], 0, 1
    for g in range(meta.num_row_groups):  # whole row groups, about batch_size rows per task
        group.append(g)
        rows += meta.row_group(g).num_rows
        if rows >= batch_size or g == meta.num_row_groups - 1:
            tasks.append((str(path), group, first))
            first += rows
            group, rows = [], 0
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding OpenMP threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        results = pool.map(_clean_row_groups, tasks, [mapping] * len(tasks), [as_of] * len(tasks))
        return _combine(results)


def _clean_row_groups(task: tuple[str, list[int], int], mapping: ColumnMapping, as_of: pd.Timestamp) -> CleanResult:
    import pyarrow.parquet as pq

    path, groups, first_row = task
    raw, renamed = mapping.apply(pq.ParquetFile(path).read_row_groups(groups).to_pandas())
    raw.attrs["read"] = {"source": path, "format": "parquet", "renamed_columns": renamed}
    return _clean_batch(raw, first_row, mapping, as_of)


def _clean_batch(batch: pd.DataFrame, first_row: int, mapping: ColumnMapping, as_of: pd.Timestamp) -> CleanResult:
    """One batch cleaned, quarantine row numbers counted from the start of the file."""
    result = clean_customers(batch.reset_index(drop=True), columns=mapping, as_of=as_of)
    q = result.quarantine
    if len(q):
        q = q.assign(row_number=q["row_number"] + (first_row - 1))
    return CleanResult(result.customers, q, result.report)


def _combine(results: Iterable[CleanResult]) -> CleanResult:
    parts: list[pd.DataFrame] = []
    quarantines: list[pd.DataFrame] = []
    reports: list[QualityReport] = []
    for result in results:  # only clean tables are kept: each batch's raw strings are gone by now
        parts.append(result.customers)
        if len(result.quarantine):
            quarantines.append(result.quarantine)
        reports.append(result.report)
    if not reports:
        raise EmptyDataError("the export has no rows; export the customer table again")
    customers = _concat_clean(parts)
    del parts
    customers, merged_rows, dup_ids, conflicts = _merge_across(customers)
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else _empty_quarantine(reports)
    report = _combine_reports(reports, len(customers), len(quarantine), merged_rows, dup_ids, conflicts)
    return CleanResult(customers=customers, quarantine=quarantine, report=report)


def _concat_clean(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate clean batches keeping categorical columns categorical (categories unioned)."""
    cats = {c: sorted(set().union(*(p[c].cat.categories for p in parts if c in p)))
            for c in _CATEGORY_COLUMNS if all(c in p and isinstance(p[c].dtype, pd.CategoricalDtype) for p in parts)}
    aligned = [p.assign(**{c: p[c].cat.set_categories(v) for c, v in cats.items()}) for p in parts]
    return pd.concat(aligned, ignore_index=True)


def _merge_across(customers: pd.DataFrame) -> tuple[pd.DataFrame, int, int, int]:
    """Merge ids repeated across batches with the cleaner's rule; only the repeated rows are touched."""
    dup = customers["customer_id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return customers, 0, 0, 0
    rows = customers.loc[dup]
    merged, merged_rows, dup_ids, conflicts = _merge_duplicates(rows)
    merged = _finalize_dtypes(merged)
    for c in _CATEGORY_COLUMNS:
        if c in merged and isinstance(customers[c].dtype, pd.CategoricalDtype):
            union = customers[c].cat.categories.union(merged[c].cat.categories)
            customers[c] = customers[c].cat.set_categories(union)
            merged[c] = merged[c].cat.set_categories(union)
    firsts = np.flatnonzero(dup & ~customers["customer_id"].duplicated(keep="first").to_numpy())
    merged.index = firsts  # _merge_duplicates returns merged ids in order of first appearance
    out = pd.concat([customers.loc[~dup], merged]).sort_index(kind="stable").reset_index(drop=True)
    return out, merged_rows, dup_ids, conflicts


def _add(a: object, b: object) -> object:
    """Combine two report values: numbers add up, dicts merge by key, differing others become a list."""
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) or bool(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if a == b:
        return a
    seen = a if isinstance(a, list) else [a]
    return seen + [v for v in (b if isinstance(b, list) else [b]) if v not in seen]


def _combine_reports(reports: list[QualityReport], kept: int, quarantined: int, merged_rows: int,
                     dup_ids: int, conflicts: int) -> QualityReport:
    rows_in = sum(r.rows_in for r in reports)
    columns: dict[str, dict] = {}
    for r in reports:
        for col, rep in r.columns.items():
            rep = {k: v for k, v in rep.items() if k not in ("parsed_share", "all_missing")}
            columns[col] = _add(columns[col], rep) if col in columns else dict(rep)
    for col, rep in columns.items():
        rep["parsed_share"] = round(rep["parsed"] / rows_in, 6) if rows_in else 0.0
        if rep.get("missing") == rows_in:
            rep["all_missing"] = True
    twins: dict[str, dict] = {}
    reasons: dict[str, int] = {}
    for r in reports:
        twins = _add(twins, r.twins)
        reasons = _add(reasons, r.quarantine_reasons)
    first = reports[0]
    read = {k: v for k, v in first.read.items() if k != "first_row"}
    read["batches"] = len(reports)
    return QualityReport(
        rows_in=rows_in,
        rows_kept=kept,
        rows_quarantined=quarantined,
        duplicates_merged=sum(r.duplicates_merged for r in reports) + merged_rows,
        duplicate_ids=sum(r.duplicate_ids for r in reports) + dup_ids,
        duplicate_conflicts=sum(r.duplicate_conflicts for r in reports) + conflicts,
        quarantine_reasons={str(k): int(v) for k, v in reasons.items()},
        columns=columns,
        twins=twins,
        ignored_columns=first.ignored_columns,
        missing_columns=first.missing_columns,
        read=read,
    )


def _empty_quarantine(reports: list[QualityReport]) -> pd.DataFrame:
    return pd.DataFrame(columns=["row_number", "reason"])
