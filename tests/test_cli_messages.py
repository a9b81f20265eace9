"""CLI messages and exit codes (issue 16, items 23 and 26): every message is printed as written
(square brackets are not Rich markup) and each failure gets its documented exit code and a line
that names the real cause."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.cli import common

runner = CliRunner()


# ------------------------------------------------------------------ item 26: brackets survive
def test_spark_expand_without_pyspark_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    res = runner.invoke(app, ["spark-expand", str(tmp_path / "c.parquet"), "-o", str(tmp_path / "aud")])
    assert res.exit_code == 2, res.output
    assert "pip install 'lookalike[spark]'" in res.output


@pytest.mark.parametrize("helper", ["error", "warn", "done", "note", "step"])
def test_printing_helpers_keep_square_brackets(helper, capsys):
    text = "pip install 'lookalike[spark]' for out/[bold]x[/bold]/a.parquet"
    try:
        if helper == "error":
            common.error(text)
        elif helper == "warn":
            common.warn(text)
        elif helper == "done":
            common.done(text)
        elif helper == "note":
            common.Spinners().note(text)
        else:
            with common.step(text):
                pass
    except typer.Exit:
        pass
    err = " ".join(capsys.readouterr().err.split())  # soft wrapping aside
    assert text in err


def test_unexpected_failures_and_file_errors_keep_brackets(capsys):
    with pytest.raises(typer.Exit) as info:
        with common.friendly_errors():
            raise RuntimeError("bad value [x] in column [y]")
    assert info.value.exit_code == 1
    assert "bad value [x] in column [y]" in capsys.readouterr().err
    with pytest.raises(typer.Exit):
        with common.friendly_errors():
            raise PermissionError(13, "Permission denied", "out/[2025]/customers.parquet")
    assert "out/[2025]/customers.parquet" in capsys.readouterr().err


def test_tables_print_ids_and_reasons_with_brackets(capsys):
    df = pd.DataFrame({"customer_id": ["[VIP]A1"], "reason": ["close on [region]"]})
    common.print_frame(df, common.OutputFormat.table, title="Lookalikes of [VIP]A1")
    out = capsys.readouterr().out
    assert "[VIP]A1" in out and "[region]" in out and "Lookalikes of [VIP]A1" in out


# ------------------------------------------------------------------ item 23: the right code and the real cause
RAW = ("customer_id,age,total_orders,total_spent,region\n"
       + "".join(f"C{i:04d},{20 + i % 40},{1 + i % 7},{10 + i}.5,{['Norte', 'Sur', 'Este'][i % 3]}\n" for i in range(1, 61))
       + "C0999,,,,\n")  # a row with an id and nothing usable: quarantined


@pytest.fixture
def raw(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "raw.csv"
    path.write_text(RAW, encoding="utf-8")
    return path


@pytest.mark.parametrize("cache", [True, False])
def test_a_missing_input_exits_3_with_or_without_the_cache(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("LOOKALIKE_CACHE_DIR", str(tmp_path / "cache"))
    args = ["clean", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "out")] + ([] if cache else ["--no-cache"])
    res = runner.invoke(app, args)
    assert res.exit_code == 3, res.output
    assert "nope.csv: the file does not exist" in res.output
    res = runner.invoke(app, ["fit", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "m")])
    assert res.exit_code == 3 and "does not exist" in res.output


def test_an_unwritable_output_names_the_output_not_a_temporary(raw, tmp_path, monkeypatch):
    import tempfile

    out = tmp_path / "out"
    (out / "customers.parquet").mkdir(parents=True)  # a directory in the way of the output file
    res = runner.invoke(app, ["clean", str(raw), "-o", str(out), "--no-cache"])
    assert res.exit_code == 1, res.output
    flat = " ".join(res.output.split())
    assert f"({out / 'customers.parquet'})" in flat and ".tmp" not in flat, flat

    def denied(prefix="", suffix="", dir=None, **kw):  # what a folder without write permission answers
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}abc123{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    res = runner.invoke(app, ["clean", str(raw), "-o", str(tmp_path / "ro"), "--no-cache"])
    flat = " ".join(res.output.split())
    assert res.exit_code == 1 and f"Permission denied ({tmp_path / 'ro' / 'customers.parquet'})" in flat, flat


def test_duplicate_parquet_columns_are_named_not_called_corrupt(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array(["C1", "C2"]), pa.array([1, 2]), pa.array([3, 4])],
                     names=["customer_id", "total_orders", "total_orders"])
    pq.write_table(table, tmp_path / "dup.parquet")
    res = runner.invoke(app, ["clean", str(tmp_path / "dup.parquet"), "-o", str(tmp_path / "out")])
    assert res.exit_code == 3, res.output
    assert "duplicate column 'total_orders'" in res.output and "corrupt" not in res.output


def test_a_quarantined_id_says_why_it_is_not_there(raw, tmp_path):
    res = runner.invoke(app, ["clean", str(raw), "-o", str(tmp_path / "clean")])
    assert res.exit_code == 0, res.output
    for source in (raw, tmp_path / "clean" / "customers.parquet"):
        res = runner.invoke(app, ["find", str(source), "c0999", "-k", "3"])
        assert res.exit_code == 2, res.output
        flat = " ".join(res.output.split())
        assert "customer 'C0999' was quarantined when the export was cleaned: no usable values" in flat
        assert "file row 61" in flat
    res = runner.invoke(app, ["find", str(raw), "C5555", "-k", "3"])  # truly unknown: the usual message
    assert res.exit_code == 2 and "unknown customer id" in res.output


def test_rule_literals_that_match_nothing_name_the_column_values(raw, tmp_path):
    out = str(tmp_path / "a.parquet")
    res = runner.invoke(app, ["expand", str(raw), "--seeds", "region in ('Norte','Sur') and total_orders >= 3",
                              "--size", "5", "-o", out])
    assert res.exit_code == 0, res.output  # quoted list values parsed: no warning, seeds found
    assert "not a value of region" not in res.output
    res = runner.invoke(app, ["expand", str(raw), "--seeds", "region in ('Nrte','Sur')", "--size", "5", "-o", out])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "warning: rule 'region in ...': 'Nrte' is not a value of region" in flat and "Este, Norte, Sur" in flat
    res = runner.invoke(app, ["expand", str(raw), "--seeds", "region == 'north'", "--size", "5", "-o", out])
    assert res.exit_code == 3
    assert "the seed set is empty" in res.output and "region has: Este, Norte, Sur" in " ".join(res.output.split())
