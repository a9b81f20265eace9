"""Reading raw customer exports (xlsx, csv, parquet, SQL) and writing results.

Reading never guesses silently: the detected encoding, delimiter and the
column renames are recorded in ``df.attrs["read"]`` and end up in the quality
report. Every failure is an :class:`~lookalike.errors.InputError` with a
one-line message that names the file and the fix.

One implementation of each file concern lives here: :func:`read_csv` (the only CSV
reader that detects encoding and delimiter: customer exports, order-line logs, outcome
and audience files, files rewritten on erasure), :func:`atomic_path` (every file
Lookalike writes is moved into place only when complete), :func:`write_csv` and
:func:`csv_text` (CSV text cells neutralised against spreadsheet formulas, :func:`escape_formula`).
"""

from __future__ import annotations

import csv
import gc
import gzip
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

import pandas as pd
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from lookalike.config import ColumnMapping, normalize_name
from lookalike.config.settings import Settings
from lookalike.errors import (
    EmptyDataError,
    InputError,
    InputTooLarge,
    LookalikeError,
    MissingColumnsError,
    ModelFormatError,
    ParameterError,
    UnsupportedFormatError,
)

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
_SEP_LINE = re.compile(r"sep=([^\r\n\w\"'])[ \t]*\r?\n", re.IGNORECASE)  # Excel's "sep=;" first line
_ESCAPED_FORMULA = re.compile("^'(?=[\t\r]|\\s*[=+\\-@\uff1d\uff0b\uff0d\uff20])")
_WHOLE_FLOAT_TEXT = re.compile(r"^([+-]?\d+)\.0+$")
#: How every parquet file is written: timestamps in microseconds (Spark, Hive and older readers do
#: not read nanosecond timestamps); sub-microsecond parts, which no CRM date has, are dropped.
PARQUET_OPTIONS: dict[str, Any] = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
#: Python-backed strings: .str methods use Python's Unicode-aware ``re`` whatever pandas' default backend.
TEXT_DTYPE = pd.StringDtype("python")


def is_sql_url(source: object) -> bool:
    """True when ``source`` looks like a SQLAlchemy database URL (``dialect:`` or ``dialect+driver:``).

    >>> is_sql_url("postgresql+psycopg://u@host/db"), is_sql_url("sqlite:///x.db"), is_sql_url("data.csv")
    (True, True, False)
    """
    if not isinstance(source, str):
        return False
    scheme, sep, _ = source.lower().partition(":")
    return bool(sep) and f"{scheme.split('+', 1)[0]}:" in _SQL_SCHEMES


def read_customers(
    source: str | os.PathLike[str],
    *,
    columns: ColumnMapping | str | os.PathLike[str] | None = None,
    query: str | None = None,
    sheet: int | str | None = None,
    limits: WorkbookLimits | None = None,
) -> pd.DataFrame:
    """Read a raw customer export and map its column names to the contract's.

    ``source`` is a path to ``.xlsx``/``.csv``/``.parquet`` or a SQLAlchemy URL
    (then ``query`` is a SQL query or a table name). CSV files have their encoding
    and delimiter detected. Returns a DataFrame of raw values (text stays text;
    the cleaner parses it); ``df.attrs["read"]`` records how it was read.

    Workbooks (:func:`read_workbook`): ``sheet`` is a sheet name or a 0-based position, by default
    the sheet Excel opens on (the active one, if visible); the header may sit below title rows;
    ``limits`` caps what a workbook may expand to (default: the settings'). Identifier columns
    (``customer_id``, ``zip``, ``phone``, ``*_id``) are text in every format (:func:`identifiers_as_text`).

    >>> read_customers("missing.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.InputError: cannot read missing.csv: the file does not exist...
    """
    mapping = columns if isinstance(columns, ColumnMapping) else ColumnMapping.load(columns)
    if is_sql_url(source):
        df, meta = _read_sql(str(source), query)
    else:
        df, meta = _read_file(Path(source), sheet, mapping, limits)
    if df.shape[1] == 0:
        raise EmptyDataError(f"{meta['source']} has no columns; export the customer table with a header row")
    df, renamed = mapping.apply(df)
    df, numbers = identifiers_as_text(df)
    if numbers:
        meta["identifiers_stored_as_numbers"] = numbers
    meta["renamed_columns"] = renamed
    meta["rows"] = int(len(df))
    df.attrs["read"] = meta
    return df


def check_input_file(path: str | os.PathLike[str]) -> Path:
    """``path`` when it is a file that can be opened, else an :class:`~lookalike.errors.InputError` that says why."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"cannot read {p}: the file does not exist; check the path")
    if p.is_dir():
        raise InputError(f"cannot read {p}: it is a directory; pass a file (.xlsx, .csv or .parquet)")
    if not os.access(p, os.R_OK):
        raise InputError(f"cannot read {p}: permission denied; check the file's permissions")
    return p


def _read_file(path: Path, sheet: int | str | None, mapping: ColumnMapping,
               limits: WorkbookLimits | None) -> tuple[pd.DataFrame, dict]:
    name = str(path)
    check_input_file(path)
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
        df, sheet_meta = read_workbook(path, sheet=sheet, mapping=mapping, limits=limits)
        meta.update(sheet_meta)
        meta["format"] = "xlsx"
    elif ext in (".parquet", ".pq"):
        if head[:4] != _PARQUET_MAGIC:
            raise UnsupportedFormatError(
                f"{name} has a .parquet extension but is not a parquet file; export it again as parquet or .csv"
            )
        import pyarrow.parquet as pq

        _check_parquet_columns(path)
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


# ------------------------------------------------------------------ workbooks
@dataclass(frozen=True)
class WorkbookLimits:
    """How large a workbook may be once decompressed, checked before it is parsed (:func:`check_workbook`).

    An ``.xlsx`` is a zip: a few hundred kilobytes can hold millions of rows that take minutes and
    gigabytes to parse. ``rows`` and ``columns`` bound the sheet, ``mb`` its XML (the sheet plus
    the shared strings, in MiB). Defaults come from the settings (``LOOKALIKE_MAX_XLSX_ROWS``,
    ``LOOKALIKE_MAX_XLSX_COLUMNS``, ``LOOKALIKE_MAX_XLSX_MB``).
    """

    rows: int = 2_000_000
    columns: int = 16_384
    mb: int = 4096

    @classmethod
    def from_settings(cls, settings: Any = None) -> "WorkbookLimits":
        """The limits of ``settings`` (a :class:`~lookalike.config.settings.Settings`; default: the environment's)."""

        s = settings if settings is not None else Settings()
        return cls(rows=s.max_xlsx_rows, columns=s.max_xlsx_columns, mb=s.max_xlsx_mb)


@dataclass(frozen=True)
class _Sheet:
    name: str
    visible: bool
    xml: str | None  # the sheet's part in the zip (None: not known, e.g. an .xls)


#: Rows searched for the header (title rows, notes and blank rows above it are skipped).
HEADER_SCAN_ROWS = 30
_XML_CHUNK = 1 << 20
_ROOT_TAG = re.compile(rb"<(\w+:)?worksheet[\s>]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?\"")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _workbook_sheets(path: Path) -> tuple[list[_Sheet], int]:
    """The sheets of a workbook in tab order (name, visible, zip part) and the index of the active tab."""
    import zipfile
    from xml.etree import ElementTree as ET

    if path.open("rb").read(4) != _ZIP_MAGIC:  # a legacy .xls: visibility from calamine, no active tab
        wb = CalamineWorkbook.from_path(str(path))
        try:
            return [_Sheet(m.name, m.visible == SheetVisibleEnum.Visible, None) for m in wb.sheets_metadata], 0
        finally:
            wb.close()
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        book = next((n for n in ("xl/workbook.xml", "xl/workbook.bin") if n in names), None)
        if book is None or book.endswith(".bin") or z.getinfo(book).file_size > 16 << 20:
            raise InputError(f"cannot read {path}: not an Excel workbook this reader knows (no xl/workbook.xml); "
                             "open and re-save it as .xlsx, or export as .csv")
        root = ET.fromstring(z.read(book))
        rels: dict[str, str] = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for rel in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).iter(f"{_NS_PKG}Relationship"):
                target = rel.get("Target", "")
                target = target.lstrip("/") if target.startswith("/") else "xl/" + target
                rels[rel.get("Id", "")] = os.path.normpath(target).replace(os.sep, "/")
    sheets = [_Sheet(s.get("name", ""), s.get("state", "visible") == "visible", rels.get(s.get(f"{_NS_REL}id", "")))
              for s in root.iter(f"{_NS_MAIN}sheet")]
    view = next(root.iter(f"{_NS_MAIN}workbookView"), None)
    try:
        active = int(view.get("activeTab", "0")) if view is not None else 0
    except ValueError:
        active = 0
    return sheets, active if 0 <= active < len(sheets) else 0


def check_workbook(path: str | os.PathLike[str], limits: WorkbookLimits | None = None,
                   sheet: str | None = None) -> dict:
    """Refuse a workbook that expands beyond ``limits``, without parsing it.

    Reads the zip's central directory (uncompressed size of the sheet XML and the shared strings),
    the sheet's ``<dimension ref=…>`` and counts its ``<row>`` elements while streaming the XML
    (stopping past the limit), so a zip bomb costs a fraction of a second and no memory.
    ``sheet`` is the sheet's name (default: every sheet). Raises :class:`~lookalike.errors.InputTooLarge`
    naming the limit and the setting that raises it; returns ``{sheet: (rows, columns)}``.
    """
    import zipfile

    limits = limits or WorkbookLimits.from_settings()
    path = Path(path)
    if path.open("rb").read(4) != _ZIP_MAGIC:
        return {}  # .xls: no compression, its size on disk is its size
    sheets, _ = _workbook_sheets(path)
    out: dict[str, tuple[int, int]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: i for i in z.infolist()}
            strings = parts.get("xl/sharedStrings.xml")
            for s in sheets:
                if (sheet is not None and s.name != sheet) or s.xml not in parts:
                    continue
                size = parts[s.xml].file_size + (strings.file_size if strings else 0)
                if size > limits.mb << 20:
                    raise InputTooLarge(
                        f"{path.name} (sheet {s.name!r}) expands to {size / (1 << 20):,.0f} MiB of XML, above the "
                        f"limit of {limits.mb:,} MiB; export fewer rows or as .csv, or raise LOOKALIKE_MAX_XLSX_MB")
                out[s.name] = _count_rows(path, z, parts[s.xml], s.name, limits)
    except zipfile.BadZipFile as exc:
        raise InputError(f"cannot read {path}: the workbook is corrupt or unreadable ({_short(exc)}); "
                         "open and re-save it in Excel, or export as .csv") from exc
    return out


def _count_rows(path: Path, z: Any, info: Any, sheet: str, limits: WorkbookLimits) -> tuple[int, int]:
    rows, columns, tail, needle = 0, 0, b"", b""
    with z.open(info) as fh:
        while block := fh.read(_XML_CHUNK):
            data = tail + block
            first = not needle
            if first:  # the row tag, with the namespace prefix the writer chose (<row>, <x:row>)
                root = _ROOT_TAG.search(data)
                needle = b"<" + (root[1] if root and root[1] else b"") + b"row"
            if first and (m := _DIMENSION.search(data)):
                end_col, end_row = (m[3], m[4]) if m[3] else (m[1], m[2])
                columns, declared = _column_number(end_col.decode()), int(end_row)
                if columns > limits.columns:
                    raise InputTooLarge(f"{path.name} (sheet {sheet!r}) has {columns:,} columns, above the limit of "
                                        f"{limits.columns:,}; export fewer columns, or raise LOOKALIKE_MAX_XLSX_COLUMNS")
                if declared > limits.rows:
                    raise InputTooLarge(_too_many_rows(path, sheet, f"{declared:,}", limits))
            rows += data.count(needle)  # bytes.count: the scan costs about what decompressing does
            if rows > limits.rows:
                raise InputTooLarge(_too_many_rows(path, sheet, f"more than {limits.rows:,}", limits))
            tail = data[-(len(needle) - 1):]  # a tag cut by the block boundary is counted once, in the next
    return rows, columns


def _too_many_rows(path: Path, sheet: str, rows: str, limits: WorkbookLimits) -> str:
    return (f"{path.name} (sheet {sheet!r}) has {rows} rows, above the limit of {limits.rows:,}; export fewer rows "
            "or as .csv (read in chunks), or raise LOOKALIKE_MAX_XLSX_ROWS")


def read_workbook(
    path: str | os.PathLike[str],
    *,
    sheet: int | str | None = None,
    mapping: ColumnMapping | None = None,
    limits: WorkbookLimits | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Read one sheet of a workbook as raw values, its header found below any title rows; ``(df, meta)``.

    The sheet: ``sheet`` (a name; a 0-based position in the tab order; or text of a 1-based
    number, as ``--sheet 2`` gives it, when no sheet has that name), else the sheet Excel
    opens on when it is visible, else the first visible one; an empty sheet chosen that way gives
    way to the next visible sheet with data. The workbook is checked against ``limits`` first
    (:func:`check_workbook`). The header is the row among the first :data:`HEADER_SCAN_ROWS`
    whose cells name the most columns of ``mapping``; cells are read as stored (a text cell
    ``"08001"`` stays text, a number stays a number). ``meta`` records ``sheet`` and ``header_row``
    (1-based, as Excel numbers rows).
    """
    path = Path(path)
    mapping = mapping or ColumnMapping.load()
    limits = limits or WorkbookLimits.from_settings()
    name = str(path)
    try:
        sheets, active = _workbook_sheets(path)
    except LookalikeError:
        raise
    except Exception as exc:  # zip, XML and calamine errors of damaged files
        raise InputError(f"cannot read {name}: the workbook is corrupt or unreadable ({_short(exc)}); "
                         "open and re-save it in Excel, or export as .csv") from exc
    if not sheets:
        raise EmptyDataError(f"{name} has no sheets; export the customer table again")
    titles = [s.name for s in sheets]
    if sheet is not None:
        if isinstance(sheet, str) and sheet in titles:
            chosen = [titles.index(sheet)]
        elif isinstance(sheet, str) and sheet.strip().isdigit() and 1 <= int(sheet) <= len(sheets):
            chosen = [int(sheet) - 1]
        elif isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool) and 0 <= sheet < len(sheets):
            chosen = [int(sheet)]
        else:
            raise ParameterError(f"{name} has no sheet {sheet!r}; its sheets are {', '.join(map(repr, titles))} "
                                 "(--sheet takes a name or a number, 1 = the first)")
    else:
        visible = [i for i, s in enumerate(sheets) if s.visible] or list(range(len(sheets)))
        chosen = ([active] if active in visible else []) + [i for i in visible if i != active]
    tried = []
    with ExitStack() as stack:
        book = None
        for i in chosen:
            check_workbook(path, limits, sheet=sheets[i].name)  # before calamine parses anything of it
            try:
                if book is None:  # opened once, after the first check: opening parses the shared strings
                    book = stack.enter_context(CalamineWorkbook.from_path(path))
                raw = sheet_frame(book, sheets[i].name)
            except Exception as exc:  # calamine raises its own error types for corrupt files
                raise InputError(f"cannot read {name}: the workbook is corrupt or unreadable ({_short(exc)}); "
                                 "open and re-save it in Excel, or export as .csv") from exc
            if raw.head(HEADER_SCAN_ROWS).notna().any(axis=None):  # the header is in these rows, if anywhere
                break
            tried.append(sheets[i].name)
        else:
            which = ", ".join(map(repr, tried))
            raise EmptyDataError(f"{name} has no columns: sheet(s) {which} are empty; export the customer table "
                                 "with a header row" + ("" if sheet is not None else " (or pass --sheet NAME)"))
    found = find_header_row(raw, mapping)
    header = found if found is not None else int(np.flatnonzero(raw.notna().any(axis=1).to_numpy())[0])
    names = [f"Unnamed: {j}" if pd.isna(v) or not str(v).strip() else str(v).strip()
             for j, v in enumerate(raw.iloc[header])]
    missing = set(mapping.required) - set(mapping.apply(pd.DataFrame(columns=names))[0].columns)
    if missing:  # said here, where the sheet and the row tried are known
        why = "" if found is not None else f" (no row of the first {HEADER_SCAN_ROWS} names a column Lookalike knows)"
        raise MissingColumnsError(missing, names, where=f"{name}, sheet {sheets[i].name!r}, header row {header + 1}{why}")
    df = raw.iloc[header + 1:].reset_index(drop=True)
    df.columns = names
    meta: dict = {"sheet": sheets[i].name, "header_row": header + 1}
    if tried:
        meta["empty_sheets_skipped"] = tried
    return df.reset_index(drop=True), meta


def find_header_row(raw: pd.DataFrame, mapping: ColumnMapping) -> int | None:
    """The header of a sheet read without one: the first row among the first :data:`HEADER_SCAN_ROWS`
    naming the most columns of ``mapping``, its cells mostly text (None: no row names any)."""

    known = mapping.lookup()
    best, best_score = None, 0
    for i in range(min(HEADER_SCAN_ROWS, len(raw))):
        cells = raw.iloc[i].dropna()
        text = [normalize_name(v) for v in cells if isinstance(v, str) and v.strip()]
        score = sum(t in known for t in set(text))
        if score > best_score and len(text) * 2 >= len(cells):  # mostly text, like a header
            best, best_score = i, score
    return best



def read_sheets(path: str | os.PathLike[str], names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Worksheets of a workbook as raw frames (:func:`sheet_frame`), the workbook opened and parsed once.

    ``names`` picks the sheets (default: every worksheet, in tab order). The frames are those
    ``pd.read_excel(path, sheet_name=None, engine="calamine", header=None, dtype=object)`` gives.
    Calamine's errors (a damaged file, a missing sheet) are raised as they are: callers word them.
    """
    with CalamineWorkbook.from_path(path) as book:
        if names is None:
            names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        return {n: sheet_frame(book, n) for n in names}


def sheet_frame(book: CalamineWorkbook, name: str) -> pd.DataFrame:
    """The worksheet ``name`` of an open workbook as a raw frame: what
    ``pd.read_excel(path, sheet_name=name, engine="calamine", header=None, dtype=object)`` gives.

    Cell for cell and type for type (:func:`cells_frame`); a chart sheet is refused as pandas refuses it.
    """
    if not any(m.name == name and m.typ == SheetTypeEnum.WorkSheet for m in book.sheets_metadata):
        raise ValueError(f"Worksheet named '{name}' not found")
    with _collector_paused():  # a list per row, no cycles: collections would only re-traverse the growing rows
        return cells_frame(book.get_sheet_by_name(name).to_python(skip_empty_area=False))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the body runs (as it was before, after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: The text pandas' readers take for missing (``pandas._libs.parsers.STR_NA_VALUES``, which
#: ``read_excel`` applies to every text cell): a test holds this equal to pandas' own set.
EXCEL_NA_TEXT = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
})
_BOM = "\ufeff"
_CELL_TYPE = np.frompyfunc(type, 1, 1)


def cells_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """A sheet's cells (calamine's ``to_python(skip_empty_area=False)``) as the object frame pandas'
    calamine reader builds from them with ``header=None, dtype=object``, without its per-cell Python.

    As pandas does: a whole float becomes an ``int`` (``2.0`` -> ``2``; NaN and infinities stay
    floats), a ``date`` a ``datetime`` at midnight; ``datetime``, ``time``, ``timedelta``, ``bool``
    and other numbers are kept; a text cell in :data:`EXCEL_NA_TEXT` (an empty cell is ``""``)
    becomes NaN; a byte-order mark opening the first cell is dropped. Columns are numbered
    ``0..n-1`` (an int64 index), rows ``0..m-1``; no cells: an empty frame.
    """
    if not rows or not rows[0]:
        return pd.DataFrame()
    width = len(rows[0])
    lengths = set(map(len, rows))
    if len(lengths) > 1:  # calamine's ranges are rectangular; pandas pads short rows
        longest = max(lengths)
        if longest > width:
            raise ValueError(f"Expected {width} fields in a row, saw {longest}")
        rows = [r + [None] * (width - len(r)) for r in rows]
    first = rows[0][0]
    if isinstance(first, str) and first.startswith(_BOM):
        rows[0] = [_strip_bom(first), *rows[0][1:]]
    cells = np.array(rows, dtype=object)
    flat = cells.reshape(-1)  # a view in the order calamine made the cells (cache-friendly); writes land in cells
    kind = _CELL_TYPE(flat)
    floats = np.flatnonzero(kind == float)
    if len(floats):
        values = flat[floats].astype(np.float64)
        whole = np.isfinite(values) & (np.floor(values) == values)  # float.is_integer
        if whole.any():
            w = values[whole]
            ints = np.empty(len(w), dtype=object)
            small = np.abs(w) < 2.0 ** 63  # exactly an int64; beyond, Python's int of the float
            ints[small] = w[small].astype(np.int64).astype(object)
            ints[~small] = [int(v) for v in w[~small]]
            flat[floats[whole]] = ints
    dates = np.flatnonzero(kind == date)  # exactly date: a datetime is kept as it is
    if len(dates):
        flat[dates] = list(map(datetime.combine, flat[dates], [datetime.min.time()] * len(dates)))
    text = np.flatnonzero(kind == str)
    if len(text):
        # each distinct text once: the missing-value spellings are looked up among the distinct texts, and
        # equal texts become one object, as pandas' reader leaves them (its cleaner hashes them faster)
        codes, uniques = pd.factorize(flat[text])
        distinct = np.asarray(uniques, dtype=object)
        distinct[np.fromiter(map(EXCEL_NA_TEXT.__contains__, distinct), dtype=bool, count=len(distinct))] = np.nan
        flat[text] = distinct[codes]
    # column by column, as pandas' reader builds it: each column one contiguous array, its own block
    frame = pd.DataFrame(dict(enumerate(cells.T.copy())), dtype=object, copy=False)  # object: no str inference
    frame.columns = pd.Index(np.arange(width, dtype=np.int64))
    return frame


def _strip_bom(text: str) -> str:
    """The first cell without its byte-order mark, and without the quotes right after it (pandas' parser)."""
    if len(text) > 1 and text[1] == '"':
        end = text[2:].index('"') + 2
        return text[2:end] + text[end + 1:]
    return text[1:]

#: Columns read as text in every format: identifiers, whose leading zeros and digits are the value.
IDENTIFIER_COLUMNS = ("customer_id", "zip", "phone")


def identifiers_as_text(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """``df`` with identifier columns (:data:`IDENTIFIER_COLUMNS` and ``*_id``) as text.

    A spreadsheet or a typed table may hold a postcode or a phone as a number (``8001`` for
    ``"08001"``): it becomes the text of the number (``"8001"``, never ``"8001.0"``), and the
    count of such cells per column is returned, for the quality report (a lost leading zero
    is not a repair). Text cells are not touched.

    >>> df, n = identifiers_as_text(pd.DataFrame({"zip": ["08001", 8001, None], "age": [1, 2, 3]}))
    >>> df["zip"].tolist(), n
    (['08001', '8001', None], {'zip': 1})
    """
    out, counts = df, {}
    for j, col in enumerate(df.columns):
        name = str(col)
        if name not in IDENTIFIER_COLUMNS and not name.endswith("_id"):
            continue
        s = df.iloc[:, j]
        if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
            continue
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("string", "empty"):
            continue
        if kind.startswith("mixed"):  # only the number cells change: .str gives NA for them, no loop over rows
            numbers = (s.notna() & s.astype(object).str.len().isna()).to_numpy()
            text = s.astype(object).copy()
            text[numbers] = as_text(s[numbers]).astype(object).to_numpy()
            n = int(numbers.sum())
        else:
            text, n = as_text(s), int(s.notna().sum())
        if not n:
            continue
        if out is df:
            out = df.copy(deep=False)
        out.isetitem(j, text)
        counts[name] = n
    return out, counts


def read_csv(
    path: str | os.PathLike[str],
    *,
    dtype: Any = str,
    na: Literal["blank", "pandas", "none"] = "blank",
    strict: bool = False,
    compression: Literal["gzip"] | None = None,
    what: str = "the customer table",
    header: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Read a CSV file whose encoding and delimiter are detected; returns ``(df, meta)``.

    ``meta`` holds ``encoding``, ``delimiter`` and, when bytes invalid in the detected encoding
    were replaced by U+FFFD, ``undecodable_cells`` (count per column). ``dtype`` goes to pandas
    (``str``: every cell stays text). ``na``: ``"blank"`` only empty cells are missing (raw
    exports: "N/A" stays text for the cleaner), ``"pandas"`` pandas' usual NA spellings too,
    ``"none"`` every cell exactly as written (a file rewritten on erasure must not change).
    ``strict`` refuses undecodable bytes instead of replacing them. ``compression="gzip"``
    reads a ``.csv.gz``. ``what`` names the table in error messages. ``header=False``: the
    first row is data too (columns are numbered 0, 1, ...).

    A first line ``sep=;`` (the hint Excel writes and reads) sets the delimiter and is not a row;
    ``meta["sep_line"]`` is then True.

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
    text = sample.decode(encoding, errors="replace")
    hint = _SEP_LINE.match(text.lstrip("\ufeff"))
    delimiter = hint[1] if hint else detect_delimiter(text)
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
            skiprows=1 if hint else None,
            header=0 if header else None,
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
    if hint:
        meta["sep_line"] = True
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


def _check_parquet_columns(path: Path) -> None:
    """Refuse a parquet file whose schema names a column twice (pyarrow's own error reads like damage)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:  # unreadable footer: the reader that follows says the file is corrupt
        return
    seen: set[str] = set()
    dupes = [n for n in names if n in seen or seen.add(n)]
    if dupes:
        raise InputError(f"cannot read {path}: duplicate column {dupes[0]!r} ({len(dupes)} column name(s) repeated: "
                         f"{', '.join(map(repr, dict.fromkeys(dupes)))}); rename the columns so each name is "
                         "unique and write the file again")


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
            # NUMERIC stays Decimal: the cleaner reads it exactly (a float would change ids past 15 digits)
            df = pd.read_sql_query(sa.text(sql), conn, coerce_float=False)
    except Exception as exc:
        raise InputError(f"cannot read customers from the database: {_short(exc)}; check the URL and query") from exc
    return df, {"source": url.split("@")[-1], "format": "sql", "query": sql}


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


def check_not_input(
    outputs: Iterable[str | os.PathLike[str] | None],
    inputs: Iterable[str | os.PathLike[str] | None],
    *,
    replaced: bool = False,
) -> None:
    """Refuse (:class:`~lookalike.errors.InputError`) to write an output over an input, before any work.

    ``outputs`` are the files and directories a command will write, ``inputs`` what it reads
    (``None``, database URLs and remote paths are skipped). Refused: an output that is an input
    (symbolic and hard links resolved), and an output inside an input directory (a model
    directory is read as a whole). Pass an output directory together with the files it will
    hold: ``clean data/customers.parquet -o data`` writes ``data/customers.parquet``.
    ``replaced=True``: the outputs are directories replaced whole (Spark's overwrite), so one
    that holds an input is refused too.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "c.parquet").write_bytes(b"PAR1")
    4
    >>> check_not_input([d / "other.parquet"], [d / "c.parquet"])
    >>> check_not_input([d, d / "c.parquet"], [d / "c.parquet"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.InputError: refusing to write .../c.parquet: it is the input .../c.parquet; ...
    """
    sources = []
    for i in inputs:
        if i is None or is_sql_url(i) or "://" in str(i):
            continue
        p = Path(i)
        if p.exists():
            sources.append((p, p.resolve()))
    if not sources:
        return
    for o in outputs:
        if o is None or "://" in str(o):
            continue
        out = Path(o)
        target = out.resolve()
        for src, real in sources:
            if target == real or (out.exists() and _same_file(out, src)):
                raise InputError(f"refusing to write {out}: it is the input {src}; writing it would replace the "
                                 "data being read. Choose another output path (-o)")
            if real.is_dir() and real in target.parents:
                raise InputError(f"refusing to write {out}: it is inside the input directory {src}, which is read "
                                 "as a whole. Choose an output path outside it (-o)")
            if replaced and target in real.parents:
                raise InputError(f"refusing to write {out}: the directory is replaced whole and holds the input "
                                 f"{src}. Choose another output path (-o)")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it over ``path`` only if the block succeeds.

    A crash while writing leaves the previous file untouched. The new content is flushed to
    disk before the rename and the rename itself after it, so a power cut cannot leave an
    empty or partial file under the final name either.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as exc:  # the user asked for final, not for our temporary name
        raise _for_target(exc, None, final) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the file the mode a plain open() would (or the old file's)
        os.chmod(tmp_path, final.stat().st_mode & 0o777 if final.exists() else 0o666 & ~_umask())
        _fsync(tmp_path, os.O_RDONLY)
        os.replace(tmp_path, final)
        _fsync(final.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:  # disk full, a file in the way: said about the output, not the temporary
        if exc.filename != str(tmp_path) and str(tmp_path) not in str(exc):
            raise
        raise _for_target(exc, tmp_path, final) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _for_target(exc: OSError, tmp: Path | None, final: Path) -> OSError:
    """``exc`` naming ``final`` where it named the temporary file (or, for mkstemp, the folder)."""
    text = exc.strerror or str(exc)
    if tmp is not None:
        text = text.replace(str(tmp), str(final))
    # OSError(errno, ...) gives the matching subclass (PermissionError, ...); library subclasses
    # (pyarrow's) may not take these arguments
    return OSError(exc.errno, text, str(final))


def move_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Move a complete file over ``dst`` in one rename (same file system), durably; return ``dst``.

    For a file already written in full next to its final place (an upload saved under a name of
    its own until its turn comes).
    """
    final = Path(dst)
    os.replace(src, final)
    _fsync(final.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return final


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


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], *,
                metadata: Mapping[str, str] | None = None) -> Path:
    """Write a table atomically as parquet or CSV (by extension) and return the path.

    In a CSV, text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@`` ...) get a leading ``'`` (:func:`escape_formula`): quarantined rows and
    audiences carry raw CRM text, and these files are opened in Excel.

    Parquet timestamps are written in microseconds (:data:`PARQUET_OPTIONS`): pandas holds
    nanoseconds, which Spark refuses (``Illegal Parquet type: INT64 (TIMESTAMP(NANOS,false))``).
    ``metadata`` (parquet only) is added to the file's key-value metadata, read back with
    :func:`parquet_metadata` (e.g. the run that wrote a set of files).
    """
    write_table_sha256(df, path, digest=False, metadata=metadata)
    return Path(path)


def write_table_sha256(df: pd.DataFrame, path: str | os.PathLike[str], *, digest: bool = True,
                       metadata: Mapping[str, str] | None = None) -> str | None:
    """:func:`write_table`, returning the SHA-256 of the bytes it wrote.

    The digest is taken from the temporary file before it moves into place: read back from
    ``path`` afterwards, it could be the file of another writer of the same name.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in (".parquet", ".pq", ".csv"):
        raise UnsupportedFormatError(f"cannot write {p}: use a .parquet or .csv file name")
    with atomic_path(p) as tmp:
        if ext == ".csv":
            escape_frame(df).to_csv(tmp, index=False)
        elif metadata:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            meta = {**(table.schema.metadata or {}), **{k.encode(): str(v).encode() for k, v in metadata.items()}}
            pq.write_table(table.replace_schema_metadata(meta), tmp, **PARQUET_OPTIONS)
        else:
            df.to_parquet(tmp, index=False, engine="pyarrow", **PARQUET_OPTIONS)
        return file_digest(tmp, "sha256") if digest else None


def parquet_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The key-value metadata of a parquet file (footer only; the data is not read), as text."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: the parquet file is corrupt ({_short(exc)}); write it again") from exc
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in meta.items()}


def write_csv(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    escape: bool = True,
    sep: str = ",",
    encoding: str = "utf-8",
    lineterminator: str | None = None,
    preamble: str | None = None,
) -> Path:
    """Write ``df`` as CSV atomically (no index) and return the path.

    ``escape`` neutralises spreadsheet formulas in text cells (:func:`escape_formula`); a file
    rewritten as it was read (erasure) passes ``escape=False``. An ``encoding`` that cannot hold
    a value raises :class:`UnicodeEncodeError` and leaves ``path`` untouched. ``preamble`` is
    written before the header (the ``sep=;`` line of a file rewritten as it was read).
    """
    if escape:
        df = escape_frame(df)
    with atomic_path(path) as tmp:
        if preamble:
            with open(tmp, "w", encoding=encoding, newline="") as fh:  # tmp: written through atomic_path
                fh.write(preamble)
                df.to_csv(fh, index=False, sep=sep, lineterminator=lineterminator)
        else:
            df.to_csv(tmp, index=False, sep=sep, encoding=encoding, lineterminator=lineterminator)
    return Path(path)


def csv_text(df: pd.DataFrame, *, sep: str = ",") -> str:
    """``df`` as CSV text (no index) with spreadsheet formulas neutralised: for answers and stdout,
    where :func:`write_csv` has no file to write.

    >>> csv_text(pd.DataFrame({"name": ["=HYPERLINK(1)", "Ana"]}))
    "name\\n'=HYPERLINK(1)\\nAna\\n"
    """
    return escape_frame(df).to_csv(index=False, sep=sep, lineterminator="\n")


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy of ``df`` with :func:`escape_formula` applied to every column (the one place
    every CSV Lookalike writes goes through)."""
    out = df.copy(deep=False)
    for i in range(out.shape[1]):  # by position: column names may repeat
        out.isetitem(i, escape_formula(out.iloc[:, i]))
    return out


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


def unescape_formula(series: pd.Series) -> pd.Series:
    """Undo :func:`escape_formula`: a text cell ``'`` + formula-like text loses its ``'``.

    For reading back a file Lookalike wrote (an audience or export CSV used as a suppression list).

    >>> unescape_formula(pd.Series(["'=SUM(A1)", "'-C1", "O'Neill", "'plain"])).tolist()
    ['=SUM(A1)', '-C1', "O'Neill", "'plain"]
    """
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series
    return series.str.replace(_ESCAPED_FORMULA, "", regex=True)


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


MANIFEST_NAME = "manifest.json"


def write_manifest(root: str | os.PathLike[str], manifest: Mapping[str, Any], files: Sequence[str]) -> Path:
    """Write a saved model's ``manifest.json`` with a SHA-256 of each of its ``files`` (atomically)."""
    root = Path(root)
    body = {**manifest, "files": {name: file_digest(root / name, "sha256") for name in files}}
    with atomic_path(root / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(body, indent=2, default=float), encoding="utf-8")
    return root / MANIFEST_NAME


def read_manifest(root: str | os.PathLike[str], *, fmt: str, version: int, files: Sequence[str], what: str,
                  fix: str) -> dict[str, Any]:
    """A saved model's manifest, refused with one line unless its format, version and file checksums hold.

    ``what`` names the kind of directory ("a Lookalike model"); ``fix`` ends every message
    ("refit the model with lookalike fit").
    """
    root = Path(root)
    mpath = root / MANIFEST_NAME
    if not mpath.is_file():
        raise ModelFormatError(f"{root} is not {what} directory (no {MANIFEST_NAME}); {fix}")
    try:
        m = json.loads(mpath.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{mpath} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(m, dict) or m.get("format") != fmt:
        raise ModelFormatError(f"{mpath} is not {what} manifest; {fix}")
    if m.get("format_version") != version:
        raise ModelFormatError(f"{root} was saved in model format {m.get('format_version')!r}, this Lookalike reads "
                               f"model format {version}; {fix}")
    listed = m.get("files")
    if not isinstance(listed, dict) or set(listed) != set(files):
        raise ModelFormatError(f"{mpath} does not list the model files; {fix}")
    for name, digest in listed.items():
        f = root / name
        if not f.is_file():
            raise ModelFormatError(f"{root} is incomplete: {name} is missing; {fix}")
        if file_digest(f, "sha256") != digest:
            raise ModelFormatError(f"{f} does not match its checksum in {MANIFEST_NAME} (modified or corrupt); {fix}")
    return m


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
    _check_parquet_columns(p)
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
