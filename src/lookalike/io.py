"""Reading raw customer exports (xlsx, csv, parquet, SQL) and writing results.

Reading never guesses silently: the detected encoding, delimiter and the
column renames are recorded in ``df.attrs["read"]`` and end up in the quality
report. Every failure is an :class:`~lookalike.errors.InputError` with a
one-line message that names the file and the fix.

One implementation of each file concern lives here: :func:`read_csv` (the only CSV
reader that detects encoding and delimiter: customer exports, order-line logs, outcome
and audience files, files rewritten on erasure), :func:`atomic_path` (every file
Lookalike writes is moved into place only when complete), :func:`write_csv` (CSV text
cells neutralised against spreadsheet formulas, :func:`escape_formula`).
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np

import pandas as pd

from lookalike.config import ColumnMapping
from lookalike.errors import EmptyDataError, InputError, ParameterError, UnsupportedFormatError

READERS = (".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".txt", ".parquet", ".pq")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 256 * 1024
_DELIMITERS = ",;\t|"
_MULTI_BYTE = ("utf", "shift_jis", "cp932", "euc", "gb", "big5", "hz", "iso2022", "cp949", "johab")
_SQL_SCHEMES = ("sqlite:", "postgresql:", "postgres:", "mysql:", "mssql:", "oracle:", "duckdb:")
# OWASP CSV injection: = + - @ (also after leading whitespace, and their full-width forms), TAB, CR.
_FORMULA = re.compile("^(?:[\t\r]|\\s*[=+\\-@\uff1d\uff0b\uff0d\uff20])")
_WHOLE_FLOAT_TEXT = re.compile(r"^([+-]?\d+)\.0+$")
#: Python-backed strings: .str methods use Python's Unicode-aware ``re`` whatever pandas' default backend.
TEXT_DTYPE = pd.StringDtype("python")


def is_sql_url(source: object) -> bool:
    """True when ``source`` looks like a SQLAlchemy database URL."""
    return isinstance(source, str) and source.lower().startswith(_SQL_SCHEMES)


def read_customers(
    source: str | os.PathLike[str],
    *,
    columns: ColumnMapping | str | os.PathLike[str] | None = None,
    query: str | None = None,
    sheet: int | str = 0,
) -> pd.DataFrame:
    """Read a raw customer export and map its column names to the contract's.

    ``source`` is a path to ``.xlsx``/``.csv``/``.parquet`` or a SQLAlchemy URL
    (then ``query`` is a SQL query or a table name). CSV files have their encoding
    and delimiter detected. Returns a DataFrame of raw values (text stays text;
    the cleaner parses it); ``df.attrs["read"]`` records how it was read.

    >>> read_customers("missing.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.InputError: cannot read missing.csv: the file does not exist...
    """
    mapping = columns if isinstance(columns, ColumnMapping) else ColumnMapping.load(columns)
    if is_sql_url(source):
        df, meta = _read_sql(str(source), query)
    else:
        df, meta = _read_file(Path(source), sheet)
    if df.shape[1] == 0:
        raise EmptyDataError(f"{meta['source']} has no columns; export the customer table with a header row")
    df, renamed = mapping.apply(df)
    meta["renamed_columns"] = renamed
    meta["rows"] = int(len(df))
    df.attrs["read"] = meta
    return df


def _read_file(path: Path, sheet: int | str) -> tuple[pd.DataFrame, dict]:
    name = str(path)
    if not path.exists():
        raise InputError(f"cannot read {name}: the file does not exist; check the path")
    if path.is_dir():
        raise InputError(f"cannot read {name}: it is a directory; pass a file (.xlsx, .csv or .parquet)")
    ext = path.suffix.lower()
    if ext not in READERS:
        raise UnsupportedFormatError(
            f"cannot read {name}: unsupported file type '{ext or '(none)'}'; "
            "use .xlsx, .csv or .parquet (or a database URL)"
        )
    if path.stat().st_size == 0:
        raise EmptyDataError(f"{name} is empty (0 bytes); export the customer table again")
    with path.open("rb") as fh:
        head = fh.read(8)
    meta: dict = {"source": name, "format": ext.lstrip(".")}
    if ext in (".xlsx", ".xlsm", ".xls"):
        if not head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
            raise UnsupportedFormatError(
                f"{name} has an Excel extension but is not an Excel workbook "
                "(maybe a CSV renamed to .xlsx); save it as .xlsx or rename it to .csv"
            )
        try:
            df = pd.read_excel(path, sheet_name=sheet, engine="calamine")
        except Exception as exc:  # calamine raises its own error types for corrupt files
            raise InputError(f"cannot read {name}: the workbook is corrupt or unreadable ({_short(exc)}); "
                             "open and re-save it in Excel, or export as .csv") from exc
        meta["format"] = "xlsx"
    elif ext in (".parquet", ".pq"):
        if head[:4] != _PARQUET_MAGIC:
            raise UnsupportedFormatError(
                f"{name} has a .parquet extension but is not a parquet file; export it again as parquet or .csv"
            )
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
            # a damaged page can hold invalid UTF-8 that pyarrow only trips over later, deep in
            # the cleaner: check the data fully here, where the error can name the file
            table.validate(full=True)
            df = table.to_pandas()
        except Exception as exc:
            raise InputError(f"cannot read {name}: the parquet file is corrupt ({_short(exc)}); write it again") from exc
        meta["format"] = "parquet"
    else:
        if head.startswith((_ZIP_MAGIC, _PARQUET_MAGIC, _OLE_MAGIC)):
            raise UnsupportedFormatError(
                f"{name} has a text extension but binary content (an Excel or parquet file?); "
                "give it the right extension"
            )
        df, csv_meta = read_csv(path)
        meta.update(csv_meta)
        meta["format"] = "csv"
    if len(df.columns) and all(str(c).startswith("Unnamed:") for c in df.columns):
        raise EmptyDataError(f"{name} has no header row; the first row must name the columns")
    return df, meta


def read_csv(
    path: str | os.PathLike[str],
    *,
    dtype: Any = str,
    na: Literal["blank", "pandas", "none"] = "blank",
    strict: bool = False,
    compression: Literal["gzip"] | None = None,
    what: str = "the customer table",
) -> tuple[pd.DataFrame, dict]:
    """Read a CSV file whose encoding and delimiter are detected; returns ``(df, meta)``.

    ``meta`` holds ``encoding``, ``delimiter`` and, when bytes invalid in the detected encoding
    were replaced by U+FFFD, ``undecodable_cells`` (count per column). ``dtype`` goes to pandas
    (``str``: every cell stays text). ``na``: ``"blank"`` only empty cells are missing (raw
    exports: "N/A" stays text for the cleaner), ``"pandas"`` pandas' usual NA spellings too,
    ``"none"`` every cell exactly as written (a file rewritten on erasure must not change).
    ``strict`` refuses undecodable bytes instead of replacing them. ``compression="gzip"``
    reads a ``.csv.gz``. ``what`` names the table in error messages.

    >>> read_csv("missing.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.InputError: cannot read missing.csv: the file does not exist...
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot read {path}: the file does not exist; check the path")
    try:
        with (gzip.open(path, "rb") if compression == "gzip" else path.open("rb")) as fh:
            sample = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f"cannot read {path}: not a readable {compression or 'text'} file ({_short(exc)}); "
                         f"{'compress it again or unzip it' if compression else 'check the file'}") from None
    encoding = detect_encoding(sample)
    delimiter = detect_delimiter(sample.decode(encoding, errors="replace"))
    nas: dict[str, Any] = {"blank": {"keep_default_na": False, "na_values": [""]}, "pandas": {},
                           "none": {"keep_default_na": False, "na_filter": False}}[na]
    try:
        df = pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            encoding_errors="strict" if strict else "replace",
            dtype=dtype,
            skipinitialspace=False,
            engine="c",
            compression=compression,
            **nas,
        )
    except pd.errors.EmptyDataError as exc:
        raise EmptyDataError(f"{path} has no data; export {what} with a header row") from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"cannot parse {path} as CSV with delimiter {delimiter!r} ({_short(exc)}); "
                         "check that every row has the same number of fields") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: bytes that are not valid {encoding} ({_short(exc)}); "
                         "save it again as UTF-8") from exc
    except (OSError, EOFError) as exc:  # a gzip stream damaged after the sampled part
        raise InputError(f"cannot read {path}: not a readable {compression or 'text'} file ({_short(exc)}); "
                         f"{'compress it again or unzip it' if compression else 'check the file'}") from None
    meta: dict = {"encoding": encoding, "delimiter": delimiter}
    if not strict:
        # bytes that are not valid in the detected encoding were replaced by U+FFFD: count the
        # cells per column so the quality report shows them instead of a silent change
        text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]
        damaged = {str(c): int(n) for c, n in
                   ((c, df[c].str.contains("\ufffd", regex=False, na=False).sum()) for c in text) if n}
        if damaged:
            meta["undecodable_cells"] = damaged
    return df, meta


def detect_encoding(sample: bytes) -> str:
    """Best guess of a text sample's encoding: UTF-8 (with or without BOM) first, else charset-normalizer."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        # a multi-byte character may be cut at the end of the sample
        sample.decode("utf-8") if len(sample) < _SNIFF_BYTES else sample[:-4].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a few stray bytes (rows pasted from another system): more valid
    # multi-byte characters than invalid bytes. Reading it as a single-byte code page would
    # garble every valid character silently; as UTF-8 only the stray bytes are replaced,
    # and those are counted (``undecodable_cells``). A real cp1252/latin-1 file has almost
    # no valid multi-byte sequences, so it does not pass this test.
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad  # non-ASCII, not replaced
    if good > bad:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    enc = (best.encoding if best is not None else "").replace("-", "_").lower()
    if enc.startswith(_MULTI_BYTE):
        return best.encoding
    # Short samples make single-byte code pages hard to tell apart (cp1250, cp1252, cp1125 ...);
    # Western retail exports that are not UTF-8 are cp1252 far more often, so prefer it
    # whenever the bytes are valid cp1252.
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return best.encoding if best is not None else "latin-1"


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer restricted to , ; tab |, else the most consistent one."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        pass
    # fall back: the delimiter whose count per line is most often equal to the header's
    best, best_score = ",", -1
    for d in _DELIMITERS:
        n_header = lines[0].count(d)
        if n_header == 0:
            continue
        score = sum(ln.count(d) == n_header for ln in lines)
        if score > best_score:
            best, best_score = d, score
    return best


def _read_sql(url: str, query: str | None) -> tuple[pd.DataFrame, dict]:
    if not query:
        raise InputError(f"reading from {url.split('://')[0]} needs a query or table name (--query)")
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover - sqlalchemy is a core dependency
        raise InputError("reading from a database needs SQLAlchemy: pip install sqlalchemy") from exc
    sql = query if any(ch.isspace() for ch in query.strip()) else f'SELECT * FROM "{query}"'
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            df = pd.read_sql_query(sa.text(sql), conn)
    except Exception as exc:
        raise InputError(f"cannot read customers from the database: {_short(exc)}; check the URL and query") from exc
    return df, {"source": url.split("@")[-1], "format": "sql", "query": sql}


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` only if the block succeeds.

    A crash while writing leaves the previous file untouched. The new content is flushed to
    disk before the rename and the rename itself after it, so a power cut cannot leave an
    empty or partial file under the final name either.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's)
        os.chmod(tmp_path, final.stat().st_mode & 0o777 if final.exists() else 0o666 & ~_umask())
        _fsync(tmp_path, os.O_RDONLY)
        os.replace(tmp_path, final)
        _fsync(final.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _fsync(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. directories cannot be opened on Windows: best effort there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table atomically as parquet or CSV (by extension) and return the path.

    In a CSV, text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@`` ...) get a leading ``'`` (:func:`escape_formula`): quarantined rows and
    audiences carry raw CRM text, and these files are opened in Excel.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext in (".parquet", ".pq"):
        with atomic_path(p) as tmp:
            df.to_parquet(tmp, index=False, engine="pyarrow")
    elif ext == ".csv":
        write_csv(df, p)
    else:
        raise UnsupportedFormatError(f"cannot write {p}: use a .parquet or .csv file name")
    return p


def write_csv(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    escape: bool = True,
    sep: str = ",",
    encoding: str = "utf-8",
    lineterminator: str | None = None,
) -> Path:
    """Write ``df`` as CSV atomically (no index) and return the path.

    ``escape`` neutralises spreadsheet formulas in text cells (:func:`escape_formula`); a file
    rewritten as it was read (erasure) passes ``escape=False``. An ``encoding`` that cannot hold
    a value raises :class:`UnicodeEncodeError` and leaves ``path`` untouched.
    """
    if escape:
        df = df.copy(deep=False)
        for i in range(df.shape[1]):  # by position: column names may repeat
            df.isetitem(i, escape_formula(df.iloc[:, i]))
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, sep=sep, encoding=encoding, lineterminator=lineterminator)
    return Path(path)


def escape_formula(series: pd.Series) -> pd.Series:
    """Neutralise spreadsheet formulas in text cells (OWASP CSV injection) with a leading ``'``.

    A text cell is prefixed when it starts with ``=``, ``+``, ``-`` or ``@`` (also after
    leading whitespace, and their full-width forms) or with a TAB or CR. Numbers —
    numeric columns and non-text cells of mixed columns — are not altered.

    >>> escape_formula(pd.Series(["=SUM(A1)", "Ana", -1.5], dtype=object)).tolist()
    ["'=SUM(A1)", 'Ana', -1.5]
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series
    mask = series.str.contains(_FORMULA, regex=True, na=False).astype(bool)
    if not mask.any():
        return series
    out = series.copy()
    out[mask] = "'" + series[mask].astype(str)
    return out


def as_text(series: pd.Series) -> pd.Series:
    """Values as text (:data:`TEXT_DTYPE`, NA for missing); whole floats lose ``.0`` (Excel codes).

    The text a file or a digest holds for an id or code column, whatever pandas read it as.

    >>> as_text(pd.Series([17.0, "C1", None], dtype=object)).tolist()
    ['17', 'C1', <NA>]
    """
    s = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    out = s.astype(TEXT_DTYPE)
    if pd.api.types.is_float_dtype(s.dtype) or (
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty", "integer", "boolean")
    ):
        out = out.str.replace(_WHOLE_FLOAT_TEXT, r"\1", regex=True)
    return out


def file_digest(path: str | os.PathLike[str], algorithm: str = "blake2b") -> str:
    """Hex digest of a file's content, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def to_jsonable(value: Any, where: str = "value") -> Any:
    """Plain JSON values: numpy scalars unwrapped, paths and dates as text, NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v, where) for v in value)
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [to_jsonable(v, where) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or isinstance(value, (bool, int, str)):
        return None if value is pd.NA else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise ParameterError(f"value at {where} is a {type(value).__name__}, which JSON cannot hold; "
                         "pass numbers, text, lists or dicts")


def iter_parquet_batches(
    path: str | os.PathLike[str],
    batch_size: int = 1_000_000,
    *,
    columns: ColumnMapping | str | os.PathLike[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a raw parquet export ``batch_size`` rows at a time (pyarrow), column names mapped.

    For tables too large to read at once: only one batch of raw strings is in memory.
    Each batch carries ``attrs["read"]`` (source, format, ``first_row``: the 1-based file row
    of its first line) so quarantined rows keep their file row numbers.
    """
    import pyarrow.parquet as pq

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ParameterError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    p = Path(path)
    name = str(p)
    if not p.is_file():
        raise InputError(f"cannot read {name}: the file does not exist; check the path")
    with p.open("rb") as fh:
        if fh.read(4) != _PARQUET_MAGIC:
            raise UnsupportedFormatError(f"{name} is not a parquet file; export it again as parquet")
    mapping = columns if isinstance(columns, ColumnMapping) else ColumnMapping.load(columns)
    try:
        reader = pq.ParquetFile(p)
        batches = reader.iter_batches(batch_size=int(batch_size))
        first = 1
        for batch in batches:
            df, renamed = mapping.apply(batch.to_pandas())
            df.attrs["read"] = {"source": name, "format": "parquet", "first_row": first, "renamed_columns": renamed}
            first += len(df)
            yield df
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"cannot read {name}: the parquet file is corrupt ({_short(exc)}); write it again") from exc
