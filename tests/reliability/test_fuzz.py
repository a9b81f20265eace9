"""Fuzzing the reader, the table cleaner and the small text parsers of the CLI.

Property everywhere: the call either raises a :class:`~lookalike.errors.LookalikeError`
subclass (one line, no traceback for the user) or returns a valid result in which the
row accounting holds — never another exception. The single-column parsers of
``lookalike.cleaning`` are fuzzed in ``tests/cleaning/test_properties.py``.

Budget: a few seconds per test in ``make test``, a quarter of that in ``make check``
(HYPOTHESIS_PROFILE=check); ``make fuzz`` (HYPOTHESIS_PROFILE=fuzz) runs every test with the
fuzz profile's example count.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lookalike as lk
from lookalike.audience.expand import parse_size
from lookalike.audience.seeds import parse_rule, read_id_file, rule_mask
from lookalike.errors import LookalikeError

from .conftest import HEADER, base_rows, csv_text

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")


def budget(n: int, fuzz_cap: int | None = None):
    """``n`` examples in the normal run, a quarter under ``make check``; under ``make fuzz`` the fuzz
    profile's count (at most ``fuzz_cap`` for the tests that clean or fit a table per example)."""
    fuzz = min(settings.default.max_examples, fuzz_cap or settings.default.max_examples)
    count = {"fuzz": fuzz, "check": max(5, n // 4)}.get(PROFILE, n)
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_clean_result(result: lk.CleanResult, rows_in: int | None = None) -> None:
    """A clean result is valid: accounting balanced, one row per canonical id, quarantine traceable."""
    rep = result.report
    assert rep.rows_in == len(result.customers) + len(result.quarantine) + rep.duplicates_merged
    assert rep.balanced
    if rows_in is not None:
        assert rep.rows_in == rows_in
    ids = result.customers["customer_id"]
    assert ids.notna().all() and ids.is_unique
    assert (ids == ids.str.strip()).all()
    rn = result.quarantine["row_number"]
    assert rn.is_unique and ((rn >= 1) & (rn <= rep.rows_in)).all()
    assert result.quarantine["reason"].notna().all()
    for col in ("income", "total_spent", "avg_items_per_order", "days_since_last_purchase", "pct_reordered"):
        v = result.customers[col].to_numpy(dtype=float)
        assert not np.isinf(v).any(), col
    rep.to_dict()  # the report serialises


def read_and_clean(path: Path) -> lk.CleanResult | None:
    """Read + clean; ``None`` when refused with a LookalikeError (the allowed outcome)."""
    try:
        result = lk.clean_customers(lk.read_customers(path))
    except LookalikeError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg.strip(), msg
        return None
    check_clean_result(result)
    return result


# ------------------------------------------------------------------ random bytes as files
MAGIC = st.sampled_from([b"", b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0", b"\xef\xbb\xbf", b"\xff\xfe",
                         b"customer_id,total_orders,total_spent_dirty\n"])


@budget(60)
@given(prefix=MAGIC, body=st.binary(max_size=600), ext=st.sampled_from([".csv", ".xlsx", ".parquet", ".tsv", ".xls"]))
def test_random_bytes_files(prefix: bytes, body: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x{ext}"
        p.write_bytes(prefix + body)
        read_and_clean(p)


def _good_files() -> dict[str, bytes]:
    df = pd.DataFrame(base_rows(12))
    out = {}
    buf = io.BytesIO()
    df.to_excel(buf, index=False, engine="xlsxwriter")
    out[".xlsx"] = buf.getvalue()
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    out[".parquet"] = buf.getvalue()
    out[".csv"] = csv_text(base_rows(12)).encode("utf-8")
    return out


GOOD = _good_files()


@budget(30)
@given(ext=st.sampled_from(sorted(GOOD)), data=st.data())
def test_damaged_real_files(ext: str, data) -> None:
    """A valid export with bytes flipped, cut or inserted: refused, or read with the accounting intact."""
    raw = bytearray(GOOD[ext])
    action = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    pos = data.draw(st.integers(0, len(raw) - 1))
    if action == "flip":
        for k in range(data.draw(st.integers(1, 8))):
            raw[(pos + 97 * k) % len(raw)] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        raw = raw[:pos]
    else:
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=64))
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"x{ext}"
        p.write_bytes(bytes(raw))
        read_and_clean(p)


# ------------------------------------------------------------------ CSV text with random cells
CELL = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789.,-+$€% eE()'", max_size=10),
    st.sampled_from(["", "N/A", "never", "9999", "=1+1", "@SUM(A1)", '"', '""', "\n", "\r\n", ";", "\t", "|",
                     "1e308", "-5", "1,234.56", "45%", "C0001", " c0001 ", "\x00", "\ufeff", "Niño", "\u202e"]),
)


@budget(50)
@given(
    columns=st.lists(st.sampled_from(HEADER + ["edad", "extra", ""]), min_size=1, max_size=8, unique=True),
    cells=st.lists(st.lists(CELL, min_size=8, max_size=8), max_size=12),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_random_csv_tables(columns, cells, sep, encoding) -> None:
    rows = [dict(zip(columns, r)) for r in cells]
    text = csv_text(rows, header=columns, sep=sep)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.csv"
        p.write_bytes(data)
        read_and_clean(p)


# ------------------------------------------------------------------ DataFrames of mixed types
ANY_CELL = st.one_of(
    CELL,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates().map(pd.Timestamp),
)


@budget(25, fuzz_cap=1000)
@given(
    extra=st.lists(st.sampled_from([c for c in HEADER if c != "customer_id"] + ["notes", "email", "consent_sms",
                                                                                "vip_score", "region"]),
                   max_size=6, unique=True),
    data=st.data(),
)
def test_random_frames_through_the_cleaner(extra, data) -> None:
    """clean_customers on DataFrames whose cells mix text, numbers, None, bools, dates and infinities."""
    cols = ["customer_id", "total_orders", "total_spent_dirty", *[c for c in extra if c not in ("total_orders",
                                                                                            "total_spent_dirty")]]
    n = data.draw(st.integers(1, 15))
    ids = data.draw(st.lists(st.one_of(st.sampled_from(["C1", " c1", "C2", "c2 ", "", None, "C3"]), ANY_CELL),
                             min_size=n, max_size=n))
    frame = {"customer_id": pd.Series(ids, dtype=object)}
    for c in cols[1:]:
        frame[c] = pd.Series(data.draw(st.lists(ANY_CELL, min_size=n, max_size=n)), dtype=object)
    df = pd.DataFrame(frame)
    try:
        result = lk.clean_customers(df)
    except LookalikeError:
        return
    check_clean_result(result, rows_in=n)


@budget(5, fuzz_cap=200)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000))
def test_cleaned_random_tables_fit_and_query(n: int, seed: int) -> None:
    """Whatever the cleaner keeps can be fitted and queried (or is refused with a LookalikeError)."""
    rng = np.random.default_rng(seed)
    rows = base_rows(n)
    for r in rows:  # damage a random third of the cells
        for c in HEADER[1:]:
            if rng.random() < 0.33:
                r[c] = str(rng.choice(["", "x", "-1", "1e308", "N/A", "never", "999999", "=A1"]))
    try:
        result = lk.clean_customers(pd.DataFrame(rows))
        check_clean_result(result, rows_in=n)
        finder = lk.LookalikeFinder().fit(result.customers)
        got = finder.find_lookalikes(result.customers["customer_id"].iloc[0], k=min(3, finder.n_customers_ - 1))
    except LookalikeError:
        return
    assert len(got) == min(3, finder.n_customers_ - 1) and np.isfinite(got["distance"]).all()


# ------------------------------------------------------------------ CLI text parsers
RULE_CUSTOMERS = lk.clean_customers(pd.DataFrame(base_rows(20))).customers

@budget(150)
@given(text=st.one_of(st.text(max_size=40),
                      st.builds(" ".join, st.lists(st.sampled_from(
                          ["total_spent", "age", "region", "vip_score", ">=", "<", "==", "!=", "top", "bottom", "in",
                           "and", "5%", "0.8", "-1", "Norte|Sur", "1e308", "nan", "%", "|", "x"]), max_size=7))))
def test_rules_parse_or_refuse(text: str) -> None:
    try:
        conditions = parse_rule(text)
        mask = rule_mask(RULE_CUSTOMERS, conditions)
    except LookalikeError as exc:
        assert "\n" not in str(exc)
        return
    assert mask.dtype == bool and len(mask) == len(RULE_CUSTOMERS)


@budget(150)
@given(size=st.one_of(st.text(max_size=8), st.integers(), st.floats(), st.none(), st.booleans()),
       n_base=st.integers(1, 10**6))
def test_audience_sizes_parse_or_refuse(size, n_base: int) -> None:
    try:
        got = parse_size(size, n_base)
    except LookalikeError:
        return
    assert isinstance(got, int) and got >= 1


@budget(60)
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_id_files_read_or_refuse(body: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "ids.csv"
        p.write_bytes(body)
        try:
            ids = read_id_file(p)
        except LookalikeError:
            return
    assert ids and all(isinstance(i, str) and i == i.strip() and i for i in ids)


@pytest.mark.parametrize("ext", sorted(GOOD))
def test_undamaged_files_are_read(ext, tmp_path) -> None:
    """The fuzzed originals are themselves good: the damage, not the file, is what gets refused."""
    p = tmp_path / f"x{ext}"
    p.write_bytes(GOOD[ext])
    result = read_and_clean(p)
    assert result is not None and len(result.customers) == 12
