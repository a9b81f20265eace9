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
