"""Workbooks (issue 16, items 3, 9, 17, 23): zip bombs refused before parsing, the sheet Excel opens
on (not a hidden sheet 0), ``--sheet``, a header below title rows, an empty first sheet, and
identifier columns (postcodes, phones, ids) read as the text they hold."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike import errors
from lookalike import io as lio
from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.io import read_customers

runner = CliRunner()
HEADER = ["customer_id", "age", "total_orders", "total_spent", "region", "zip", "phone", "country"]


def _rows(n: int, start: int = 1) -> list[list]:
    return [[f"C{i:04d}", 20 + i % 50, 1 + i % 9, 10.5 * i, ["Norte", "Sur"][i % 2],
             "08001" if i % 3 == 0 else 28000 + i, 612345000 + i, "ES"] for i in range(start, start + n)]


def _workbook(path: Path, sheets: dict[str, list[list]], *, active: int = 0, hidden: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    wb.active = active
    wb.save(path)
    return path


def _bomb(path: Path, rows: int, *, dimension: bool) -> Path:
    """A valid xlsx whose one sheet holds ``rows`` identical rows: tiny on disk, huge once expanded."""
    template = _workbook(path.with_suffix(".tpl.xlsx"), {"Sheet1": [HEADER]})
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                z.writestr(item, src.read(item))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                     b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                fh.write(f'<dimension ref="A1:H{rows}"/>'.encode())
            fh.write(b"<sheetData>")
            row = b'<row><c t="inlineStr"><is><t>C1</t></is></c><c><v>30</v></c><c><v>2</v></c><c><v>9.5</v></c></row>'
            block = row * 10_000
            for _ in range(rows // 10_000):
                fh.write(block)
            fh.write(b"</sheetData></worksheet>")
    return path


# ------------------------------------------------------------------ item 3: zip bombs
@pytest.mark.parametrize("dimension", [True, False], ids=["dimension", "no_dimension"])
def test_a_zip_bomb_is_refused_before_parsing(tmp_path, dimension):
    bomb = _bomb(tmp_path / "bomb.xlsx", 2_100_000, dimension=dimension)
    assert bomb.stat().st_size < 2_000_000  # 2.1M rows in under 2 MB
    # in a child process, to measure its peak memory (calamine parses in native code); VmHWM, not
    # ru_maxrss, which on Linux carries the forking parent's peak (the test runner's) across exec
    code = ("import re, time, sys\nfrom lookalike.io import read_customers\nt = time.perf_counter()\n"
            "try:\n    read_customers(sys.argv[1])\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
            "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
            "print(time.perf_counter() - t, peak)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.splitlines()
    assert out[0].startswith("InputTooLarge") and "2,000,000" in out[0] and "LOOKALIKE_MAX_XLSX_ROWS" in out[0], out
    seconds, peak_kb = map(float, out[-1].split())
    assert peak_kb < 600_000, f"peak memory {peak_kb / 1024:.0f} MiB"  # parsing it took 1.9 GB
    assert seconds < 60  # parsing it took 46 s; refusing it takes about a second (loaded machine: generous)


def test_workbook_limits_are_settings_and_named(tmp_path, monkeypatch):
    path = _workbook(tmp_path / "w.xlsx", {"Data": [HEADER, *_rows(50)]})
    assert lio.check_workbook(path) == {"Data": (51, 8)}
    monkeypatch.setenv("LOOKALIKE_MAX_XLSX_ROWS", "40")
    with pytest.raises(errors.InputTooLarge, match="above the limit of 40; .*LOOKALIKE_MAX_XLSX_ROWS"):
        read_customers(path)
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 3 and "LOOKALIKE_MAX_XLSX_ROWS" in res.output, res.output
    with pytest.raises(errors.InputTooLarge, match="LOOKALIKE_MAX_XLSX_COLUMNS"):
        lio.check_workbook(path, lio.WorkbookLimits(columns=7))
    with pytest.raises(errors.InputTooLarge, match="LOOKALIKE_MAX_XLSX_MB"):
        lio.check_workbook(_bomb(tmp_path / "b.xlsx", 30_000, dimension=False), lio.WorkbookLimits(mb=1))


def test_the_api_answers_413_with_the_limit(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from tests.api.service import make_service

    service = make_service(tmp_path / "home", dataset=None)
    bomb = _bomb(tmp_path / "bomb.xlsx", 30_000, dimension=True)
    monkeypatch.setenv("LOOKALIKE_MAX_XLSX_ROWS", "20000")
    with TestClient(service.app) as client:
        r = client.post("/api/v1/datasets/upload", data={"name": "bomb"}, headers={"X-API-Key": service.editor_key},
                        files={"file": ("export.xlsx", bomb.read_bytes())})
    assert r.status_code == 413, r.text
    assert "20,000" in r.json()["detail"] and "LOOKALIKE_MAX_XLSX_ROWS" in r.json()["detail"]
    assert not (service.home / "datasets" / "bomb").exists()


# ------------------------------------------------------------------ item 17 and 23: which sheet, which row
def test_the_active_visible_sheet_is_read_not_a_hidden_sheet_0(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Old": [HEADER, *_rows(5, 900)], "Data": [HEADER, *_rows(30)]},
                     active=1, hidden=("Old",))
    df = read_customers(path)
    assert len(df) == 30 and df["customer_id"].iloc[0] == "C0001"
    assert df.attrs["read"]["sheet"] == "Data" and df.attrs["read"]["header_row"] == 1
    assert len(read_customers(path, sheet="Old")) == 5 and len(read_customers(path, sheet=0)) == 5
    with pytest.raises(ParameterError, match="no sheet 'Nope'; its sheets are 'Old', 'Data'"):
        read_customers(path, sheet="Nope")


def test_cli_sheet_option_and_the_report_names_the_sheet(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Data": [HEADER, *_rows(30)], "Other": [HEADER, *_rows(12, 500)]})
    res = runner.invoke(app, ["clean", str(path), "-o", str(tmp_path / "a"), "--sheet", "2"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "a" / "quality.json").read_text())
    assert report["rows"]["in"] == 12 and report["read"]["sheet"] == "Other"
    assert "Other" in (tmp_path / "a" / "quality.md").read_text()
    res = runner.invoke(app, ["fit", str(path), "-o", str(tmp_path / "m"), "--sheet", "Data"])
    assert res.exit_code == 0 and "30 customers" in res.output, res.output


def test_a_header_below_title_rows_is_found(tmp_path):
    rows = [["Customer export"], ["generated 2025-03-01", None, "by CRM"], [], HEADER, *_rows(20)]
    df = read_customers(_workbook(tmp_path / "w.xlsx", {"Export": rows}))
    assert len(df.columns) == len(HEADER) and df["customer_id"].tolist()[:2] == ["C0001", "C0002"]
    assert len(df) == 20 and df.attrs["read"]["header_row"] == 4


def test_no_header_says_which_sheet_and_row_were_tried(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Hoja1": [["Ventas"], ["a", "b", "c"], [1, 2, 3]]})
    with pytest.raises(MissingColumnsError) as info:
        read_customers(path)
    text = str(info.value)
    assert "sheet 'Hoja1', header row 1" in text and "no row of the first 30" in text and "customer_id" in text


def test_data_on_the_second_sheet_when_the_first_is_empty(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Sheet1": [], "Clientes": [HEADER, *_rows(10)]})
    df = read_customers(path)
    assert len(df) == 10 and df.attrs["read"]["sheet"] == "Clientes"
    assert df.attrs["read"]["empty_sheets_skipped"] == ["Sheet1"]
    empty = _workbook(tmp_path / "e.xlsx", {"A": [], "B": []})
    with pytest.raises(InputError, match="sheet\\(s\\) 'A', 'B' are empty"):
        read_customers(empty)


# ------------------------------------------------------------------ item 9: identifiers stay text
def test_postcodes_phones_and_ids_keep_their_text(tmp_path):
    rows = [HEADER, ["00017", 30, 2, 10, "Norte", "08001", "612345678", "ES"],
            [18, 31, 3, 11, "Sur", 28001, 612345679, "ES"], ["C19", 32, 4, 12, "Sur", " 08002", None, "ES"]]
    df = read_customers(_workbook(tmp_path / "w.xlsx", {"Data": rows}))
    assert df["zip"].tolist() == ["08001", "28001", " 08002"]  # text cells as written: no zero lost
    assert df["customer_id"].tolist() == ["00017", "18", "C19"] and df["phone"].tolist()[:2] == ["612345678", "612345679"]
    assert df.attrs["read"]["identifiers_stored_as_numbers"] == {"customer_id": 1, "zip": 1, "phone": 1}


def test_the_quality_report_does_not_call_a_text_postcode_fixed(tmp_path):
    rows = [HEADER, *[[f"C{i}", 30, 2, 10.0, "Norte", f"0{8000 + i}", "612345678", "ES"] for i in range(40)]]
    res = runner.invoke(app, ["clean", str(_workbook(tmp_path / "w.xlsx", {"Data": rows})), "-o", str(tmp_path / "o"),
                              "--no-cache"])
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(tmp_path / "o" / "customers.parquet")["zip"].str.startswith("0").all()
    zip_counts = json.loads((tmp_path / "o" / "quality.json").read_text())["columns"]["zip"]
    assert zip_counts.get("fixed", 0) == 0 and zip_counts["clean"] == 40


# ------------------------------------------------------------------ issue 17: calamine read directly, pandas' cells
def _pandas_sheets(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, engine="calamine", header=None, dtype=object)


def _assert_same_cells(path: Path) -> dict[str, pd.DataFrame]:
    """``lio.read_sheets`` gives what pandas' calamine reader gives: sheets, shapes, index types, values, cell types."""
    want, got = _pandas_sheets(path), lio.read_sheets(path)
    assert list(got) == list(want)
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, check_index_type=True,
                                      check_column_type=True, obj=f"{path.name}:{name}")
        kinds = [[type(v) for v in row] for row in frame.itertuples(index=False)]
        assert [[type(v) for v in row] for row in got[name].itertuples(index=False)] == kinds, f"{path.name}:{name}"
    return got


def _every_kind_of_cell(path: Path) -> Path:
    """Dates, times, durations, bools, error cells, whole and fractional floats, big numbers, missing-value
    spellings, a byte-order mark, a merged title row, blank rows and columns, several sheets."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["\ufeffCustomer export"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(["customer_id", "signup", "at", "wait", "vip", "spent", "big", "err", "note", None, "mixed"])
    ws.append(["C1", dt.date(2020, 1, 2), dt.time(12, 30), dt.timedelta(hours=30), True, 1.0, 2 ** 70, "#N/A",
               "N/A", None, True])
    ws.append([2, dt.datetime(2020, 1, 2, 3, 4, 5), dt.time(0, 0), dt.timedelta(0), False, 1.5, 1e20, "#DIV/0!",
               "", None, 1])
    ws.append([3.0, dt.date(1900, 3, 1), dt.time(23, 59, 59), dt.timedelta(days=-1), 1, -0.0, 2 ** 63, "#VALUE!",
               "NULL", None, 0])
    ws.append([-4, 45000, 0.5, -2.5, 0, 1e-9, -(2 ** 64), None, " NA ", None, False])
    ws.append([12345678901234567, 9007199254740993, 2 ** 62, 3.25, "True", 1e15 + 0.5, 1e308, None, "nan", None,
               "None"])
    ws.append(["08001", "2020-01-02", "n/a", "-nan", "#N/A N/A", "<NA>", "null", "NaN", "-1.#IND", None, "x"])
    ws["N14"] = "far corner"  # blank rows and columns up to it
    other = wb.create_sheet("Other")
    other["C3"] = 7
    other["A5"] = "tail"
    wb.create_sheet("Empty")
    hidden = wb.create_sheet("Hidden")
    hidden.append(["customer_id", "age"])
    hidden.append(["C9", 40.0])
    hidden.sheet_state = "hidden"
    wb.save(path)
    return path


def test_the_excel_na_text_is_pandas_own():
    from pandas._libs.parsers import STR_NA_VALUES  # private: the set read_excel applies, held equal here

    assert lio.EXCEL_NA_TEXT == STR_NA_VALUES


def test_the_calamine_read_gives_pandas_cells_for_every_kind_of_cell(tmp_path):
    got = _assert_same_cells(_every_kind_of_cell(tmp_path / "kinds.xlsx"))
    data = got["Data"]
    assert data.shape == (14, 14) and got["Empty"].shape == (0, 0)  # trailing blank rows and columns kept
    assert data.iat[0, 0] == "Customer export"  # the byte-order mark dropped
    assert data.iat[3, 5] == 1 and type(data.iat[3, 5]) is int and data.iat[4, 5] == 1.5
    assert data.iloc[3:8, 6].map(type).eq(int).all() and data.iat[5, 6] == 2 ** 63  # beyond int64 too
    assert data.iat[3, 1] == dt.datetime(2020, 1, 2) and type(data.iat[3, 1]) is dt.datetime
    assert pd.isna(data.iat[3, 8]) and data.iat[6, 8] == " NA "  # "N/A" is missing, " NA " is text
    assert data.iloc[3:9, 10].map(type).tolist() == [bool, int, int, bool, float, str]  # "None" is missing


def test_the_calamine_read_gives_pandas_cells_for_exports_and_dirty_workbooks(tmp_path):
    from lookalike.synth import write_synthetic
    from tests.reliability.test_bad_inputs import (
        case_formulas_xlsx,
        case_header_only_xlsx,
        case_no_header_xlsx,
    )

    paths = [write_synthetic(tmp_path / "seed.xlsx", 400, seed=3),
             write_synthetic(tmp_path / "demo.xlsx", 300, seed=1, contact=True)]
    paths += [case(tmp_path)[0] for case in (case_formulas_xlsx, case_header_only_xlsx, case_no_header_xlsx)]
    paths.append(_workbook(tmp_path / "w.xlsx", {"Old": [HEADER, *_rows(5, 900)], "Sheet1": [],
                                                 "Data": [["Export"], [], HEADER, *_rows(30)]},
                           active=2, hidden=("Old",)))
    for path in paths:
        _assert_same_cells(path)
    raw = lio.read_sheets(paths[0])["customers"]
    assert raw.shape == (401, 22) and raw.iloc[1:].map(type).nunique().max() > 2  # dirty: mixed cell types
    for j in raw.columns:  # equal texts are one object, as pandas' reader leaves them (the cleaner hashes less)
        texts = [v for v in raw[j] if isinstance(v, str)]
        assert len({id(v) for v in texts}) == len(set(texts)), j


def test_read_customers_reads_a_workbook_as_before(tmp_path):
    # the frame read_customers returns is the one built on pandas' reader (header row found, names, identifiers)
    from lookalike.synth import write_synthetic

    path = write_synthetic(tmp_path / "seed.xlsx", 300, seed=5)
    df = read_customers(path)
    want = _pandas_sheets(path)["customers"]
    names = [str(v).strip() for v in want.iloc[0]]
    want = lio.identifiers_as_text(lio.ColumnMapping.load().apply(want.iloc[1:].set_axis(names, axis=1)
                                                                   .reset_index(drop=True))[0])[0]
    pd.testing.assert_frame_equal(df, want, check_exact=True)


def test_a_chart_sheet_or_a_damaged_workbook_is_one_line(tmp_path):
    path = _workbook(tmp_path / "w.xlsx", {"Data": [HEADER, *_rows(3)]})
    with pytest.raises(ValueError, match="Worksheet named 'Nope' not found"):
        lio.read_sheets(path, ["Nope"])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(path.read_bytes()[:600])
    with pytest.raises(InputError, match="workbook is corrupt or unreadable"):
        read_customers(broken)


@pytest.mark.parametrize("enabled", [True, False])
def test_a_sheet_is_read_with_the_collector_paused_and_left_as_it_was(tmp_path, monkeypatch, enabled):
    import gc

    path = _workbook(tmp_path / "w.xlsx", {"Data": [HEADER, *_rows(3)]})
    seen = []
    real = lio.cells_frame
    monkeypatch.setattr(lio, "cells_frame", lambda rows: (seen.append(gc.isenabled()), real(rows))[1])
    (gc.enable if enabled else gc.disable)()
    try:
        frame = lio.read_sheets(path)["Data"]
        assert gc.isenabled() is enabled  # restored, whatever it was
    finally:
        gc.enable()
    assert seen == [False] and frame.shape == (4, len(HEADER))  # the rows became cells with no collection
    monkeypatch.setattr(lio, "cells_frame", lambda rows: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # restored after a failure too
        lio.read_sheets(path)
    assert gc.isenabled()
