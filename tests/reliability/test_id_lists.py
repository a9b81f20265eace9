"""Suppression and exclusion lists keep the consent promise (issue 16, item 7).

The id files behind ``expand --suppress``, ``export --exclude`` and id seeds are read with the
CSV reader (quotes, delimiters, a header naming the id column), Lookalike's own escaped CSVs
read back, and a list that matches few or none of the customers is reported (``--strict``: refused).
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from lookalike.audience.seeds import read_id_file
from lookalike.errors import InputError

from .conftest import base_rows, csv_text, error_lines


@pytest.fixture(scope="module")
def model(tmp_path_factory, runner):
    """120 customers whose ids start with '-' (a spreadsheet formula character), fitted."""
    from lookalike.cli import app

    d = tmp_path_factory.mktemp("ids")
    rows = base_rows(120)
    for r in rows:
        r["customer_id"] = "-" + r["customer_id"]
    (d / "raw.csv").write_text(csv_text(rows), encoding="utf-8")
    res = runner.invoke(app, ["fit", str(d / "raw.csv"), "-o", str(d / "model")])
    assert res.exit_code == 0, res.output
    return d / "model"


def _expand(runner, model, out, *extra):
    from lookalike.cli import app

    res = runner.invoke(app, ["expand", str(model), "--size", "60", "--keep-opted-out", "-o", str(out), *extra])
    return res


def test_a_quoted_csv_suppresses_everyone_it_lists(runner, model, tmp_path):
    first = _expand(runner, model, tmp_path / "a.parquet")
    assert first.exit_code == 0, first.output
    listed = pd.read_parquet(tmp_path / "a.parquet").customer_id.head(50).tolist()
    sup = tmp_path / "suppress.csv"
    with sup.open("w", newline="", encoding="utf-8") as fh:  # how a CRM tool writes it: every cell quoted
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["email", "customer_id"])
        w.writerows([f"{c.lower()}@example.com", c] for c in listed)
    res = _expand(runner, model, tmp_path / "b.parquet", "--suppress", str(sup))
    assert res.exit_code == 0, res.output
    again = set(pd.read_parquet(tmp_path / "b.parquet").customer_id)
    assert not again & set(listed)
    assert "50 ids, 50 of them customers" in " ".join(res.output.split())


def test_lookalikes_own_escaped_audience_csv_reads_back(runner, model, tmp_path):
    res = _expand(runner, model, tmp_path / "a.csv")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "a.csv").read_text("utf-8")
    assert "\n'-C" in text  # the ids were escaped against spreadsheet formulas
    listed = pd.read_parquet(model / "customers.parquet").customer_id
    ids = read_id_file(tmp_path / "a.csv")
    assert len(ids) == 60 and set(ids) <= set(listed)
    res = _expand(runner, model, tmp_path / "b.parquet", "--suppress", str(tmp_path / "a.csv"))
    assert res.exit_code == 0, res.output
    assert not set(pd.read_parquet(tmp_path / "b.parquet").customer_id) & set(ids)


def test_a_list_that_matches_nobody_is_reported_and_refused_with_strict(runner, model, tmp_path):
    sup = tmp_path / "other.csv"
    sup.write_text("customer_id\n" + "\n".join(f"X{i:04d}" for i in range(50)) + "\n", encoding="utf-8")
    res = _expand(runner, model, tmp_path / "a.parquet", "--suppress", str(sup))
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "warning: suppression list: only 0 of 50 listed ids are customers" in flat
    res = _expand(runner, model, tmp_path / "b.parquet", "--suppress", str(sup), "--strict")
    assert res.exit_code == 3, res.output
    assert "only 0 of 50" in error_lines(res.output)[0] and not (tmp_path / "b.parquet").exists()


@pytest.mark.slow  # over a second: make test runs it, make check stays under a minute
def test_export_exclude_reads_quoted_lists_and_reports_strangers(runner, model, tmp_path):
    from lookalike.cli import app

    assert _expand(runner, model, tmp_path / "a.parquet").exit_code == 0
    aud = pd.read_parquet(tmp_path / "a.parquet")
    members = aud.customer_id.head(10).tolist()
    exc = tmp_path / "exclude.csv"
    exc.write_text('"Id Cliente";"nota"\n' + "".join(f'"{c}";"baja"\n' for c in members), encoding="utf-8")
    args = ["export", str(tmp_path / "a.parquet"), str(model), "--format", "push", "-o", str(tmp_path / "e")]
    res = runner.invoke(app, [*args, "--exclude", str(exc)])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "e" / "a_push.csv", dtype=str)
    assert not set(written.customer_id.str.lstrip("'")) & set(members)
    strangers = tmp_path / "strangers.txt"
    strangers.write_text("\n".join(f"Z{i}" for i in range(8)) + "\n" + members[0] + "\n", encoding="utf-8")
    res = runner.invoke(app, [*args, "--exclude", str(strangers)])
    assert res.exit_code == 0 and "exclusion list: only 1 of 9 listed ids are customers" in " ".join(res.output.split())
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "f"), "--exclude", str(strangers), "--strict"])
    assert res.exit_code == 3 and not (tmp_path / "f").exists(), res.output


@pytest.mark.parametrize("body, expected", [
    ('"customer_id","email"\n"C1","a@x.es"\n"C2","b@x.es"\n', ["C1", "C2"]),
    ("C1\nC2\n\n C3 \n", ["C1", "C2", "C3"]),
    ("id;name\nC1;Ana\nC2;Luis\n", ["C1", "C2"]),
    ("extern_id,email\nC1,x\n", ["C1"]),
    ("sep=;\ncustomer_id;x\nC1;1\n", ["C1"]),
    ("customer_id\n'=C1\n'+C2\n'@C3\nO'Neill\n", ["=C1", "+C2", "@C3", "O'Neill"]),
])
def test_id_files_in_common_shapes(body, expected, tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text(body, encoding="utf-8")
    assert read_id_file(p) == expected


def test_a_header_without_an_id_column_is_refused(tmp_path):
    p = tmp_path / "ids.csv"
    p.write_text("email,phone\na@x.es,600000000\n", encoding="utf-8")
    with pytest.raises(InputError, match="no customer id column"):
        read_id_file(p)
