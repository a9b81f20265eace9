"""Where customers come from: a fitted model directory, a clean parquet table or a raw export.

Every command and the service accept any of the three wherever customers are needed; these
functions decide which one a path is and load it. They print nothing: pass a ``progress``
object (see :class:`Progress`) to show steps — the CLI passes spinners on stderr.

>>> import tempfile, pandas as pd
>>> d = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["A"], "never_purchased": [False], "total_spent": [1.0]}).to_parquet(d + "/c.parquet")
>>> is_clean_table(d + "/c.parquet"), is_clean_table(d + "/raw.csv")
(True, False)
>>> list(load_customers(d + "/c.parquet").customer_id)
['A']
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow.parquet as pq

from lookalike.cleaning.cache import clean_file
from lookalike.cleaning.ids import canonical_ids
from lookalike.cleaning.table import CleanResult, clean_customers
from lookalike.config import ColumnMapping
from lookalike.errors import InputError, QuarantinedCustomerError, UnknownCustomerError
from lookalike.finder import LookalikeFinder
from lookalike.io import check_input_file, file_digest, parquet_metadata, read_csv, read_customers, unescape_formula

PathLike = str | os.PathLike[str]
#: Parquet metadata key of the clean run that wrote a clean table (see :func:`check_clean_set`).
RUN_KEY = "lookalike.run"
#: Columns that mark a parquet file as a clean customer table (and ``total_spent_dirty`` as a raw one).
CLEAN_MARKERS = frozenset({"customer_id", "never_purchased", "total_spent"})


class Progress(Protocol):
    """How a long load reports itself: ``step(label)`` wraps a step, ``note(message)`` adds a remark."""

    def step(self, label: str) -> AbstractContextManager[object]: ...

    def note(self, message: str) -> None: ...


class Silent:
    """A :class:`Progress` that shows nothing (the default)."""

    def step(self, label: str) -> AbstractContextManager[object]:
        return nullcontext()

    def note(self, message: str) -> None:
        return None


SILENT = Silent()


def is_clean_table(path: PathLike) -> bool:
    """True when ``path`` is a parquet file with the clean table's columns (not a raw export)."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # unreadable or not parquet: the raw reader gives the precise error later
        return False
    return CLEAN_MARKERS <= names and "total_spent_dirty" not in names


def load_clean(path: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
               progress: Progress = SILENT, sheet: int | str | None = None, as_of: object = None) -> CleanResult:
    """Read and clean a raw export; with ``cache_dir``, an unchanged file's clean table is reused.

    ``sheet`` picks a workbook's sheet (:func:`lookalike.io.read_workbook`; default: the one Excel
    opens on); a sheet named explicitly is read without the cache. ``as_of``: the export date
    (signup dates after it are flagged; default today)."""
    path = check_input_file(path)  # before the cache, which would fail on it as a file system error
    if sheet is not None:
        mapping = ColumnMapping.load(columns)
        with progress.step(f"read + clean {path.name}, sheet {sheet}"):
            return clean_customers(read_customers(path, columns=mapping, sheet=sheet), columns=mapping, as_of=as_of)
    with progress.step(f"read + clean {path.name}"):
        result, hit = clean_file(path, cache_dir=cache_dir, columns=columns, as_of=as_of)
    if hit:
        progress.note("unchanged file: clean table taken from the cache")
    return result


def load_model(path: PathLike, *, progress: Progress = SILENT) -> LookalikeFinder:
    """A saved model directory."""
    with progress.step(f"load model {path}"):
        return LookalikeFinder.load(path)


def load_customers(source: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
                   progress: Progress = SILENT, sheet: int | str | None = None) -> pd.DataFrame:
    """The clean customer table of a model directory, a clean parquet table or a raw export (``sheet``: of a workbook)."""
    source = Path(source)
    if source.is_dir():
        return load_model(source, progress=progress).customers_
    if is_clean_table(source):
        return pd.read_parquet(source)
    return load_clean(source, columns=columns, cache_dir=cache_dir, progress=progress, sheet=sheet).customers


def load_finder(source: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
                progress: Progress = SILENT, sheet: int | str | None = None) -> LookalikeFinder:
    """A fitted finder: loaded from a model directory, else fitted on the (cleaned) customers."""
    source = Path(source)
    if source.is_dir():
        return load_model(source, progress=progress)
    customers = load_customers(source, columns=columns, cache_dir=cache_dir, progress=progress, sheet=sheet)
    with progress.step(f"fit {len(customers):,} customers"):
        return LookalikeFinder().fit(customers)


def check_clean_set(directory: PathLike) -> dict | None:
    """The ``quality.json`` of a clean directory, after checking it belongs with the files beside it.

    ``lookalike clean`` writes ``customers.parquet``, ``quarantine.csv`` and ``quality.{md,html}``,
    then ``quality.json`` with their run id and digests (:mod:`lookalike.report.outputs`). A
    directory where they disagree (a run killed half-way, files copied from two runs) is refused
    with :class:`~lookalike.errors.InputError`. None when there is no ``quality.json``.
    """
    directory = Path(directory)
    path = directory / "quality.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: not valid JSON ({exc}); run lookalike clean again") from None
    fix = "the clean run that wrote them was interrupted, or they come from different runs; run lookalike clean again"
    run = (report.get("read") or {}).get("run") if isinstance(report, dict) else None
    table = directory / "customers.parquet"
    if table.is_file():
        table_run = parquet_metadata(table).get(RUN_KEY)
        if table_run != run:
            raise InputError(f"{path} (run {run or 'not recorded'}) does not belong to {table} (run "
                             f"{table_run or 'not recorded'}): {fix}")
    for name, digest in (report.get("files") or {}).items():
        other = directory / name
        if other.is_file() and file_digest(other, "sha256") != digest:
            raise InputError(f"{other} does not match its checksum in {path}: {fix}")
    return report


def load_quality(source: PathLike, *, cache_dir: PathLike | None = None,
                 progress: Progress = SILENT, sheet: int | str | None = None) -> dict | None:
    """The quality report of ``source``: the ``quality.json`` next to it (clean dir / model dir),
    checked against the files of its run (:func:`check_clean_set`), else the report of cleaning a
    raw export; None for a clean table without one."""
    source = Path(source)
    near = (source, source.parent) if source.is_dir() else (source.parent,)
    for directory in near:
        report = check_clean_set(directory)
        if report is not None:
            return report
    if source.is_file() and not is_clean_table(source):
        return load_clean(source, cache_dir=cache_dir, progress=progress, sheet=sheet).report.to_dict()
    return None


def quarantined(source: PathLike, ids: list[str], *, cache_dir: PathLike | None = None) -> dict[str, str]:
    """Canonical id -> why its row was quarantined, for ``ids`` quarantined when ``source`` was cleaned.

    The quarantine of a raw export is its cleaning's (cached); of a clean table or a model, the
    ``quarantine.csv`` written beside it by ``lookalike clean``. Empty when there is none."""

    source = Path(source)
    table = None
    if source.is_file() and not is_clean_table(source):
        table = load_clean(source, cache_dir=cache_dir).quarantine
    else:
        near = (source / "quarantine.csv", source.parent / "quarantine.csv") if source.is_dir() else (
            source.parent / "quarantine.csv",)
        path = next((p for p in near if p.is_file()), None)
        if path is not None:
            table = read_csv(path, dtype=str, na="blank", what="the quarantine")[0]
    if table is None or not len(table) or "customer_id" not in table.columns or "reason" not in table.columns:
        return {}
    raw = table["customer_id"]
    keys = canonical_ids(unescape_formula(raw.astype("string")) if raw.dtype != object else raw)
    wanted = set(canonical_ids(ids))
    out: dict[str, str] = {}
    rows = table["row_number"].tolist() if "row_number" in table.columns else [None] * len(table)
    for key, reason, row in zip(keys, table["reason"].tolist(), rows):  # quarantined rows only: a few
        if key in wanted and key not in out:
            out[key] = f"{reason}" + (f" (file row {row})" if row is not None and str(row) != "nan" else "")
    return out


def explain_unknown(exc: UnknownCustomerError, source: PathLike, *,
                    cache_dir: PathLike | None = None) -> UnknownCustomerError:
    """``exc`` as a :class:`~lookalike.errors.QuarantinedCustomerError` when some of its ids were
    quarantined when ``source`` was cleaned (the reason is more use than "unknown"), else ``exc``."""
    try:
        reasons = quarantined(source, exc.ids, cache_dir=cache_dir)
    except Exception:  # the explanation is a courtesy: the original error stands
        return exc
    if not reasons:
        return exc

    unknown = [i for i, key in zip(exc.ids, canonical_ids(exc.ids)) if key not in reasons]
    return QuarantinedCustomerError(reasons, unknown, getattr(exc, "n_known", 0))


def fingerprint(source: PathLike) -> str:
    """What an audience was built from, for its manifest: a model's manifest digest, else the file's."""
    source = Path(source)
    if source.is_dir():
        return "model:" + file_digest(source / "manifest.json")[:32]
    return "file:" + file_digest(source)[:32]


__all__ = ["CLEAN_MARKERS", "Progress", "RUN_KEY", "SILENT", "Silent", "check_clean_set", "explain_unknown",
           "fingerprint", "quarantined",
           "is_clean_table", "load_clean",
           "load_customers", "load_finder", "load_model", "load_quality"]
