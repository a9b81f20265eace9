"""Writing synthetic exports of any size to .parquet, .csv or .xlsx, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError, UnsupportedFormatError
from lookalike.io import atomic_path
from lookalike.synth.render import check_render, render_arrays, render_options
from lookalike.synth.truth import check_n, check_seed, id_width, sample_arrays

__all__ = ["XLSX_MAX_ROWS", "write_synthetic"]

XLSX_MAX_ROWS = 1_048_575
"""Data rows an .xlsx sheet holds (1,048,576 rows minus the header)."""

_FORMATS = (".parquet", ".csv", ".xlsx")


def _parquet_schema(columns: list[str]) -> Any:
    import pyarrow as pa

    typed = {"age": pa.int64(), "days_since_last_purchase": pa.int64(), "pct_reordered": pa.float64()}
    return pa.schema([pa.field(c, typed.get(c, pa.string()), nullable=True) for c in columns])


def _arrow_table(raw: pd.DataFrame, schema: Any) -> Any:
    """The raw chunk as an Arrow table: object columns as ``str()`` of each value, None as null."""
    import pyarrow as pa

    na_strings = np.dtypes.StringDType(na_object=None)
    arrays = []
    for field in schema:
        col = raw[field.name]
        if col.dtype == object:
            values = col.to_numpy()
            try:  # columns of text and blanks go straight to Arrow
                arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers/booleans among the text
                arrays.append(pa.array(values.astype(na_strings), type=pa.string()))
        else:
            arrays.append(pa.array(col, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_synthetic(
    path: str | Path,
    n: int,
    seed: int = 1,
    *,
    chunk_size: int = 100_000,
    contact: bool = False,
    progress: Callable[[int], None] | None = None,
    **render_kwargs: Any,
) -> Path:
    """Write a synthetic raw export of ``n`` customers to ``.parquet``, ``.csv`` or ``.xlsx``.

    Customers are generated ``chunk_size`` at a time (chunk ``i`` from
    ``SeedSequence([seed, i, ...])``, ids continuing across chunks, duplicates placed
    within their chunk), so exports of 10M rows never hold more than one chunk of raw
    strings. The file is deterministic for a given ``(n, seed, chunk_size)`` and
    options; with ``n <= chunk_size`` it holds exactly ``generate(n, seed).raw``.
    The file is written under a temporary name and moved into place when complete
    (:func:`lookalike.io.atomic_path`).

    Formats:
        * ``.parquet`` (pyarrow ``ParquetWriter``, one row group per chunk). Mixed
          columns cannot be typed in parquet, so the schema is fixed: ``age`` and
          ``days_since_last_purchase`` are nullable int64, ``pct_reordered`` float64,
          every other column a nullable string holding ``str()`` of the exported value
          (``45320``, ``"$2,464.06"``, ``"True"``); blanks are null, ``""`` stays ``""``.
        * ``.csv``: UTF-8 (no BOM), comma-separated, header once, ``\\n`` line ends,
          appended chunk by chunk.
        * ``.xlsx``: xlsxwriter in ``constant_memory`` mode, one sheet ``customers``;
          numbers and booleans stay typed cells. At most :data:`XLSX_MAX_ROWS` rows:
          larger ``n`` raises :class:`~lookalike.errors.ParameterError`, and near the
          limit fewer duplicate rows are added so the sheet never overflows.

    Args:
        path: output file; its extension picks the format.
        n: number of customers (raw rows are slightly more because of duplicates).
        seed: random seed.
        chunk_size: customers per chunk (and per parquet row group).
        contact: add the contact/consent columns.
        progress: called after each chunk with the number of customers written so far
            (the last call receives ``n``).
        render_kwargs: ``dirt_rate``, ``unrecoverable``, ``duplicate_rate``, ``currency``
            as in :func:`render_dirty`.

    Returns:
        The path written.

    Raises:
        UnsupportedFormatError: the extension is not .parquet, .csv or .xlsx.
        ParameterError: bad ``n``, ``seed``, ``chunk_size`` or options; ``n`` too big for .xlsx.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _FORMATS:
        raise UnsupportedFormatError(
            f"cannot write synthetic data to {str(path)!r}: unknown extension {ext or '(none)'!r}; "
            f"use {', '.join(_FORMATS)}"
        )
    n = check_n(n)
    seed = check_seed(seed)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ParameterError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if ext == ".xlsx" and n > XLSX_MAX_ROWS:
        raise ParameterError(
            f"n = {n:,} customers do not fit in an .xlsx sheet (at most {XLSX_MAX_ROWS:,} rows); "
            f"write .parquet or .csv instead"
        )
    opts = render_options({**render_kwargs, "contact": contact})
    check_render(opts["dirt_rate"], opts["duplicate_rate"], opts["currency"])
    width = id_width(n)
    spare = XLSX_MAX_ROWS - n  # rows left for duplicates in an .xlsx sheet

    def chunks() -> Any:
        for i, start in enumerate(range(0, n, chunk_size)):
            size = min(chunk_size, n - start)
            cap = spare * size // n if ext == ".xlsx" else None
            truth = sample_arrays(size, seed, i, start, width, contact=contact)
            yield start + size, render_arrays(truth, seed, i, max_duplicates=cap, with_mask=False, **opts).raw

    writer = {".parquet": _write_parquet, ".csv": _write_csv, ".xlsx": _write_xlsx}[ext]
    with atomic_path(path) as tmp:  # moved into place only when every chunk is written
        writer(tmp, chunks(), progress)
    return path


def _write_parquet(tmp: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    import pyarrow.parquet as pq

    writer = None
    try:
        for done, raw in chunks:
            if writer is None:
                schema = _parquet_schema(list(raw.columns))
                writer = pq.ParquetWriter(tmp, schema)
            table = _arrow_table(raw, schema)
            writer.write_table(table, row_group_size=max(len(table), 1))
            if progress is not None:
                progress(done)
    finally:
        if writer is not None:
            writer.close()


def _write_csv(tmp: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        for i, (done, raw) in enumerate(chunks):
            raw.to_csv(fh, header=i == 0, index=False, lineterminator="\n")
            if progress is not None:
                progress(done)


#: An .xlsx export reports its progress every this many rows written.
_XLSX_PROGRESS_ROWS = 5_000


def _write_xlsx(tmp: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}
    workbook = xlsxwriter.Workbook(str(tmp), options)
    try:
        sheet = workbook.add_worksheet("customers")
        row = 0
        before = 0  # customers written before this chunk
        for done, raw in chunks:
            if row == 0:
                sheet.write_row(0, 0, list(raw.columns))
                row = 1
            columns = [raw[c].astype(object).where(raw[c].notna(), None).to_numpy() for c in raw.columns]
            per_customer = (done - before) / max(len(raw), 1)  # the chunk's rows hold duplicates too
            for i, values in enumerate(zip(*columns)):  # xlsxwriter streams row by row
                sheet.write_row(row, 0, values)
                row += 1
                if progress is not None and i % _XLSX_PROGRESS_ROWS == _XLSX_PROGRESS_ROWS - 1:
                    progress(before + int(i * per_customer))  # writing is most of an .xlsx's time: show it
            before = done
            if progress is not None:
                progress(done)
    finally:
        workbook.close()
