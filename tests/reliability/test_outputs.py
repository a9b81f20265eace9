"""Outputs never replace inputs (issue 16, item 12): every command that reads files and writes
files refuses, before any work, an output that resolves to one of its inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lookalike.errors import InputError
from lookalike.io import file_digest

from .conftest import base_rows, csv_text, error_lines


@pytest.fixture(scope="module")
def files(tmp_path_factory, runner):
    """A raw export, its clean table, a model and an audience, built once through the CLI."""
    from lookalike.cli import app

    d = tmp_path_factory.mktemp("outputs")
    (d / "raw.csv").write_text(csv_text(base_rows(60)), encoding="utf-8")
    for args in (["clean", str(d / "raw.csv"), "-o", str(d / "clean")],
                 ["fit", str(d / "clean" / "customers.parquet"), "-o", str(d / "model")],
                 ["expand", str(d / "model"), "--size", "10", "-o", str(d / "aud" / "a.parquet")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    return d


@pytest.fixture
def work(files, tmp_path):
    """A private copy of the files (each case may try to damage them)."""
    shutil.copytree(files, tmp_path / "w")
    return tmp_path / "w"


def _cases(w: Path) -> dict[str, tuple[list[str], Path]]:
    """name -> (command line, the input it must leave untouched)."""
    data = w / "data"
    data.mkdir(exist_ok=True)
    shutil.copy(w / "clean" / "customers.parquet", data / "customers.parquet")  # a table named like the output
    os.symlink(data, w / "alias")  # another name for the same directory
    os.link(w / "raw.csv", w / "hard.csv")  # another name for the same file
    (w / "aud" / "a_email.csv").write_text("customer_id\nC0001\n")  # an exclusion list where the export goes
    return {
        "clean_into_the_input_dir": (["clean", str(data / "customers.parquet"), "-o", str(data)], data / "customers.parquet"),
        "clean_output_dir_is_the_input": (["clean", str(w / "raw.csv"), "-o", str(w / "raw.csv")], w / "raw.csv"),
        "clean_through_a_symlink": (["clean", str(data / "customers.parquet"), "-o", str(w / "alias")],
                                    data / "customers.parquet"),
        "fit_into_the_tables_dir": (["fit", str(w / "clean" / "customers.parquet"), "-o", str(w / "clean")],
                                    w / "clean" / "customers.parquet"),
        "fit_over_its_model": (["fit", str(w / "model"), "-o", str(w / "model")], w / "model" / "customers.parquet"),
        "expand_x_to_x": (["expand", str(data / "customers.parquet"), "--size", "5", "-o",
                           str(data / "customers.parquet")], data / "customers.parquet"),
        "expand_into_the_model": (["expand", str(w / "model"), "--size", "5", "-o",
                                   str(w / "model" / "customers.parquet")], w / "model" / "customers.parquet"),
        "expand_over_the_suppression_list": (["expand", str(w / "model"), "--size", "5", "--suppress",
                                              str(w / "hard.csv"), "-o", str(w / "raw.csv")], w / "raw.csv"),
        "export_over_its_exclusions": (["export", str(w / "aud" / "a.parquet"), str(w / "model"), "--format", "email",
                                        "-o", str(w / "aud"), "--exclude", str(w / "aud" / "a_email.csv")],
                                       w / "aud" / "a_email.csv"),
        "report_over_the_data": (["report", str(data / "customers.parquet"), "-o", str(data / "customers.parquet")],
                                 data / "customers.parquet"),
        "report_over_an_audience": (["report", str(w / "model"), "--audience", str(w / "aud" / "a.parquet"), "-o",
                                     str(w / "aud" / "a.parquet")], w / "aud" / "a.parquet"),
        "playbook_into_the_model": (["playbook", "run", "win-back", str(w / "model"), "-o", str(w / "model")],
                                    w / "model" / "manifest.json"),
        "transactions_over_the_log": (["customers-from-transactions", str(w / "raw.csv"), "-o", str(w / "hard.csv")],
                                      w / "raw.csv"),
        "evaluate_into_the_model": (["evaluate", str(w / "model"), "--splits", "1", "--out", str(w / "model" / "ev")],
                                    w / "model" / "manifest.json"),
    }


CASES = ["clean_into_the_input_dir", "clean_output_dir_is_the_input", "clean_through_a_symlink",
         "fit_into_the_tables_dir", "fit_over_its_model", "expand_x_to_x", "expand_into_the_model",
         "expand_over_the_suppression_list", "export_over_its_exclusions", "report_over_the_data",
         "report_over_an_audience", "playbook_into_the_model", "transactions_over_the_log", "evaluate_into_the_model"]


@pytest.mark.parametrize("case", CASES)
def test_an_output_that_is_an_input_is_refused(case, work, runner):
    from lookalike.cli import app

    args, kept = _cases(work)[case]
    before = {p: file_digest(p) for p in work.rglob("*") if p.is_file()}
    res = runner.invoke(app, args)
    assert res.exit_code == 3, res.output
    lines = error_lines(res.output)
    assert len(lines) == 1 and "refusing to write" in lines[0] and "-o" in lines[0], res.output
    assert kept.is_file() and file_digest(kept) == before[kept]
    after = {p: file_digest(p) for p in work.rglob("*") if p.is_file()}
    assert after == before  # nothing at all was written


def test_check_not_input_library_rules(tmp_path):
    from lookalike.io import check_not_input

    table = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(table)
    check_not_input([tmp_path / "out.parquet", None], [table, None, "postgresql://u@h/db"])  # nothing shared
    with pytest.raises(InputError, match="is the input"):
        check_not_input([tmp_path / "x" / ".." / "t.parquet"], [table])
    with pytest.raises(InputError, match="inside the input directory"):
        check_not_input([tmp_path / "sub" / "a.parquet"], [tmp_path])
    with pytest.raises(InputError, match="replaced whole"):
        check_not_input([tmp_path], [table], replaced=True)
    check_not_input([tmp_path], [table])  # writing other files into the folder of an input is fine


# ------------------------------------------------------------------ item 15: one clean run per directory
@pytest.fixture(scope="module")
def two_runs():
    """Two different clean results (run N-1 and run N) of the base export."""
    import lookalike as lk

    old = lk.clean_customers(pd.DataFrame(base_rows(40)))
    new = lk.clean_customers(pd.DataFrame(base_rows(3000)))
    return old, new


@pytest.mark.parametrize("kill_before", [1, 2, 3, 4, 5])
def test_clean_killed_between_its_files_is_never_paired(kill_before, two_runs, tmp_path, runner):
    """``clean`` of run N over run N-1, SIGKILLed just before its k-th rename: the directory is either
    run N-1 whole (k = 1) or refused by ``report`` and the quality loader, never mixed."""
    from lookalike.cli import app
    from lookalike.report.outputs import CLEAN_OUTPUTS, write_clean_outputs
    from lookalike.sources import load_quality

    from .test_faults import Writer

    old, new = two_runs
    out = tmp_path / "clean"
    write_clean_outputs(old, out)
    before = {n: file_digest(out / n) for n in CLEAN_OUTPUTS}
    writer = Writer(lambda: write_clean_outputs(new, out), block_at=kill_before)
    writer.wait_blocked()
    writer.kill()
    changed = {n for n in CLEAN_OUTPUTS if file_digest(out / n) != before[n]}
    assert ("customers.parquet" in changed) == (kill_before > 1)  # the table is renamed first
    assert "quality.json" not in changed  # ... and the report last
    res = runner.invoke(app, ["report", str(out / "customers.parquet"), "-o", str(tmp_path / "r.html"),
                              "--splits", "1"])
    if kill_before == 1:  # nothing replaced yet: run N-1 whole
        assert load_quality(out / "customers.parquet")["rows"]["in"] == 40
        assert res.exit_code == 0, res.output
    else:
        with pytest.raises(InputError, match="run lookalike clean again"):
            load_quality(out / "customers.parquet")
        assert res.exit_code == 3, res.output
        assert "run lookalike clean again" in error_lines(res.output)[0]
        assert not (tmp_path / "r.html").exists()


def test_a_report_copied_from_another_run_is_refused(two_runs, tmp_path):
    from lookalike.report.outputs import write_clean_outputs
    from lookalike.sources import load_quality

    old, new = two_runs
    write_clean_outputs(old, tmp_path / "a")
    write_clean_outputs(new, tmp_path / "b")
    assert load_quality(tmp_path / "b" / "customers.parquet")["rows"]["in"] == 3000
    shutil.copy(tmp_path / "a" / "quality.md", tmp_path / "b" / "quality.md")  # same run id, other content
    with pytest.raises(InputError, match="does not match its checksum"):
        load_quality(tmp_path / "b" / "customers.parquet")
    shutil.copy(tmp_path / "a" / "quality.json", tmp_path / "b" / "quality.json")
    with pytest.raises(InputError, match="does not belong to"):
        load_quality(tmp_path / "b" / "customers.parquet")
