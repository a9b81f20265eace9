"""Cleaning a raw export in Spark gives the single-machine cleaner's table, quarantine and counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.distributed import spark_clean
from lookalike.synth import generate

pytestmark = [pytest.mark.spark,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning",
                                         "ignore:The copy keyword is deprecated")]
N = 800


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """A dirty export as text (as a CSV reader gives it), with extra duplicates and unusable rows."""
    frame = generate(N, seed=11, duplicate_rate=0.03).raw
    text = frame.astype(object).where(frame.notna(), None)
    text = text.apply(lambda col: col.map(lambda v: None if v is None else str(v)))  # test data only
    rng = np.random.default_rng(0)
    # copies of early customers at the end of the file, in another spelling (" c000007 " is C000007)
    picks = rng.choice(200, size=25, replace=False)
    copies = text.iloc[picks].copy()
    copies["customer_id"] = " " + copies["customer_id"].str.lower() + " "
    copies.loc[copies.index[::2], "income"] = None  # less complete copies: the original must win their gaps
    no_id = text.iloc[300:306].copy()
    no_id["customer_id"] = [None, "", "  ", None, "n/a", None]
    empty = text.iloc[400:403].copy()
    empty.loc[:, [c for c in empty.columns if c != "customer_id"]] = None
    empty["customer_id"] = ["Z1", "Z2", "Z3"]
    return pd.concat([text, copies, no_id, empty], ignore_index=True)


@pytest.fixture(scope="module")
def local(raw):
    return lk.clean_customers(raw)


@pytest.fixture(scope="module")
def cleaned(spark, raw):
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(c, T.StringType()) for c in raw.columns])
    rows = spark.sparkContext.parallelize(list(raw.itertuples(index=False, name=None)), 4)  # in file order
    df = spark.createDataFrame(rows, schema=schema)
    from pyspark.sql import functions as F

    parts = df.select(F.upper(F.trim("customer_id")).alias("id"), F.spark_partition_id().alias("p"))
    spread = parts.groupBy("id").agg(F.countDistinct("p").alias("n")).filter("n > 1").count()
    assert df.rdd.getNumPartitions() == 4 and spread >= 20  # copies of an id sit in different input partitions
    return spark_clean(df, partitions=3)


def test_spark_clean_table_equals_single_machine(cleaned, local):
    got = cleaned.customers.toPandas().sort_values("customer_id").reset_index(drop=True)
    want = local.customers.sort_values("customer_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) and not got.customer_id.duplicated().any()
    for c in want.columns:
        g, w = got[c], want[c]
        if pd.api.types.is_float_dtype(w):
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), rtol=1e-12, equal_nan=True, err_msg=c)
        elif pd.api.types.is_datetime64_any_dtype(w):
            assert (pd.to_datetime(g).to_numpy() == w.to_numpy()).sum() == w.notna().sum(), c
            assert (g.isna().to_numpy() == w.isna().to_numpy()).all(), c
        else:
            assert g.astype(object).where(g.notna(), None).tolist() == \
                w.astype(object).where(w.notna(), None).tolist(), c


def test_spark_clean_counts_and_quarantine(cleaned, local, raw):
    rep = local.report
    c = cleaned.counts
    # row invariant, and the same accounting as on one machine
    assert c["rows_in"] == len(raw) == c["rows_kept"] + c["rows_quarantined"] + c["duplicates_merged"]
    assert (c["rows_kept"], c["rows_quarantined"], c["duplicates_merged"], c["duplicate_ids"]) == \
        (rep.rows_kept, rep.rows_quarantined, rep.duplicates_merged, rep.duplicate_ids)
    assert c["duplicates_merged"] >= 25 and c["rows_quarantined"] == 9  # what the fixture added
    assert cleaned.quarantine_reasons == rep.quarantine_reasons
    q = cleaned.quarantine.toPandas().sort_values("row_number").reset_index(drop=True)
    # row_number is the row's position in the whole export, as in the single-machine quarantine
    assert q.row_number.tolist() == local.quarantine.row_number.tolist()
    assert q.reason.tolist() == local.quarantine.reason.tolist()
    assert list(q.columns) == list(local.quarantine.columns)


def test_spark_clean_refuses_bad_input(spark):
    from lookalike.errors import EmptyDataError, MissingColumnsError

    with pytest.raises(MissingColumnsError):
        spark_clean(spark.createDataFrame(pd.DataFrame({"x": ["1"]})))
    with pytest.raises(EmptyDataError):
        spark_clean(spark.createDataFrame(pd.DataFrame({"customer_id": ["1"]})).limit(0))


def test_cli_spark_expand_cleans_a_raw_export_first(spark, raw, local, tmp_path):
    import json

    from typer.testing import CliRunner

    from lookalike.cli import app
    from lookalike.distributed import expand_local

    export = tmp_path / "export.csv"
    raw.to_csv(export, index=False)
    finder = lk.LookalikeFinder().fit(local.customers)
    finder.save(tmp_path / "model")
    out, quarantine = tmp_path / "audience", tmp_path / "quarantine"
    res = CliRunner().invoke(app, ["spark-expand", str(export), "--raw", "-o", str(out), "--size", "40",
                                   "--model", str(tmp_path / "model"), "--quarantine", str(quarantine)])
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out).sort_values("rank")
    want = expand_local(local.customers, "vip", 40, pipeline=finder.pipeline_, k=10)
    assert list(got.customer_id) == list(want.customer_id), (got.head(12).to_string(), want.head(12).to_string())
    cleaning = json.loads((out / "_lookalike.json").read_text())["cleaning"]
    assert cleaning["rows_in"] == len(raw) and cleaning["rows_kept"] == local.report.rows_kept
    assert len(pd.read_parquet(quarantine)) == local.report.rows_quarantined
    clean_table = tmp_path / "clean.parquet"
    local.customers.to_parquet(clean_table)
    bad = CliRunner().invoke(app, ["spark-expand", str(clean_table), "-o", str(tmp_path / "x"),
                                   "--quarantine", str(tmp_path / "q")])
    assert bad.exit_code == 2 and "--quarantine needs --raw" in bad.output
