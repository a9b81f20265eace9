"""The Spark path gives the single-machine audience on the same data, without collecting the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.distributed import expand_local, spark_expand
from lookalike.errors import UnknownCustomerError
from lookalike.index import _FaissIndex, build_index
from tests.conftest import make_clean_customers

# PySpark 4.3 warns that pandas >= 3 is not fully supported; these tests are what checks it works
pytestmark = [pytest.mark.spark,
              pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning",
                                         "ignore:The copy keyword is deprecated")]
N = 3000


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    customers = make_clean_customers(N, seed=5)
    customers["vip_flag"] = pd.array((np.arange(N) % 50 == 0).astype(int), dtype="Int64")  # 60 VIP seeds
    return customers


@pytest.fixture(scope="module")
def finder(table):
    return lk.LookalikeFinder().fit(table)


@pytest.fixture(scope="module")
def spark_table(spark, table, tmp_path_factory):
    path = tmp_path_factory.mktemp("lake") / "customers.parquet"
    table.to_parquet(path, index=False)
    df = spark.read.parquet(str(path)).repartition(5)  # several partitions
    assert df.rdd.getNumPartitions() == 5
    return df


def test_spark_top_audience_equals_single_machine(spark, spark_table, table, finder, tmp_path):
    out = tmp_path / "audience"
    audience, info = spark_expand(spark_table, "vip", 300, out, finder=finder, k=10)
    got = pd.read_parquet(out).sort_values("rank").reset_index(drop=True)
    local = expand_local(table, "vip", 300, pipeline=finder.pipeline_, k=10)
    assert list(got.customer_id) == list(local.customer_id)
    np.testing.assert_allclose(got.distance, local.distance, rtol=1e-5)
    assert list(got["rank"]) == list(range(1, 301)) and bool(got.similarity.is_monotonic_decreasing)
    # ... and the single-machine audience of the finder's own seed_distance scorer is the same customers
    mine = finder.expand("vip", 300, scorer="seed_distance", k=10, learn_weights=False, explain=False)
    assert list(mine.customer_id) == list(got.customer_id)
    # counts: seeds and opted-out customers excluded, everything accounted for
    opted_out = int((table.promo_channel.astype(str) == "none").sum() - (table.promo_channel.astype(str)
                                                                        .eq("none") & table.vip_flag.eq(1)).sum())
    assert info.counts["seeds"] == 60 and info.counts["excluded: seeds"] == 60
    assert info.counts["excluded: opted out (promo_channel none)"] == opted_out
    assert info.counts["candidates"] == N - 60 - opted_out and info.counts["audience"] == 300
    assert info.index_report["kind"] == "faiss-flat" and audience.count() == 300


def test_spark_fits_its_own_pipeline_on_a_sample_and_takes_id_lists(spark, spark_table, table):
    ids = list(table.customer_id.iloc[[3, 70, 140, 900, 1500]].str.lower())  # ids are canonicalised
    audience, info = spark_expand(spark_table, ids, "1%", sample_rows=1000, k=3)
    rows = audience.orderBy("rank").toPandas()  # the audience (30 rows), not the table
    assert len(rows) == 30 and not set(rows.customer_id) & {i.upper() for i in ids}
    assert bool(rows.distance.is_monotonic_increasing) and "sample of 1,000" in info.params["pipeline"]
    with pytest.raises(UnknownCustomerError, match="NOPE"):
        spark_expand(spark_table, ["nope"], 10)


def test_serialized_index_searches_like_the_original():
    x = np.random.default_rng(0).normal(size=(2000, 13)).astype(np.float32)
    for kind in ("exact", "ivf", "hnsw"):
        original = build_index(x, kind)
        copy = _FaissIndex.from_bytes(original.to_bytes())
        d1, i1 = original.search(x[:20], 5)
        d2, i2 = copy.search(x[:20], 5)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(d1, d2)
        assert copy.report.kind == original.report.kind


def test_cli_spark_expand_writes_the_audience_and_its_manifest(spark, table, finder, tmp_path):
    import json

    from typer.testing import CliRunner

    from lookalike.cli import app

    lake = tmp_path / "customers"
    table.to_parquet(tmp_path / "one.parquet", index=False)
    spark.read.parquet(str(tmp_path / "one.parquet")).repartition(3).write.parquet(str(lake))  # 3 part files
    finder.save(tmp_path / "model")
    out = tmp_path / "audience"
    res = CliRunner().invoke(app, ["spark-expand", str(lake), "-o", str(out), "--size", "2%",
                                   "--model", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out).sort_values("rank")
    local = expand_local(table, "vip", "2%", pipeline=finder.pipeline_, k=10)
    assert list(got.customer_id) == list(local.customer_id) and len(got) == 60
    manifest = json.loads((out / "_lookalike.json").read_text())
    assert manifest["counts"]["audience"] == 60 and manifest["params"]["pipeline"] == "finder"
    bad = CliRunner().invoke(app, ["spark-expand", str(lake), "-o", str(tmp_path / "x"), "--seeds",
                                   str(tmp_path / "missing.txt")])
    assert bad.exit_code == 2 and "seeds must be" in bad.output


def test_spark_expand_honours_the_contact_caps(spark, spark_table, table, finder, tmp_path):
    """The same exclusions as the single-machine expansion: the free Spark audience minus exactly the customers
    over the limits (planted among its best members), each rule counted."""
    from datetime import timedelta

    from typer.testing import CliRunner

    from lookalike import database as db
    from lookalike.campaigns.contacts import record_contacts
    from lookalike.cli import app

    free, _ = spark_expand(spark_table, "vip", 300, finder=finder, k=10)
    top = free.orderBy("rank").toPandas()["customer_id"].tolist()
    as_of = pd.Timestamp("2031-06-15", tz="UTC")
    plan = {c: [as_of - timedelta(days=d) for d in (2, 20)] for c in top[:10]}     # recent, 2 in 30 days
    plan |= {c: [as_of - timedelta(days=d) for d in (16, 20)] for c in top[10:20]}  # 2 in 30 days only
    plan |= {c: [as_of - timedelta(days=20)] for c in top[20:30]}                    # neither
    history = pd.DataFrame([(c, t) for c, ts in plan.items() for t in ts], columns=["customer_id", "contacted_at"])
    audience, info = spark_expand(spark_table, "vip", 300, finder=finder, k=10, exclude_contacted_within="14d",
                                  max_contacts="2/30d", contacts=history, as_of=as_of)
    got = audience.orderBy("rank").toPandas()["customer_id"].tolist()
    left_out = set(top[:20])
    more, _ = spark_expand(spark_table, "vip", 320, finder=finder, k=10)
    expected = [c for c in more.orderBy("rank").toPandas()["customer_id"] if c not in left_out][:300]
    assert got == expected and not set(got) & left_out and set(top[20:30]) <= set(got)
    assert info.counts["excluded: contacted in the last 14d"] == 10
    assert info.counts["excluded: at the contact cap (2 in 30d)"] == 10
    assert info.counts["candidates"] == 3000 - 60 - info.counts["excluded: opted out (promo_channel none)"] - 20
    assert info.params["max_contacts"] == "2/30d" and info.params["contacts_as_of"] == as_of.isoformat()

    # the command line reads the campaign store (--db), as of now
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = db.open_database(url)
    record_contacts(engine, top[:10], "email", audience="spring")
    table.to_parquet(tmp_path / "one.parquet", index=False)
    finder.save(tmp_path / "model")
    res = CliRunner().invoke(app, ["spark-expand", str(tmp_path / "one.parquet"), "-o", str(tmp_path / "aud"),
                                   "--size", "300", "--model", str(tmp_path / "model"),
                                   "--exclude-contacted-within", "1w", "--db", url])
    assert res.exit_code == 0, res.output
    cli = pd.read_parquet(tmp_path / "aud")["customer_id"]
    assert len(cli) == 300 and not set(cli) & set(top[:10]) and "contacted in the last 1w: 10" in res.output
    engine.dispose()
    bad = CliRunner().invoke(app, ["spark-expand", str(tmp_path / "one.parquet"), "-o", str(tmp_path / "x"),
                                   "--max-contacts", "3"])
    assert bad.exit_code == 2 and "max_contacts must be contacts per window such as 3/30d" in bad.output
