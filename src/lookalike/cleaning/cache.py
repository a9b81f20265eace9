"""Read + clean a file once: the clean result is cached under its content hash.

Re-reading an export that has not changed loads ``customers.parquet``,
``quarantine.parquet`` and ``quality.json`` from ``cache_dir/<key>/`` instead of
parsing the file again. The key covers the file's bytes, the column mapping and a
fingerprint of the cleaning code and its configuration (:func:`code_fingerprint`), so a
changed file, mapping, parser, reader or vocabulary never hits a stale entry. The key also covers the
export date signup dates are checked against (today unless given), so an entry serves one day.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

import pandas as pd

from lookalike.cleaning.dates import as_of_day
from lookalike.cleaning.table import CleanResult, QualityReport, clean_customers
from lookalike.config import ColumnMapping
from lookalike.io import atomic_path, file_digest, read_customers

_FILES = ("customers.parquet", "quarantine.parquet", "quality.json")


#: Parts of the package whose code decides a clean result: the cleaner itself, the reader (``io``,
#: a module or a package) and the mapping/TOML loader (``config``), as paths relative to ``lookalike/``.
_CODE = ("cleaning", "io", "config")
#: Packaged configuration the cleaner reads when no file is passed (the mapping's own file is also
#: covered by the mapping's contents in the key).
_CONFIG = ("config/columns.toml", "config/vocabulary.toml")
#: Libraries whose behaviour is part of the result: file readers, encoding detection, dtype inference.
_LIBRARIES = ("pandas", "numpy", "pyarrow", "python-calamine", "charset-normalizer", "babel")  # babel: CLDR currencies
#: Bumped when the layout of a cache entry changes.
_ENTRY_FORMAT = "1"


def cleaning_sources() -> dict[str, Path]:
    """The files whose content decides a clean result, by their path relative to the ``lookalike`` package."""
    package = Path(__file__).resolve().parents[1]
    files: list[Path] = []
    for part in _CODE:
        where = package / part
        files += sorted(where.rglob("*.py")) if where.is_dir() else [where.with_suffix(".py")]
    files += [package / c for c in _CONFIG]
    return {p.relative_to(package).as_posix(): p for p in files if p.is_file()}


@functools.cache  # once per process: the files do not change under a running cleaner
def code_fingerprint() -> str:
    """Hash of the cleaning code, its packaged configuration and the reader libraries' versions.

    Any edit to a parser, the reader or the vocabulary gives a new fingerprint, so cached clean
    tables made by other code are never served (the package version stays 0.1.0 across commits).
    """
    h = hashlib.blake2b(digest_size=20)
    h.update(_ENTRY_FORMAT.encode())
    for name, path in sorted(cleaning_sources().items()):
        h.update(f"\0{name}\0".encode())
        h.update(path.read_bytes())
    for lib in _LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"\0{lib}=={version}".encode())
    return h.hexdigest()


def cache_key(path: str | os.PathLike[str], mapping: ColumnMapping, as_of: object = None) -> str:
    """Key of a file's clean result: content digest + column mapping + export date + :func:`code_fingerprint`."""
    h = hashlib.blake2b(digest_size=20)
    h.update(file_digest(path).encode())
    h.update(repr((sorted(mapping.aliases.items()), mapping.required, mapping.any_of)).encode())
    h.update(_export_day(as_of).strftime("%Y-%m-%d").encode())
    h.update(code_fingerprint().encode())
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
