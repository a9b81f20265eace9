"""Workbooks (issue 16, items 3, 9, 17, 23): zip bombs refused before parsing, the sheet Excel opens
on (not a hidden sheet 0), ``--sheet``, a header below title rows, an empty first sheet, and
identifier columns (postcodes, phones, ids) read as the text they hold."""

from __future__ import annotations

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
