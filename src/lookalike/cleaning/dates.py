"""Dates: ``parse_date`` (values ``datetime64[ns]``, NaT where not parsed).

Rules:

* ``pandas.Timestamp``, ``datetime``, ``date`` and ``numpy.datetime64`` values are
  CLEAN (time zones are dropped, keeping the wall time).
* Text is normalised (NFKC, lower case, accents removed, single spaces); missing
  tokens ("", "N/A", "not available", "no disponible", ...) are MISSING. Each
  distinct text is matched against these pattern groups, and the components are
  turned into a date with ``pd.to_datetime(format="%Y-%m-%d %H:%M:%S")`` so that
  impossible dates ("31/02/2022", "0000-00-00") are INVALID:
  - ``iso``: year first, ``-``, ``/`` or ``.`` ("2022-12-17", "2022/12/17",
    "2022-12-17 10:30:00", "2022-12-17T10:30:00Z");
  - ``numeric``: day and month in either order, then a 2- or 4-digit year, with
    ``/``, ``-`` or ``.`` ("17/12/2022", "17-12-2022", "17.12.2022", "12/17/22");
  - ``compact``: ``YYYYMMDD`` with a year from 1700 to 2299 ("20221217"; also as an int);
  - ``text``: month names in English, Spanish, Portuguese, French, German and
    Italian, full or abbreviated, with or without a dot, optionally after a
    weekday: "Dec 17, 2022", "17 Dec 2022", "December 17, 2022", "17 dic 2022",
    "17 de diciembre de 2022", "17 de dez. de 2022", "17 déc. 2022",
    "17. Dez. 2022", "17 dicembre 2022", "17-Dec-22", "2022 Dec 17";
  - ``excel_serial``: a day number from 20000 to 80000 (origin 1899-12-30; the
    fraction is the time of day), as a number or as text ("44912", "44912.5");
  - ``month_year``: a month and a four-digit year without a day - "Dec 2022",
    "dic. 2022", "diciembre de 2022", "Dezember 2022", "2022 Dec", "12/2022",
    "12-2022", "12.2022", "2022-12", "2022/12" - means the **first of the month**
    (2022-12-01), FIXED and counted in ``notes["flags"]["month_year"]`` (a day was
    not written; it is not guessed from the digits: "Dec 2022" is not Dec 20, '22).
    A two-digit year without a day ("dic-22", "12/22") stays INVALID: it may be a
    day and a month as well.
  An optional time "HH:MM[:SS[.fff]]" with am/pm and a zone ("Z", "+01:00",
  ignored) may follow iso, numeric and text dates.
* Two-digit years pivot at 69: yy <= 69 is 20yy, otherwise 19yy.
* Order of numeric dates: day first (the reference export is Spanish) unless
  the column proves month first - more rows with a value above 12 in the second
  position (and <= 12 in the first) than rows with one above 12 in the first -
  or ``dayfirst`` is given. Values impossible in the chosen order are INVALID and
  counted in ``notes["order_conflicts"]``. Numeric dates whose two first parts
  are both <= 12 and different are AMBIGUOUS when the order was inferred (FIXED
  when ``dayfirst`` was given).
* Other parsed texts and numbers (serials, YYYYMMDD ints) are FIXED. Years
  outside 1678-2261 (the ``datetime64[ns]`` range), other numbers, booleans and
  unreadable text are INVALID (NaT).

* Dates after the export: with ``as_of`` (the export date; :func:`~lookalike.cleaning.table.clean_customers`
  passes its own, today by default) a date later than that day is kept and counted
  in ``notes["flags"]["future_date"]`` (a signup cannot follow the export: a typo or a
  wrong clock, worth a look, but the value is not changed); a date more than one year
  after it is INVALID (NaT), counted in ``notes["flags"]["far_future"]`` ("2099-12-31"
  placeholders, "2032" typed for "2023"). Without ``as_of`` no date is judged by the calendar.

notes: ``order`` ("DMY" or "MDY"), ``order_conflicts`` (rows), ``formats``
({pattern group: rows}), ``flags`` ({"month_year" | "future_date" | "far_future": rows}),
``as_of`` (the reference day, "YYYY-MM-DD", when given).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa

from lookalike.cleaning import _common as c
from lookalike.cleaning import _fast
from lookalike.cleaning._base import ColumnParse
from lookalike.errors import ParameterError

__all__ = ["MONTHS", "as_of_day", "parse_date"]

#: Month names and abbreviations (lower case, no accents) -> month number.
MONTHS: dict[str, int] = {}
_MONTH_NAMES = {
    1: "january jan enero ene janeiro janvier janv januar janner jan gennaio gen",
    2: "february feb febrero fevereiro fev fevrier fevr fev februar febbraio",
    3: "march mar marzo marco mars marz maerz mrz",
    4: "april apr abril abr avril avr aprile",
    5: "may mayo maio mai maggio mag",
    6: "june jun junio junho juin juni giugno giu",
    7: "july jul julio julho juillet juil juli luglio lug",
    8: "august aug agosto ago aout",
    9: "september sep sept septiembre setiembre set setembro septembre settembre",
    10: "october oct octubre outubro out octobre oktober okt ottobre ott",
    11: "november nov noviembre novembro novembre",
    12: "december dec diciembre dic dezembro dez decembre dezember dicembre",
}
for _m, _names in _MONTH_NAMES.items():
    for _name in _names.split():
        MONTHS[_name] = _m
del _m, _names, _name

_WEEKDAYS = (
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "lunes martes miercoles jueves viernes sabado domingo lun mie jue vie sab dom "
    "segunda-feira terca-feira quarta-feira quinta-feira sexta-feira segunda terca quarta quinta sexta seg ter qua qui sex "
    "lundi mardi mercredi jeudi vendredi samedi dimanche mer jeu ven sam dim "
    "montag dienstag mittwoch donnerstag freitag samstag sonntag mo di mi do fr sa so "
    "lunedi martedi mercoledi giovedi venerdi sabato domenica gio"
).split()


def _alt(words: list[str]) -> str:
    return "|".join(sorted({w.replace("-", r"\-") for w in words}, key=len, reverse=True))


_MON = rf"(?P<mon>{_alt(list(MONTHS))})\.?"
_WD = rf"(?:(?:{_alt(_WEEKDAYS)})\.?,?\s+)?"
_TIME = (
    r"(?:(?:\s*,?\s*|t|\s+(?:a las|as|um|a|at|alle)\s+)(?P<H>[0-9]{1,2})[:h](?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,][0-9]+)?)?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?(?:\s*h)?)?\s*(?:z|utc|gmt|(?:utc|gmt)?\s?[+-][0-9]{2}:?[0-9]{2})?"
)
_Y = r"(?P<y>[0-9]{4}|[0-9]{2})"
_PATTERNS: dict[str, str] = {
    "iso": rf"^(?P<y>[0-9]{{4}})(?P<sep>[-/.])(?P<m>[0-9]{{1,2}})(?P=sep)(?P<d>[0-9]{{1,2}}){_TIME}$",
    "numeric": rf"^(?P<a>[0-9]{{1,2}})(?P<sep>[-/.] ?)(?P<b>[0-9]{{1,2}})(?P=sep){_Y}\.?{_TIME}$",
    "compact": r"^(?P<y>(?:1[7-9]|2[0-2])[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$",
    "excel_serial": r"^(?P<serial>[0-9]{5}(?:\.[0-9]+)?)$",
    "text": (
        rf"^{_WD}(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|er|o|a|\.)?[\s\-/.,]*(?:de\s+)?{_MON}[\s\-/.,]*"
        rf"(?:de\s+|del\s+)?{_Y}{_TIME}$"
    ),
    "text_mdy": rf"^{_WD}{_MON}[\s\-/.]*(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?:,\s*|\s+|[\-/.]\s*){_Y}{_TIME}$",
    "text_ymd": rf"^(?P<y>[0-9]{{4}})[\s\-/.,]+{_MON}[\s\-/.,]+(?P<d>[0-9]{{1,2}}){_TIME}$",
    # a month and a four-digit year, no day: the first of the month (text_mdy needs a separator
    # between day and year, so "dec 2022" reaches these and is not Dec 20, '22)
    "month_year_text": rf"^{_MON}[\s\-/.,]*(?:de\s+|del\s+|of\s+)?(?P<y4>[0-9]{{4}})$",
    "month_year_text_ym": rf"^(?P<y4>[0-9]{{4}})[\s\-/.,]+{_MON}$",
    "month_year_numeric": r"^(?P<m>[0-9]{1,2})[-/.](?P<y4>[0-9]{4})$",
    "month_year_iso": r"^(?P<y4>[0-9]{4})[-/.](?P<m>[0-9]{1,2})$",
}
_COMPILED = {p: re.compile(p) for p in _PATTERNS.values()}
_NS_PER_DAY = 86_400 * 10**9
_EXCEL_ORIGIN_NS = pd.Timestamp("1899-12-30").value
_SERIAL_LO, _SERIAL_HI = 20000, 80000
_YEAR_LO, _YEAR_HI = 1678, 2261
_NAT = np.iinfo(np.int64).min


def _extract(values: np.ndarray, pattern: str) -> dict[str, np.ndarray]:
    """``str.extract(pattern)`` of the texts: {group: object array, None where absent}, the groups
    in the pattern's order; once per distinct shape of the texts when the pattern allows it."""
    groups = _fast.extract(values, _COMPILED[pattern])
    if groups is None:
        m = c.text_series(values).str.extract(pattern)
        groups = {g: np.where(pd.isna(col), None, col) for g, col in ((g, m[g].to_numpy(dtype=object)) for g in m)}
    order = _COMPILED[pattern].groupindex
    return {g: groups[g] for g in sorted(groups, key=order.__getitem__)}


def _num(col: np.ndarray) -> np.ndarray:
    """Digit groups (``[0-9]`` text or None) to float64, NaN where missing."""
    if _fast.enabled():  # the groups hold ASCII digits (and a "." in a serial): Arrow parses them alike
        return pa.array(col, pa.string(), from_pandas=True).cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _month(m: dict[str, np.ndarray]) -> np.ndarray:
    """The month number of a match: its name (group ``mon``) or its digits (group ``m``)."""
    if "mon" in m:
        return pd.Series(m["mon"], dtype=object).map(MONTHS).to_numpy(dtype=np.float64, na_value=np.nan)
    return _num(m["m"])


def _assemble(y: np.ndarray, m: np.ndarray, d: np.ndarray, hh: np.ndarray, mm: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """Components (float arrays, NaN = absent) -> int64 ns since epoch, NaT where impossible."""
    n = y.size
    out = np.full(n, _NAT, dtype=np.int64)
    hh, mm, ss = (np.nan_to_num(a, nan=0.0) for a in (hh, mm, ss))
    ok = (
        np.isfinite(y) & np.isfinite(m) & np.isfinite(d)
        & (y >= _YEAR_LO) & (y <= _YEAR_HI) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
        & (hh < 24) & (mm < 60) & (ss < 60)
    )
    if not ok.any():
        return out
    # calendar arithmetic in numpy: the month as datetime64[M], then the day within it (a day past
    # the month's end - "2022-02-30" - is no date)
    y, m, d, hh, mm, ss = (a[ok].astype(np.int64) for a in (y, m, d, hh, mm, ss))
    month = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    in_month = d <= ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
    day_ns = (first.astype(np.int64) + (d - 1)) * _NS_PER_DAY
    clock_ns = ((hh * 60 + mm) * 60 + ss) * 10**9
    out[ok] = np.where(in_month, day_ns + clock_ns, _NAT)
    return out


def _clock(m: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hours (am/pm applied), minutes, seconds, and a validity mask from a match (see :func:`_extract`)."""
    hh, mm, ss = _num(m["H"]), _num(m["M"]), _num(m["S"])
    said = m["ampm"]
    has = pd.notna(said)
    ampm = np.full(said.size, "", dtype=object)
    if has.any():  # few texts say am/pm
        ampm[has] = c.text_series(said[has]).str.replace(r"[.\s]", "", regex=True).to_numpy(dtype=object)
    pm, am = ampm == "pm", ampm == "am"
    ok = ~((pm | am) & ((hh > 12) | (hh < 1)))
    hh = np.where(pm & (hh < 12), hh + 12, np.where(am & (hh == 12), 0, hh))
    return hh, mm, ss, ok


def _year(y: np.ndarray, text: np.ndarray) -> np.ndarray:
    has = pd.notna(text)
    short = np.zeros(text.size, dtype=bool)
    short[has] = np.fromiter(map(len, text[has]), dtype=np.int64, count=int(has.sum())) == 2
    return np.where(short, np.where(y <= 69, 2000 + y, 1900 + y), y)


def _excel(serial: np.ndarray) -> np.ndarray:
    ok = np.isfinite(serial) & (serial >= _SERIAL_LO) & (serial <= _SERIAL_HI)
    out = np.full(serial.size, _NAT, dtype=np.int64)
    out[ok] = _EXCEL_ORIGIN_NS + np.round(serial[ok] * _NS_PER_DAY).astype(np.int64)
    return out


def _from_datetimes(values: np.ndarray) -> np.ndarray:
    """Timestamp-like objects -> int64 ns (wall time, zone dropped); NaT if out of range."""
    out = np.full(values.size, _NAT, dtype=np.int64)
    for i, v in enumerate(values):  # distinct date objects only
        try:
            ts = pd.Timestamp(v)
            if ts.tzinfo is not None:
                ts = ts.tz_localize(None)
            out[i] = ts.as_unit("ns").value
        except (ValueError, OverflowError, TypeError):
            pass
    return out


def as_of_day(as_of: object) -> pd.Timestamp:
    """``as_of`` (a date, datetime, Timestamp or "YYYY-MM-DD" text) as a day at midnight.

    >>> as_of_day("2024-05-31 17:00")
    Timestamp('2024-05-31 00:00:00')
    """
    try:
        if isinstance(as_of, (bool, np.bool_)) or not isinstance(as_of, (str, dt.date, np.datetime64)):
            raise TypeError
        day = pd.Timestamp(as_of)
        if pd.isna(day):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"as_of must be a date such as '2024-05-31', got {as_of!r}") from None
    return (day.tz_localize(None) if day.tzinfo is not None else day).normalize()


def parse_date(s: pd.Series, *, dayfirst: bool | None = None, as_of: object = None) -> ColumnParse:
    """Parse a raw date column to ``datetime64[ns]`` (see the module docstring for the rules).

    ``as_of``: the export date; later dates are flagged, those over a year later are INVALID.

    >>> r = parse_date(pd.Series(["2022-12-17", "17/12/2022", "17 de diciembre de 2022", "N/A"]))
    >>> r.values.dt.strftime("%Y-%m-%d").tolist()[:3], r.notes["order"]
    (['2022-12-17', '2022-12-17', '2022-12-17'], 'DMY')
    >>> r = parse_date(pd.Series(["Dec 2022", "2024-06-02", "2099-12-31"]), as_of="2024-05-31")
    >>> r.values.dt.strftime("%Y-%m-%d").tolist(), r.notes["flags"]
    (['2022-12-01', '2024-06-02', nan], {'month_year': 1, 'future_date': 1, 'far_future': 1})
    """
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise ParameterError(f"dayfirst must be True, False or None, got {dayfirst!r}")
    ref = None if as_of is None else as_of_day(as_of)
    s = c.as_series(s)
    u = c.factorize(s)
    kind = c.kinds_of(u)
    n = u.values.size
    ns = np.full(n, _NAT, dtype=np.int64)
    status = np.full(n, c.S_INVALID, dtype=np.int8)
    fmt = np.full(n, None, dtype=object)

    is_date = kind == c.K_DATE
    ns[is_date] = _from_datetimes(u.values[is_date])
    status[is_date] = np.where(ns[is_date] != _NAT, c.S_CLEAN, c.S_INVALID)
    fmt[is_date] = "datetime"

    is_num = kind == c.K_NUM
    f = c.numbers_of(u)[is_num]
    serial = _excel(f)
    ymd = np.where(np.isfinite(f) & (f == np.floor(f)) & (f >= 17000101) & (f <= 22991231), f, np.nan)
    no_time = np.full(ymd.size, np.nan)
    compact = _assemble(np.floor(ymd / 10000), np.floor(ymd / 100) % 100, ymd % 100, no_time, no_time, no_time)
    num_ns = np.where(serial != _NAT, serial, compact)
    ns[is_num] = num_ns
    status[is_num] = np.where(num_ns != _NAT, c.S_FIXED, np.where(np.isnan(f), c.S_MISSING, c.S_INVALID))
    fmt[is_num] = np.where(serial != _NAT, "excel_serial", np.where(compact != _NAT, "compact", None))

    is_str = kind == c.K_STR
    str_idx = np.flatnonzero(is_str)
    t = c.token_key(c.text_series(u.values[is_str]))
    missing = t.isin(c.MISSING_TOKENS).to_numpy(dtype=bool)  # t is already a token key
    texts = t.to_numpy(dtype=object)
    t_ns = np.full(t.size, _NAT, dtype=np.int64)
    t_st = np.where(missing, c.S_MISSING, c.S_INVALID).astype(np.int8)
    t_fmt = np.full(t.size, None, dtype=object)
    todo = ~missing
    order = "MDY" if dayfirst is False else "DMY"
    conflicts = 0
    for group, pattern in _PATTERNS.items():  # a handful of pattern groups, each vectorized
        if not todo.any():
            break
        groups = _extract(texts[todo], pattern)
        hit = next(iter(groups.values())) != None  # noqa: E711 - the first group: a match
        if not hit.any():
            continue
        m = {g: v[hit] for g, v in groups.items()}
        pos = np.flatnonzero(todo)[hit]
        n_hit = pos.size
        st = np.full(n_hit, c.S_FIXED, dtype=np.int8)
        if group == "excel_serial":
            val = _excel(_num(m["serial"]))
        elif group == "compact":
            none = np.full(n_hit, np.nan)
            val = _assemble(_num(m["y"]), _num(m["m"]), _num(m["d"]), none, none, none)
        elif group.startswith("month_year"):
            none = np.full(n_hit, np.nan)
            val = _assemble(_num(m["y4"]), _month(m), np.ones(n_hit), none, none, none)  # the first of the month
        else:
            hh, mm, ss, clock_ok = _clock(m)
            y = _year(_num(m["y"]), m["y"])
            if group == "numeric":
                a, b = _num(m["a"]), _num(m["b"])
                if dayfirst is None:
                    w = u.counts[str_idx[pos]]
                    mdy_rows = int(w[(a <= 12) & (b > 12) & (b <= 31)].sum())
                    dmy_rows = int(w[(a > 12) & (a <= 31) & (b <= 12)].sum())
                    order = "MDY" if mdy_rows > dmy_rows else "DMY"
                day, month = (a, b) if order == "DMY" else (b, a)
                conflict = month > 12
                conflicts = int(u.counts[str_idx[pos]][conflict].sum())
                if dayfirst is None:
                    st[(a <= 12) & (b <= 12) & (a != b)] = c.S_AMBIGUOUS
            else:
                month, day = _month(m), _num(m["d"])
            val = _assemble(y, month, day, hh, mm, ss)
            val[~clock_ok] = _NAT
        good = val != _NAT
        t_ns[pos] = val
        t_st[pos] = np.where(good, st, c.S_INVALID)
        label = next((g for g in ("text", "month_year") if group.startswith(g)), group)
        t_fmt[pos] = np.where(good, label, None)
        todo[pos] = False  # matched the shape: valid or not, no other group applies
    ns[is_str] = t_ns
    status[is_str] = t_st
    fmt[is_str] = t_fmt

    flags = {"month_year": int(u.counts[fmt == "month_year"].sum())}
    if ref is not None:
        future = (ns != _NAT) & (ns >= (ref + pd.Timedelta(days=1)).value)
        far = future & (ns >= (ref + pd.DateOffset(years=1) + pd.Timedelta(days=1)).value)
        ns[far] = _NAT
        status[far] = c.S_INVALID
        flags["future_date"] = int(u.counts[future & ~far].sum())
        flags["far_future"] = int(u.counts[far].sum())
    notes: dict[str, object] = {
        "order": order,
        "order_conflicts": conflicts,
        "formats": c.count_by(fmt, u.counts, (fmt != None) & (ns != _NAT)),  # noqa: E711
        "flags": flags,
    }
    if ref is not None:
        notes["as_of"] = ref.strftime("%Y-%m-%d")
    rows = c.to_rows(u, ns, _NAT)
    out = pd.Series(rows.view("datetime64[ns]"), index=u.index, name=u.name)
    return ColumnParse(out, c.status_rows(u, status), notes)
