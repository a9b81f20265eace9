"""The bad-input catalogue (docs/bad_inputs.md), one test per row, through the library and the CLI.

Each file row is read and cleaned with ``lk.read_customers`` + ``lk.clean_customers`` and with
``lookalike clean``. Either both refuse it — a ``LookalikeError`` subclass whose one-line
message names the problem, the same line after ``error:`` on the CLI, the documented exit code
and no traceback — or both accept it, and then the row accounting (rows in = kept +
quarantined + merged duplicates) holds against the number of data rows the test wrote, and the
problem is counted in the quality report.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.audience.store import load_audience
from lookalike.cli import app
from lookalike.errors import (EmptyDataError, InputError, LookalikeError, MissingColumnsError, ParameterError,
                              UnknownCustomerError, UnsupportedFormatError)

from lookalike.cleaning.table import REPEATED_HEADER, TOTAL_ROW

from .conftest import HEADER, N_BASE, base_rows, csv_text, error_lines

EXIT_ARGUMENT, EXIT_INPUT = 2, 3


@dataclass(frozen=True)
class Refused:
    """The input must be refused with ``error`` matching ``match``, exit code ``code``."""

    error: type[LookalikeError]
    match: str
    code: int = EXIT_INPUT


@dataclass(frozen=True)
class Accepted:
    """The input is usable: ``rows_in`` data rows, and ``check(result)`` sees the problem counted."""

    rows_in: int
    check: Callable[[lk.CleanResult], None]


# ------------------------------------------------------------------ file builders (path -> expectation)
def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _xlsx(path: Path, df: pd.DataFrame) -> Path:
    df.to_excel(path, index=False, engine="xlsxwriter")
    return path


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


BASE = base_rows()
BASE_DF = pd.DataFrame(BASE)


def case_empty(d: Path):
    return _write(d / "empty.csv", b""), Refused(EmptyDataError, r"empty \(0 bytes\)")


def case_header_only_csv(d: Path):
    return _write(d / "header.csv", csv_text([])), Refused(EmptyDataError, "header but no rows")


def case_header_only_xlsx(d: Path):
    return _xlsx(d / "header.xlsx", BASE_DF.iloc[:0]), Refused(EmptyDataError, "header but no rows")


def case_no_header_xlsx(d: Path):
    import xlsxwriter

    wb = xlsxwriter.Workbook(d / "blank.xlsx")
    wb.add_worksheet()
    wb.close()
    return d / "blank.xlsx", Refused(EmptyDataError, "no columns")


def case_csv_named_xlsx(d: Path):
    return _write(d / "renamed.xlsx", csv_text(BASE)), Refused(UnsupportedFormatError, "not an Excel workbook")


def case_xlsx_named_csv(d: Path):
    raw = _xlsx(d / "real.xlsx", BASE_DF).read_bytes()
    return _write(d / "renamed.csv", raw), Refused(UnsupportedFormatError, "binary content")


def case_csv_named_parquet(d: Path):
    return _write(d / "renamed.parquet", csv_text(BASE)), Refused(UnsupportedFormatError, "not a parquet file")


def case_png_named_csv(d: Path):
    # binary junk with no magic number we know: read as text, then it has ragged rows or no
    # customer columns (tests/reliability/test_fuzz.py tries many more random files)
    data = b"\x89PNG\r\n\x1a\n" + np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes()
    return _write(d / "image.csv", data), Refused(InputError, "cannot parse .* as CSV|missing required column")


def case_corrupt_xlsx(d: Path):
    good = _xlsx(d / "good.xlsx", BASE_DF).read_bytes()
    return _write(d / "truncated.xlsx", good[: len(good) // 2]), Refused(InputError, "workbook is corrupt")


def case_corrupt_parquet_truncated(d: Path):
    good = _parquet_bytes(BASE_DF)
    return _write(d / "truncated.parquet", good[: len(good) // 2]), Refused(InputError, "parquet file is corrupt")


def case_corrupt_parquet_flipped(d: Path):
    data = bytearray(_parquet_bytes(BASE_DF))
    data[-12:-8] = b"\xff\xff\xff\x7f"  # footer length points far outside the file
    return _write(d / "flipped.parquet", bytes(data)), Refused(InputError, "parquet file is corrupt")


def case_too_many_fields(d: Path):
    text = csv_text(BASE) + "C9999," + ",".join(["1"] * (len(HEADER) + 3)) + "\n"
    return _write(d / "ragged.csv", text), Refused(InputError, rf"line {N_BASE + 2}")


def case_mixed_delimiters(d: Path):
    # two rows typed with ';' in a ',' file: one field each, no usable values -> quarantined, counted
    text = csv_text(BASE) + "C9998;30;F;20000\nC9999;41;M;30000\n"

    def check(r):
        assert r.report.rows_quarantined == 2
        assert r.report.quarantine_reasons == {"no usable values: every customer field is empty or unparseable": 2}
        assert set(r.quarantine["row_number"]) == {N_BASE + 1, N_BASE + 2}

    return _write(d / "mixed.csv", text), Accepted(N_BASE + 2, check)


def case_utf8_bom(d: Path):
    def check(r):
        assert r.customers["customer_id"].iloc[0] == "C0001" and r.report.read["encoding"] == "utf-8-sig"

    return _write(d / "bom.csv", b"\xef\xbb\xbf" + csv_text(BASE).encode()), Accepted(N_BASE, check)


def case_cp1252(d: Path):
    rows = [dict(r, notes="Prefiere atención en tienda; niño") for r in BASE]

    def check(r):
        assert r.report.read["encoding"] == "cp1252"
        assert (r.customers["notes"] == "Prefiere atención en tienda; niño").all()

    return _write(d / "cp1252.csv", csv_text(rows).encode("cp1252")), Accepted(N_BASE, check)


def case_mixed_encodings(d: Path):
    # a UTF-8 file with one row pasted from a cp1252 system: the UTF-8 text stays right, the stray
    # bytes are replaced and counted per column instead of garbling the whole file
    rows = [dict(r, notes="Canción favorita: «Niño»") for r in BASE]
    text = csv_text(rows).encode("utf-8") + "C9999,30,F,1,1,1,1,1,1,Sur,Home,Web,2022-01-01,1,0,Atención,\n".encode("cp1252")

    def check(r):
        assert r.report.read["encoding"] == "utf-8"
        assert r.report.read["undecodable_cells"] == {"notes": 1}
        assert (r.customers["notes"].iloc[:N_BASE] == "Canción favorita: «Niño»").all()

    return _write(d / "mixed_enc.csv", text), Accepted(N_BASE + 1, check)


def case_non_utf8_bytes(d: Path):
    # stray bytes in an ASCII file: no valid UTF-8 multi-byte text, so it is read as cp1252 and
    # the damaged cells fail to parse and are counted as invalid
    text = csv_text(BASE).encode() + b"C9999,3\xff,F,\xfe\x80,1,2,3,4,5,Sur,Home,Web,2022-01-01,10,0,ok,\n"

    def check(r):
        assert r.report.read["encoding"] == "cp1252"
        row = r.customers.set_index("customer_id").loc["C9999"]
        assert pd.isna(row["age"]) and pd.isna(row["income"]) and row["total_orders"] == 2
        assert r.report.columns["age"]["invalid"] == 1 and r.report.columns["income"]["invalid"] == 1

    return _write(d / "bytes.csv", text), Accepted(N_BASE + 1, check)


def case_nul_and_control_chars(d: Path):
    rows = BASE + [dict(BASE[0], customer_id="C9999", notes="a\x00b\x07c", age="3\x005")]

    def check(r):
        assert r.report.columns["age"]["invalid"] >= 1
        assert "C9999" in set(r.customers["customer_id"])

    return _write(d / "nul.csv", csv_text(rows)), Accepted(N_BASE + 1, check)


def case_missing_required(d: Path):
    return _write(d / "nocols.csv", "name,city\nAna,Madrid\n"), Refused(MissingColumnsError, "customer_id")


def case_missing_value_columns(d: Path):
    text = csv_text(BASE, header=["customer_id", "age", "region_dirty"])
    return _write(d / "novalue.csv", text), Refused(MissingColumnsError, "total_orders or|total_orders, total_spent")


def case_duplicate_columns_after_mapping(d: Path):
    # "edad" is the Spanish alias of age, and a second "age" column: the column already named
    # age keeps the name, the others keep theirs and are listed as ignored (nothing silently merged)
    rows = [dict(r, edad="99") for r in BASE]
    text = csv_text(rows, header=[*HEADER, "edad"]).replace("json_prefs,edad", "json_prefs,edad,age", 1)
    text = "\n".join(ln + ",77" if i else ln for i, ln in enumerate(text.splitlines())) + "\n"

    def check(r):
        assert {"edad", "age.1"} <= set(r.report.ignored_columns)
        assert r.customers["age"].tolist() == [int(row["age"]) for row in BASE]

    return _write(d / "dupcols.csv", text), Accepted(N_BASE, check)


def case_extra_columns(d: Path):
    rows = [dict(r, loyalty_tier="gold", internal_code="X1") for r in BASE]

    def check(r):
        assert {"loyalty_tier", "internal_code"} <= set(r.report.ignored_columns)
        assert "loyalty_tier" not in r.customers.columns

    return _write(d / "extra.csv", csv_text(rows, header=[*HEADER, "loyalty_tier", "internal_code"])), Accepted(N_BASE, check)


def case_all_null_column(d: Path):
    rows = [dict(r, income="") for r in BASE]

    def check(r):
        assert r.report.columns["income"]["all_missing"] is True
        assert r.customers["income"].isna().all() and len(r.customers) == N_BASE

    return _write(d / "nullcol.csv", csv_text(rows)), Accepted(N_BASE, check)


def case_all_rows_unusable(d: Path):
    rows = [{"customer_id": "", "age": "x"} for _ in range(5)] + [{"customer_id": f"Z{i}"} for i in range(3)]

    def check(r):
        assert len(r.customers) == 0 and r.report.rows_quarantined == 8
        assert r.report.quarantine_reasons["missing customer_id"] == 5

    return _write(d / "unusable.csv", csv_text(rows)), Accepted(8, check)


def case_duplicate_conflicting(d: Path):
    rows = BASE + [dict(BASE[0], income="99999", region_dirty="Sur"), dict(BASE[1])]

    def check(r):
        assert r.report.duplicates_merged == 2 and r.report.duplicate_ids == 2
        assert r.report.duplicate_conflicts == 1  # C0001 disagrees with itself, C0002 does not
        assert r.customers["customer_id"].is_unique

    return _write(d / "dups.csv", csv_text(rows)), Accepted(N_BASE + 2, check)


def case_id_whitespace_case(d: Path):
    rows = BASE + [dict(BASE[0], customer_id="  c0001 "), dict(BASE[1], customer_id="C0002\t")]

    def check(r):
        assert r.report.duplicates_merged == 2
        assert set(r.customers["customer_id"]) == {f"C{i:04d}" for i in range(1, N_BASE + 1)}

    return _write(d / "idcase.csv", csv_text(rows)), Accepted(N_BASE + 2, check)


def case_absurd_numbers(d: Path):
    absurd = [dict(BASE[0], customer_id="A1", age="250"), dict(BASE[0], customer_id="A2", total_spent_dirty="-5"),
              dict(BASE[0], customer_id="A3", income="1e308", total_orders="1e308"),
              dict(BASE[0], customer_id="A4", avg_items_per_order="1e308", total_spent_dirty="1e308"),
              dict(BASE[0], customer_id="A5", age="-3", tenure_months="-1", income="-100")]

    def check(r):
        cols = r.report.columns
        assert cols["age"]["notes"]["out_of_range"] == 2
        assert cols["total_spent_dirty"]["notes"]["negative"] == 1
        assert cols["total_spent_dirty"]["notes"]["out_of_range"] == 1
        assert cols["income"]["notes"]["out_of_range"] == 1 and cols["income"]["notes"]["negative"] == 1
        assert cols["total_orders"]["notes"]["out_of_range"] == 1
        assert cols["avg_items_per_order"]["notes"]["out_of_range"] == 1
        absurd_rows = r.customers.set_index("customer_id").loc[["A1", "A2", "A3", "A4", "A5"]]
        assert absurd_rows[["age", "total_spent", "income", "total_orders", "avg_items_per_order"]].isna().sum().sum() == 8
        # the absurd values are gone, so the table fits and every feature is finite
        assert np.isfinite(lk.LookalikeFinder().fit(r.customers).X_).all()

    return _write(d / "absurd.csv", csv_text(BASE + absurd)), Accepted(N_BASE + 5, check)


def case_text_in_numbers(d: Path):
    rows = BASE + [dict(BASE[0], customer_id="T1", age="thirty", income="lots", total_orders="many",
                        total_spent_dirty="n/d", pct_reordered_dirty="half")]

    def check(r):
        for col in ("age", "income", "total_orders", "pct_reordered_dirty"):
            assert r.report.columns[col]["invalid"] == 1, col
        assert "T1" in set(r.customers["customer_id"])  # region, category, ... still usable

    return _write(d / "text.csv", csv_text(rows)), Accepted(N_BASE + 1, check)


def case_formulas_csv(d: Path):
    rows = BASE + [dict(BASE[0], customer_id="F1", notes='=HYPERLINK("http://evil","x")', region_dirty="=1+1"),
                   dict(BASE[1], customer_id="=2+3"),
                   {"customer_id": "", "notes": "=cmd|' /C calc'!A0"}]

    def check(r):
        row = r.customers.set_index("customer_id").loc["F1"]
        assert row["notes"] == '=HYPERLINK("http://evil","x")' and row["region"] == "Unknown"
        assert r.report.quarantine_reasons == {"missing customer_id": 1}

    return _write(d / "formulas.csv", csv_text(rows)), Accepted(N_BASE + 3, check)


def case_formulas_xlsx(d: Path):
    # formula cells in a workbook are read as their cached results, never as formula text
    import xlsxwriter

    wb = xlsxwriter.Workbook(d / "formulas.xlsx")
    ws = wb.add_worksheet()
    for j, h in enumerate(["customer_id", "total_orders", "total_spent_dirty", "notes"]):
        ws.write_string(0, j, h)
    for i in range(1, 6):
        ws.write_string(i, 0, f"C{i}")
        ws.write_formula(i, 1, f"={i}+1", None, i + 1)
        ws.write_number(i, 2, 10.5 * i)
        ws.write_formula(i, 3, '=CONCAT("a","b")', None, "ab")
    wb.close()

    def check(r):
        assert r.customers["total_orders"].tolist() == [2, 3, 4, 5, 6]
        assert (r.customers["notes"] == "ab").all()

    return d / "formulas.xlsx", Accepted(5, check)


def case_long_strings(d: Path):
    rows = BASE + [dict(BASE[0], customer_id="L" * 5000, notes="x" * 1_000_000, region_dirty="Norte" * 20000)]

    def check(r):
        long = r.customers.set_index("customer_id").loc["L" * 5000]
        assert len(long["notes"]) == 1_000_000 and long["region"] == "Unknown"
        assert r.report.columns["region_dirty"]["invalid"] >= 1

    return _write(d / "long.csv", csv_text(rows)), Accepted(N_BASE + 1, check)


def case_single_customer(d: Path):
    def check(r):
        assert len(r.customers) == 1
        with pytest.raises(InputError, match="at least 2 customers"):
            lk.LookalikeFinder().fit(r.customers)

    return _write(d / "one.csv", csv_text(BASE[:1])), Accepted(1, check)


def case_decimal_parquet(d: Path):
    # issue 16 item 16: decimal128 columns (a typed database dump) are numbers, read exactly
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    def dec(values, scale):
        return pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(20, scale))

    n = N_BASE
    table = pa.table({"customer_id": dec([str(9_000_000_000_000_000_000 + i) for i in range(n)], 0),
                      "total_orders": dec([str(2 + i % 30) for i in range(n)], 0),
                      "total_spent": dec([f"{100 + 37.5 * i:.2f}" for i in range(n - 1)] + [None], 2),
                      "income": dec([f"{20000 + 750 * i}.50" for i in range(n)], 2)})
    pq.write_table(table, d / "decimal.parquet")

    def check(r):
        assert r.report.columns["total_spent_dirty"]["clean"] == n - 1 and r.report.columns["income"]["invalid"] == 0
        assert r.customers["customer_id"].iloc[-1] == str(9_000_000_000_000_000_000 + n - 1)
        assert r.customers["total_spent"].iloc[:3].tolist() == [100.0, 137.5, 175.0]
        assert r.customers["total_orders"].sum() == sum(2 + i % 30 for i in range(n))

    return d / "decimal.parquet", Accepted(n, check)


def case_month_year_and_future_dates(d: Path):
    # issue 16 item 18: "Dec 2022" is the first of December (was Dec 20), flagged; dates after the
    # export (today, by default) are flagged, and those over a year after it are refused
    today = pd.Timestamp.today().normalize()
    soon, far = today + pd.Timedelta(days=30), today + pd.DateOffset(years=5)
    rows = [dict(r) for r in BASE]
    rows[0]["signup_date_dirty"], rows[1]["signup_date_dirty"] = "Dec 2022", "dic 2022"
    rows[2]["signup_date_dirty"], rows[3]["signup_date_dirty"] = "12/2022", "2022-12"
    rows[4]["signup_date_dirty"], rows[5]["signup_date_dirty"] = soon.strftime("%Y-%m-%d"), far.strftime("%d/%m/%Y")

    def check(r):
        notes = r.report.columns["signup_date_dirty"]["notes"]
        assert notes["flags"] == {"month_year": 4, "future_date": 1, "far_future": 1}
        assert notes["as_of"] == today.strftime("%Y-%m-%d")
        got = r.customers.set_index("customer_id")["signup_date"]
        assert (got.loc[["C0001", "C0002", "C0003", "C0004"]] == pd.Timestamp("2022-12-01")).all()
        assert got.loc["C0005"] == soon and pd.isna(got.loc["C0006"])  # kept and counted / refused

    return _write(d / "dates.csv", csv_text(rows)), Accepted(N_BASE, check)


def case_repeated_header(d: Path):
    # issue 16 item 19: header lines inside the data (two exports pasted together, one in
    # upper case, one with the Spanish names) were customers CUSTOMER_ID and ID_CLIENTE
    lines = csv_text(BASE).splitlines()
    spanish = "id_cliente,edad,genero,ingresos,antiguedad_meses,pedidos,recencia_texto,pct_reorden_texto,articulos_por_pedido,zona_texto,categoria,canal_alta,fecha_alta,gasto_total,vip,notas,preferencias"
    text = "\n".join([*lines[:11], lines[0], *lines[11:21], lines[0].upper(), *lines[21:31], spanish, *lines[31:]]) + "\n"

    def check(r):
        reasons = r.report.quarantine_reasons
        assert reasons == {REPEATED_HEADER: 3}, reasons
        assert r.quarantine["row_number"].tolist() == [11, 22, 33]  # data rows 11, 22, 33 (after the header)
        assert len(r.customers) == N_BASE and not {"CUSTOMER_ID", "ID_CLIENTE"} & set(r.customers["customer_id"])
        # the header cells count in no column: nothing invalid in a column of numbers
        assert r.report.columns["total_orders"]["invalid"] == 0 and r.report.columns["age"]["invalid"] == 0

    return _write(d / "headers.csv", text), Accepted(N_BASE + 3, check)


def case_total_row(d: Path):
    # issue 16 item 19: a "Total" footer was customer TOTAL with 12,345 orders
    orders = sum(int(r["total_orders"]) for r in BASE)
    spent = sum(100 + 37.5 * i for i in range(1, N_BASE + 1))
    rows = BASE + [{"customer_id": "Total", "total_orders": "12,345", "total_spent_dirty": f"${spent:,.2f}"},
                   {"customer_id": "TOTAL GENERAL:", "total_orders": str(orders)},
                   {"customer_id": "", "total_orders": str(orders), "total_spent_dirty": f"${spent:,.2f}"},
                   {"customer_id": "", "total_orders": "7", "region_dirty": "Norte"}]

    def check(r):
        assert r.report.quarantine_reasons == {TOTAL_ROW: 3, "missing customer_id": 1}, r.report.quarantine_reasons
        assert len(r.customers) == N_BASE and "TOTAL" not in set(r.customers["customer_id"])
        assert r.customers["total_orders"].max() < 100

    return _write(d / "totals.csv", csv_text(rows)), Accepted(N_BASE + 4, check)


FILE_CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}


def _api(path: Path):
    return lk.clean_customers(lk.read_customers(path))


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_file_input(name, tmp_path, runner):
    path, expect = FILE_CASES[name](tmp_path)
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out"), "--no-cache"])
    assert "Traceback" not in res.output
    if isinstance(expect, Refused):
        with pytest.raises(expect.error, match=expect.match) as info:
            _api(path)
        message = str(info.value)
        assert "\n" not in message and len(message) < 600
        assert res.exit_code == expect.code, res.output
        lines = error_lines(res.output)
        assert len(lines) == 1 and lines[0] == f"error: {message}", res.output
        assert not (tmp_path / "out" / "customers.parquet").exists()
        return
    result = _api(path)
    rep = result.report
    assert rep.rows_in == expect.rows_in  # counted independently: the data rows this test wrote
    assert rep.rows_in == len(result.customers) + len(result.quarantine) + rep.duplicates_merged
    assert rep.balanced
    expect.check(result)
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "out" / "quality.json").read_text())["rows"]
    assert (rows["in"], rows["kept"], rows["quarantined"], rows["duplicates_merged"]) == (
        rep.rows_in, rep.rows_kept, rep.rows_quarantined, rep.duplicates_merged)


def test_clean_as_of_is_the_export_date(tmp_path, runner):
    rows = [dict(r) for r in BASE]
    rows[0]["signup_date_dirty"], rows[1]["signup_date_dirty"] = "2024-06-15", "2026-01-01"
    path = _write(tmp_path / "dates.csv", csv_text(rows))
    r = lk.clean_customers(lk.read_customers(path), as_of="2024-05-31")
    assert r.report.columns["signup_date_dirty"]["notes"]["flags"] == {"month_year": 0, "future_date": 1,
                                                                      "far_future": 1}
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out"), "--as-of", "2024-05-31"])
    assert res.exit_code == 0, res.output
    notes = json.loads((tmp_path / "out" / "quality.json").read_text())["columns"]["signup_date_dirty"]["notes"]
    assert notes["as_of"] == "2024-05-31" and notes["flags"]["far_future"] == 1
    # the cache keeps one entry per export date: today's clean is not the one of 2024-05-31
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out2")])
    notes = json.loads((tmp_path / "out2" / "quality.json").read_text())["columns"]["signup_date_dirty"]["notes"]
    assert res.exit_code == 0 and notes["as_of"] == pd.Timestamp.today().strftime("%Y-%m-%d")
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out3"), "--as-of", "soon"])
    assert res.exit_code == EXIT_ARGUMENT and error_lines(res.output) == [
        "error: as_of must be a date such as '2024-05-31', got 'soon'"], res.output


def test_quarantine_and_audience_csv_escape_formulas(tmp_path, runner):
    """Formula text from the CRM is kept in the data but neutralised in every CSV a person opens."""
    path, _ = case_formulas_csv(tmp_path)
    assert runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out"), "--no-cache"]).exit_code == 0
    quarantine = pd.read_csv(tmp_path / "out" / "quarantine.csv", dtype=str)
    assert quarantine.loc[0, "notes"] == "'=cmd|' /C calc'!A0"
    customers = pd.read_parquet(tmp_path / "out" / "customers.parquet")  # parquet keeps the value as it was
    assert customers.set_index("customer_id").loc["F1", "notes"].startswith("=HYPERLINK")
    assert "=2+3" in set(customers["customer_id"])
    res = runner.invoke(app, ["expand", str(tmp_path / "out" / "customers.parquet"), "--seeds", "vip", "--size", "45",
                              "-o", str(tmp_path / "aud.csv"), "--keep-opted-out"])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "aud.csv").read_text().splitlines()
    assert sum(ln.startswith("'=2+3,") for ln in lines) == 1 and not any(ln.startswith("=") for ln in lines)
    # the escaped file still matches its manifest's checksum
    assert len(load_audience(tmp_path / "aud.csv")) == len(lines) - 1


# ------------------------------------------------------------------ seeds, k and tiny tables
@pytest.fixture(scope="module")
def clean_parquet(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("seeds")
    result = lk.clean_customers(pd.DataFrame(BASE))
    lk.io.write_table(result.customers, d / "customers.parquet")
    return d / "customers.parquet"


@pytest.fixture(scope="module")
def finder(clean_parquet):
    return lk.LookalikeFinder().fit(pd.read_parquet(clean_parquet))


def _ids_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


QUERY_CASES = {
    # name: (library call on (fitted finder, id files), CLI args after the data path, error, match, exit code)
    "k_above_customers": (lambda f, d: f.find_lookalikes("C0001", k=N_BASE), ["find", "C0001", "-k", str(N_BASE)],
                          ParameterError, rf"k <= {N_BASE - 1}", EXIT_ARGUMENT),
    "k_zero": (lambda f, d: f.find_lookalikes("C0001", k=0), ["find", "C0001", "-k", "0"], ParameterError,
               "k must be at least 1", EXIT_ARGUMENT),
    "unknown_query_id": (lambda f, d: f.find_lookalikes("NOPE", k=3), ["find", "NOPE"], UnknownCustomerError, "'NOPE'",
                         EXIT_ARGUMENT),
    "seeds_not_in_data": (lambda f, d: f.expand(["C0001", "GHOST1", "GHOST2"], size=5),
                          ["expand", "--seeds", "{ids_ghost}", "--size", "5"], UnknownCustomerError, "GHOST1",
                          EXIT_ARGUMENT),
    "empty_seed_set_rule": (lambda f, d: f.expand([{"column": "total_orders", "op": ">", "value": 10_000}], size=5),
                            ["expand", "--seeds", "total_orders > 10000", "--size", "5"], InputError, "empty|no seed",
                            EXIT_INPUT),
    "empty_seed_file": (lambda f, d: f.expand(str(d["ids_empty"]), size=5),
                        ["expand", "--seeds", "{ids_empty}", "--size", "5"], InputError, "no customer ids", EXIT_INPUT),
    "seed_file_missing_ids": (lambda f, d: f.expand(str(d["ids_missing"]), 5),
                              ["expand", "--seeds", "{ids_missing}", "--size", "5"], InputError, "line 3 has no customer_id",
                              EXIT_INPUT),
    "seeds_whole_base": (lambda f, d: f.expand(f.customers_["customer_id"].tolist(), size=5),
                         ["expand", "--seeds", "{ids_all}", "--size", "5"], InputError, "whole base", EXIT_INPUT),
    "size_above_base": (lambda f, d: f.expand("vip", size=10 * N_BASE), ["expand", "--seeds", "vip", "--size", "400"],
                        None, "", 0),
    "rule_number_vs_text": (lambda f, d: f.expand([{"column": "age", "op": ">", "value": "abc"}], size=5),
                            ["expand", "--seeds", "age > abc", "--size", "5"], ParameterError,
                            "needs a number to compare with", EXIT_ARGUMENT),
    "bad_size": (lambda f, d: f.expand("vip", size="lots"), ["expand", "--seeds", "vip", "--size", "lots"], ParameterError,
                 "size", EXIT_ARGUMENT),
}


@pytest.mark.parametrize("name", sorted(QUERY_CASES))
def test_query_input(name, finder, clean_parquet, tmp_path, runner):
    call, args, error, match, code = QUERY_CASES[name]
    files = {
        "ids_ghost": _ids_file(tmp_path / "ghost.txt", "C0001\nGHOST1\nGHOST2\n"),
        "ids_empty": _ids_file(tmp_path / "empty.txt", "\n \n"),
        "ids_missing": _ids_file(tmp_path / "missing.csv", "name,customer_id\nAna,C0001\nLuis\n"),
        "ids_all": _ids_file(tmp_path / "all.txt", "\n".join(finder.customers_["customer_id"]) + "\n"),
    }
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    cli = [args[0], str(clean_parquet), *args[1:]]
    if args[0] == "expand":
        cli += ["-o", str(tmp_path / "aud.parquet"), "--keep-opted-out"]
    res = runner.invoke(app, cli)
    assert "Traceback" not in res.output
    n_before = finder.n_customers_
    if error is None:  # usable: a clean result that says why it is smaller
        result = finder.build_audience("vip", 10 * N_BASE)
        n_vips = int((finder.customers_["vip_flag"] == 1).sum())
        note = f"only {N_BASE - n_vips} customers qualify after exclusions and filters; the audience has {N_BASE - n_vips} rows instead of 400"
        assert note in result.warnings
        assert len(result.audience) == N_BASE - n_vips
        assert res.exit_code == 0, res.output
        assert f"warning: {note}" in res.output
        return
    with pytest.raises(error, match=match) as info:
        call(finder, files)
    assert "\n" not in str(info.value)
    assert res.exit_code == code, res.output
    lines = error_lines(res.output)
    assert len(lines) == 1 and lines[0] == f"error: {info.value}", res.output
    assert finder.n_customers_ == n_before


def test_single_customer_cli_fit_is_refused(tmp_path, runner):
    path, _ = case_single_customer(tmp_path)
    res = runner.invoke(app, ["fit", str(path), "-o", str(tmp_path / "model")])
    assert res.exit_code == EXIT_INPUT and error_lines(res.output) == [
        "error: the customer table has 1 row(s); lookalikes need at least 2 customers"]
    assert not (tmp_path / "model").exists() or not any((tmp_path / "model").iterdir())


def test_two_customers_is_the_smallest_usable_table(tmp_path, runner):
    path = _write(tmp_path / "two.csv", csv_text(BASE[:2]))
    res = runner.invoke(app, ["find", str(path), "C0001", "-k", "1", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "C0002" in res.stdout


def test_library_refuses_a_non_dataframe_and_an_empty_frame():
    with pytest.raises(ParameterError, match="DataFrame"):
        lk.clean_customers([{"customer_id": "C1"}])
    with pytest.raises(EmptyDataError, match="no rows"):
        lk.clean_customers(pd.DataFrame({"customer_id": [], "total_orders": [], "total_spent_dirty": []}))


def test_unexpected_failure_is_one_line_without_traceback(tmp_path, runner, monkeypatch):
    """A bug (not a data problem) still reaches the user as one line and exit code 1."""
    path = _write(tmp_path / "ok.csv", csv_text(BASE))

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("lookalike.cleaning.table.clean_customers", boom)
    monkeypatch.setattr("lookalike.cleaning.cache.clean_customers", boom)
    monkeypatch.delenv("LOOKALIKE_DEBUG", raising=False)
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "o"), "--no-cache"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert error_lines(res.output) == [
        "error: unexpected failure: RuntimeError: simulated bug (set LOOKALIKE_DEBUG=1 for the traceback, and please report it)"]
    assert os.environ.get("LOOKALIKE_DEBUG") is None
