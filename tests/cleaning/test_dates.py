"""parse_date: formats, languages, column order, Excel serials, round trips."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookalike.cleaning._base import AMBIGUOUS, CLEAN, FIXED, INVALID, MISSING
from lookalike.cleaning.dates import parse_date
from lookalike.errors import ParameterError

DEC17 = pd.Timestamp("2022-12-17")


@pytest.mark.parametrize(
    "raw",
    [
        # ISO and year-first
        "2022-12-17", "2022/12/17", "2022.12.17", "2022-12-17 ", " 2022-12-17",
        # numeric day-first (unambiguous: day 17)
        "17/12/2022", "17-12-2022", "17.12.2022", "17/12/22", "17.12.22", "17. 12. 2022", "17.12.2022.",
        # compact and Excel serials
        "20221217", 20221217, 44912, 44912.0, "44912", "44912.0", np.int64(44912),
        # English
        "Dec 17, 2022", "Dec. 17, 2022", "December 17, 2022", "17 Dec 2022", "17 December 2022", "17-Dec-2022",
        "17-Dec-22", "17 DEC 2022", "Saturday, December 17, 2022", "Sat, 17 Dec 2022", "December 17th, 2022",
        "17th December 2022", "2022 Dec 17", "2022-Dec-17",
        # Spanish
        "17 dic 2022", "17 dic. 2022", "17 de diciembre de 2022", "17 Diciembre 2022", "17-dic-2022",
        "sábado, 17 de diciembre de 2022", "17 de dic. de 2022", "diciembre 17, 2022",
        # Portuguese
        "17 de dez. de 2022", "17 de dezembro de 2022", "17 dez 2022",
        # French
        "17 déc. 2022", "17 décembre 2022", "17 dec. 2022", "samedi 17 décembre 2022",
        # German
        "17. Dez. 2022", "17. Dezember 2022", "17 Dez 2022",
        # Italian
        "17 dicembre 2022", "17 dic 2022", "sabato 17 dicembre 2022",
        # already dates
        DEC17, dt.date(2022, 12, 17), dt.datetime(2022, 12, 17), np.datetime64("2022-12-17"),
    ],
)
def test_december_17(raw: object) -> None:
    r = parse_date(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == DEC17, r.status.iloc[0]
    assert r.status.iloc[0] in (CLEAN, FIXED)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-12-17 10:30:00", "2022-12-17 10:30:00"),
        ("2022-12-17T10:30:00", "2022-12-17 10:30:00"),
        ("2022-12-17T10:30:00Z", "2022-12-17 10:30:00"),
        ("2022-12-17T10:30:00.123+01:00", "2022-12-17 10:30:00"),
        ("2022-12-17 10:30", "2022-12-17 10:30:00"),
        ("17/12/2022 10:30", "2022-12-17 10:30:00"),
        ("17/12/2022 10:30 pm", "2022-12-17 22:30:00"),
        ("17/12/2022 12:05 a.m.", "2022-12-17 00:05:00"),
        ("Dec 17, 2022 9:15 AM", "2022-12-17 09:15:00"),
        ("44912.5", "2022-12-17 12:00:00"),
        (44912.25, "2022-12-17 06:00:00"),
        ("1 janv. 2023", "2023-01-01"),
        ("1er janvier 2023", "2023-01-01"),
        ("5 févr. 2023", "2023-02-05"),
        ("17 März 2022", "2022-03-17"),
        ("17 Mär 2022", "2022-03-17"),
        ("3 Jänner 2022", "2022-01-03"),
        ("7 sept 2022", "2022-09-07"),
        ("Sept 7, 2022", "2022-09-07"),
        ("7 set 2022", "2022-09-07"),
        ("7 de setembro de 2022", "2022-09-07"),
        ("7 settembre 2022", "2022-09-07"),
        ("7 setiembre 2022", "2022-09-07"),
        ("7 ago 2022", "2022-08-07"),
        ("7 août 2022", "2022-08-07"),
        ("7 out. 2022", "2022-10-07"),
        ("7 okt. 2022", "2022-10-07"),
        ("7 mai 2022", "2022-05-07"),
        ("7 maggio 2022", "2022-05-07"),
        ("29/02/2024", "2024-02-29"),
        ("17/12/69", "2069-12-17"),
        ("17/12/70", "1970-12-17"),
        ("17/12/00", "2000-12-17"),
        ("17 Dec 85", "1985-12-17"),
        ("19991231", "1999-12-31"),
        (20000, "1954-10-03"),
        (80000, "2119-01-11"),
    ],
)
def test_values(raw: object, expected: str) -> None:
    r = parse_date(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == pd.Timestamp(expected)
    assert r.status.iloc[0] == FIXED


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("31/02/2022", INVALID),
        ("29/02/2023", INVALID),
        ("0000-00-00", INVALID),
        ("2022-13-01", INVALID),
        ("2022-00-10", INVALID),
        ("32/01/2022", INVALID),
        ("17/12/2022 25:00", INVALID),
        ("17/12/2022 13:00 pm", INVALID),
        ("31 feb 2022", INVALID),
        ("17 foo 2022", INVALID),
        ("2022", INVALID),
        ("12/22", INVALID),  # a month and a two-digit year, or a day and a month: not guessed
        ("dic-22", INVALID),
        ("13/2022", INVALID),
        ("2022-13", INVALID),
        ("yesterday", INVALID),
        ("17/12", INVALID),
        ("3000-01-01", INVALID),
        ("1500-01-01", INVALID),
        (19999, INVALID),
        (80001, INVALID),
        (5, INVALID),
        (-44912, INVALID),
        (float("inf"), INVALID),
        (True, INVALID),
        (dt.datetime(1, 1, 1), INVALID),
        ("not available", MISSING),
        ("N/A", MISSING),
        ("n/a", MISSING),
        ("no disponible", MISSING),
        ("", MISSING),
        ("   ", MISSING),
        (None, MISSING),
        (float("nan"), MISSING),
        (pd.NaT, MISSING),
    ],
)
def test_no_value(raw: object, status: str) -> None:
    r = parse_date(pd.Series([raw], dtype=object))
    assert r.status.iloc[0] == status
    assert pd.isna(r.values.iloc[0])


def test_day_first_by_default_and_ambiguous() -> None:
    r = parse_date(pd.Series(["03/04/2022", "17/12/2022", "04/04/2022"]))
    assert r.notes["order"] == "DMY"
    assert r.values.tolist() == [pd.Timestamp("2022-04-03"), DEC17, pd.Timestamp("2022-04-04")]
    assert r.status.tolist() == [AMBIGUOUS, FIXED, FIXED]  # equal parts are not ambiguous


def test_month_first_when_the_column_proves_it() -> None:
    r = parse_date(pd.Series(["12/17/2022", "03/04/2022", "05/05/22", "1/2/2023"]))
    assert r.notes["order"] == "MDY"
    assert r.values.tolist() == [DEC17, pd.Timestamp("2022-03-04"), pd.Timestamp("2022-05-05"), pd.Timestamp("2023-01-02")]
    assert r.status.tolist() == [FIXED, AMBIGUOUS, FIXED, AMBIGUOUS]


def test_month_first_proof_counts_rows_and_conflicts_are_invalid() -> None:
    s = pd.Series(["12/17/2022"] * 3 + ["17/12/2022"])
    r = parse_date(s)
    assert r.notes["order"] == "MDY" and r.notes["order_conflicts"] == 1
    assert r.status.tolist() == [FIXED] * 3 + [INVALID]
    r = parse_date(pd.Series(["12/17/2022"] + ["17/12/2022"] * 2))
    assert r.notes["order"] == "DMY" and r.notes["order_conflicts"] == 1


def test_proof_ignores_iso_and_text_dates() -> None:
    r = parse_date(pd.Series(["2022-12-17", "Dec 17, 2022", "03/04/2022"]))
    assert r.notes["order"] == "DMY"
    assert r.values.iloc[2] == pd.Timestamp("2022-04-03")


@pytest.mark.parametrize(("dayfirst", "expected", "order"), [(True, "2022-04-03", "DMY"), (False, "2022-03-04", "MDY")])
def test_explicit_dayfirst(dayfirst: bool, expected: str, order: str) -> None:
    r = parse_date(pd.Series(["03/04/2022", "12/17/2022"]), dayfirst=dayfirst)
    assert r.notes["order"] == order
    assert r.values.iloc[0] == pd.Timestamp(expected)
    assert r.status.iloc[0] == FIXED  # given, not guessed
    assert r.status.iloc[1] == (INVALID if dayfirst else FIXED)


@pytest.mark.parametrize("bad", ["yes", 1, "DMY"])
def test_bad_dayfirst(bad: object) -> None:
    with pytest.raises(ParameterError):
        parse_date(pd.Series(["2022-01-01"]), dayfirst=bad)


def test_datetime_column_and_timezones() -> None:
    s = pd.Series(pd.to_datetime(["2022-12-17 10:00", None]))
    r = parse_date(s)
    assert r.status.tolist() == [CLEAN, MISSING]
    assert r.values.dtype == "datetime64[ns]"
    aware = pd.Series([pd.Timestamp("2022-12-17 10:00", tz="Europe/Madrid")], dtype=object)
    assert parse_date(aware).values.iloc[0] == pd.Timestamp("2022-12-17 10:00")


def test_notes_formats() -> None:
    r = parse_date(pd.Series(["2022-12-17", "17/12/2022", "17 dic 2022", 44912, "20221217", "bad", None]))
    assert r.notes["formats"] == {"iso": 1, "numeric": 1, "text": 1, "excel_serial": 1, "compact": 1}


# ---- round trips -------------------------------------------------------------------------------

STRFTIME_4 = ["%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%d %b %Y", "%d %B %Y",
              "%b %d, %Y", "%B %d, %Y", "%A, %B %d, %Y", "%a %d %b %Y", "%d-%b-%Y", "%Y-%m-%d %H:%M:%S",
              "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S"]
STRFTIME_2 = ["%d/%m/%y", "%d.%m.%y", "%d-%b-%y", "%b %d, %y"]
DATES_4 = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
DATES_2 = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2069, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


def _truncate(d: dt.datetime, fmt: str) -> pd.Timestamp:
    keep_time = "%H" in fmt
    return pd.Timestamp(d if keep_time else d.date())


@given(dates=st.lists(DATES_4, min_size=1, max_size=15), fmt=st.sampled_from(STRFTIME_4))
def test_round_trip_strftime(dates: list[dt.datetime], fmt: str) -> None:
    r = parse_date(pd.Series([d.strftime(fmt) for d in dates]))
    assert r.values.tolist() == [_truncate(d, fmt) for d in dates]


@given(dates=st.lists(DATES_2, min_size=1, max_size=15), fmt=st.sampled_from(STRFTIME_2))
def test_round_trip_two_digit_years(dates: list[dt.datetime], fmt: str) -> None:
    r = parse_date(pd.Series([d.strftime(fmt) for d in dates]))
    assert r.values.tolist() == [pd.Timestamp(d.date()) for d in dates]


@given(dates=st.lists(DATES_4, min_size=1, max_size=15), explicit=st.booleans())
def test_round_trip_month_first(dates: list[dt.datetime], explicit: bool) -> None:
    """US dates come back with dayfirst=False, or by inference once a day above 12 shows."""
    texts = [d.strftime("%m/%d/%Y") for d in dates]
    expected = [pd.Timestamp(d.date()) for d in dates]
    if explicit:
        assert parse_date(pd.Series(texts), dayfirst=False).values.tolist() == expected
    else:
        r = parse_date(pd.Series([*texts, "12/31/2022"]))
        assert r.notes["order"] == "MDY"
        assert r.values.tolist()[:-1] == expected


@given(serials=st.lists(st.integers(min_value=20000, max_value=80000), min_size=1, max_size=15))
def test_round_trip_excel_serials(serials: list[int]) -> None:
    expected = [pd.Timestamp("1899-12-30") + pd.Timedelta(days=k) for k in serials]
    cells = [k if i % 2 else str(k) for i, k in enumerate(serials)]  # numbers and their text
    assert parse_date(pd.Series(cells, dtype=object)).values.tolist() == expected


# ---- issue 16, item 18: month-year and dates after the export ------------------------------------
@pytest.mark.parametrize(
    "raw",
    ["Dec 2022", "dec. 2022", "December 2022", "dic 2022", "dic. 2022", "diciembre 2022", "diciembre de 2022",
     "Dezember 2022", "Dez. 2022", "déc. 2022", "dezembro de 2022", "dicembre 2022", "Dec-2022", "dec, 2022",
     "2022 Dec", "2022-dic", "12/2022", "12-2022", "12.2022", "2022-12", "2022/12", "2022.12"],
)
def test_month_and_year_mean_the_first_of_the_month(raw: str) -> None:
    r = parse_date(pd.Series([raw, "17/12/2022"]))
    assert r.values.iloc[0] == pd.Timestamp("2022-12-01")  # was 2022-12-20 for "Dec 2022"
    assert r.status.iloc[0] == FIXED
    assert r.notes["flags"]["month_year"] == 1 and r.notes["formats"]["month_year"] == 1


def test_a_day_and_year_are_not_read_as_month_year() -> None:
    r = parse_date(pd.Series(["Dec 17 2022", "Dec 17, 2022", "Dec-17-22", "Dec 2022"]))
    assert r.values.tolist() == [DEC17, DEC17, DEC17, pd.Timestamp("2022-12-01")]
    assert r.notes["flags"]["month_year"] == 1


def test_dates_after_the_export_are_flagged_and_absurd_ones_refused() -> None:
    raw = ["2024-05-31", "2024-05-31 23:59", "2024-06-01", "31/05/2025", "2025-06-01", "2099-12-31",
           pd.Timestamp("2030-01-01"), "2023-01-01"]
    r = parse_date(pd.Series(raw, dtype=object), as_of="2024-05-31")
    kept = ["2024-05-31", "2024-05-31 23:59", "2024-06-01", "2025-05-31", None, None, None, "2023-01-01"]
    assert r.values.tolist() == [pd.NaT if k is None else pd.Timestamp(k) for k in kept]
    assert r.status.tolist() == [FIXED, FIXED, FIXED, FIXED, INVALID, INVALID, INVALID, FIXED]
    assert r.notes["flags"] == {"month_year": 0, "future_date": 2, "far_future": 3}
    assert r.notes["as_of"] == "2024-05-31"
    # without an export date nothing is judged by the calendar
    assert parse_date(pd.Series(["2099-12-31"])).values.iloc[0] == pd.Timestamp("2099-12-31")
    assert "future_date" not in parse_date(pd.Series(["2099-12-31"])).notes["flags"]


@pytest.mark.parametrize("as_of", [dt.date(2024, 5, 31), dt.datetime(2024, 5, 31, 18), pd.Timestamp("2024-05-31"),
                                   np.datetime64("2024-05-31"), "2024-05-31", "31 May 2024"])
def test_as_of_forms(as_of: object) -> None:
    r = parse_date(pd.Series(["2024-06-01", "2024-05-31"]), as_of=as_of)
    assert r.notes["flags"]["future_date"] == 1 and r.notes["as_of"] == "2024-05-31"


@pytest.mark.parametrize("bad", ["soon", 20240531, True, "", pd.NaT])
def test_bad_as_of(bad: object) -> None:
    with pytest.raises(ParameterError, match="as_of must be a date"):
        parse_date(pd.Series(["2022-01-01"]), as_of=bad)


def test_assemble_agrees_with_pandas_on_every_day_and_edge() -> None:
    # _assemble computes dates with numpy calendar arithmetic; pandas parsing the same components
    # as "%Y-%m-%d %H:%M:%S" text is the reference (impossible days such as Feb 30 are NaT in both)
    from lookalike.cleaning.dates import _NAT, _assemble

    rng = np.random.default_rng(7)
    years = np.concatenate([np.arange(1676, 1682), np.arange(1896, 1904), np.arange(1996, 2004), np.arange(2098, 2102),
                            np.arange(2258, 2264)]).astype(float)
    y, m, d = (g.ravel() for g in np.meshgrid(years, np.arange(0, 14.0), np.arange(0, 33.0), indexing="ij"))
    n = y.size
    hh = rng.choice([np.nan, 0, 9, 23, 24], n)
    mm = rng.choice([np.nan, 0, 30, 59, 60], n)
    ss = rng.choice([np.nan, 0, 1, 59, 60], n)
    y[::97], m[::89], d[::83] = np.nan, np.inf, np.nan
    got = _assemble(y, m, d, hh, mm, ss)

    h0, m0, s0 = (np.nan_to_num(a, nan=0.0) for a in (hh, mm, ss))
    ok = (np.isfinite(y) & np.isfinite(m) & np.isfinite(d) & (y >= 1678) & (y <= 2261) & (m >= 1) & (m <= 12)
          & (d >= 1) & (d <= 31) & (h0 < 24) & (m0 < 60) & (s0 < 60))
    text = [f"{int(a):04d}-{int(b):02d}-{int(c):02d} {int(e):02d}:{int(f):02d}:{int(g):02d}"
            for a, b, c, e, f, g in zip(y[ok], m[ok], d[ok], h0[ok], m0[ok], s0[ok])]
    want = np.full(n, _NAT, dtype=np.int64)
    want[ok] = pd.to_datetime(pd.Series(text), format="%Y-%m-%d %H:%M:%S", errors="coerce").dt.as_unit("ns").to_numpy(
        dtype=np.int64)  # NaT is int64 min, as _NAT
    assert (got == _NAT).sum() > 1000 and (got != _NAT).sum() > 4000
    np.testing.assert_array_equal(got, want)
