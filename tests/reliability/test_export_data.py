"""Exports attach the audience's own people (issue 16, item 8): an audience exported with other data
than it was built from is refused (``--allow-other-data``: a warning), and members missing from the
data are counted."""

from __future__ import annotations

import pandas as pd
import pytest

from lookalike.io import write_table

from .conftest import error_lines


@pytest.fixture(scope="module")
def data(tmp_path_factory, runner):
    """Datasets A and B (the same ids C000001.., other people), A's model and clean table, an audience on A."""
    from lookalike.cli import app

    d = tmp_path_factory.mktemp("exportdata")
    for name, seed in (("a", 1), ("b", 2)):
        steps = (["generate", "--n", "700", "--seed", str(seed), "--contact", "-o", str(d / f"{name}.csv")],
                 ["clean", str(d / f"{name}.csv"), "-o", str(d / f"clean_{name}")],
                 ["fit", str(d / f"clean_{name}" / "customers.parquet"), "-o", str(d / f"model_{name}")])
        for args in steps:
            res = runner.invoke(app, args)
            assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["expand", str(d / "model_a"), "--size", "71", "--keep-opted-out",
                              "-o", str(d / "aud.parquet")])
    assert res.exit_code == 0, res.output
    return d


def _export(runner, data, source, out, *extra):
    from lookalike.cli import app

    return runner.invoke(app, ["export", str(data / "aud.parquet"), str(source), "--format", "meta",
                               "-o", str(out), *extra])


@pytest.mark.slow  # over a second: make test runs it, make check stays under a minute
def test_the_data_it_was_built_from_exports_in_any_form(runner, data, tmp_path):
    for i, source in enumerate((data / "model_a", data / "clean_a" / "customers.parquet", data / "a.csv")):
        res = _export(runner, data, source, tmp_path / str(i))
        assert res.exit_code == 0, res.output
        assert "other data" not in res.output and "not in the data" not in res.output
        assert (tmp_path / str(i) / "aud_meta.csv").is_file()


def test_another_dataset_with_the_same_ids_is_refused(runner, data, tmp_path):
    a = pd.read_parquet(data / "clean_a" / "customers.parquet").set_index("customer_id")
    b = pd.read_parquet(data / "clean_b" / "customers.parquet").set_index("customer_id")
    members = pd.read_parquet(data / "aud.parquet").customer_id
    shared = members[members.isin(b.index)]
    assert len(shared) == 71 and (a.loc[shared, "email"] != b.loc[shared, "email"]).mean() > 0.9
    res = _export(runner, data, data / "model_b", tmp_path / "b")
    assert res.exit_code == 3, res.output
    assert "was built from other data" in error_lines(res.output)[0]
    assert not (tmp_path / "b").exists()  # nothing written, nothing logged
    res = _export(runner, data, data / "model_b", tmp_path / "b", "--allow-other-data")
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "exported anyway (--allow-other-data)" in " ".join(res.output.split())


def test_members_missing_from_the_data_are_counted(runner, data, tmp_path):
    members = pd.read_parquet(data / "aud.parquet").customer_id.head(5)
    table = pd.read_parquet(data / "clean_a" / "customers.parquet")
    write_table(table[~table.customer_id.isin(members)], tmp_path / "fewer.parquet")
    res = _export(runner, data, tmp_path / "fewer.parquet", tmp_path / "out")
    assert res.exit_code == 3, res.output  # five members' rows differ: they are not there
    res = _export(runner, data, tmp_path / "fewer.parquet", tmp_path / "out", "--allow-other-data")
    assert res.exit_code == 0, res.output
    assert "5 of 71 audience members are not in the data given" in " ".join(res.output.split())
