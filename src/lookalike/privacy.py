"""Erasure on request: remove one customer from everything Lookalike wrote, and log it.

:func:`forget_customer` takes a customer id (made canonical by the cleaner's rule,
:func:`lookalike.cleaning.ids.canonical_id`) and removes that customer from

* **tables on disk** under the workspace (``home``): clean tables, quarantines, audiences,
  channel and ad-platform export files (``.parquet``, ``.csv``, ``.xlsx``) — every row whose id
  column (``customer_id``, its configured aliases, or an export header fed by ``customer_id``
  such as Meta's ``extern_id``) is the customer, plus rows of hashed ad files (Google) whose
  SHA-256 email/phone is the customer's, computed from the clean tables' contact columns;
* **audience manifests**: the seed list loses the id, and the audience's row count, ranked-id
  digest and file checksum are rewritten so the audience still verifies;
* **fitted models** (``manifest.json`` + ``customers.parquet`` + ``features.npy``): refit with the
  same parameters on the table without the customer (features are scaled on the whole table, so
  dropping one row without refitting would leave features the model can no longer reproduce);
* **other JSON and text files** (quality reports, diagnostics, ``source.json``): the id is removed
  from lists and replaced by ``[erased]`` in text;
* **the clean-table cache** (``cache_dir``, else ``LOOKALIKE_CACHE_DIR``, else ``<home>/cache`` — the
  default of ``lookalike clean``, inside the workspace; nothing outside it is searched unless told):
  entries holding the customer are deleted (they are rebuilt from the raw file on the next run);
* **the campaign store**: the customer's assignments and outcomes, and the id in stored audience
  manifests, in one transaction that also writes the ``erasure_log`` row (SHA-256 of the
  canonical id, never the id; counts per place in ``details``).

Each file is rewritten atomically (:func:`lookalike.io.atomic_path`); each export log next to a
rewritten export file gets an ``erasure`` record with the files' new checksums. Running it again
removes nothing and is logged again. Files already uploaded to a vendor cannot be recalled: ask
the vendor to delete them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookalike.audience.manifest import MANIFEST_KIND, audience_digest
from lookalike.campaigns.store import delete_customer_rows, write_transaction
from lookalike.cleaning.ids import canonical_id, canonical_ids
from lookalike.config import ColumnMapping, load_toml
from lookalike.config.settings import Settings
import lookalike.database as db
from lookalike.errors import InputError, ParameterError
from lookalike.export import load_export_profiles, log_rewrite, normalize_email, normalize_phone, sha256_hex
from lookalike.finder import MODEL_FORMAT, LookalikeFinder
from lookalike.io import (atomic_path, file_digest, find_header_row, read_csv, read_sheets, write_csv, write_table,
                          write_text)

logger = logging.getLogger(__name__)

__all__ = ["ErasureReport", "customer_key", "forget_customer", "redact_json"]

ERASED = "[erased]"
_TABLES = (".parquet", ".pq", ".csv", ".xlsx")
#: Delimited text that may be a table (an upload): rows removed when it has an id column, else text redaction.
_DELIMITED = (".txt", ".tsv")
_TEXT = (".md", ".html", ".htm", ".txt", ".svg", ".toml", ".log")
#: Files Lookalike draws or writes from numbers only (plots, feature arrays): no id can be in them, and
#: searching their compressed bytes for a short id finds it by chance.
_NO_IDS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".npy")
#: Compressed or binary spreadsheet formats this module cannot search or rewrite: reported, never passed over.
_OPAQUE = (".gz", ".zip", ".bz2", ".xz", ".7z", ".xls", ".xlsb", ".xlsm", ".ods")
_SKIP_SUFFIXES = (".db", ".db-journal", ".db-wal", ".db-shm", ".sqlite", ".tmp")


def customer_key(canonical: str) -> str:
    """SHA-256 (hex) of a canonical customer id: what the erasure log stores instead of the id.

    >>> customer_key("C000001") == hashlib.sha256(b"C000001").hexdigest()
    True
    """
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class ErasureReport:
    """What :func:`forget_customer` removed, per place (never the id itself)."""

    customer_key: str
    files: dict[str, int] = field(default_factory=dict)        # path relative to home -> rows removed
    redacted: dict[str, int] = field(default_factory=dict)     # JSON/text file -> occurrences removed
    models_refit: list[str] = field(default_factory=list)
    cache_entries_removed: int = 0
    database: dict[str, int] = field(default_factory=dict)
    unhandled: list[str] = field(default_factory=list)         # files that still contain the id
    log_id: int | None = None

    @property
    def total(self) -> int:
        """Rows and occurrences removed everywhere (0 on a second run)."""
        return (sum(self.files.values()) + sum(self.redacted.values()) + len(self.models_refit)
                + self.cache_entries_removed + sum(self.database.values()))

    def to_dict(self) -> dict:
        """Plain values, JSON-ready (this is what ``erasure_log.details`` holds, without ``log_id``)."""
        return {"files": self.files, "redacted": self.redacted, "models_refit": self.models_refit,
                "cache_entries_removed": self.cache_entries_removed,
                "database": self.database,
                "unhandled": self.unhandled, "total": self.total}


# --------------------------------------------------------------------------- matching


def _canonical(value: object) -> str:
    cid = canonical_id(value)
    if not cid or pd.isna(value):
        raise ParameterError(f"customer id {value!r} is empty; pass the id as it appears in the data")
    return cid


def _id_columns() -> set[str]:
    """Lower-case column names that hold customer ids: customer_id, its aliases, export headers fed by it."""
    names = {"customer_id", "extern_id", "external_id"}
    try:
        aliases = load_toml(None, "columns.toml", "column mapping").get("columns", {}).get("customer_id", [])
        names.update(_column_key(v) for v in aliases)
    except Exception:  # the aliases only widen the search; the defaults still apply
        logger.debug("columns.toml aliases not loaded", exc_info=True)
    for spec in load_export_profiles().values():
        names.update(_column_key(c.header) for c in spec.columns if c.source == "customer_id")
    return names


def _matches(col: pd.Series, cid: str) -> np.ndarray:
    """Rows of ``col`` whose id is ``cid`` by the cleaner's rule (vectorized; unique values parsed once)."""
    return np.asarray(canonical_ids(col.astype(object)) == cid, dtype=bool)


def _column_key(name: object) -> str:
    """A column name compared as columns.toml does: lower case, accents removed, runs of spaces,
    hyphens and dots as "_" ("Customer ID" and "customer-id" are customer_id)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().strip().lower()
    return re.sub(r"[\s.\-]+", "_", text)


def _id_mask(df: pd.DataFrame, cid: str, id_cols: set[str], hashes: set[str]) -> np.ndarray:
    mask = np.zeros(len(df), dtype=bool)
    for i, name in enumerate(df.columns):
        col = df.iloc[:, i]
        if _column_key(name) in id_cols:
            mask |= _matches(col, cid)
        elif hashes and (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            mask |= col.astype("string").str.strip().str.lower().isin(hashes).to_numpy(dtype=bool, na_value=False)
    return mask


def _contact_hashes(tables: Iterable[pd.DataFrame]) -> set[str]:
    """SHA-256 of the customer's normalised email and phone (as ad-platform files hash them)."""
    out: set[str] = set()
    for row in tables:
        if "email" in row.columns:
            out.update(sha256_hex(normalize_email(row["email"])).dropna().tolist())
        if "phone" in row.columns:
            region = row["country"] if "country" in row.columns else None
            e164 = normalize_phone(row["phone"], regions=region) if region is not None else normalize_phone(row["phone"])
            e164 = e164.dropna().astype(str)
            out.update(sha256_hex(pd.concat([e164, e164.str.lstrip("+")])).dropna().tolist())
    return {h.lower() for h in out}


# --------------------------------------------------------------------------- JSON / text


def redact_json(doc: Any, cid: str) -> tuple[Any, int]:
    """``doc`` without the id ``cid``: list items dropped, dict keys dropped, other values ``[erased]``.

    A ``{"ids": [...], "count": n}`` mapping (seed lists) gets its count lowered too.

    >>> redact_json({"seeds": {"ids": ["C1", " c2 "], "count": 2}, "note": "C2"}, "C2")
    ({'seeds': {'ids': ['C1'], 'count': 1}, 'note': '[erased]'}, 2)
    """
    def hit(v: Any) -> bool:
        return isinstance(v, (str, int)) and not isinstance(v, bool) and canonical_id(v) == cid

    if isinstance(doc, list):
        kept, n = [], 0
        for item in doc:
            if hit(item):
                n += 1
                continue
            item, k = redact_json(item, cid)
            kept.append(item)
            n += k
        return kept, n
    if isinstance(doc, dict):
        out, n = {}, 0
        for key, value in doc.items():
            if hit(key):
                n += 1
                continue
            if hit(value) and not isinstance(value, int):
                out[key], n = ERASED, n + 1
                continue
            out[key], k = redact_json(value, cid)
            n += k
        if isinstance(doc.get("ids"), list) and isinstance(doc.get("count"), int):
            out["count"] = len(out["ids"])
        return out, n
    return doc, 0


def _id_regex(cid: str) -> re.Pattern:
    # word-bounded and case-insensitive: "C00012" must not hit inside "C000123"
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(cid)}(?![0-9A-Za-z])", re.IGNORECASE)


# --------------------------------------------------------------------------- files


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict]:
    # every cell as its exact text, undecodable bytes refused: the rewrite changes nothing but the removed rows
    return read_csv(path, na="none", strict=True, what="the table")


def _redact_cells(df: pd.DataFrame, mask: np.ndarray, cid: str) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Text cells of the kept rows that mention the id (free-text notes): the id becomes ``[erased]``.

    Returns the new frame and the (row, column) positions changed."""
    pattern = _id_regex(cid)
    changed: list[tuple[int, int]] = []
    out = df
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
            continue
        text = col.astype("string")
        hit = text.str.contains(pattern, na=False).to_numpy(dtype=bool) & ~mask
        if hit.any():
            if out is df:
                out = df.copy()
            out.iloc[np.flatnonzero(hit), j] = text[hit].str.replace(pattern, ERASED, regex=True).to_numpy()
            changed += [(int(i), j) for i in np.flatnonzero(hit)]
    return out, changed


def _rewrite_table(path: Path, cid: str, id_cols: set[str], hashes: set[str]) -> tuple[int, int] | None:
    """Remove the customer's rows from one table file, atomically; returns (rows removed, cells redacted).

    A delimited text file (``.txt``, ``.tsv``) without an id column is not a table of customers: None."""
    ext = path.suffix.lower()
    if ext == ".xlsx":
        return _rewrite_xlsx(path, cid, id_cols, hashes)
    if ext in (".parquet", ".pq"):
        df = pd.read_parquet(path)
        mask = _id_mask(df, cid, id_cols, hashes)
        df, cells = _redact_cells(df, mask, cid)
        if mask.any() or cells:
            write_table(df[~mask], path)
        return int(mask.sum()), len(cells)
    if ext in _DELIMITED:
        try:
            df, meta = _read_csv(path)
        except InputError:  # not a table (prose with commas, ragged lines): redacted as text
            return None
        if not any(_column_key(c) in id_cols for c in df.columns):
            return None
    else:
        df, meta = _read_csv(path)
    mask = _id_mask(df, cid, id_cols, hashes)
    df, cells = _redact_cells(df, mask, cid)
    if mask.any() or cells:
        sep = meta["delimiter"]
        write_csv(df[~mask], path, escape=False, sep=sep, encoding=meta["encoding"], lineterminator="\n",
                  preamble=f"sep={sep}\n" if meta.get("sep_line") else None)
    return int(mask.sum()), len(cells)


def _rewrite_xlsx(path: Path, cid: str, id_cols: set[str], hashes: set[str]) -> tuple[int, int]:
    """Every sheet: rows of the customer deleted, the id redacted in other cells (title rows included).

    The header of each sheet is found as the reader finds it (:func:`lookalike.io.find_header_row`:
    it may sit below title rows); rows are numbered as Excel numbers them (the frame starts at A1)."""

    mapping = ColumnMapping.load()
    sheets = read_sheets(path)
    hits: dict[str, list[int]] = {}
    cells: dict[str, list[tuple[int, int]]] = {}
    for name, raw in sheets.items():
        if raw.empty:
            continue
        h = find_header_row(raw, mapping) or 0
        df = raw.iloc[h + 1:].reset_index(drop=True)
        df.columns = [f"Unnamed: {j}" if pd.isna(v) else str(v) for j, v in enumerate(raw.iloc[h])]
        mask = _id_mask(df, cid, id_cols, hashes)
        top = _redact_cells(raw.iloc[:h + 1].reset_index(drop=True), np.zeros(h + 1, dtype=bool), cid)[1]
        hits[name] = [int(r) + h + 2 for r in np.flatnonzero(mask)]  # Excel row numbers (1-based)
        cells[name] = [(r + 1, c + 1) for r, c in top] + [(r + h + 2, c + 1) for r, c in _redact_cells(df, mask, cid)[1]]
    n, k = sum(len(v) for v in hits.values()), sum(len(v) for v in cells.values())
    if not (n or k):
        return 0, 0
    from openpyxl import load_workbook

    wb = load_workbook(path)
    pattern = _id_regex(cid)
    for name, rows in hits.items():
        ws = wb[name]
        for r, c in cells[name]:  # before deleting rows: positions are those of the sheet read above
            cell = ws.cell(row=r, column=c)
            cell.value = pattern.sub(ERASED, str(cell.value))
        for r in sorted(rows, reverse=True):  # bottom-up: row numbers above stay valid
            ws.delete_rows(r)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return n, k


def _rewrite_json(path: Path, cid: str, extra: dict | None = None) -> int:
    text = path.read_text("utf-8")
    if path.suffix == ".jsonl":
        lines, n = [], 0
        for line in text.splitlines():
            if line.strip():
                doc, k = redact_json(json.loads(line), cid)
                line, n = json.dumps(doc, sort_keys=True, ensure_ascii=False), n + k
            lines.append(line)
        if n:
            write_text(path, "\n".join(lines) + "\n")
        return n
    doc, n = redact_json(json.loads(text), cid)
    if extra:
        doc.update(extra)
    if n or extra:
        write_text(path, json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, default=str) + "\n")
    return n


def _rewrite_text(path: Path, cid: str) -> int:
    text = path.read_text("utf-8", errors="surrogateescape")
    new, n = _id_regex(cid).subn(ERASED, text)
    if n:
        write_text(path, new)
    return n


def _is_model_dir(d: Path) -> bool:
    m = d / "manifest.json"
    if not (m.is_file() and (d / "customers.parquet").is_file() and (d / "features.npy").is_file()):
        return False
    try:
        return json.loads(m.read_text("utf-8")).get("format") == MODEL_FORMAT
    except (ValueError, OSError):
        return False


def _refit_model(d: Path, cid: str) -> bool:
    """Refit the model in ``d`` without the customer (same parameters); False if it is not in it."""

    table = pd.read_parquet(d / "customers.parquet", columns=["customer_id"])
    if not _matches(table["customer_id"], cid).any():
        return False
    old = LookalikeFinder.load(d)
    keep = ~_matches(old.customers_["customer_id"], cid)
    new = LookalikeFinder(features=old.spec_, weights=old.weights, scorer=old.scorer, index=old.index,
                          recall_floor=old.recall_floor, on_low_recall=old.on_low_recall)
    new.fit(old.customers_[keep].reset_index(drop=True))
    new.save(d)
    return True


def _audience_units(files: list[Path]) -> dict[Path, Path]:
    """Audience file -> its manifest (audience manifests name their file in ``files``)."""
    units: dict[Path, Path] = {}
    for m in files:
        if not m.name.endswith(".manifest.json"):
            continue
        try:
            doc = json.loads(m.read_text("utf-8"))
        except (ValueError, OSError):
            continue
        if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND:
            continue
        stem = m.name[: -len(".manifest.json")]
        for cand in [m.with_name(n) for n in (doc.get("files") or {})] + [
                m.with_name(stem + s) for s in (".parquet", ".csv")]:
            if cand.is_file():
                units[cand] = m
                break
    return units


def _manifest_update(audience_path: Path, manifest_path: Path) -> dict:
    doc = json.loads(manifest_path.read_text("utf-8"))
    df = (pd.read_parquet(audience_path) if audience_path.suffix.lower() in (".parquet", ".pq")
          else read_csv(audience_path, dtype={"customer_id": str}, na="pandas", what="the audience")[0])
    aud = dict(doc.get("audience") or {})
    aud.update(rows=len(df), sha256=audience_digest(df))
    files = dict(doc.get("files") or {})
    if audience_path.name in files:
        files[audience_path.name] = file_digest(audience_path, "sha256")
    return {"audience": aud, "files": files} if files else {"audience": aud}


def _nearest_export_log(path: Path, home: Path) -> Path | None:
    d = path.parent
    while True:
        log = d / "export_log.jsonl"
        if log.is_file():
            return log
        if d == home or d.parent == d or home not in d.parents:
            return None
        d = d.parent


def _walk(root: Path, skip_dir: Path | None = None) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES)
                  and not (skip_dir is not None and skip_dir in p.parents)
                  and not p.name.startswith(".session_secret"))


def _scan_files(home: Path, cid: str, report: ErasureReport, actor: str, cache: Path | None = None) -> None:
    id_cols = _id_columns()
    files = _walk(home, cache)  # the cache's entries are deleted whole by _scan_cache, never rewritten
    models = sorted({p.parent for p in files if p.name == "manifest.json" and _is_model_dir(p.parent)})
    # contact hashes first, from the clean tables that still hold the customer's row
    rows = []
    for p in files:
        if p.name == "customers.parquet":
            df = pd.read_parquet(p)
            if "customer_id" in df.columns:
                rows.append(df[_matches(df["customer_id"], cid)])
    hashes = _contact_hashes(rows)
    for d in models:
        try:
            if _refit_model(d, cid):
                report.models_refit.append(str(d.relative_to(home)))
        except Exception as exc:  # a damaged model must not stop the erasure elsewhere: reported instead
            report.unhandled.append(f"{d.relative_to(home)} (cannot be refit: {_short(exc)})")
    model_files = {d / n for d in models for n in ("manifest.json", "customers.parquet", "features.npy")}
    audiences = _audience_units(files)
    rewritten_exports: dict[tuple[Path, str], list[dict]] = {}
    for p in files:
        if p in model_files or p in audiences.values() or not p.exists():
            continue
        rel = str(p.relative_to(home))
        try:
            _scan_one(p, rel, home, cid, id_cols, hashes, audiences, report, rewritten_exports)
        except Exception as exc:  # unreadable or damaged file: it may hold the id, so it is reported
            report.unhandled.append(f"{rel} (cannot be read: {_short(exc)})")
    for m in set(audiences.values()):  # manifests whose audience did not need a rewrite
        if m.exists() and str(m.relative_to(home)) not in report.redacted:
            k = _rewrite_json(m, cid)
            if k:
                report.redacted[str(m.relative_to(home))] = k
    for (log, audience), entries in rewritten_exports.items():
        log_rewrite(log, audience, entries, user=actor, reason="erasure")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:150] if text else ''}"


def _scan_one(p: Path, rel: str, home: Path, cid: str, id_cols: set[str], hashes: set[str],
              audiences: dict[Path, Path], report: ErasureReport,
              rewritten_exports: dict[tuple[Path, str], list[dict]]) -> None:
    """Erase the customer from one file (by kind); records what changed in ``report``."""
    ext = p.suffix.lower()
    table = _rewrite_table(p, cid, id_cols, hashes) if ext in _TABLES or ext in _DELIMITED else None
    if table is not None:
        n, cells = table
        if cells:
            report.redacted[rel] = cells
        if p in audiences:  # rewrite its manifest: seeds, row count, digests
            m = audiences[p]
            k = _rewrite_json(m, cid, _manifest_update(p, m) if (n or cells) else None)
            if k:
                report.redacted[str(m.relative_to(home))] = k
        if n:
            report.files[rel] = n
            log = _nearest_export_log(p, home)
            if log is not None and ext == ".csv":
                rewritten_exports.setdefault((log, p.parent.name), []).append(
                    {"file": p.name, "rows": len(_read_csv(p)[0]), "rows_removed": n,
                     "sha256": file_digest(p, "sha256")})
    elif ext in (".json", ".jsonl"):
        try:
            n = _rewrite_json(p, cid)
        except (ValueError, UnicodeDecodeError):
            n = _rewrite_text(p, cid)
        if n:
            report.redacted[rel] = n
    elif ext in _TEXT or ext in _DELIMITED:
        n = _rewrite_text(p, cid)
        if n:
            report.redacted[rel] = n
    elif ext in _OPAQUE:  # a format that cannot be searched or rewritten here: never passed over silently
        report.unhandled.append(f"{rel} (a {ext} file cannot be searched or rewritten by forget: delete it, or "
                                "unpack it into the workspace and run forget again)")


def _scan_cache(cache_dir: Path, cid: str) -> int:
    """Delete clean-table cache entries (directories) that hold the customer."""
    removed = 0
    root = cache_dir / "clean"
    if not root.is_dir():
        return 0
    for entry in sorted(d for d in root.iterdir() if d.is_dir()):
        for table in entry.glob("*.parquet"):
            df = pd.read_parquet(table)
            if "customer_id" in df.columns and _matches(df["customer_id"], cid).any():
                shutil.rmtree(entry)
                removed += 1
                break
    return removed


def _leftovers(home: Path, cid: str, skip: set[Path], cache: Path | None = None) -> list[str]:
    """Files under ``home`` whose bytes still contain the id: binary files no rule above rewrites, and
    SQLite databases other than the one being cleaned (``skip``), e.g. ``out/campaigns.db`` of the demo."""
    pattern = re.compile(rb"(?<![0-9A-Za-z])" + re.escape(cid.encode()) + rb"(?![0-9A-Za-z])", re.IGNORECASE)
    out = []
    for p in sorted(q for q in home.rglob("*") if q.is_file() and not q.name.endswith(".tmp")
                    and not (cache is not None and cache in q.parents)):
        ext = p.suffix.lower()
        if ext in (".parquet", ".pq", ".xlsx", *_OPAQUE) or p.name == ".session_secret" or p.resolve() in skip:
            continue  # compressed tables: checked by reading them above; other compressed files: reported above
        if ext in _NO_IDS:
            continue  # plots and feature arrays hold no ids: a short id found in their bytes is chance
        if pattern.search(p.read_bytes()):
            out.append(str(p.relative_to(home)))
    return out


# --------------------------------------------------------------------------- database


def _erase_in_database(engine: sa.Engine, cid: str, report: ErasureReport, actor: str) -> int:
    """Delete the customer's campaign rows and write the log row, in one transaction."""

    def work(conn: sa.Connection) -> int:
        counts = delete_customer_rows(conn, cid)
        v = db.audience_versions
        changed = 0
        for vid, manifest in conn.execute(sa.select(v.c.id, v.c.manifest)).all():
            if cid.lower() not in manifest.lower():
                continue
            doc, n = redact_json(json.loads(manifest), cid)
            if n:
                conn.execute(sa.update(v).where(v.c.id == vid).values(
                    manifest=json.dumps(doc, sort_keys=True, default=str)))
                changed += n
        counts["audience_version_manifests"] = changed
        report.database = counts
        return conn.execute(db.erasure_log.insert().values(
            customer_key=report.customer_key, requested_at=db.utcnow(), actor=actor[:100],
            details=json.dumps(report.to_dict(), sort_keys=True)).returning(db.erasure_log.c.id)).scalar_one()

    return write_transaction(engine, work, secure_delete=True)


def forget_customer(customer_id: object, *, home: str | os.PathLike[str] | None = None,
                    engine: sa.Engine | None = None, actor: str = "unknown",
                    cache_dir: str | os.PathLike[str] | None = None) -> ErasureReport:
    """Remove one customer from the workspace ``home``, the clean-table cache and the campaign store.

    ``home`` defaults to ``LOOKALIKE_HOME`` (else ``./.lookalike``); ``engine`` to the database of
    :func:`lookalike.database.open_database`; ``cache_dir`` to the settings' clean-table cache
    (``LOOKALIKE_CACHE_DIR``, else ``<home>/cache``, inside the workspace): erasure never reaches
    outside the workspace unless told to. Returns what was removed; the same counts are in
    ``erasure_log.details``.
    """
    cid = _canonical(customer_id)
    settings = Settings(home=home) if home is not None else Settings()
    root = settings.home
    if not root.is_dir():
        raise ParameterError(f"workspace {root} does not exist; pass --home DIR (the Lookalike home)")
    root = root.resolve()
    cache = Path(cache_dir if cache_dir is not None else settings.cache_dir).resolve()
    report = ErasureReport(customer_key(cid))
    _scan_files(root, cid, report, actor, cache)
    report.cache_entries_removed = _scan_cache(cache, cid)
    eng = engine if engine is not None else db.open_database()
    skip: set[Path] = set()
    if eng.dialect.name == "sqlite" and eng.url.database:
        main = Path(eng.url.database).resolve()
        skip = {main, *(main.with_name(main.name + s) for s in ("-journal", "-wal", "-shm"))}
    report.unhandled = sorted(set(report.unhandled) | set(_leftovers(root, cid, skip, cache)))
    for rel in report.unhandled:
        logger.warning("erasure: %s still contains the customer id and was not rewritten (another database: "
                       "run forget with --db for it; another file: delete it by hand)", rel)
    report.log_id = _erase_in_database(eng, cid, report, actor)
    # a SQLite database inside the workspace: the freed pages were zeroed (secure_delete); a WAL keeps
    # old page images until a checkpoint, so checkpoint it now
    if eng.dialect.name == "sqlite":
        with eng.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return report
