"""The documented Spark flow on the product's own files (issue 16, item 25):
``lookalike generate`` → ``clean`` → ``fit`` → ``spark-expand`` on what the CLI wrote."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lookalike.cli import app

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning",
                                        "ignore:The copy keyword is deprecated")
runner = CliRunner()


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    for args in (["generate", "--n", "3000", "--seed", "4", "-o", str(d / "export.parquet")],
                 ["clean", str(d / "export.parquet"), "-o", str(d / "clean"), "--no-cache"],
                 ["fit", str(d / "clean" / "customers.parquet"), "-o", str(d / "model")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    return d


def test_clean_writes_timestamps_spark_reads(cli_files):
    for path in (cli_files / "clean" / "customers.parquet", cli_files / "model" / "customers.parquet"):
        schema = pq.read_schema(path)
        stamps = [f for f in schema if str(f.type).startswith("timestamp")]
        assert stamps, "the clean table has a signup_date timestamp"
        assert all(f.type.unit == "us" for f in stamps), [(f.name, f.type) for f in stamps]


@pytest.mark.spark
@pytest.mark.parametrize("with_model", [False, True])
def test_clean_fit_spark_expand_chain(spark, cli_files, with_model, tmp_path):
    out = tmp_path / "aud"
    args = ["spark-expand", str(cli_files / "clean" / "customers.parquet"), "-o", str(out), "--size", "100",
            "--master", "local[2]"]
    if with_model:
        args += ["--model", str(cli_files / "model")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out)
    clean = pd.read_parquet(cli_files / "clean" / "customers.parquet", columns=["customer_id", "vip_flag"])
    assert len(got) == 100 and got.customer_id.is_unique and set(got.customer_id) <= set(clean.customer_id)
    assert json.loads((out / "_lookalike.json").read_text())["counts"]["audience"] == 100


@pytest.mark.spark
def test_a_nanosecond_parquet_from_elsewhere_is_an_input_error(spark, cli_files, tmp_path):
    table = pd.read_parquet(cli_files / "clean" / "customers.parquet")
    nanos = tmp_path / "nanos.parquet"
    table.assign(signup_date=table["signup_date"].astype("datetime64[ns]")).to_parquet(nanos, coerce_timestamps=None)
    assert pq.read_schema(nanos).field("signup_date").type.unit == "ns"
    res = runner.invoke(app, ["spark-expand", str(nanos), "-o", str(tmp_path / "aud"), "--size", "100"])
    assert res.exit_code == 3, res.output
    assert "nanosecond timestamps" in res.output and "unexpected" not in res.output
