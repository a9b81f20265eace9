"""Customers from a model directory, a clean parquet table or a raw export (lookalike.sources),
and the files of a cleaned export (lookalike.report.outputs)."""

from __future__ import annotations

import csv
import json
from contextlib import contextmanager

import pandas as pd
import pytest

from lookalike.finder import LookalikeFinder
from lookalike.report.outputs import CLEAN_OUTPUTS, write_clean_outputs
from lookalike.sources import (
    fingerprint,
    is_clean_table,
    load_clean,
    load_customers,
    load_finder,
    load_quality,
)
from lookalike.synth import write_synthetic

N = 800


class Recorder:
    """A Progress that records what a load reported."""

    def __init__(self):
        self.steps: list[str] = []
        self.notes: list[str] = []

    @contextmanager
    def step(self, label):
        self.steps.append(label)
        yield

    def note(self, message):
        self.notes.append(message)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    raw = write_synthetic(d / "raw.csv", N, seed=4)
    raw_parquet = write_synthetic(d / "raw.parquet", 50, seed=4)
    result = load_clean(raw)
    clean_dir = d / "clean"
    written = write_clean_outputs(result, clean_dir)
    model = LookalikeFinder().fit(result.customers).save(clean_dir / "model")
    with open(raw, newline="", encoding="utf-8") as fh:
        rows_in = sum(1 for _ in csv.reader(fh)) - 1  # data rows the generator wrote (with planted duplicates)
    return {"rows_in": rows_in, "dir": d, "raw": raw, "raw_parquet": raw_parquet, "clean": clean_dir / "customers.parquet",
            "clean_dir": clean_dir, "model": model, "written": written, "result": result}


def test_write_clean_outputs_writes_every_file_and_the_rows_add_up(files):
    assert [p.name for p in files["written"]] == list(CLEAN_OUTPUTS)
    rows = json.loads((files["clean_dir"] / "quality.json").read_text("utf-8"))["rows"]
    assert rows["in"] == files["rows_in"] == rows["kept"] + rows["quarantined"] + rows["duplicates_merged"]
    assert len(pd.read_parquet(files["clean"])) == rows["kept"]
    assert len(pd.read_csv(files["clean_dir"] / "quarantine.csv")) == rows["quarantined"]


def test_is_clean_table_tells_clean_from_raw(files):
    bad = files["dir"] / "not.parquet"
    bad.write_text("customer_id,total_spent\n1,2\n")
    assert is_clean_table(files["clean"])
    assert not is_clean_table(files["raw"]) and not is_clean_table(files["raw_parquet"]) and not is_clean_table(bad)


def test_the_three_kinds_of_source_give_the_same_customers(files):
    ids = files["result"].customers.customer_id.tolist()
    for source in (files["raw"], files["clean"], files["model"]):
        assert load_customers(source).customer_id.tolist() == ids, source


def test_progress_is_reported_not_printed(files, tmp_path, capsys):
    rec = Recorder()
    load_customers(files["raw"], cache_dir=tmp_path, progress=rec)
    load_customers(files["raw"], cache_dir=tmp_path, progress=rec)
    assert rec.steps == ["read + clean raw.csv"] * 2
    assert rec.notes == ["unchanged file: clean table taken from the cache"]  # the second read is a cache hit
    rec = Recorder()
    finder = load_finder(files["clean"], progress=rec)
    assert rec.steps == [f"fit {finder.n_customers_:,} customers"]
    rec = Recorder()
    assert load_finder(files["model"], progress=rec).n_customers_ == finder.n_customers_
    assert rec.steps == [f"load model {files['model']}"]
    assert capsys.readouterr() == ("", "")


def test_quality_comes_from_next_to_the_data_or_from_cleaning(files, tmp_path):
    expected = json.loads((files["clean_dir"] / "quality.json").read_text("utf-8"))
    assert load_quality(files["clean"]) == expected  # clean table in a clean directory
    assert load_quality(files["model"]) == expected  # model directory inside it
    assert load_quality(files["raw"])["rows"] == expected["rows"]  # raw export: cleaned again
    lone = tmp_path / "customers.parquet"
    lone.write_bytes(files["clean"].read_bytes())
    assert load_quality(lone) is None


def test_fingerprint_names_the_kind_of_source(files):
    assert fingerprint(files["model"]).startswith("model:") and len(fingerprint(files["model"])) == 38
    assert fingerprint(files["raw"]).startswith("file:")
    assert fingerprint(files["raw"]) != fingerprint(files["clean"])
