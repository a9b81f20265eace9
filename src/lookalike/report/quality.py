"""The cleaning quality report for people: Markdown, self-contained HTML, terminal lines.

The input is the dict of :meth:`lookalike.QualityReport.to_dict` (or any dict with
the same layout; absent sections are skipped)::

    rows{in, kept, quarantined, duplicates_merged, balanced}
    duplicates{ids, conflicting_ids}
    quarantine_reasons{reason: count}
    columns{column: {clean, fixed, ambiguous, code, missing, invalid, parsed, rejected,
                     parsed_share, notes?{...}, all_missing?}}
    twins{column: {source, filled_from_dirty, conflicts}}
    ignored_columns, missing_columns
    read{source, format, encoding?, delimiter?, renamed_columns, rows}

One view (:class:`_View`) is built from the dict, every sentence in it from the
numbers, and the two Jinja2 templates in ``report/templates`` only lay it out.
Values that come from the data (codes, typos, file names, reasons) are escaped by
each format: HTML autoescaping, Markdown backslash escapes and code spans.

>>> report = {"rows": {"in": 1000, "kept": 970, "quarantined": 10, "duplicates_merged": 20}}
>>> quality_summary_lines(report)[0]
'1,000 rows in = 970 kept + 10 quarantined + 20 duplicates merged'
>>> "# Data quality report" in render_quality_markdown(report)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lookalike._version import __version__
from lookalike.errors import ParameterError
from lookalike.report.templating import environment, number_text

__all__ = ["quality_summary_lines", "render_quality_html", "render_quality_markdown"]

#: Cell statuses in display order (as in ``lookalike.cleaning._base.STATUSES``).
STATUS_COLUMNS: tuple[str, ...] = ("clean", "fixed", "ambiguous", "code", "missing", "invalid")
#: A column "needed repairs" when more than this share of its cells was fixed or ambiguous.
REPAIR_SHARE = 0.10
#: A column "lost values" when more than this share of its cells could not be read.
INVALID_SHARE = 0.01
#: At most this many values are shown in a column's "what we saw" cell.
MAX_NOTE_ITEMS = 5
#: Longest data value shown in a note before it is shortened with an ellipsis.
MAX_VALUE_CHARS = 32

#: Reader-facing names of the note keys the parsers write (others: ``snake_case`` -> words).
NOTE_LABELS: dict[str, str] = {
    "currencies": "currencies",
    "currency": "currency",
    "mixed_currencies": "mixed currencies",
    "decimal": "decimal separator",
    "decimal_separator": "decimal separator",
    "thousands_separator": "thousands separator",
    "date_order": "date order",
    "order": "date order",
    "order_conflicts": "order conflicts",
    "forms": "written as",
    "salvaged": "salvaged JSON",
    "other_channels": "other channels",
    "level_out_of_range": "level out of range",
    "day_first": "day first",
    "date_formats": "date formats",
    "formats": "formats",
    "codes": "codes",
    "units": "units",
    "typos": "typos fixed",
    "typos_fixed": "typos fixed",
    "unmatched": "unmatched",
    "unknown": "unknown values",
    "malformed": "malformed JSON",
    "malformed_json": "malformed JSON",
    "out_of_range": "out of range",
}
#: Notes that only restate the default reading; shown when the column has ambiguous cells
#: (then the convention decided them) or when the value differs.
NOTE_DEFAULTS: dict[str, object] = {"decimal_separator": ".", "decimal": "."}
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space", ":": "colon"}
_TWIN_SOURCES = {"both": "both columns", "clean": "clean column only", "dirty": "dirty column only"}
_TERMINAL_STATUS = {"fixed": "fixed", "ambiguous": "ambiguous", "code": "special codes", "invalid": "invalid"}
_READ_LABELS = {"source": "File", "format": "Format", "encoding": "Encoding", "delimiter": "Delimiter",
                "rows": "Rows read", "sheet": "Sheet", "sheet_name": "Sheet"}


# --------------------------------------------------------------------------- public API


def render_quality_markdown(report: Mapping) -> str:
    """Render the quality report as GitHub-flavoured Markdown.

    >>> md = render_quality_markdown({"rows": {"in": 3, "kept": 3, "quarantined": 0, "duplicates_merged": 0}})
    >>> print(md.splitlines()[2])
    **3 rows in = 3 kept + 0 quarantined + 0 duplicates merged**
    """
    view = _build_view(report, title="Data quality report")
    return environment().get_template("quality.md.j2").render(v=view).rstrip() + "\n"


def render_quality_html(report: Mapping, *, title: str = "Data quality report") -> str:
    """Render the quality report as one self-contained HTML page (inline CSS, no external assets).

    >>> page = render_quality_html({"rows": {"in": 3, "kept": 2, "quarantined": 1, "duplicates_merged": 0}})
    >>> page.startswith("<!doctype html>"), "3 rows in = 2 kept + 1 quarantined" in page
    (True, True)
    """
    view = _build_view(report, title=title)
    return environment().get_template("quality.html.j2").render(v=view)


def quality_summary_lines(report: Mapping, max_columns: int = 8) -> list[str]:
    """A few short plain-text lines for a terminal summary.

    The lines carry no Rich markup; data values may contain ``[``, so print them with
    ``console.print(line, markup=False)`` (or escape them) in Rich.

    >>> lines = quality_summary_lines({
    ...     "rows": {"in": 100, "kept": 90, "quarantined": 5, "duplicates_merged": 5},
    ...     "columns": {"region_dirty": {"clean": 60, "fixed": 40, "notes": {"typos": {"nortee": 12}}}},
    ... })
    >>> print("\\n".join(lines))
    100 rows in = 90 kept + 5 quarantined + 5 duplicates merged
    95.0% of rows are usable and give 90 unique customers; 1 column needed repairs on more than 10% of cells.
    Duplicates: 5 extra rows merged.
    Columns with repairs, codes or unreadable values:
      region_dirty  100.0% parsed, 40 fixed; typos fixed: nortee×12
    """
    if not isinstance(max_columns, int) or isinstance(max_columns, bool) or max_columns < 0:
        raise ParameterError(f"max_columns must be a non-negative integer, got {max_columns!r}")
    v = _build_view(report, title="")
    lines = [v.headline]
    if v.warning:
        lines.append(f"WARNING: {v.warning}")
    lines.append(v.reading)
    if v.source_line:
        lines.append(v.source_line)
    if v.reasons:
        lines.append("Quarantined: " + "; ".join(f"{r.rows:,} {r.reason}" for r in v.reasons))
    if v.duplicates_sentence:
        lines.append(v.duplicates_sentence)
    flagged = sorted((c for c in v.columns if c.trouble), key=lambda c: (-c.trouble, c.name))
    if flagged and max_columns:
        lines.append("Columns with repairs, codes or unreadable values:")
        shown = flagged[:max_columns]
        width = max(len(c.name) for c in shown)
        for c in shown:
            counts = [f"{c.counts[s]:,} {word}" for s, word in _TERMINAL_STATUS.items() if c.counts[s]]
            text = f"  {c.name.ljust(width)}  {c.parsed_pct} parsed, " + ", ".join(counts)
            seen = _notes_text(c)
            lines.append(text + (f"; {seen}" if seen else ""))
        if len(flagged) > len(shown):
            lines.append(f"  ... and {_plural(len(flagged) - len(shown), 'more column')}")
    elif not flagged and v.columns:
        lines.append("Every column was clean: no repairs, codes or unreadable values.")
    if v.ignored_columns:
        lines.append("Ignored columns (not in the contract): " + ", ".join(v.ignored_columns))
    if v.missing_columns:
        lines.append("Missing columns (expected, not found): " + ", ".join(v.missing_columns))
    return lines


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class _NoteEntry:
    value: str | None  # text to show; None for a bare count
    count: int | float | None = None
    data: bool = True  # a value from the data (shown as code), not a word of ours


@dataclass(frozen=True)
class _Note:
    label: str
    entries: tuple[_NoteEntry, ...]
    more: int = 0  # entries left out of this note


@dataclass(frozen=True)
class _ColumnRow:
    name: str
    n: int
    counts: dict[str, int]
    parsed_share: float
    parsed_pct: str
    level: str  # "good" / "fair" / "poor": parsed share band, for the bar colour
    notes: tuple[_Note, ...]
    notes_more: int  # notes left out of the cell
    empty: bool
    attention: bool
    trouble: float  # share of cells fixed, ambiguous, coded or invalid (for sorting)


@dataclass(frozen=True)
class _TwinRow:
    column: str
    source: str
    filled_from_dirty: int
    conflicts: int


@dataclass(frozen=True)
class _ReasonRow:
    reason: str
    rows: int
    share: str


@dataclass(frozen=True)
class _ReadItem:
    label: str
    value: str
    data: bool  # shown as code (a file name, a delimiter) rather than as a word


@dataclass(frozen=True)
class _View:
    title: str
    rows_in: int
    kept: int
    quarantined: int
    merged: int
    headline: str
    warning: str | None
    reading: str
    read_items: tuple[_ReadItem, ...]
    renamed: tuple[tuple[str, str], ...]
    source_line: str | None
    columns: tuple[_ColumnRow, ...]
    twins: tuple[_TwinRow, ...]
    reasons: tuple[_ReasonRow, ...]
    duplicates_sentence: str | None
    ignored_columns: tuple[str, ...]
    missing_columns: tuple[str, ...]
    version: str


def _build_view(report: Mapping, *, title: str) -> _View:
    if not isinstance(report, Mapping) and hasattr(report, "to_dict"):
        report = report.to_dict()  # a QualityReport passed as is
    if not isinstance(report, Mapping):
        raise ParameterError(f"the quality report must be a dict (QualityReport.to_dict()), got {type(report).__name__}")
    rows = report.get("rows") or {}
    if not isinstance(rows, Mapping) or "in" not in rows:
        raise ParameterError("the quality report has no rows{'in', 'kept', 'quarantined', 'duplicates_merged'} section; "
                             "pass QualityReport.to_dict()")
    rows_in, kept = _int(rows.get("in")), _int(rows.get("kept"))
    quarantined, merged = _int(rows.get("quarantined")), _int(rows.get("duplicates_merged"))
    accounted = kept + quarantined + merged
    warning = None
    if accounted != rows_in or rows.get("balanced") is False:
        diff = rows_in - accounted
        gap = (f"{diff:,} rows are unaccounted for" if diff > 0 else f"{-diff:,} rows are counted twice") if diff \
            else "the report marks the counts as unbalanced"
        warning = (f"Row counts do not add up: kept + quarantined + duplicates merged = {accounted:,}, "
                   f"but {rows_in:,} rows were read ({gap}). Check the export and the cleaning step before using "
                   f"this table.")
    columns = tuple(_column_row(str(name), c) for name, c in (report.get("columns") or {}).items())
    reasons = tuple(
        _ReasonRow(reason=str(r), rows=_int(n), share=_pct(_int(n) / rows_in if rows_in else 0.0))
        for r, n in sorted((report.get("quarantine_reasons") or {}).items(), key=lambda kv: -_int(kv[1]))
    )
    twins = tuple(
        _TwinRow(column=str(col), source=_TWIN_SOURCES.get(str(t.get("source")), str(t.get("source", ""))),
                 filled_from_dirty=_int(t.get("filled_from_dirty")), conflicts=_int(t.get("conflicts")))
        for col, t in (report.get("twins") or {}).items()
    )
    read = dict(report.get("read") or {})
    renamed = tuple((str(a), str(b)) for a, b in (read.pop("renamed_columns", None) or {}).items())
    read_items = _read_items(read)
    ignored = tuple(str(c) for c in report.get("ignored_columns") or ())
    missing = tuple(str(c) for c in report.get("missing_columns") or ())
    return _View(
        title=title,
        rows_in=rows_in, kept=kept, quarantined=quarantined, merged=merged,
        headline=(f"{_plural(rows_in, 'row')} in = {kept:,} kept + {quarantined:,} quarantined + "
                  f"{_plural(merged, 'duplicate')} merged"),
        warning=warning,
        reading=_reading(rows_in, kept, quarantined, columns, missing),
        read_items=read_items,
        renamed=renamed,
        source_line=_source_line(read_items, renamed),
        columns=columns,
        twins=twins,
        reasons=reasons,
        duplicates_sentence=_duplicates_sentence(merged, report.get("duplicates") or {}),
        ignored_columns=ignored,
        missing_columns=missing,
        version=__version__,
    )


def _column_row(name: str, c: Mapping) -> _ColumnRow:
    counts = {s: _int(c.get(s)) for s in STATUS_COLUMNS}
    n = sum(counts.values())
    parsed = counts["clean"] + counts["fixed"] + counts["ambiguous"]
    share = float(c["parsed_share"]) if _is_number(c.get("parsed_share")) else (parsed / n if n else 0.0)
    repaired = (counts["fixed"] + counts["ambiguous"]) / n if n else 0.0
    invalid = counts["invalid"] / n if n else 0.0
    notes = {k: x for k, x in (c.get("notes") or {}).items()
             if counts["ambiguous"] or k not in NOTE_DEFAULTS or x != NOTE_DEFAULTS[k]}
    notes, notes_more = _notes(notes)
    empty = bool(c.get("all_missing")) or (n > 0 and counts["missing"] == n)
    return _ColumnRow(
        name=name, n=n, counts=counts, parsed_share=share, parsed_pct=_pct(share),
        level="good" if share >= 0.95 else "fair" if share >= 0.8 else "poor",
        notes=notes, notes_more=notes_more, empty=empty,
        attention=repaired > REPAIR_SHARE or invalid > INVALID_SHARE or empty,
        trouble=((counts["fixed"] + counts["ambiguous"] + counts["code"] + counts["invalid"]) / n) if n else 0.0,
    )


def _reading(rows_in: int, kept: int, quarantined: int, columns: tuple[_ColumnRow, ...],
             missing: tuple[str, ...]) -> str:
    """One plain-language sentence built from the numbers."""
    if rows_in == 0:
        return "The export had no rows."
    clauses = [f"{_pct((rows_in - quarantined) / rows_in)} of rows are usable and give "
               f"{_plural(kept, 'unique customer')}"]
    if columns:
        n_rep = sum(1 for c in columns if c.n and (c.counts["fixed"] + c.counts["ambiguous"]) / c.n > REPAIR_SHARE)
        what = f"more than {REPAIR_SHARE:.0%} of cells"
        clauses.append(f"{_plural(n_rep, 'column')} needed repairs on {what}" if n_rep
                       else f"no column needed repairs on {what}")
        n_bad = sum(1 for c in columns if c.n and c.counts["invalid"] / c.n > INVALID_SHARE)
        if n_bad:
            clauses.append(f"{_plural(n_bad, 'column')} had unreadable values in more than {INVALID_SHARE:.0%} "
                           f"of cells (left empty, never guessed)")
        n_empty = sum(1 for c in columns if c.empty)
        if n_empty:
            clauses.append(f"{_plural(n_empty, 'column')} {'was' if n_empty == 1 else 'were'} empty")
    if missing:
        clauses.append(f"{_plural(len(missing), 'expected column')} {'was' if len(missing) == 1 else 'were'} "
                       f"not in the export")
    text = "; ".join(clauses) + "."
    return text[0].upper() + text[1:]


def _duplicates_sentence(merged: int, dup: Mapping) -> str | None:
    ids, conflicting = _int(dup.get("ids")), _int(dup.get("conflicting_ids"))
    if not merged and not ids:
        return None
    text = f"Duplicates: {_plural(merged, 'extra row')} merged"
    if ids:
        text += f" into {_plural(ids, 'customer id')}"
    if conflicting:
        text += (f"; {_plural(conflicting, 'id')} had conflicting values (the most complete row won, "
                 f"its gaps were filled from the others)")
    return text + "."


def _read_items(read: Mapping) -> tuple[_ReadItem, ...]:
    items = []
    for key in (*_READ_LABELS, *(k for k in read if k not in _READ_LABELS)):
        val = read.get(key)
        if val is None or val == "" or key not in read:
            continue
        if key == "delimiter":
            name = _DELIMITER_NAMES.get(str(val))
            items.append(_ReadItem("Delimiter", f"{name} ({val!r})" if name else repr(val), data=False))
        elif key == "rows" and _is_number(val):
            items.append(_ReadItem("Rows read", f"{_int(val):,}", data=False))
        elif isinstance(val, (Mapping, list, tuple)):
            items.append(_ReadItem(_label(key), _value_text(val, limit=200), data=True))
        else:
            items.append(_ReadItem(_READ_LABELS.get(key, _label(key)), str(val), data=key in ("source", "sheet", "sheet_name")))
    return tuple(items)


def _source_line(items: tuple[_ReadItem, ...], renamed: tuple[tuple[str, str], ...]) -> str | None:
    if not items and not renamed:
        return None
    by = {i.label: i.value for i in items}
    details = ", ".join(f"{k.lower()} {by[k]}" for k in ("Encoding", "Delimiter") if k in by)
    fmt = by.get("Format")
    inside = ", ".join(x for x in (fmt, details) if x)
    text = "Read: " + (by.get("File") or "(source not recorded)") + (f" ({inside})" if inside else "")
    if renamed:
        text += f"; {_plural(len(renamed), 'column')} renamed"
    return text


# --------------------------------------------------------------------------- notes -> "what we saw"


def _notes(notes: Mapping, max_items: int = MAX_NOTE_ITEMS) -> tuple[tuple[_Note, ...], int]:
    """Turn a column's notes into labelled entries, at most ``max_items`` values per cell.

    Slots are dealt round-robin so that every note gets a value before any note gets
    a second one; notes that get no slot are counted in the second return value.
    """
    raw = [(str(k), _entries(v)) for k, v in notes.items()]
    raw = [(k, e) for k, e in raw if e]
    alloc = [0] * len(raw)
    budget = max_items
    while budget > 0 and any(a < len(e) for a, (_, e) in zip(alloc, raw)):
        for i, (_, e) in enumerate(raw):
            if budget and alloc[i] < len(e):
                alloc[i] += 1
                budget -= 1
    shown = tuple(_Note(label=_label(k), entries=tuple(e[:a]), more=len(e) - a)
                  for a, (k, e) in zip(alloc, raw) if a)
    return shown, sum(1 for a in alloc if not a)


def _entries(v: object) -> list[_NoteEntry]:
    """One note value as display entries; dict counts biggest first; nothing for 0 / False / empty."""
    if v is None or v is False:
        return []
    if v is True:
        return [_NoteEntry("yes", data=False)]
    if _is_number(v):
        return [_NoteEntry(None, _count(v))] if float(v) else []  # type: ignore[arg-type]
    if isinstance(v, Mapping):
        items = list(v.items())
        if all(_is_number(x) for _, x in items):
            items = sorted((kv for kv in items if float(kv[1])), key=lambda kv: -float(kv[1]))  # stable for ties
            return [_NoteEntry(_short(k), _count(x)) for k, x in items]
        return [_NoteEntry(_short(f"{k} → {_value_text(x)}")) for k, x in items]
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_NoteEntry(_short(_value_text(x))) for x in v]
    return [_NoteEntry(_short(v))]


def _notes_text(c: _ColumnRow) -> str:
    """The "what we saw" cell as plain text (terminal)."""
    parts = []
    for note in c.notes:
        vals = ", ".join(_entry_text(e) for e in note.entries) + (f", +{note.more} more" if note.more else "")
        parts.append(f"{note.label}: {vals}")
    if c.notes_more:
        parts.append(f"+{_plural(c.notes_more, 'more note')}")
    return "; ".join(parts)


def _entry_text(e: _NoteEntry) -> str:
    if e.value is None:
        return number_text(e.count)
    return e.value + (f"×{number_text(e.count)}" if e.count is not None else "")


# --------------------------------------------------------------------------- formatting helpers


def _int(x: object) -> int:
    if _is_number(x):
        f = float(x)
        return int(f) if math.isfinite(f) else 0
    return 0


def _count(x: object) -> int | float:
    f = float(x)
    return int(f) if f.is_integer() else f


def _is_number(x: object) -> bool:
    if isinstance(x, bool):
        return False
    try:
        float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not isinstance(x, (str, bytes))


def _pct(share: float | None) -> str:
    """A share as a percentage with one decimal that never rounds a loss away."""
    if share is None or not math.isfinite(share):
        return "–"
    if 0 < share < 0.0005:
        return "<0.1%"
    if 0.9995 <= share < 1:
        return ">99.9%"
    return f"{share * 100:.1f}%"


def _plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``; only the last word is pluralised."""
    if n == 1:
        return f"1 {word}"
    head, _, last = word.rpartition(" ")
    return f"{n:,} {head + ' ' if head else ''}{last}s"


def _label(key: str) -> str:
    return NOTE_LABELS.get(key, key.replace("_", " ").strip())


def _value_text(x: object, limit: int = MAX_VALUE_CHARS) -> str:
    if isinstance(x, Mapping):
        text = ", ".join(f"{k}: {_value_text(v, limit)}" for k, v in x.items())
    elif isinstance(x, (list, tuple, set, frozenset)):
        text = ", ".join(_value_text(v, limit) for v in x)
    else:
        text = str(x)
    return _short(text, limit)


def _short(x: object, limit: int = MAX_VALUE_CHARS) -> str:
    text = re.sub(r"[\r\n\t]+", " ", str(x))
    return text if len(text) <= limit else text[: limit - 1] + "…"
