"""The CLI at 80 columns and without a terminal (issue 18, item 9): tables keep their numbers whole and
put sentences under them, help is the plain layout, progress moves (plain lines in a log), and a bare
small ``--size`` says that it counts customers."""

from __future__ import annotations

import pandas as pd
import typer
from typer.testing import CliRunner

from lookalike.cli import app, common, plain_help_when_narrow
from lookalike.synth import write_synthetic

runner = CliRunner()
REASON = "Resembles the VIPs: spends 16.5× the average; reorders 81% of purchases, like the VIPs; 32 orders"


def test_a_bare_small_size_says_it_counts_customers(capsys):
    common.size_note("5")
    err = capsys.readouterr().err
    assert "--size 5 means 5 customers" in err and "--size 5%" in err
    for fine in ("5%", "0.05", "2000", None, ""):
        common.size_note(fine)
    assert capsys.readouterr().err == ""


def test_a_narrow_table_puts_sentences_under_it(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    df = pd.DataFrame({"customer_id": ["C002960", "C002778"], "rank": [1, 2], "similarity": [0.995, 0.994],
                       "reason": [REASON, "Partly resembles the VIPs"], "total_spent": [14658.29, 16938.97],
                       "fav_category": ["Electronics", "Fashion"]})
    common.print_frame(df, common.OutputFormat.table)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "customer_id" in line)
    assert "fav_category" in header and "reason" not in header  # whole headers; the sentence is not a column
    assert "14,658.29" in out
    assert REASON in " ".join(line.strip() for line in lines)  # the reason whole, after its customer id
    assert out.index("C002960: Resembles") > out.index("└")
    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal keeps the reason in the table
    common.print_frame(df, common.OutputFormat.table)
    wide = capsys.readouterr().out
    assert "reason" in next(line for line in wide.splitlines() if "customer_id" in line)


def test_help_is_the_plain_layout_when_narrow():
    parent, child = typer.Typer(), typer.Typer()
    parent.add_typer(child, name="child")
    plain_help_when_narrow(parent, columns=120)
    assert parent.rich_markup_mode == "rich"
    plain_help_when_narrow(parent, columns=80)
    assert parent.rich_markup_mode is None and child.rich_markup_mode is None


def test_generate_prints_progress_lines_without_a_terminal(tmp_path):
    res = runner.invoke(app, ["generate", "-o", str(tmp_path / "g.csv"), "--n", "2500"])
    assert res.exit_code == 0, res.output
    assert "generate g.csv: 0/2,500" in res.output and "generate g.csv: 2,500/2,500 (100%)" in res.output


def test_an_xlsx_export_reports_progress_inside_a_chunk(tmp_path):
    seen: list[int] = []
    write_synthetic(tmp_path / "g.xlsx", 12_000, 3, progress=seen.append)  # one chunk of 100,000
    assert len(seen) >= 3 and seen[-1] == 12_000  # it moves before the end
    assert seen == sorted(seen) and 0 < seen[0] < 12_000
