"""Read + clean a file once: the clean result is cached under its content hash.

Re-reading an export that has not changed loads ``customers.parquet``,
``quarantine.parquet`` and ``quality.json`` from ``cache_dir/<key>/`` instead of
parsing the file again. The key covers the file's bytes, the column mapping and
the Lookalike version, so a changed file, mapping or cleaner never hits a stale entry; it also
covers the export date signup dates are checked against (today unless given), so an entry serves
one day.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from lookalike import __version__
from lookalike.cleaning.dates import as_of_day
from lookalike.cleaning.table import CleanResult, QualityReport, clean_customers
from lookalike.config import ColumnMapping
from lookalike.io import atomic_path, file_digest, read_customers

_FILES = ("customers.parquet", "quarantine.parquet", "quality.json")


def cache_key(path: str | os.PathLike[str], mapping: ColumnMapping, as_of: object = None) -> str:
    """Key of a file's clean result: content digest + mapping + export date + Lookalike version."""
    h = hashlib.blake2b(digest_size=20)
    h.update(file_digest(path).encode())
    h.update(repr(sorted(mapping.aliases.items())).encode())
    h.update(_export_day(as_of).strftime("%Y-%m-%d").encode())
    h.update(__version__.encode())
    return h.hexdigest()


def _export_day(as_of: object) -> pd.Timestamp:
    return as_of_day(as_of if as_of is not None else pd.Timestamp.today())


def clean_file(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    columns: ColumnMapping | str | os.PathLike[str] | None = None,
    as_of: object = None,
) -> tuple[CleanResult, bool]:
    """Read and clean ``path``; with ``cache_dir``, reuse a cached result. Returns (result, cache_hit).

    ``as_of``: the export date (:func:`~lookalike.cleaning.table.clean_customers`; default today)."""
    mapping = columns if isinstance(columns, ColumnMapping) else ColumnMapping.load(columns)
    as_of = _export_day(as_of)  # one day for the key and the cleaner, checked before any work
    if cache_dir is None:
        return clean_customers(read_customers(path, columns=mapping), columns=mapping, as_of=as_of), False
    entry = Path(cache_dir) / cache_key(path, mapping, as_of)
    if all((entry / f).is_file() for f in _FILES):
        report = QualityReport.from_dict(json.loads((entry / "quality.json").read_text("utf-8")))
        customers = pd.read_parquet(entry / "customers.parquet")
        quarantine = pd.read_parquet(entry / "quarantine.parquet")
        return CleanResult(customers, quarantine, report), True
    result = clean_customers(read_customers(path, columns=mapping), columns=mapping, as_of=as_of)
    entry.mkdir(parents=True, exist_ok=True)
    with atomic_path(entry / "customers.parquet") as tmp:
        result.customers.to_parquet(tmp, index=False)
    with atomic_path(entry / "quarantine.parquet") as tmp:
        quarantine_for_storage(result.quarantine).to_parquet(tmp, index=False)
    with atomic_path(entry / "quality.json") as tmp:  # written last: its presence marks a complete entry
        tmp.write_text(json.dumps(result.report.to_dict(), default=str), encoding="utf-8")
    return result, False


def quarantine_for_storage(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows hold raw mixed-type values; store them as text so any format can hold them."""
    out = quarantine.copy()
    for c in out.columns:
        if c != "row_number":
            out[c] = out[c].astype("string")
    return out
